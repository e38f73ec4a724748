"""Pages as HTML: templates, the shared page flow, and derivation diagrams with links.

A page is computed in the worker pool like an API answer; when the computation fails the
page is still drawn, with its form filled in as asked and the error where the answer
would be, under the status the API would give (400, 503).
"""

from __future__ import annotations

import re
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

import costgraph as cg

from .state import Web, error_body
from .views import query

PAGES = (("/", "Scenario"), ("/derivation", "Derivation"), ("/seek", "Seek"),
         ("/compare", "Compare"), ("/sweep", "Sweep and levers"), ("/audit", "Audit"))


def web(request: Request) -> Web:
    return request.app.state.web


def render(w: Web, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    page = w.templates.get_template(template)
    html = page.render(pages=PAGES, here=request.url.path, version=cg.__version__,
                       query=query, **context)
    return HTMLResponse(html, status_code=status)


async def page(request: Request, template: str, form: dict, work) -> HTMLResponse:
    """``form`` (the inputs as asked) and ``work(web)`` (the answer) drawn by ``template``."""
    w = web(request)
    context = dict(form, error=None)
    status = 200
    try:
        context.update(await w.run(work, w))
    except Exception as exc:  # noqa: BLE001 - the page shows it, see app.error_body
        status, body = error_body(exc)
        context["error"] = body["error"]
    return render(w, request, template, status, **context)


_NODE = re.compile(r'(<title>q:(?P<name>[a-z][a-z0-9_]*)</title>\s*<g id="a_node\d+">'
                   r'<a )(?P<rest>xlink:title=)')


def linked_svg(svg: str, href) -> str:
    """Graphviz SVG with every quantity node a link to ``href(name)``, XML prolog dropped."""
    def link(match):
        url = escape(href(match["name"]), quote=True)
        return f'{match[1]}href="{url}" xlink:href="{url}" target="_top" {match["rest"]}'

    svg = _NODE.sub(link, svg)
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def derivation_href(name: str, p, set_) -> str:
    return "/derivation?" + query(name=name, p=p, set_=set_)
