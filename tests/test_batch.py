"""request_many / iter_many: many requests from one thread in one epoll loop,
with every rule of the pool holding inside the batch."""

from __future__ import annotations

import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent as _assert_consistent
from support.accounting import keyboard_interrupt_after
from support.servers import (
    HEADERS_ONLY,
    ScriptedServer,
    close_before_response,
    echo,
    headers_then_stall,
    keep_alive,
    never_answer,
    partial_response_then_reset,
    respond,
)


def assert_consistent(pool: httpool.Pool) -> httpool.PoolStats:
    """The accounting holds and, after a batch, no connection is left in use."""
    stats = _assert_consistent(pool)
    assert stats.in_use == 0
    return stats


def test_results_come_back_in_input_order_with_bodies_read(no_socket_leak):
    with ScriptedServer(echo) as server:
        with httpool.Pool() as pool:
            requests = [("GET", f"{server.url}/item/{i}") for i in range(40)]
            requests.append(("POST", f"{server.url}/post", {"json": {"n": 1}}))
            requests.append(httpool.Request("PUT", f"{server.url}/put", headers={"X-A": "b"}, body=b"x"))
            responses = pool.request_many(requests, concurrency=8)
            assert [r.json()["target"] for r in responses[:40]] == [f"/item/{i}" for i in range(40)]
            assert responses[40].json()["body"] == '{"n":1}'
            assert responses[41].json()["method"] == "PUT"
            assert [r.index for r in responses] == list(range(42))
            assert all(r.is_released for r in responses)
            stats = assert_consistent(pool)
            assert stats.requests == 42
            assert server.accepted <= 8


def test_a_mixed_batch_ends_each_request_with_its_own_result_within_its_deadline(no_socket_leak):
    """Fast, stalled, silent and resetting peers in one batch: each request
    gets its own response or its own exception, and the slow ones cost only
    their own deadline."""
    with ScriptedServer(keep_alive()) as fast, ScriptedServer(never_answer) as silent, \
            ScriptedServer(headers_then_stall) as stalled, \
            ScriptedServer(partial_response_then_reset(HEADERS_ONLY)) as resetting:
        with httpool.Pool() as pool:
            requests = []
            for _ in range(5):
                requests += [("GET", fast.url), ("GET", silent.url), ("GET", stalled.url),
                             ("GET", resetting.url)]
            started = time.monotonic()
            results = pool.request_many(requests, concurrency=32, timeout=0.4,
                                        return_exceptions=True)
            elapsed = time.monotonic() - started
            kinds = [type(r).__name__ for r in results[:4]]
            assert kinds == ["Response", "ReadTimeout", "ReadTimeout", "ConnectionClosed"]
            for i, result in enumerate(results):
                assert type(result).__name__ == kinds[i % 4]
                if isinstance(result, Exception):
                    assert result.index == i
                    assert str(result).startswith("http://127.0.0.1:")
            assert 0.4 <= elapsed < 0.8, elapsed
            stats = assert_consistent(pool)
            assert stats.timeouts == 10
            assert silent.wait_closed(5) and stalled.wait_closed(5)


def test_without_return_exceptions_the_first_failure_raises_and_the_rest_is_closed(no_socket_leak):
    with ScriptedServer(keep_alive()) as fast, ScriptedServer(never_answer) as silent:
        with httpool.Pool() as pool:
            requests = [("GET", silent.url)] * 3 + [("GET", fast.url)] * 3
            with pytest.raises(httpool.ReadTimeout):
                pool.request_many(requests, timeout=0.2)
            assert silent.wait_closed(3)
            assert_consistent(pool)


def test_iter_many_yields_as_completed_and_leaving_early_closes_the_rest(no_socket_leak):
    with ScriptedServer(keep_alive()) as fast, ScriptedServer(never_answer) as silent:
        with httpool.Pool() as pool:
            requests = [("GET", silent.url)] * 4 + [("GET", fast.url)] * 4
            seen = []
            for response in pool.iter_many(requests, concurrency=8, timeout=5.0):
                seen.append(response.index)
                if len(seen) == 4:
                    break
            assert sorted(seen) == [4, 5, 6, 7]
            assert silent.wait_closed(4), "leaving the loop must close the requests in flight"
            stats = assert_consistent(pool)
            assert stats.closed.abandoned == 4


def test_per_host_limit_holds_inside_a_batch(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_connections_per_host=4) as pool:
            responses = pool.request_many([("GET", server.url)] * 60, concurrency=32)
            assert all(r.status_code == 200 for r in responses)
            assert server.accepted <= 4
            assert assert_consistent(pool).opened <= 4


def test_reused_connection_closed_before_the_response_is_retried_in_a_batch(no_socket_leak):
    def handler(conn):
        request = conn.read_request()
        respond(conn, request)
        if conn.index == 0 and conn.read_request() is not None:
            conn.close()
            return
        while (request := conn.read_request()) is not None:
            respond(conn, request)

    with ScriptedServer(handler) as server:
        with httpool.Pool() as pool:
            pool.get(server.url)
            (response,) = pool.request_many([("GET", server.url)])
            assert response.content == b"conn=1 req=1"
            assert assert_consistent(pool).retried == 1


def test_post_is_not_retried_in_a_batch(no_socket_leak):
    with ScriptedServer(close_before_response) as server:
        with httpool.Pool() as pool:
            (result,) = pool.request_many([("POST", server.url, {"body": b"x"})],
                                          return_exceptions=True)
            assert isinstance(result, httpool.ConnectionClosed)
            assert assert_consistent(pool).retried == 0


def test_bad_requests_raise_before_any_io(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool() as pool:
            for bad in ([("GET", "ftp://x/")], [("GET",)], [("GET", server.url, {"nope": 1})],
                        [("GET", server.url, {"headers": {"X": "a\r\nb"}})]):
                with pytest.raises((ValueError, TypeError)):
                    pool.request_many([("GET", server.url)] + bad)
            with pytest.raises(ValueError):
                pool.request_many([("GET", server.url)], concurrency=0)
            assert server.accepted == 0


def test_keyboard_interrupt_in_a_batch_leaves_the_pool_consistent(no_socket_leak):
    with ScriptedServer(never_answer) as server:
        with httpool.Pool() as pool:
            with pytest.raises(KeyboardInterrupt), keyboard_interrupt_after(0.1):
                pool.request_many([("GET", server.url)] * 6, timeout=5.0)
            assert server.wait_closed(6)
            assert_consistent(pool)


def test_batch_against_nginx(no_socket_leak, nginx):
    with httpool.Pool(max_connections_per_host=16) as pool:
        responses = pool.request_many([("GET", f"{nginx.url}/small")] * 500, concurrency=16)
        assert all(r.content == b"Hello, world!" for r in responses)
        stats = assert_consistent(pool)
        assert stats.opened <= 16 and stats.requests == 500


def test_connections_closed_by_the_server_between_jobs_are_not_fatal(no_socket_leak):
    """A server that closes after each response without saying so: every GET
    of the batch still succeeds, the closed connections found stale or the
    requests retried, and the accounting holds."""
    from support.servers import close_after_n_requests

    with ScriptedServer(close_after_n_requests(1)) as server:
        with httpool.Pool() as pool:
            responses = pool.request_many([("GET", server.url)] * 8, concurrency=1)
            assert all(r.status_code == 200 for r in responses)
            stats = assert_consistent(pool)
            assert stats.requests == 8
            assert stats.closed.stale + stats.retried + stats.closed.server_close >= 7


def test_requests_beyond_the_per_host_limit_wait_inside_the_batch(no_socket_leak):
    """concurrency=6 on a pool with 2 connections per host: 2 requests run, 4
    wait for a connection (stats().waiting says so), and all 6 complete on the
    same 2 connections."""
    release = threading.Event()
    serve = keep_alive()

    def handler(conn):
        # Hold the first answer on each connection until the test saw the queue.
        request = conn.read_request()
        release.wait(5.0)
        respond(conn, request)
        serve(conn)

    with ScriptedServer(handler) as server:
        with httpool.Pool(max_connections_per_host=2) as pool:
            seen = []

            def watch():
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline and not seen:
                    stats = pool.stats()
                    if stats.waiting == 4 and stats.in_use == 2:
                        seen.append(stats)
                release.set()

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                responses = pool.request_many([("GET", server.url)] * 6, concurrency=6)
            finally:
                release.set()
                watcher.join()
            assert seen, "the 4 requests beyond the limit were never counted as waiting"
            assert [r.status_code for r in responses] == [200] * 6
            stats = assert_consistent(pool)
            assert (stats.opened, stats.requests, stats.waiting) == (2, 6, 0)


def test_a_batch_of_requests_that_all_fail_at_once_does_not_recurse():
    """50,000 requests on a closed pool each end before any I/O: the batch
    collects them one after another (each ending used to start the next from
    inside the last, until the C stack overflowed)."""
    pool = httpool.Pool()
    pool.close()
    results = pool.request_many([("GET", "http://127.0.0.1:9/")] * 50_000, return_exceptions=True)
    assert len(results) == 50_000
    assert all(isinstance(r, httpool.PoolClosed) for r in results)
    assert results[-1].index == 49_999
    assert_consistent(pool)


def test_leaving_a_batch_counts_its_requests_as_abandoned_not_as_server_closes(no_socket_leak):
    """Connection 1 answers its first request and then holds the second;
    leaving iter_many early closes it as abandoned by the caller, not as a
    reused connection the server closed (closed_on_reuse)."""

    def second_request_held_on_conn_1(conn):
        while (request := conn.read_request()) is not None:
            if conn.index == 1 and conn.requests == 2:
                conn.wait_client_close()
                return
            respond(conn, request)

    with ScriptedServer(second_request_held_on_conn_1) as server:
        with httpool.Pool() as pool:
            pool.request_many([("GET", server.url)] * 2, concurrency=2)   # two idle, reused next
            results = pool.iter_many([("GET", server.url)] * 2, concurrency=2)
            assert next(results).status_code == 200
            results.close()
            assert server.wait_closed(1)
            stats = _assert_consistent(pool)
            assert (stats.closed.abandoned, stats.closed.closed_on_reuse, stats.in_use) == (1, 0, 0)
