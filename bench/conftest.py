"""Benchmarks: run with `pytest bench/` (the default `pytest` run only
collects tests/). See the "Benchmarks" and "HTTP benchmarks" sections of
README.md.

Fixtures for the HTTP benchmarks (bench/test_http_bench.py,
bench/test_concurrency_bench.py): ``bench_nginx``, one nginx for the
whole session (tests/nginx.py, keep-alive with no practical request limit),
and ``wrk_results``, where the wrk tests leave their figures; the
``pytest_benchmark_update_json`` hook below copies those figures, with the
versions of nginx and wrk, into the file written by ``--benchmark-json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from nginx import NginxServer, find_nginx  # noqa: E402  (tests/nginx.py)

_WRK_RESULTS = pytest.StashKey[dict]()
_PLACEMENT = pytest.StashKey[str]()


def pytest_configure(config):
    # pytest-benchmark opens --benchmark-json=PATH as is; make its folder.
    json_path = config.getoption("benchmark_json", None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


@pytest.fixture(scope="session")
def bench_nginx(tmp_path_factory: pytest.TempPathFactory,
                pytestconfig: pytest.Config) -> Iterator[NginxServer]:
    """nginx for the HTTP benchmarks: one worker, keep-alive 75 s and 10**7
    requests per connection (nginx's default of 1000 would close a client's
    connection in the middle of a benchmark).

    Its worker and this process (so every client thread and wrk, started
    later, inherit it) are pinned to one CPU, unless HTTPOOL_BENCH_PIN=0. One
    request at a time is a ping-pong between client and server; on the
    2-vCPU VM these figures come from, a wake-up across CPUs costs more than
    a whole request (GET /small: about 25 µs per request on one CPU, 90 to
    130 µs when the two sides sit on different CPUs, and that varied from
    minute to minute), so unpinned results measure the hypervisor. On one CPU
    each request costs what the client and nginx spend on it.
    """
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (looked at $HTTPOOL_NGINX, PATH, /usr/sbin/nginx)")
    with NginxServer(tmp_path_factory.mktemp("nginx-bench"), binary=binary,
                     keepalive_timeout="75s", keepalive_requests=10**7) as server:
        mask = os.sched_getaffinity(0)
        pinned = None
        if os.environ.get("HTTPOOL_BENCH_PIN", "1") != "0" and server._proc is not None:
            workers = _children(server._proc.pid)
            if workers:
                pinned = max(mask)
                for pid in workers:
                    os.sched_setaffinity(pid, {pinned})
                os.sched_setaffinity(0, {pinned})
        pytestconfig.stash[_PLACEMENT] = (
            f"nginx's worker and the client pinned to CPU {pinned}" if pinned is not None
            else "not pinned")
        try:
            yield server
        finally:
            os.sched_setaffinity(0, mask)


@pytest.fixture(scope="session")
def wrk_results(pytestconfig: pytest.Config) -> dict:
    """wrk's figures by name ("http-5-concurrent-8": {...}), filled by the wrk
    tests and saved under "wrk" in the --benchmark-json file."""
    return pytestconfig.stash.setdefault(_WRK_RESULTS, {})


def _version(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0] if lines else None


def pytest_benchmark_update_json(config, benchmarks, output_json):
    wrk = config.stash.get(_WRK_RESULTS, {})
    if wrk:
        output_json["wrk"] = wrk
    if any(b.get("extra_info", {}).get("scenario") for b in output_json.get("benchmarks", [])):
        nginx = find_nginx()
        output_json["http_bench"] = {
            "nginx": _version([nginx, "-v"]) if nginx else None,
            "wrk": _version(["wrk", "--version"]),
            "placement": config.stash.get(_PLACEMENT, None),
            "cpus": os.cpu_count(),
        }
