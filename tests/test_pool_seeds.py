"""The four production failures of ../shared/MISSION.md, one scenario each.

Each test replays a post-mortem's situation (../shared/seeds/) against a
misbehaving server and asserts what httpool must do instead: connection
counts seen by the server, the pool's stats, timings with generous margins,
and no socket left open.
"""

from __future__ import annotations

import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.servers import ScriptedServer, close_idle_after, keep_alive, keep_alive_timeout, never_answer, respond


def test_seed1_timed_out_request_frees_its_connection(no_socket_leak):
    """Seeds 000/002: a timed-out request must not keep its connection.

    The upstream accepts and never answers. With 2 slots per host, 6 requests
    in a row each time out on the socket, their connection is closed at once
    (the server sees the client close it) and the slot is free for the next:
    no PoolTimeout, ever."""
    deadline = 0.2
    with ScriptedServer(never_answer) as server:
        with httpool.Pool(max_connections_per_host=2, timeout=httpool.Timeout(pool=0.5)) as pool:
            elapsed = []
            for _ in range(6):
                started = time.monotonic()
                with pytest.raises(httpool.ReadTimeout, match=r"127\.0\.0\.1:\d+.*timed out"):
                    pool.get(server.url + "/slow", timeout=deadline)
                elapsed.append(time.monotonic() - started)
            assert server.wait_closed(6), "the pool left timed-out connections open"
            assert all(conn.closed_by == "client" for conn in server.connections)
            stats = assert_consistent(pool)
            assert (stats.opened, stats.timeouts, stats.closed.timeout) == (6, 6, 6)
            assert (stats.in_use, stats.idle) == (0, 0)
    # The deadline is enforced on the socket: never early, and late by little.
    assert min(elapsed) >= deadline
    assert max(elapsed) < deadline + 0.15, elapsed


def test_seed2_unread_bodies_are_drained_and_the_connection_reused(no_socket_leak):
    """Seeds 001/004: closing a response before EOF must not kill reuse.

    50 responses of 64 KiB are released without reading their body; the pool
    drains each and reuses one connection: the server accepts exactly one."""
    body = b"x" * 65536
    with ScriptedServer(keep_alive(body)) as server:
        with httpool.Pool() as pool:
            for _ in range(50):
                with pool.stream("GET", server.url + "/big") as response:
                    assert response.status_code == 200
            stats = assert_consistent(pool)
            assert server.accepted == 1
            assert (stats.opened, stats.reused, stats.drained) == (1, 49, 50)
            assert stats.drained_bytes == 50 * len(body)
            assert stats.closed.total == 0


def test_seed2_body_past_the_drain_limit_is_closed_and_counted(no_socket_leak):
    """Past max_drain the connection is closed deliberately, under its reason."""
    with ScriptedServer(keep_alive(b"y" * 300_000)) as server:
        with httpool.Pool(max_drain=100_000) as pool:
            for _ in range(3):
                with pool.stream("GET", server.url) as response:
                    assert next(response.iter_bytes(1000)) == b"y" * 1000
            stats = assert_consistent(pool)
            assert (stats.opened, stats.drained, stats.closed.drain_limit) == (3, 0, 3)
            assert server.wait_closed(3)


def test_seed3_connection_closed_by_server_while_idle_is_not_reused(no_socket_leak):
    """Seed 003: the server's keep-alive timeout is shorter than the pool's.

    The server FINs a connection idle for 50 ms; the pool (idle_timeout 15 s)
    finds it closed before reuse, counts it stale, and the request goes out on
    a fresh connection without error and without a retry."""
    with ScriptedServer(close_idle_after(50)) as server:
        with httpool.Pool(idle_timeout=15.0) as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            assert server.wait_closed(1)
            assert pool.get(server.url).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.stale, stats.stale_eof, stats.retried) == (2, 1, 1, 0)


def test_seed3_server_keep_alive_timeout_is_honoured(no_socket_leak):
    """`Keep-Alive: timeout=1` from the server: the pool stops reusing the
    connection before the server closes it (a margin of 0.25 s), and counts
    it under keep_alive_timeout rather than stale."""
    with ScriptedServer(keep_alive_timeout(1, close_after=5.0)) as server:
        with httpool.Pool(idle_timeout=15.0) as pool:
            pool.get(server.url)
            pool.get(server.url)  # within the window: reused
            time.sleep(0.8)  # time passing is the behaviour under test
            pool.get(server.url)
            stats = assert_consistent(pool)
            assert server.accepted == 2
            assert (stats.opened, stats.reused, stats.closed.keep_alive_timeout, stats.closed.stale) == (2, 1, 1, 0)


def test_seed3_reused_connection_closed_in_flight_is_retried_once(no_socket_leak):
    """The server closes a reused connection after reading the request,
    without a response byte: an idempotent request is retried once on a new
    connection and succeeds."""

    def handler(conn):
        request = conn.read_request()
        respond(conn, request)
        if conn.index == 0 and conn.read_request() is not None:
            conn.close()  # the second request on this connection gets nothing
            return
        while (request := conn.read_request()) is not None:
            respond(conn, request)

    with ScriptedServer(handler) as server:
        with httpool.Pool() as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            assert pool.get(server.url).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.retried, stats.closed.closed_on_reuse) == (2, 1, 1)


def test_seed4_connection_close_from_server_opens_one_connection_per_request(no_socket_leak):
    """Seed 003/004: `Connection: close` is honoured, and counted as normal."""
    from support.servers import connection_close

    with ScriptedServer(connection_close) as server:
        with httpool.Pool() as pool:
            for _ in range(5):
                assert pool.get(server.url).status_code == 200
            stats = assert_consistent(pool)
            assert server.accepted == 5
            assert (stats.opened, stats.closed.server_close, stats.closed.error) == (5, 5, 0)


def test_seed4_client_connection_close_and_max_lifetime(no_socket_leak):
    """The client's `Connection: close` and max_lifetime both end reuse."""
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_lifetime=0.2) as pool:
            pool.get(server.url, headers={"Connection": "close"})
            pool.get(server.url)
            pool.get(server.url)  # reused: younger than 0.2 s
            time.sleep(0.25)  # time passing is the behaviour under test
            pool.get(server.url)
            stats = assert_consistent(pool)
            assert server.accepted == 3
            assert (stats.closed.client_close, stats.closed.max_lifetime) == (1, 1)


def test_seed4_exhausted_pool_waits_then_raises_pool_timeout(no_socket_leak):
    """With every slot busy a caller waits (here 0.2 s), then PoolTimeout
    names the limit; the busy slot is intact afterwards."""
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_connections_per_host=1) as pool:
            with pool.stream("GET", server.url) as held:
                started = time.monotonic()
                with pytest.raises(httpool.PoolTimeout, match="max_connections_per_host=1") as info:
                    pool.get(server.url, timeout=httpool.Timeout(pool=0.2))
                waited = time.monotonic() - started
                assert isinstance(info.value, TimeoutError)
                assert 0.2 <= waited < 0.5
                assert held.read() == b"conn=0 req=1"
            assert pool.get(server.url).content == b"conn=0 req=2"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.timeouts) == (1, 1)
