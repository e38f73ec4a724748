"""`costgraph serve`: it starts a real server on 127.0.0.1, says what to install without the
`web` extra, and the package ships every file the pages need."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from cli_helpers import run

ROOT = Path(__file__).resolve().parents[1]
MISSING = ("error: the web explorer needs the `web` extra (fastapi>=0.110, uvicorn>=0.27, "
           "jinja2>=3.1, python-multipart>=0.0.13): pip install 'costgraph[web]'\n")


def test_serve_without_the_web_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # makes `import fastapi` fail
    assert run("serve", code=1).stderr == MISSING
    assert f"```text\n{MISSING}```" in (ROOT / "docs" / "web.md").read_text()


def test_serve_answers_on_the_loopback_address():
    pytest.importorskip("uvicorn")
    from costgraph.web.local import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "costgraph", "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body, deadline = None, time.monotonic() + 60
        while body is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/presets?kind=scenario",
                                            timeout=5) as response:
                    body = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert body is not None, server.stderr.read() if server.poll() is not None else ""
        assert '"name":"default"' in body
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert err.startswith(f"costgraph web explorer on http://127.0.0.1:{port}/")


def test_the_package_ships_every_template_and_asset():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["costgraph.web"]
    web = ROOT / "src" / "costgraph" / "web"
    files = [p.relative_to(web).as_posix() for p in web.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), files
    assert "web" in config["project"]["optional-dependencies"]["all"][0]
