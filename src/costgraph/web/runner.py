"""Running costgraph calls off the event loop, each under a time limit.

A computation runs in a bounded pool of worker threads so the server keeps answering
while it works; a request whose computation overruns its limit answers 503 at once. The
thread itself cannot be stopped and finishes in the background, which is why every
question is also bounded in size before it starts (``costgraph.web.limits``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


class TimedOut(Exception):
    """A computation ran past the request's time limit."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds

    def __str__(self) -> str:
        return (f"the computation took longer than {self.seconds:g} s and was abandoned; "
                "ask for less (fewer points, narrower ranges) or use the command line")


class Runner:
    """A pool of worker threads with one time limit for every call."""

    def __init__(self, workers: int, timeout_s: float):
        self.timeout_s = timeout_s
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="costgraph-web")

    async def __call__(self, fn: Callable[..., T], *args, **kwargs) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, lambda: fn(*args, **kwargs))
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except asyncio.TimeoutError:
            raise TimedOut(self.timeout_s) from None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
