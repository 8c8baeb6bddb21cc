"""The peers benchmark's own app: a 7-step saga whose every step writes one row in one domain actor.

Loaded the way a user's app is (``apps = ["peers.app:app"]``, with ``bench/``
on the import path): ``rows`` is the domain (:mod:`peers.rows`), ``peers``
the saga (:mod:`peers.saga`). The same workload runs on DBOS and on raw
aiosqlite in ``bench/bench_peers.py``.
"""
