"""The asyncio API against the async peers: 64 and 256 requests in flight
from one event loop against one local nginx, in one run; wrk with the same
connection counts as the ceiling; the peak RSS of each client at 256.

    pytest bench/test_async_bench.py --benchmark-json=bench/results/local/async.json

Clients (bench/concurrency_clients.py, ASYNC_CLIENTS; a peer that is not
installed is skipped and says so), each c tasks on one loop awaiting GET
/small (13 bytes) in turn from a shared counter, every body read whole:

  httpool-async          httpool.AsyncPool on uvloop, max_connections_per_host=c
  httpool-async-asyncio  the same on asyncio's default loop
  aiohttp-uvloop         one ClientSession, TCPConnector(limit=c), on uvloop
  aiohttp                the same on the default loop
  pyreqwest-async, rnet-async, aiosonic, httpr-async, curl_cffi-async, httpx-async

The method (warm-up, rounds, CPU time per request, wrk before and after each
level, the RSS helper) is bench/test_concurrency_bench.py's, shared from there.
"""

from __future__ import annotations

import pytest
from test_concurrency_bench import measure, peak_rss

from concurrency_clients import ASYNC_CLIENTS

LEVELS = (64, 256)
ORDER = tuple(ASYNC_CLIENTS)
_NAMES = ("wrk",) + ORDER + ("wrk-again",)
_PARAMS = [(c, name) for c in LEVELS for name in _NAMES]


@pytest.mark.parametrize(("concurrency", "client"), _PARAMS,
                         ids=[f"async-{c}-{name}" for c, name in _PARAMS])
def test_async(request, bench_nginx, place, concurrency, client):
    measure(request, bench_nginx, place, concurrency, client, ASYNC_CLIENTS, "async")


@pytest.mark.parametrize("client", ORDER, ids=[f"rss-{c}" for c in ORDER])
def test_async_peak_rss(benchmark, bench_nginx, place, client):
    """Peak RSS of a fresh interpreter sending 10,000 requests, 256 in flight."""
    peak_rss(benchmark, bench_nginx, place, client, ASYNC_CLIENTS, "async")
