"""The server ``python -m httpool bench`` measures against when given no URL.

Both kinds serve the same two bodies on 127.0.0.1, on a port picked at start:
``/small`` (``Hello, world!``, 13 bytes) and ``/1m`` (1 MiB of 16-byte lines
holding their offset).

* ``nginx``, when installed (found on PATH, else at /usr/sbin/nginx): started
  as a child in the foreground (``daemon off``, so the Popen handle is the
  master) with one worker process, a config and document root written to a
  temporary directory removed at stop, and keep-alive for 10^6 requests per
  connection (nginx's default of 1000 would make every client reconnect
  during a run). As root the config says ``user root;``: the default worker
  user could not read the temporary directory. nginx inherits its listening
  socket from us (see spawn_nginx), with the congestion control set there.
  Start-up polls until nginx answers; stop is SIGQUIT (graceful), then
  SIGKILL.
* ``builtin``: ``httpool.bench._server.BenchServer``, compiled, running its
  epoll loop without the GIL in a thread of this process.

``start_server("auto")`` takes nginx when it is installed and falls back to
the built-in server, saying why, when nginx does not start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from httpool.bench._server import ONE_MIB_BODY, SMALL_BODY, BenchServer

__all__ = ["ServerError", "congestion_control", "find_nginx", "listening_socket", "nginx_config",
           "spawn_nginx", "start_server"]

HOST = "127.0.0.1"
_START_TIMEOUT = 5.0
_STOP_TIMEOUT = 3.0

_NGINX_CONFIG = """\
# Written by httpool; everything lives under {work}.
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
lock_file {work}/nginx.lock;
error_log {work}/error.log {log_level};

events {{
    worker_connections {worker_connections};
}}

http {{
    access_log {access_log};
    client_body_temp_path {work}/tmp/client_body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    types {{ text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=16;
    keepalive_timeout {keepalive_timeout};
    keepalive_requests {keepalive_requests};

    server {{
        listen {host}:{port} backlog=4096{listen_ssl};
        server_name localhost;{tls}
        root {work}/html;
        # 13 bytes go out with the head in one writev; sendfile would add a
        # second send and a cork and uncork around the two.
        location = /small {{
            sendfile off;
        }}
{locations}
    }}
}}
"""


_TLS_DIRECTIVES = """
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        ssl_session_tickets on;
        ssl_session_cache shared:SSL:1m;"""


def nginx_config(work: Path, port: int, *, keepalive_timeout: str = "75s",
                 keepalive_requests: int = 1_000_000, worker_connections: int = 4096,
                 log_level: str = "warn", access_log: str = "off", locations: str = "",
                 ssl_certificate: str | None = None, ssl_certificate_key: str | None = None,
                 tls12: bool = False) -> str:
    """An nginx.conf serving the files under work/html on 127.0.0.1:port,
    one worker, everything under `work` (no root-owned paths; `user root`
    only when running as root, so the worker can read the files).

    With `ssl_certificate` (a PEM chain, leaf first) and `ssl_certificate_key`
    the port speaks TLS 1.3 only (`tls12`: TLS 1.2 too), with session tickets
    and a session cache, so clients may resume; without them the config is
    plain HTTP, unchanged."""
    tls = ""
    if ssl_certificate is not None:
        if ssl_certificate_key is None:
            raise ValueError("ssl_certificate needs ssl_certificate_key")
        tls = _TLS_DIRECTIVES.format(certificate=ssl_certificate, key=ssl_certificate_key,
                                     protocols="TLSv1.2 TLSv1.3" if tls12 else "TLSv1.3")
    return _NGINX_CONFIG.format(
        work=work, host=HOST, port=port, user="user root;" if os.geteuid() == 0 else "",
        keepalive_timeout=keepalive_timeout, keepalive_requests=keepalive_requests,
        worker_connections=worker_connections, log_level=log_level, access_log=access_log,
        locations=locations, listen_ssl=" ssl" if tls else "", tls=tls)


class ServerError(RuntimeError):
    """The embedded server did not start."""


def find_nginx() -> str | None:
    """Path of the nginx binary: $HTTPOOL_NGINX, PATH, then /usr/sbin/nginx."""
    candidates = [os.environ.get("HTTPOOL_NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# Congestion control for the server's connections, first available wins.
# The kernel's default may be BBR, which paces every connection at its own
# bandwidth estimate, even on loopback: measured here, 1 MiB took 140 to
# 500 µs to arrive depending on the connection, whatever the client did.
# Loss-based algorithms send a whole window at once on a link without loss.
_CONGESTION_CONTROL = (b"cubic", b"reno")


def listening_socket() -> socket.socket:
    """A listening TCP socket on 127.0.0.1, on a port the kernel picks, for
    a server started with spawn_nginx. Its accepted connections use the
    first of _CONGESTION_CONTROL the kernel allows (else its default)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for algorithm in _CONGESTION_CONTROL:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, algorithm)
                break
            except OSError:
                continue
        sock.bind((HOST, 0))
        sock.listen(4096)
    except BaseException:
        sock.close()
        raise
    return sock


def congestion_control(sock: socket.socket) -> str:
    """The congestion control algorithm `sock` (and what it accepts) uses."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()


def spawn_nginx(binary: str, work: Path, config: Path, error_log: Path,
                listener: socket.socket, output: int | IO[bytes]) -> subprocess.Popen[bytes]:
    """Start nginx with `config`, serving on `listener`.

    The socket is handed over the way nginx's binary upgrade does it (its fd
    in the NGINX environment variable; nginx reuses an inherited socket whose
    address matches a listen directive), so the port is never free between
    picking it and nginx's bind, and the socket's options carry over.
    """
    env = {**os.environ, "NGINX": f"{listener.fileno()};"}
    return subprocess.Popen(
        [binary, "-p", str(work), "-c", str(config), "-e", str(error_log)],
        stdin=subprocess.DEVNULL, stdout=output, stderr=output,
        pass_fds=(listener.fileno(),), env=env)


def _answers(port: int) -> bool:
    """Whether GET /small on port gets the small body back."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(SMALL_BODY)


class NginxServer:
    """nginx as a child process, configured in a temporary directory."""

    name = "nginx"

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self.version = self._version()
        self.congestion_control = "?"
        self._work = Path(tempfile.mkdtemp(prefix="httpool-bench-nginx-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def description(self) -> str:
        return (f"nginx {self.version} ({self.binary}, 1 worker process, "
                f"{self.congestion_control} congestion control)")

    def _version(self) -> str:
        try:
            out = subprocess.run([self.binary, "-v"], capture_output=True, text=True, timeout=5).stderr
        except (OSError, subprocess.SubprocessError):
            return "?"
        return out.strip().rpartition("/")[2] or "?"

    def start(self) -> None:
        (self._work / "tmp").mkdir()
        (self._work / "html").mkdir()
        (self._work / "html" / "small").write_bytes(SMALL_BODY)
        (self._work / "html" / "1m").write_bytes(ONE_MIB_BODY)
        try:
            with listening_socket() as listener:
                self.port = listener.getsockname()[1]
                self.congestion_control = congestion_control(listener)
                config = self._work / "nginx.conf"
                config.write_text(nginx_config(self._work, self.port))
                error_log = self._work / "error.log"
                error_log.write_bytes(b"")
                self._proc = spawn_nginx(self.binary, self._work, config, error_log, listener,
                                         subprocess.DEVNULL)
            deadline = time.monotonic() + _START_TIMEOUT
            while not _answers(self.port):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    log = error_log.read_text(errors="replace").strip().splitlines()
                    raise ServerError(f"nginx did not start: {log[-1] if log else 'no message'}")
                time.sleep(0.01)  # polling another process: nothing to wait on
        except BaseException:
            self.stop()
            raise

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            if proc.poll() is not None:
                return
            proc.send_signal(sig)
            try:
                proc.wait(_STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self._work, ignore_errors=True)


class BuiltinServer:
    """httpool.bench._server in a thread of this process."""

    name = "builtin"
    description = "built-in (httpool.bench._server: epoll, one thread in this process, GIL released)"

    def __init__(self) -> None:
        self._server = BenchServer(HOST, 0)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


EmbeddedServer = NginxServer | BuiltinServer


def start_server(choice: str) -> tuple[EmbeddedServer, str | None]:
    """Start the server `choice` asks for ("auto", "nginx" or "builtin").

    Returns it and, when "auto" fell back to the built-in server although
    nginx is installed, why. Raises ServerError when "nginx" cannot be had.
    """
    binary = find_nginx() if choice != "builtin" else None
    if binary is None and choice == "nginx":
        raise ServerError("nginx is not installed (looked on PATH and at /usr/sbin/nginx)")
    note = None
    if binary is not None:
        nginx = NginxServer(binary)
        try:
            nginx.start()
            return nginx, None
        except (ServerError, OSError) as exc:
            if choice == "nginx":
                raise ServerError(str(exc)) from exc
            note = f"{exc}; using the built-in server"
    builtin = BuiltinServer()
    builtin.start()
    return builtin, note
