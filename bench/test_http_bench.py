"""HTTP client throughput against one local nginx: httpool and its peers, in one run.

    pytest bench/test_http_bench.py --benchmark-json=bench/results/local/http.json
    python bench/http_report.py bench/results/local/http.json --png bench/results/local/http.png

Clients (a peer that is not installed is skipped and says so; the `bench`
extra installs them all):

* httpool         one Pool
* httpool-many    the same, in the concurrent scenarios through its batch API:
                  pool.request_many([("GET", url)] * N, concurrency=C) from one thread
* httpx           one Client; one AsyncClient as well in the concurrent scenarios
* urllib3         one PoolManager
* requests        one Session
* aiohttp         one ClientSession on one event loop (uvloop is not used)
* pycurl          one Curl handle (libcurl keeps its connection alive)
* raw-socket      the floor: a blocking socket with TCP_NODELAY that sends a
                  prebuilt request and reads exactly the response's known
                  length (learnt once from a first response) into a reused
                  buffer. No parsing, no allocation: what Python cannot beat.

wrk, when installed, is run by test_wrk against the same nginx with the same
connection counts and reported as the ceiling a C client reaches.

Scenarios (one pytest-benchmark group each, so the clients sit side by side):

  http-1-get-small      sequential GET /small (13 bytes), one connection
  http-2-get-64k        sequential GET /64k (65,536 bytes)
  http-3-get-1m         sequential GET /1m (1,048,576 bytes)
  http-4-post-json-1k   sequential POST /echo with a 1 KiB JSON body
  http-5-concurrent-8   GET /small with 8 requests in flight
  http-5-concurrent-64  GET /small with 64 requests in flight
  http-6-unread-64k     GET /64k, the response released without reading its
                        body (the pattern of the post-mortems in seeds 001 and
                        004): does the client keep its connection?

Rules every client follows:

* It is created, and its connections opened, outside the timed region: one
  untimed batch first (warm-up, and the calibration of the number of rounds),
  so the sequential scenarios measure steady-state keep-alive.
* Before timing, its response is checked once: status 200 and the exact body
  (tests/support/nginx.py serves known bytes). Inside the timed batch every
  request reads the whole body as the client's users would (`r.content`,
  `await r.read()`, a BytesIO for pycurl), and the last body's length is
  checked.
* Each timed call is a batch of REQUESTS requests (a few hundred for small
  bodies, fewer for 1 MiB); the report divides pytest-benchmark's median per
  call by that number.
* Concurrent scenarios: sync clients share one client among the workers of a
  ThreadPoolExecutor with as many threads as requests in flight (pycurl and
  the floor get one handle or socket per worker: neither may be shared
  between threads); async clients run that many tasks with asyncio.gather;
  httpool shares one Pool among the threads, and httpool-many sends each
  batch with one pool.request_many call from one thread. Every
  client's pool is sized to the concurrency (httpx Limits, urllib3 maxsize,
  requests pool_maxsize, httpool max_connections_per_host and
  max_idle_per_host), so nobody churns connections for want of idle slots.
* The POST body is a JSON document whose compact encoding is 1,024 bytes,
  encoded per request by the client's own `json=` (pycurl: json.dumps); the
  floor sends it prebuilt. Clients whose encoder adds spaces send a few bytes
  more (requests, aiohttp: 1,033).
* Scenario 6, per client, the idiom for "done with this response, body
  unread": httpool `with pool.stream(...)`; httpx `with client.stream(...)`;
  urllib3 `preload_content=False` then `release_conn()`; requests
  `stream=True` then `close()`; aiohttp `async with session.get(...)`;
  pycurl a write callback that aborts the transfer (libcurl's only way to
  stop reading); the floor has nothing to release and reads the whole
  response (the least any client that keeps its connection must do).

Every test records in extra_info how many connections nginx accepted and how
many requests it served while the client was in use (stub_status, minus the
stub_status queries themselves), for httpool `pool.stats().opened`, and the
CPU time (user + system, all threads) this process spent per request during
the timed rounds: the client's own cost, without nginx's.

Placement (bench/conftest.py's `place`): in the sequential scenarios nginx's
worker and the client share one CPU (unless HTTPOOL_BENCH_PIN=0); in the
concurrent ones both may run on every CPU. nginx's connections use cubic
congestion control (tests/support/nginx.py says why).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import io
import json
import os
import queue
import re
import resource
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

import httpool

from support.nginx import ECHO_BODY, FILES


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


httpx = _optional("httpx")
urllib3 = _optional("urllib3")
requests = _optional("requests")
aiohttp = _optional("aiohttp")
pycurl = _optional("pycurl")


# --- Scenarios -------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    key: str            # "1" ... "6"; "5-8", "5-64"
    group: str          # pytest-benchmark group
    method: str         # "GET", "POST", "UNREAD" (GET, body released unread)
    path: str
    requests: int       # requests per timed call
    concurrency: int = 1

    @property
    def body(self) -> bytes:
        return ECHO_BODY if self.method == "POST" else FILES[self.path.lstrip("/")]


SCENARIOS = {s.key: s for s in (
    Scenario("1", "http-1-get-small", "GET", "/small", 200),
    Scenario("2", "http-2-get-64k", "GET", "/64k", 100),
    Scenario("3", "http-3-get-1m", "GET", "/1m", 20),
    Scenario("4", "http-4-post-json-1k", "POST", "/echo", 200),
    Scenario("5-8", "http-5-concurrent-8", "GET", "/small", 800, 8),
    Scenario("5-64", "http-5-concurrent-64", "GET", "/small", 1280, 64),
    Scenario("6", "http-6-unread-64k", "UNREAD", "/64k", 100),
)}

# Timed seconds aimed at per benchmark (after the warm-up batch), and the
# bounds on its number of rounds. HTTPOOL_BENCH_SECONDS=0.2 for a quick try.
TARGET_SECONDS = float(os.environ.get("HTTPOOL_BENCH_SECONDS", "1.5"))
MIN_ROUNDS, MAX_ROUNDS = 5, 200


def _json_doc(size: int = 1024) -> dict:
    """A JSON object whose compact encoding is exactly `size` bytes."""
    doc = {"id": 12345, "name": "httpool-bench", "tags": ["a", "b", "c"], "payload": ""}
    doc["payload"] = "x" * (size - len(json.dumps(doc, separators=(",", ":"))))
    assert len(json.dumps(doc, separators=(",", ":"))) == size
    return doc


JSON_DOC = _json_doc()


# --- Clients ---------------------------------------------------------------
# Each client exposes get(url) -> body, post(url, doc) -> body and
# unread(url) -> None (coroutines for async clients), plus close().
# `shared`: one object serves every thread of a concurrent scenario;
# otherwise each worker thread gets its own.

class HttpoolClient:
    name, module, is_async, shared = "httpool", httpool, False, True

    def __init__(self, concurrency: int) -> None:
        self.pool = httpool.Pool(max_connections_per_host=max(10, concurrency),
                                 max_idle_per_host=max(10, concurrency))

    def get(self, url):
        return self.pool.get(url).content

    def post(self, url, doc):
        return self.pool.post(url, json=doc).content

    def unread(self, url):
        with self.pool.stream("GET", url):
            pass

    def status(self, url):
        return self.pool.get(url).status_code

    def opened(self):
        return self.pool.stats().opened

    def close(self):
        self.pool.close()


class HttpoolManyClient(HttpoolClient):
    """httpool's batch API: one thread drives every request in flight."""

    name = "httpool-many"
    batch_api = True

    def many(self, url, n, concurrency):
        responses = self.pool.request_many([("GET", url)] * n, concurrency=concurrency)
        return responses[-1].content


class HttpxClient:
    name, module, is_async, shared = "httpx", httpx, False, True

    def __init__(self, concurrency: int) -> None:
        n = max(20, concurrency)
        self.client = httpx.Client(limits=httpx.Limits(max_connections=max(100, n),
                                                       max_keepalive_connections=n))

    def get(self, url):
        return self.client.get(url).content

    def post(self, url, doc):
        return self.client.post(url, json=doc).content

    def unread(self, url):
        with self.client.stream("GET", url):
            pass

    def status(self, url):
        return self.client.get(url).status_code

    def close(self):
        self.client.close()


class HttpxAsyncClient:
    name, module, is_async, shared = "httpx-async", httpx, True, True

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    async def start(self):
        n = max(20, self.concurrency)
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=max(100, n),
                                                            max_keepalive_connections=n))

    async def get(self, url):
        return (await self.client.get(url)).content

    async def post(self, url, doc):
        return (await self.client.post(url, json=doc)).content

    async def unread(self, url):
        async with self.client.stream("GET", url):
            pass

    async def status(self, url):
        return (await self.client.get(url)).status_code

    async def close(self):
        await self.client.aclose()


class Urllib3Client:
    name, module, is_async, shared = "urllib3", urllib3, False, True

    def __init__(self, concurrency: int) -> None:
        self.http = urllib3.PoolManager(maxsize=concurrency)

    def get(self, url):
        return self.http.request("GET", url).data

    def post(self, url, doc):
        return self.http.request("POST", url, json=doc).data

    def unread(self, url):
        self.http.request("GET", url, preload_content=False).release_conn()

    def status(self, url):
        return self.http.request("GET", url).status

    def close(self):
        self.http.clear()


class RequestsClient:
    name, module, is_async, shared = "requests", requests, False, True

    def __init__(self, concurrency: int) -> None:
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=max(10, concurrency)))

    def get(self, url):
        return self.session.get(url).content

    def post(self, url, doc):
        return self.session.post(url, json=doc).content

    def unread(self, url):
        with self.session.get(url, stream=True):
            pass

    def status(self, url):
        return self.session.get(url).status_code

    def close(self):
        self.session.close()


class AiohttpClient:
    name, module, is_async, shared = "aiohttp", aiohttp, True, True

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    async def start(self):
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(100, self.concurrency)))

    async def get(self, url):
        async with self.session.get(url) as r:
            return await r.read()

    async def post(self, url, doc):
        async with self.session.post(url, json=doc) as r:
            return await r.read()

    async def unread(self, url):
        async with self.session.get(url):
            pass

    async def status(self, url):
        async with self.session.get(url) as r:
            await r.read()
            return r.status

    async def close(self):
        await self.session.close()


class PycurlClient:
    name, module, is_async, shared = "pycurl", pycurl, False, False

    def __init__(self, concurrency: int) -> None:
        self.curl = c = pycurl.Curl()
        c.setopt(pycurl.NOSIGNAL, 1)
        self.url = None
        self.mode = None

    def _use(self, url, mode):
        c = self.curl
        if self.url != url:
            c.setopt(pycurl.URL, url)
            self.url = url
        if self.mode != mode:
            if mode == "POST":
                # No "Expect: 100-continue" round trip: the body is small.
                c.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json", "Expect:"])
            else:
                c.setopt(pycurl.HTTPGET, 1)
                c.setopt(pycurl.HTTPHEADER, [])
            self.mode = mode

    def get(self, url):
        self._use(url, "GET")
        buf = io.BytesIO()
        self.curl.setopt(pycurl.WRITEDATA, buf)
        self.curl.perform()
        return buf.getvalue()

    def post(self, url, doc):
        self._use(url, "POST")
        buf = io.BytesIO()
        c = self.curl
        c.setopt(pycurl.POSTFIELDS, json.dumps(doc, separators=(",", ":")))
        c.setopt(pycurl.WRITEDATA, buf)
        c.perform()
        return buf.getvalue()

    def unread(self, url):
        self._use(url, "GET")
        # Returning a count other than len(data) aborts the transfer.
        self.curl.setopt(pycurl.WRITEFUNCTION, lambda data: 0)
        try:
            self.curl.perform()
        except pycurl.error as exc:
            if exc.args[0] != pycurl.E_WRITE_ERROR:
                raise

    def status(self, url):
        self.get(url)
        return self.curl.getinfo(pycurl.RESPONSE_CODE)

    def close(self):
        self.curl.close()


class RawSocketClient:
    """The floor: a prebuilt request, a known response length, recv_into a
    reused buffer. It keeps one connection and cannot do anything else."""

    name, module, is_async, shared = "raw-socket", socket, False, False

    def __init__(self, concurrency: int) -> None:
        self.sock = None
        self.prepared = {}   # (url, POST?) -> (request bytes, response length)
        self.buffer = bytearray(2 << 20)
        self.view = memoryview(self.buffer)

    def _prepare(self, url, post):
        host_port, _, path = url.removeprefix("http://").partition("/")
        host, _, port = host_port.partition(":")
        if self.sock is None:
            self.sock = socket.create_connection((host, int(port)))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if post:
            body = json.dumps(JSON_DOC, separators=(",", ":")).encode()
            request = (b"POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n%s"
                       % (path.encode(), host_port.encode(), len(body), body))
        else:
            request = b"GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), host_port.encode())
        # One exchange to learn the response's length (nginx's head has a
        # fixed size from one response to the next: Date is fixed-width).
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        while len(rest) < length:
            rest += self.sock.recv(65536)
        assert len(rest) == length
        self.prepared[url, post] = prepared = (request, len(head) + 4 + length)
        return prepared

    def _exchange(self, url, post):
        request, total = self.prepared.get((url, post)) or self._prepare(url, post)
        sock = self.sock
        sock.sendall(request)
        view, recv_into, got = self.view, sock.recv_into, 0
        while got < total:
            n = recv_into(view[got:total])
            if not n:
                raise ConnectionError("the server closed the connection")
            got += n
        return view[:total]

    def get(self, url):
        return self._exchange(url, False)

    def post(self, url, doc):
        return self._exchange(url, True)   # the body is prebuilt from JSON_DOC

    unread = get

    def body(self, response):
        """The body within what get() or post() returned (for the check)."""
        data = bytes(response)
        return data[data.index(b"\r\n\r\n") + 4:]

    def status(self, url):
        return int(bytes(self.get(url)[9:12]))

    def close(self):
        if self.sock is not None:
            self.sock.close()


CLIENTS = {c.name: c for c in (HttpoolClient, HttpoolManyClient, HttpxClient, HttpxAsyncClient, Urllib3Client,
                               RequestsClient, AiohttpClient, PycurlClient, RawSocketClient)}
# The floor runs right after httpool: the ratio of the two is a target, and
# the machine drifts less between neighbours than across the whole scenario.
SEQUENTIAL = ["httpool", "raw-socket", "httpx", "urllib3", "requests", "aiohttp", "pycurl"]
CONCURRENT = ["httpool", "httpool-many", "httpx", "httpx-async", "urllib3", "requests", "aiohttp", "pycurl",
              "raw-socket"]


def _version(cls) -> str:
    if cls is RawSocketClient:
        return ""
    if cls.module is pycurl:
        return pycurl.version_info()[1]   # libcurl's version; pycurl's in pycurl.version
    return getattr(cls.module, "__version__", "?")


# --- Running a client ------------------------------------------------------

class Runner:
    """One client (or one per worker) for one scenario: the correctness check,
    and `batch()`, the timed call."""

    def __init__(self, cls, scenario, url: str, *client_args) -> None:
        """`client_args` follow the concurrency in each client's constructor
        (bench/test_https_bench.py passes its TLS settings)."""
        self.cls = cls
        self.scenario = scenario
        self.url = url
        self.loop = asyncio.new_event_loop() if cls.is_async else None
        self.executor = None
        c = scenario.concurrency
        if c > 1 and not cls.is_async and not getattr(cls, "batch_api", False):
            self.executor = ThreadPoolExecutor(max_workers=c, thread_name_prefix=cls.name)
        count = 1 if cls.shared else c
        self.clients = [cls(c, *client_args) for _ in range(count)]
        if cls.is_async:
            for client in self.clients:
                self.loop.run_until_complete(client.start())
        # Handles of non-shareable clients go to whichever worker asks.
        self.handles: queue.SimpleQueue = queue.SimpleQueue()
        for client in self.clients:
            self.handles.put(client)
        self.call = self._calls(self.clients[0])

    def _calls(self, client):
        """The zero-argument request of this scenario, on `client`."""
        s = self.scenario
        if s.method == "POST":
            return functools.partial(client.post, self.url, JSON_DOC)
        if s.method == "UNREAD":
            return functools.partial(client.unread, self.url)
        return functools.partial(client.get, self.url)

    def _run(self, fn):
        return self.loop.run_until_complete(fn) if self.cls.is_async else fn

    def check(self) -> None:
        """Status and body of one response, on each client object."""
        s = self.scenario
        for client in self.clients:
            assert self._run(client.status(self.url)) == 200   # a GET
            if s.method == "UNREAD":
                self._run(client.unread(self.url))
                body = self._run(client.get(self.url))
            else:
                body = self._run(self._calls(client)())
            if isinstance(client, RawSocketClient):
                body = client.body(body)
            assert bytes(body) == s.body, f"{self.cls.name}: wrong body for {s}"

    # -- the timed calls: each returns the last response body (None for UNREAD)

    def batch(self):
        s = self.scenario
        if s.concurrency == 1:
            if self.cls.is_async:
                return self.loop.run_until_complete(self._sequential_async(self.call, s.requests))
            return self._sequential(self.call, s.requests)
        if getattr(self.cls, "batch_api", False):
            return self.clients[0].many(self.url, s.requests, s.concurrency)
        per_worker = s.requests // s.concurrency
        if self.cls.is_async:
            return self.loop.run_until_complete(self._gather(per_worker))
        work = self._shared_worker if self.cls.shared else self._handle_worker
        futures = [self.executor.submit(work, per_worker) for _ in range(s.concurrency)]
        return [f.result() for f in futures][-1]

    @staticmethod
    def _sequential(call, n):
        for _ in range(n):
            body = call()
        return body

    @staticmethod
    async def _sequential_async(call, n):
        for _ in range(n):
            body = await call()
        return body

    def _shared_worker(self, n):
        return self._sequential(self.call, n)

    def _handle_worker(self, n):
        client = self.handles.get()
        try:
            return self._sequential(self._calls(client), n)
        finally:
            self.handles.put(client)

    async def _gather(self, per_task):
        results = await asyncio.gather(*(self._sequential_async(self.call, per_task)
                                         for _ in range(self.scenario.concurrency)))
        return results[-1]

    def check_batch(self, body) -> None:
        s = self.scenario
        if s.method == "UNREAD":
            return
        if self.cls is RawSocketClient:
            body = self.clients[0].body(body)
        assert len(body) == len(s.body)

    def run_timed(self, benchmark) -> tuple[int, float]:
        """The warm-up batch, untimed (every connection the batch needs is
        opened there, and its time sets the number of rounds), then the timed
        rounds; each batch's last body is checked. Returns the rounds and the
        CPU seconds (user + system) this process spent in them."""
        started = time.perf_counter()
        self.check_batch(self.batch())
        elapsed = time.perf_counter() - started
        rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(TARGET_SECONDS / elapsed)))
        cpu0 = _cpu_seconds()
        body = benchmark.pedantic(self.batch, rounds=rounds, iterations=1)
        cpu = _cpu_seconds() - cpu0
        self.check_batch(body)
        return rounds, cpu

    def close(self) -> None:
        for client in self.clients:
            self._run(client.close())
        if self.executor is not None:
            self.executor.shutdown()
        if self.loop is not None:
            self.loop.run_until_complete(asyncio.sleep(0))   # let transports close
            self.loop.close()


def _cpu_seconds() -> float:
    """User and system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_counts(server) -> tuple[int, int]:
    status = server.stub_status()
    return status["accepts"], status["requests"]


_PARAMS = [(key, name) for key in SCENARIOS
           for name in (CONCURRENT if SCENARIOS[key].concurrency > 1 else SEQUENTIAL)]


@pytest.mark.parametrize(("scenario_key", "client"), _PARAMS,
                         ids=[f"{SCENARIOS[k].group}-{c}" for k, c in _PARAMS])
def test_http(benchmark, bench_nginx, place, scenario_key, client):
    scenario = SCENARIOS[scenario_key]
    cls = CLIENTS[client]
    if cls.module is None:
        pytest.skip(f"{client} is not installed (pip install -e '.[bench]' installs every peer)")
    benchmark.group = scenario.group
    where = place(scenario.concurrency == 1)
    url = bench_nginx.url + scenario.path

    accepts0, requests0 = _server_counts(bench_nginx)
    runner = Runner(cls, scenario, url)
    try:
        runner.check()
        rounds, cpu = runner.run_timed(benchmark)
        opened = runner.clients[0].opened() if hasattr(cls, "opened") else None
        accepts1, requests1 = _server_counts(bench_nginx)
    finally:
        runner.close()

    # Each stub_status query is one connection and one request of its own.
    benchmark.extra_info.update(
        scenario=scenario.key, client=client, version=_version(cls),
        method=scenario.method, path=scenario.path,
        requests_per_call=scenario.requests, concurrency=scenario.concurrency,
        body_bytes=len(scenario.body),
        connections_opened=accepts1 - accepts0 - 1,
        requests_served=requests1 - requests0 - 1,
        client_cpu_per_request=cpu / (rounds * scenario.requests), placement=where)
    if opened is not None:
        benchmark.extra_info["pool_opened"] = opened


# --- wrk, the ceiling --------------------------------------------------------

WRK_SECONDS = 3
WRK_CASES = [
    # (scenario it is the ceiling of, method, path, connections)
    ("1", "GET", "/small", 1),
    ("2", "GET", "/64k", 1),
    ("3", "GET", "/1m", 1),
    ("4", "POST", "/echo", 1),
    ("5-8", "GET", "/small", 8),
    ("5-64", "GET", "/small", 64),
]

_WRK_POST = """\
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
"""


@pytest.mark.parametrize(("scenario_key", "method", "path", "connections"), WRK_CASES,
                         ids=[f"{SCENARIOS[k].group}-wrk" for k, *_ in WRK_CASES])
def test_wrk(bench_nginx, place, wrk_results, tmp_path, scenario_key, method, path, connections):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (apt-get install wrk): no ceiling in the report")
    where = place(connections == 1)
    argv = [wrk, "-t1", f"-c{connections}", f"-d{WRK_SECONDS}s", "--latency"]
    if method == "POST":
        script = tmp_path / "post.lua"
        script.write_text(_WRK_POST.format(body=json.dumps(JSON_DOC, separators=(",", ":"))))
        argv += ["-s", str(script)]
    accepts0, requests0 = _server_counts(bench_nginx)
    proc = subprocess.run(argv + [bench_nginx.url + path], capture_output=True, text=True,
                          timeout=WRK_SECONDS + 30, check=True)
    accepts1, requests1 = _server_counts(bench_nginx)
    out = proc.stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    rps = float(match.group(1))
    wrk_results[f"{SCENARIOS[scenario_key].group}"] = {
        "scenario": scenario_key, "method": method, "path": path,
        "connections": connections, "seconds": WRK_SECONDS, "requests_per_second": rps,
        "connections_opened": accepts1 - accepts0 - 1,
        "requests_served": requests1 - requests0 - 1,
        "placement": where,
        "output": out,
    }
    print(f"wrk {method} {path} c={connections}: {rps:,.0f} requests/s")
