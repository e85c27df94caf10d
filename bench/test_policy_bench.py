"""Policies' cost against one local nginx: gzip decoding and a redirect, httpool and its peers, in one run.

    pytest bench/test_policy_bench.py --benchmark-json=bench/results/local/policy.json
    python bench/policy_report.py bench/results/local/policy.json

What two of httpool.policies cost, used as requests' and httpx's users
expect them: the decoding of a gzip Content-Encoding, and following a
redirect. The rules are bench/test_http_bench.py's (read that
module's docstring); what differs is said here.

The server (bench/conftest.py's ``bench_nginx_policy``): tests/support/nginx.py's
nginx, one worker, keep-alive 75 s and 10**7 requests per connection, with

  /1m.json           a JSON array of user-like records, exactly 1,048,576
                     bytes, served by gzip_static from a .gz file written at
                     start (gzip -9: 229,024 bytes), with Content-Encoding: gzip
                     and Content-Length, to a request whose Accept-Encoding
                     has gzip: nginx compresses nothing while timed
  /redirect          302 Found, `Location: /small` (relative), nginx's small
                     HTML body
  /small             13 bytes (the small document of test_http_bench)
  /accept-encoding   the request's Accept-Encoding header, as the body

Scenarios (one pytest-benchmark group each, so the clients sit side by side),
both sequential (one request at a time on one keep-alive connection, client
and nginx's worker on one CPU, as test_http_bench's sequential scenarios):

  policy-1-gzip-1mib   GET /1m.json: each client asks for gzip and decodes
                       the body; what it returns is the 1 MiB document
  policy-2-redirect    GET /redirect: each client follows the 302 to /small
                       and returns its body, two requests on one connection

Clients: test_http_bench's (httpool, httpx, urllib3, requests, aiohttp,
pycurl) and test_https_bench's Rust and libcurl peers (pyreqwest, httpr, rnet,
curl_cffi), each subclassed here with what it needs for the two scenarios
(over plain HTTP for the latter: no TLS settings). Every client sends
`Accept-Encoding` with gzip in it and decodes, and follows redirects:

* httpool     one Pool: its defaults for gzip (Accept-Encoding sent, body
              decoded); pool.get(url, follow_redirects=True) for the redirect
* httpx       its defaults for gzip; client.get(url, follow_redirects=True)
* urllib3     PoolManager(headers=make_headers(accept_encoding=True)): urllib3
              sends `identity` unless told, and decodes (decode_content=True,
              its default); PoolManager.request follows (redirect=True)
* requests    its defaults for both
* aiohttp     its defaults for both (auto_decompress, allow_redirects)
* pycurl      ACCEPT_ENCODING "gzip" (libcurl asks and decodes) and
              FOLLOWLOCATION, on the one handle of both scenarios
* pyreqwest   SyncClientBuilder().build(): its defaults for both
* httpr       Client(): its defaults for both
* rnet        blocking.BlockingClient(allow_redirects=True); decodes by default
* curl_cffi   requests.Session(): its defaults for both

Every peer of the bench extra can do both scenarios; a peer that is not
installed is skipped and says so.

Checked once per client, outside the timed rounds:

* gzip: the client's GET of /accept-encoding answers a header that has gzip
  in it (so nginx sends it the .gz file: a client that asked for nothing
  would get the plain document and pass the body check for free), and its
  body of /1m.json is the original document, byte for byte (a client that
  returned the gzip bytes would fail);
* redirect: its body is /small's, and nginx served exactly two requests for
  it (stub_status: the 302 and the 200, so one redirect followed, however
  the client reports its history).

And after the timed rounds, that nginx served `hops` requests (1 for gzip,
2 for the redirect) for each request of the warm-up and timed batches.
extra_info has what test_http_bench records (connections opened, requests
served, the client's CPU time per request), the Accept-Encoding the client
sent, and the body's bytes on the wire.

httpool decodes with whatever httpool.policies.decoding picks (zlib, or a
faster gzip library when installed): the benchmark measures what a user gets.
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass

import pytest
import test_http_bench as http_bench
import test_https_bench as https_bench

from support.nginx import NginxServer

pycurl = http_bench.pycurl
urllib3 = http_bench.urllib3


# --- Scenarios -------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    key: str            # "gzip-1mib", "redirect"
    group: str          # pytest-benchmark group
    path: str           # what each request asks for
    final: str          # the file of the document root whose bytes the client returns
    hops: int           # requests nginx serves for each: 2 when the first answers a redirect
    requests: int       # requests per timed call
    concurrency: int = 1

    @property
    def follows_redirect(self) -> bool:
        return self.hops > 1


SCENARIOS = {s.key: s for s in (
    Scenario("gzip-1mib", "policy-1-gzip-1mib", "/1m.json", "1m.json", 1, 20),
    Scenario("redirect", "policy-2-redirect", "/redirect", "small", 2, 200),
)}


# --- Clients ---------------------------------------------------------------
# Each: __init__(concurrency), get(url) -> body (decoded), follow(url) -> the
# body at the end of the redirects, close(); aiohttp's are coroutines.

class HttpoolClient(http_bench.HttpoolClient):
    def follow(self, url):
        return self.pool.get(url, follow_redirects=True).content


class HttpxClient(http_bench.HttpxClient):
    def follow(self, url):
        return self.client.get(url, follow_redirects=True).content


class Urllib3Client(http_bench.Urllib3Client):
    def __init__(self, concurrency: int) -> None:
        self.http = urllib3.PoolManager(maxsize=concurrency,
                                        headers=urllib3.make_headers(accept_encoding=True))

    follow = http_bench.Urllib3Client.get


class RequestsClient(http_bench.RequestsClient):
    follow = http_bench.RequestsClient.get


class AiohttpClient(http_bench.AiohttpClient):
    follow = http_bench.AiohttpClient.get


class PycurlClient(http_bench.PycurlClient):
    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        self.curl.setopt(pycurl.ACCEPT_ENCODING, "gzip")
        self.curl.setopt(pycurl.FOLLOWLOCATION, 1)

    follow = http_bench.PycurlClient.get


class PyreqwestClient(https_bench.PyreqwestClient):
    def __init__(self, concurrency: int) -> None:
        self.client = https_bench.pyreqwest_client.SyncClientBuilder().build()

    follow = https_bench.PyreqwestClient.get


class HttprClient(https_bench.HttprClient):
    def __init__(self, concurrency: int) -> None:
        self.client = https_bench.httpr.Client()

    follow = https_bench.HttprClient.get


class RnetClient(https_bench.RnetClient):
    def __init__(self, concurrency: int) -> None:
        self.client = https_bench.rnet_blocking.BlockingClient(allow_redirects=True)

    follow = https_bench.RnetClient.get


class CurlCffiClient(https_bench.CurlCffiClient):
    def __init__(self, concurrency: int) -> None:
        self.session = https_bench.curl_cffi_requests.Session()

    follow = https_bench.CurlCffiClient.get


CLIENTS = {c.name: c for c in (HttpoolClient, HttpxClient, Urllib3Client, RequestsClient, AiohttpClient,
                               PycurlClient, PyreqwestClient, HttprClient, RnetClient, CurlCffiClient)}


def _version(cls) -> str:
    """As test_http_bench reports it (pycurl: libcurl's version), else the
    version of the distribution the client is named after."""
    version = http_bench._version(cls)
    return importlib.metadata.version(cls.name) if version == "?" else version


# --- Running a client ------------------------------------------------------

class ServerCounts:
    """nginx's counters (stub_status) less the queries that read them: the
    difference of two readings is what clients did in between."""

    def __init__(self, server: NginxServer) -> None:
        self.server = server
        self.queries = 0

    def __call__(self) -> tuple[int, int]:
        """Connections accepted and requests served so far."""
        self.queries += 1   # each query is one connection and one request of its own
        accepts, requests = http_bench._server_counts(self.server)
        return accepts - self.queries, requests - self.queries


class Runner(http_bench.Runner):
    """bench/test_http_bench.py's Runner (batch(), the timed call), with this
    benchmark's requests and checks."""

    def __init__(self, cls, scenario: Scenario, server: NginxServer, counts: ServerCounts) -> None:
        super().__init__(cls, scenario, server.url + scenario.path)
        self.server = server
        self.counts = counts
        self.expected = (server.root / scenario.final).read_bytes()
        self.accept_encoding = None   # what the client sends, as nginx saw it: check() learns it

    def _calls(self, client):
        fn = client.follow if self.scenario.follows_redirect else client.get
        return functools.partial(fn, self.url)

    def check(self) -> None:
        s = self.scenario
        client = self.clients[0]
        self.accept_encoding = bytes(self._run(client.get(self.server.url + "/accept-encoding"))).decode()
        if not s.follows_redirect:
            encodings = [e.strip().split(";")[0] for e in self.accept_encoding.split(",")]
            assert "gzip" in encodings, f"{self.cls.name} does not ask for gzip: {self.accept_encoding!r}"
        _, before = self.counts()
        body = self._run(self.call())
        _, after = self.counts()
        assert bytes(body) == self.expected, f"{self.cls.name}: wrong body for {s}"
        assert after - before == s.hops, f"{self.cls.name}: nginx served {after - before} requests for one of {s}"

    def check_batch(self, body) -> None:
        assert len(body) == len(self.expected)


def _wire_bytes(server: NginxServer, scenario: Scenario) -> int:
    """Bytes of the final response's body as nginx sends it."""
    gz = server.root / f"{scenario.final}.gz"
    return (gz if gz.exists() else server.root / scenario.final).stat().st_size


def _case(scenario: Scenario, cls):
    """One test: a client in a scenario, skipped when the client is not installed."""
    missing = pytest.mark.skipif(cls.module is None, reason=f"{cls.name} is not installed "
                                 "(pip install -e '.[bench]' installs every peer)")
    return pytest.param(scenario, cls, id=f"{scenario.group}-{cls.name}", marks=missing)


@pytest.mark.parametrize(("scenario", "cls"), [_case(s, c) for s in SCENARIOS.values()
                                               for c in CLIENTS.values()])
def test_policy(benchmark, bench_nginx_policy, place_policy, scenario, cls):
    benchmark.group = scenario.group
    where = place_policy(True)
    server = bench_nginx_policy
    counts = ServerCounts(server)

    accepts0, requests0 = counts()
    runner = Runner(cls, scenario, server, counts)
    try:
        runner.check()
        rounds, cpu = runner.run_timed(benchmark)
        accepts1, requests1 = counts()
    finally:
        runner.close()
    # The check's requests (/accept-encoding, then one of the scenario's),
    # the warm-up batch and the timed ones: `hops` served for each.
    batches = 1 + rounds
    assert requests1 - requests0 == 1 + (1 + batches * scenario.requests) * scenario.hops

    benchmark.extra_info.update(
        policy_scenario=scenario.key, client=cls.name, version=_version(cls),
        path=scenario.path, hops=scenario.hops, requests_per_call=scenario.requests,
        concurrency=1, body_bytes=len(runner.expected),
        wire_body_bytes=_wire_bytes(server, scenario), accept_encoding=runner.accept_encoding,
        connections_opened=accepts1 - accepts0, requests_served=requests1 - requests0,
        client_cpu_per_request=cpu / (rounds * scenario.requests), placement=where)
