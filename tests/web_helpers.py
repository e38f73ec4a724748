"""What the web tests share: an in-process client of the explorer, and error checks."""

from __future__ import annotations

import warnings

import pytest

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
