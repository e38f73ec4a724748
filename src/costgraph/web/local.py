"""The explorer in the background of a Python process, and a headless browser to look at it.

``LocalServer`` runs the app under uvicorn in a thread on a free port of 127.0.0.1 (for a
notebook, a script that takes screenshots, or browser tests); ``chromium`` starts the
system's Chromium through Playwright with the flags a machine without internet needs
(no background connections, no component updates, no first-run).

>>> with LocalServer() as server:              # doctest: +SKIP
...     print(server.url)
http://127.0.0.1:53127/
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalServer:
    """The explorer over ``rules`` on ``http://127.0.0.1:PORT/`` while the block runs."""

    def __init__(self, rules=None, limits=None, host: str = "127.0.0.1", port: int | None = None):
        from . import create_app

        import uvicorn

        self.host, self.port = host, port or free_port(host)
        config = uvicorn.Config(create_app(rules, limits), host=self.host, port=self.port,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="costgraph-web-server",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the explorer did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium_path() -> str | None:
    """The system Chromium, or None (install Debian's `chromium` package)."""
    for path in CHROMIUM_PATHS:
        if Path(path).exists():
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def chromium(playwright, path: str | None = None):
    """A headless system Chromium launched through Playwright (never a downloaded one)."""
    return playwright.chromium.launch(executable_path=path or chromium_path(),
                                      args=list(CHROMIUM_ARGS))
