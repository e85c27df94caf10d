"""The pool's accounting, checked after every scenario."""

from __future__ import annotations

import httpool


def assert_consistent(pool: httpool.Pool) -> httpool.PoolStats:
    """Every connection opened is idle, in use, or closed for a reason."""
    stats = pool.stats()
    assert stats.opened - stats.closed.total == stats.idle + stats.in_use, stats
    return stats
