"""The one style table of diagram roles: how each kind of node looks and what its legend says."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """How one kind of node looks, and what the legend says about it."""

    name: str
    legend: str
    fill: str
    border: str
    shape: str = "box"
    style: str = "rounded,filled"
    extra: tuple[tuple[str, str], ...] = ()  # further DOT attributes


# The one style table. Quantity roles are a Step's kind; `target` is drawn over another role.
ROLES: dict[str, Role] = {r.name: r for r in (
    Role("given", "given in the query", "#bbdefb", "#1565c0"),
    Role("preset", "set by a preset", "#eeeeee", "#757575"),
    Role("default", "input default", "#f5f5f5", "#9e9e9e"),
    Role("override", "given, overriding its rule", "#e1bee7", "#6a1b9a"),
    Role("derived", "derived by a rule", "#ffffff", "#424242"),
    Role("solved", "solved for (a rule inverted)", "#ffe0b2", "#e65100"),
    Role("chosen", "chosen by the search", "#b2ebf2", "#00838f"),
    Role("target", "asked for", "#ffffff", "#000000",
         extra=(("penwidth", "2.5"), ("peripheries", "2"))),
    Role("rule", "rule (equation)", "#fafafa", "#9e9e9e", "box", "filled",
         (("fontsize", "8"), ("height", "0.2"))),
    Role("inverted", "rule used backwards", "#fff3e0", "#e65100", "box", "dashed,filled",
         (("fontsize", "8"), ("height", "0.2"))),
    Role("holds", "constraint that holds", "#e8f5e9", "#2e7d32", "hexagon", "filled"),
    Role("binding", "binding constraint (no slack)", "#fff59d", "#f57f17", "hexagon",
         "filled", (("penwidth", "2"),)),
    Role("violated", "violated constraint", "#ffcdd2", "#c62828", "hexagon", "filled",
         (("penwidth", "2"),)),
    Role("unevaluated", "constraint not evaluated", "#ffffff", "#9e9e9e", "hexagon",
         "dashed"),
    Role("folded", "zero here, folded (unfold to draw)", "#fafafa", "#9e9e9e", "folder",
         "dashed,filled", (("fontsize", "9"),)),
)}


def role_attrs(role: Role, target: bool = False) -> dict[str, str]:
    """The Graphviz attributes of a role (with the target overlay when ``target``)."""
    attrs = {"shape": role.shape, "style": role.style, "fillcolor": role.fill,
             "color": role.border, **dict(role.extra)}
    if target:
        attrs.update(dict(ROLES["target"].extra))
    return attrs


QUANTITY_ROLES = ("given", "preset", "default", "override", "derived", "solved")
