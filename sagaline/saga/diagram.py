"""PURE. A saga's plan as a layered text diagram for a terminal (``sagaline graph SAGA``).

A step's layer is one more than the deepest step it depends on (data or
``wait_for``); the steps of one layer may run at the same time. Each line
names the step, where it runs and its limits, and what it takes from::

    user_provisioning v1: onboard a user: token, magic link, user, vault, membership, event
    inputs: email, magic_link_redirect?

    1  validate_email              local                       <- input email
       |
    2  generate_token ~            gate, timeout 5s            <- validate_email
       |
    5  provision_vault ~           block, timeout 5s           <- create_user
       create_default_community ~  link, timeout 5s            <- create_user
       |
    6  emit_onboarding_event       flow, timeout 5s            <- create_user, provision_vault, ...
       |
       result <- emit_onboarding_event

    ~ undone when the run rolls back   ? runs only when its guard holds   (after X): waits for X, no data

:func:`~sagaline.saga.mermaid.to_mermaid` draws the same plan as Mermaid.
"""

from __future__ import annotations

from sagaline.saga.definition import FromInput, FromResult, SagaDefinition, StepDef
from sagaline.saga.planner import plan

__all__ = ["layers", "to_text"]

LEGEND = "~ undone when the run rolls back   ? runs only when its guard holds   (after X): waits for X, no data"


def layers(definition: SagaDefinition) -> list[list[str]]:
    """The steps by layer (dependencies first), each layer in plan order."""
    checked = plan(definition)
    depth: dict[str, int] = {}
    for name in checked.order:
        depth[name] = 1 + max((depth[d] for d in checked.deps[name]), default=-1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in checked.order:
        rows[depth[name]].append(name)
    return rows


def _label(step: StepDef) -> str:
    marks = (" ~" if step.impl.can_undo else "") + (" ?" if step.where is not None else "")
    return step.name + marks


def _runs_on(step: StepDef) -> str:
    bits = [step.impl.describe()]
    if step.max_retries:
        bits.append(f"retries {step.max_retries}")
    if step.timeout is not None:
        bits.append(f"timeout {step.timeout:g}s")
    if not step.run_async:
        bits.append("exclusive")
    return ", ".join(bits)


def _sources(step: StepDef) -> str:
    taken: list[str] = []
    for arg in step.arguments:
        src = arg.source
        name = f"input {src.name}" if isinstance(src, FromInput) else src.step if isinstance(src, FromResult) else None
        if name is not None and name not in taken:
            taken.append(name)
    waits = [w for w in step.wait_for if w not in taken]
    text = ", ".join(taken) + (f" (after {', '.join(waits)})" if waits else "")
    return f"<- {text.strip()}" if text.strip() else ""


def to_text(definition: SagaDefinition) -> str:
    """The layered diagram of ``definition`` (see the module docstring)."""
    rows = layers(definition)
    steps = {s.name: s for s in definition.steps}
    name_w = max((len(_label(s)) for s in definition.steps), default=0)
    runs_w = max((len(_runs_on(s)) for s in definition.steps), default=0)
    number_w = len(str(len(rows)))
    about = f": {definition.description}" if definition.description else ""
    inputs = ", ".join(i.name + ("" if i.required else "?") for i in definition.inputs) or "(none)"
    lines = [f"{definition.name} v{definition.version}{about}", f"inputs: {inputs}", ""]
    pad = " " * (number_w + 2)
    for index, row in enumerate(rows, start=1):
        if index > 1:
            lines.append(f"{pad}|")
        for position, name in enumerate(row):
            step = steps[name]
            lead = f"{index:>{number_w}}  " if position == 0 else pad
            lines.append(f"{lead}{_label(step):<{name_w}}  {_runs_on(step):<{runs_w}}  {_sources(step)}".rstrip())
    returns = definition.returns or "every step's result"
    lines += [f"{pad}|", f"{pad}result <- {returns}", "", LEGEND]
    return "\n".join(lines)
