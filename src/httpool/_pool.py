"""The public Pool: arguments checked, requests planned, slow paths.

The per-request hot path (request(), get() and the other methods, checkout,
send, receive, release, and the retry rule) is Pool's compiled base class,
httpool._request.Runner; the I/O runs in httpool._conn and the accounting in
httpool._idle. This module holds the public API and what is not
worth compiling: checking arguments and encoding a request once (its Plan),
waiting for a slot and opening a connection, and releasing a response early:
the rest of its body is drained (up to ``max_drain`` bytes, within the
deadline) so the connection is saved rather than reset (seeds 001, 004).
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import time
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, Union

from httpool._conn import Connection, build_request_head
from httpool._exceptions import (
    PoolClosed,
    PoolTimeout,
    TimeoutError,
)
from httpool._idle import PoolCore
from httpool._batch import Batch
from httpool._models import Headers, Request, Timeout
from httpool._reasons import COUNTERS, CloseReason
from httpool._request import Plan, Runner
from httpool._response import Response
from httpool._stats import OriginStats, PoolStats
from httpool._version import __version__

__all__ = ["Pool"]

logger = logging.getLogger("httpool")

_REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Methods whose requests carry a body by definition: send Content-Length: 0 when empty.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_URL_CACHE_SIZE = 512

# Counter indices: httpool._reasons' COUNT_* values.
_DRAINED = COUNTERS.index("drained")
_DRAINED_BYTES = COUNTERS.index("drained_bytes")
_TIMEOUTS = COUNTERS.index("timeouts")


# Every pool, so that a forked child forgets the parent's connections (httpool._conn
# closes the child's copies of their descriptors).
_pools: weakref.WeakSet = weakref.WeakSet()


def _forget_in_child() -> None:
    for pool in list(_pools):
        pool._core.forget_all()


os.register_at_fork(after_in_child=_forget_in_child)


class _Target:
    """Where a URL points, parsed once and cached."""

    __slots__ = ("key", "origin", "host", "port", "path", "host_header")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        # urlsplit silently drops CR, LF and TAB: refuse them (and all other
        # controls and spaces, which must be percent-encoded) instead.
        if any(ch <= " " or ch == "\x7f" for ch in url):
            raise ValueError(f"URL {url!r} contains a space or control character")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http":
            if parts.scheme == "https":
                raise ValueError(f"unsupported scheme in {url!r}: httpool speaks plain http for now")
            raise ValueError(f"unsupported or missing scheme in {url!r}: expected http://host[:port]/path")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"invalid port in {url!r}") from None
        if port is None:
            port = 80
        elif port == 0:
            raise ValueError(f"port 0 in {url!r}: there is nothing to connect to")
        if parts.username or parts.password:
            raise ValueError(f"credentials in the URL are not supported: {url!r}")
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        self.host = host
        self.port = port
        self.key = ("http", host, port)
        bracketed = f"[{host}]" if ":" in host else host
        self.host_header = bracketed if port == 80 else f"{bracketed}:{port}"
        self.origin = f"http://{bracketed}:{port}"
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _Stream:
    """The context manager of Pool.stream(). Not a generator: one dropped
    without its `with` block ending must not drain from a finalizer; its
    response is then released by Response.__del__, which does not block."""

    __slots__ = ("_pool", "_args", "_response")

    def __init__(self, pool: Pool, args: tuple) -> None:
        self._pool = pool
        self._args = args
        self._response: Optional[Response] = None

    def __enter__(self) -> Response:
        self._response = self._pool.send(*self._args, False)
        return self._response

    def __exit__(self, *exc_info: Any) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()


def _request_args(item: Any) -> tuple:
    """(method, url, headers, body, params, json) of one request_many item."""
    if isinstance(item, Request):
        return item.method, item.url, item.headers, item.body, item.params, item.json
    if isinstance(item, tuple) and len(item) in (2, 3):
        options = item[2] if len(item) == 3 else {}
        if not isinstance(options, Mapping):
            raise TypeError(f"the third item of {item!r} must be a dict of request() keywords")
        unknown = set(options) - {"headers", "body", "params", "json"}
        if unknown:
            raise TypeError(f"unknown request keywords {sorted(unknown)} in {item!r}")
        return (item[0], item[1], options.get("headers"), options.get("body"),
                options.get("params"), options.get("json"))
    raise TypeError(f"a request is (method, url), (method, url, {{keywords}}) or httpool.Request, "
                    f"not {item!r}")


def _asks_close(headers: list) -> bool:
    """Whether the request says `Connection: close` (RFC 9112 section 9.6)."""
    return any(n.lower() == "connection" and "close" in v.lower() for n, v in headers)


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _seconds(name: str, value: Any) -> float:
    """Seconds as a float, -1.0 for None (no limit)."""
    if value is None:
        return -1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0 or None, not {value!r}")
    return float(value)


class Pool(Runner):
    """A thread-safe pool of HTTP/1.1 connections.

    >>> with Pool() as pool:
    ...     r = pool.get("http://127.0.0.1:8080/")
    """

    def __init__(
        self,
        *,
        max_connections_per_host: int = 10,
        max_connections: int = 100,
        max_idle_per_host: int = 10,
        idle_timeout: Optional[float] = 30.0,
        max_lifetime: Optional[float] = None,
        max_drain: int = 262144,
        retries: int = 1,
        timeout: Union[Timeout, float, None] = None,
        headers: Union[Mapping[str, str], list, None] = None,
    ) -> None:
        _positive_int("max_connections_per_host", max_connections_per_host)
        _positive_int("max_connections", max_connections)
        _positive_int("max_idle_per_host", max_idle_per_host, 0)
        _positive_int("max_drain", max_drain, 0)
        _positive_int("retries", retries, 0)
        self._core = PoolCore(max_connections, max_connections_per_host, max_idle_per_host,
                              _seconds("idle_timeout", idle_timeout),
                              _seconds("max_lifetime", max_lifetime))
        self._timeout = Timeout.coerce(timeout, Timeout())
        self._max_drain = max_drain
        default = [("User-Agent", f"httpool/{__version__}"), ("Accept", "*/*")]
        extra = list(Headers(headers).multi_items())
        overridden = {name.lower() for name, _ in extra}
        if overridden & _FRAMING or "host" in overridden:
            raise ValueError("default headers may not set Host, Content-Length or Transfer-Encoding")
        self._headers = [(n, v) for n, v in default if n.lower() not in overridden] + extra
        self._default_close = _asks_close(self._headers)
        # The default header lines as bytes, checked once for CR, LF and NUL by
        # build_request_head: its head minus the request line and final CRLF.
        self._fixed_tail = build_request_head("GET", "/", b"", self._headers).split(b"\r\n", 1)[1][:-2]
        self._setup(self._core, retries, self._timeout)
        self._retries = retries
        self._targets: dict = {}
        self._fixed: dict = {}
        _pools.add(self)

    # ---------------------------------------------------------------- API

    def stream(self, method: str, url: str, *, headers: Any = None, body: Any = None,
               params: Any = None, json: Any = None,
               timeout: Union[Timeout, float, None] = None) -> _Stream:
        """Send a request when the `with` block is entered; the body is read by
        the caller (iter_bytes, read). Leaving the block releases the response,
        draining what is left."""
        return _Stream(self, (method, url, headers, body, params, json, timeout))


    def request_many(self, requests: Iterable[Any], *, concurrency: int = 64,
                     timeout: Union[Timeout, float, None] = None,
                     return_exceptions: bool = False) -> list:
        """Send many requests, up to `concurrency` in flight at once from this
        thread, and return their responses (bodies read) in input order.

        Each request is ("GET", url), (method, url, {keyword: value}) with the
        keywords of request(), or an httpool.Request. timeout: each request's
        own deadline. A failure raises at once (the rest of the batch is
        closed), unless return_exceptions: then it takes the request's place."""
        batch = self._batch(requests, concurrency, timeout)
        results: list = [None] * len(batch)
        try:
            while (job := batch.next_done()) is not None:
                if isinstance(job.result, BaseException) and not return_exceptions:
                    raise job.result
                results[job.index] = job.result
        finally:
            batch.close()
        return results

    def iter_many(self, requests: Iterable[Any], *, concurrency: int = 64,
                  timeout: Union[Timeout, float, None] = None,
                  return_exceptions: bool = False) -> Iterator[Any]:
        """Like request_many, yielding each response as it completes; its
        `index` is the request's position in the input. Leaving the loop early
        closes what is still in flight."""
        batch = self._batch(requests, concurrency, timeout)
        try:
            while (job := batch.next_done()) is not None:
                if isinstance(job.result, BaseException) and not return_exceptions:
                    raise job.result
                yield job.result
        finally:
            batch.close()

    def _batch(self, requests: Iterable[Any], concurrency: int, timeout: Any) -> Batch:
        """Plan every request (bad arguments raise here, before any I/O)."""
        if self._core.closed:
            raise PoolClosed("the pool is closed")
        _positive_int("concurrency", concurrency)
        plans = [self.plan(*_request_args(item)) for item in requests]
        t = Timeout.coerce(timeout, self._timeout)
        return Batch(self, plans, concurrency, -1.0 if t.total is None else t.total,
                     -1.0 if t.read is None else t.read, self._retries)

    def stats(self) -> PoolStats:
        """Counters of the whole pool, with per-origin figures."""
        origins = {}
        for slots in self._core.origins():
            counts, closed = slots.counters()
            origins[slots.origin] = OriginStats.from_counters(counts, closed, slots.idle_count, slots.open)
        total = sum(origins.values(), OriginStats())
        fields = {name: getattr(total, name) for name in OriginStats.__dataclass_fields__}
        return PoolStats(**fields, waiting=self._core.waiting, origins=origins)

    def close(self) -> None:
        """Close idle connections now and the others as they are released;
        later requests raise PoolClosed."""
        self._core.close_all(CloseReason.POOL_CLOSE)
        self._flush_log()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        core = self._core
        state = "closed" if core.closed else "open"
        return (f"<Pool {state}: {core.open_total} of {core.max_connections} connections open, "
                f"{sum(s.idle_count for s in core.origins())} idle, {core.waiting} waiting>")

    # ---------------------------------------------------------- request

    def _target(self, url: str, params: Any) -> tuple:
        """The parsed URL, the request target, and the URL with params."""
        target = self._targets.get(url)
        if target is None:
            target = _Target(url)
            if len(self._targets) >= _URL_CACHE_SIZE:
                self._targets.clear()
            self._targets[url] = target
        if not params:
            return target, target.path, url
        query = urllib.parse.urlencode(params, doseq=True)
        base, hash_, fragment = url.partition("#")
        url = f"{base}{'&' if '?' in base else '?'}{query}{hash_}{fragment}"
        return target, f"{target.path}{'&' if '?' in target.path else '?'}{query}", url

    def _head(self, method: str, target: _Target, path: str, extra: Optional[list],
              framing: list) -> tuple:
        """The request head and whether it asks to close the connection.
        extra: the request's own header pairs, or None."""
        if extra is None:
            fixed = self._fixed.get(target.host_header)
            if fixed is None:
                fixed = b"Host: " + target.host_header.encode() + b"\r\n" + self._fixed_tail
                self._fixed[target.host_header] = fixed
            return build_request_head(method, path, fixed, framing), self._default_close
        names = {name.lower() for name, _ in extra}
        if names & _FRAMING:
            raise ValueError("Content-Length and Transfer-Encoding are set by httpool from the body")
        merged = [("Host", target.host_header)] if "host" not in names else []
        merged += [(n, v) for n, v in self._headers if n.lower() not in names]
        merged += extra
        return build_request_head(method, path, b"", merged + framing), _asks_close(merged)

    def _plan(self, method: str, url: str, headers: Any, body: Any, params: Any, json: Any) -> Plan:
        """Check and encode a request once (Runner caches the plans of
        requests with no options)."""
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, not {type(method).__name__}")
        method = method.upper()
        target, path, url = self._target(url, params)
        chunks = None
        # The request's own header pairs, normalised once (None: none given).
        extra = None if headers is None else Headers(headers).multi_items()
        framing: list = []
        if json is not None:
            if body is not None:
                raise ValueError("pass either body= or json=, not both")
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            if extra is None or all(name.lower() != "content-type" for name, _ in extra):
                framing.append(("Content-Type", "application/json"))
        if body is None:
            if method in _BODY_METHODS:
                framing.append(("Content-Length", "0"))
        elif isinstance(body, str):
            body = body.encode()
            framing.append(("Content-Length", str(len(body))))
        elif isinstance(body, (bytes, bytearray, memoryview)):
            view = memoryview(body)
            if not view.c_contiguous:
                raise ValueError("a memoryview body must be C-contiguous")
            framing.append(("Content-Length", str(view.nbytes)))
        elif isinstance(body, Iterable):
            chunks, body = body, None
            framing.append(("Transfer-Encoding", "chunked"))
        else:
            raise TypeError(f"body must be bytes, str or an iterable of bytes, not {type(body).__name__}")
        head, client_close = self._head(method, target, path, extra, framing)
        replayable = chunks is None and (
            method in _REPLAYABLE
            or (extra is not None and any(name.lower() == "idempotency-key" for name, _ in extra)))
        return Plan(method, url, path, target, self._core.slots(target.key, target.origin),
                    head, body, chunks, client_close, replayable)

    @staticmethod
    def _send_chunks(conn: Connection, chunks: Iterable, deadline: float, write_timeout: float) -> None:
        """A chunked request body (RFC 9112 section 7.1)."""
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"body chunks must be bytes, not {type(chunk).__name__}")
            size = memoryview(chunk).nbytes
            if size and not (conn.send_more(b"%x\r\n" % size, deadline, write_timeout)
                             and conn.send_more(chunk, deadline, write_timeout)
                             and conn.send_more(b"\r\n", deadline, write_timeout)):
                return
        conn.send_more(b"0\r\n\r\n", deadline, write_timeout)

    def _connect(self, slots: Any, target: _Target, grant: Any, deadline: float, t: Timeout) -> Connection:
        """No idle connection was ready (grant is True: a slot is reserved;
        None: wait for one). Returns a connection: handed over by a releasing
        request, or newly opened."""
        core = self._core
        if grant is None:
            grant = self._wait_for_slot(slots, time.monotonic(), deadline, t)
        if core.debug:
            self._flush_log()  # stale and closed connections first, then what replaces them
        if grant is not True:
            if core.debug:
                logger.debug("%s: reusing connection fd=%d", target.origin, grant.fileno)
            return grant
        try:
            conn = Connection.open(target.key, target.origin, target.host, target.port,
                                   deadline, -1.0 if t.connect is None else t.connect)
        except TimeoutError:
            core.count_origin(slots, _TIMEOUTS)
            core.open_failed(slots, CloseReason.TIMEOUT)
            self._flush_log()
            raise
        except BaseException:
            core.open_failed(slots, CloseReason.ERROR)
            self._flush_log()
            raise
        conn.slots = slots
        core.opened(slots)
        if core.debug:
            logger.debug("%s: opened connection fd=%d", target.origin, conn.fileno)
        return conn

    def _wait_for_slot(self, slots: Any, now: float, deadline: float, t: Timeout) -> Any:
        core = self._core
        limit = deadline
        if t.pool is not None and (limit < 0 or now + t.pool < limit):
            limit = now + t.pool
        waiter = core.enqueue(slots)
        try:
            waiter.wait(limit)
        except BaseException:
            # Interrupted: a grant that arrived meanwhile goes back to the pool.
            grant = core.cancel(waiter)
            if grant is True:
                core.release_slot(slots)
            elif grant:
                core.checkin(grant, time.monotonic())
            raise
        # A grant that raced the timeout is taken.
        grant = core.cancel(waiter)
        if grant is False:
            raise PoolClosed("the pool was closed while waiting for a connection")
        if grant is None:
            core.count_origin(slots, _TIMEOUTS)
            limit_text = (f"max_connections_per_host={core.max_connections_per_host}"
                          if slots.open >= core.max_connections_per_host
                          else f"max_connections={core.max_connections}")
            waited = time.monotonic() - now
            raise PoolTimeout(f"{slots.origin}: no connection free after {waited:.3f} s "
                              f"({limit_text} reached, {slots.open} open to this origin)")
        return grant

    # ---------------------------------------------------------- release

    def _fail(self, response: Response, exc: BaseException) -> None:
        conn = response._conn
        response._conn = None
        if isinstance(exc, TimeoutError):
            self._core.count(conn, _TIMEOUTS)
            self._core.discard(conn, CloseReason.TIMEOUT)
        else:
            self._core.discard(conn, CloseReason.ERROR)
        self._flush_log()

    def _read_body(self, response: Response) -> bytes:
        conn = response._conn
        try:
            body = conn.read_body(response._deadline, response._read_timeout)
        except BaseException as exc:
            self._fail(response, exc)
            raise
        self.finish(response)
        return body

    def _read_some(self, response: Response, max_bytes: int) -> bytes:
        conn = response._conn
        try:
            chunk = conn.read_some(max_bytes, response._deadline, response._read_timeout)
        except BaseException as exc:
            self._fail(response, exc)
            raise
        if conn.parser.message_complete and not conn.parser.buffered_body:
            self.finish(response)
        return chunk

    def _release_early(self, response: Response) -> None:
        """Drain what is left of the body, then return the connection."""
        conn = response._conn
        core = self._core
        deadline = response._deadline
        if response._read_timeout >= 0:
            drain_limit = time.monotonic() + response._read_timeout
            deadline = drain_limit if deadline < 0 else min(deadline, drain_limit)
        drained = conn.drain(self._max_drain, deadline)
        if drained > 0 and conn.reusable():
            core.count(conn, _DRAINED)
            core.count(conn, _DRAINED_BYTES, drained)
            if core.debug:
                logger.debug("%s: drained %d unread body bytes to save connection fd=%d",
                             conn.origin, drained, conn.fileno)
        self.finish(response)

    def _abandon(self, response: Response) -> None:
        """A response garbage-collected with its connection: a finalizer must
        not block, so only a complete body lets the connection be reused."""
        conn = response._conn
        response._conn = None
        if conn.parser.message_complete and conn.reusable():
            self._core.checkin(conn, time.monotonic())
        else:
            self._core.discard(conn, CloseReason.ABANDONED)

    def _flush_log(self) -> None:
        events = self._core.events
        if events:
            for line in events:
                logger.debug("%s", line)
            events.clear()
