"""The pool's accounting, checked after every scenario, and an interrupt for
checking it after a KeyboardInterrupt."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import httpool


def assert_consistent(pool: httpool.Pool) -> httpool.PoolStats:
    """Every connection opened is idle, in use, or closed for a reason."""
    stats = pool.stats()
    assert stats.opened - stats.closed.total == stats.idle + stats.in_use, stats
    return stats


@contextlib.contextmanager
def keyboard_interrupt_after(seconds: float) -> Iterator[None]:
    """Raise KeyboardInterrupt from a SIGALRM handler `seconds` into the block,
    as Ctrl-C would in the middle of a wait."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
