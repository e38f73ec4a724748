"""The JSON API: one endpoint per command, parameters named as the command line's options.

``/api/solve?find=cost_per_mtok&p=default&p=b200&set=batch=128`` answers what
``costgraph solve --find cost_per_mtok -p default -p b200 --set batch=128 --json`` prints.
Repeatable options are repeated parameters. Where a command writes CSV or text, ``format``
asks for it.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from . import claims as claim_files
from . import questions as q
from .state import Web, error_response
from .exports import (audit_csv, compare_csv, compare_dict, json_safe, result_csv, seek_csv)

router = APIRouter(prefix="/api", tags=["api"])

Find = Annotated[Optional[list[str]], Query(
    description="A quantity to solve for; repeatable (--find).", examples=["cost_per_mtok"])]
P = Annotated[Optional[list[str]], Query(
    description="A preset or scenario; repeatable, later ones win; none means `default` (-p).",
    examples=["default"])]
Set = Annotated[Optional[list[str]], Query(
    alias="set", description="NAME=VALUE fixing a quantity, e.g. batch=128 or "
                             "context_len=32768 token; repeatable (--set).")]
Where = Annotated[Optional[list[str]], Query(
    description="An inequality that must hold, e.g. `step_time <= 30 ms`; repeatable.")]
Name = Annotated[str, Query(description="A quantity, e.g. cost_per_mtok.")]


def web(request: Request) -> Web:
    return request.app.state.web


async def answer(request: Request, work) -> Response:
    """Run ``work(web)`` in the worker pool; any failure becomes its JSON error."""
    state = web(request)
    try:
        return await state.run(work, state)
    except Exception as exc:  # noqa: BLE001 - every failure is answered, see app.error_body
        return error_response(exc)


def as_json(data) -> JSONResponse:
    return JSONResponse(json_safe(data))


def as_csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{name}.csv"'})


@router.get("/solve", summary="costgraph solve --json")
async def solve(request: Request, find: Find = None, p: P = None, set_: Set = None,
                format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        result = q.solve(w.model, w.limits, find, p, set_)
        return as_csv(result_csv(result), "solve") if format == "csv" else \
            as_json(result.to_dict())
    return await answer(request, work)


@router.get("/seek", summary="costgraph seek --json")
async def seek(request: Request, maximize: Optional[str] = None, minimize: Optional[str] = None,
               where: Where = None,
               vary: Annotated[Optional[list[str]], Query(
                   description="NAME or NAME=LO..HI the search may change; repeatable.")] = None,
               p: P = None, set_: Set = None, format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        found = q.seek(w.model, w.limits, maximize, minimize, where, vary, p, set_)
        return as_csv(seek_csv(found), "seek") if format == "csv" else as_json(found.to_dict())
    return await answer(request, work)


@router.get("/explain", summary="costgraph explain NAME --json (format=text: the tree)")
async def explain(request: Request, name: Name, p: P = None, set_: Set = None,
                  format: Literal["json", "text", "csv"] = "json", unfold: bool = False):
    def work(w: Web):
        result = q.explain(w.model, w.limits, name, p, set_)
        if format == "text":
            return PlainTextResponse(result.explain(name, unfold=unfold))
        if format == "csv":
            return as_csv(result_csv(result, sorted(result.steps)), "explain")
        return as_json(result.to_dict())
    return await answer(request, work)


@router.get("/graph", summary="costgraph graph NAME --json (or DOT, Mermaid, SVG)")
async def graph(request: Request, name: Name, p: P = None, set_: Set = None,
                depth: Annotated[Optional[int], Query(ge=0, le=1000)] = None,
                constraints: bool = True, direction: Literal["LR", "TB"] = "LR",
                format: Literal["json", "dot", "mermaid", "svg"] = "json", unfold: bool = False):
    def work(w: Web):
        diagram = q.graph(w.model, w.limits, name, p, set_, depth, constraints, direction,
                          unfold)
        if format == "dot":
            return PlainTextResponse(diagram.source)
        if format == "mermaid":
            return PlainTextResponse(diagram.mermaid)
        if format == "svg":
            return Response(diagram.pipe_svg(), media_type="image/svg+xml")
        return as_json(diagram.to_dict())
    return await answer(request, work)


@router.get("/sweep", summary="costgraph sweep NAME=VALUES... --json")
async def sweep(request: Request,
                vary: Annotated[Optional[list[str]], Query(
                    description="NAME=VALUES: LO..HI[:lin|:log][:N] or V1,V2,...; repeatable.",
                    examples=["context_len=1k..128k:log:32"])] = None,
                find: Find = None, p: P = None, set_: Set = None,
                format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        result = q.sweep(w.model, w.limits, vary, find, p, set_)
        return as_csv(result.to_csv(), "sweep") if format == "csv" else \
            as_json(result.to_dict())
    return await answer(request, work)


@router.get("/levers", summary="costgraph levers TARGET --json")
async def levers(request: Request, target: Name = "cost_per_mtok",
                 range_: Annotated[Optional[list[str]], Query(
                     alias="range", description="NAME=LO..HI; repeatable (--range).")] = None,
                 rank: Literal["elasticity", "swing"] = "elasticity", p: P = None,
                 set_: Set = None, format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        result = q.levers(w.model, w.limits, target, range_, rank, p, set_)
        return as_csv(result.to_csv(), "levers") if format == "csv" else \
            as_json(result.to_dict())
    return await answer(request, work)


@router.get("/uncertainty", summary="costgraph uncertainty TARGET --json")
async def uncertainty(request: Request, target: Name = "cost_per_mtok",
                      samples: Annotated[int, Query(ge=2)] = 100_000, seed: int = 0,
                      p: P = None, set_: Set = None, format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        result = q.uncertainty(w.model, w.limits, target, samples, seed, p, set_)
        return as_csv(result.to_csv(), "uncertainty") if format == "csv" else \
            as_json(result.to_dict())
    return await answer(request, work)


@router.get("/compare", summary="Several scenarios side by side (one solve each)")
async def compare(request: Request,
                  col: Annotated[Optional[list[str]], Query(
                      description="One scenario: presets applied after the shared ones, comma "
                                  "separated, then optional ;NAME=VALUE; repeat for 2-4.",
                      examples=["b200,fp4;batch=128"])] = None,
                  find: Annotated[Optional[list[str]], Query(
                      description="A quantity to compare; repeatable (default: the scenario "
                                  "page's numbers).")] = None,
                  p: P = None, set_: Set = None, format: Literal["json", "csv"] = "json"):
    def work(w: Web):
        from .views import scenario_finds

        cols = q.columns(w.limits, col)
        results = q.compare(w.model, w.limits, col, find or scenario_finds(w.model), p, set_)
        labels = [c.text for c in cols]
        if format == "csv":
            return as_csv(compare_csv(results, labels, list(results[0].targets)), "compare")
        return as_json(compare_dict(results, labels))
    return await answer(request, work)


@router.get("/presets", summary="costgraph presets [NAME] --json")
async def presets(request: Request, name: Optional[str] = None, kind: Optional[str] = None):
    def work(w: Web):
        from costgraph.cli.listing import preset_dict
        from costgraph.errors import UnknownPresetError

        everything = w.model.presets()
        if name is not None:
            found = next((x for x in everything if x.name == name), None)
            if found is None:
                raise UnknownPresetError(w.limits.text("name", name), [x.name for x in everything])
            return as_json(preset_dict(found))
        return as_json([preset_dict(x) for x in everything if kind in (None, x.kind)])
    return await answer(request, work)


@router.get("/quantities", summary="costgraph quantities [NAME] --json")
async def quantities(request: Request, name: Optional[str] = None,
                     kind: Optional[Literal["input", "derived"]] = None):
    def work(w: Web):
        from costgraph.cli.listing import quantity_detail

        if name is not None:
            return as_json(quantity_detail(w.model, w.limits.text("name", name)))
        return as_json([dataclasses.asdict(x) for x in w.model.quantities()
                        if kind in (None, x.kind)])
    return await answer(request, work)


@router.get("/rules", summary="costgraph rules --json")
async def rules(request: Request):
    def work(w: Web):
        from costgraph.cli.listing import constraint_dict, rule_dict

        return as_json({"rules": [rule_dict(r) for r in w.model.rules()],
                        "constraints": [constraint_dict(c) for c in w.model.constraints()]})
    return await answer(request, work)


AuditFormat = Literal["json", "csv", "markdown"]


def audit_response(report, format: str) -> Response:
    if format == "csv":
        return as_csv(audit_csv(report), "audit")
    if format == "markdown":
        return PlainTextResponse(report.to_markdown(), media_type="text/markdown; charset=utf-8")
    return as_json(report.to_dict())


@router.post("/audit", summary="costgraph audit FILE --json (the file is the request body)")
async def audit_upload(request: Request, p: P = None, format: AuditFormat = "json"):
    """The body is the claims file (YAML), sent as it is or as a form's file field."""
    try:
        data, name, fields = await read_upload(request)
        p = p or fields.get("p")
    except Exception as exc:  # noqa: BLE001
        return error_response(exc)
    return await answer(request, lambda w: audit_response(
        claim_files.audit(w.model, w.limits, data, p, name), format))


@router.get("/audit", summary="costgraph audit of a file uploaded before (by its digest)")
async def audit_stored(request: Request,
                       upload: Annotated[str, Query(pattern="^[0-9a-f]{16}$",
                                                    description="The digest an upload got.")],
                       p: P = None, format: AuditFormat = "json"):
    def work(w: Web):
        data, name = stored(w, upload)
        report = w.uploads.report(upload, p, lambda: claim_files.audit(
            w.model, w.limits, data, p, name))
        return audit_response(report, format)
    return await answer(request, work)


def stored(w: Web, digest: str) -> tuple[bytes, str]:
    from costgraph.errors import QueryError

    data = w.uploads.get(digest)
    if data is None:
        raise QueryError("upload", f"no upload {digest} on this server (uploads are kept in "
                                   "memory while it runs): upload the file again")
    return data


async def read_upload(request: Request) -> tuple[bytes, str, dict[str, list[str]]]:
    """A claims upload: its bytes, the file's name and the form's other fields.

    The file is a form's first file field (``multipart/form-data``) or the whole body.
    """
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        return await request.body(), "upload", {}
    form = await request.form(max_files=1, max_fields=16)
    data, name, fields = b"", "upload", {}
    for key, value in form.multi_items():
        if hasattr(value, "read"):
            data, name = await value.read(), claim_files.display_name(value.filename)
        else:
            fields.setdefault(key, []).append(str(value))
    return data, name, fields
