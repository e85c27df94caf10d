"""``python -m httpool bench`` and its built-in server.

The built-in server (httpool.bench._server) is checked byte for byte with a
plain socket (the fixed responses, HEAD, a POST body read and discarded,
pipelined requests answered in order, ``Connection: close``, refusals), then
with httpool.Pool, and for a stop that closes every connection it had.

The command is run as users run it, ``python -m httpool bench`` in a child
process, where the exit code and the absence of a traceback mean something;
argument errors, many and cheap, go through ``main()`` in this process. The
comparison runs in a quick mode (``-d 0.05``, httpool only) against the
built-in server, so the whole file takes a few seconds. Ctrl-C is a SIGINT
sent to the child once its progress line shows the run under way. A child
that must not see the peers or matplotlib (whatever this environment has
installed) runs with those modules set to None in ``sys.modules``, which
makes them look absent to ``importlib.util.find_spec`` and to ``import``.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import httpool
from httpool.bench._server import BenchServer
from httpool.bench.cli import main
from httpool.bench.loadgen import Budget, Recorder, Result

from support.nginx import FILES
from support.servers import ScriptedServer, ServerConn, closed_port, reset_after_response

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


PEER_MODULES = ("httpx", "urllib3", "requests", "aiohttp", "pycurl")
_WITHOUT = """import runpy, sys
for name in sys.argv.pop(1).split(","):
    sys.modules[name] = None  # find_spec() says None, import raises ImportError
runpy.run_module("httpool", run_name="__main__", alter_sys=True)
"""


def run_cli_without(modules: tuple[str, ...], *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """``python -m httpool bench ARGS`` in a child where `modules` cannot be imported."""
    return subprocess.run([sys.executable, "-c", _WITHOUT, ",".join(modules), "bench", *args],
                          capture_output=True, text=True, timeout=timeout)


def interrupt_when(args: list[str], ready: bytes, timeout: float = 20) -> tuple[int, str, str]:
    """Start ``python -m httpool bench ARGS --progress``, send SIGINT once stderr
    has shown `ready`, and return the exit code, stdout and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "httpool", "bench", *args, "--progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # A shell without job control starts background jobs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = b""
    try:
        deadline = time.monotonic() + timeout
        while ready not in seen:
            chunk = process.stderr.read1(4096)  # type: ignore[union-attr]
            assert chunk and time.monotonic() < deadline, f"never saw {ready!r}: {seen!r}"
            seen += chunk
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out.decode(), (seen + err).decode()


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
    assert main(["bench", f"{server.url}/small", "-n", "50", "-c", "2"], out=out, err=err) == 0
    text = out.getvalue()
    assert "status       200: 50" in text and "non-2xx      none" in text
    assert "errors       none (every request got a response)" in text
    assert "pool         opened=" in text and "requests=50" in text
    assert err.getvalue() == ""


def test_url_mode_all_404_exits_1() -> None:
    with BenchServer() as server:  # a local server whose every other path is a 404
        done = run_cli(f"{server.url}/nothing-here", "-n", "200", "-c", "4")
    assert done.returncode == 1
    assert "status       404: 200" in done.stdout
    assert "non-2xx      200 of 200 responses (100.0 %)" in done.stdout
    assert done.stderr == ("python -m httpool bench: every request failed or got an error status "
                           "(404: 200); exit status 1 (--allow-errors: 0)\n")


def test_url_mode_allow_errors_exits_0_and_json_counts_non_2xx() -> None:
    with BenchServer() as server:
        done = run_cli(f"{server.url}/nothing-here", "-n", "100", "-c", "2", "--allow-errors", "--json")
    assert done.returncode == 0 and done.stderr == ""
    report = json.loads(done.stdout)
    assert report["statuses"] == {"404": 100} and report["non_2xx"] == 100


def _first_then_reset(conn: ServerConn) -> None:
    """The probe's connection gets an answer; every later one is reset."""
    if conn.index == 0:
        reset_after_response(conn)
    else:
        conn.read_request(timeout=None)
        conn.reset()


def test_url_mode_every_request_failing_exits_1(no_socket_leak: None) -> None:
    with ScriptedServer(_first_then_reset) as server:
        done = run_cli(f"{server.url}/x", "-n", "20", "-c", "1")
    assert done.returncode == 1, done.stderr
    assert "errors       20 requests got no response" in done.stdout
    assert "every request failed or got an error status (20 without a response)" in done.stderr


def test_all_failed_means_no_status_below_400() -> None:
    def result(statuses: dict[int, int], errors: int = 0) -> Result:
        latencies = [1] * sum(statuses.values())
        return Result(1.0, 1.0, len(latencies), latencies, statuses, 0,
                      {"ConnectError": errors} if errors else {}, {})
    assert result({404: 3}).all_failed and result({500: 1}, errors=2).all_failed
    assert result({}, errors=2).all_failed
    assert not result({404: 3, 200: 1}).all_failed and not result({301: 1, 503: 9}).all_failed
    assert not result({}).all_failed  # nothing was sent
    assert result({201: 1, 302: 2, 404: 3}).non_2xx == 5


def test_url_mode_tells_in_flight_from_queued(server: BenchServer) -> None:
    done = run_cli(f"{server.url}/small", "-d", "0.5", "-c", "8", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    late = report["late_responses"]
    # After the deadline the batch finished its last chunk (128 requests,
    # taken before the deadline): those sent before it, and those still
    # queued in the batch then (all of them if the chunk started late).
    total = late["sent_before"] + late["queued"]
    assert total == report["responses"] - report["counted_responses"] and 0 <= total <= 128
    text = run_cli(f"{server.url}/small", "-n", "300", "-c", "8").stdout
    assert "GET " + server.url + "/small, 8 in flight on 8 connections, up to 120 more queued" in text


def test_url_mode_progress_line_shows_in_flight_and_queued(server: BenchServer) -> None:
    done = run_cli(f"{server.url}/small", "-d", "0.7", "-c", "8", "--progress")
    assert done.returncode == 0
    line = done.stderr.splitlines()[1]  # text mode: "\r" reads as a line end
    assert " requests, " in line and " in flight, " in line and " queued, " in line
    assert line.endswith(" 0 non-2xx, 0 errors")
    in_flight = int(line.split(" in flight")[0].rsplit(" ", 1)[1])
    assert 0 <= in_flight <= 8


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
    (["http://127.0.0.1:8080/", "--png", "x.png"], "--png applies to the comparison"),
    (["http://127.0.0.1:8080/", "--chart"], "--chart applies to the comparison"),
    (["--allow-errors"], "--allow-errors applies to a URL load test"),
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


def test_ctrl_c_never_splits_the_record_of_a_response() -> None:
    """Ctrl-C raises KeyboardInterrupt between any two bytecodes of the main
    thread, so also inside Recorder.answered(): wherever it lands, the
    response is counted whole (latency, status and size) or not at all."""
    lines = range(Recorder.answered.__code__.co_firstlineno,
                  Recorder.answered.__code__.co_firstlineno + 50)
    interrupted_at = set()
    for line in lines:
        recorder = Recorder(Budget(requests=10))
        recorder.answered(0, 200, 13)

        def interrupt(frame, event, arg, line=line):
            if frame.f_code is Recorder.answered.__code__ and event == "line" and frame.f_lineno == line:
                interrupted_at.add(line)
                raise KeyboardInterrupt
            return interrupt

        sys.settrace(lambda frame, event, arg: interrupt if frame.f_code is Recorder.answered.__code__ else None)
        try:
            recorder.answered(0, 503, 13)
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        result = Result.merge([recorder], recorder.budget, 1_000_000, None, interrupted=True)
        assert sum(result.statuses.values()) == result.responses == recorder.completed, (line, result)
        assert result.body_bytes == 13 * result.responses, (line, result)
    assert len(interrupted_at) >= 3   # the interruption landed on every line of the method


@pytest.mark.parametrize("concurrency", ["1", "8"])  # one thread; one batch
def test_ctrl_c_prints_the_results_so_far_and_exits_130(server: BenchServer, concurrency: str) -> None:
    code, out, err = interrupt_when([f"{server.url}/small", "-d", "20", "-c", concurrency], b"\r")
    assert code == 130
    assert err.rsplit("\r", 1)[-1].strip() == "python -m httpool bench: interrupted"
    assert "Traceback" not in err
    assert out.startswith(f"httpool {httpool.__version__} bench: GET {server.url}/small")
    assert "  interrupted  after " in out and ": the results so far" in out
    responses = int(out.split("requests/s   ")[1].split("(")[1].split(" responses")[0].replace(",", ""))
    assert responses > 0 and f"status       200: {responses:,}" in out
    assert "errors       none" in out and "pool         opened=" in out


def test_ctrl_c_in_json_mode(server: BenchServer) -> None:
    code, out, _ = interrupt_when([f"{server.url}/small", "-d", "20", "--json"], b"\r")
    assert code == 130
    report = json.loads(out)
    assert report["interrupted"] is True and report["responses"] > 0
    assert report["counted_responses"] == report["responses"]
    assert report["counted_over_s"] == pytest.approx(report["elapsed_s"], abs=1e-3)


def test_ctrl_c_during_the_comparison_prints_what_it_has() -> None:
    args = ["--server", "builtin", "--clients", "httpool", "--scenarios", "1,3", "-d", "20"]
    code, out, err = interrupt_when(args, b"measuring")
    assert code == 130
    assert err.rsplit("\r", 1)[-1].strip() == "python -m httpool bench: interrupted"
    assert "interrupted: 1 of 2 runs have results so far" in out
    assert "1  sequential GET /small (13 B)  httpool" in out
    assert "scenario 1 (sequential GET /small (13 B)), httpool: interrupted after " in out
    assert "3  sequential GET /1m" not in out


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


def test_comparison_chart_in_the_terminal(no_socket_leak: None) -> None:
    out, err = io.StringIO(), io.StringIO()  # no encoding: ASCII bars
    code = main(["bench", "--server", "builtin", "--clients", "httpool", "--scenarios", "1,5",
                 "-n", "40", "-c", "2", "--chart"], out=out, err=err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    chart = text.split("requests/s, longer is better")[1]
    assert "1  sequential GET /small (13 B)\n  httpool  ####" in chart
    assert "5  2 in flight, GET /small\n  httpool  ####" in chart


def test_png_chart(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "chart.png"
    done = run_cli("--server", "builtin", "--clients", "httpool", "--scenarios", "1,5", "-n", "40",
                   "-c", "2", "--png", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(f"chart: {path}\n")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert "longer is better" not in done.stdout  # the PNG instead of the terminal bars


def test_png_without_matplotlib_draws_in_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    done = run_cli_without(("matplotlib",), "--server", "builtin", "--clients", "httpool",
                           "--scenarios", "1", "-n", "40", "--png", str(path))
    assert done.returncode == 0, done.stderr
    assert not path.exists()
    assert "matplotlib is not installed (pip install matplotlib)" in done.stderr
    assert "the chart is drawn in the terminal instead" in done.stderr
    assert "requests/s, longer is better" in done.stdout
    bars = done.stdout.split("1  sequential GET /small (13 B)\n  httpool  ")[-1]
    assert bars.startswith(("████", "####"))  # "#" where stdout cannot encode the blocks


def test_comparison_without_peers_says_how_to_install_them() -> None:
    done = run_cli_without(PEER_MODULES, "--server", "builtin", "--scenarios", "1", "-n", "20")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "python -m httpool bench: no other HTTP client is installed, so httpool runs alone and is "
        "compared with nothing (not installed: httpx, httpx-async, urllib3, requests, aiohttp, "
        "pycurl). The peers come with the bench extra: pip install \"httpool[bench]\", or "
        "pip install -e \".[bench]\" in a checkout.\n")
    assert ("clients: httpool " + httpool.__version__ + "; not installed: httpx, httpx-async, "
            "urllib3, requests, aiohttp, pycurl\n") in done.stdout
    assert 'No other client ran. To compare: pip install "httpool[bench]"' in done.stdout


def test_asking_for_a_missing_peer_says_how_to_install_it() -> None:
    done = run_cli_without(PEER_MODULES, "--clients", "httpool,aiohttp")
    assert done.returncode == 2
    assert done.stderr == ("python -m httpool bench: error: client 'aiohttp' is not installed: "
                           "pip install aiohttp; all the peers: pip install \"httpool[bench]\", "
                           "or pip install -e \".[bench]\" in a checkout\n")


@pytest.mark.parametrize("args", [["--version"], ["bench", "--version"]])
def test_version(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "httpool", *args], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith(f"httpool {httpool.__version__} from ")
    assert done.stdout.count("\n") == 1 and "Python" in done.stdout
