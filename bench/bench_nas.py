"""NAS trials: what a trial costs in-process, and through the bridge as its own trainer actor.

Prints, on multiprocTCPBase (one OS process per trainer):

* in-process training of one tiny trial (8 hidden units, 2 epochs on digits),
  sklearn already imported: the floor;
* per trial through the bridge, trials one at a time (``max_parallel`` 1):
  dispatch -> every trial reported, divided by the count; the difference to
  the floor is the trainer's cost (fork, Started, scikit-learn's import in
  the fresh process, messages, exit);
* trials per second with ``max_parallel`` 2 (the machine has 2 cores);
* the same with ``preload_training`` (scikit-learn imported once in the
  bridge, inherited by every forked trainer);
* cancel latency: CancelTrials sent -> the trainer's pid gone.

The last line is one JSON object with the figures.

Run: ``.venv/bin/python bench/bench_nas.py`` (about a minute). Figures are
for a shared, noisy 2-core machine: orders of magnitude only.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sagaline.actors.spawn import start_actor
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.runtime.system import MULTIPROC, start_system
from tests.support.tree import pid_alive, wait_until
from thunderline.domains import training
from thunderline.messages import bridge as b

DIGITS = b.TrainingDataset(
    dataset_id="digits", name="digits", kind="builtin", feature_count=64, class_count=10, sample_count=1797
)
TINY = b.Architecture(
    layers=[8], activation="relu", learning_rate=0.01, alpha=1e-4, batch_size=128, epochs=2, param_count=610
)
TRIALS = 8


def headers() -> Headers:
    return Headers(correlation_id=uuid7(), idempotency_key=uuid7())


def in_process(out: Path) -> float:
    training.train_trial(DIGITS, TINY, seed=0, out_path=out / "warm.npz")  # imports scikit-learn
    times = []
    for i in range(5):
        start = time.perf_counter()
        training.train_trial(DIGITS, TINY, seed=i, out_path=out / f"{i}.npz")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def through_bridge(handle, out: Path, parallel: int, preload: bool = False) -> float:
    bridge = start_actor(
        handle,
        "thunderline.actors.bridge.BridgeActor",
        {"config": {"artifacts_dir": str(out), "max_parallel": parallel, "preload_training": preload}},
        timeout=30,
    )
    run_id = uuid7()
    start = time.perf_counter()
    handle.ask(
        bridge, b.DispatchTraining(headers=headers(), run_id=run_id, dataset=DIGITS, proposals=[TINY] * TRIALS), 30
    )
    finished = handle.ask(bridge, b.AwaitTrials(headers=headers(), run_id=run_id), 600)
    elapsed = time.perf_counter() - start
    assert {t.state for t in finished.trials} == {"succeeded"}, finished
    return elapsed


def cancel_latency(handle, out: Path) -> float:
    bridge = start_actor(handle, "thunderline.actors.bridge.BridgeActor", {"config": {"artifacts_dir": str(out)}})
    run_id = uuid7()
    endless = TINY.model_copy(update={"epochs": 1_000_000})
    handle.ask(bridge, b.DispatchTraining(headers=headers(), run_id=run_id, dataset=DIGITS, proposals=[endless]), 30)
    ask = lambda: handle.ask(bridge, b.ListTrials(headers=headers(), run_id=run_id), 10).trials[0]  # noqa: E731
    trial = wait_until(lambda: (t := ask()).pid and t.epoch > 0 and t, timeout=60)
    start = time.perf_counter()
    handle.ask(bridge, b.CancelTrials(headers=headers(), run_id=run_id), 10)
    wait_until(lambda: not pid_alive(trial.pid), timeout=10, interval=0.001)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        floor = in_process(tmp_path / "local")
        handle = start_system(MULTIPROC, log_dir=tmp_path)
        try:
            serial = through_bridge(handle, tmp_path / "serial", 1) / TRIALS
            parallel = through_bridge(handle, tmp_path / "parallel", 2)
            preloaded = through_bridge(handle, tmp_path / "preloaded", 1, preload=True) / TRIALS
            preloaded_parallel = through_bridge(handle, tmp_path / "preloaded2", 2, preload=True)
            cancel = cancel_latency(handle, tmp_path / "cancel")
        finally:
            leaked = handle.shutdown()
    print(f"in-process tiny trial (2 epochs, sklearn loaded): {floor * 1000:8.1f} ms")
    print(
        f"per trial via bridge, one at a time ({TRIALS} trials): {serial * 1000:8.1f} ms "
        f"(trainer overhead ~{(serial - floor) * 1000:.0f} ms)"
    )
    print(f"{TRIALS} trials via bridge, 2 in parallel:            {parallel:8.2f} s ({TRIALS / parallel:.2f} trials/s)")
    print(
        f"per trial, bridge with preload_training, 1 at a time: {preloaded * 1000:8.1f} ms "
        f"(trainer overhead ~{(preloaded - floor) * 1000:.0f} ms)"
    )
    print(
        f"{TRIALS} trials, preload_training, 2 in parallel:    {preloaded_parallel:8.2f} s "
        f"({TRIALS / preloaded_parallel:.2f} trials/s)"
    )
    print(f"cancel -> trainer process gone:                    {cancel * 1000:8.1f} ms")
    print(
        json.dumps(
            {
                "bench": "nas_trials",
                "base": MULTIPROC,
                "trials": TRIALS,
                "in_process_trial_ms": round(floor * 1000, 1),
                "bridge_trial_ms_serial": round(serial * 1000, 1),
                "bridge_trials_per_s_parallel2": round(TRIALS / parallel, 2),
                "bridge_trial_ms_serial_preloaded": round(preloaded * 1000, 1),
                "bridge_trials_per_s_parallel2_preloaded": round(TRIALS / preloaded_parallel, 2),
                "preload_speedup_serial": round(serial / preloaded, 2),
                "cancel_to_process_gone_ms": round(cancel * 1000, 1),
                "leaked_processes": len(leaked),
            }
        )
    )


if __name__ == "__main__":
    main()
