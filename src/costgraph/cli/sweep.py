"""``costgraph sweep``, ``levers``, ``uncertainty`` and ``pareto``: how the cost moves.

Each command calls one function of the Python API (``Model.sweep``, ``levers``,
``uncertainty``, ``pareto``). ``-o FILE`` is repeatable and its extension picks what is
written: ``.csv`` or ``.json`` for the data; for levers, uncertainty and pareto also
``.png``, ``.svg`` or ``.pdf`` for the chart (a sweep has no one chart: ``costgraph plot``
draws them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from costgraph.table import write_json
from costgraph.units import Quantity, format_number, format_quantity, parse_unit

from .common import (JsonOpt, PresetOpt, RulesOpt, SetOpt, WhereOpt, check_names,
                     check_output, check_quantities, check_where, echo, echo_json,
                     parse_assignments, query, table)

FilesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write to FILE; the extension picks what: .csv or .json (the data), .png, .svg or "
         ".pdf (the chart). Repeatable.")]
SamplesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write to FILE; the extension picks what: .csv, .parquet or .json (the data), "
         ".png, .svg or .pdf (the chart). Repeatable.")]
DataFilesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the grid to FILE: .csv, .parquet or .json. Repeatable.")]
FindOpt = Annotated[list[str], typer.Option(
    "--find", "-f", metavar="NAME[,NAME...]",
    help="A quantity to evaluate; repeatable, or comma-separated.")]
BackendOpt = Annotated[str, typer.Option(
    "--backend", metavar="numpy|dask",
    help="numpy: this process; dask: dask array blocks on the local threaded scheduler, or "
         "on the cluster at --scheduler (needs the dask extra).")]
SchedulerOpt = Annotated[Optional[str], typer.Option(
    "--scheduler", metavar="ADDRESS",
    help="A dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask).")]
PROGRESS_FROM = 200_000  # points; smaller sweeps finish before a bar would be worth drawing
STREAM_FROM = 262_144  # points; a smaller grid is kept whole and each file written at once
DATA = (".csv", ".json")
IMAGES = (".png", ".svg", ".pdf")
AXIS_EXAMPLE = "batch=1..256 or context_len=1k..128k:log:32"


def check_outputs(paths, images: bool = True, parquet: bool = False) -> list[Path]:
    """Refuse, before any work, an extension that cannot be written, a path no file can be
    written to, a chart when matplotlib is missing and Parquet when pyarrow is."""
    allowed = DATA + ((".parquet",) if parquet else ()) + (IMAGES if images else ())
    for path in paths or []:
        if path.is_dir():
            check_output(path)  # "it is a folder" says more than "no extension"
        if path.suffix.lower() not in allowed:
            raise typer.BadParameter(f"cannot write {path.name}: use one of "
                                     f"{', '.join(allowed)}", param_hint="--output")
    for path in paths or []:
        check_output(path)
    if any(path.suffix.lower() in IMAGES for path in paths or []):
        from costgraph.plots.chart import require_matplotlib

        require_matplotlib()
    if any(path.suffix.lower() == ".parquet" for path in paths or []):
        from costgraph.analysis.stream import require_pyarrow

        require_pyarrow()
    return list(paths or [])


def check_backend_options(backend: str, scheduler) -> None:
    """Refuse, before any work, an unknown backend and a scheduler without dask."""
    from costgraph.analysis.backends import BACKENDS, check_backend

    if backend not in BACKENDS:
        raise typer.BadParameter(f"{backend!r} is not a backend; choose one of "
                                 f"{', '.join(BACKENDS)}", param_hint="--backend")
    if scheduler is not None and backend != "dask":
        raise typer.BadParameter("needs --backend dask", param_hint="--scheduler")
    check_backend(backend, scheduler)


def write_outputs(paths, data, chart=None) -> None:
    """Write each path: ``data`` (to_csv, to_dict) or ``chart()`` for images."""
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in (".csv", ".parquet"):
            data.to_csv(path)  # a slice at a time; .parquet by its extension
        elif suffix == ".json":
            write_json(data.to_dict(), path)
        else:
            chart().save(path)
        typer.echo(f"wrote {path}", err=True)


def progress_bar(total: int, enabled: bool | None, verb: str = "sweeping"):
    """A rich progress callback on stderr for long runs at a terminal, else None: the bar
    moves chunk by chunk, with the points done, their rate and the time left."""
    from rich.console import Console

    console = Console(stderr=True)
    if enabled is False or total < PROGRESS_FROM or not (enabled or console.is_terminal):
        return None, None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} points/s")

    bar = Progress(verb, BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(),
                   "eta", TimeRemainingColumn(), console=console, transient=True)
    task = bar.add_task(verb, total=total)
    return bar, (lambda done, _total: bar.update(task, completed=done))


# sweep -----------------------------------------------------------------------------------


def sweep(vary: Annotated[list[str], typer.Argument(
              metavar="NAME=VALUES...",
              help="What to vary: LO..HI[:lin|:log][:N] or V1,V2,... (k, M, G suffixes; for "
                   "token quantities k is 1024, as in 128k context) or preset names for a "
                   "name that is no quantity (precision=fp16,fp8).")],
          find: FindOpt, output: DataFilesOpt = None, preset: PresetOpt = None,
          set_: SetOpt = None,
          progress: Annotated[Optional[bool], typer.Option(
              "--progress/--no-progress",
              help="Show a progress bar (default: for long sweeps at a terminal).")] = None,
          backend: BackendOpt = "numpy", scheduler: SchedulerOpt = None,
          json: JsonOpt = False, rules: RulesOpt = None):
    """Evaluate quantities over the grid of every combination of the varied values.

    Points that break a declared constraint (HBM fit, the model's maximum context) are
    kept and marked: the CSV has a feasible column, the constraints each point breaks, and
    every constraint's relative slack. Without -o the CSV goes to stdout.

    Example:

    \b
        costgraph sweep context_len=1k..128k:log:32 batch=1..256 --find cost_per_mtok -o out.csv
    """
    find = check_names(find, "--find", "--find cost_per_mtok")
    axes = parse_assignments(vary, "NAME=VALUES", AXIS_EXAMPLE)
    paths = check_outputs(output, images=False, parquet=True)
    check_backend_options(backend, scheduler)
    q = query(rules, preset, set_)
    check_quantities(q.model, find, "--find")
    from costgraph.analysis.sweep import make_axis

    total = 1
    for name, spec in axes.items():
        total *= len(make_axis(q.model, name, spec))
    # a large grid goes to CSV and Parquet chunk by chunk as it is evaluated (memory bounded
    # whatever its size); Parquet always; JSON needs the whole result
    streamed = backend == "numpy" and not json and all(
        p.suffix.lower() in (".csv", ".parquet") for p in paths) and (
        total > STREAM_FROM or any(p.suffix.lower() == ".parquet" for p in paths))
    bar, callback = progress_bar(total, progress)
    if bar is not None:
        bar.start()
    try:
        if streamed:
            result = q.model.sweep(axes, find, given=q.given, presets=q.presets,
                                   progress=callback, out=paths or [None])
        else:
            result = q.model.sweep(axes, find, given=q.given, presets=q.presets,
                                   progress=callback, backend=backend, scheduler=scheduler)
    finally:
        if bar is not None:
            bar.stop()
    if streamed:
        for path in paths:
            typer.echo(f"wrote {path}", err=True)
        typer.echo(result.summary(), err=True)
        return
    if json:
        echo_json(result.to_dict())
    elif not paths:
        typer.echo(result.to_csv(), nl=False)
    write_outputs(paths, result)
    typer.echo(result.summary(), err=True)


# levers ----------------------------------------------------------------------------------


def levers(target: Annotated[str, typer.Argument(metavar="TARGET",
                                                 help="A derived quantity, e.g. cost_per_mtok.")],
           range_: Annotated[Optional[list[str]], typer.Option(
               "--range", metavar="NAME=LO..HI",
               help="A range for an input (numbers in its declared unit, or with units); "
                    "wins over the presets' ranges. Repeatable.")] = None,
           rank: Annotated[str, typer.Option(
               "--rank", metavar="elasticity|swing",
               help="Order by |elasticity| or by the swing over each range.")] = "elasticity",
           plot: Annotated[bool, typer.Option(
               "--plot", help="Draw a tornado chart (to -o FILE.png/.svg, or "
                              "levers-TARGET.png).")] = False,
           output: FilesOpt = None, preset: PresetOpt = None, set_: SetOpt = None,
           json: JsonOpt = False, rules: RulesOpt = None):
    """Rank the inputs of a quantity by how strongly they move it.

    The elasticity is the exact derivative of the rules at the point (d ln target / d ln
    input), with the active branch of every max() taken. Where an input has a range (from
    its preset, or --range), the table also shows the target at each end.

    Levers are an analysis, so the exit status is 0 even at a point that breaks a declared
    constraint; the first line then says INFEASIBLE and what breaks. A range end at which a
    constraint breaks is marked ! (the --json output has feasible, failing, and per lever
    feasible_low and feasible_high).

    Example:

    \b
        costgraph levers cost_per_mtok --range batch=32..128 --plot
    """
    from costgraph.cli.common import parse_range

    check_names([target], "TARGET", "costgraph levers cost_per_mtok")
    ranges = {name: parse_range(span, "--range", name)
              for name, span in parse_assignments(range_, "--range", "batch=32..128").items()}
    if plot and not any(p.suffix.lower() in IMAGES for p in output or []):
        output = [*(output or []), Path(f"levers-{target}.png")]
    paths = check_outputs(output)
    q = query(rules, preset, set_)
    result = q.model.levers(target, presets=q.presets, given=q.given, ranges=ranges,
                            rank=rank)
    if json:
        echo_json(result.to_dict())
    else:
        print_levers(result)

    def chart():
        from costgraph.plots import tornado

        return tornado(q.model, target, presets=q.presets, given=q.given, ranges=ranges)

    write_outputs(paths, result, chart)


def print_levers(result) -> None:
    """The ranked table; first a line when the point breaks a declared constraint, last a
    legend when a range end does (its value marked ``!``)."""
    unit = f"{result.value.units:~P}"
    rows = table("#", "input", "value", "elasticity", "low .. high",
                 f"{result.target} at low .. high [{unit}]",
                 title=f"{result.target} = {format_quantity(result.value)} ({result.scenario})")
    for i, lv in enumerate(result, 1):
        span = ends = ""
        if lv.low is not None:
            span = f"{format_quantity(lv.low)} .. {format_quantity(lv.high)}"
            ends = (f"{format_number(lv.target_low.m)}{lv.mark_low} .. "
                    f"{format_number(lv.target_high.m)}{lv.mark_high}")
        rows.add_row(str(i), lv.name, format_quantity(lv.value), f"{lv.elasticity:+.4f}",
                     span, ends)
    head = [line for line in (result.infeasible_line(),) if line]
    legend = [line for line in (result.end_legend(),) if line]
    echo(*head, rows, *legend)


# uncertainty -----------------------------------------------------------------------------


def uncertainty(target: Annotated[str, typer.Argument(
                    metavar="TARGET", help="A derived quantity, e.g. cost_per_mtok.")],
                samples: Annotated[int, typer.Option(
                    "--samples", "-n", min=2, help="Number of draws.")] = 100_000,
                seed: Annotated[int, typer.Option(
                    "--seed", min=0, help="Seed: the same seed gives the same numbers.")] = 0,
                output: SamplesOpt = None, preset: PresetOpt = None, set_: SetOpt = None,
                progress: Annotated[Optional[bool], typer.Option(
                    "--progress/--no-progress",
                    help="Show a progress bar (default: for many samples at a "
                         "terminal).")] = None,
                backend: BackendOpt = "numpy", scheduler: SchedulerOpt = None,
                json: JsonOpt = False, rules: RulesOpt = None):
    """Propagate the presets' input ranges to a quantity: percentiles and what drives them.

    Every input with a range in its preset (low/high, a distribution) is drawn; the rest
    stay fixed. Statistics are given over all samples and over the feasible ones only
    (where every declared constraint holds), with the share of samples breaking each
    constraint; a point that breaks one is flagged INFEASIBLE (the exit status stays 0).
    -o FILE.csv (or .parquet) writes every sample, a slice at a time; -o FILE.png the
    histogram.

    Example:

    \b
        costgraph uncertainty cost_per_mtok --samples 200000 --seed 7 -o spread.png
    """
    check_names([target], "TARGET", "costgraph uncertainty cost_per_mtok")
    paths = check_outputs(output, parquet=True)
    check_backend_options(backend, scheduler)
    q = query(rules, preset, set_)
    bar, callback = progress_bar(samples, progress, "sampling")
    if bar is not None:
        bar.start()
    try:
        result = q.model.uncertainty(target, samples=samples, seed=seed, presets=q.presets,
                                     given=q.given, progress=callback, backend=backend,
                                     scheduler=scheduler)
    finally:
        if bar is not None:
            bar.stop()
    if json:
        echo_json(result.to_dict())
    else:
        print_uncertainty(result)

    def chart():
        from costgraph.plots import uncertainty_histogram

        return uncertainty_histogram(q.model, target, presets=q.presets, given=q.given,
                                     samples=samples, seed=seed)

    write_outputs(paths, result, chart)


def print_uncertainty(result) -> None:
    """Statistics over all samples and over the feasible ones, side by side; the share of
    samples breaking each constraint; what drives the spread."""
    feasible = result.stats(feasible_only=True)
    every = result.stats()
    stats = table("statistic", "all samples", "feasible samples only", title=result.title)
    stats.add_row("point", format_quantity(result.point), "")
    stats.add_row("samples", f"{every['samples']:,}",
                  f"{feasible['samples']:,} ({result.feasible_fraction:.1%})")
    for name in ("p5", "p50", "p95", "mean", "std"):
        shown = name.upper() if name.startswith("p") else name
        stats.add_row(shown, format_quantity(every[name]),
                      "none" if feasible[name] is None else format_quantity(feasible[name]))
    breaks = table("constraint", "broken in")
    for cid, share in result.breaks.items():
        breaks.add_row(cid, f"{share:.1%} of samples")
    drivers = table("input", "variance share", "correlation", "drawn from")
    described = {d.name: d for d in result.inputs}
    for c in result.contributors:
        drivers.add_row(c.name, f"{c.share:.1%}", f"{c.correlation:+.2f}",
                        described[c.name].describe())
    head = [line for line in (result.infeasible_line(),) if line]
    echo(*head, stats, *([breaks] if result.breaks else []), drivers)


# pareto ----------------------------------------------------------------------------------


def pareto(x: Annotated[str, typer.Argument(metavar="X", help="First quantity, e.g. step_time.")],
           y: Annotated[str, typer.Argument(metavar="Y",
                                            help="Second quantity, e.g. cost_per_mtok.")],
           vary: Annotated[list[str], typer.Option(
               "--vary", metavar="NAME=VALUES",
               help="A decision and its values, as for sweep (batch=1..512:log:16, "
                    "n_gpus=1,2,4,8, precision=fp16,fp8,fp4); repeatable.")],
           where: WhereOpt = None,
           maximize: Annotated[Optional[list[str]], typer.Option(
               "--maximize", metavar="NAME",
               help="Maximise X or Y instead of minimising it.")] = None,
           output: FilesOpt = None, preset: PresetOpt = None, set_: SetOpt = None,
           json: JsonOpt = False, rules: RulesOpt = None):
    """The decisions no other beats on both X and Y (both minimised by default).

    Every combination of the --vary values is evaluated; points breaking a declared or
    --where constraint are left out, and a last line counts them by constraint; the
    non-dominated rest is printed in order of X.

    Example:

    \b
        costgraph pareto step_time cost_per_mtok --vary batch=1..512:log:16 \\
            --vary n_gpus=1,2,4,8 --vary precision=fp16,fp8,fp4 --where "step_time <= 50 ms" \\
            -o front.csv -o front.png
    """
    check_names([x, y], "X Y", "costgraph pareto step_time cost_per_mtok")
    decisions = parse_assignments(vary, "--vary", "--vary batch=1..512:log:16")
    paths = check_outputs(output)
    q = query(rules, preset, set_)
    check_quantities(q.model, [x, y], "X Y")
    where = check_where(q.model, where)
    result = q.model.pareto(x, y, decisions, subject_to=where, given=q.given,
                            presets=q.presets, maximize=list(maximize or []))
    if json:
        echo_json(result.to_dict())
    else:
        print_table(result.front, f"{result.title}: {len(result)} of {len(result.sweep):,} "
                                  f"points")
        echo(result.summary())

    def chart():
        from costgraph.plots import pareto_front

        return pareto_front(q.model, x, y, decisions, subject_to=where,
                            presets=q.presets, given=q.given, maximize=list(maximize or []))

    write_outputs(paths, result, chart)


def print_table(data, title: str) -> None:
    """A Table's rows with units in the values (text columns as they are)."""
    rows = table(*data.names, title=title)
    for row in data.rows():
        cells = []
        for name in data.names:
            value, unit = row[name], data.units[name]
            if isinstance(value, str):
                cells.append(value)
            elif unit:
                cells.append(format_quantity(Quantity(float(value), parse_unit(unit))))
            else:
                cells.append(format_number(value))
        rows.add_row(*cells)
    echo(rows)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("levers")(levers)
    app.command("uncertainty")(uncertainty)
    app.command("pareto")(pareto)
