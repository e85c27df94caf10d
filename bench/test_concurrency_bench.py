"""Many requests in flight against one local nginx: httpool's request_many and
its peers at 8, 64 and 256 concurrent requests, in one run; wrk with the same
connection counts as the ceiling; the peak memory of each client.

    pytest bench/test_concurrency_bench.py --benchmark-json=bench/results/local/concurrency.json
    python bench/concurrency_report.py bench/results/local/concurrency.json

Clients (bench/concurrency_clients.py; a peer that is not installed is skipped
and says so):

  httpool        pool.request_many([("GET", url)] * N, concurrency=c): one thread
  aiohttp        one ClientSession, TCPConnector(limit=c), c tasks
  httpx-async    one AsyncClient, Limits(max_connections=c, max_keepalive_connections=c), c tasks
  urllib3        one PoolManager(maxsize=c) in a ThreadPoolExecutor(c)
  httpx          one Client with the limits above in a ThreadPoolExecutor(c)
  pycurl         one CurlMulti, c easy handles reused (perform/select/info_read loop)

Tasks and threads pull the next request from one shared counter until N are
sent, and every one reads its whole body (GET /small: 13 bytes).

Each concurrency level is one pytest-benchmark group (concurrency-8, -64,
-256), so the clients sit side by side in one table. Each timed call is a
batch of N = 4096 requests (divisible by every level: each of 256 tasks still
sends 16). Clients are created, checked once (status 200, body
b"Hello, world!"), and warmed up with one untimed batch (max(4c, 512)
requests: it opens all c connections, starts the threads, and sets the number
of rounds) before anything is timed; the count and the last body of every
timed batch are checked afterwards. Rounds: as many as fit in
HTTPOOL_BENCH_SECONDS (default 1.0), at least 3, or 1 for a client whose batch
takes over 2 s. Each benchmark records the CPU time (user and system, all
threads) this process spent per request: the client's own cost, without
nginx's.

wrk, the ceiling: `wrk -t1 -c{c} -d3s` against the same nginx, run twice per
level, just before its clients and just after them (the test ids
concurrency-{c}-wrk and concurrency-{c}-wrk-again); the ceiling is the better
of the two, so that a moment of load from elsewhere on the machine does not
lower it. The figures go into the JSON (the "wrk" section, through the
conftest's wrk_results; the first one also into the extra_info of the
level's benchmarks) and into bench/results/local/wrk_concurrency.json.

test_peak_rss runs each client in a fresh interpreter (`python
bench/concurrency_clients.py CLIENT URL -n 10000 -c 256`) and records its peak
RSS (VmHWM: see concurrency_clients.py for why not ru_maxrss), and the same
interpreter importing the client's modules and sending nothing.

Placement: nothing is pinned here (bench/conftest.py's `place` says why):
the client and nginx's worker may each run on every CPU, as wrk measures its
ceiling; each benchmark records the CPUs it was allowed.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from concurrency_clients import CLIENTS

BENCH_DIR = Path(__file__).resolve().parent
HELPER = BENCH_DIR / "concurrency_clients.py"
WRK_FILE = BENCH_DIR / "results" / "local" / "wrk_concurrency.json"

LEVELS = (8, 64, 256)
REQUESTS = 4096                  # per timed call
ORDER = ("httpool", "httpool-default-pool", "aiohttp", "httpx-async", "urllib3", "httpx", "pycurl")
BODY = b"Hello, world!"
PATH = "/small"

TARGET_SECONDS = float(os.environ.get("HTTPOOL_BENCH_SECONDS", "1.0"))
MIN_ROUNDS, MAX_ROUNDS = 3, 100
WARMUP_REQUESTS = 512            # at least 4 per connection
# A client whose batch takes longer than this gets a single timed round (the
# slowest take 10 to 40 s per batch, tens of times httpool's time, so one round
# says enough and keeps the file to a few minutes).
SLOW_BATCH = 2.0

WRK_SECONDS = 3
RSS_REQUESTS, RSS_CONCURRENCY = 10_000, 256

# wrk's requests/s per level, in the order run.
_WRK_RUNS: dict[int, list] = {}


def _skip_missing(name: str, clients: dict = CLIENTS):
    cls = clients[name]
    if not cls.available():
        pytest.skip(f"{name} is not installed (pip install -e '.[bench]' installs every peer)")
    return cls


def _server_counts(server) -> tuple[int, int]:
    status = server.stub_status()
    return status["accepts"], status["requests"]


def _cpu_seconds() -> tuple[float, float]:
    """User and system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


_SERVER: list[str] = []


def _server_versions(server) -> str:
    """"nginx/1.x.y (cubic congestion control), wrk 4.x.y" (computed once)."""
    if not _SERVER:
        parts = []
        for argv in ([server.binary, "-v"], ["wrk", "--version"]):
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                line = (proc.stdout + proc.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired):
                continue
            parts.append(line.replace("nginx version: ", "")
                         + f" ({server.congestion_control} congestion control)"
                         if argv[1] == "-v" else " ".join(line.split()[:2]))
        _SERVER.append(", ".join(parts))
    return _SERVER[0]


# --- wrk, the ceiling ---------------------------------------------------------------

def _wrk(request, server, where: str, concurrency: int, run: str) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (apt-get install wrk): no ceiling in the report")
    url = server.url + PATH
    accepts0, requests0 = _server_counts(server)
    proc = subprocess.run([wrk, "-t1", f"-c{concurrency}", f"-d{WRK_SECONDS}s", url],
                          capture_output=True, text=True, timeout=WRK_SECONDS + 30, check=True)
    accepts1, requests1 = _server_counts(server)
    out = proc.stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    rps = float(match.group(1))
    key = f"concurrency-{concurrency}"
    previous = _WRK_RUNS.setdefault(concurrency, [])
    previous.append(rps)
    entry = {
        "bench": "concurrency", "scenario": key,
        "method": "GET", "path": PATH, "connections": concurrency, "seconds": WRK_SECONDS,
        "requests_per_second": max(previous),   # the ceiling: the better run
        "runs": list(previous),
        "connections_opened": accepts1 - accepts0 - 1,
        "requests_served": requests1 - requests0 - 1,
        "placement": where,
        "server": _server_versions(server),
        "output": out,
    }
    # Into the --benchmark-json file, through bench/conftest.py's hook...
    try:
        request.getfixturevalue("wrk_results")[key] = entry
    except pytest.FixtureLookupError:
        pass
    # ...and a side file, for a run that has no --benchmark-json.
    WRK_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(WRK_FILE.read_text())
    except (OSError, ValueError):
        saved = {}
    saved[str(concurrency)] = {**entry, "datetime": datetime.datetime.now().isoformat(timespec="seconds")}
    WRK_FILE.write_text(json.dumps(saved, indent=2) + "\n")
    print(f"wrk GET {PATH} c={concurrency} ({run}): {rps:,.0f} requests/s")


# --- the clients (and wrk before and after them, per level) ---------------------------

_NAMES = ("wrk",) + ORDER + ("wrk-again",)
_PARAMS = [(c, name) for c in LEVELS for name in _NAMES]


@pytest.mark.parametrize(("concurrency", "client"), _PARAMS,
                         ids=[f"concurrency-{c}-{name}" for c, name in _PARAMS])
def test_concurrency(request, bench_nginx, place, concurrency, client):
    measure(request, bench_nginx, place, concurrency, client, CLIENTS, "concurrency")


def measure(request, bench_nginx, place, concurrency, client, clients, bench):
    """One client (of `clients`) at one level, or wrk; the group is `{bench}-{concurrency}`."""
    where = place(False)
    if client.startswith("wrk"):
        return _wrk(request, bench_nginx, where, concurrency, client)
    cls = _skip_missing(client, clients)
    benchmark = request.getfixturevalue("benchmark")
    benchmark.group = f"{bench}-{concurrency}"
    url = bench_nginx.url + PATH

    accepts0, requests0 = _server_counts(bench_nginx)
    instance = cls(concurrency)
    try:
        status, body = instance.check(url)
        assert (status, body) == (200, BODY), f"{client}: {status} {body[:80]!r}"
        # Warm-up: opens every connection (and starts every thread); its time
        # sets the number of rounds.
        warm = min(REQUESTS, max(4 * concurrency, WARMUP_REQUESTS))
        started = time.perf_counter()
        done, body = instance.run(url, warm)
        per_batch = (time.perf_counter() - started) * REQUESTS / warm
        assert (done, body) == (warm, BODY), f"{client}: {done} done, last body {body!r}"
        least = MIN_ROUNDS if per_batch < SLOW_BATCH else 1
        rounds = max(least, min(MAX_ROUNDS, int(TARGET_SECONDS / per_batch)))

        results = []

        def batch():
            results.append(instance.run(url, REQUESTS))

        user0, sys0 = _cpu_seconds()
        benchmark.pedantic(batch, rounds=rounds, iterations=1)
        user1, sys1 = _cpu_seconds()
        assert all(r == (REQUESTS, BODY) for r in results), f"{client}: a batch went wrong"
        opened = instance.opened() if hasattr(instance, "opened") else None
        accepts1, requests1 = _server_counts(bench_nginx)
    finally:
        instance.close()

    # Each stub_status query is one connection and one request of its own.
    benchmark.extra_info.update(
        bench=bench, client=client, version=cls.version(),
        concurrency=concurrency, requests_per_call=REQUESTS, path=PATH,
        body_bytes=len(BODY), rounds=rounds,
        connections_opened=accepts1 - accepts0 - 1,
        requests_served=requests1 - requests0 - 1,
        client_cpu_per_request=(user1 - user0 + sys1 - sys0) / (rounds * REQUESTS),
        client_user_per_request=(user1 - user0) / (rounds * REQUESTS),
        client_system_per_request=(sys1 - sys0) / (rounds * REQUESTS),
        placement=where, server=_server_versions(bench_nginx))
    if _WRK_RUNS.get(concurrency):
        benchmark.extra_info["wrk_requests_per_second"] = max(_WRK_RUNS[concurrency])
    if opened is not None:
        benchmark.extra_info["pool_opened"] = opened


# --- peak memory -------------------------------------------------------------------

def _helper(client: str, url: str, import_only: bool) -> dict:
    argv = [sys.executable, str(HELPER), client, url,
            "-n", str(RSS_REQUESTS), "-c", str(RSS_CONCURRENCY)]
    if import_only:
        argv.append("--import-only")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("client", ("python",) + ORDER, ids=[f"rss-{c}" for c in ("python",) + ORDER])
def test_peak_rss(benchmark, bench_nginx, place, client):
    """Peak RSS of a fresh interpreter sending 10,000 requests, 256 in flight;
    the timed call is that whole process (start-up and imports included)."""
    peak_rss(benchmark, bench_nginx, place, client, CLIENTS, "concurrency")


def peak_rss(benchmark, bench_nginx, place, client, clients, bench):
    if client != "python":
        _skip_missing(client, clients)
    benchmark.group = f"{bench}-rss-{RSS_CONCURRENCY}"
    where = place(False)
    url = bench_nginx.url + PATH
    baseline = _helper(client, url, import_only=True)
    runs = []
    benchmark.pedantic(lambda: runs.append(_helper(client, url, import_only=client == "python")),
                       rounds=1, iterations=1)
    peak = runs[-1]
    benchmark.extra_info.update(
        bench=f"{bench}-rss", client=client,
        version=clients[client].version() if client in clients else sys.version.split()[0],
        requests=peak["requests"], concurrency=RSS_CONCURRENCY,
        baseline_kib=baseline["vmhwm_kib"], peak_kib=peak["vmhwm_kib"],
        baseline_ru_maxrss_kib=baseline["ru_maxrss_kib"], peak_ru_maxrss_kib=peak["ru_maxrss_kib"],
        requests_seconds=peak.get("seconds"),
        placement=where)
    print(f"{client}: peak RSS {peak['vmhwm_kib'] / 1024:.1f} MiB "
          f"(imports only {baseline['vmhwm_kib'] / 1024:.1f} MiB)")
