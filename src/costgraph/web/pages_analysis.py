"""The Seek, Sweep-and-levers and Audit pages."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from costgraph.errors import InfeasibleError, QueryError
from costgraph.units import format_quantity

from . import claims as claim_files
from . import questions as q
from . import svg, views
from .api import read_upload, stored
from .state import error_body
from .html import derivation_href, linked_svg, page, render, web
from .pages import Many, Set, scenario_form

router = APIRouter(include_in_schema=False)


# seek ---------------------------------------------------------------------------------------


@router.get("/seek")
async def seek(request: Request, maximize: Optional[str] = None,
               minimize: Optional[str] = None, where: Many = None, vary: Many = None,
               p: Many = None, set_: Set = None):
    w = web(request)
    form = scenario_form(w, p, set_)
    asked = bool(maximize or minimize)
    where = [x for x in (where or []) if x.strip()]
    vary = [x for x in (vary or []) if x.strip()]
    params = dict(maximize=maximize, minimize=minimize, where=where, vary=vary, p=p, set_=set_)
    form.update(found=None, least_bad=None,
                sense="minimize" if minimize and not maximize else "maximize",
                objective=maximize or minimize or "", where=where, vary=vary, asked=asked,
                api=[("JSON", "/api/seek?" + views.query(**params)),
                     ("CSV", "/api/seek?" + views.query(**params, format="csv"))]
                if asked else [])
    if not asked:
        return render(w, request, "seek.html", error=None, **form)

    def work(w):
        try:
            found = q.seek(w.model, w.limits, maximize, minimize, where, vary, p, set_)
        except InfeasibleError as exc:
            return {"found": None, "least_bad": exc, "infeasible": str(exc),
                    "least_bad_rows": [(c, views.status_word(c)) for c in exc.violations]}
        at = chosen(found, set_)
        binding = {c.id for c in found.binding}
        return {"found": found, "least_bad": None, "at": at,
                "diagram_src": "/seek/diagram?" + views.query(**params),
                "point": [views.number(found.result, n) for n in found.point],
                "constraints": [(c, views.status_word(c, binding)) for c in found.constraints],
                "explain": found.explain(), "scenario_link": "/?" + views.query(p=p, set_=at)}

    response = await page(request, "seek.html", form, work)
    return response


def chosen(found, set_) -> list[str]:
    """The values set, then the decisions the search chose (the objective too when it is
    an input), as ``set`` items: the optimum as a scenario."""
    return [*(set_ or []), *(f"{n}={float(v.magnitude)!r} {v.units:~P}".strip()
                             for n, v in found.point.items() if n in found.bounds)]


@router.get("/seek/diagram")
async def seek_diagram(request: Request, maximize: Optional[str] = None,
                       minimize: Optional[str] = None, where: Many = None, vary: Many = None,
                       p: Many = None, set_: Set = None):
    """The derivation at a seek's optimum as SVG, each quantity a link to its derivation
    there. The seek page loads it after its answer: laying it out takes longer than the
    search."""
    from costgraph.cli.seek import seek_diagram as diagram

    w = web(request)

    def work(w):
        found = q.seek(w.model, w.limits, maximize, minimize, where, vary, p, set_)
        at = chosen(found, set_)
        svg_text = linked_svg(diagram(found).pipe_svg(), lambda n: derivation_href(n, p, at))
        return Response(svg_text, media_type="image/svg+xml")

    try:
        return await w.run(work, w)
    except Exception as exc:  # noqa: BLE001
        status, body = error_body(exc)
        return Response(body["error"]["message"], status_code=status, media_type="text/plain")


# sweep and levers ---------------------------------------------------------------------------


@router.get("/sweep")
async def sweep(request: Request, vary: Many = None, find: Many = None,
                target: Optional[str] = None, p: Many = None, set_: Set = None):
    w = web(request)
    form = scenario_form(w, p, set_)
    vary = [x for x in (vary or []) if x.strip()][:1] or ["batch=1..256"]
    find = [x for x in (find or []) if x.strip()] or ["cost_per_mtok"]
    target = (target or "").strip() or find[0]
    scen = dict(p=p, set_=set_)
    form.update(vary=vary[0], find=find, target=target,
                api=[("sweep JSON", "/api/sweep?" + views.query(vary=vary, find=find, **scen)),
                     ("sweep CSV", "/api/sweep?" + views.query(vary=vary, find=find,
                                                               format="csv", **scen)),
                     ("levers JSON", "/api/levers?" + views.query(target=target, **scen)),
                     ("levers CSV", "/api/levers?" + views.query(target=target, format="csv",
                                                                 **scen))])

    def work(w):
        result = q.sweep(w.model, w.limits, vary, find, p, set_)
        x = result.vary[0]
        xs = result.values(x)
        log_x = ":log" in vary[0]
        charts = []
        numeric = xs.dtype.kind in "iuf"  # else an axis of presets: one bar each
        for name in result.find:
            unit = result.unit(name)
            y_label = f"{name} [{unit}]" if unit else name
            if numeric:
                charts.append(svg.line_chart(xs, result.values(name), result.feasible,
                                             f"{x} [{result.unit(x)}]" if result.unit(x) else x,
                                             y_label, f"{name} against {x}", log_x))
            else:
                charts.append(svg.bar_chart(list(xs), result.values(name), result.feasible,
                                            y_label, f"{name} for each {x}"))
        lv = q.levers(w.model, w.limits, target, None, "swing", p, set_)
        ranged = [(v.name, float(v.target_low.magnitude), float(v.target_high.magnitude),
                   f"{format_quantity(v.low)} .. {format_quantity(v.high)}")
                  for v in lv if v.low is not None]
        unit = f"{lv.value.units:~P}"
        tornado = svg.tornado(ranged, float(lv.value.magnitude), unit,
                              f"levers on {target}")
        broken = int(len(result) - result.feasible.sum())
        return {"charts": charts, "points": len(result), "broken": broken, "levers": lv,
                "tornado": tornado, "elastic": sorted(lv, key=lambda v: -abs(v.elasticity))}

    return await page(request, "sweep.html", form, work)


# audit ------------------------------------------------------------------------------------


@router.get("/audit")
async def audit(request: Request,
                upload: Annotated[Optional[str], Query(pattern="^[0-9a-f]{16}$")] = None,
                p: Many = None):
    w = web(request)
    presets = [x for x in (p or []) if x.strip()]
    form = {"upload": upload, "p": presets, "report": None,
            "scenarios": [x.name for x in w.model.presets("scenario")],
            "api": [(label, "/api/audit?" + views.query(upload=upload, p=presets, format=fmt))
                    for label, fmt in (("JSON", "json"), ("CSV", "csv"),
                                       ("Markdown", "markdown"))] if upload else []}
    if upload is None:
        return render(w, request, "audit.html", error=None, **form)

    def work(w):
        data, name = stored(w, upload)
        report = w.uploads.report(upload, presets, lambda: claim_files.audit(
            w.model, w.limits, data, presets, name))
        return {"report": report, "name": name, "markdown": report.to_markdown()}

    return await page(request, "audit.html", form, work)


@router.post("/audit")
async def audit_upload(request: Request):
    """A claims file from the form: kept by digest, then shown at ``/audit?upload=...``."""
    w = web(request)
    try:
        data, name, fields = await read_upload(request)
        if not data:
            raise QueryError("claims", "no file was chosen: choose a claims file")
        claim_files.read(data, name)  # refuse what is not YAML before keeping it
    except Exception as exc:  # noqa: BLE001
        status, body = error_body(exc)
        return render(w, request, "audit.html", status, error=body["error"], report=None,
                      upload=None, p=[], api=[],
                      scenarios=[x.name for x in w.model.presets("scenario")])
    digest = w.uploads.add(data, name)
    presets = [x for x in fields.get("p", []) if x.strip()]
    return RedirectResponse("/audit?" + views.query(upload=digest, p=presets), status_code=303)
