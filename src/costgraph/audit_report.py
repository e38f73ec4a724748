"""An audit as Markdown: the verdict table, then every claim that is not reproduced with
its reasons and its derivation. Plain text, stable order, so a report can be diffed in CI."""

from __future__ import annotations

from .audit import REPRODUCED


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table_rows(report) -> list[list[str]]:
    """(id, where, quantity, claimed, derived, ratio, verdict) for each claim."""
    return [[v.id, v.claim.where, v.claim.shown_quantity, v.claim.value.text,
             v.derived_text(), v.ratio_text(), v.verdict] for v in report]


def markdown(report) -> str:
    presets = ", ".join(report.presets) or "(none)"
    lines = [f"# Audit: {report.source}", "",
             f"Claims file `{report.path}`, default presets: {presets}. "
             f"{report.summary()}.", "",
             "| verdict | claims |", "|---|---:|"]
    lines += [f"| {name} | {n} |" for name, n in report.counts().items()]
    lines += ["", "| id | where | quantity | claimed | derived | ratio | verdict |",
              "|---|---|---|---|---|---:|---|"]
    lines += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in table_rows(report)]
    findings = [v for v in report if v.verdict != REPRODUCED]
    if findings:
        lines += ["", "## Claims not reproduced"]
    for v in findings:
        lines += _finding(v)
    return "\n".join(lines) + "\n"


def _finding(v) -> list[str]:
    c = v.claim
    lines = ["", f"### {c.id} — {v.verdict}", ""]
    if c.quote:
        lines += [f"> {c.quote} ({c.where})" if c.where else f"> {c.quote}", ""]
    config = ", ".join(c.presets) or "(no presets)"
    if c.given:
        config += "; given " + ", ".join(f"{k} = {_shown(x)}" for k, x in sorted(c.given.items()))
    lines.append(f"- claimed {c.value.text} for `{c.shown_quantity}` under {config}")
    if v.derived is not None:
        lines.append(f"- derived {v.derived_text()}"
                     + (f"; the claim is {v.ratio_text()}× the derivation"
                        if v.ratio is not None else ""))
    lines += [f"- {r}" for r in v.reasons()]
    if c.note:
        lines.append(f"- note: {c.note}")
    if v.result is not None:
        lines += _derivation("derivation", v.result.explain(c.quantity))
    if v.reference is not None:
        lines += _derivation("divided by", v.reference.explain(c.relative_to.quantity))
    return lines


def _derivation(title: str, text: str) -> list[str]:
    """A derivation tree, folded away (a cost's tree runs to hundreds of lines)."""
    return ["", f"<details><summary>{title}</summary>", "", "```", text, "```", "",
            "</details>"]


def _shown(value) -> str:
    from .units import format_quantity

    return format_quantity(value)
