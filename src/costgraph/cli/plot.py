"""``costgraph plot KIND``: the charts of ``costgraph.plots`` as image files or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (PresetOpt, RulesOpt, SetOpt, check_names, check_presets,
                     check_quantities, check_where, parse_assignments, parse_range, query)
from .sweep import check_outputs, write_outputs

# which kind-specific options each kind reads; any other given option is refused
ACCEPTS = {
    "context": {"find", "lines", "x"},
    "batch": {"find", "lines", "x"},
    "roofline": {"lines"},
    "stack": {"scenario"},
    "regions": {"region"},
    "carbon": {"region", "hardware"},
    "tornado": {"target", "range_"},
    "uncertainty": {"target", "samples", "seed"},
    "pareto": {"quantities", "vary", "where"},
}
OPTION_NAMES = {"find": "--find", "lines": "--lines", "x": "--x", "scenario": "--scenario",
                "region": "--region", "hardware": "--hardware", "target": "--target", "range_": "--range",
                "samples": "--samples", "seed": "--seed", "quantities": "--quantities",
                "vary": "--vary", "where": "--where"}


def plot(kind: Annotated[str, typer.Argument(
             metavar="KIND",
             help="context | batch | roofline | stack | regions | carbon | tornado | "
                  "uncertainty | pareto")],
         output: Annotated[list[Path], typer.Option(
             "--output", "-o", metavar="FILE",
             help="Where to write: .png, .svg or .pdf for the chart, .csv or .json for its "
                  "data. Repeatable.")],
         find: Annotated[Optional[str], typer.Option(
             "--find", metavar="NAME", help="context, batch: the quantity drawn "
                                            "(default cost_per_mtok).")] = None,
         lines: Annotated[Optional[str], typer.Option(
             "--lines", metavar="VALUES",
             help="context: the batches (default 1,8,32,64,128); batch: the contexts "
                  "(default 2k,8k,32k,128k); roofline: the decode batches.")] = None,
         x: Annotated[Optional[str], typer.Option(
             "--x", metavar="VALUES", help="context, batch: the x values, e.g. "
                                           "1k..128k:log:64.")] = None,
         scenario: Annotated[Optional[list[str]], typer.Option(
             "--scenario", metavar="LABEL=PRESET[+PRESET]",
             help="stack: a bar, as presets applied after -p (default: the essay's Figure 2 "
                  "configurations); repeatable.")] = None,
         region: Annotated[Optional[list[str]], typer.Option(
             "--region", metavar="PRESET",
             help="regions, carbon: a region preset (default: all); repeatable.")] = None,
         hardware: Annotated[Optional[list[str]], typer.Option(
             "--hardware", metavar="PRESET",
             help="carbon: a hardware preset, one bar per region (default h100-sxm, h200, "
                  "b200); repeatable.")] = None,
         target: Annotated[Optional[str], typer.Option(
             "--target", metavar="NAME", help="tornado, uncertainty: the quantity "
                                              "(default cost_per_mtok).")] = None,
         range_: Annotated[Optional[list[str]], typer.Option(
             "--range", metavar="NAME=LO..HI", help="tornado: a range for an input; "
                                                    "repeatable.")] = None,
         samples: Annotated[Optional[int], typer.Option(
             "--samples", "-n", min=2, help="uncertainty: draws (default 100000).")] = None,
         seed: Annotated[Optional[int], typer.Option(
             "--seed", min=0, help="uncertainty: the seed (default 0).")] = None,
         quantities: Annotated[Optional[str], typer.Option(
             "--quantities", metavar="X,Y",
             help="pareto: the two quantities traded (default step_time,cost_per_mtok).")
         ] = None,
         vary: Annotated[Optional[list[str]], typer.Option(
             "--vary", metavar="NAME=VALUES",
             help="pareto: a decision and its values (default batch, n_gpus and "
                  "precision); repeatable.")] = None,
         where: Annotated[Optional[list[str]], typer.Option(
             "--where", metavar="CONSTRAINT",
             help='pareto: an inequality the points drawn must meet, e.g. "step_time <= 50 '
                  'ms"; repeatable (the declared constraints always apply).')] = None,
         preset: PresetOpt = None, set_: SetOpt = None, rules: RulesOpt = None):
    """Draw a chart of the scenario: cost curves, roofline, cost stacks, carbon, levers, spread.

    Axes carry units and the title names the scenario; -o FILE.csv writes the data drawn.

    Example:

    \b
        costgraph plot context -p default -p llama-3.1-70b -o cost-vs-context.png
        costgraph plot stack -o stack.svg -o stack.csv
        costgraph plot carbon --region oregon --region germany -o carbon.png
        costgraph plot tornado --range batch=32..128 -o tornado.png
    """
    from costgraph.plots import KINDS  # the charts and what they import, only to draw

    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not a kind of plot; choose one of "
                                 f"{', '.join(KINDS)}", param_hint="KIND")
    options = {"find": find, "lines": lines, "x": x, "scenario": scenario, "region": region,
               "hardware": hardware, "target": target, "range_": range_, "samples": samples, "seed": seed,
               "quantities": quantities, "vary": vary, "where": where}
    for name, value in options.items():
        if value not in (None, []) and name not in ACCEPTS[kind]:
            raise typer.BadParameter(f"{OPTION_NAMES[name]} does not apply to {kind} plots",
                                     param_hint=OPTION_NAMES[name])
    check_names([v for v in (find, target) if v is not None], "--find/--target",
                "--target cost_per_mtok")
    arguments = _arguments(kind, options)
    paths = check_outputs(output)
    q = query(rules, preset, set_)
    _check(q.model, arguments)
    chart = KINDS[kind](q.model, presets=q.presets, given=q.given, **arguments)
    write_outputs(paths, chart.data, lambda: chart)


def _check(model, arguments: dict) -> None:
    """Refuse unknown quantities and presets, naming the option that gave them."""
    for key, option in (("find", "--find"), ("target", "--target"), ("x", "--quantities"),
                        ("y", "--quantities")):
        if key in arguments:
            check_quantities(model, [arguments[key]], option)
    if "scenarios" in arguments:
        check_presets(model, [p for bar in arguments["scenarios"].values() for p in bar],
                      "--scenario")
    if "names" in arguments:
        check_presets(model, arguments["names"], "--region")
    if "hardware" in arguments:
        check_presets(model, arguments["hardware"], "--hardware")
    if "subject_to" in arguments:
        check_where(model, arguments["subject_to"])


def _arguments(kind: str, o: dict) -> dict:
    """The plot function's keyword arguments from the options given for ``kind``."""
    args = {}
    if kind in ("context", "batch"):
        args.update(find=o["find"],
                    **{"batches" if kind == "context" else "contexts": o["lines"]},
                    **{"context" if kind == "context" else "batch": o["x"]})
    elif kind == "roofline":
        args.update(batches=o["lines"])
    elif kind == "stack" and o["scenario"]:
        bars = parse_assignments(o["scenario"], "--scenario", "--scenario bf16=default+bf16")
        args["scenarios"] = {label: spec.split("+") for label, spec in bars.items()}
    elif kind == "regions":
        args.update(names=o["region"] or None)
    elif kind == "carbon":
        args.update(names=o["region"] or None, hardware=o["hardware"] or None)
    elif kind == "tornado":
        args.update(target=o["target"], ranges={
            n: parse_range(s, "--range", n)
            for n, s in parse_assignments(o["range_"], "--range", "batch=32..128").items()}
            or None)
    elif kind == "uncertainty":
        args.update(target=o["target"], samples=o["samples"], seed=o["seed"])
    elif kind == "pareto":
        if o["quantities"]:
            pair = [n.strip() for n in o["quantities"].split(",")]
            if len(pair) != 2 or not all(pair):
                raise typer.BadParameter(f"{o['quantities']!r} is not two names X,Y; e.g. "
                                         "--quantities step_time,cost_per_mtok",
                                         param_hint="--quantities")
            args.update(x=pair[0], y=pair[1])
        args.update(vary=parse_assignments(o["vary"], "--vary", "--vary batch=1..512:log:16")
                    or None,
                    subject_to=list(o["where"] or []))
    return {k: v for k, v in args.items() if v is not None}


def register(app: typer.Typer) -> None:
    app.command("plot")(plot)
