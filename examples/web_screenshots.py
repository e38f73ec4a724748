"""Screenshots of every page of the web explorer, for docs/web.md.

Runs the explorer in this process (``costgraph.web.local.LocalServer``), opens each page in
the system's headless Chromium through Playwright, and writes ``web-<page>.png`` into the
folder given (default: docs/img). Needs the `web` extra, the `playwright` package and
Debian's `chromium` (Playwright's own browser download is never used)::

    python examples/web_screenshots.py docs/img
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "examples" / "essay-claims.yaml"
WIDTH = 1200  # CSS pixels; shots are taken at this width and cropped to HEIGHT
HEIGHT = 900

PAGES = {
    "scenario": "/?p=default&p=b200",
    "derivation": "/derivation?name=cost_per_mtok&depth=2",
    "seek": "/seek?maximize=context_len&where=cost_per_mtok+%3C%3D+2+USD%2FMtok"
            "&vary=batch%3D1..512",
    "compare": "/compare?col=h100-sxm&col=h200&col=b200&col=mi300x",
    "sweep": "/sweep?vary=context_len%3D1k..128k%3Alog%3A48&find=cost_per_mtok",
}


def main(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from costgraph.web.local import LocalServer, chromium

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with LocalServer() as server, sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        shots = dict(PAGES)
        for name, path in shots.items():
            page.goto(server.url.rstrip("/") + path)
            written.append(_shot(page, out / f"web-{name}.png"))
        page.goto(server.url + "audit")
        page.set_input_files("input[type=file]", str(CLAIMS))
        page.select_option("select[name=p]", "default")
        page.click("#audit-form button[type=submit]")
        page.wait_for_selector("#verdicts")
        written.append(_shot(page, out / "web-audit.png"))
        browser.close()
    return written


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT})
    _shrink(path)
    return path


def _shrink(path: Path) -> None:
    """Re-save with a 128-colour palette (a page has few colours): a third of the bytes."""
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with the `plot` extra; without it the shot stays as is
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"):
        print(f"wrote {path}")
