"""Raw-socket HTTP/1.1 servers that misbehave on purpose.

The pool's failure tests need peers that do exactly one wrong thing at exactly
the right moment: answer nothing, stall after the headers, close an idle
connection, reset it, send bytes nobody asked for.  A real server cannot be
told to do that, so each scenario here is a *handler*: a plain function that
receives one accepted connection and scripts it byte by byte.

Design
------
``ScriptedServer(handler)`` binds 127.0.0.1 on a port the OS picks (or, with
``uds=path``, a Unix socket at path, removed when it stops), accepts in a
daemon thread and runs ``handler(conn)`` for every connection in a daemon
thread of its own.  Everything it starts ends by itself: the server stops
after ``lifetime`` seconds even if a test forgets it, and ``__exit__`` stops it
at once.  Stopping sets one Event (which ends every ``conn.stall()``) and
shuts every socket down (which ends every blocked ``recv``), so a stop takes
milliseconds, not a timeout; threads are then joined with a bound.

Tests never sleep to wait for the server.  What happened is counted under a
Condition and awaited: ``wait_accepted(n)``, ``wait_requests(n)``,
``wait_closed(n)``.  A connection counts as closed once either side ended it:
the server closed or reset it, or a read saw the client's EOF or RST.
``conn.closed_by`` then says which ("server", "server-reset" or "client"),
so a test can prove that *the pool* closed a connection it timed out.  Each
``wait_*`` returns a bool like ``Event.wait`` (``assert server.wait_closed(1)``),
so a test can also show that something did *not* happen.

Linux facts the handlers rely on (checked by tests/test_servers.py):

* ``close()`` with unread bytes in the receive queue sends RST, not FIN.  The
  handlers read whole requests before closing; ``early_413`` half-closes
  (``shutdown(SHUT_WR)``) and drains the upload so its 413 is not destroyed.
* RST (``SO_LINGER {1, 0}`` then ``close()``) throws away whatever is still in
  *our* send queue, but the peer keeps what it already received: its reads
  return those bytes first, then ECONNRESET.  ``conn.reset()`` therefore waits
  until the send queue is empty (``SIOCOUTQ == 0``) before resetting, so
  "headers then RST" really delivers the headers.
* ``listen(backlog)`` queues backlog + 1 completed connections; once that
  accept queue is full the kernel drops further SYNs (``ListenOverflows``) and
  the client's connect() stays pending while it retransmits SYNs (1 s, 3 s,
  7 s ... until ``tcp_syn_retries`` gives up, ~127 s).  SYN cookies do not
  help the client: they bypass the SYN queue, not the full accept queue.  See
  ``full_backlog_listener``.

Handler errors that are not socket errors (a bug in a handler) are kept in
``server.errors`` and re-raised by ``__exit__``; socket errors are the client's
doing and end the connection quietly.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import socket
import ssl
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus

HOST = "127.0.0.1"
MAX_HEAD = 64 * 1024

Headers = Mapping[str, object] | Iterable[tuple[str, object]]
Handler = Callable[["ServerConn"], None]

# Pieces for partial_response_then_close/reset.
STATUS_LINE_BYTE = b"H"
HEADERS_ONLY = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
GARBAGE = b"\x00\xffSSH-2.0-not-http\r\n\r\n"
STRAY_BODY = b"stray body after HEAD"


class BadRequest(ValueError):
    """The client sent bytes that are not an HTTP/1.1 request."""


# --------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The last value of header ``name`` (case-insensitive)."""
        name = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == name:
                return value
        return default

    def tokens(self, name: str) -> list[str]:
        """Comma-separated tokens of every ``name`` header, lower-cased."""
        name = name.lower()
        return [
            token.strip().lower()
            for key, value in self.headers
            if key.lower() == name
            for token in value.split(",")
            if token.strip()
        ]

    @property
    def wants_close(self) -> bool:
        """The client asked for the connection to end after this exchange."""
        connection = self.tokens("connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" not in connection
        return "close" in connection


def _pairs(headers: Headers | None) -> list[tuple[str, object]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def encode_chunked(body: bytes, chunk_size: int = 1024) -> bytes:
    """``body`` in chunked transfer coding (RFC 9112 section 7.1)."""
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk_size]), body[i : i + chunk_size])
        for i in range(0, len(body), chunk_size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def build_response(
    status: int = 200,
    body: bytes = b"ok",
    headers: Headers | None = None,
    reason: str | None = None,
    *,
    content_length: bool = True,
    chunked: bool = False,
    omit_body: bool = False,
) -> bytes:
    """A complete HTTP/1.1 response.

    Adds ``Content-Length`` (or ``Transfer-Encoding: chunked`` when
    ``chunked``) unless ``headers`` already frame the body or
    ``content_length`` is false.  ``omit_body`` keeps the framing headers but
    sends no body, as a response to HEAD does.
    """
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
    pairs = _pairs(headers)
    names = {name.lower() for name, _ in pairs}
    if chunked:
        if "transfer-encoding" not in names:
            pairs.append(("Transfer-Encoding", "chunked"))
    elif content_length and not names & {"content-length", "transfer-encoding"}:
        pairs.append(("Content-Length", len(body)))
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in pairs]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if omit_body:
        return head
    return head + (encode_chunked(body) if chunked else body)


# --------------------------------------------------------------------------
# Counters
# --------------------------------------------------------------------------


class _Counter:
    """An integer that threads increment and tests wait on."""

    def __init__(self) -> None:
        self._value = 0
        self._cond = threading.Condition()

    @property
    def value(self) -> int:
        with self._cond:
            return self._value

    def increment(self) -> None:
        with self._cond:
            self._value += 1
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._value >= n, timeout)


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


# --------------------------------------------------------------------------
# One accepted connection
# --------------------------------------------------------------------------


class ServerConn:
    """The server's end of one connection, as a handler scripts it.

    ``index`` is the accept order (0, 1, ...); ``requests`` counts requests read
    on this connection; ``closed`` is set once either side ended it, and
    ``closed_by`` says who: "server", "server-reset" or "client".
    """

    def __init__(self, server: ScriptedServer, sock: socket.socket, index: int) -> None:
        self.server = server
        self.sock = sock
        self.index = index
        self.requests = 0
        self.bytes_discarded = 0
        self.closed = threading.Event()
        self.closed_by: str | None = None
        self._buf = bytearray()
        self._lock = threading.Lock()  # guards close/reset/shutdown of sock
        self._sock_closed = False

    def __repr__(self) -> str:
        state = f"closed by {self.closed_by}" if self.closed_by else "open"
        return f"<ServerConn #{self.index} requests={self.requests} {state}>"

    @property
    def tag(self) -> bytes:
        """``conn=<index> req=<n>``: proves which connection served a request."""
        return b"conn=%d req=%d" % (self.index, self.requests)

    # -- bookkeeping -------------------------------------------------------

    def _mark_closed(self, by: str) -> None:
        with self._lock:
            self._mark_closed_locked(by)

    def _mark_closed_locked(self, by: str) -> None:
        if self.closed_by is None:
            self.closed_by = by
            self.closed.set()
            self.server._closed.increment()

    def _saw_eof(self) -> None:
        # An EOF caused by our own shutdown at stop is not the client's doing.
        if not self.server.stopping:
            self._mark_closed("client")

    def _abort(self) -> None:
        """Wake any blocked recv/send on this socket (used at server stop)."""
        with self._lock:
            if not self._sock_closed:
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)

    # -- reading -----------------------------------------------------------

    def _recv_some(self, deadline: float | None) -> bytes:
        """Append what arrives to the buffer; b"" means EOF."""
        remaining = _remaining(deadline)
        if remaining == 0.0:
            raise TimeoutError("timed out waiting for the client")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self._saw_eof()
            raise
        if not data:
            self._saw_eof()
        self._buf += data
        return data

    def _read_until(self, marker: bytes, deadline: float | None, limit: int) -> bytes | None:
        while (end := self._buf.find(marker)) < 0:
            if len(self._buf) > limit:
                raise BadRequest(f"no {marker!r} in the first {limit} bytes")
            if not self._recv_some(deadline):
                if not self._buf:
                    return None
                raise ConnectionAbortedError("the client closed mid-request")
        data = bytes(self._buf[:end])
        del self._buf[: end + len(marker)]
        return data

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        while len(self._buf) < n:
            if not self._recv_some(deadline):
                raise ConnectionAbortedError("the client closed mid-body")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_line(self, deadline: float | None) -> bytes:
        line = self._read_until(b"\r\n", deadline, MAX_HEAD)
        if line is None:
            raise ConnectionAbortedError("the client closed mid-body")
        return line

    def read_request(self, timeout: float | None = 5.0, *, body: bool = True) -> Request | None:
        """Read one request; None if the client closed before sending one.

        ``timeout`` bounds the whole request (None: until the server stops) and
        raises TimeoutError.  With ``body=False`` only the head is read and the
        body stays unread in the socket.  Bodies framed by Content-Length or
        chunked coding are supported.
        """
        deadline = _deadline(timeout)
        while self._buf[:2] == b"\r\n":  # RFC 9112 2.2: ignore leading CRLF
            del self._buf[:2]
        head = self._read_until(b"\r\n\r\n", deadline, MAX_HEAD)
        if head is None:
            return None
        request = self._parse_head(head)
        if body:
            request = Request(
                request.method, request.target, request.version, request.headers,
                self._read_body(request, deadline),
            )
        self.requests += 1
        self.server._requests.increment()
        return request

    @staticmethod
    def _parse_head(head: bytes) -> Request:
        request_line, *lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise BadRequest(f"bad request line {request_line!r}")
        headers = []
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(f"bad header line {line!r}")
            headers.append((name, value.strip()))
        return Request(parts[0], parts[1], parts[2], headers)

    def _read_chunk_size(self, deadline: float | None) -> int:
        line = self._read_line(deadline)
        try:
            return int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest(f"bad chunk size line {line!r}") from None

    def _read_body(self, request: Request, deadline: float | None) -> bytes:
        if request.tokens("transfer-encoding")[-1:] == ["chunked"]:
            chunks = []
            while size := self._read_chunk_size(deadline):
                chunks.append(self._read_exact(size, deadline))
                if self._read_exact(2, deadline) != b"\r\n":
                    raise BadRequest("chunk not followed by CRLF")
            while self._read_line(deadline):  # trailer section
                pass
            return b"".join(chunks)
        length = request.header("content-length")
        if length is None:
            return b""
        if not length.isdigit():
            raise BadRequest(f"bad Content-Length {length!r}")
        return self._read_exact(int(length), deadline)

    def hash_body(self, request: Request, timeout: float | None = 30.0) -> tuple[int, str]:
        """Read a Content-Length body left unread by ``read_request(body=False)``
        in blocks, keeping none of it: its size and SHA-256."""
        deadline = _deadline(timeout)
        left = int(request.header("content-length") or 0)
        digest = hashlib.sha256()
        size = 0
        while left:
            if not self._buf and not self._recv_some(deadline):
                raise ConnectionError(f"the client closed {left} bytes before the body's end")
            block = bytes(self._buf[:min(left, 65536)])
            del self._buf[:len(block)]
            digest.update(block)
            size += len(block)
            left -= len(block)
        return size, digest.hexdigest()

    def wait_client_close(self, timeout: float | None = None) -> bool:
        """Discard input until the client closes (True) or timeout/stop (False).

        An RST from the client counts as a close.  ``timeout=None`` waits until
        the server stops.
        """
        self.bytes_discarded += len(self._buf)
        self._buf.clear()
        deadline = _deadline(timeout)
        while True:
            try:
                data = self._recv_some(deadline)
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
            self.bytes_discarded += len(self._buf)
            self._buf.clear()
            if not data:
                return not self.server.stopping

    # -- writing and ending ------------------------------------------------

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.settimeout(5.0)
        self.sock.sendall(data)

    def send_response(
        self,
        status: int = 200,
        body: bytes = b"ok",
        headers: Headers | None = None,
        reason: str | None = None,
        **framing: bool,
    ) -> None:
        """Send ``build_response(status, body, headers, reason, **framing)``."""
        self.send(build_response(status, body, headers, reason, **framing))

    def stall(self, seconds: float) -> bool:
        """Do nothing for ``seconds``; True (early) if the server is stopping."""
        return self.server._stop.wait(seconds)

    def flush(self, timeout: float = 1.0) -> bool:
        """Wait until the peer acknowledged everything sent (SIOCOUTQ == 0).

        There is no event for "acknowledged", so this polls the queue size;
        on loopback it is empty at once or within a millisecond.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._sock_closed:
                    return False
                raw = fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
            if struct.unpack("i", raw)[0] == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)

    def close_notify(self, *, flush: bool = True) -> None:
        """TLS: send close_notify, without waiting for the client's, and
        keep the TCP connection open; then wait until it is delivered
        (unless flush=False)."""
        self.sock.setblocking(False)
        with contextlib.suppress(ssl.SSLWantReadError):
            self.sock.unwrap()   # the first step writes close_notify; the second would wait
        if flush:
            self.flush()

    def close(self) -> None:
        """Close the socket: FIN (RST if unread input is pending)."""
        with self._lock:
            if not self._sock_closed:
                self._sock_closed = True
                self.sock.close()
                self._mark_closed_locked("server")

    def reset(self) -> None:
        """Abort the connection with RST, after what was sent is delivered."""
        self.flush()
        with self._lock:
            if not self._sock_closed:
                self._sock_closed = True
                with contextlib.suppress(OSError):
                    self.sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.sock.close()
                self._mark_closed_locked("server-reset")

    def finish(self, drain: float = 2.0) -> None:
        """Close politely: FIN first, then discard input for up to ``drain``
        seconds (or until the client's EOF), then close.

        Closing with unread input sends RST at once: any part of our response
        not yet sent is thrown away, and a client still uploading gets
        ECONNRESET from send() and may never read the response (some stacks
        also drop received data on RST).  The half-close delivers response
        and FIN first; the drain lets the client's upload run its course.
        """
        with self._lock:
            if not self._sock_closed:
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            self.wait_client_close(drain)
        self.close()


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class Endpoint:
    """Where a test server listens."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def scheme(self) -> str:
        return "https" if getattr(self, "tls", None) is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port): the key a pool files this server under."""
        return (self.scheme, HOST, self.port)


class ScriptedServer(Endpoint):
    """Run ``handler(conn)`` for every connection accepted on 127.0.0.1, or
    on the Unix socket ``uds`` (a path) when given.

    Use it as a context manager.  It stops by itself after ``lifetime``
    seconds.  ``accepted``, ``requests`` and ``closed`` count events and the
    ``wait_*`` methods await them.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        lifetime: float = 30.0,
        backlog: int = 128,
        join_timeout: float = 2.0,
        tls: ssl.SSLContext | None = None,
        uds: str | None = None,
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.uds = uds
        self.lifetime = lifetime
        self.backlog = backlog
        self.join_timeout = join_timeout
        self.errors: list[BaseException] = []
        self._accepted = _Counter()
        self._requests = _Counter()
        self._closed = _Counter()
        self._conns: list[ServerConn] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()  # guards _conns, _threads, _accepting
        self._stop = threading.Event()
        self._accepting = False
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        super().__init__(port=0)

    def __repr__(self) -> str:
        name = getattr(self.handler, "__name__", repr(self.handler))
        return (
            f"<ScriptedServer {name} {self.url} accepted={self.accepted} "
            f"requests={self.requests} closed={self.closed}>"
        )

    # -- counters ----------------------------------------------------------

    @property
    def accepted(self) -> int:
        return self._accepted.value

    @property
    def requests(self) -> int:
        return self._requests.value

    @property
    def closed(self) -> int:
        return self._closed.value

    @property
    def connections(self) -> list[ServerConn]:
        with self._lock:
            return list(self._conns)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_accepted(self, n: int, timeout: float = 5.0) -> bool:
        """True once ``n`` connections have been accepted."""
        return self._accepted.wait_for(n, timeout)

    def wait_requests(self, n: int, timeout: float = 5.0) -> bool:
        """True once ``n`` requests have been read (over all connections)."""
        return self._requests.wait_for(n, timeout)

    def wait_closed(self, n: int, timeout: float = 5.0) -> bool:
        """True once ``n`` connections have ended, closed by either side."""
        return self._closed.wait_for(n, timeout)

    # -- life cycle --------------------------------------------------------

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        if self.errors and exc is None:
            raise self.errors[0]

    def start(self) -> None:
        listener = socket.socket(socket.AF_UNIX if self.uds else socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(self.uds or (HOST, 0))
            listener.listen(self.backlog)
            listener.setblocking(False)
            self._wake_r, self._wake_w = socket.socketpair()
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        if not self.uds:
            self.port = listener.getsockname()[1]
        self._accepting = True
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"scripted-{self.port}-accept", daemon=True
        )
        self._accept_thread.start()

    def stop(self) -> None:
        """Stop accepting, end every connection and join threads (bounded)."""
        self._stop.set()
        with self._lock:
            if self._accepting:
                self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(self.join_timeout)
        self._abort_connections()
        deadline = time.monotonic() + self.join_timeout
        for thread in list(self._threads):
            thread.join(_remaining(deadline))
        for conn in self.connections:  # only a handler stuck past the bound
            conn.close()

    def _abort_connections(self) -> None:
        for conn in self.connections:
            conn._abort()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        deadline = time.monotonic() + self.lifetime
        # poll, not select: a test with many connections may pass fd 1024.
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                events = poller.poll(remaining * 1000)
                if any(fd == self._listener.fileno() for fd, _ in events):
                    self._accept_one()
        finally:
            self._stop.set()
            with self._lock:
                self._accepting = False
                self._listener.close()
                if self.uds:
                    os.unlink(self.uds)   # closing a Unix listener leaves its file
                self._wake_r.close()
                self._wake_w.close()
            self._abort_connections()  # lifetime over: end the handlers too

    def _accept_one(self) -> None:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        if not self.uds:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            conn = ServerConn(self, sock, len(self._conns))
            thread = threading.Thread(
                target=self._serve,
                args=(conn,),
                name=f"scripted-{self.port}-conn{conn.index}",
                daemon=True,
            )
            self._conns.append(conn)
            self._threads.append(thread)
        self._accepted.increment()
        thread.start()

    def _serve(self, conn: ServerConn) -> None:
        try:
            if self.tls is not None:
                # The handshake runs here, in the connection's thread: a
                # handler scripts what follows it.
                conn.sock.settimeout(5.0)
                conn.sock = self.tls.wrap_socket(conn.sock, server_side=True)
            self.handler(conn)
        except BadRequest as exc:
            with contextlib.suppress(OSError):
                conn.send_response(400, str(exc).encode(), {"Connection": "close"})
        except OSError:
            pass  # the client went away, timed out, or the server is stopping
        except BaseException as exc:  # a bug in the handler: report at __exit__
            self.errors.append(exc)
        finally:
            conn.close()


# --------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------


def _named(name: str) -> Callable[[Handler], Handler]:
    def rename(handler: Handler) -> Handler:
        handler.__name__ = handler.__qualname__ = name
        return handler

    return rename


def respond(
    conn: ServerConn,
    request: Request,
    body: bytes | None = None,
    headers: Headers | None = None,
    status: int = 200,
) -> None:
    """The standard answer: ``body`` (default ``conn.tag``), the headers
    ``X-Conn``/``X-Request``, no body for HEAD, ``Connection: close`` echoed."""
    pairs = [("X-Conn", conn.index), ("X-Request", conn.requests), *_pairs(headers)]
    if request.wants_close and all(name.lower() != "connection" for name, _ in pairs):
        pairs.append(("Connection", "close"))
    conn.send_response(
        status,
        conn.tag if body is None else body,
        pairs,
        omit_body=request.method == "HEAD",
    )


def _serve_requests(
    conn: ServerConn,
    answer: Callable[[ServerConn, Request], None],
    idle_timeout: float | None = None,
) -> None:
    """Read and answer requests until the client closes or asks to close."""
    while (request := conn.read_request(timeout=idle_timeout)) is not None:
        answer(conn, request)
        if request.wants_close:
            return


def keep_alive(
    body: bytes | None = None, *, headers: Headers | None = None, idle_timeout: float | None = None
) -> Handler:
    """Serve any number of requests per connection; body ``conn=I req=N``
    unless ``body`` is given.  Idle connections stay open until the client
    closes, ``idle_timeout`` passes, or the server stops."""

    @_named("keep_alive")
    def handler(conn: ServerConn) -> None:
        _serve_requests(conn, lambda c, r: respond(c, r, body, headers), idle_timeout)

    return handler


def _echo_answer(conn: ServerConn, request: Request) -> None:
    doc = {
        "conn": conn.index,
        "request": conn.requests,
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
    }
    respond(conn, request, json.dumps(doc).encode(), {"Content-Type": "application/json"})


def echo(conn: ServerConn) -> None:
    """Keep-alive; the body is JSON describing the request as received."""
    _serve_requests(conn, _echo_answer)


# A route's answer: (status, body, headers).
Answer = tuple[int, bytes, Headers]


def routes(table: Mapping[str, Callable[[Request], Answer]]) -> Handler:
    """Keep-alive; a request whose path (its target without the query) is in
    ``table`` gets that route's answer, any other the JSON of ``echo``."""

    @_named("routes")
    def handler(conn: ServerConn) -> None:
        def answer(conn: ServerConn, request: Request) -> None:
            route = table.get(request.target.partition("?")[0])
            if route is None:
                _echo_answer(conn, request)
                return
            status, body, headers = route(request)
            respond(conn, request, body, headers, status)

        _serve_requests(conn, answer)

    return handler


def never_answer(conn: ServerConn) -> None:
    """Read the request and never respond; notice when the client gives up."""
    if conn.read_request(timeout=None) is not None:
        conn.wait_client_close()


def headers_then_stall(conn: ServerConn) -> None:
    """Send headers announcing 100 body bytes, then nothing."""
    if conn.read_request(timeout=None) is not None:
        conn.send(HEADERS_ONLY)
        conn.wait_client_close()


def close_idle_after(ms: float) -> Handler:
    """Serve keep-alive, but FIN a connection idle for ``ms`` milliseconds."""

    @_named(f"close_idle_after({ms})")
    def handler(conn: ServerConn) -> None:
        with contextlib.suppress(TimeoutError):
            _serve_requests(conn, respond, idle_timeout=ms / 1000)
        conn.close()

    return handler


def reset_after_response(conn: ServerConn) -> None:
    """Answer one request as if keeping the connection alive, then RST it."""
    request = conn.read_request(timeout=None)
    if request is not None:
        respond(conn, request)
        conn.reset()


def close_after_n_requests(n: int) -> Handler:
    """Serve ``n`` keep-alive responses, then close silently (no
    ``Connection: close`` warning)."""

    @_named(f"close_after_n_requests({n})")
    def handler(conn: ServerConn) -> None:
        for _ in range(n):
            request = conn.read_request(timeout=None)
            if request is None:
                return
            respond(conn, request)
        conn.close()

    return handler


def keep_alive_timeout(n: int, *, close_after: float | None = None) -> Handler:
    """Send ``Keep-Alive: timeout=N`` and close connections idle for
    ``close_after`` seconds (default ``n``), as nginx does."""

    @_named(f"keep_alive_timeout({n})")
    def handler(conn: ServerConn) -> None:
        headers = {"Keep-Alive": f"timeout={n}"}
        with contextlib.suppress(TimeoutError):
            _serve_requests(
                conn,
                lambda c, r: respond(c, r, headers=headers),
                idle_timeout=n if close_after is None else close_after,
            )
        conn.close()

    return handler


def connection_close(conn: ServerConn) -> None:
    """Answer with ``Connection: close``, then close."""
    request = conn.read_request(timeout=None)
    if request is not None:
        respond(conn, request, headers={"Connection": "close"})
        conn.close()


def garbage(conn: ServerConn) -> None:
    """Answer with bytes that are not HTTP, then close."""
    if conn.read_request(timeout=None) is not None:
        conn.send(GARBAGE)
        conn.close()


def send_408_when_idle(ms: float) -> Handler:
    """Serve keep-alive; after ``ms`` milliseconds idle send an unsolicited
    ``408 Request Timeout`` with ``Connection: close``, then close."""

    @_named(f"send_408_when_idle({ms})")
    def handler(conn: ServerConn) -> None:
        try:
            _serve_requests(conn, respond, idle_timeout=ms / 1000)
        except TimeoutError:
            conn.send_response(408, b"", {"Connection": "close"})
        conn.close()

    return handler


def head_with_stray_body(conn: ServerConn) -> None:
    """Keep-alive; a HEAD response announces a body and then really sends it."""

    def answer(conn: ServerConn, request: Request) -> None:
        respond(conn, request, STRAY_BODY)
        if request.method == "HEAD":
            conn.send(STRAY_BODY)

    _serve_requests(conn, answer)


def early_413(conn: ServerConn) -> None:
    """Reject the upload after its head: 413 + ``Connection: close`` while the
    body is still coming, then half-close and drain so the 413 survives."""
    if conn.read_request(timeout=None, body=False) is not None:
        conn.send_response(413, b"too large", {"Connection": "close"})
        conn.finish(drain=2.0)


def slowloris_body(interval: float, *, length: int = 10) -> Handler:
    """Announce ``length`` body bytes, then send one every ``interval`` s."""

    @_named(f"slowloris_body({interval})")
    def handler(conn: ServerConn) -> None:
        while conn.read_request(timeout=None) is not None:
            conn.send(build_response(200, b"x" * length, omit_body=True))
            for _ in range(length):
                if conn.stall(interval):
                    return
                conn.send(b"x")

    return handler


def reset_before_response(conn: ServerConn) -> None:
    """Read the request, then RST: zero response bytes."""
    if conn.read_request(timeout=None) is not None:
        conn.reset()


def close_before_response(conn: ServerConn) -> None:
    """Read the request, then FIN: zero response bytes."""
    if conn.read_request(timeout=None) is not None:
        conn.close()


def partial_response_then_close(part: bytes = STATUS_LINE_BYTE) -> Handler:
    """Send ``part`` of a response (one byte, or ``HEADERS_ONLY``), then FIN."""

    @_named("partial_response_then_close")
    def handler(conn: ServerConn) -> None:
        if conn.read_request(timeout=None) is not None:
            conn.send(part)
            conn.close()

    return handler


def partial_response_then_reset(part: bytes = STATUS_LINE_BYTE) -> Handler:
    """Send ``part`` of a response (one byte, or ``HEADERS_ONLY``), then RST."""

    @_named("partial_response_then_reset")
    def handler(conn: ServerConn) -> None:
        if conn.read_request(timeout=None) is not None:
            conn.send(part)
            conn.reset()

    return handler


# --------------------------------------------------------------------------
# Ports that do not serve
# --------------------------------------------------------------------------


@contextlib.contextmanager
def full_backlog_listener(*, probe: float = 0.05, max_fill: int = 16, host: str = HOST,
                          port: int = 0) -> Iterator[Endpoint]:
    """A listener that never accepts and whose accept queue is full, so a
    further connect() stays pending (a connect timeout on loopback).

    Linux queues backlog + 1 handshakes for ``listen(backlog)`` and then drops
    SYNs, SYN cookies or not.  Rather than trusting the "+ 1" the queue is
    filled adaptively: connections are opened until one has not completed
    after ``probe`` seconds; that one and all before it are held open until
    exit.  The pending one keeps retransmitting SYNs that are dropped as well.

    Measured on Linux 6.18 (tcp_syncookies=1, tcp_abort_on_overflow=0):
    listen(0), listen(1), listen(2) let 1, 2, 3 handshakes complete; the next
    non-blocking connect stayed pending for a 4.5 s watch (through the SYN
    retransmits at 1 s and 3 s), ``TcpExtListenOverflows`` grew with each
    dropped SYN and ``TcpExtSyncookiesSent`` stayed 0.  A blocking connect
    with a timeout raises TimeoutError.  It cannot pend forever: after
    ``tcp_syn_retries`` (6: ~127 s) connect() fails with ETIMEDOUT.

    ``host`` and ``port`` place it (an IPv6 host such as ``::1`` too), e.g.
    beside a server on 127.0.0.1 at the same port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    fill: list[socket.socket] = []
    try:
        listener.bind((host, port))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(max_fill):
            sock = socket.socket(family, socket.SOCK_STREAM)
            fill.append(sock)
            sock.setblocking(False)
            sock.connect_ex(address)
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            if not poller.poll(probe * 1000):
                break
        else:
            raise RuntimeError(f"accept queue still not full after {max_fill} connections")
        yield Endpoint(address[1])
    finally:
        for sock in fill:
            sock.close()
        listener.close()


def closed_port() -> int:
    """A loopback port with nothing listening: connect() is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# Leak checks
# --------------------------------------------------------------------------


def socket_fd_count() -> int:
    """How many of this process's file descriptors are sockets."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
        except FileNotFoundError:  # the fd listdir itself used, now closed
            pass
    return count


@contextlib.contextmanager
def assert_no_socket_leak() -> Iterator[None]:
    """Fail if the block leaves more sockets open than it found.

    Servers started inside the block must be stopped inside it too.
    """
    before = socket_fd_count()
    yield
    after = socket_fd_count()
    assert after <= before, f"{after - before} socket(s) leaked ({before} before, {after} after)"
