"""httpbin, the request-echo application, under gunicorn on 127.0.0.1: a real
application server the project did not write, for the policy tests.

gunicorn's gthread worker keeps connections alive (its sync worker closes
every one), so a test can also see connections reused across redirects.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.processes import stop

HOST = "127.0.0.1"


def _listening_at(log: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    """Where gunicorn says it listens: http://127.0.0.1:port (it logs the
    port the OS picked for port 0), or unix:path."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(rb"Listening at: (\S+)", log.read_bytes())
        if found:
            return found[1].decode()
        if process.poll() is not None:
            break
        time.sleep(0.05)   # polling a process's log as it starts: no event to wait for
    raise RuntimeError(f"httpbin under gunicorn did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def running_httpbin(log: Path, start_timeout: float = 30.0, bind: str = f"{HOST}:0") -> Iterator[str]:
    """Start httpbin under gunicorn on `bind` (by default a port the OS
    picks; "unix:PATH" for a Unix socket), yield where it listens (its base
    URL, or unix:PATH), stop it. (--no-control-socket: parallel runs do not
    share one.)"""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", bind, "--no-control-socket",
             "--worker-class", "gthread", "--threads", "8", "--keep-alive", "30",
             "--workers", "1", "httpbin:app"],
            stdout=output, stderr=subprocess.STDOUT)
    try:
        yield _listening_at(log, process, start_timeout)
    finally:
        stop(process)
