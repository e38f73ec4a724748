"""``costgraph serve``: the web explorer (pages and a JSON API) on a local port."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import RulesOpt


def serve(host: Annotated[str, typer.Option(
              "--host", metavar="ADDRESS",
              help="Address to listen on. The default answers this machine only; another "
                   "address lets other machines reach the explorer.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(
              "--port", min=0, max=65535, metavar="PORT", help="Port to listen on.")] = 8000,
          timeout: Annotated[float, typer.Option(
              "--timeout", min=0.1, metavar="SECONDS",
              help="Longest a request's computation may run before it answers 503.")] = 20.0,
          rules: RulesOpt = None):
    """Serve the web explorer: scenario, derivation, seek, compare, sweep and audit pages,
    and a JSON API mirroring these commands (its OpenAPI description at /openapi.json).

    Needs the `web` extra: pip install 'costgraph[web]'. docs/web.md describes each page,
    the API and the limits every request is held to.

    Example:

    \b
        costgraph serve --port 8000
        costgraph serve --rules my-rules/ --host 0.0.0.0
    """
    from costgraph import web

    web.require()
    import uvicorn

    app = web.create_app(rules, web.Limits(timeout_s=timeout))
    typer.echo(f"costgraph web explorer on http://{_shown(host)}:{port}/ (Ctrl+C stops it)",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
