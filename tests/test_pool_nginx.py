"""httpool against a real server: Debian's nginx (see tests/support/nginx.py).

The raw-socket servers of support/servers.py prove what the pool does when a
peer misbehaves; these tests prove it talks to a server that behaves like the
ones users run: exact bytes of static files, keep-alive over hundreds of requests
(nginx's stub_status confirms one accepted connection), drain or close of an
early-released body, nginx's own `Connection: close` after keepalive_requests
and its `Keep-Alive: timeout=1`, and one pool shared by threads.

The fixtures are session-scoped (one nginx each) and skip when nginx is not
installed.  nginx counters are compared as differences, since other tests of
the session use the same server.
"""

from __future__ import annotations

import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.nginx import ECHO_BODY, FILES, NginxServer


def served(nginx: NginxServer, name: str) -> bytes:
    """The bytes nginx serves at /name, read from its document root."""
    body = (nginx.root / name).read_bytes()
    assert body == FILES[name] and len(body) == nginx.files[name]
    return body


@pytest.mark.parametrize("name", ["small", "64k", "1m", "empty"])
def test_static_files_arrive_exactly(no_socket_leak, nginx, name):
    expected = served(nginx, name)
    with httpool.Pool() as pool:
        response = pool.get(f"{nginx.url}/{name}")
        assert (response.status_code, response.reason, response.http_version) == (200, "OK", "HTTP/1.1")
        assert response.headers["content-length"] == str(len(expected))
        assert response.headers["server"].startswith("nginx")
        assert response.content == expected
        stats = assert_consistent(pool)
        assert (stats.opened, stats.idle, stats.closed.total) == (1, 1, 0)
    if name == "small":
        assert len(response.content) == 13 and response.text == "Hello, world!"


def test_missing_file_is_a_404_on_a_kept_connection(no_socket_leak, nginx):
    with httpool.Pool() as pool:
        response = pool.get(nginx.url + "/no-such-file")
        assert response.status_code == 404
        with pytest.raises(httpool.HTTPStatusError, match="404"):
            response.raise_for_status()
        assert pool.get(nginx.url + "/small").content == FILES["small"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused) == (1, 1)


def test_200_sequential_requests_reuse_one_connection(no_socket_leak, nginx):
    paths = ["/small", "/64k", "/empty", "/echo"]
    before = nginx.stub_status()
    with httpool.Pool() as pool:
        for i in range(200):
            path = paths[i % len(paths)]
            response = pool.get(nginx.url + path)
            assert response.status_code == 200
            expected = ECHO_BODY if path == "/echo" else FILES[path[1:]]
            assert response.content == expected, (i, path)
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.requests) == (1, 199, 200)
        assert (stats.closed.total, stats.drained, stats.retried) == (0, 0, 0)
    after = nginx.stub_status()
    # nginx's view: one connection for the pool plus one for the `after`
    # status query itself; 200 requests plus that query.
    assert after["accepts"] - before["accepts"] == 2
    assert after["requests"] - before["requests"] == 201


def test_head(no_socket_leak, nginx):
    with httpool.Pool() as pool:
        for name in ("small", "1m"):
            response = pool.head(f"{nginx.url}/{name}")
            assert response.status_code == 200
            assert response.headers["content-length"] == str(len(FILES[name]))
            assert response.content == b""
        assert pool.get(nginx.url + "/small").content == FILES["small"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.closed.total) == (1, 2, 0)


def test_post_to_echo(no_socket_leak, nginx):
    """nginx reads and discards request bodies of any length and keeps the
    connection."""
    with httpool.Pool() as pool:
        bodies = [b"", b"small body", b"p" * 200_000, "text \u00e9"]
        for body in bodies:
            response = pool.post(nginx.url + "/echo", body=body)
            assert (response.status_code, response.content) == (200, ECHO_BODY)
        assert pool.post(nginx.url + "/echo", json={"a": [1, 2]}).content == ECHO_BODY
        assert pool.put(nginx.url + "/echo", body=b"x").content == ECHO_BODY
        stats = assert_consistent(pool)
        assert stats.requests == len(bodies) + 2
        assert (stats.opened, stats.closed.total) == (1, 0)


def test_chunked_post_answered_before_its_end_is_not_reused(no_socket_leak, nginx):
    """nginx's `return` answers once the head is read; when that answer
    arrives while chunks are still going out, the upload stops and the
    connection is closed as early_response, never reused."""

    def chunks():
        for _ in range(10):
            yield b"c" * 10_000

    with httpool.Pool() as pool:
        assert pool.post(nginx.url + "/echo", body=chunks()).content == ECHO_BODY
        assert pool.get(nginx.url + "/echo").content == ECHO_BODY
        stats = assert_consistent(pool)
        assert stats.closed.total == stats.closed.early_response
        assert stats.opened == 1 + stats.closed.early_response


@pytest.mark.parametrize("chunk_size", [1000, 65536, 300_000])
def test_stream_1m_in_chunks(no_socket_leak, nginx, chunk_size):
    expected = served(nginx, "1m")
    with httpool.Pool() as pool:
        with pool.stream("GET", nginx.url + "/1m") as response:
            assert response.status_code == 200
            pieces = list(response.iter_bytes(chunk_size))
        assert all(0 < len(piece) <= chunk_size for piece in pieces)
        assert b"".join(pieces) == expected
        assert pool.get(nginx.url + "/small").content == FILES["small"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.drained, stats.closed.total) == (1, 1, 0, 0)


def test_early_release_of_1m_is_past_the_drain_limit(no_socket_leak, nginx):
    """1 MiB is more than the default max_drain (256 KiB): the connection is
    closed on purpose, counted as drain_limit, and the next request opens a
    new one."""
    with httpool.Pool() as pool:
        for read_first in (0, 4096):
            with pool.stream("GET", nginx.url + "/1m") as response:
                if read_first:
                    first = next(response.iter_bytes(read_first))
                    assert first == FILES["1m"][: len(first)]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.drained, stats.closed.drain_limit) == (2, 0, 2)
        assert pool.get(nginx.url + "/small").content == FILES["small"]
        assert assert_consistent(pool).opened == 3


def test_early_release_of_64k_is_drained_and_reused(no_socket_leak, nginx):
    with httpool.Pool() as pool:
        with pool.stream("GET", nginx.url + "/64k") as response:
            assert response.status_code == 200
        with pool.stream("GET", nginx.url + "/64k") as response:
            first = next(response.iter_bytes(1000))
            assert first == FILES["64k"][: len(first)]
        assert pool.get(nginx.url + "/64k").content == FILES["64k"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.drained, stats.closed.total) == (1, 2, 2, 0)
        # At most the body each time, and at least what was left of it after `first`.
        assert 65536 - len(first) <= stats.drained_bytes <= 2 * 65536


def test_raised_max_drain_saves_a_1m_connection(no_socket_leak, nginx):
    with httpool.Pool(max_drain=2 << 20) as pool:
        with pool.stream("GET", nginx.url + "/1m"):
            pass
        assert pool.get(nginx.url + "/small").content == FILES["small"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.drained, stats.closed.total) == (1, 1, 0)
        assert 0 < stats.drained_bytes <= 1 << 20


# --------------------------------------------------------------------------
# keepalive_requests 3, keepalive_timeout 1s (with Keep-Alive: timeout=1)
# --------------------------------------------------------------------------


def test_nginx_connection_close_after_keepalive_requests(no_socket_leak, nginx_short_keepalive):
    """nginx ends each connection after 3 requests with `Connection: close`:
    the pool closes it as server_close and opens a new one, without error."""
    url = nginx_short_keepalive.url + "/small"
    with httpool.Pool() as pool:
        connection_headers = []
        for _ in range(10):
            response = pool.get(url)
            assert (response.status_code, response.content) == (200, FILES["small"])
            connection_headers.append(response.headers.get("connection", "").lower())
        assert connection_headers[2] == connection_headers[5] == connection_headers[8] == "close"
        assert connection_headers.count("close") == 3
        stats = assert_consistent(pool)
        assert (stats.opened, stats.requests, stats.reused) == (4, 10, 6)
        assert (stats.closed.server_close, stats.closed.error, stats.closed.stale) == (3, 0, 0)
        assert stats.retried == 0


def test_nginx_keep_alive_timeout_expires_before_the_server_closes(no_socket_leak, nginx_short_keepalive):
    """nginx advertises `Keep-Alive: timeout=1` and closes at 1 s.  The pool
    stops reusing at 1 s minus 25%: after 0.9 s idle it has expired the
    connection itself (keep_alive_timeout), never meeting nginx's FIN (stale)."""
    url = nginx_short_keepalive.url + "/small"
    with httpool.Pool(idle_timeout=30.0) as pool:
        first = pool.get(url)
        assert first.headers["keep-alive"] == "timeout=1"
        time.sleep(0.9)  # time passing is the behaviour under test
        assert pool.get(url).content == FILES["small"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused) == (2, 0)
        assert (stats.closed.keep_alive_timeout, stats.closed.stale, stats.stale_eof) == (1, 0, 0)


def test_nginx_keep_alive_timeout_allows_reuse_within_the_window(no_socket_leak, nginx_short_keepalive):
    url = nginx_short_keepalive.url + "/small"
    with httpool.Pool() as pool:
        pool.get(url)
        time.sleep(0.3)  # well inside 0.75 s
        pool.get(url)
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.closed.total) == (1, 1, 0)


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------


def test_eight_threads_share_four_connections(no_socket_leak, nginx):
    before = nginx.stub_status()
    errors: list[BaseException] = []
    statuses: list[int] = []
    lock = threading.Lock()
    with httpool.Pool(max_connections_per_host=4) as pool:

        def work(index: int) -> None:
            try:
                for i in range(50):
                    path = "/64k" if (index + i) % 5 == 0 else "/small"
                    response = pool.get(nginx.url + path, timeout=10.0)
                    assert response.content == FILES[path[1:]]
                    with lock:
                        statuses.append(response.status_code)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert statuses == [200] * 400
        stats = assert_consistent(pool)
        assert stats.requests == 400
        assert 1 <= stats.opened <= 4
        assert (stats.in_use, stats.waiting, stats.closed.total) == (0, 0, 0)
    after = nginx.stub_status()
    assert after["accepts"] - before["accepts"] <= 4 + 1  # + the status query
