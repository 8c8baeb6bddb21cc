"""Benchmark: the pure executor on a 7-step saga (transitions per second).

Shape of UserProvisioning: a chain of four steps, two concurrent steps, a
final step. Each run is driven by hand (no driver, no actor): start, then
one InvocationResult per step. Two paths are timed side by side in one
process: every step succeeding, and the last step failing (drain + undo of
the six others, last-completed-first). The last printed line is one JSON
object with the figures.
"""

from __future__ import annotations

import json
import sys
import time

from sagaline.messages.ids import uuid7
from sagaline.saga import Executor, Fail, InvocationResult, Invoke, Ok, Saga, StepError, local, result

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000


def seven_steps():
    undo = lambda v, a, c: Ok()  # noqa: E731
    s = Saga("seven")
    s.input("email")
    noop = local(lambda a, c: Ok(), undo=undo)
    s.step("validate", noop)
    s.step("token", noop, args={"v": result("validate")})
    s.step("send", noop, args={"t": result("token")})
    s.step("user", noop, args={"s": result("send")})
    s.step("vault", noop, args={"u": result("user")})
    s.step("community", noop, args={"u": result("user")})
    s.step("emit", noop, args={"v": result("vault"), "c": result("community")})
    return s.build()


def drive(executor: Executor, fail_last: bool) -> int:
    """One run to its end; returns the number of transitions (start included)."""
    state, commands = executor.start(uuid7(), {"email": "a@b.c"}, 0.0)
    transitions = 1
    queue = [c for c in commands if isinstance(c, Invoke)]
    while queue:
        inv = queue.pop(0)
        failing = fail_last and inv.step == "emit" and inv.kind == "run"
        outcome = Fail(StepError("boom")) if failing else Ok({"id": inv.step})
        state, commands = executor.transition(state, InvocationResult(inv.step, inv.kind, inv.key, outcome), 0.0)
        transitions += 1
        queue.extend(c for c in commands if isinstance(c, Invoke))
    assert state.status == ("failed" if fail_last else "completed"), state.status
    return transitions


def measure(executor: Executor, fail_last: bool) -> dict:
    drive(executor, fail_last)  # warm up
    start = time.perf_counter()
    transitions = sum(drive(executor, fail_last) for _ in range(RUNS))
    elapsed = time.perf_counter() - start
    return {
        "runs": RUNS,
        "transitions": transitions,
        "seconds": round(elapsed, 3),
        "transitions_per_s": round(transitions / elapsed),
        "runs_per_s": round(RUNS / elapsed),
    }


def main() -> None:
    executor = Executor(seven_steps())
    ok = measure(executor, fail_last=False)
    rollback = measure(executor, fail_last=True)
    print(f"success path : {ok['transitions_per_s']:>8} transitions/s ({ok['runs_per_s']} runs/s)")
    print(f"rollback path: {rollback['transitions_per_s']:>8} transitions/s ({rollback['runs_per_s']} runs/s)")
    print(
        json.dumps(
            {
                "bench": "executor_7_steps",
                "success": ok,
                "rollback": rollback,
                "rollback_vs_success_runs_ratio": round(rollback["runs_per_s"] / ok["runs_per_s"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
