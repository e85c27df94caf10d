"""HTTPS client throughput against one local nginx over TLS 1.3: httpool and its peers, in one run.

    pytest bench/test_https_bench.py --benchmark-json=bench/results/local/https.json

(bench/https_report.py: per request is pytest-benchmark's median per call
divided by extra_info's requests_per_call)

The HTTPS counterpart of bench/test_http_bench.py, with the same rules (read
that module's docstring); what differs is said here.

The server (bench/conftest.py's ``bench_nginx_tls``): tests/support/nginx.py's
nginx, one worker, keep-alive 75 s and 10**7 requests per connection, TLS 1.3
only, session tickets on and a shared session cache, so a client that keeps
its session resumes on its next connection. Its certificate, for 127.0.0.1
and localhost, and the CA that signed it are made by trustme (ECDSA P-256)
for the run; the CA is written to a file. Every client verifies the server's
certificate and name against that CA and nothing else (no client runs
without verification: a client that could not take a custom CA would be
skipped, and none had to be):

* httpool         httpool.Pool(verify=<CA file>). Until httpool speaks HTTPS
                  (Pool() has no `verify`, or https:// URLs are refused), it
                  is skipped and says so.
* raw-tls         floor: a blocking ssl.SSLSocket (SSLContext.wrap_socket) with
                  TCP_NODELAY: sendall of a prebuilt request, recv_into a reused
                  buffer until the response's known length (learnt once from
                  a first response). No parsing, no allocation.
* raw-tls-bio     floor: the same over a blocking TCP socket and an
                  ssl.SSLObject between two ssl.MemoryBIO (SSLContext.wrap_bio),
                  the pattern of asyncio's and uvloop's TLS: sslobj.write, then
                  sendall(outgoing.read()); reading, recv_into a reused
                  256 KiB buffer, incoming.write of what came, then
                  sslobj.read into the response buffer until the response is
                  complete or SSLWantReadError (so a response that arrives in
                  one recv raises none). On a new connection the handshake's
                  last flight (the client's Finished) leaves in the same send
                  as the request.
                  The ratio of the two floors is the cost, in Python, of
                  doing the socket I/O oneself around an SSLObject (what an
                  engine with its own socket I/O does) instead of letting an
                  SSLSocket do it.
* httpx           Client(verify=ssl.create_default_context(cafile=CA));
                  httpx-async: the same AsyncClient (https-4)
* urllib3         PoolManager(ca_certs=CA)
* aiohttp         ClientSession(connector=TCPConnector(ssl=context)), the
                  context as for httpx; one event loop, no uvloop
* pycurl          one Curl handle, CAINFO=CA (libcurl with its own OpenSSL)
* pyreqwest       SyncClientBuilder().add_root_certificate_pem(CA's PEM).build()
                  (rustls); pyreqwest-async: ClientBuilder, the same (https-4)
* httpr           Client(ca_cert_file=CA) (rustls). In https-4 one Client is
                  shared by the 64 threads: httpr's AsyncClient is that very
                  client run in a ThreadPoolExecutor of its own.
* rnet            blocking.BlockingClient(verify=Path(CA)) (BoringSSL);
                  rnet-async: Client(verify=Path(CA)) (https-4)
* curl_cffi       requests.Session(verify=CA) (libcurl-impersonate,
                  BoringSSL; no impersonation); curl_cffi-async:
                  AsyncSession(verify=CA, max_clients=64) (https-4)

Scenarios (one pytest-benchmark group each, so the clients sit side by side):

  https-1-get-small       sequential GET /small (13 bytes), one connection
  https-2-get-1m          sequential GET /1m (1,048,576 bytes), one connection
  https-3-new-connection  sequential GET /small, a new connection (TCP and TLS
                          handshake) for every request: each client uses its
                          normal API with a `Connection: close` request header,
                          so nginx closes every connection after its response
                          and every client has to reconnect (the floors send
                          the same header, and connect themselves)
  https-4-concurrent-64   GET /small with 64 requests in flight: httpool with
                          one pool.request_many([("GET", url)] * N,
                          concurrency=64) per batch, from one thread; async
                          clients with 64 asyncio tasks (asyncio.gather); sync
                          clients shared by the 64 threads of a
                          ThreadPoolExecutor (pycurl and the floors: one
                          handle or socket per thread)

In https-3 a client may resume the TLS session of its previous connection
(a TLS 1.3 ticket): cheaper than a full handshake, and part of what is
measured. The floors resume (SSLContext.wrap_socket / wrap_bio with
session= the previous connection's), so that they stay floors for a client
that resumes. Taking a connection's session in CPython (SSLSocket.session,
SSLObject.session) copies it through i2d_SSL_SESSION and d2i_SSL_SESSION
(_ssl_session_dup in Modules/_ssl.c), which parses the server's certificate
again: about 320 µs per call here, with OpenSSL 3.0, whether the handshake was
full or resumed. The floors pay it once per connection, as httpool does.
After the timed rounds, every client sends PROBES more requests
with `Connection: close` to /tls-session, where nginx answers whether the
connection resumed a session, and its protocol, cipher and key exchange
group: extra_info["tls"]. For httpool, extra_info also has
pool.stats().tls_handshakes and .tls_resumed when its stats have them.

As in the HTTP bench: the client is created, and its connections opened,
outside the timed region (one untimed batch first); its response is checked
once (status 200 and the exact body); each timed call is a batch of
`requests` requests, whose median the report divides by that number; the
sequential scenarios put nginx's worker and the client on one CPU (unless
HTTPOOL_BENCH_PIN=0); extra_info records the connections nginx accepted and
the requests it served while the client ran (stub_status, minus the queries
themselves, which are TLS connections of their own), and the CPU time of this
process per request during the timed rounds (every thread: the Rust clients'
runtime threads included). HTTPOOL_BENCH_SECONDS=0.2 makes a quick try.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_http_bench import Runner as HttpRunner

import httpool

from support.nginx import FILES


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


httpx = _optional("httpx")
urllib3 = _optional("urllib3")
aiohttp = _optional("aiohttp")
pycurl = _optional("pycurl")
pyreqwest_client = _optional("pyreqwest.client")
httpr = _optional("httpr")
rnet = _optional("rnet")
rnet_blocking = _optional("rnet.blocking")
curl_cffi_requests = _optional("curl_cffi.requests")

CLOSE = {"Connection": "close"}


class Unsupported(Exception):
    """This client cannot run this benchmark: the test is skipped with the message."""


# --- Scenarios -------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    key: str            # "1" ... "4"
    group: str          # pytest-benchmark group
    path: str
    requests: int       # requests per timed call
    concurrency: int = 1
    new_connection: bool = False   # `Connection: close` on every request

    @property
    def body(self) -> bytes:
        return FILES[self.path.lstrip("/")]


SCENARIOS = {s.key: s for s in (
    Scenario("1", "https-1-get-small", "/small", 200),
    Scenario("2", "https-2-get-1m", "/1m", 20),
    Scenario("3", "https-3-new-connection", "/small", 50, new_connection=True),
    Scenario("4", "https-4-concurrent-64", "/small", 1280, 64),
)}

PROBES = 5   # untimed requests to /tls-session after https-3's timed rounds


# --- Clients ---------------------------------------------------------------
# Each client: __init__(concurrency, tls) with tls the conftest's TlsFiles,
# get(url) -> body, get_close(url) -> body (a `Connection: close` request
# header), status(url) -> int, close(); async clients: start() and coroutines.
# `shared`: one object serves every thread of a concurrent scenario.

def _context(tls) -> ssl.SSLContext:
    """Python's ssl, verifying against the run's CA only (and the name)."""
    return ssl.create_default_context(cafile=str(tls.ca))


class HttpoolClient:
    name, module, is_async, shared = "httpool", httpool, False, True
    batch_api = True   # https-4: request_many from one thread

    def __init__(self, concurrency: int, tls) -> None:
        n = max(10, concurrency)
        try:
            self.pool = httpool.Pool(verify=str(tls.ca), max_connections_per_host=n,
                                     max_idle_per_host=n)
        except TypeError as exc:
            raise Unsupported(f"httpool has no HTTPS yet: Pool(verify=...) raised "
                              f"TypeError: {exc}") from exc

    def get(self, url):
        return self.pool.get(url).content

    def get_close(self, url):
        return self.pool.get(url, headers=CLOSE).content

    def status(self, url):
        try:
            return self.pool.get(url).status_code
        except ValueError as exc:
            if "scheme" in str(exc) or "https" in str(exc):
                raise Unsupported(f"httpool has no HTTPS yet: {exc}") from exc
            raise

    def many(self, url, n, concurrency):
        return self.pool.request_many([("GET", url)] * n, concurrency=concurrency)[-1].content

    def opened(self):
        return self.pool.stats().opened

    def tls_stats(self):
        stats = self.pool.stats()
        return {"tls_handshakes": getattr(stats, "tls_handshakes", None),
                "tls_resumed": getattr(stats, "tls_resumed", None)}

    def close(self):
        self.pool.close()


def _split(url: str) -> tuple[str, int, str, str]:
    """host, port, path (no leading slash), host:port of an https URL."""
    host_port, _, path = url.removeprefix("https://").partition("/")
    host, _, port = host_port.partition(":")
    return host, int(port), path, host_port


class _RawTls:
    """What both floors share: the prebuilt requests, the learning of each
    response's length (untimed, on the floor's own connection), the
    reused buffers. A subclass opens connections and does the timed
    exchange, each in its own tight loop."""

    module, is_async, shared = ssl, False, False

    def __init__(self, concurrency: int, tls) -> None:
        self.ctx = _context(tls)
        self.conn = None        # the keep-alive connection
        self.session = None     # the last connection's TLS session, to resume
        self.resumed = 0        # connections that resumed
        self.prepared = {}      # (url, close) -> (request bytes, response length)
        self.buffer = bytearray(2 << 20)
        self.view = memoryview(self.buffer)

    def _prepare(self, url, close):
        host, port, path, host_port = _split(url)
        request = b"GET /%s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (
            path.encode(), host_port.encode(), b"Connection: close\r\n" if close else b"")
        conn = self._open(host, port) if close else self._keepalive(host, port)
        self._send(conn, request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv(conn)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        while len(rest) < length:
            rest += self._recv(conn)
        assert len(rest) == length
        if close:
            self._finish(conn)
        self.prepared[url, close] = prepared = (request, len(head) + 4 + length)
        return prepared

    def _keepalive(self, host, port):
        if self.conn is None:
            self.conn = self._open(host, port)
        return self.conn

    @staticmethod
    def _tcp(host, port) -> socket.socket:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def get(self, url):
        return self._exchange(url, False)

    def get_close(self, url):
        return self._exchange(url, True)

    def body(self, response):
        data = bytes(response)
        return data[data.index(b"\r\n\r\n") + 4:]

    def status(self, url):
        return int(bytes(self.get(url)[9:12]))


class RawTlsClient(_RawTls):
    """Floor: a blocking SSLSocket."""

    name = "raw-tls"

    def _open(self, host, port):
        sock = self.ctx.wrap_socket(self._tcp(host, port), server_hostname=host,
                                    session=self.session)
        self.resumed += sock.session_reused
        return sock

    def _send(self, conn, data):
        conn.sendall(data)

    def _recv(self, conn):
        return conn.recv(65536)

    def _finish(self, conn):
        self.session = conn.session
        conn.close()

    def _exchange(self, url, close):
        request, total = self.prepared.get((url, close)) or self._prepare(url, close)
        if close:
            host, port = _split(url)[:2]
            sock = self.ctx.wrap_socket(self._tcp(host, port), server_hostname=host,
                                        session=self.session)
        else:
            sock = self.conn
        sock.sendall(request)
        view, recv_into, got = self.view, sock.recv_into, 0
        while got < total:
            n = recv_into(view[got:total])
            if not n:
                raise ConnectionError("the server closed the connection")
            got += n
        if close:
            self.resumed += sock.session_reused
            self.session = sock.session
            sock.close()
        return view[:total]

    def close(self):
        if self.conn is not None:
            self.conn.close()


class RawTlsBioClient(_RawTls):
    """Floor: a blocking socket, an SSLObject over two MemoryBIOs."""

    name = "raw-tls-bio"

    def __init__(self, concurrency: int, tls) -> None:
        super().__init__(concurrency, tls)
        self.rbuffer = bytearray(256 << 10)
        self.rview = memoryview(self.rbuffer)

    def _open(self, host, port):
        """A connection after the handshake: (sock, sslobj, incoming, outgoing).
        The client's last handshake flight stays in `outgoing`: it leaves
        with the request."""
        sock = self._tcp(host, port)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(incoming, outgoing, server_hostname=host, session=self.session)
        rview = self.rview
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                n = sock.recv_into(rview)
                if not n:
                    sock.close()
                    raise ConnectionError("the server closed the connection in the handshake") from None
                incoming.write(rview[:n])
        self.resumed += obj.session_reused
        return sock, obj, incoming, outgoing

    def _send(self, conn, data):
        sock, obj, _, outgoing = conn
        obj.write(data)
        sock.sendall(outgoing.read())

    def _recv(self, conn):
        sock, obj, incoming, _ = conn
        while True:
            try:
                return obj.read(65536)
            except ssl.SSLWantReadError:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed the connection") from None
                incoming.write(data)

    def _finish(self, conn):
        self.session = conn[1].session
        conn[0].close()

    def _exchange(self, url, close):
        request, total = self.prepared.get((url, close)) or self._prepare(url, close)
        if close:
            host, port = _split(url)[:2]
            sock, obj, incoming, outgoing = self._open(host, port)
        else:
            sock, obj, incoming, outgoing = self.conn
        obj.write(request)
        sock.sendall(outgoing.read())
        view, rview, got = self.view, self.rview, 0
        read, recv_into, feed = obj.read, sock.recv_into, incoming.write
        # Feed first, then decrypt until the response is complete or the
        # records run out: when a recv brings the rest of the response, no
        # SSLWantReadError is raised (each costs about 3.5 µs here).
        while got < total:
            n = recv_into(rview)
            if not n:
                raise ConnectionError("the server closed the connection")
            feed(rview[:n])
            try:
                while got < total:
                    n = read(total - got, view[got:total])
                    if not n:
                        raise ConnectionError("the server closed the TLS session")
                    got += n
            except ssl.SSLWantReadError:
                pass
        if close:
            self.session = obj.session
            sock.close()
        return view[:total]

    def close(self):
        if self.conn is not None:
            self.conn[0].close()


class HttpxClient:
    name, module, is_async, shared = "httpx", httpx, False, True

    def __init__(self, concurrency: int, tls) -> None:
        n = max(20, concurrency)
        self.client = httpx.Client(verify=_context(tls), limits=httpx.Limits(
            max_connections=max(100, n), max_keepalive_connections=n))

    def get(self, url):
        return self.client.get(url).content

    def get_close(self, url):
        return self.client.get(url, headers=CLOSE).content

    def status(self, url):
        return self.client.get(url).status_code

    def close(self):
        self.client.close()


class HttpxAsyncClient:
    name, module, is_async, shared = "httpx-async", httpx, True, True

    def __init__(self, concurrency: int, tls) -> None:
        self.concurrency, self.tls = concurrency, tls

    async def start(self):
        n = max(20, self.concurrency)
        self.client = httpx.AsyncClient(verify=_context(self.tls), limits=httpx.Limits(
            max_connections=max(100, n), max_keepalive_connections=n))

    async def get(self, url):
        return (await self.client.get(url)).content

    async def get_close(self, url):
        return (await self.client.get(url, headers=CLOSE)).content

    async def status(self, url):
        return (await self.client.get(url)).status_code

    async def close(self):
        await self.client.aclose()


class Urllib3Client:
    name, module, is_async, shared = "urllib3", urllib3, False, True

    def __init__(self, concurrency: int, tls) -> None:
        self.http = urllib3.PoolManager(maxsize=concurrency, ca_certs=str(tls.ca))

    def get(self, url):
        return self.http.request("GET", url).data

    def get_close(self, url):
        return self.http.request("GET", url, headers=CLOSE).data

    def status(self, url):
        return self.http.request("GET", url).status

    def close(self):
        self.http.clear()


class AiohttpClient:
    name, module, is_async, shared = "aiohttp", aiohttp, True, True

    def __init__(self, concurrency: int, tls) -> None:
        self.concurrency, self.tls = concurrency, tls

    async def start(self):
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            limit=max(100, self.concurrency), ssl=_context(self.tls)))

    async def get(self, url):
        async with self.session.get(url) as r:
            return await r.read()

    async def get_close(self, url):
        async with self.session.get(url, headers=CLOSE) as r:
            return await r.read()

    async def status(self, url):
        async with self.session.get(url) as r:
            await r.read()
            return r.status

    async def close(self):
        await self.session.close()


class PycurlClient:
    name, module, is_async, shared = "pycurl", pycurl, False, False

    def __init__(self, concurrency: int, tls) -> None:
        import io
        self._bytes_io = io.BytesIO
        self.curl = c = pycurl.Curl()
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.CAINFO, str(tls.ca))
        c.setopt(pycurl.CAPATH, "")   # the run's CA only, not the system's too
        c.setopt(pycurl.SSL_VERIFYPEER, 1)
        c.setopt(pycurl.SSL_VERIFYHOST, 2)
        self.url = None
        self.close_header = None

    def _perform(self, url, close):
        c = self.curl
        if self.url != url:
            c.setopt(pycurl.URL, url)
            self.url = url
        if self.close_header != close:
            c.setopt(pycurl.HTTPHEADER, ["Connection: close"] if close else [])
            self.close_header = close
        buf = self._bytes_io()
        c.setopt(pycurl.WRITEDATA, buf)
        c.perform()
        return buf.getvalue()

    def get(self, url):
        return self._perform(url, False)

    def get_close(self, url):
        return self._perform(url, True)

    def status(self, url):
        self.get(url)
        return self.curl.getinfo(pycurl.RESPONSE_CODE)

    def close(self):
        self.curl.close()


class PyreqwestClient:
    name, module, is_async, shared = "pyreqwest", pyreqwest_client, False, True

    def __init__(self, concurrency: int, tls) -> None:
        self.client = (pyreqwest_client.SyncClientBuilder()
                       .add_root_certificate_pem(tls.ca.read_bytes()).build())

    def get(self, url):
        return self.client.get(url).build().send().bytes()

    def get_close(self, url):
        return self.client.get(url).header("Connection", "close").build().send().bytes()

    def status(self, url):
        return self.client.get(url).build().send().status

    def close(self):
        self.client.close()


class PyreqwestAsyncClient:
    name, module, is_async, shared = "pyreqwest-async", pyreqwest_client, True, True

    def __init__(self, concurrency: int, tls) -> None:
        self.tls = tls

    async def start(self):
        self.client = (pyreqwest_client.ClientBuilder()
                       .add_root_certificate_pem(self.tls.ca.read_bytes()).build())

    async def get(self, url):
        return await (await self.client.get(url).build().send()).bytes()

    async def get_close(self, url):
        request = self.client.get(url).header("Connection", "close").build()
        return await (await request.send()).bytes()

    async def status(self, url):
        response = await self.client.get(url).build().send()
        await response.bytes()
        return response.status

    async def close(self):
        await self.client.close()


class HttprClient:
    name, module, is_async, shared = "httpr", httpr, False, True

    def __init__(self, concurrency: int, tls) -> None:
        self.client = httpr.Client(ca_cert_file=str(tls.ca))

    def get(self, url):
        return self.client.get(url).content

    def get_close(self, url):
        return self.client.get(url, headers=CLOSE).content

    def status(self, url):
        return self.client.get(url).status_code

    def close(self):
        self.client.close()


class RnetClient:
    name, module, is_async, shared = "rnet", rnet_blocking, False, True

    def __init__(self, concurrency: int, tls) -> None:
        self.client = rnet_blocking.BlockingClient(verify=Path(tls.ca))

    def get(self, url):
        return self.client.get(url).bytes()

    def get_close(self, url):
        return self.client.get(url, headers=CLOSE).bytes()

    def status(self, url):
        response = self.client.get(url)
        response.bytes()
        return response.status

    def close(self):
        pass   # nothing to close; its connections go with the client


class RnetAsyncClient:
    name, module, is_async, shared = "rnet-async", rnet, True, True

    def __init__(self, concurrency: int, tls) -> None:
        self.tls = tls

    async def start(self):
        self.client = rnet.Client(verify=Path(self.tls.ca))

    async def get(self, url):
        return await (await self.client.get(url)).bytes()

    async def get_close(self, url):
        return await (await self.client.get(url, headers=CLOSE)).bytes()

    async def status(self, url):
        response = await self.client.get(url)
        await response.bytes()
        return response.status

    async def close(self):
        pass


class CurlCffiClient:
    name, module, is_async, shared = "curl_cffi", curl_cffi_requests, False, True

    def __init__(self, concurrency: int, tls) -> None:
        self.session = curl_cffi_requests.Session(verify=str(tls.ca))

    def get(self, url):
        return self.session.get(url).content

    def get_close(self, url):
        return self.session.get(url, headers=CLOSE).content

    def status(self, url):
        return self.session.get(url).status_code

    def close(self):
        self.session.close()


class CurlCffiAsyncClient:
    name, module, is_async, shared = "curl_cffi-async", curl_cffi_requests, True, True

    def __init__(self, concurrency: int, tls) -> None:
        self.concurrency, self.tls = concurrency, tls

    async def start(self):
        self.session = curl_cffi_requests.AsyncSession(verify=str(self.tls.ca),
                                                       max_clients=max(10, self.concurrency))

    async def get(self, url):
        return (await self.session.get(url)).content

    async def get_close(self, url):
        return (await self.session.get(url, headers=CLOSE)).content

    async def status(self, url):
        return (await self.session.get(url)).status_code

    async def close(self):
        await self.session.close()


CLIENTS = {c.name: c for c in (
    HttpoolClient, RawTlsClient, RawTlsBioClient, HttpxClient, HttpxAsyncClient, Urllib3Client,
    AiohttpClient, PycurlClient, PyreqwestClient, PyreqwestAsyncClient, HttprClient, RnetClient,
    RnetAsyncClient, CurlCffiClient, CurlCffiAsyncClient)}
FLOORS = ("raw-tls", "raw-tls-bio")
# The floors run right after httpool: their ratio to httpool is a target, and
# the machine drifts less between neighbours than across the whole scenario.
SEQUENTIAL = ["httpool", "raw-tls", "raw-tls-bio", "httpx", "urllib3", "aiohttp", "pycurl",
              "pyreqwest", "httpr", "rnet", "curl_cffi"]
CONCURRENT = ["httpool", "raw-tls", "raw-tls-bio", "httpx-async", "urllib3", "aiohttp",
              "pycurl", "pyreqwest-async", "httpr", "rnet-async", "curl_cffi-async"]

_DISTRIBUTIONS = {"httpool": "httpool", "httpx": "httpx", "urllib3": "urllib3",
                  "aiohttp": "aiohttp", "pycurl": "pycurl", "pyreqwest": "pyreqwest",
                  "httpr": "httpr", "rnet": "rnet", "curl_cffi": "curl_cffi"}


def _library(cls) -> str:
    return cls.name.removesuffix("-async")


def _version(cls) -> str:
    if cls.name in FLOORS:
        return ""
    try:
        return importlib.metadata.version(_DISTRIBUTIONS[_library(cls)])
    except importlib.metadata.PackageNotFoundError:
        return getattr(cls.module, "__version__", "?")


# What the Rust clients' wheels link (their symbols, for the versions measured:
# pyreqwest 0.15.1, httpr 0.7.8, rnet 2.4.2); they cannot be asked at run time.
_RUST_TLS = {"pyreqwest": "rustls (aws-lc-rs)", "httpr": "rustls (ring)", "rnet": "BoringSSL"}


def _tls_library(cls) -> str | None:
    """The TLS implementation under the client."""
    library = _library(cls)
    if library in ("httpool", "raw-tls", "raw-tls-bio", "httpx", "urllib3", "aiohttp"):
        return ssl.OPENSSL_VERSION   # Python's ssl module
    if library in _RUST_TLS:
        return _RUST_TLS[library]
    if library == "pycurl":
        match = re.search(r"(OpenSSL|BoringSSL|LibreSSL|GnuTLS|wolfSSL|mbedTLS|rustls)\S*",
                          pycurl.version)
        return match.group(0) if match else None
    if library == "curl_cffi":
        from curl_cffi import Curl
        version = Curl().version().decode()
        match = re.search(r"(OpenSSL|BoringSSL)\S*", version)
        return match.group(0) if match else None
    return None


# --- Running a client ------------------------------------------------------

class Runner(HttpRunner):
    """bench/test_http_bench.py's Runner (batch(), the timed call, and its
    workers), with this benchmark's requests and checks."""

    def _calls(self, client):
        fn = client.get_close if self.scenario.new_connection else client.get
        return functools.partial(fn, self.url)

    def _body(self, client, body) -> bytes:
        return client.body(body) if isinstance(client, _RawTls) else bytes(body)

    def check(self) -> None:
        for client in self.clients:
            assert self._run(client.status(self.url)) == 200
            body = self._run(self._calls(client)())
            assert self._body(client, body) == self.scenario.body, \
                f"{self.cls.name}: wrong body for {self.scenario}"

    def check_batch(self, body) -> None:
        client = self.clients[0]
        if isinstance(client, _RawTls):
            body = client.body(body)
        assert len(body) == len(self.scenario.body)

    def probe_tls(self, url: str) -> dict:
        """PROBES requests with `Connection: close` to /tls-session: what
        nginx saw of each new connection."""
        client = self.clients[0]
        answers = [self._body(client, self._run(client.get_close(url))).decode().split()
                   for _ in range(PROBES)]
        _reused, protocol, cipher, group = answers[-1]
        return {"probes": PROBES, "resumed": sum(a[0] == "r" for a in answers),
                "protocol": protocol, "cipher": cipher, "group": group}


def _server_counts(server) -> tuple[int, int]:
    status = server.stub_status()
    return status["accepts"], status["requests"]


_PARAMS = [(key, name) for key in SCENARIOS
           for name in (CONCURRENT if SCENARIOS[key].concurrency > 1 else SEQUENTIAL)]


@pytest.mark.parametrize(("scenario_key", "client"), _PARAMS,
                         ids=[f"{SCENARIOS[k].group}-{c}" for k, c in _PARAMS])
def test_https(benchmark, bench_nginx_tls, bench_tls, place_tls, scenario_key, client):
    scenario = SCENARIOS[scenario_key]
    cls = CLIENTS[client]
    if cls.module is None:
        pytest.skip(f"{client} is not installed (pip install -e '.[bench]' installs every peer)")
    benchmark.group = scenario.group
    where = place_tls(scenario.concurrency == 1)
    url = bench_nginx_tls.url + scenario.path

    accepts0, requests0 = _server_counts(bench_nginx_tls)
    runner = None
    try:
        try:
            runner = Runner(cls, scenario, url, bench_tls)
            runner.check()
        except Unsupported as exc:
            pytest.skip(str(exc))
        rounds, cpu = runner.run_timed(benchmark)
        accepts1, requests1 = _server_counts(bench_nginx_tls)
        tls = (runner.probe_tls(bench_nginx_tls.url + "/tls-session")
               if scenario.new_connection else None)
        client0 = runner.clients[0]
        opened = client0.opened() if hasattr(client0, "opened") else None
        tls_stats = client0.tls_stats() if hasattr(client0, "tls_stats") else None
        floor_resumed = client0.resumed if isinstance(client0, _RawTls) else None
    finally:
        if runner is not None:
            runner.close()

    benchmark.extra_info.update(
        https_scenario=scenario.key, client=client, version=_version(cls),
        tls_library=_tls_library(cls), method="GET", path=scenario.path,
        requests_per_call=scenario.requests, concurrency=scenario.concurrency,
        new_connection=scenario.new_connection, body_bytes=len(scenario.body),
        connections_opened=accepts1 - accepts0 - 1,
        requests_served=requests1 - requests0 - 1,
        client_cpu_per_request=cpu / (rounds * scenario.requests), placement=where)
    if tls is not None:
        benchmark.extra_info["tls"] = tls
    if opened is not None:
        benchmark.extra_info["pool_opened"] = opened
    if tls_stats is not None:
        benchmark.extra_info.update(tls_stats)
    if floor_resumed is not None and scenario.new_connection:
        benchmark.extra_info["floor_resumed"] = floor_resumed
