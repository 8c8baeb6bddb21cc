"""PURE. What a supervisor does when a child exits: restart decisions and
restart intensity, as functions of data and ``now``.

The supervisor actor only carries out the :class:`Decision` that
:func:`on_exit` returns; tests drive these functions with a fake clock.

Rules (OTP ``supervisor.erl``):

* Whether an exit restarts anything: permanent children always; transient
  children only after an abnormal exit (anything but ``normal``,
  ``shutdown`` or ``{shutdown, Term}``: an
  :class:`~sagaline.messages.supervision.ExitReason` of kind ``shutdown``
  with or without a ``term``); temporary children never, and their spec is
  dropped.
* Each *restart* (not each exit) is recorded with its monotonic time. The
  window is closed at both ends: a restart exactly ``max_seconds`` before
  ``now`` still counts, as in OTP, whose ``can_restart/2`` keeps every
  restart ``>= Now - Period``. Older ones are forgotten; when more than
  ``max_restarts`` remain the supervisor gives up (escalates): it
  terminates every child in reverse start order and exits with reason
  ``shutdown``.
* one_for_one restarts the dead child; one_for_all terminates every other
  running child (reverse start order) and restarts them all (start order);
  rest_for_one does the same for the children started after the dead one.
  Temporary children terminated that way are not restarted: their specs
  are dropped. Each strategy is its own clause in :data:`STRATEGIES`; a
  strategy not there is refused (:class:`~sagaline.supervisors.spec.SupervisorFlags`
  refuses it when the spec is built, :func:`on_exit` if one gets past).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sagaline.messages.supervision import ExitKind

__all__ = [
    "DEFAULT_MAX_RESTARTS",
    "DEFAULT_MAX_SECONDS",
    "STRATEGIES",
    "ChildView",
    "Decision",
    "Intensity",
    "is_abnormal",
    "should_restart",
    "on_exit",
    "restart_allowed",
    "terminate_order",
]

#: OTP's (Elixir's) restart intensity: more than 3 restarts within 5 s make a supervisor give up.
#: Declared once: the flags of both supervisor kinds and the daemon's root take these.
DEFAULT_MAX_RESTARTS = 3
DEFAULT_MAX_SECONDS = 5.0
_NORMAL_KINDS = frozenset({"normal", "shutdown"})


def is_abnormal(kind: ExitKind) -> bool:
    """True for exits that restart a transient child (error, killed)."""
    return kind not in _NORMAL_KINDS


def should_restart(restart: str, kind: ExitKind) -> bool:
    """Whether a child with restart type ``restart`` is restarted after ``kind``."""
    if restart == "permanent":
        return True
    if restart == "transient":
        return is_abnormal(kind)
    return False


@dataclass(frozen=True)
class Intensity:
    """Restart history within the intensity window.

    Attributes:
        max_restarts: More restarts than this in the window trip it.
        max_seconds: Window length in seconds.
        stamps: Monotonic times of the restarts still in the window.
    """

    max_restarts: int = DEFAULT_MAX_RESTARTS
    max_seconds: float = DEFAULT_MAX_SECONDS
    stamps: tuple[float, ...] = ()

    def record(self, now: float) -> tuple[Intensity, bool]:
        """Record a restart at ``now``.

        Returns:
            The new history and True when it now holds more than
            ``max_restarts`` restarts (the supervisor must give up).
        """
        kept = tuple(t for t in self.stamps if now - t <= self.max_seconds) + (now,)
        return Intensity(self.max_restarts, self.max_seconds, kept), len(kept) > self.max_restarts


def restart_allowed(earlier: tuple[float, ...], now: float, max_restarts: int, window_s: float) -> bool:
    """May a process outside any supervisor (the daemon itself, its web console) restart once more?

    OTP's intensity one level up: ``earlier`` are the monotonic times of its earlier restarts.
    """
    _, exceeded = Intensity(max_restarts, window_s, earlier).record(now)
    return not exceeded


@dataclass(frozen=True)
class ChildView:
    """What a strategy needs to know of one child (listed in start order).

    Attributes:
        id: The child's id.
        restart: Its restart type.
        running: Whether it is alive now (False for the child that just exited).
    """

    id: str
    restart: str
    running: bool


@dataclass(frozen=True)
class Decision:
    """What to do about one exit, in this order: terminate, drop, restart.

    Attributes:
        terminate: Ids to terminate, one after the other (reverse start order).
        drop: Ids whose specs are deleted (temporary children).
        restart: Ids to start again, one after the other (start order).
        escalate: Give up: after terminating, exit with reason ``shutdown``.
        counted: Whether a restart was recorded against the intensity.
    """

    terminate: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    escalate: bool = False
    counted: bool = False


def terminate_order(children: Sequence[ChildView]) -> tuple[str, ...]:
    """Ids of the running children in reverse start order."""
    return tuple(c.id for c in reversed(children) if c.running)


def on_exit(
    strategy: str, children: Sequence[ChildView], exited_id: str, kind: ExitKind, intensity: Intensity, now: float
) -> tuple[Decision, Intensity]:
    """Decide what a supervisor does when child ``exited_id`` ended with ``kind``.

    Args:
        strategy: one_for_one, one_for_all or rest_for_one.
        children: Every child with a spec, in start order.
        exited_id: The child that exited (must be in ``children``).
        kind: How it exited.
        intensity: The restart history so far.
        now: Monotonic time, in seconds.

    Returns:
        The decision and the new restart history.

    Raises:
        KeyError: ``exited_id`` is not among ``children``.
        ValueError: ``strategy`` is not one of :data:`STRATEGIES`.
    """
    clause = STRATEGIES.get(strategy)
    if clause is None:
        raise ValueError(f"unknown restart strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    index = _index_of(children, exited_id)
    exited = children[index]
    if not should_restart(exited.restart, kind):
        drop = (exited.id,) if exited.restart == "temporary" else ()
        return Decision(drop=drop), intensity
    intensity, tripped = intensity.record(now)
    if tripped:
        return Decision(terminate=terminate_order(children), escalate=True, counted=True), intensity
    return clause(children, index), intensity


def _one_for_one(children: Sequence[ChildView], index: int) -> Decision:
    return Decision(restart=(children[index].id,), counted=True)


def _one_for_all(children: Sequence[ChildView], index: int) -> Decision:
    return _restart_group(children, children[index].id)


def _rest_for_one(children: Sequence[ChildView], index: int) -> Decision:
    return _restart_group(children[index:], children[index].id)


#: Each restart strategy's clause: (children in start order, index of the one that exited) -> the restarts.
STRATEGIES: Mapping[str, Callable[[Sequence[ChildView], int], Decision]] = MappingProxyType(
    {
        "one_for_one": _one_for_one,
        "one_for_all": _one_for_all,
        "rest_for_one": _rest_for_one,
    }
)


def _restart_group(affected: Sequence[ChildView], exited_id: str) -> Decision:
    others = [c for c in affected if c.id != exited_id]
    return Decision(
        terminate=terminate_order(others),
        drop=tuple(c.id for c in others if c.restart == "temporary"),
        restart=tuple(c.id for c in affected if c.restart != "temporary"),
        counted=True,
    )


def _index_of(children: Sequence[ChildView], child_id: str) -> int:
    for index, child in enumerate(children):
        if child.id == child_id:
            return index
    raise KeyError(child_id)
