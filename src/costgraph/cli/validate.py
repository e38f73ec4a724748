"""``costgraph validate`` and ``costgraph calibrate``: predictions scored against measurements."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .common import JsonOpt, RulesOpt, echo, echo_json, table

FilesArg = Annotated[Optional[list[Path]], typer.Argument(
    metavar="FILES", help="Measurements files (YAML, see docs/validation.md) or names of "
                            "ones in the shipped validation set (trtllm-v1.0); without one, "
                            "the whole shipped set.")]
CalibrateFilesArg = Annotated[list[Path], typer.Argument(
    metavar="FILES", help="Measurements files (YAML, see docs/validation.md), or the name of "
                          "one in the shipped validation set (trtllm-v1.0).")]
OverPresetOpt = Annotated[Optional[list[str]], typer.Option(
    "--preset", "-p", metavar="PRESET",
    help="A preset applied after every point's own presets (a stack such as roofline, or "
         "a fitted one); repeatable, later ones win.")]
MarkdownOpt = Annotated[Optional[Path], typer.Option(
    "--markdown", metavar="OUT.md", help="Also write the table and summary as Markdown.")]
MaxErrorOpt = Annotated[Optional[str], typer.Option(
    "--max-error", metavar="X",
    help="Exit with status 1 when any point's |error| exceeds X (0.25 or 25%), or a point "
         "has no prediction.")]
FitOpt = Annotated[list[str], typer.Option(
    "--fit", metavar="NAME[,NAME...]",
    help="Input quantities to fit (comma-separated or repeated), e.g. "
         "bw_efficiency,flops_efficiency.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="PRESET.yaml",
    help="Write the pinned values as a stack preset file (put it in a rules folder's "
         "presets/ to use it with -p).")]
NameOpt = Annotated[Optional[str], typer.Option(
    "--name", metavar="NAME", help="The written preset's name (default: the file's stem).")]
LooOpt = Annotated[bool, typer.Option(
    "--loo", help="Also refit without each point and predict it (leave-one-out errors).")]
LooByOpt = Annotated[Optional[str], typer.Option(
    "--loo-by", metavar="point|configuration",
    help="What each leave-out fit holds out (implies --loo): a point, or a configuration "
         "(every point of one model, hardware, precision and tensor-parallel size).")]


def validate(files: FilesArg = None, preset: OverPresetOpt = None, json: JsonOpt = False,
             markdown: MarkdownOpt = None, max_error: MaxErrorOpt = None,
             rules: RulesOpt = None):
    """Predict every measured point and show how far each prediction lands.

    For each point: the measurement, the prediction, the signed error (predicted/measured - 1),
    the batch it rests on and what stops a larger one, each term's share of the predicted
    step, the software and its version, and the source. Then the median and worst |error|
    and the share of points within 10% and 20%.

    Example:

    \b
        costgraph validate
        costgraph validate validation/trtllm-v1.0.yaml -p roofline --max-error 25%
    """
    import costgraph as cg

    limit = _fraction(max_error) if max_error is not None else None
    report = cg.load(rules).validate(files or None, presets=preset or ())
    if markdown is not None:
        markdown.write_text(report.to_markdown(), encoding="utf-8")
        typer.echo(f"wrote {markdown}", err=True)
    if json:
        echo_json(report.to_dict())
    else:
        _wide(report.rows())
        echo("", *report.summary_lines())
    if limit is not None:
        worse = report.worse_than(limit)
        if worse:
            if not json:
                echo(f"{len(worse)} of {len(report)} points beyond ±{limit:.0%} or without a "
                     f"prediction: {', '.join(r.point.id for r in worse)}")
            raise typer.Exit(1)


def calibrate(files: CalibrateFilesArg, fit: FitOpt, preset: OverPresetOpt = None,
              output: OutOpt = None, name: NameOpt = None, loo: LooOpt = False,
              loo_by: LooByOpt = None, json: JsonOpt = False, rules: RulesOpt = None):
    """Fit input quantities (a stack's efficiencies) to measured points.

    Least squares on the log error of every point, each quantity within its declared
    bounds. Prints each fitted value with its standard uncertainty and whether the points
    pin it, then every point's residual. With --loo, each point is also predicted by a fit
    to all the others; with --loo-by configuration, each configuration by a fit to the
    other configurations.

    Example:

    \b
        costgraph calibrate trtllm-v1.0 --fit bw_efficiency,flops_efficiency --loo
        costgraph calibrate trtllm-v1.0 --fit flops_efficiency --loo-by configuration
        costgraph calibrate trtllm-v1.0 --fit flops_efficiency -o presets/fitted.yaml
    """
    import costgraph as cg

    names = [n.strip() for item in fit for n in item.split(",") if n.strip()]
    if loo_by is not None and loo_by not in ("point", "configuration"):
        raise typer.BadParameter(f"expected point or configuration, got {loo_by!r}",
                                 param_hint="--loo-by")
    loo = loo_by or loo
    report = cg.load(rules).calibrate(files, fit=names, presets=preset or (), loo=loo)
    if output is not None:
        preset_name = name or output.stem
        output.write_text(report.preset_yaml(preset_name), encoding="utf-8")
        typer.echo(f"wrote {output} (stack preset {preset_name})", err=True)
    if json:
        echo_json(report.to_dict())
        return
    over = ", ".join(report.presets) or "none"
    echo(f"fitted {', '.join(names)} to {len(report.points)} points of "
         f"{', '.join(report.files)} (presets over every point's own: {over})", "")
    fitted = table("quantity", "value", "uncertainty", "bounds", "pinned")
    for f in report.fitted:
        fitted.add_row(f.name, _number(f.value, f.unit), _sigma(f.sigma),
                       f"[{_number(f.bounds[0])}, {_number(f.bounds[1])}]",
                       "yes" if f.pinned else "NO: " + (f.reason or ""))
    echo(fitted, *[f"note: {f.name}: {f.reason}" for f in report.fitted
                   if f.pinned and f.reason], "")
    head = ["id", "measured", "predicted", "error"] + (["LOO predicted", "LOO error"]
                                                      if loo else [])
    rows = [head] + [[p.id, _number(p.measured, p.unit), _maybe(p.predicted, p.unit),
                      _percent(p.error)]
                     + ([_maybe(p.loo_predicted, p.unit), _percent(p.loo_error)] if loo else [])
                     for p in report.points]
    _wide(rows)
    lines = [report.summary.line()]
    if report.loo_summary is not None:
        lines.append(report.loo_summary.line())
    echo("", *lines)


def _wide(rows) -> None:
    """A table one line per row however wide: ids and sources stay whole (and grep-able)."""
    t = table(*rows[0])
    for row in rows[1:]:
        t.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, highlight=False, color_system=None, markup=False,
            emoji=False).print(t)
    typer.echo("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()))


def _fraction(text: str) -> float:
    raw = text.strip()
    try:
        x = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise typer.BadParameter(f"expected a fraction such as 0.25 or a percentage such as "
                                 f"25%, got {text!r}", param_hint="--max-error") from None
    if not x > 0:
        raise typer.BadParameter(f"must be above zero, got {text!r}", param_hint="--max-error")
    return x


def _number(x: float, unit: str = "") -> str:
    from costgraph.units import format_number

    return (format_number(x) + (f" {unit}" if unit else "")) if abs(x) != float("inf") \
        else ("inf" if x > 0 else "-inf")


def _sigma(s: float) -> str:
    import math

    if math.isnan(s):
        return "unknown"
    return "unbounded" if math.isinf(s) else "± " + _number(s)


def _maybe(x, unit: str = "") -> str:
    return "—" if x is None else _number(x, unit)


def _percent(x) -> str:
    from costgraph.validation.validate import signed_percent

    return "no batch fits" if x is None else signed_percent(x, 1)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("calibrate")(calibrate)
