"""httpool.Retry: which failures and statuses a request is sent again for,
and how long to wait before each retry.

A pool made with ``retries=Retry(...)`` sends every request through a Flow
(httpool.policies.flow), which asks its Retry after each response (a status
in status_forcelist, for a method in allowed_methods) and after each error
(a connect error always; a read error only for a replayable request). The
drivers wait the delay (the blocking API sleeps with the GIL released; a
batch schedules the hop and goes on with the others), never past the
request's total deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from httpool._response import Response

__all__ = ["Retry"]

_STATUSES = frozenset({429, 502, 503, 504})
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    return float(value)


class Retry:
    """A retry policy: ``Pool(retries=Retry(total=3, ...))``.

    total: retries of every cause together (0: none). status_forcelist: the
    statuses a request is sent again for, when its method is in
    allowed_methods (by default the idempotent ones). Connect errors are
    always retried; a read error (the connection closed or a timeout after
    the request went out) only for a request that may be sent again (an
    idempotent method, a body that can be sent again). Before retry n
    (1-based) the wait is ``min(backoff_max, backoff_factor * 2 ** (n - 1))``
    plus a random ``uniform(0, backoff_jitter)``; with respect_retry_after, a
    response's Retry-After (seconds or an HTTP-date) replaces it, capped at
    backoff_max. No wait passes the request's total deadline: the last
    response is returned as it is, or the last error raised.
    """

    __slots__ = ("total", "status_forcelist", "allowed_methods", "backoff_factor",
                 "backoff_max", "backoff_jitter", "respect_retry_after")

    total: int
    status_forcelist: frozenset[int]
    allowed_methods: frozenset[str]
    backoff_factor: float
    backoff_max: float
    backoff_jitter: float
    respect_retry_after: bool

    def __init__(self, total: int = 3, *, status_forcelist: Iterable[int] = _STATUSES,
                 allowed_methods: Iterable[str] = _METHODS, backoff_factor: float = 0.1,
                 backoff_max: float = 30.0, backoff_jitter: float = 0.1,
                 respect_retry_after: bool = True) -> None:
        if isinstance(total, bool) or not isinstance(total, int):
            raise TypeError(f"total must be an int, not {type(total).__name__}")
        if total < 0:
            raise ValueError(f"total must be >= 0, not {total}")
        if isinstance(status_forcelist, (str, bytes)) or not isinstance(status_forcelist, Iterable):
            raise TypeError("status_forcelist must be an iterable of status codes")
        statuses = frozenset(status_forcelist)
        for status in statuses:
            if isinstance(status, bool) or not isinstance(status, int):
                raise TypeError(f"status_forcelist holds {status!r}, not a status code")
            if not 100 <= status <= 999:
                raise ValueError(f"status_forcelist holds {status}, not a status code (100-999)")
        if isinstance(allowed_methods, (str, bytes)) or not isinstance(allowed_methods, Iterable):
            raise TypeError("allowed_methods must be an iterable of method names")
        methods = set()
        for method in cast("Iterable[object]", allowed_methods):
            if not isinstance(method, str) or not method:
                raise TypeError(f"allowed_methods holds {method!r}, not a method name")
            methods.add(method.upper())
        if not isinstance(respect_retry_after, bool):
            raise TypeError("respect_retry_after must be a bool")
        setter = object.__setattr__
        setter(self, "total", total)
        setter(self, "status_forcelist", statuses)
        setter(self, "allowed_methods", frozenset(methods))
        setter(self, "backoff_factor", _seconds("backoff_factor", backoff_factor))
        setter(self, "backoff_max", _seconds("backoff_max", backoff_max))
        setter(self, "backoff_jitter", _seconds("backoff_jitter", backoff_jitter))
        setter(self, "respect_retry_after", respect_retry_after)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Retry is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Retry is immutable: cannot delete {name}")

    def __repr__(self) -> str:
        return (f"Retry(total={self.total}, status_forcelist={set(sorted(self.status_forcelist))}, "
                f"allowed_methods={set(sorted(self.allowed_methods))}, "
                f"backoff_factor={self.backoff_factor}, backoff_max={self.backoff_max}, "
                f"backoff_jitter={self.backoff_jitter}, "
                f"respect_retry_after={self.respect_retry_after})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def backoff(self, n: int) -> float:
        """The wait before retry n (1-based), jitter included."""
        delay = min(self.backoff_max, self.backoff_factor * 2.0 ** (n - 1))
        if self.backoff_jitter:
            delay += random.uniform(0, self.backoff_jitter)
        return delay

    def delay(self, n: int, response: Response | None = None) -> float:
        """The wait before retry n after `response` (None after an error)."""
        if response is not None and self.respect_retry_after:
            after = retry_after(response)
            if after is not None:
                return min(after, self.backoff_max)
        return self.backoff(n)


def retry_after(response: Response) -> float | None:
    """The seconds a response's Retry-After asks for (delta-seconds or an
    HTTP-date), or None when it has none or it cannot be read."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # only for the rare HTTP-date
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
