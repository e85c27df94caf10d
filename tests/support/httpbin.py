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

HOST = "127.0.0.1"


def _listening_port(log: Path, process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port gunicorn says it listens on (it logs the one the OS picked for port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(rb"Listening at: http://127\.0\.0\.1:(\d+)", log.read_bytes())
        if found:
            return int(found[1])
        if process.poll() is not None:
            break
        time.sleep(0.05)   # polling a process's log as it starts: no event to wait for
    raise RuntimeError(f"httpbin under gunicorn did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def running_httpbin(log: Path, start_timeout: float = 30.0) -> Iterator[str]:
    """Start httpbin under gunicorn on a port the OS picks, yield its base
    URL, stop it. (--no-control-socket: parallel runs do not share one.)"""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:0", "--no-control-socket",
             "--worker-class", "gthread", "--threads", "8", "--keep-alive", "30",
             "--workers", "1", "httpbin:app"],
            stdout=output, stderr=subprocess.STDOUT)
    try:
        yield f"http://{HOST}:{_listening_port(log, process, start_timeout)}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
