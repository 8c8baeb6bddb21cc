"""The recovery benchmark's app: runs held at a gate that knows each run by its correlation id.

A variant of ``bench/holding`` (which the in-flight benchmark owns): its gate
holds one pass per run, keyed by correlation id, and counts every pass a
run sends, so a pass re-sent by a run rebuilt after its saga host died is
seen as such (``bench/bench_recovery.py``, the host-kill figure).
"""
