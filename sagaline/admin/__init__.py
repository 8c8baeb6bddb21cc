"""The admin endpoint: how a client outside the actor system reaches the daemon.

* :mod:`.requests` and :mod:`.conversations` -- PURE: the admin protocol (which requests a
  client may send, and the conversation each request holds with the tree, as a generator
  driven by the actors);
* :mod:`.door` -- the one actor a client can find; :mod:`.endpoint` -- the admin endpoint
  that hands requests to its :mod:`.worker` s.

Above the supervisors (the protocol speaks the supervisor API) and below the saga hosts (whose
admin desk answers the same conversations). Import the actors from their modules.
"""
