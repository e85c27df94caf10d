"""proxy.py, the HTTP and CONNECT proxy from the package index, run as a
subprocess on 127.0.0.1: a proxy the project did not write, for the proxy=
tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpool

from support.processes import stop

HOST = "127.0.0.1"


def _port_of(port_file: Path, log: Path, process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port proxy.py writes to --port-file once it listens (it picked it for --port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text:
            return int(text.split()[0])
        if process.poll() is not None:
            break
        time.sleep(0.05)   # polling a process's file as it starts: no event to wait for
    raise RuntimeError(f"proxy.py did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def running_proxy(directory: Path, basic_auth: str | None = None,
                  start_timeout: float = 30.0) -> Iterator[str]:
    """Start proxy.py on a port the OS picks (with --basic-auth user:pass
    when given), yield its URL http://127.0.0.1:port, stop it."""
    log = directory / "proxy.log"
    port_file = directory / "proxy.port"
    command = [sys.executable, "-m", "proxy", "--hostname", HOST, "--port", "0",
               "--port-file", str(port_file), "--num-workers", "1", "--num-acceptors", "1",
               "--log-level", "WARNING"]
    if basic_auth is not None:
        command += ["--basic-auth", basic_auth]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield f"http://{HOST}:{_port_of(port_file, log, process, start_timeout)}"
    finally:
        stop(process)


def dead_proxy() -> str:
    """The URL of a port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def proxied(response: httpool.Response) -> bool:
    """proxy.py adds Via to the requests it forwards (the first on each connection)."""
    return any(name == "Via" for name, _ in response.json()["headers"])
