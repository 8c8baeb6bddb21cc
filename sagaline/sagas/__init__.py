"""PURE. What saga hosts decide about starts and runs, without actors:

* :mod:`sagaline.sagas.admission`: checking a StartSaga before anything starts;
* :mod:`sagaline.sagas.announcements`: what a run announces about itself on the bus;
* :mod:`sagaline.sagas.storage`: whether the journal's storage takes writes, the retry backoff, fault edges;
* :mod:`sagaline.sagas.storage_alerts`: the bus events of a storage fault and its recovery.

The sagas themselves come from the loaded apps (:mod:`sagaline.apps`); the
ones sagaline ships are the Thunderline app's (:mod:`thunderline.sagas`).
"""
