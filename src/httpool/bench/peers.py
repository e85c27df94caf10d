"""The HTTP clients ``python -m httpool bench`` measures, each behind one small adapter.

Every adapter is opened for a number of requests in flight (``connections``)
and a per-request ``timeout`` in seconds, and offers ``get(url)``, which sends
a GET, reads the whole body as ``bytes`` as a caller would, and returns
``(status, body size)``; ``close()`` ends it. Each library keeps its defaults
apart from what makes the comparison fair: as many keep-alive connections as
requests in flight (a request waits for a free one rather than opening
another), and the timeout.

Sync adapters are shared by every worker thread, as one ``httpool.Pool`` is.
pycurl is the exception the library imposes: a Curl handle must not be used by
two threads at once, so its adapter keeps a stack of handles (one per request
in flight, each keeping its own connection) and a thread borrows one per
request. Async adapters (``is_async``) are opened inside the running event
loop and shared by its tasks.

A peer takes part only when its module can be imported; ``installed`` checks
that without importing it.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import io
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["PEERS", "Peer", "peer_named"]


class _HttpoolClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import httpool

        self._pool = httpool.Pool(max_connections_per_host=connections,
                                  max_connections=max(connections, 100),
                                  max_idle_per_host=connections, timeout=timeout)

    def get(self, url: str) -> tuple[int, int]:
        response = self._pool.get(url)
        return response.status_code, len(response.content)

    def get_many(self, url: str, count: int, concurrency: int) -> Iterator[Any]:
        """(status, body size, latency in ns) of each of `count` GETs, sent
        `concurrency` at a time by one batch; a failed request as its exception."""
        for result in self._pool.iter_many([("GET", url)] * count, concurrency=concurrency,
                                           return_exceptions=True):
            if isinstance(result, Exception):
                yield result
            else:
                # elapsed is set once the body was read (len(result.content), just before)
                yield (result.status_code, len(result.content),
                       round(result.elapsed.total_seconds() * 1e9))  # type: ignore[union-attr]

    def stats(self) -> Any:
        return self._pool.stats()

    def close(self) -> None:
        self._pool.close()


class _HttpxClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.Client(limits=limits, timeout=timeout)

    def get(self, url: str) -> tuple[int, int]:
        response = self._client.get(url)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._client.close()


class _HttpxAsyncClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(limits=limits, timeout=timeout)

    async def get(self, url: str) -> tuple[int, int]:
        response = await self._client.get(url)
        return response.status_code, len(response.content)

    async def close(self) -> None:
        await self._client.aclose()


class _Urllib3Client:
    def __init__(self, connections: int, timeout: float) -> None:
        import urllib3

        self._manager = urllib3.PoolManager(maxsize=connections, block=True, timeout=timeout)

    def get(self, url: str) -> tuple[int, int]:
        response = self._manager.request("GET", url)
        return response.status, len(response.data)

    def close(self) -> None:
        self._manager.clear()


class _RequestsClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import requests
        import requests.adapters

        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections,
                                                pool_block=True)
        self._session.mount("http://", adapter)
        self._timeout = timeout

    def get(self, url: str) -> tuple[int, int]:
        response = self._session.get(url, timeout=self._timeout)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._session.close()


class _AiohttpClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
        self._session = aiohttp.ClientSession(connector=connector,
                                              timeout=aiohttp.ClientTimeout(total=timeout))

    async def get(self, url: str) -> tuple[int, int]:
        async with self._session.get(url) as response:
            body = await response.read()
        return response.status, len(body)

    async def close(self) -> None:
        await self._session.close()


class _PycurlClient:
    def __init__(self, connections: int, timeout: float) -> None:
        import pycurl

        self._pycurl = pycurl
        self._timeout_ms = max(1, round(timeout * 1000))
        self._idle: list[Any] = []  # list.pop and list.append are atomic under the GIL
        self._all: list[Any] = []

    def _new_handle(self) -> Any:
        handle = self._pycurl.Curl()
        handle.setopt(self._pycurl.NOSIGNAL, 1)  # no SIGALRM for timeouts: threads
        handle.setopt(self._pycurl.TIMEOUT_MS, self._timeout_ms)
        self._all.append(handle)
        return handle

    def get(self, url: str) -> tuple[int, int]:
        try:
            handle = self._idle.pop()
        except IndexError:
            handle = self._new_handle()
        try:
            buffer = io.BytesIO()
            handle.setopt(self._pycurl.URL, url)
            handle.setopt(self._pycurl.WRITEDATA, buffer)
            handle.perform()
            body = buffer.getvalue()
            return handle.getinfo(self._pycurl.RESPONSE_CODE), len(body)
        finally:
            self._idle.append(handle)

    def close(self) -> None:
        for handle in self._all:
            handle.close()
        self._all.clear()
        self._idle.clear()


@dataclasses.dataclass(frozen=True)
class Peer:
    """A client library and how the benchmark drives it."""

    name: str
    module: str        # must be importable for the peer to run
    distribution: str  # the installed distribution, for its version
    is_async: bool     # get() and close() are coroutines; open it inside the event loop
    open: Callable[[int, float], Any]  # (connections, timeout) -> adapter

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    @property
    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "?"


PEERS = (
    Peer("httpool", "httpool", "httpool", False, _HttpoolClient),
    Peer("httpx", "httpx", "httpx", False, _HttpxClient),
    Peer("httpx-async", "httpx", "httpx", True, _HttpxAsyncClient),
    Peer("urllib3", "urllib3", "urllib3", False, _Urllib3Client),
    Peer("requests", "requests", "requests", False, _RequestsClient),
    Peer("aiohttp", "aiohttp", "aiohttp", True, _AiohttpClient),
    Peer("pycurl", "pycurl", "pycurl", False, _PycurlClient),
)


def peer_named(name: str) -> Peer:
    """The peer called `name`; KeyError if there is none."""
    for peer in PEERS:
        if peer.name == name:
            return peer
    raise KeyError(name)
