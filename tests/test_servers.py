"""The test servers themselves, checked with plain blocking sockets.

Each scripted misbehaviour is shown to happen on the wire exactly as
support/servers.py documents it (a FIN is an EOF, an RST is ECONNRESET,
partial bytes arrive before either), because the pool tests will trust these
servers to tell them what the pool saw.  The whole file runs in a few seconds.
"""

from __future__ import annotations

import errno
import json
import select
import socket
import threading
import time

import pytest

from support import servers
from support.nginx import ECHO_BODY, FILES, NginxServer
from support.servers import ScriptedServer

# --------------------------------------------------------------------------
# A minimal client
# --------------------------------------------------------------------------


def connect(server: servers.Endpoint, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(server.address, timeout=timeout)


def request(
    path: str = "/", method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body and not headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_head(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str]]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"EOF inside the response head: {bytes(buf)!r}"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers


Response = tuple[int, dict[str, str], bytes]


def read_response(sock: socket.socket, head_only: bool = False) -> Response:
    """One Content-Length framed response; leftovers are a test failure."""
    buf = bytearray()
    status, headers = read_head(sock, buf)
    length = 0 if head_only else int(headers.get("content-length", 0))
    while len(buf) < length:
        chunk = sock.recv(65536)
        assert chunk, "EOF inside the response body"
        buf += chunk
    assert len(buf) == length, f"unexpected bytes after the response: {bytes(buf[length:])!r}"
    return status, headers, bytes(buf)


def exchange(sock: socket.socket, path: str = "/", **kwargs: object) -> Response:
    sock.sendall(request(path, **kwargs))  # type: ignore[arg-type]
    return read_response(sock, head_only=kwargs.get("method") == "HEAD")


def recv_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def assert_reset(sock: socket.socket) -> None:
    with pytest.raises(ConnectionResetError):
        sock.recv(1)


# --------------------------------------------------------------------------
# ScriptedServer: counters, events, life cycle
# --------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection_and_counts(no_socket_leak: None) -> None:
    with ScriptedServer(servers.keep_alive()) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.origin == ("http", "127.0.0.1", server.port)
        with connect(server) as sock:
            assert exchange(sock)[2] == b"conn=0 req=1"
            status, headers, body = exchange(sock)
            assert (status, body) == (200, b"conn=0 req=2")
            assert (headers["x-conn"], headers["x-request"]) == ("0", "2")
            assert server.wait_requests(2, 1) and server.accepted == 1
        with connect(server) as sock:
            assert exchange(sock)[2] == b"conn=1 req=1"
        assert server.wait_closed(2, 2)
        assert [c.closed_by for c in server.connections] == ["client", "client"]
        assert (server.accepted, server.requests) == (2, 3)


def test_keep_alive_head_has_length_but_no_body() -> None:
    with ScriptedServer(servers.keep_alive(b"12345")) as server, connect(server) as sock:
        status, headers, body = exchange(sock, method="HEAD")
        assert (status, headers["content-length"], body) == (200, "5", b"")
        assert exchange(sock)[2] == b"12345"  # nothing stray was left behind


def test_connection_close_requested_by_client_is_honoured() -> None:
    with ScriptedServer(servers.keep_alive()) as server, connect(server) as sock:
        _, headers, _ = exchange(sock, headers={"Connection": "close"})
        assert headers["connection"] == "close"
        assert recv_until_eof(sock) == b""
        assert server.wait_closed(1, 2) and server.connections[0].closed_by == "server"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_echo_reads_request_bodies(chunked: bool) -> None:
    payload = b"x" * 3000 + b"end"
    if chunked:
        framing = {"Transfer-Encoding": "chunked"}
        body = servers.encode_chunked(payload, chunk_size=1000)
    else:
        framing = {"Content-Length": str(len(payload))}
        body = payload
    with ScriptedServer(servers.echo) as server, connect(server) as sock:
        status, _, raw = exchange(sock, "/upload?x=1", method="POST", headers=framing, body=body)
        doc = json.loads(raw)
        assert (status, doc["method"], doc["target"]) == (200, "POST", "/upload?x=1")
        assert doc["body"].encode("latin-1") == payload
        assert ["Host", "127.0.0.1"] in doc["headers"]
        assert json.loads(exchange(sock)[2])["request"] == 2


def test_bad_request_gets_400() -> None:
    with ScriptedServer(servers.keep_alive()) as server, connect(server) as sock:
        sock.sendall(b"NOT-HTTP\r\n\r\n")
        assert recv_until_eof(sock).startswith(b"HTTP/1.1 400 ")
    assert not server.errors


def test_wait_functions_report_false_on_timeout() -> None:
    with ScriptedServer(servers.keep_alive()) as server:
        assert not server.wait_accepted(1, 0.05)
        assert not server.wait_requests(1, 0.0)
        assert not server.wait_closed(1, 0.0)


def test_stop_is_prompt_and_ends_stalled_handlers(no_socket_leak: None) -> None:
    with connect_to_stalled_server() as (server, sock):
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 0.5
        assert recv_until_eof(sock) == b""  # the server's shutdown reached us
        assert server.connections[0].closed_by == "server"
        prefix = f"scripted-{server.port}-"
        assert not [t for t in threading.enumerate() if t.name.startswith(prefix)]


class connect_to_stalled_server:
    """A never_answer server holding one connection with a request in it."""

    def __enter__(self) -> tuple[ScriptedServer, socket.socket]:
        self.server = ScriptedServer(servers.never_answer).__enter__()
        self.sock = connect(self.server)
        self.sock.sendall(request())
        assert self.server.wait_requests(1, 2)
        return self.server, self.sock

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()
        self.server.__exit__(*exc_info)


def test_lifetime_stops_the_server_by_itself() -> None:
    with ScriptedServer(servers.never_answer, lifetime=0.2) as server, connect(server) as sock:
        sock.sendall(request())
        assert recv_until_eof(sock) == b""  # within the 2 s socket timeout
        assert server.stopping
        with pytest.raises(ConnectionRefusedError):
            connect(server).close()


def test_handler_bug_is_reraised_at_exit() -> None:
    def buggy(conn: servers.ServerConn) -> None:
        raise LookupError("handler bug")

    with pytest.raises(LookupError, match="handler bug"):
        with ScriptedServer(buggy) as server, connect(server) as sock:
            assert recv_until_eof(sock) == b""


# --------------------------------------------------------------------------
# The scenarios
# --------------------------------------------------------------------------


def test_never_answer_notices_the_client_giving_up() -> None:
    with ScriptedServer(servers.never_answer) as server:
        with connect(server, timeout=0.1) as sock:
            sock.sendall(request())
            with pytest.raises(TimeoutError):
                sock.recv(1)
            assert not server.wait_closed(1, 0.0)
        assert server.wait_closed(1, 2)
        assert server.connections[0].closed_by == "client"


def test_headers_then_stall() -> None:
    with ScriptedServer(servers.headers_then_stall) as server, connect(server, timeout=0.1) as sock:
        sock.sendall(request())
        status, headers = read_head(sock, buf := bytearray())
        assert (status, headers["content-length"], buf) == (200, "100", bytearray())
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_close_idle_after_sends_fin_to_an_idle_connection() -> None:
    with ScriptedServer(servers.close_idle_after(50)) as server, connect(server) as sock:
        assert exchange(sock)[2] == b"conn=0 req=1"
        assert server.wait_closed(1, 2)
        assert server.connections[0].closed_by == "server"
        assert sock.recv(1) == b""


def test_reset_after_response_delivers_response_then_rst() -> None:
    with ScriptedServer(servers.reset_after_response) as server, connect(server) as sock:
        sock.sendall(request())
        assert server.wait_closed(1, 2)  # the RST has been sent...
        assert read_response(sock)[2] == b"conn=0 req=1"  # ...yet the response is intact
        assert server.connections[0].closed_by == "server-reset"
        assert_reset(sock)


def test_close_after_n_requests_closes_without_warning() -> None:
    with ScriptedServer(servers.close_after_n_requests(2)) as server, connect(server) as sock:
        for n in (1, 2):
            _, headers, body = exchange(sock)
            assert body == b"conn=0 req=%d" % n and "connection" not in headers
        assert sock.recv(1) == b""


def test_keep_alive_timeout_advertises_and_closes() -> None:
    handler = servers.keep_alive_timeout(1, close_after=0.05)
    with ScriptedServer(handler) as server, connect(server) as sock:
        _, headers, _ = exchange(sock)
        assert headers["keep-alive"] == "timeout=1"
        assert sock.recv(1) == b""


def test_connection_close() -> None:
    with ScriptedServer(servers.connection_close) as server, connect(server) as sock:
        _, headers, _ = exchange(sock)
        assert headers["connection"] == "close"
        assert sock.recv(1) == b""


def test_garbage() -> None:
    with ScriptedServer(servers.garbage) as server, connect(server) as sock:
        sock.sendall(request())
        data = recv_until_eof(sock)
        assert data == servers.GARBAGE and not data.startswith(b"HTTP/")


def test_send_408_when_idle() -> None:
    with ScriptedServer(servers.send_408_when_idle(50)) as server, connect(server) as sock:
        assert exchange(sock)[0] == 200
        status, headers, body = read_response(sock)  # unsolicited
        assert (status, headers["connection"], body) == (408, "close", b"")
        assert sock.recv(1) == b""


def test_head_with_stray_body() -> None:
    with ScriptedServer(servers.head_with_stray_body) as server, connect(server) as sock:
        sock.sendall(request(method="HEAD"))
        buf = bytearray()
        _, headers = read_head(sock, buf)
        assert headers["content-length"] == str(len(servers.STRAY_BODY))
        while len(buf) < len(servers.STRAY_BODY):
            buf += sock.recv(100)
        assert buf == servers.STRAY_BODY


def test_early_413_survives_an_ongoing_upload() -> None:
    """The client pushes a 16 MiB body without reading; the 413 must still
    be readable afterwards, not destroyed by an RST."""
    size = 16 * 1024 * 1024
    with ScriptedServer(servers.early_413) as server:
        with connect(server) as sock:
            sock.sendall(request("/upload", method="POST", headers={"Content-Length": str(size)}))
            assert server.wait_requests(1, 2)
            sent = 0
            while sent < size:  # the server discards it while it drains
                sent += sock.send(b"\0" * min(1 << 20, size - sent))
            response = recv_until_eof(sock)
            assert response.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in response
            assert response.endswith(b"too large")
        assert server.wait_closed(1, 1)  # the drain ended at our close, not at its bound
        assert server.connections[0].closed_by == "client"


def test_early_413_when_client_stops_uploading() -> None:
    """Read the 413 mid-upload, then close: what a pool does."""
    with ScriptedServer(servers.early_413) as server:
        with connect(server) as sock:
            sock.sendall(request("/upload", method="POST", headers={"Content-Length": "100000000"}))
            sock.sendall(b"\0" * 65536)
            status, headers, body = read_response(sock)
            assert (status, headers["connection"], body) == (413, "close", b"too large")
            assert sock.recv(1) == b""  # the half-close
        assert server.wait_closed(1, 1)
        assert server.connections[0].closed_by == "client"


def test_slowloris_body_trickles() -> None:
    with ScriptedServer(servers.slowloris_body(0.02, length=3)) as server, connect(server) as sock:
        started = time.monotonic()
        sock.sendall(request())
        status, headers = read_head(sock, buf := bytearray())
        assert (status, headers["content-length"]) == (200, "3")
        pieces = [bytes(buf)] if buf else []
        while sum(map(len, pieces)) < 3:
            pieces.append(sock.recv(10))
        assert pieces == [b"x", b"x", b"x"]
        assert time.monotonic() - started >= 0.06


def test_reset_before_response_sends_zero_bytes() -> None:
    with ScriptedServer(servers.reset_before_response) as server, connect(server) as sock:
        sock.sendall(request())
        assert server.wait_closed(1, 2)
        assert_reset(sock)


def test_close_before_response_sends_zero_bytes() -> None:
    with ScriptedServer(servers.close_before_response) as server, connect(server) as sock:
        sock.sendall(request())
        assert sock.recv(1) == b""


PARTS = pytest.mark.parametrize(
    "part", [servers.STATUS_LINE_BYTE, servers.HEADERS_ONLY], ids=["byte", "headers"]
)


@PARTS
def test_partial_response_then_close(part: bytes) -> None:
    handler = servers.partial_response_then_close(part)
    with ScriptedServer(handler) as server, connect(server) as sock:
        sock.sendall(request())
        assert recv_until_eof(sock) == part


@PARTS
def test_partial_response_then_reset(part: bytes) -> None:
    handler = servers.partial_response_then_reset(part)
    with ScriptedServer(handler) as server, connect(server) as sock:
        sock.sendall(request())
        assert server.wait_closed(1, 2)
        data = b""
        with pytest.raises(ConnectionResetError):
            while True:
                data += sock.recv(1000)
        assert data == part


# --------------------------------------------------------------------------
# Ports that do not serve; leak counting
# --------------------------------------------------------------------------


def test_full_backlog_connect_stays_pending(no_socket_leak: None) -> None:
    with servers.full_backlog_listener() as endpoint:
        with socket.socket() as sock:
            sock.setblocking(False)
            assert sock.connect_ex(endpoint.address) == errno.EINPROGRESS
            _, writable, _ = select.select([], [sock], [], 0.3)
            assert not writable
        with pytest.raises(TimeoutError):
            socket.create_connection(endpoint.address, timeout=0.1).close()


def test_closed_port_refuses() -> None:
    port = servers.closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_socket_fd_count() -> None:
    before = servers.socket_fd_count()
    a, b = socket.socketpair()
    assert servers.socket_fd_count() == before + 2
    a.close()
    b.close()
    assert servers.socket_fd_count() == before
    with pytest.raises(AssertionError, match="1 socket"):
        with servers.assert_no_socket_leak():
            leaked = socket.socket()
    leaked.close()


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------


def test_nginx_serves_files_on_one_connection(nginx: NginxServer) -> None:
    before = nginx.stub_status()
    with connect(nginx) as sock:
        status, headers, body = exchange(sock, "/small")
        assert (status, body, headers["connection"]) == (200, b"Hello, world!", "keep-alive")
        for name in ("64k", "1m", "empty", "small"):
            assert exchange(sock, f"/{name}")[2] == FILES[name]
        assert exchange(sock, "/echo", method="POST", body=b"ignored")[2] == ECHO_BODY
        assert (nginx.root / "1m").stat().st_size == nginx.files["1m"] == 1 << 20
    after = nginx.stub_status()
    # One connection for our six requests, one for the status query itself.
    assert (after["accepts"] - before["accepts"], after["requests"] - before["requests"]) == (2, 7)


def test_nginx_short_keepalive_closes_after_3_requests(nginx_short_keepalive: NginxServer) -> None:
    with connect(nginx_short_keepalive) as sock:
        for _n in (1, 2):
            _, headers, _ = exchange(sock, "/small")
            assert (headers["connection"], headers["keep-alive"]) == ("keep-alive", "timeout=1")
        _, headers, _ = exchange(sock, "/small")
        assert headers["connection"] == "close"
        assert sock.recv(1) == b""


def test_nginx_short_keepalive_closes_idle_connection(nginx_short_keepalive: NginxServer) -> None:
    with connect(nginx_short_keepalive, timeout=3) as sock:
        exchange(sock, "/small")
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert 0.5 < time.monotonic() - started < 2.5
