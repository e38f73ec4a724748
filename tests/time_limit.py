"""A time limit for tests of refusals: fail instead of hanging."""

import signal
from contextlib import contextmanager


@contextmanager
def deadline(seconds: float, what: str = "it"):
    """Raise AssertionError if the block runs past ``seconds``: SIGALRM interrupts even a
    blocking ``open()`` or a regex that backtracks."""
    def expired(signum, frame):
        raise AssertionError(f"{what} ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
