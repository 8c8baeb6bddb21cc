"""The recovery benchmark's own code (``bench/bench_recovery.py``).

* the ``recovering`` app (``recovering.app:app``): runs of ``held`` wait at
  a gate that knows each run by its correlation id and counts the passes it
  sends, so a pass re-sent by a run rebuilt after its saga host died is seen
  as such (a variant of ``bench/holding``, which the in-flight benchmark owns);
* :mod:`recovering.host_kill`: the host-kill measurement on a daemon;
* :mod:`recovering.per_write`: a saga host whose journal commits every
  record alone, to show what group commit saves.
"""
