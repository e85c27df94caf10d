"""``python -m httpool bench`` and its built-in server.

The built-in server (httpool.bench._server) is checked byte for byte with a
plain socket (the fixed responses, HEAD, a POST body read and discarded,
pipelined requests answered in order, ``Connection: close``, refusals), then
with httpool.Pool, and for a stop that closes every connection it had.

The command is run as users run it, ``python -m httpool bench`` in a child
process, where the exit code and the absence of a traceback mean something;
argument errors, many and cheap, go through ``main()`` in this process. The
comparison runs in a quick mode (``-d 0.05``, httpool only) against the
built-in server, so the whole file takes a few seconds.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys

import pytest

import httpool
from httpool.bench._server import BenchServer
from httpool.bench.cli import main

from support.nginx import FILES
from support.servers import closed_port

HOST = "127.0.0.1"
SMALL_RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: httpool-benchserver\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: 13\r\n\r\nHello, world!")


@pytest.fixture
def server(no_socket_leak: None):
    with BenchServer() as running:
        yield running


def exchange(server: BenchServer, data: bytes) -> bytes:
    """Send `data` on a new connection, half-close it, read up to EOF."""
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(1 << 20):
            reply += chunk
    return reply


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "httpool", "bench", *args],
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ the server


def test_small_and_not_found_by_socket(server: BenchServer) -> None:
    reply = exchange(server, b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /other?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply == SMALL_RESPONSE + (
        b"HTTP/1.1 404 Not Found\r\nServer: httpool-benchserver\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10\r\n\r\nnot found\n")


def test_one_mib_body_is_the_nginx_file(server: BenchServer) -> None:
    reply = exchange(server, b"GET /1m HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 1048576" in head
    assert body == FILES["1m"]


def test_head_post_and_pipelining_in_order(server: BenchServer) -> None:
    requests = (b"HEAD /small HTTP/1.1\r\n\r\n"
                b"POST /small HTTP/1.1\r\ncontent-length:  5 \r\n\r\nhello"
                b"\r\n"  # a stray empty line before a request line is skipped (RFC 9112 2.2)
                b"GET /small HTTP/1.1\r\n\r\n")
    reply = exchange(server, requests)
    assert reply == SMALL_RESPONSE[:-13] + SMALL_RESPONSE + SMALL_RESPONSE
    assert server.requests == 3


def test_request_sent_byte_by_byte(server: BenchServer) -> None:
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"POST /small HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc":
            sock.send(bytes([byte]))
        reply = b""
        while len(reply) < len(SMALL_RESPONSE):
            reply += sock.recv(65536)
    assert reply == SMALL_RESPONSE


@pytest.mark.parametrize("request_bytes", [
    b"GET /small HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET /small HTTP/1.0\r\n\r\n",
])
def test_closes_when_asked(server: BenchServer, request_bytes: bytes) -> None:
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(request_bytes)
        reply = b""
        while chunk := sock.recv(65536):  # EOF from the server: we never shut down
            reply += chunk
    assert reply == SMALL_RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize("request_bytes", [
    b"POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /small HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET /small HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
])
def test_refuses_what_it_cannot_read(server: BenchServer, request_bytes: bytes) -> None:
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(request_bytes)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:  # unread bytes when the server closed
            pass
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close" in reply


def test_pool_reuses_one_connection(server: BenchServer) -> None:
    with httpool.Pool() as pool:
        for _ in range(50):
            assert pool.get(f"{server.url}/small").content == b"Hello, world!"
        assert pool.get(f"{server.url}/1m").content == FILES["1m"]
        assert pool.head(f"{server.url}/1m").headers["content-length"] == "1048576"
        assert pool.post(f"{server.url}/small", body=b"x" * 100_000).content == b"Hello, world!"
        assert pool.get(f"{server.url}/missing").status_code == 404
        stats = pool.stats()
    assert (stats.opened, stats.reused, stats.requests) == (1, 53, 54)
    assert server.accepted == 1 and server.requests == 54


def test_stop_closes_connections_and_frees_the_port(no_socket_leak: None) -> None:
    server = BenchServer()
    server.start()
    with pytest.raises(RuntimeError):
        server.start()
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(b"GET /small HTTP/1.1\r\n\r\n")
        assert sock.recv(65536) == SMALL_RESPONSE
        server.stop()
        assert sock.recv(65536) == b""  # the server closed it
    assert not server.running
    with BenchServer(port=server.port):  # SO_REUSEADDR: the port can be bound again at once
        pass


def test_bad_host() -> None:
    with pytest.raises(ValueError, match="IPv4"):
        BenchServer("localhost").start()


# ------------------------------------------------------------------ URL mode


def test_url_mode_json(server: BenchServer) -> None:
    done = run_cli(f"{server.url}/small", "-n", "200", "-c", "4", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal, no --progress: no progress line
    report = json.loads(done.stdout)
    assert report["mode"] == "url" and report["url"] == f"{server.url}/small"
    assert (report["concurrency"], report["requests"], report["responses"]) == (4, 200, 200)
    assert report["statuses"] == {"200": 200} and report["errors"] == {}
    assert report["requests_per_s"] > 0 and report["body_bytes"] == 200 * 13
    latency = report["latency_us"]
    assert list(latency) == ["p50", "p90", "p99", "p99.9", "max", "mean"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    pool = report["pool"]
    assert pool["requests"] == 200 and 1 <= pool["opened"] <= 4
    assert pool["opened"] - pool["closed"]["total"] == pool["idle"] + pool["in_use"]


def test_url_mode_text_counts_statuses(server: BenchServer) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["bench", f"{server.url}/nothing-here", "-n", "50", "-c", "2"], out=out, err=err) == 0
    text = out.getvalue()
    assert "status       404: 50" in text and "errors       none" in text
    assert "pool         opened=" in text and "requests=50" in text


def test_unreachable_url_exits_2() -> None:
    done = run_cli(f"http://{HOST}:{closed_port()}/small", "-n", "10")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "connection refused" in done.stderr and done.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["http://127.0.0.1:8080/", "-n", "0"], "-n/--requests: must be at least 1, not 0"),
    (["http://127.0.0.1:8080/", "-c", "-1"], "-c/--concurrency: must be at least 1, not -1"),
    (["http://127.0.0.1:8080/", "-d", "0"], "must be a number of seconds above 0"),
    (["http://127.0.0.1:8080/", "-n", "5", "-d", "1"], "not allowed with"),
    (["http://127.0.0.1:8080/", "--bogus"], "unrecognized arguments: --bogus"),
    (["example.com/path"], "bad URL: unsupported or missing scheme"),
    (["ftp://example.com/"], "bad URL: unsupported or missing scheme"),
    (["http://:80/"], "bad URL: no host"),
    (["http://127.0.0.1:8080/", "--server", "builtin"], "--server applies to the comparison"),
    (["--clients", "nope"], "unknown client 'nope'"),
    (["--scenarios", "2"], "--scenarios takes numbers among 1,3,5"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["bench", *args], out=out, err=err) == 2
    assert out.getvalue() == ""
    line = err.getvalue()
    assert line.count("\n") == 1 and line.startswith("python -m httpool bench: error: ")
    assert message in line


def test_bad_arguments_in_a_real_process() -> None:
    done = run_cli("https://example.com/", "-c", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_ctrl_c_exits_130(server: BenchServer) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "httpool", "bench", f"{server.url}/small", "-d", "20", "--progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # A shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert process.stderr.read(1) == b"\r"  # the first progress line: the run is under way
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert err.decode().rsplit("\r", 1)[-1].strip() == "python -m httpool bench: interrupted"
    assert out == b""


# ------------------------------------------------------------------ the comparison


def test_comparison_quick_with_the_builtin_server() -> None:
    done = run_cli("--server", "builtin", "--clients", "httpool", "-d", "0.05", "-c", "4")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "server: built-in (httpool.bench._server" in text
    for title in ("1  sequential GET /small (13 B)", "3  sequential GET /1m (1 MiB)",
                  "5  4 in flight, GET /small"):
        assert title in text
    assert "problems:" not in text and "failed" not in text


def test_comparison_json(no_socket_leak: None) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["bench", "--server", "builtin", "--clients", "httpool", "--scenarios", "1,5",
                 "-n", "40", "-c", "2", "--json"], out=out, err=err)
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    assert report["mode"] == "compare" and report["server"]["name"] == "builtin"
    assert report["requests_per_run"] == 40
    runs = report["runs"]
    assert [(run["scenario"], run["concurrency"], run["client"]) for run in runs] == [
        (1, 1, "httpool"), (5, 2, "httpool")]
    for run in runs:
        assert run["problem"] is None and run["responses"] == 40 and run["requests_per_s"] > 0
        assert run["httpool_ratio"] == 1.0


def test_comparison_says_which_server_it_used() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["bench", "--clients", "httpool", "--scenarios", "1", "-n", "20"], out=out, err=err) == 0
    header = out.getvalue().splitlines()[0]
    assert "server: nginx " in header or "server: built-in " in header
