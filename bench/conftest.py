"""Benchmarks: run with `pytest bench/` (the default `pytest` run only
collects tests/). See the "Benchmarks" and "HTTP benchmarks" sections of
README.md.

Fixtures for the HTTP benchmarks (bench/test_http_bench.py,
bench/test_concurrency_bench.py): ``bench_nginx``, one nginx for the
whole session (tests/support/nginx.py, keep-alive with no practical request
limit), ``place``, which puts nginx and the client on one CPU or on all of
them, and ``wrk_results``, where the wrk tests leave their figures; the
``pytest_benchmark_update_json`` hook below copies those figures, with the
versions of nginx and wrk, into the file written by ``--benchmark-json``.

For the HTTPS benchmarks (bench/test_https_bench.py): ``bench_tls``, a test
CA and a server certificate made by trustme, written to files, and
``bench_nginx_tls``, the same nginx as ``bench_nginx`` speaking TLS 1.3 with
that certificate; ``place_tls`` is ``place`` for it.

For the policy benchmarks (bench/test_policy_bench.py): ``bench_nginx_policy``,
the same nginx as ``bench_nginx`` with a gzip-compressed 1 MiB JSON document
and a redirect; ``place_policy`` is ``place`` for it.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.nginx import NginxServer, find_nginx

_WRK_RESULTS = pytest.StashKey[dict]()
_PLACEMENT = pytest.StashKey[dict]()
_CONGESTION_CONTROL = pytest.StashKey[str]()
_TLS_SERVER = pytest.StashKey[dict]()


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
    connection in the middle of a benchmark), cubic congestion control
    (tests/support/nginx.py says why). Where it runs is the `place` fixture's
    job; this process's CPUs are given back at the end."""
    yield from _serve(tmp_path_factory, pytestconfig, "nginx-bench")


def _serve(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config, folder: str,
           **options) -> Iterator[NginxServer]:
    """The benchmarks' nginx in a new temporary `folder`: one worker,
    keep-alive 75 s and 10**7 requests per connection, NginxServer's other
    `options`; this process's CPUs are given back at the end."""
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (looked at $HTTPOOL_NGINX, PATH, /usr/sbin/nginx)")
    mask = os.sched_getaffinity(0)
    with NginxServer(tmp_path_factory.mktemp(folder), binary=binary,
                     keepalive_timeout="75s", keepalive_requests=10**7, **options) as server:
        pytestconfig.stash[_CONGESTION_CONTROL] = server.congestion_control
        try:
            yield server
        finally:
            os.sched_setaffinity(0, mask)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA clients trust, and the server's chain and key."""
    ca: Path          # the CA certificate: what every client verifies against
    chain: Path       # the server certificate (for 127.0.0.1 and localhost), then the CA's
    key: Path
    key_type: str


@pytest.fixture(scope="session")
def bench_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost (trustme's
    default key type, ECDSA P-256), written to a temporary folder."""
    trustme = pytest.importorskip("trustme", reason="trustme is not installed "
                                  "(pip install -e '.[bench]')")
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
    cert = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.ECDSA)
    files = TlsFiles(folder / "ca.pem", folder / "chain.pem", folder / "key.pem",
                     "ECDSA P-256")
    ca.cert_pem.write_to_path(str(files.ca))
    files.chain.write_bytes(b"".join(pem.bytes() for pem in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(files.key))
    return files


@pytest.fixture(scope="session")
def bench_nginx_tls(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config,
                    bench_tls: TlsFiles) -> Iterator[NginxServer]:
    """bench_nginx's twin on its own port, speaking TLS 1.3 only (session
    tickets on, shared session cache) with bench_tls's certificate."""
    pytestconfig.stash[_TLS_SERVER] = {
        "protocols": "TLSv1.3", "session_tickets": True, "session_cache": "shared:SSL:1m",
        "key_type": bench_tls.key_type, "python_ssl": ssl.OPENSSL_VERSION}
    yield from _serve(tmp_path_factory, pytestconfig, "nginx-bench-tls",
                      ssl_certificate=bench_tls.chain, ssl_certificate_key=bench_tls.key)


# bench/test_policy_bench.py's server: a JSON document of exactly 1 MiB with
# its gzip-compressed copy beside it, served compressed (gzip_static: nginx
# sends the .gz file as it is, to a client whose Accept-Encoding has gzip,
# with Content-Encoding: gzip and its Content-Length), a redirect to /small
# with a relative Location (absolute_redirect off), and /accept-encoding,
# which answers the request's Accept-Encoding header.
POLICY_DOCUMENT = "1m.json"
_POLICY_LOCATIONS = f"""
        location = /{POLICY_DOCUMENT} {{
            default_type application/json;
            gzip_static on;
        }}
        location = /redirect {{
            absolute_redirect off;
            return 302 /small;
        }}
        location = /accept-encoding {{
            default_type text/plain;
            return 200 "$http_accept_encoding";
        }}"""


def json_document(size: int) -> bytes:
    """A JSON array of user-like records whose compact encoding is exactly
    `size` bytes: the same every run, and about as compressible as an API's
    answer (gzip -9 leaves 22% of it)."""
    rng = random.Random(size)
    records, length = [], 2   # the brackets
    while True:
        i = len(records)
        record = {"id": i, "uuid": f"{rng.getrandbits(128):032x}", "name": f"user-{i}",
                  "email": f"user-{i}@example.com", "active": rng.random() < 0.8,
                  "score": round(rng.uniform(0, 100), 3),
                  "tags": rng.sample(["red", "green", "blue", "admin", "beta", "ops"], 2),
                  "note": ""}
        record_length = len(json.dumps(record, separators=(",", ":"))) + 1   # and a comma
        if length + record_length > size:
            break
        records.append(record)
        length += record_length
    records[-1]["note"] = "x" * (size - length + 1)   # no comma after the last record
    document = json.dumps(records, separators=(",", ":")).encode()
    assert len(document) == size
    return document


@pytest.fixture(scope="session")
def bench_nginx_policy(tmp_path_factory: pytest.TempPathFactory,
                       pytestconfig: pytest.Config) -> Iterator[NginxServer]:
    """bench_nginx's twin on its own port, with the policy scenarios: GET
    /1m.json answers the 1 MiB JSON document gzip-compressed (its original
    bytes are extra_files["1m.json"]), GET /redirect answers 302 Found with
    `Location: /small`."""
    document = json_document(1 << 20)
    files = {POLICY_DOCUMENT: document,
             f"{POLICY_DOCUMENT}.gz": gzip.compress(document, compresslevel=9, mtime=0)}
    yield from _serve(tmp_path_factory, pytestconfig, "nginx-bench-policy",
                      files=files, locations=_POLICY_LOCATIONS)


def _placer(server: NginxServer, pytestconfig: pytest.Config) -> Callable[[bool], str]:
    cpus = sorted(os.sched_getaffinity(0) | os.sched_getaffinity(server._proc.pid))
    workers = _children(server._proc.pid)
    placements = pytestconfig.stash.setdefault(_PLACEMENT, {})

    def place(sequential: bool) -> str:
        pinned = sequential and os.environ.get("HTTPOOL_BENCH_PIN", "1") != "0" and bool(workers)
        chosen = {cpus[-1]} if pinned else set(cpus)
        for pid in workers:
            os.sched_setaffinity(pid, chosen)
        os.sched_setaffinity(0, chosen)
        where = (f"client CPUs {sorted(chosen)}, nginx worker CPUs {sorted(chosen)} "
                 f"of {os.cpu_count()}")
        placements["sequential" if sequential else "concurrent"] = where
        return where

    return place


@pytest.fixture
def place_tls(bench_nginx_tls: NginxServer, pytestconfig: pytest.Config) -> Callable[[bool], str]:
    """`place` for bench_nginx_tls's worker."""
    return _placer(bench_nginx_tls, pytestconfig)


@pytest.fixture
def place_policy(bench_nginx_policy: NginxServer, pytestconfig: pytest.Config) -> Callable[[bool], str]:
    """`place` for bench_nginx_policy's worker."""
    return _placer(bench_nginx_policy, pytestconfig)


@pytest.fixture
def place(bench_nginx: NginxServer, pytestconfig: pytest.Config) -> Callable[[bool], str]:
    """place(sequential) puts nginx's worker and this process (so every client
    thread and wrk, started later, inherit it) on one CPU, or on every CPU;
    returns where they are, for the results.

    Sequential scenarios pin (unless HTTPOOL_BENCH_PIN=0). One request at a
    time is a ping-pong between client and server; on the 2-vCPU VM these
    figures come from, a wake-up across CPUs costs more than a whole request
    (GET /small: about 25 µs per request on one CPU, 90 to 130 µs when the
    two sides sit on different CPUs, and that varied from minute to minute),
    so unpinned sequential results measure the hypervisor. On one CPU each
    request costs what the client and nginx spend on it.

    Concurrent scenarios do not pin: with many requests in flight the two
    sides work at the same time, each on its own CPU, as wrk measures its
    ceiling; on one shared CPU every client would be held to the server's
    cost per request, whatever its own.
    """
    return _placer(bench_nginx, pytestconfig)


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
    scenario_keys = ("scenario", "https_scenario", "policy_scenario")
    if any(any(b.get("extra_info", {}).get(key) for key in scenario_keys)
           for b in output_json.get("benchmarks", [])):
        nginx = find_nginx()
        output_json["http_bench"] = {
            "nginx": _version([nginx, "-v"]) if nginx else None,
            "wrk": _version(["wrk", "--version"]),
            "placement": config.stash.get(_PLACEMENT, {}),
            "congestion_control": config.stash.get(_CONGESTION_CONTROL, None),
            "cpus": os.cpu_count(),
        }
        if config.stash.get(_TLS_SERVER, None):
            output_json["http_bench"]["tls_server"] = config.stash[_TLS_SERVER]
