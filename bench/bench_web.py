"""Web explorer speed: the server time of a scenario page's numbers and of a seek, warm.

Targets: a scenario page's numbers in <= 100 ms of server time, a seek in <= 300 ms (the
seek page's diagram is laid out in a request of its own, timed apart). The
app runs in this process and httpx calls it through ASGI (no network), so what is timed is
the server's work: each response's ``Server-Timing`` header, from the request reaching
the app to its answer starting. Each figure is set beside a floor measured in the same
run: the same costgraph call made directly, without the web layer.

Run: python bench/bench_web.py [RUNS]
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import time
from datetime import date
from urllib.parse import urlencode

import httpx

import costgraph as cg
from costgraph.web import create_app
from costgraph.web.views import scenario_finds

SEEK = {"minimize": "cost_per_mtok", "where": "step_time <= 30 ms", "vary": "batch=1..512"}


def server_ms(response) -> float:
    assert response.status_code == 200, response.text[:300]
    return float(response.headers["server-timing"].split("dur=")[1])


def floor_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def measure(runs: int) -> list[tuple[str, float, float, float]]:
    app = create_app()
    model = cg.load()
    finds = scenario_finds(model)
    solve_url = "/api/solve?" + urlencode([("find", f) for f in finds] + [("p", "default"),
                                                                           ("p", "b200")])
    seek_url = "/api/seek?" + urlencode(SEEK)

    def seek():
        return model.seek(minimize="cost_per_mtok", subject_to=["step_time <= 30 ms"],
                          vary={"batch": (1, 512)})

    cases = [
        ("scenario numbers (`/api/solve`, default + b200)", solve_url,
         lambda: model.solve(find=finds, presets=["default", "b200"]), 100),
        ("scenario page (`/?p=default&p=b200`: numbers, stack, fit, inputs)",
         "/?p=default&p=b200", lambda: model.solve(find=finds, presets=["default", "b200"]), 100),
        ("seek (`/api/seek`, min cost_per_mtok, step_time <= 30 ms, batch 1..512; its JSON "
         "includes the closed form)", seek_url, seek, 300),
        ("seek page (`/seek?...`: the answer, its constraints and how it was found)",
         "/seek?" + urlencode(SEEK), seek, 300),
        ("its diagram (`/seek/diagram?...`, fetched by the page after it: Graphviz layout)",
         "/seek/diagram?" + urlencode(SEEK), seek, None),
    ]
    rows = []
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, url, direct, target in cases:
                for _ in range(3):  # warm: plans, compiles and templates cached
                    await client.get(url)
                served = [server_ms(await client.get(url)) for _ in range(runs)]
                floor = floor_ms(direct, runs)
                rows.append((label, statistics.median(served), floor, target))
    return rows


def main(runs: int = 30) -> None:
    rows = asyncio.run(measure(runs))
    print(f"{date.today()}, Python {platform.python_version()}, {platform.machine()}, "
          f"median of {runs} warm requests each")
    print("| what | target | server time (median) | same call direct (floor) | ratio |")
    print("|---|---|---|---|---|")
    for label, served, floor, target in rows:
        goal = f"<= {target} ms" if target else "—"
        print(f"| {label} | {goal} | {served:.1f} ms | {floor:.1f} ms | {served / floor:.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
