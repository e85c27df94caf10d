"""What the pool says about itself: counters of connections and requests.

Every connection closed is counted under one reason; for any pool,
``opened - closed.total == idle + in_use`` holds whenever no request is
between checkout and connect.

The fields are not spelled here: ClosedStats has one per close reason and
OriginStats one per counter, in the order of httpool._reasons' rows, so a
reason or counter added there appears in the stats, their str() and their
sum without a change here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from httpool._reasons import CLOSE_REASONS, COUNTERS

# Type checkers read _stats.pyi, which spells the classes out; the classes
# built here are not visible to them, hence the Any of these helpers.


def _add(self: Any, other: Any) -> Any:
    return type(self)(**{field.name: getattr(self, field.name) + getattr(other, field.name)
                         for field in dataclasses.fields(self)})


def _total(self: Any) -> int:
    return sum(getattr(self, name) for name in CLOSE_REASONS)


def _from_counters(cls: Any, counts: tuple[int, ...], closed: tuple[int, ...], idle: int,
                   open_: int) -> Any:
    """The figures of one origin, from OriginSlots.counters() and its slot counts."""
    # closed[0] is CLOSE_NONE, never counted.
    return cls(*counts, idle=idle, in_use=open_ - idle, closed=ClosedStats(*closed[1:]))


def _counts(name: str, fields: list[Any], doc: str, **methods: object) -> type:
    """A frozen dataclass of figures that add up with +."""
    namespace = {"__module__": __name__, "__doc__": doc, "__add__": _add, **methods}
    return dataclasses.make_dataclass(name, fields, frozen=True, namespace=namespace)


ClosedStats = _counts(
    "ClosedStats", [(name, int, 0) for name in CLOSE_REASONS],
    "Connections closed, by reason.",
    total=property(_total),
)

OriginStats = _counts(
    "OriginStats",
    [*((name, int, 0) for name in COUNTERS),
     ("idle", int, 0),
     ("in_use", int, 0),
     ("closed", ClosedStats, dataclasses.field(default_factory=ClosedStats))],
    "Counters of one origin, or of the whole pool.",
    from_counters=classmethod(_from_counters),
)


@dataclasses.dataclass(frozen=True)
class PoolStats(OriginStats):
    """The pool's counters: totals, waiting callers, and per-origin figures."""

    waiting: int = 0
    origins: dict[str, OriginStats] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        counts = " ".join(f"{name}={getattr(self, name)}" for name in COUNTERS)
        closed = ", ".join(f"{name}={getattr(self.closed, name)}" for name in CLOSE_REASONS
                           if getattr(self.closed, name))
        return (f"{counts} idle={self.idle} in_use={self.in_use} waiting={self.waiting} "
                f"closed={self.closed.total} ({closed or 'none'})")
