"""What every request handler shares: the server's state, kept uploads and the error answer."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from hashlib import sha256

import jinja2
from fastapi.responses import JSONResponse

import costgraph as cg
from costgraph.errors import CostgraphError, InfeasibleError

from .exports import infeasible_dict, json_safe
from .limits import Limits
from .runner import Runner, TimedOut

log = logging.getLogger("costgraph.web")


class Uploads:
    """Uploaded claims files by content digest, the newest ``size`` kept, so that a page
    about an upload has a URL (``/audit?upload=DIGEST``) that works while the server runs."""

    def __init__(self, size: int):
        self.size = size
        self.files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        # the audit of a kept file under some presets: reopening its URL costs nothing
        self.reports: OrderedDict[tuple, object] = OrderedDict()

    def add(self, data: bytes, name: str) -> str:
        digest = sha256(data).hexdigest()[:16]
        self.files[digest] = (data, name)
        self.files.move_to_end(digest)
        while len(self.files) > self.size:
            self.files.popitem(last=False)
        return digest

    def get(self, digest: str) -> tuple[bytes, str] | None:
        return self.files.get(digest)

    def report(self, digest: str, presets, audit):
        """``audit()`` of the kept file ``digest`` under ``presets``, computed once."""
        key = (digest, tuple(presets or ()))
        if key not in self.reports:
            self.reports[key] = audit()
            while len(self.reports) > self.size:
                self.reports.popitem(last=False)
        self.reports.move_to_end(key)
        return self.reports[key]


@dataclass
class Web:
    """What every request handler needs."""

    model: cg.Model
    limits: Limits
    run: Runner
    uploads: Uploads
    templates: jinja2.Environment = field(repr=False)


def error_body(exc: BaseException) -> tuple[int, dict]:
    """The status and JSON body that answer ``exc``."""
    if isinstance(exc, TimedOut):
        return 503, {"error": {"type": "Timeout", "message": str(exc)}}
    if isinstance(exc, CostgraphError):
        error = {"type": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, InfeasibleError):
            error["least_bad"] = json_safe(infeasible_dict(exc))
        return 400, {"error": error}
    # a computation that fails outside costgraph's own checks (an overflow on absurd
    # inputs, say) is still the request's doing: answer it, and log it for the maintainers
    log.warning("request failed inside costgraph", exc_info=exc)
    return 400, {"error": {"type": "ComputationError",
                           "message": f"costgraph could not compute this "
                                      f"({type(exc).__name__}: {exc}); check that the values "
                                      "given are in a sensible range"}}


def error_response(exc: BaseException) -> JSONResponse:
    status, body = error_body(exc)
    return JSONResponse(body, status_code=status)
