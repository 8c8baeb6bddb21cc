"""A saga's plan as a Mermaid flowchart (``sagaline graph SAGA`` prints it).

Inputs are stadium nodes, steps are boxes labelled with who runs them
(``local`` or the domain actor), retries and timeout; a solid arrow carries
data (a result or an input), a dotted arrow is a ``wait_for``; a step that
can be undone is marked with a double border, a guarded step with ``?``.
"""

from __future__ import annotations

from sagaline.saga.definition import FromInput, FromResult, SagaDefinition

__all__ = ["to_mermaid"]


def _node_id(name: str) -> str:
    return "s_" + name.replace(".", "__")


def _label(text: str) -> str:
    return text.replace('"', "'")


def to_mermaid(definition: SagaDefinition) -> str:
    """Return the Mermaid ``flowchart TD`` source for ``definition``'s plan."""
    lines = ["flowchart TD", f"  %% saga {definition.name} v{definition.version}"]
    for spec in definition.inputs:
        lines.append(f'  i_{spec.name}(["input {spec.name}"])')
    for step in definition.steps:
        bits = [step.impl.describe(), f"retries {step.max_retries}"]
        if step.timeout is not None:
            bits.append(f"timeout {step.timeout:g}s")
        if not step.run_async:
            bits.append("exclusive")
        guard = "?" if step.where is not None else ""
        text = _label(f"{step.name}{guard}<br/><small>{', '.join(bits)}</small>")
        shape = f'[["{text}"]]' if step.impl.can_undo else f'["{text}"]'
        lines.append(f"  {_node_id(step.name)}{shape}")
    for step in definition.steps:
        seen: set[str] = set()
        for arg in step.arguments:
            src = arg.source
            if isinstance(src, FromInput):
                lines.append(f"  i_{src.name} -->|{arg.name}| {_node_id(step.name)}")
            elif isinstance(src, FromResult) and src.step not in seen:
                seen.add(src.step)
                lines.append(f"  {_node_id(src.step)} -->|{arg.name}| {_node_id(step.name)}")
        for dep in step.wait_for:
            if dep not in seen:
                lines.append(f"  {_node_id(dep)} -.-> {_node_id(step.name)}")
    if definition.returns:
        lines.append(f'  {_node_id(definition.returns)} --> result(("result"))')
    return "\n".join(lines) + "\n"
