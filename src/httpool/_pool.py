"""The public Pool: its options checked, and the batch APIs.

The per-request hot path is compiled: Pool's base class httpool._request.Client
(request(), get() and the other methods) plans a request (httpool._plan) and
runs its Exchange (httpool._exchange, every rule of one request on one
connection) with the blocking driver (httpool._blocking); request_many and
iter_many run many exchanges with the batch driver (httpool._batch). This
module holds the public API and what is not worth compiling: checking the
pool's arguments, stream(), stats() and close().
"""

from __future__ import annotations

import functools
import os
import ssl
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal, Union, cast, overload

from httpool._batch import Batch
from httpool._exchange import Settings
from httpool._idle import PoolCore
from httpool._models import (
    AuthSource,
    Body,
    CookieSource,
    Files,
    FormData,
    Headers,
    HeaderSource,
    JSONInput,
    Params,
    Request,
    RequestItem,
    Timeout,
    TimeoutSource,
)
from httpool._plan import Plan, Planner
from httpool._reasons import CloseReason
from httpool._request import Client
from httpool._response import Response
from httpool._stats import OriginStats, PoolStats
from httpool._tls import TLSConfig
from httpool._version import __version__
from httpool.policies.decoding import ACCEPT_ENCODING
from httpool.policies.flow import Flow, Policies
from httpool.policies.retry import Retry
from httpool.routes.addresses import ResolveSource, pinned_addresses
from httpool.routes.proxies import ProxySource, routes_of

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = ["Pool"]

# Request headers the body decides; never defaults.
_FRAMING = frozenset({"content-length", "transfer-encoding"})


# Every pool, so that a forked child forgets the parent's connections (httpool._conn
# closes the child's copies of their descriptors).
_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def _forget_in_child() -> None:
    for pool in list(_pools):
        pool._core.forget_all()


os.register_at_fork(after_in_child=_forget_in_child)


# Pool.verify= and cert=: a path is a str or an os.PathLike.
_Path = Union[str, "os.PathLike[str]"]

# The keywords of a (method, url, {keywords}) item of request_many.
_ITEM_KEYWORDS = frozenset({"headers", "body", "params", "json", "data", "files", "auth", "cookies",
                            "follow_redirects"})


class _Stream:
    """The context manager of Pool.stream(). Not a generator: one dropped
    without its `with` block ending must not drain from a finalizer; its
    response is then released by Response.__del__, which does not block."""

    __slots__ = ("_open", "_response")

    def __init__(self, open_response: Callable[[], Response]) -> None:
        self._open = open_response
        self._response: Response | None = None

    def __enter__(self) -> Response:
        self._response = self._open()
        return self._response

    def __exit__(self, *exc_info: object) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()


def _item_request(item: object) -> Request:
    """The Request of one request_many item, checked (typed callers pass a
    RequestItem; others may pass anything)."""
    if isinstance(item, Request):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        options = item[2] if len(item) == 3 else {}
        if not isinstance(options, Mapping):
            raise TypeError(f"the third item of {item!r} must be a dict of request() keywords")
        unknown = set(options) - _ITEM_KEYWORDS
        if unknown:
            raise TypeError(f"unknown request keywords {sorted(unknown)} in {item!r}")
        return Request(item[0], item[1], **options)
    raise TypeError(f"a request is (method, url), (method, url, {{keywords}}) or httpool.Request, "
                    f"not {item!r}")


def _start_policies(pool: weakref.ref[Pool]) -> None:
    """The pool's jar stored a cookie: its requests go through a Flow now."""
    alive = pool()
    if alive is not None:
        alive.uses_policies = True


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _seconds(name: str, value: object) -> float:
    """Seconds as a float, -1.0 for None (no limit)."""
    if value is None:
        return -1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0 or None, not {value!r}")
    return float(value)


def _optional_int(name: str, value: object, minimum: int) -> int | None:
    return None if value is None else _positive_int(name, value, minimum)


class Pool(Client):
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
        idle_timeout: float | None = 30.0,
        max_lifetime: float | None = None,
        max_drain: int = 262144,
        max_drain_time: float | None = 0.05,
        retries: int | Retry = 1,
        timeout: TimeoutSource = None,
        headers: HeaderSource = None,
        max_body_size: int | None = None,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
        max_interim: int = 5,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        cert: str | os.PathLike[str] | tuple[_Path, _Path] | None = None,
        follow_redirects: bool = False,
        max_redirects: int = 20,
        allow_https_downgrade: bool = False,
        cookies: CookieSource | Literal[False] = None,
        auth: AuthSource = None,
        uds: str | os.PathLike[str] | None = None,
        proxy: ProxySource = None,
        trust_env: bool = True,
        resolve: ResolveSource = None,
    ) -> None:
        _positive_int("max_connections_per_host", max_connections_per_host)
        _positive_int("max_connections", max_connections)
        _positive_int("max_idle_per_host", max_idle_per_host, 0)
        _positive_int("max_drain", max_drain, 0)
        retry = None
        if isinstance(retries, Retry):
            # The engine keeps its retry on a new connection; the Retry is the policies'.
            retry, retries = retries, 1
        elif isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"retries must be an int or an httpool.Retry, not {type(retries).__name__}")
        else:
            _positive_int("retries", retries, 0)
        _positive_int("max_redirects", max_redirects, 0)
        parser_limits: dict[str, int | None] = {
            "max_body_size": _optional_int("max_body_size", max_body_size, 0),
            "max_header_bytes": _positive_int("max_header_bytes", max_header_bytes, 64),
            "max_headers": _positive_int("max_headers", max_headers),
            "max_interim": _positive_int("max_interim", max_interim, 0),
        }
        self._core = PoolCore(max_connections, max_connections_per_host, max_idle_per_host,
                              _seconds("idle_timeout", idle_timeout),
                              _seconds("max_lifetime", max_lifetime))
        default = [("User-Agent", f"httpool/{__version__}"), ("Accept", "*/*"),
                   ("Accept-Encoding", ACCEPT_ENCODING)]
        extra = list(Headers(headers).multi_items())
        overridden = {name.lower() for name, _ in extra}
        if overridden & _FRAMING or "host" in overridden:
            raise ValueError("default headers may not set Host, Content-Length or Transfer-Encoding")
        self._timeout = Timeout.coerce(timeout, Timeout())
        tls = TLSConfig(verify, cert, bool(trust_env))
        uds_path = None if uds is None else os.fspath(uds)
        if uds_path is not None and not isinstance(uds_path, str):
            raise TypeError(f"uds must be a str or os.PathLike[str], not {type(uds).__name__}")
        if proxy is not None and uds_path is not None:
            raise ValueError("pass either uds= or proxy=, not both")
        # Requests over a Unix socket never go through the environment's proxies.
        routes = routes_of(proxy, bool(trust_env) and uds_path is None)
        planner = Planner(self._core, [(n, v) for n, v in default if n.lower() not in overridden] + extra,
                          uds_path, routes)
        on_store = functools.partial(_start_policies, weakref.ref(self))
        jar = None
        if cookies is not None and cookies is not False:
            from httpool.policies.cookies import ObservedJar, jar_from  # see Policies
            jar = jar_from(cookies)
            if isinstance(jar, ObservedJar):
                jar.on_store = on_store
        policies = Policies(planner, auth, jar, cookies is not False, on_store,
                            bool(follow_redirects), max_redirects, bool(allow_https_downgrade),
                            retry, self._core)
        self._setup(Settings(self._core, retries, max_drain, _seconds("max_drain_time", max_drain_time),
                             parser_limits, tls, None if uds_path is None else os.fsencode(uds_path),
                             pinned_addresses(resolve)),
                    planner, self._timeout, policies)
        _pools.add(self)

    # ---------------------------------------------------------------- API

    @property
    def cookies(self) -> CookieJar | None:
        """The pool's cookie jar (None with cookies=False), made on first use:
        Set-Cookie of every response is stored there, and its cookies are sent
        where they apply."""
        return self._policies.jar

    def stream(self, method: str, url: str, *, headers: HeaderSource = None, body: Body = None,
               params: Params = None, json: JSONInput = None, data: FormData = None,
               files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
               follow_redirects: bool | None = None,
               timeout: TimeoutSource = None) -> AbstractContextManager[Response]:
        """Send a request when the `with` block is entered; the body is read by
        the caller (iter_bytes, read). Leaving the block releases the response,
        draining what is left."""
        return _Stream(lambda: self._open_stream(method, url, headers, body, params, json, data,
                                                 files, auth, cookies, follow_redirects, timeout))

    def send(self, request: Request, *, timeout: TimeoutSource = None,
             stream: bool = False) -> Response:
        """Send a Request (response.next_request, for one): its body read
        whole, or with stream=True only its head (close the response, or use
        it in a `with` block)."""
        if not isinstance(request, Request):
            raise TypeError(f"send() takes an httpool.Request, not {type(request).__name__}")
        return self._send_request(request, timeout, stream)

    # return_exceptions=True puts each failure in its request's place: an
    # HTTPError, or whatever else ended that request (a body iterator's own
    # exception, a TypeError for a chunk that is not bytes), hence Exception.
    @overload
    def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                     timeout: TimeoutSource = None,
                     return_exceptions: Literal[False] = False) -> list[Response]: ...
    @overload
    def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                     timeout: TimeoutSource = None,
                     return_exceptions: bool) -> list[Response | Exception]: ...

    def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                     timeout: TimeoutSource = None,
                     return_exceptions: bool = False) -> list[Response] | list[Response | Exception]:
        """Send many requests, up to `concurrency` in flight at once from this
        thread, and return their responses (bodies read) in input order.

        Each request is ("GET", url), (method, url, {keyword: value}) with the
        keywords of request(), or an httpool.Request. timeout: each request's
        own, with the meaning it has in request(). A failure raises at once
        (the rest of the batch is closed), unless return_exceptions: then it
        takes the request's place. Requests beyond the pool's connection
        limits wait for a connection inside the batch (stats().waiting)."""
        batch = self._batch(requests, concurrency, timeout)
        results: list[Response | Exception | None] = [None] * len(batch)
        try:
            while (done := batch.next_done()) is not None:
                index, result = done
                if isinstance(result, BaseException) and not return_exceptions:
                    raise result
                results[index] = result
        finally:
            batch.close()
        # Every index was filled: a batch yields each request once.
        return cast("list[Response | Exception]", results)

    @overload
    def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                  timeout: TimeoutSource = None,
                  return_exceptions: Literal[False] = False) -> Iterator[Response]: ...
    @overload
    def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                  timeout: TimeoutSource = None,
                  return_exceptions: bool) -> Iterator[Response | Exception]: ...

    def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                  timeout: TimeoutSource = None,
                  return_exceptions: bool = False) -> Iterator[Response | Exception]:
        """Like request_many, yielding each response as it completes; its
        `index` is the request's position in the input. Leaving the loop early
        closes what is still in flight."""
        batch = self._batch(requests, concurrency, timeout)
        try:
            while (done := batch.next_done()) is not None:
                result = done[1]
                if isinstance(result, BaseException) and not return_exceptions:
                    raise result
                yield result
        finally:
            batch.close()

    def _batch(self, requests: Iterable[RequestItem], concurrency: int,
               timeout: TimeoutSource) -> Batch:
        """Plan every request (bad arguments raise here, before any I/O)."""
        _positive_int("concurrency", concurrency)
        items = [self._batch_item(item) for item in requests]
        return Batch(self._settings, items, concurrency, Timeout.coerce(timeout, self._timeout),
                     self._policies)

    def _batch_item(self, item: object) -> tuple[Plan, Flow | None, bool]:
        """The first Plan of one request, its Flow when it uses a policy from
        the start, and whether it follows redirects (a Flow takes over then)."""
        follows = self._policies.follow_redirects
        if (isinstance(item, tuple) and len(item) == 2 and not self.uses_policies
                and isinstance(item[1], str)):
            # The common item: the planner's cache has its Plan.
            plan = self._planner.plan(item[0], item[1], None, None, None, None)
            if not plan.has_credentials:
                return plan, None, follows
        request = _item_request(item)
        if request.auth is None and request.cookies is None and not self.uses_policies:
            plan = self._planner.plan(request.method, request.url, request.headers or None,
                                      request.body, request.params, request.json, request.data,
                                      request.files)
            if not plan.has_credentials:
                return plan, None, (follows if request.follow_redirects is None
                                    else request.follow_redirects)
        flow = Flow(self._policies, request)
        return flow.first(), flow, False

    def stats(self) -> PoolStats:
        """Counters of the whole pool, with per-origin figures."""
        origins: dict[str, OriginStats] = {}
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
        self._core.flush_log()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        core = self._core
        state = "closed" if core.closed else "open"
        return (f"<Pool {state}: {core.open_total} of {core.max_connections} connections open, "
                f"{sum(s.idle_count for s in core.origins())} idle, {core.waiting} waiting>")
