"""The Scenario, Derivation and Compare pages.

Each page's state is its query string, named as the API's parameters (``p``, ``set``,
``find``...), so a link reproduces the view and the page's JSON and CSV links are the same
query sent to ``/api``.
"""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Query, Request

from . import questions as q
from . import svg, views
from .html import derivation_href, linked_svg, page, web

router = APIRouter(include_in_schema=False)
Many = Annotated[Optional[list[str]], Query()]
Set = Annotated[Optional[list[str]], Query(alias="set")]
DEFAULT_COMPARE = ("h100-sxm", "h200", "b200", "mi300x")


def scenario_form(w, p, set_) -> dict:
    """What every page's scenario form shows: the preset selects and the values set."""
    presets = [x for x in (p or []) if x and x.strip()] or None
    sets = [x for x in (set_ or []) if x and x.strip()]
    return {"choices": views.preset_choices(w.model, presets, q.default_presets(w.model)),
            "p": presets or [], "sets": sets,
            "quantity_names": sorted(views.declared(w.model))}


@router.get("/")
async def scenario(request: Request, p: Many = None, set_: Set = None, find: Many = None):
    w = web(request)
    form = scenario_form(w, p, set_)
    extra = [f for f in (find or []) if f.strip()]
    form["find"] = extra
    form["api"] = [("JSON", "/api/solve?" + views.query(
                        find=views.scenario_finds(w.model, extra), p=p, set_=set_)),
                   ("CSV", "/api/solve?" + views.query(
                       find=views.scenario_finds(w.model, extra), p=p, set_=set_,
                       format="csv"))]

    def work(w):
        s = q.scenario(w.limits, p, set_)
        finds = views.scenario_finds(w.model, q.names(w.limits, "find", extra))
        result = w.model.solve(given=s.given, find=finds, presets=s.presets)
        href = lambda name: derivation_href(name, p, set_)  # noqa: E731
        numbers = [views.number(result, n, label) for n, label in views.headline(w.model)]
        numbers += [views.number(result, n) for n in extra]
        layers = views.stack(result, w.model)
        total = views.number(result, views.TOTAL) if views.TOTAL in result else None
        stack = svg.stack_bar([(x.label, x.value, x.text) for x in layers],
                              total.unit if total else "", "cost stack per 1M output tokens",
                              {x.label: href(x.name) for x in layers}) if layers else None
        fit = views.fit(result)
        fit_svg = svg.fit_bar(list(fit.parts), fit.limit, fit.unit, fit.holds,
                              "HBM fit") if fit else None
        return {"result": result, "numbers": numbers, "stack": stack, "layers": layers,
                "total": total, "fit": fit, "fit_svg": fit_svg, "href": href,
                "inputs": views.inputs(result, form["sets"]),
                "constraints": [(c, views.status_word(c)) for c in result.constraints]}

    return await page(request, "scenario.html", form, work)


@router.get("/derivation")
async def derivation(request: Request, name: str = "cost_per_mtok", p: Many = None,
                     set_: Set = None,
                     depth: Annotated[Optional[str], Query()] = None,
                     unfold: bool = False):
    w = web(request)
    form = scenario_form(w, p, set_)
    shown_depth = _depth(depth)
    form.update(name=name, depth="all" if shown_depth is None else str(shown_depth),
                unfold=unfold,
                api=[("JSON", "/api/explain?" + views.query(name=name, p=p, set_=set_)),
                     ("CSV", "/api/explain?" + views.query(name=name, p=p, set_=set_,
                                                           format="csv")),
                     ("text", "/api/explain?" + views.query(name=name, p=p, set_=set_,
                                                            format="text")),
                     ("SVG", "/api/graph?" + views.query(name=name, p=p, set_=set_,
                                                         depth=shown_depth, format="svg")),
                     ("DOT", "/api/graph?" + views.query(name=name, p=p, set_=set_,
                                                         depth=shown_depth, format="dot"))])

    def work(w):
        result = q.explain(w.model, w.limits, name, p, set_)
        diagram = result.graph(name, depth=shown_depth, unfold=unfold)
        kept = {k: v for k, v in (("depth", depth), ("unfold", "1" if unfold else None)) if v}
        drawn = linked_svg(diagram.pipe_svg(), lambda n: derivation_href(n, p, set_) +
                           ("&" + views.query(**kept) if kept else ""))
        step = result.step(name)
        upstream = [result.step(n) for n in result.upstream_of(name)]
        return {"result": result, "step": step, "svg": drawn,
                "explain": result.explain(name, unfold=unfold), "value": views.number(result, name),
                "sources": [s for s in [step, *upstream] if s.source]}

    return await page(request, "derivation.html", form, work)


def _depth(depth: str | None) -> int | None:
    """The diagram's depth: 3 quantities back unless asked (``all`` draws everything)."""
    if depth in (None, ""):
        return 3
    if depth == "all":
        return None
    return max(0, min(int(depth), 1000)) if depth.isdigit() else 3


@router.get("/compare")
async def compare(request: Request, col: Many = None, find: Many = None, p: Many = None,
                  set_: Set = None):
    w = web(request)
    form = scenario_form(w, p, set_)
    known = {x.name for x in w.model.presets()}
    cols = [c for c in (col or []) if c and c.strip()] or \
        [c for c in DEFAULT_COMPARE if c in known]
    finds = [f for f in (find or []) if f.strip()] or views.scenario_finds(w.model)
    form.update(cols=cols, find=[f for f in (find or []) if f.strip()],
                api=[("JSON", "/api/compare?" + views.query(col=cols, find=finds, p=p,
                                                            set_=set_)),
                     ("CSV", "/api/compare?" + views.query(col=cols, find=finds, p=p,
                                                           set_=set_, format="csv"))])

    def work(w):
        results = q.compare(w.model, w.limits, cols, finds, p, set_)
        rows = [_compare_row(name, results) for name in finds]
        totals = [r[views.TOTAL] for r in results if views.TOTAL in r]
        biggest = max((float(t.magnitude) for t in totals), default=0.0)
        stacks = []
        for column, r in zip(cols, results):
            layers = views.stack(r, w.model)
            parts = [(x.label, x.value, x.text) for x in layers]
            stacks.append(svg.stack_bar(parts, layers[0].unit if layers else "", column,
                                        scale=biggest) if layers else None)
        statuses = [(c.id, [(next(s for s in r.constraints if s.id == c.id)) for r in results])
                    for c in results[0].constraints]
        queries = [views.query(p=_column_presets(w, p, c),
                               set_=[*(set_ or []), *c.split(";")[1:]]) for c in cols]
        return {"rows": rows, "stacks": stacks, "statuses": statuses, "queries": queries}

    return await page(request, "compare.html", form, work)


def _column_presets(w, p, column: str) -> list[str]:
    shared = [x for x in (p or []) if x.strip()] or q.default_presets(w.model)
    return shared + [n.strip() for n in column.split(";")[0].split(",") if n.strip()]


def _compare_row(name, results):
    """A quantity across the scenarios: each value, and its ratio to the first."""
    first = results[0][name]
    cells = []
    for r in results:
        value = r[name]
        ref = float(first.magnitude)
        ratio = float(value.to(first.units).magnitude) / ref if ref else None
        differs = ratio is not None and abs(ratio - 1) > 0.005
        cells.append((views.number(r, name), ratio, differs))
    return name, cells
