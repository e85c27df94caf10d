"""The clients of bench/test_concurrency_bench.py, and its peak-memory helper.

Every client sends `n` GET requests to one URL with `concurrency` of them in
flight, reads every body, and returns (requests completed, last body):

  httpool        one Pool(max_connections_per_host=c, max_connections=max(100, c),
                 max_idle_per_host=c); pool.request_many([("GET", url)] * n,
                 concurrency=c): one thread, one epoll loop
  httpool-default-pool
                 the same on a default Pool() (10 connections per host): beyond
                 10, requests wait for a connection inside the batch
  aiohttp        one ClientSession(connector=TCPConnector(limit=c)); c tasks
                 pull from a shared counter, each `await r.read()`
  httpx-async    one AsyncClient(limits=Limits(max_connections=c,
                 max_keepalive_connections=c)), c tasks the same way
  urllib3        one PoolManager(maxsize=c) shared by the c threads of a
                 ThreadPoolExecutor(c); each thread loops on the shared counter
  httpx          one Client with the limits of httpx-async, c threads the same way
  pycurl         one CurlMulti with c easy handles, reused (libcurl keeps their
                 connections alive): the perform / select / info_read loop, a
                 finished handle is re-added with the next request until n are done

Clients are created (and their connections opened) by the caller before it
times anything; `run()` is the timed part. Async clients own their event loop,
so every client has the same synchronous interface. A library is imported when
its client is created, so that the peak-memory helper below imports only the
library it measures.

Peak memory (run as a script, one fresh interpreter per client):

    python bench/concurrency_clients.py CLIENT URL [-n 10000] [-c 256] [--import-only]

prints one JSON object: the peak resident set size of the process in KiB, read
from VmHWM in /proc/self/status, and getrusage's ru_maxrss next to it. VmHWM is
the figure to use: on Linux, ru_maxrss of a process started by another one
carries the parent's peak over (execve keeps the high-water mark of the memory
map it replaces, which after fork or vfork is a copy of the parent's), so a
child of a 300 MiB pytest process reports at least 300 MiB. `--import-only` is
the baseline: the same interpreter importing the client's modules and sending
nothing. CLIENT may also be `python`: the bare interpreter and this script.
"""

from __future__ import annotations

import argparse
import importlib
import io
import itertools
import json
import resource
import sys
import time


class Client:
    """Interface: check(url) -> (status, body); run(url, n) -> (completed, last
    body); close()."""

    name = ""
    modules: tuple = ()          # imported by the library, for --import-only
    version_of = ""              # module whose __version__ is the client's version

    @classmethod
    def import_modules(cls) -> None:
        for module in cls.modules:
            importlib.import_module(module)

    @classmethod
    def available(cls) -> bool:
        try:
            cls.import_modules()
        except ImportError:
            return False
        return True

    @classmethod
    def version(cls) -> str:
        return getattr(sys.modules.get(cls.version_of), "__version__", "?")

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    def close(self) -> None:
        pass


# --- httpool ------------------------------------------------------------------

class HttpoolClient(Client):
    name, modules, version_of = "httpool", ("httpool",), "httpool"

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        import httpool
        c = concurrency
        self.pool = httpool.Pool(max_connections_per_host=c, max_connections=max(100, c),
                                 max_idle_per_host=c)

    def check(self, url):
        r = self.pool.get(url)
        return r.status_code, r.content

    def run(self, url, n):
        responses = self.pool.request_many([("GET", url)] * n, concurrency=self.concurrency)
        return len(responses), responses[-1].content

    def opened(self) -> int:
        return self.pool.stats().opened

    def close(self):
        self.pool.close()


class HttpoolDefaultPoolClient(HttpoolClient):
    name = "httpool-default-pool"

    def __init__(self, concurrency: int) -> None:
        Client.__init__(self, concurrency)
        import httpool
        self.pool = httpool.Pool()


# --- asyncio clients: c tasks pulling from a shared counter --------------------

class AsyncClient(Client):
    uvloop = False               # run on uvloop's loop instead of asyncio's default one

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        import asyncio
        self.asyncio = asyncio
        if self.uvloop:
            import uvloop
            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.start())

    async def start(self):
        raise NotImplementedError

    async def get(self, url):
        raise NotImplementedError

    async def status(self, url):
        raise NotImplementedError

    def check(self, url):
        return self.loop.run_until_complete(self.status(url))

    def run(self, url, n):
        return self.loop.run_until_complete(self._run(url, n))

    async def _run(self, url, n):
        counter = itertools.count()
        get = self.get

        async def worker():
            done, body = 0, None
            while next(counter) < n:
                body = await get(url)
                done += 1
            return done, body

        results = await self.asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return sum(done for done, _ in results), next(b for _, b in results if b is not None)

    async def aclose(self):
        raise NotImplementedError

    def close(self):
        self.loop.run_until_complete(self.aclose())
        self.loop.run_until_complete(self.asyncio.sleep(0.01))   # let transports close
        self.loop.close()


class AiohttpClient(AsyncClient):
    name, modules, version_of = "aiohttp", ("asyncio", "aiohttp"), "aiohttp"

    async def start(self):
        import aiohttp
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency))

    async def get(self, url):
        async with self.session.get(url) as r:
            return await r.read()

    async def status(self, url):
        async with self.session.get(url) as r:
            return r.status, await r.read()

    async def aclose(self):
        await self.session.close()


class AiohttpUvloopClient(AiohttpClient):
    name, modules = "aiohttp-uvloop", ("asyncio", "aiohttp", "uvloop")
    uvloop = True


class HttpoolAsyncClient(AsyncClient):
    """httpool.AsyncPool on uvloop: c tasks awaiting pool.get(url)."""

    name, modules, version_of = "httpool-async", ("httpool", "uvloop"), "httpool"
    uvloop = True

    async def start(self):
        import httpool
        c = self.concurrency
        self.pool = httpool.AsyncPool(max_connections_per_host=c, max_connections=max(100, c),
                                      max_idle_per_host=c)

    async def get(self, url):
        return (await self.pool.get(url)).content

    async def status(self, url):
        r = await self.pool.get(url)
        return r.status_code, r.content

    def opened(self) -> int:
        return self.pool.stats().opened

    async def aclose(self):
        await self.pool.aclose()


class HttpoolAsyncDefaultLoopClient(HttpoolAsyncClient):
    name, modules = "httpool-async-asyncio", ("httpool",)
    uvloop = False


class PyreqwestAsyncClient(AsyncClient):
    name, modules, version_of = "pyreqwest-async", ("pyreqwest.client",), "pyreqwest"

    async def start(self):
        from pyreqwest.client import ClientBuilder
        self.client = ClientBuilder().build()

    async def get(self, url):
        return await (await self.client.get(url).build().send()).bytes()

    async def status(self, url):
        response = await self.client.get(url).build().send()
        return response.status, await response.bytes()

    async def aclose(self):
        await self.client.close()


class RnetAsyncClient(AsyncClient):
    name, modules, version_of = "rnet-async", ("rnet",), "rnet"

    async def start(self):
        import rnet
        self.client = rnet.Client()

    async def get(self, url):
        return await (await self.client.get(url)).bytes()

    async def status(self, url):
        response = await self.client.get(url)
        return response.status, await response.bytes()

    async def aclose(self):
        pass


class HttprAsyncClient(AsyncClient):
    name, modules, version_of = "httpr-async", ("httpr",), "httpr"

    async def start(self):
        import httpr
        self.client = httpr.AsyncClient()

    async def get(self, url):
        return (await self.client.get(url)).content

    async def status(self, url):
        r = await self.client.get(url)
        return r.status_code, r.content

    async def aclose(self):
        pass


class AiosonicClient(AsyncClient):
    name, modules, version_of = "aiosonic", ("aiosonic",), "aiosonic"

    async def start(self):
        import aiosonic
        from aiosonic.connectors import TCPConnector
        from aiosonic.pools import PoolConfig
        self.client = aiosonic.HTTPClient(
            TCPConnector(pool_configs={":default": PoolConfig(size=self.concurrency)}))

    async def get(self, url):
        return await (await self.client.get(url)).content()

    async def status(self, url):
        r = await self.client.get(url)
        return r.status_code, await r.content()

    async def aclose(self):
        await self.client.aclose()


class CurlCffiAsyncClient(AsyncClient):
    name, modules, version_of = "curl_cffi-async", ("curl_cffi.requests",), "curl_cffi"

    async def start(self):
        from curl_cffi import requests
        self.session = requests.AsyncSession(max_clients=max(10, self.concurrency))

    async def get(self, url):
        return (await self.session.get(url)).content

    async def status(self, url):
        r = await self.session.get(url)
        return r.status_code, r.content

    async def aclose(self):
        await self.session.close()


class HttpxAsyncClient(AsyncClient):
    name, modules, version_of = "httpx-async", ("asyncio", "httpx"), "httpx"

    async def start(self):
        import httpx
        c = self.concurrency
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=c, max_keepalive_connections=c))

    async def get(self, url):
        return (await self.client.get(url)).content

    async def status(self, url):
        r = await self.client.get(url)
        return r.status_code, r.content

    async def aclose(self):
        await self.client.aclose()


# --- threaded clients: one shared client, c threads looping on a counter ------

class ThreadedClient(Client):
    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        from concurrent.futures import ThreadPoolExecutor
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=self.name)

    def get(self, url):
        raise NotImplementedError

    def run(self, url, n):
        counter = itertools.count()
        get = self.get

        def worker():
            done, body = 0, None
            while next(counter) < n:   # itertools.count is atomic under the GIL
                body = get(url)
                done += 1
            return done, body

        futures = [self.executor.submit(worker) for _ in range(self.concurrency)]
        results = [f.result() for f in futures]
        return sum(done for done, _ in results), next(b for _, b in results if b is not None)

    def close(self):
        self.executor.shutdown()


class Urllib3Client(ThreadedClient):
    name, modules, version_of = "urllib3", ("concurrent.futures", "urllib3"), "urllib3"

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        import urllib3
        self.http = urllib3.PoolManager(maxsize=concurrency)

    def get(self, url):
        return self.http.request("GET", url).data

    def check(self, url):
        r = self.http.request("GET", url)
        return r.status, r.data

    def close(self):
        super().close()
        self.http.clear()


class HttpxClient(ThreadedClient):
    name, modules, version_of = "httpx", ("concurrent.futures", "httpx"), "httpx"

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        import httpx
        c = concurrency
        self.client = httpx.Client(limits=httpx.Limits(max_connections=c,
                                                       max_keepalive_connections=c))

    def get(self, url):
        return self.client.get(url).content

    def check(self, url):
        r = self.client.get(url)
        return r.status_code, r.content

    def close(self):
        super().close()
        self.client.close()


# --- pycurl: CurlMulti with c reused easy handles -------------------------------

class PycurlMultiClient(Client):
    name, modules, version_of = "pycurl", ("pycurl",), "pycurl"

    @classmethod
    def version(cls) -> str:
        import pycurl
        return f"{pycurl.version_info()[1]} (libcurl)"

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        import pycurl
        self.pycurl = pycurl
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAXCONNECTS, concurrency)
        self.handles = []
        for _ in range(concurrency):
            h = pycurl.Curl()
            h.setopt(pycurl.NOSIGNAL, 1)
            h.url = None
            self.handles.append(h)

    def _start(self, h, url):
        if h.url != url:
            h.setopt(self.pycurl.URL, url)
            h.url = url
        h.buf = io.BytesIO()
        h.setopt(self.pycurl.WRITEDATA, h.buf)
        self.multi.add_handle(h)

    def run(self, url, n):
        pycurl, m = self.pycurl, self.multi
        idle = list(self.handles)
        started = done = 0
        last = None
        while idle and started < n:
            self._start(idle.pop(), url)
            started += 1
        while done < n:
            while True:
                ret, _active = m.perform()
                if ret != pycurl.E_CALL_MULTI_PERFORM:
                    break
            added = False
            while True:
                queued, ok, failed = m.info_read()
                if failed:
                    h, errno, message = failed[0]
                    raise RuntimeError(f"pycurl: {url}: error {errno}: {message}")
                for h in ok:
                    m.remove_handle(h)
                    last = h
                    done += 1
                    if started < n:
                        self._start(h, url)
                        started += 1
                        added = True
                    else:
                        idle.append(h)
                if not queued:
                    break
            if added or done >= n:
                continue   # perform() at once: re-added handles send on their kept-alive connection
            m.select(1.0)
        self.last_status = last.getinfo(pycurl.RESPONSE_CODE)
        return done, last.buf.getvalue()

    def check(self, url):
        _, body = self.run(url, 1)
        return self.last_status, body

    def close(self):
        for h in self.handles:
            h.close()
        self.multi.close()


CLIENTS = {cls.name: cls for cls in (HttpoolClient, HttpoolDefaultPoolClient, AiohttpClient, HttpxAsyncClient,
                                     Urllib3Client, HttpxClient, PycurlMultiClient)}
# The asyncio API against the async peers (bench/test_async_bench.py): c tasks on one loop.
ASYNC_CLIENTS = {cls.name: cls for cls in (
    HttpoolAsyncClient, HttpoolAsyncDefaultLoopClient, AiohttpUvloopClient, AiohttpClient,
    PyreqwestAsyncClient, RnetAsyncClient, AiosonicClient, HttprAsyncClient, CurlCffiAsyncClient,
    HttpxAsyncClient)}


# --- peak memory -----------------------------------------------------------------

def peak_memory_kib() -> dict:
    """VmHWM of this process (its own peak RSS) and ru_maxrss, in KiB."""
    hwm = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return {"vmhwm_kib": hwm,
            "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Peak RSS of one client sending N requests.")
    ap.add_argument("client", choices=sorted(CLIENTS | ASYNC_CLIENTS) + ["python"])
    ap.add_argument("url")
    ap.add_argument("-n", type=int, default=10_000, help="requests (default 10,000)")
    ap.add_argument("-c", type=int, default=256, help="in flight (default 256)")
    ap.add_argument("--import-only", action="store_true",
                    help="import the client's modules, send nothing (the baseline)")
    args = ap.parse_args(argv)
    result = {"client": args.client, "import_only": args.import_only,
              "requests": 0, "concurrency": args.c}
    if args.client != "python":
        cls = (CLIENTS | ASYNC_CLIENTS)[args.client]
        cls.import_modules()
        if not args.import_only:
            client = cls(args.c)
            status, body = client.check(args.url)
            if status != 200 or body != b"Hello, world!":
                print(f"{args.client}: unexpected response {status} {body[:80]!r}", file=sys.stderr)
                return 1
            started = time.perf_counter()
            done, body = client.run(args.url, args.n)
            result["seconds"] = time.perf_counter() - started
            client.close()
            if done != args.n or body != b"Hello, world!":
                print(f"{args.client}: {done} of {args.n} done, last body {body[:80]!r}",
                      file=sys.stderr)
                return 1
            result["requests"] = done
    result.update(peak_memory_kib())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
