"""The asyncio API: httpool.AsyncPool.

AsyncPool takes Pool's options and is made of a Pool: that pool checks the
options and holds the planner, the policies, the connections and the stats.
Its requests run on the asyncio driver (httpool._async), which drives the
same exchanges (httpool._exchange) as the blocking and batch drivers, so
every rule of a request is the one the blocking pool follows.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, cast, overload

from httpool._async import AsyncClient, AsyncResponse
from httpool._models import (
    AuthSource,
    Body,
    CookieSource,
    Files,
    FormData,
    HeaderSource,
    JSONInput,
    Params,
    Request,
    RequestItem,
    TimeoutSource,
)
from httpool._pool import Pool
from httpool._response import Response
from httpool._stats import PoolStats

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = ["AsyncPool"]

_P = ParamSpec("_P")


def _options_of(
    init: Callable[Concatenate[Pool, _P], None],
) -> Callable[[Callable[..., None]], Callable[Concatenate[AsyncPool, _P], None]]:
    """Give AsyncPool.__init__ the signature of Pool.__init__ (its options are Pool's)."""

    def decorate(method: Callable[..., None]) -> Callable[Concatenate[AsyncPool, _P], None]:
        return functools.wraps(init)(method)

    return decorate


class _AsyncStream:
    """The async context manager of AsyncPool.stream(): the request is sent
    when the block is entered, the response released (drained) when it ends."""

    __slots__ = ("_open", "_response")

    def __init__(self, open_response: Callable[[], Awaitable[AsyncResponse]]) -> None:
        self._open = open_response
        self._response: AsyncResponse | None = None

    async def __aenter__(self) -> AsyncResponse:
        self._response = await self._open()
        return self._response

    async def __aexit__(self, *exc_info: object) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()


class AsyncPool(AsyncClient):
    """A pool of HTTP/1.1 connections for asyncio, with the options of Pool.

    One pool belongs to the event loop of its first request.

    >>> async with AsyncPool(max_connections_per_host=64) as pool:
    ...     r = await pool.get("http://127.0.0.1:8080/")
    """

    @_options_of(Pool.__init__)
    def __init__(self, **options: Any) -> None:
        self._pool = Pool(**options)
        self._bind(self._pool)

    # ---------------------------------------------------------------- API

    @property
    def cookies(self) -> CookieJar | None:
        """The pool's cookie jar (see Pool.cookies)."""
        return self._pool.cookies

    def stream(self, method: str, url: str, *, headers: HeaderSource = None, body: Body = None,
               params: Params = None, json: JSONInput = None, data: FormData = None,
               files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
               follow_redirects: bool | None = None,
               timeout: TimeoutSource = None) -> AbstractAsyncContextManager[AsyncResponse]:
        """Send a request when the `async with` block is entered; the body is
        read by the caller (aiter_bytes, aread). Leaving the block releases
        the response, draining what is left without blocking the loop."""
        return _AsyncStream(lambda: self._open_stream(method, url, headers, body, params, json,
                                                      data, files, auth, cookies, follow_redirects,
                                                      timeout))

    async def send(self, request: Request, *, timeout: TimeoutSource = None,
                   stream: bool = False) -> Response:
        """Send a Request (response.next_request, for one): its body read
        whole, or with stream=True only its head (an AsyncResponse: await its
        aclose(), or use it in an `async with` block)."""
        if not isinstance(request, Request):
            raise TypeError(f"send() takes an httpool.Request, not {type(request).__name__}")
        return await self._send_request(request, timeout, stream)

    @overload
    async def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                           timeout: TimeoutSource = None,
                           return_exceptions: Literal[False] = False) -> list[Response]: ...
    @overload
    async def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                           timeout: TimeoutSource = None,
                           return_exceptions: bool) -> list[Response | Exception]: ...

    async def request_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                           timeout: TimeoutSource = None,
                           return_exceptions: bool = False) -> list[Response] | list[Response | Exception]:
        """Pool.request_many, awaited: the responses in input order."""
        items = list(requests)
        results: list[Response | Exception | None] = [None] * len(items)
        async for index, result in self._results(items, concurrency, timeout, return_exceptions):
            results[index] = result
        # Every index was filled: a batch yields each request once.
        return cast("list[Response | Exception]", results)

    @overload
    def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                  timeout: TimeoutSource = None,
                  return_exceptions: Literal[False] = False) -> AsyncIterator[Response]: ...
    @overload
    def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                  timeout: TimeoutSource = None,
                  return_exceptions: bool) -> AsyncIterator[Response | Exception]: ...

    async def iter_many(self, requests: Iterable[RequestItem], *, concurrency: int = 64,
                        timeout: TimeoutSource = None,
                        return_exceptions: bool = False) -> AsyncIterator[Response | Exception]:
        """Pool.iter_many, as an async iterator: each response as it
        completes (its `index` is its place in the input). Leaving the loop
        early, or a cancellation, gives up what is still in flight."""
        async for _, result in self._results(requests, concurrency, timeout, return_exceptions):
            yield result

    async def _results(self, requests: Iterable[RequestItem], concurrency: int,
                       timeout: TimeoutSource,
                       return_exceptions: bool) -> AsyncIterator[tuple[int, Response | Exception]]:
        """(index, result) of each request of a batch, as they complete."""
        binding = self._batch_binding(self._pool._batch(requests, concurrency, timeout))
        try:
            while (done := await binding.next_done()) is not None:
                if isinstance(done[1], BaseException) and not return_exceptions:
                    raise done[1]
                yield done
        finally:
            binding.close()

    def stats(self) -> PoolStats:
        """Counters of the whole pool, with per-origin figures (see Pool.stats)."""
        return self._pool.stats()

    async def aclose(self) -> None:
        """Close idle connections now and the others as they are released;
        waiters and later requests raise PoolClosed."""
        self._pool.close()
        self._after_close()

    async def __aenter__(self) -> AsyncPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return repr(self._pool).replace("<Pool", "<AsyncPool", 1)
