"""Timeouts mean the same in every API: request(), stream(), request_many()
and iter_many() each get the connect, read, write, pool and total limits of
httpool.Timeout, and each sends every body shape.

Every test runs one request through each API (``call`` below) against a
raw-socket server that misbehaves on purpose, then checks the pool's
accounting and that no socket leaked.  Timing assertions allow generous
margins: at least the deadline minus 50 ms, at most the deadline plus 1 s.
"""

from __future__ import annotations

import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import (
    ScriptedServer,
    echo,
    full_backlog_listener,
    keep_alive,
    never_answer,
)

MARGIN = 1.0  # seconds a deadline may be overrun before a test calls it ignored
EARLY = 0.05  # seconds a timeout may fire before its deadline (clock granularity)


def timed_call(pool: httpool.Pool, api: str, method: str, url: str, **kwargs):
    """``call``, and the seconds it took."""
    started = time.monotonic()
    result = call(pool, api, method, url, **kwargs)
    return result, time.monotonic() - started


def assert_within(elapsed: float, deadline: float) -> None:
    """The timeout fired at its deadline, not before it and not much after."""
    assert deadline - EARLY <= elapsed < deadline + MARGIN, (
        f"took {elapsed:.3f} s for a {deadline} s deadline")


def never_read(conn) -> None:
    """Accept and never read: the client's send buffer fills and stays full."""
    conn.stall(30)


# ------------------------------------------------------------------ connect


@pytest.mark.parametrize("api", APIS)
def test_connect_timeout(no_socket_leak, api):
    """Timeout(connect=0.3) ends a pending connect at 0.3 s in every API, not
    at the read timeout."""
    with full_backlog_listener() as listener:
        with httpool.Pool() as pool:
            result, elapsed = timed_call(pool, api, "GET", listener.url,
                                         timeout=httpool.Timeout(connect=0.3, read=3))
            expect(result, httpool.ConnectTimeout)
            assert_within(elapsed, 0.3)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


# ------------------------------------------------------------------ read


@pytest.mark.parametrize("api", APIS)
def test_read_timeout(no_socket_leak, api):
    """Timeout(read=0.3) ends the wait for a response that never comes at 0.3 s."""
    with ScriptedServer(never_answer) as server:
        with httpool.Pool() as pool:
            result, elapsed = timed_call(pool, api, "GET", server.url,
                                         timeout=httpool.Timeout(read=0.3, connect=5))
            expect(result, httpool.ReadTimeout)
            assert_within(elapsed, 0.3)
            assert server.wait_closed(1), "the timed-out connection must be closed"
            assert server.connections[0].closed_by == "client"
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


# ------------------------------------------------------------------ write


def _big_body(shape: str):
    """64 MiB, far more than loopback socket buffers hold."""
    if shape == "bytes":
        return bytes(64 << 20)
    return (bytes(1 << 20) for _ in range(64))


@pytest.mark.parametrize("shape", ["bytes", "generator"])
@pytest.mark.parametrize("api", APIS)
def test_write_timeout(no_socket_leak, api, shape):
    """Timeout(write=0.3) ends an upload the server never reads at ~0.3 s."""
    with ScriptedServer(never_read) as server:
        with httpool.Pool() as pool:
            result, elapsed = timed_call(pool, api, "POST", server.url, body=_big_body(shape),
                                         timeout=httpool.Timeout(write=0.3, read=3))
            expect(result, httpool.WriteTimeout)
            assert_within(elapsed, 0.3)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


# ------------------------------------------------------------------ pool


@pytest.mark.parametrize("api", APIS)
def test_pool_timeout(no_socket_leak, api):
    """Timeout(pool=0.3) ends the wait for a free connection at 0.3 s while the
    only one allowed is held by an open stream."""
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_connections_per_host=1) as pool:
            with pool.stream("GET", server.url) as held:
                assert held.status_code == 200
                result, elapsed = timed_call(pool, api, "GET", server.url,
                                             timeout=httpool.Timeout(pool=0.3, read=3))
                expect(result, httpool.PoolTimeout)
                assert_within(elapsed, 0.3)
                assert pool.stats().waiting == 0
            stats = assert_consistent(pool)
            assert (server.accepted, stats.opened, stats.timeouts, stats.in_use) == (1, 1, 1, 0)


# ------------------------------------------------------------------ total


@pytest.mark.parametrize("api", APIS)
def test_bare_number_is_the_total_deadline(no_socket_leak, api):
    """timeout=0.3 bounds the whole request, whatever the phase timeouts say."""
    with ScriptedServer(never_answer) as server:
        slow = httpool.Timeout(connect=5, read=5, write=5, pool=5)
        with httpool.Pool(timeout=slow) as pool:
            result, elapsed = timed_call(pool, api, "GET", server.url, timeout=0.3)
            expect(result, httpool.ReadTimeout)
            assert_within(elapsed, 0.3)
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


# ------------------------------------------------------------------ body shapes

# ASCII lines, so the same payload serves as str and as a file read line by line.
PAYLOAD = b"".join(b"line %05d of the request body\n" % i for i in range(2000))
SHAPES = ("bytes", "str", "file", "list", "generator")


def _body(shape: str, path):
    if shape == "bytes":
        return PAYLOAD
    if shape == "str":
        return PAYLOAD.decode("ascii")
    if shape == "file":
        path.write_bytes(PAYLOAD)
        return open(path, "rb")  # closed by the test
    if shape == "list":
        return [PAYLOAD[:1000], b"", PAYLOAD[1000:]]
    return (PAYLOAD[i:i + 4096] for i in range(0, len(PAYLOAD), 4096))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("api", APIS)
def test_every_body_shape_is_sent_by_every_api(no_socket_leak, tmp_path, api, shape):
    """bytes, str, a binary file, a list of bytes and a generator arrive whole
    at the server, whichever API sends them."""
    body = _body(shape, tmp_path / "body.txt")
    try:
        with ScriptedServer(echo) as server:
            with httpool.Pool() as pool:
                result = call(pool, api, "POST", server.url + "/upload", body=body, timeout=2)
                assert isinstance(result, httpool.Response), result
                echoed = result.json()
                assert echoed["method"] == "POST"
                assert echoed["body"].encode("latin-1") == PAYLOAD
                stats = assert_consistent(pool)
                assert (stats.requests, stats.in_use) == (1, 0)
    finally:
        if shape == "file":
            body.close()
