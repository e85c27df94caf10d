"""Smoke test of an installed httpool (a wheel in a clean venv, or cibuildwheel's test).

Run it with the interpreter that has httpool installed, from outside the
source tree (`python -I .ci/smoke.py`): it checks that the compiled modules
are the installed ones and load, that the response parser works, that a pool
talks to a local http.server (GET with a body, JSON POST, chunked upload),
and that the licence files are in the distribution's metadata. It needs
nothing but the standard library and httpool.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import sys
import sysconfig
import threading
from pathlib import Path

import httpool
import httpool._parser

LICENSE_FILES = {"LICENSE", "LICENSES/llhttp-LICENSE-MIT", "LICENSES/pyllhttp-LICENSE"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(200, b"hello from http.server")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, json.dumps({"path": self.path, "received": body.decode()}).encode(),
                   "application/json")


def check_installed() -> None:
    package = Path(httpool.__file__).resolve().parent
    parser_module = Path(httpool._parser.__file__).resolve()
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    assert parser_module.name.endswith(suffix), (parser_module, suffix)
    assert "site-packages" in package.parts, f"httpool imported from {package}, not an install"
    modules = sorted(p.relative_to(package).as_posix() for p in package.rglob("*" + suffix))
    assert len(modules) >= 12, modules
    print(f"smoke: httpool {httpool.__version__} from {package}, {len(modules)} compiled modules")


def check_parser() -> None:
    parser = httpool.ResponseParser()
    parser.start(head=False)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Long: " + b"a" * 100
                + b"\r\n\r\nhello")
    assert parser.status_code == 200 and parser.reason == b"OK"
    assert parser.headers[0] == (b"Content-Length", b"5") and parser.headers[1][1] == b"a" * 100
    assert parser.message_complete and parser.keep_alive
    assert parser.take_body() == b"hello"
    parser.start(head=False)
    try:
        parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
    except httpool.RemoteProtocolError:
        pass
    else:
        raise AssertionError("conflicting Content-Length was accepted")
    print("smoke: ResponseParser parsed a response and refused a malformed one")


def check_pool() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with httpool.Pool() as pool:
            r = pool.get(base + "/", timeout=10)
            assert (r.status_code, r.content) == (200, b"hello from http.server"), r
            r = pool.post(base + "/items", json={"name": "x"}, timeout=10)
            assert r.json()["path"] == "/items", r.content
            assert json.loads(r.json()["received"]) == {"name": "x"}, r.content
            r = pool.post(base + "/chunked", body=iter([b"ab", b"cd"]), timeout=10)
            assert r.json()["received"] == "abcd", r.content
            stats = pool.stats()
        print(f"smoke: Pool GET, JSON POST and chunked POST against http.server: ok ({stats!r:.100})")
    finally:
        server.shutdown()
        server.server_close()


def check_licences() -> None:
    dist = importlib.metadata.distribution("httpool")
    declared = set(dist.metadata.get_all("License-File") or [])
    assert declared >= LICENSE_FILES, declared
    shipped = {str(f) for f in dist.files or [] if "/licenses/" in str(f)}
    for name in LICENSE_FILES:
        matches = [f for f in shipped if f.endswith("/licenses/" + name)]
        assert matches, (name, shipped)
        text = Path(dist.locate_file(matches[0])).read_text()
        assert "Permission is hereby granted" in text, name
    print(f"smoke: licence files in the metadata: {', '.join(sorted(LICENSE_FILES))}")


def main() -> int:
    check_installed()
    check_parser()
    check_pool()
    check_licences()
    print(f"smoke: ok on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
