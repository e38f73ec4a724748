"""Claims files that arrive over the web: read safely, then audited.

An upload is text from anyone, so it is read more strictly than a file on disk: UTF-8
only, within the size limit, and YAML without anchors or aliases (a few lines of
aliases can expand into billions of nodes for the schema check to walk). What is left is
a plain mapping, which ``Model.audit`` checks like any claims file.
"""

from __future__ import annotations

import re

import yaml

from costgraph.errors import ClaimsFileError, QueryError

from .questions import scenario


class _NoAliases(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"anchors and aliases are not accepted in an upload "
                                 f"(line {mark.line + 1}); write the values out")
        return super().compose_node(parent, index)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def display_name(filename: str | None) -> str:
    """The uploaded file's own name without any folder, for messages (``claims.yaml``)."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _SAFE_NAME.sub("_", base)[:80] or "upload"


def read(data: bytes, name: str = "upload") -> dict:
    """The mapping a claims upload holds; ClaimsFileError naming ``name`` otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimsFileError(name, [f"not UTF-8 text (byte {exc.start})"]) from None
    try:
        mapping = yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ClaimsFileError(name, ["not valid YAML: " + " ".join(str(exc).split())]) \
            from None
    if not isinstance(mapping, dict):
        raise ClaimsFileError(name, ["expected a mapping with `source` and `claims`"])
    return mapping


def audit(model, limits, data: bytes | None, p, name: str = "upload"):
    """The AuditReport of a claims upload under presets ``p`` (the file's own without)."""
    if not data:
        raise QueryError("claims", "no claims file given: upload one (see docs/audit.md "
                                   "for the format)")
    if len(data) > limits.max_body_bytes:
        raise QueryError("claims", f"the file has {len(data):,} bytes; at most "
                                   f"{limits.max_body_bytes:,} are accepted")
    presets = scenario(limits, p, None).presets
    mapping = read(data, name)
    screen(mapping, limits)
    return model.audit(mapping, presets=presets)


MAX_CLAIMS = 500  # each claim is a solve or more; a file of thousands would hold a worker


def screen(mapping: dict, limits) -> None:
    """Hold every value the audit will read as a quantity to the server's value limits."""
    claims = mapping.get("claims")
    if isinstance(claims, list) and len(claims) > MAX_CLAIMS:
        raise QueryError("claims", f"{len(claims):,} claims; this server audits at most "
                                   f"{MAX_CLAIMS} per file (use `costgraph audit`)")
    parts = [mapping.get("defaults")] + (claims if isinstance(claims, list) else [])
    for part in parts:
        if not isinstance(part, dict):
            continue
        reference = part.get("relative_to")
        for where, value in (("value", part.get("value")), ("tolerance", part.get("tolerance")),
                             ("given", part.get("given")),
                             ("given", reference.get("given") if isinstance(reference, dict)
                              else None)):
            for text in _strings(value):
                limits.text(f"claim {part.get('id', 'defaults')} {where}", text)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
