"""PURE. The supervision tree for people: one line per child, its kind, state, restarts, pid and key::

    root  supervisor running restarts=0
    ├─ flow  worker running restarts=0 pid=30065 name=domain:flow
    ├─ sagas  supervisor running restarts=0 pid=30151 name=sagas
    │  └─ saga-8  worker running restarts=0 pid=30582
    └─ admin  worker running restarts=0 pid=30164 name=admin

Never an actor address: names, pids and states only.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from sagaline.cli.render import STATUS_STYLES

__all__ = ["render_tree"]


def render_tree(data: dict) -> RenderableType:
    lines: list[Text] = []
    _lines(data["tree"], "", True, lines, top=True)
    return Group(*lines)


def _lines(node: dict, prefix: str, last: bool, lines: list[Text], top: bool = False) -> None:
    branch = "" if top else ("└─ " if last else "├─ ")
    line = Text(f"{prefix}{branch}{node['id']}  {node['type']} ")
    line.append(node["status"], style=STATUS_STYLES.get(node["status"], ""))
    line.append(f" restarts={node['restarts']}")
    if node.get("pid"):
        line.append(f" pid={node['pid']}")
    if node.get("name"):
        line.append(f" name={node['name']}")
    if node.get("unreachable"):
        line.append(" (did not answer)", style="red")
    lines.append(line)
    children = node.get("children", [])
    inner = prefix if top else prefix + ("   " if last else "│  ")
    for index, child in enumerate(children):
        _lines(child, inner, index == len(children) - 1, lines)
