"""An audit as Markdown: the verdict table, then every claim that is not reproduced with
its reasons and its derivation. Plain text, stable order, so a report can be diffed in CI."""

from __future__ import annotations

from .outcome import REPRODUCED
from ..units import format_number


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
    from ..units import format_quantity

    return format_quantity(value)


def summary_markdown(report, ids, compare=None, compare_label: str = "") -> str:
    """A short Markdown table of chosen claims: the figure, what the rules derive, the
    verdict and its main reason; with ``compare`` (the same claims audited under other
    presets), what those presets derive beside it."""
    head = ["claim", "claimed", "derived", "ratio", "verdict", "main reason"]
    if compare is not None:
        head.append(compare_label or "derived under " + ", ".join(compare.presets))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cid in ids:
        v = report[cid]
        row = [f"`{v.id}` ({v.claim.where})", v.claim.value.text, v.derived_text(),
               v.ratio_text(), v.verdict, _main_reason(v)]
        if compare is not None:
            w = compare[cid]
            row.append(f"{w.derived_text()} ({w.verdict})")
        lines.append("| " + " | ".join(_cell(x) for x in row) + " |")
    return "\n".join(lines) + "\n"


def _main_reason(v) -> str:
    """The first cause, else the broken constraint, else the first reason."""
    if v.causes:
        return v.causes[0].text
    breaches = v.breaches or v.reference_breaches
    if breaches:
        b = breaches[0]
        return f"{b.id} fails ({format_number(b.ratio)}× the limit)" if b.ratio else b.id
    if v.verdict != REPRODUCED and v.derived is not None:
        return "no recognised slip: compare the derivation"
    reasons = v.reasons()
    return reasons[0] if reasons else ""
