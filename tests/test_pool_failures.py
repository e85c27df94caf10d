"""Misbehaving peers beyond the seeds: each gives a specific error naming the
origin, and leaves the pool consistent with no socket leaked."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent, keyboard_interrupt_after
from support.servers import (
    STRAY_BODY,
    ScriptedServer,
    closed_port,
    early_413,
    full_backlog_listener,
    garbage,
    head_with_stray_body,
    headers_then_stall,
    keep_alive,
    never_answer,
    partial_response_then_close,
    partial_response_then_reset,
    reset_after_response,
    respond,
    send_408_when_idle,
    slowloris_body,
)


def test_unsolicited_408_on_idle_connection_is_discarded(no_socket_leak):
    """A 408 sent by the server on an idle connection is never read as the
    next response: the connection is found stale (stray bytes) and replaced."""
    with ScriptedServer(send_408_when_idle(30)) as server:
        with httpool.Pool() as pool:
            assert pool.get(server.url).status_code == 200
            assert server.wait_closed(1)
            second = pool.get(server.url)
            assert (second.status_code, second.content) == (200, b"conn=1 req=1")
            stats = assert_consistent(pool)
            assert (stats.closed.stale, stats.stale_bytes + stats.stale_eof) == (1, 1)


def test_idle_connection_reset_by_server_is_stale(no_socket_leak):
    with ScriptedServer(reset_after_response) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            assert server.wait_closed(1)
            pool.get(server.url)
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.stale, stats.retried) == (2, 1, 0)


def test_head_response_followed_by_stray_body_is_not_reused(no_socket_leak):
    with ScriptedServer(head_with_stray_body) as server:
        with httpool.Pool() as pool:
            head = pool.head(server.url)
            assert (head.status_code, head.content) == (200, b"")
            # The GET is answered on a new connection, wherever the stray bytes
            # showed: with the HEAD response or instead of the GET's (closed as
            # an error), or while the connection was idle (closed as stale).
            get = pool.get(server.url)
            assert (get.status_code, get.content) == (200, STRAY_BODY)
            stats = assert_consistent(pool)
            assert (server.accepted, stats.opened) == (2, 2)
            assert stats.closed.error + stats.closed.stale == 1


def test_early_413_during_a_large_upload_reaches_the_caller(no_socket_leak):
    with ScriptedServer(early_413) as server:
        with httpool.Pool() as pool:
            response = pool.post(server.url + "/upload", body=b"z" * (8 << 20), timeout=5.0)
            assert response.status_code == 413
            stats = assert_consistent(pool)
            assert (stats.idle, stats.in_use, stats.opened) == (0, 0, 1)


def test_slowloris_body_is_stopped_by_the_total_deadline(no_socket_leak):
    """One body byte every 100 ms never trips the read timeout; the total
    deadline ends it."""
    with ScriptedServer(slowloris_body(0.1, length=100)) as server:
        with httpool.Pool(timeout=httpool.Timeout(read=1.0)) as pool:
            started = time.monotonic()
            with pytest.raises(httpool.ReadTimeout, match="total deadline"):
                pool.get(server.url, timeout=httpool.Timeout(total=0.5, read=1.0))
            assert 0.5 <= time.monotonic() - started < 0.7
            assert server.wait_closed(1)
            assert assert_consistent(pool).closed.timeout == 1


def test_headers_then_stall_times_out_reading_the_body(no_socket_leak):
    with ScriptedServer(headers_then_stall) as server:
        with httpool.Pool(timeout=httpool.Timeout(read=0.2)) as pool:
            with pool.stream("GET", server.url) as response:
                assert response.status_code == 200
                with pytest.raises(httpool.ReadTimeout, match="read timeout"):
                    response.read()
                # The failed read released the response: no second wait, a clear error.
                assert response.is_released
                with pytest.raises(RuntimeError, match="released before it was read"):
                    response.read()
                with pytest.raises(RuntimeError, match="released before it was read"):
                    response.iter_bytes()
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


def test_connect_timeout_against_a_full_backlog(no_socket_leak):
    with full_backlog_listener() as listener:
        with httpool.Pool(timeout=httpool.Timeout(connect=0.2)) as pool:
            started = time.monotonic()
            with pytest.raises(httpool.ConnectTimeout, match=f"127.0.0.1:{listener.port}"):
                pool.get(listener.url)
            assert 0.2 <= time.monotonic() - started < 0.4
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.timeout, stats.timeouts) == (1, 1, 1)


def test_connection_refused(no_socket_leak):
    port = closed_port()
    with httpool.Pool() as pool:
        with pytest.raises(httpool.ConnectError, match=f"127.0.0.1:{port}: connection refused"):
            pool.get(f"http://127.0.0.1:{port}/")
        stats = assert_consistent(pool)
        assert (stats.opened, stats.closed.error, stats.in_use) == (1, 1, 0)


def test_garbage_response_is_a_protocol_error(no_socket_leak):
    with ScriptedServer(garbage) as server:
        with httpool.Pool() as pool:
            with pytest.raises(httpool.RemoteProtocolError, match=r"127\.0\.0\.1:\d+: invalid response"):
                pool.get(server.url)
            assert assert_consistent(pool).closed.error == 1


def test_signal_during_the_wait_resumes_with_the_time_left(no_socket_leak):
    """SIGALRM at 100 ms interrupts the wait for the head; its handler runs, and the
    0.3 s deadline still ends the request at 0.3 s, not 0.4 s."""
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        with ScriptedServer(never_answer) as server:
            with httpool.Pool() as pool:
                started = time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, 0.1)
                with pytest.raises(httpool.ReadTimeout):
                    pool.get(server.url, timeout=0.3)
                elapsed = time.monotonic() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(fired) == 1
    assert 0.3 <= elapsed < 0.38, elapsed


def test_exception_from_a_signal_handler_closes_the_connection(no_socket_leak):
    with ScriptedServer(never_answer) as server:
        with httpool.Pool() as pool:
            with pytest.raises(KeyboardInterrupt), keyboard_interrupt_after(0.05):
                pool.get(server.url, timeout=5.0)
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.in_use, stats.closed.error) == (0, 1)


# ------------------------------------------------------------------ retry gates


def _second_request_fails(failure):
    """Connection 0 answers one request and then fails the second with
    `failure(conn)`; every later connection serves normally."""

    def handler(conn):
        request = conn.read_request()
        if request is None:
            return
        respond(conn, request)
        if conn.index == 0:
            if conn.read_request() is not None:
                failure(conn)
            return
        while (request := conn.read_request()) is not None:
            respond(conn, request)

    return handler


@pytest.mark.parametrize(
    "method, headers, retried",
    [
        ("GET", None, True),
        ("PUT", None, True),
        ("DELETE", None, True),
        ("POST", None, False),
        ("PATCH", None, False),
        ("POST", {"Idempotency-Key": "k-1"}, True),
    ],
)
def test_retry_gate_by_method(no_socket_leak, method, headers, retried):
    with ScriptedServer(_second_request_fails(lambda conn: conn.close())) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            if retried:
                response = pool.request(method, server.url, headers=headers, body=b"payload")
                assert response.content == b"conn=1 req=1"
            else:
                with pytest.raises(httpool.ConnectionClosed, match="without sending a response"):
                    pool.request(method, server.url, headers=headers, body=b"payload")
            stats = assert_consistent(pool)
            assert stats.retried == int(retried)


@pytest.mark.parametrize("failure", ["close", "reset"])
def test_retry_gate_reset_or_close_with_zero_response_bytes(no_socket_leak, failure):
    with ScriptedServer(_second_request_fails(lambda conn: getattr(conn, failure)())) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            assert pool.get(server.url).content == b"conn=1 req=1"
            assert assert_consistent(pool).retried == 1


def test_retry_gate_no_retry_after_one_response_byte(no_socket_leak):
    def fail_after_one_byte(conn):
        conn.send(b"H")
        conn.close()

    with ScriptedServer(_second_request_fails(fail_after_one_byte)) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            with pytest.raises(httpool.ConnectionClosed, match="mid-response after 1 bytes"):
                pool.get(server.url)
            stats = assert_consistent(pool)
            assert (stats.retried, server.accepted) == (0, 1)


def test_retry_gate_no_retry_on_a_fresh_connection(no_socket_leak):
    with ScriptedServer(partial_response_then_close(b"")) as server:
        with httpool.Pool() as pool:
            with pytest.raises(httpool.ConnectionClosed, match="without sending a response"):
                pool.get(server.url)
            stats = assert_consistent(pool)
            assert (stats.retried, server.accepted) == (0, 1)


def test_retry_gate_no_retry_after_a_timeout(no_socket_leak):
    def stall(conn):
        conn.stall(5)

    with ScriptedServer(_second_request_fails(stall)) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            with pytest.raises(httpool.ReadTimeout):
                pool.get(server.url, timeout=0.2)
            stats = assert_consistent(pool)
            assert (stats.retried, server.accepted) == (0, 1)


def test_reset_mid_response_is_connection_closed(no_socket_leak):
    from support.servers import HEADERS_ONLY

    with ScriptedServer(partial_response_then_reset(HEADERS_ONLY)) as server:
        with httpool.Pool() as pool:
            with pytest.raises(httpool.ConnectionClosed, match=r"127\.0\.0\.1:\d+: connection reset"):
                pool.get(server.url)
            assert assert_consistent(pool).closed.error == 1


# ------------------------------------------------------------------ threads, fork


def test_sixteen_threads_share_eight_connections(no_socket_leak):
    """16 threads on one pool with max_connections_per_host=8: every request
    succeeds and the server never sees more than 8 connections."""
    errors = []
    with ScriptedServer(keep_alive(), lifetime=60) as server:
        with httpool.Pool(max_connections_per_host=8) as pool:

            def work():
                try:
                    for _ in range(50):
                        assert pool.get(server.url).status_code == 200
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert errors == []
            assert server.accepted <= 8
            stats = assert_consistent(pool)
            assert stats.requests == 800
            assert stats.opened <= 8


def test_waiters_are_served_first_come_first_served(no_socket_leak):
    order = []
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_connections_per_host=1) as pool:
            held = pool.stream("GET", server.url)
            response = held.__enter__()

            def wait(name):
                pool.get(server.url)
                order.append(name)

            threads = []
            for name in ("first", "second", "third"):
                thread = threading.Thread(target=wait, args=(name,))
                thread.start()
                threads.append(thread)
                deadline = time.monotonic() + 5
                while pool.stats().waiting < len(threads) and time.monotonic() < deadline:
                    time.sleep(0.001)
            response.read()
            held.__exit__(None, None, None)
            for thread in threads:
                thread.join(5)
            assert order == ["first", "second", "third"]
            assert server.accepted == 1


def test_pool_close_wakes_waiters_with_pool_closed(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        pool = httpool.Pool(max_connections_per_host=1)
        errors = []
        with pool.stream("GET", server.url) as held:

            def wait():
                try:
                    pool.get(server.url)
                except httpool.PoolClosed as exc:
                    errors.append(exc)

            thread = threading.Thread(target=wait)
            thread.start()
            deadline = time.monotonic() + 5
            while pool.stats().waiting < 1 and time.monotonic() < deadline:
                time.sleep(0.001)
            pool.close()
            thread.join(5)
            held.read()
        assert len(errors) == 1
        with pytest.raises(httpool.PoolClosed):
            pool.get(server.url)
        stats = assert_consistent(pool)
        assert (stats.idle, stats.in_use, stats.closed.pool_close) == (0, 0, 1)


def test_forked_child_never_uses_the_parents_sockets(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool() as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: a new connection, never the parent's
                try:
                    body = pool.get(server.url).content
                    os.write(write_end, body)
                finally:
                    os._exit(0)
            os.close(write_end)
            child_body = os.read(read_end, 100)
            os.close(read_end)
            os.waitpid(pid, 0)
            assert child_body == b"conn=1 req=1"
            # The parent's connection is intact and still reused.
            assert pool.get(server.url).content == b"conn=0 req=2"
