"""The web explorer: pages and a JSON API over costgraph's Python API (``costgraph serve``).

Needs the ``web`` extra (FastAPI, uvicorn, Jinja2, python-multipart)::

    pip install 'costgraph[web]'

>>> from costgraph.web import create_app      # doctest: +SKIP
>>> app = create_app()                         # an ASGI app over the bundled rules
"""

from __future__ import annotations

from costgraph.errors import MissingExtraError

from .limits import Limits

EXTRA = "fastapi>=0.110, uvicorn>=0.27, jinja2>=3.1, python-multipart>=0.0.13"


def require() -> None:
    """Raise MissingExtraError unless every package the explorer needs imports."""
    for module in ("fastapi", "uvicorn", "jinja2", "python_multipart"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError("the web explorer", "web", EXTRA) from None


def create_app(rules=None, limits=None):
    """The ASGI app over ``rules`` (see ``costgraph.web.app.create_app``)."""
    require()
    from .app import create_app as build

    return build(rules, limits)


__all__ = ["create_app", "require", "Limits"]
