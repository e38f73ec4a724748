"""What the web tests share: an in-process client of the explorer, and error checks."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

pytest.importorskip("fastapi", reason="the web explorer needs the `web` extra")

with warnings.catch_warnings():  # starlette's notice about its test client's transport
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from costgraph.web import Limits, create_app  # noqa: E402


def client(rules=None, **limits) -> TestClient:
    """A client of a fresh app (its own worker pool and uploads) over ``rules``."""
    return TestClient(create_app(rules, Limits(**limits) if limits else None))


def error_of(response, status: int = 400) -> dict:
    """The ``error`` object of a failed answer, after checking its status and shape."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and {"type", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.text
    return body["error"]


ESSAY_CLAIMS = Path(__file__).resolve().parents[1] / "examples" / "essay-claims.yaml"
SMALL_CLAIMS = 8  # the essay's first claims: enough verdicts of each kind, audited quickly


def small_claims() -> bytes:
    """The essay's claims file cut to its first ``SMALL_CLAIMS`` claims, as YAML."""
    data = yaml.safe_load(ESSAY_CLAIMS.read_text(encoding="utf-8"))
    data["claims"] = data["claims"][:SMALL_CLAIMS]
    return yaml.safe_dump(data, sort_keys=False).encode("utf-8")
