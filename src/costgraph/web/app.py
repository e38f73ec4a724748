"""The ASGI application: one loaded model, the limits, the worker pool, errors as JSON.

``create_app(rules)`` loads the rules once (``costgraph.load`` caches a model per folder)
and serves the pages (``costgraph.web.pages``) and the JSON API (``costgraph.web.api``).
Every failure a request can cause is answered, never raised: a costgraph error is a 400
carrying the message the command line prints, a malformed request a 422, an overrun a
503, an oversized upload a 413; each body is ``{"error": {"type": ..., "message": ...}}``.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

import costgraph as cg
from costgraph.units import format_quantity

from .limits import Limits
from .runner import Runner
from .state import Uploads, Web, error_response

HERE = Path(__file__).resolve().parent
class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413, unread."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(scope, receive, send)
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send):
        limit = f"{self.max_bytes:,}"
        response = JSONResponse({"error": {"type": "BodyTooLarge", "message":
                                           f"the request body is larger than {limit} bytes, "
                                           "the most this server accepts"}}, status_code=413)
        await response(scope, receive, send)


class ServerTiming:
    """ASGI middleware: every response says how long the server spent on it, in a
    ``Server-Timing: app;dur=MS`` header (browsers show it; bench/bench_web.py reads it)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - start) * 1000
                headers = list(message.get("headers") or [])
                headers.append((b"server-timing", f"app;dur={ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return "; ".join(parts) or "the request does not match the API"


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": {"type": "RequestValidationError",
                                       "message": _validation_message(exc)}}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse({"error": {"type": kind, "message": str(exc.detail)}},
                            status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        return error_response(exc)


def create_app(rules: str | Path | None = None, limits: Limits | None = None) -> FastAPI:
    """The web explorer over the rules in ``rules`` (default: the bundled rules).

    Raises ``RuleSetError`` at once when the rules do not load.
    """
    from . import api, pages, pages_analysis

    limits = limits or Limits()
    model = cg.load(rules)
    runner = Runner(limits.workers, limits.timeout_s)

    @asynccontextmanager
    async def lifespan(app):
        yield
        runner.close()

    app = FastAPI(lifespan=lifespan, title="costgraph", version=cg.__version__,
                  summary="What does an LLM output token cost, and why?",
                  description="The costgraph web explorer's JSON API. Parameters are named as "
                              "the command line's options (find, set, where, vary, p) and "
                              "repeat like them; answers are what `--json` prints.",
                  docs_url=None, redoc_url=None)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["quantity"] = format_quantity
    env.tests["in_names"] = lambda item, names: item.partition("=")[0].strip() in names
    app.state.web = Web(model, limits, runner, Uploads(limits.max_uploads), env)
    install_errors(app)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(ServerTiming)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(pages_analysis.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
