"""A private nginx for tests and benchmarks.

``NginxServer`` runs the system's nginx (Debian's nginx-light is enough) as an
unprivileged-looking child: everything it reads or writes lives in one work
directory (config, pid file, error and access logs, temp paths, the document
root), it listens on one free 127.0.0.1 port, runs one worker, and stays in
the foreground (``daemon off``) so the Popen handle *is* the master process.

    work/nginx.conf     generated; ``nginx -p work -c nginx.conf -e work/error.log``
    work/html/          static files of known sizes (see FILES)
    work/error.log      read it when something looks wrong

Locations served:

    /small /64k /1m /empty   static files, exactly FILES[name] bytes
    /echo...                 ``return 200 "echo\\n"`` for any method; nginx
                             reads and discards a request body
    /nginx_status            stub_status: accepts/handled/requests counters,
                             a server-side proof of connection reuse

With ``ssl_certificate`` and ``ssl_certificate_key`` (PEM files) the port
speaks TLS 1.3 instead (``tls12=True``: TLS 1.2 too), with session tickets and
a session cache, ``url`` starts with ``https://``, and one more location
answers:

    /tls-session             this connection's TLS: ``r`` if its session was
                             resumed, else ``.``, then protocol, cipher and
                             key exchange group (``r TLSv1.3
                             TLS_AES_256_GCM_SHA384 x25519``)

The server's own probes (start-up, stub_status) then use TLS without
verifying the certificate: they check the server, not its certificate.

``files`` (name -> bytes) adds static files to the document root, and
``locations`` adds location blocks to the server block (bench/conftest.py's
``bench_nginx_policy``: a gzip_static document and a redirect).

Keep-alive is on (``keepalive_timeout`` and ``keepalive_requests`` are
parameters).  When a second value is given to ``keepalive_timeout``
(``"1s 1s"``) nginx also sends ``Keep-Alive: timeout=N``.

Start-up waits for nginx to answer a real request, polling with a deadline
(the worker may not be accepting yet when the port is bound).  nginx inherits
its listening socket, bound to a port the kernel picked, from this process
(httpool.bench.embedded_server.spawn_nginx), so no other process can take the port
in between; the socket also sets the connections' congestion control (cubic,
not the kernel's default, which may pace even loopback connections).  Stop sends SIGQUIT (graceful:
idle keep-alive connections are closed at once), then SIGTERM, then SIGKILL.

As root, nginx would switch its worker to ``nobody``, who cannot enter a
pytest tmp directory, so the config then says ``user root;``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from httpool.bench.embedded_server import (
    congestion_control,
    find_nginx,
    listening_socket,
    nginx_config,
    spawn_nginx,
)

HOST = "127.0.0.1"


def pattern(size: int) -> bytes:
    """Deterministic, non-periodic content: 16-byte lines holding their offset.

    A lost or duplicated piece shows up as a wrong offset, not only as a
    wrong length.
    """
    return b"".join(b"%015d\n" % offset for offset in range(0, size, 16))[:size]


FILES: dict[str, bytes] = {
    "small": b"Hello, world!",  # 13 bytes
    "empty": b"",
    "64k": pattern(64 * 1024),
    "1m": pattern(1024 * 1024),
}
ECHO_BODY = b"echo\n"

# The test server's own locations, inside nginx_config()'s server block.
_LOCATIONS = """\
        location /echo {
            default_type text/plain;
            return 200 "echo\\n";
        }
        location = /nginx_status {
            stub_status;
        }
        location / {
        }"""
# With TLS: what the connection negotiated, and whether it resumed a session.
_TLS_LOCATIONS = """
        location = /tls-session {
            default_type text/plain;
            return 200 "$ssl_session_reused $ssl_protocol $ssl_cipher $ssl_curve";
        }"""


class NginxError(RuntimeError):
    """nginx did not start or did not stop."""


class NginxServer:
    """nginx on a free loopback port, configured and owned by this object.

    ``workdir=None`` uses a fresh temporary directory, removed at stop.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        keepalive_timeout: str = "75s",
        keepalive_requests: int = 1000,
        access_log: bool = False,
        worker_connections: int = 4096,
        log_level: str = "warn",
        binary: str | None = None,
        start_timeout: float = 5.0,
        ssl_certificate: str | os.PathLike[str] | None = None,
        ssl_certificate_key: str | os.PathLike[str] | None = None,
        tls12: bool = False,
        files: dict[str, bytes] | None = None,
        locations: str = "",
    ) -> None:
        self.binary = binary or find_nginx()
        self.keepalive_timeout = keepalive_timeout
        self.keepalive_requests = keepalive_requests
        self.access_log = access_log
        self.worker_connections = worker_connections
        self.log_level = log_level
        self.start_timeout = start_timeout
        if (ssl_certificate is None) != (ssl_certificate_key is None):
            raise ValueError("TLS needs both ssl_certificate and ssl_certificate_key")
        self.ssl_certificate = ssl_certificate
        self.ssl_certificate_key = ssl_certificate_key
        self.tls12 = tls12
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.port = 0
        self.congestion_control = "?"
        self.extra_files = dict(files or {})
        self.extra_locations = locations
        self.files = {name: len(body) for name, body in (FILES | self.extra_files).items()}
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        keepalive = f"{self.keepalive_timeout}/{self.keepalive_requests}"
        return f"<NginxServer {self.url} {state} keepalive={keepalive}>"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.ssl_certificate is not None

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def root(self) -> Path:
        """The document root: ``root / name`` holds the bytes served at ``/name``."""
        assert self.workdir is not None
        return self.workdir / "html"

    @property
    def error_log(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "error.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def read_error_log(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- life cycle --------------------------------------------------------

    def __enter__(self) -> NginxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.binary is None:
            raise NginxError("nginx is not installed")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="httpool-nginx-"))
        self._populate()
        try:
            self._launch()
        except BaseException:
            self.stop()
            raise

    def _populate(self) -> None:
        assert self.workdir is not None
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        for name, body in (FILES | self.extra_files).items():
            (self.root / name).write_bytes(body)

    def _write_config(self) -> Path:
        assert self.workdir is not None
        config = self.workdir / "nginx.conf"
        config.write_text(
            nginx_config(
                self.workdir,
                self.port,
                log_level=self.log_level,
                access_log=f"{self.workdir}/access.log" if self.access_log else "off",
                worker_connections=self.worker_connections,
                keepalive_timeout=self.keepalive_timeout,
                keepalive_requests=self.keepalive_requests,
                locations=_LOCATIONS + (_TLS_LOCATIONS if self.tls else "") + self.extra_locations,
                **self._tls_options(),
            )
        )
        return config

    def _tls_options(self) -> dict:
        if not self.tls:
            return {}
        return {"ssl_certificate": os.fspath(self.ssl_certificate),
                "ssl_certificate_key": os.fspath(self.ssl_certificate_key), "tls12": self.tls12}

    def _launch(self) -> None:
        assert self.workdir is not None and self.binary is not None
        with listening_socket() as listener:
            self.port = listener.getsockname()[1]
            self.congestion_control = congestion_control(listener)
            config = self._write_config()
            self.error_log.write_bytes(b"")  # only this start's messages
            with open(self.workdir / "stderr.log", "ab") as stderr:
                self._proc = spawn_nginx(self.binary, self.workdir, config, self.error_log,
                                         listener, stderr)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Poll until nginx answers GET /small; fail early if it exited."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc.poll() is not None:
                raise NginxError(
                    f"nginx exited with {self._proc.returncode}:\n{self.read_error_log()}"
                )
            try:
                if self._probe():
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise NginxError(
                    f"nginx did not answer within {self.start_timeout}s:\n{self.read_error_log()}"
                )
            time.sleep(0.01)  # polling another process: nothing to wait on

    def _probe(self) -> bool:
        reply = self._get("/small", timeout=1.0)
        return reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(FILES["small"])

    def _get(self, path: str, timeout: float) -> bytes:
        """One request on its own connection; the raw reply up to EOF."""
        with self._connect(timeout) as sock:
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                         % path.encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        return reply

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=timeout)
        if not self.tls:
            return sock
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            return context.wrap_socket(sock)
        except BaseException:
            sock.close()
            raise

    def stop(self, timeout: float = 3.0) -> None:
        """Graceful stop (SIGQUIT), then SIGTERM, then SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is not None:
            steps = ((signal.SIGQUIT, timeout), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0))
            for sig, wait in steps:
                if proc.poll() is not None:
                    break
                proc.send_signal(sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                raise NginxError(f"nginx (pid {proc.pid}) survived SIGKILL")
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- introspection -----------------------------------------------------

    def stub_status(self) -> dict[str, int]:
        """nginx's counters: active, accepts, handled, requests, reading,
        writing, waiting.  The query itself is one more accepted connection
        and one more request."""
        reply = self._get("/nginx_status", timeout=2.0)
        body = reply.partition(b"\r\n\r\n")[2].decode()
        lines = body.splitlines()
        accepts, handled, requests = (int(n) for n in lines[2].split())
        tail = lines[3].split()
        return {
            "active": int(lines[0].split(":")[1]),
            "accepts": accepts,
            "handled": handled,
            "requests": requests,
            "reading": int(tail[1]),
            "writing": int(tail[3]),
            "waiting": int(tail[5]),
        }
