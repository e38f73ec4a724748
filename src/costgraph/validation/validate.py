"""Validation: every measurement point predicted, its error, and what dominates its step.

``validate(model, files, presets)`` reads measurements files (default: the shipped validation
set, ``validation/``), predicts each point with ``predict.Evaluator`` under its own presets
plus ``presets``, and reports the signed error ``predicted / measured - 1`` of each, the batch
the prediction rests on, what stops a larger batch, and the share of the predicted step each
term takes (``measurements.STEPS``). The summary gives the median and worst |error| and the
share of points within 10% and 20%, overall and per file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math
from dataclasses import dataclass

import numpy as np

from ..lang.bibliography import cited_keys
from .measurements import Measurement, read_all
from .predict import Detail, Evaluator
from ..units import Quantity, format_number, format_quantity

if TYPE_CHECKING:
    from ..core.engine import Engine


@dataclass(frozen=True)
class PointResult:
    """One point: measured, predicted (None when no batch satisfies the constraints), why."""

    point: Measurement
    predicted: float | None  # in the measured value's unit
    detail: Detail

    @property
    def error(self) -> float | None:
        """predicted / measured - 1 (signed); None without a prediction."""
        if self.predicted is None:
            return None
        return self.predicted / float(self.point.value.magnitude) - 1

    @property
    def span_errors(self) -> tuple[float, float] | None:
        """The error at the two ends of the prediction's span over the given ranges."""
        span = self.detail.span
        if span is None:
            return None
        measured = float(self.point.value.magnitude)
        return span[0] / measured - 1, span[1] / measured - 1

    def to_dict(self) -> dict:
        d = self.detail
        unit = self.point.value.units
        return {**self.point.to_dict(),
                "measured": float(self.point.value.magnitude),
                "predicted": self.predicted, "unit": f"{unit:~P}", "error": self.error,
                "batch": d.batch, "limited_by": list(d.limited_by), "violated": list(d.violated),
                "shares": dict(d.shares), "dominant": d.dominant,
                "span": None if d.span is None else list(d.span),
                "span_errors": None if self.span_errors is None else list(self.span_errors)}


@dataclass(frozen=True)
class Summary:
    """How far a set of points lands: counts, median and worst |error|, shares within."""

    label: str
    points: int
    predicted: int
    median: float | None
    worst: float | None
    worst_id: str | None
    within_10: float | None
    within_20: float | None

    @classmethod
    def of(cls, label: str, ids, errors) -> "Summary":
        pairs = [(i, e) for i, e in zip(ids, errors) if e is not None]
        if not pairs:
            return cls(label, len(ids), 0, None, None, None, None, None)
        size = np.abs([e for _, e in pairs])
        worst = int(np.argmax(size))
        return cls(label, len(ids), len(pairs), float(np.median(size)), float(size[worst]),
                   pairs[worst][0], float(np.mean(size <= 0.10)), float(np.mean(size <= 0.20)))

    def line(self) -> str:
        if self.predicted == 0:
            return f"{self.label}: {self.points} points, none predicted"
        missing = (f", {self.points - self.predicted} without a prediction"
                   if self.predicted < self.points else "")
        return (f"{self.label}: {self.points} points{missing}; median |error| "
                f"{self.median:.1%}, worst {self.worst:.1%} ({self.worst_id}); within ±10%: "
                f"{self.within_10:.0%}, within ±20%: {self.within_20:.0%}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ValidationReport:
    """Every point's prediction against its measurement, in file order."""

    results: tuple[PointResult, ...]
    presets: tuple[str, ...]  # applied over every point's own

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    @property
    def summary(self) -> Summary:
        return Summary.of("all", [r.point.id for r in self.results],
                          [r.error for r in self.results])

    def by_file(self) -> list[Summary]:
        files = list(dict.fromkeys(r.point.file for r in self.results))
        return [Summary.of(f, [r.point.id for r in self.results if r.point.file == f],
                           [r.error for r in self.results if r.point.file == f]) for f in files]

    def worse_than(self, limit: float) -> list[PointResult]:
        """Points whose |error| exceeds ``limit``, and those without a prediction."""
        return [r for r in self.results if r.error is None or abs(r.error) > limit]

    def rows(self) -> list[list[str]]:
        """The table's cells: a header, then one row per point."""
        head = ["id", "metric", "measured", "predicted", "error", "batch", "limited by",
                "step shares", "software", "source"]
        return [head, *(_row(r) for r in self.results)]

    def table(self) -> str:
        """The points as a Markdown table."""
        rows = self.rows()
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                  for row in rows[1:]]
        return "\n".join(lines)

    def summary_lines(self) -> list[str]:
        files = self.by_file()
        return [self.summary.line(), *(s.line() for s in files if len(files) > 1)]

    def to_markdown(self) -> str:
        head = "presets over every point's own: " + (", ".join(self.presets) or "none")
        return "\n".join([self.table(), "", head, "", *(f"- {s}" for s in
                                                        self.summary_lines())]) + "\n"

    def to_dict(self) -> dict:
        return {"presets": list(self.presets), "summary": self.summary.to_dict(),
                "files": [s.to_dict() for s in self.by_file()],
                "points": [r.to_dict() for r in self.results]}


def validate(model: Engine, files=None, presets=()) -> ValidationReport:
    """Predict every point of ``files`` (default: the validation set) and compare.

    Parameters
    ----------
    files : sequence of paths, or None
        Measurements files (docs/validation.md); None for the shipped validation set.
    presets : sequence of str
        Applied after every point's own presets, e.g. ``["roofline"]`` or a fitted stack.
    """
    points = read_all(model, files)
    evaluator = Evaluator(model, points, presets=tuple(presets or ()), spans=True)
    details = evaluator.details()
    results = tuple(PointResult(p, None if math.isnan(d.predicted) else d.predicted, d)
                    for p, d in zip(points, details))
    return ValidationReport(results, tuple(presets or ()))


def signed_percent(x: float, digits: int = 0) -> str:
    """``+12.5%``; a value that rounds to zero reads ``+0%``, never ``-0%``."""
    return f"{x if round(x * 100, digits) else 0.0:+.{digits}%}"


def _row(r: PointResult) -> list[str]:
    p, d = r.point, r.detail
    unit = p.value.units
    predicted = "—" if r.predicted is None else format_quantity(Quantity(r.predicted, unit))
    if d.span is not None:
        lo, hi = (format_number(x) for x in d.span)
        predicted += f" ({lo}…{hi})"
    error = "no batch fits" if r.error is None else signed_percent(r.error, 1)
    if r.span_errors is not None:
        error += " ({}…{})".format(*(signed_percent(e) for e in r.span_errors))
    limited = "; ".join(part for part in (", ".join(d.limited_by), "breaks " + ", ".join(
        d.violated) if d.violated else "") if part)
    shares = ", ".join(f"{label} {share:.0%}" for label, share in
                       sorted(d.shares, key=lambda s: -s[1]) if share >= 0.005)
    return [p.id, p.metric.name, format_quantity(p.value), predicted, error,
            "—" if d.batch is None else str(d.batch), limited or "—", shares or "—",
            f"{p.software} {p.version}", cited_keys(p.source)]
