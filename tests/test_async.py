"""httpool.AsyncPool: the API, cancellation at every await point, and the
blocking pool's seed scenarios, each on the default event loop and on uvloop.

After every scenario the pool's accounting holds (``opened - closed == idle +
in_use``), nothing is in use or waiting, and no socket is left open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

import httpool

from support.accounting import assert_consistent
from support.servers import (
    ScriptedServer,
    close_idle_after,
    full_backlog_listener,
    headers_then_stall,
    keep_alive,
    keep_alive_timeout,
    never_answer,
    respond,
    slowloris_body,
)

uvloop = pytest.importorskip("uvloop")

LOOPS = ["asyncio", "uvloop"]
# The ways to cancel an awaited request; asyncio.timeout() is Python 3.11's.
CANCELLERS = ("timeout", "wait_for", "cancel") if hasattr(asyncio, "timeout") else ("wait_for", "cancel")


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine to its end on a new loop of the kind the test is for."""

    def runner(coro: Coroutine[Any, Any, Any]) -> Any:
        if request.param == "uvloop":
            return uvloop.run(coro)
        return asyncio.run(coro)

    return runner


def settled(pool: httpool.AsyncPool) -> httpool.PoolStats:
    """Nothing in use, nothing waiting, every connection accounted for."""
    stats = assert_consistent(pool)  # type: ignore[arg-type]
    assert (stats.in_use, stats.waiting) == (0, 0), stats
    return stats


# --------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------


def test_get_stream_and_batches(no_socket_leak, run):
    body = b"hello async"

    async def main() -> None:
        with ScriptedServer(keep_alive(body)) as server:
            async with httpool.AsyncPool(max_connections_per_host=4) as pool:
                r = await pool.get(server.url + "/a")
                assert (r.status_code, r.content) == (200, body)
                assert isinstance(r, httpool.Response)
                for method in (pool.post, pool.put, pool.patch, pool.delete, pool.options):
                    assert (await method(server.url, body=b"x")).status_code == 200
                assert (await pool.head(server.url)).content == b""
                rs = await asyncio.gather(*(pool.get(server.url) for _ in range(20)))
                assert {r.content for r in rs} == {body}
                async with pool.stream("GET", server.url) as r:
                    assert isinstance(r, httpool.AsyncResponse)
                    assert await r.aread() == body
                async with pool.stream("GET", server.url) as r:
                    assert [c async for c in r.aiter_bytes(4)] == [b"hell", b"o as", b"ync"]
                async with pool.stream("GET", server.url) as r:
                    with pytest.raises(RuntimeError, match="aread"):
                        r.read()
                many = await pool.request_many([("GET", server.url + f"/{i}") for i in range(30)],
                                               concurrency=8)
                assert [r.url for r in many] == [server.url + f"/{i}" for i in range(30)]
                seen = sorted([r.index async for r in pool.iter_many([("GET", server.url)] * 10)])
                assert seen == list(range(10))
                stats = settled(pool)
                assert stats.opened <= 4 and stats.requests == 1 + 6 + 20 + 3 + 30 + 10
                assert "AsyncPool open" in repr(pool)
            assert pool.stats().idle == 0

    run(main())


def test_policies_redirects_and_cookies(no_socket_leak, run):
    def handler(conn):
        while (request := conn.read_request(timeout=None)) is not None:
            if request.target == "/start":
                conn.send_response(302, b"", {"Location": "/end", "Set-Cookie": "a=1; Path=/"})
            else:
                conn.send_response(200, (request.header("cookie") or "none").encode())

    async def main() -> None:
        with ScriptedServer(handler) as server:
            async with httpool.AsyncPool(follow_redirects=True) as pool:
                r = await pool.get(server.url + "/start")
                assert (r.status_code, r.content, len(r.history)) == (200, b"a=1", 1)
                results = await pool.request_many([("GET", server.url + "/start")] * 5)
                assert [r.content for r in results] == [b"a=1"] * 5
                r = await pool.get(server.url + "/end", auth=("u", "p"))
                assert r.status_code == 200
                settled(pool)

    run(main())


def test_errors_and_return_exceptions(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool() as pool:
                with pytest.raises(httpool.ReadTimeout, match="timed out"):
                    await pool.get(server.url, timeout=0.05)
                results = await pool.request_many([("GET", server.url)] * 3, timeout=0.05,
                                                  return_exceptions=True)
                assert all(isinstance(r, httpool.ReadTimeout) for r in results)
                with pytest.raises(httpool.ReadTimeout):
                    await pool.request_many([("GET", server.url)] * 3, timeout=0.05)
                stats = settled(pool)
                # The first failure of the last batch raised; the rest were given up.
                assert stats.closed.timeout + stats.closed.abandoned == stats.opened == 7
                assert server.wait_closed(7)

    run(main())


def test_one_pool_one_loop(no_socket_leak):
    with ScriptedServer(keep_alive(b"x")) as server:
        pool = httpool.AsyncPool()
        asyncio.run(pool.get(server.url))
        with pytest.raises(RuntimeError, match="belongs to the event loop"):
            uvloop.run(pool.get(server.url))
        pool._pool.close()


def test_close_wakes_waiters_with_pool_closed_in_order(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            pool = httpool.AsyncPool(max_connections_per_host=1)
            holder = asyncio.ensure_future(pool.get(server.url))
            await asyncio.sleep(0.05)
            woken: list[int] = []

            async def wait(i: int) -> None:
                with pytest.raises(httpool.PoolClosed):
                    await pool.get(server.url)
                woken.append(i)

            waiters = [asyncio.ensure_future(wait(i)) for i in range(5)]
            await asyncio.sleep(0.05)
            assert pool.stats().waiting == 5
            await pool.aclose()
            await asyncio.gather(*waiters)
            assert woken == [0, 1, 2, 3, 4]
            holder.cancel()
            with pytest.raises(asyncio.CancelledError):
                await holder
            settled(pool)

    run(main())


def test_waiters_are_served_first_come_first_served(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(slowloris_body(0.005, length=2)) as server:
            async with httpool.AsyncPool(max_connections_per_host=1) as pool:
                order: list[int] = []

                async def one(i: int) -> None:
                    await pool.get(server.url)
                    order.append(i)

                tasks = []
                for i in range(6):
                    tasks.append(asyncio.ensure_future(one(i)))
                    await asyncio.sleep(0.001)
                await asyncio.gather(*tasks)
                assert order == list(range(6))
                assert settled(pool).opened == 1

    run(main())


# --------------------------------------------------------------------------
# Cancellation at every await point
# --------------------------------------------------------------------------

# (name, server handler, pool options, the awaited operation)
Operation = Callable[[httpool.AsyncPool, str], Awaitable[object]]


async def _get(pool: httpool.AsyncPool, url: str) -> object:
    return await pool.get(url)


async def _stream_read(pool: httpool.AsyncPool, url: str) -> object:
    async with pool.stream("GET", url) as r:
        return await r.aread()


async def _stream_iter(pool: httpool.AsyncPool, url: str) -> object:
    async with pool.stream("GET", url) as r:
        return [c async for c in r.aiter_bytes(1)]


async def _stream_drain(pool: httpool.AsyncPool, url: str) -> object:
    async with pool.stream("GET", url) as r:
        return r.status_code   # the drain runs in __aexit__


async def _upload(pool: httpool.AsyncPool, url: str) -> object:
    return await pool.post(url, body=b"u" * (16 << 20))


async def _batch(pool: httpool.AsyncPool, url: str) -> object:
    return await pool.request_many([("GET", url)] * 4)


async def _iter_batch(pool: httpool.AsyncPool, url: str) -> object:
    return [r async for r in pool.iter_many([("GET", url)] * 4)]


SCENARIOS = [
    ("head-never-comes", never_answer, {}, _get),
    ("body-stalls", headers_then_stall, {}, _get),
    ("stream-body-stalls", headers_then_stall, {}, _stream_read),
    ("stream-body-trickles", slowloris_body(0.01, length=50), {}, _stream_iter),
    ("drain-trickles", slowloris_body(0.01, length=50), {"max_drain_time": 5.0}, _stream_drain),
    ("upload-stalls", never_answer, {}, _upload),
    ("batch-head-never-comes", never_answer, {"max_connections_per_host": 2}, _batch),
    ("iter-body-trickles", slowloris_body(0.01, length=50), {}, _iter_batch),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_cancel_at_every_point(no_socket_leak, run, scenario):
    """Cancel the operation after 0, 1, 5, 20 and 60 ms (asyncio.timeout,
    wait_for, Task.cancel): nothing in use, nothing waiting, no connection
    left half-read in the idle stack, every socket closed at the end."""
    _, handler, options, operation = scenario

    async def main() -> None:
        with ScriptedServer(handler) as server:
            async with httpool.AsyncPool(**options) as pool:
                for delay in (0.0, 0.001, 0.005, 0.02, 0.06):
                    for how in CANCELLERS:
                        if how == "timeout":
                            with pytest.raises(TimeoutError):
                                async with asyncio.timeout(delay):
                                    await operation(pool, server.url)
                        elif how == "wait_for":
                            # asyncio.TimeoutError: builtins.TimeoutError from Python 3.11 on.
                            with pytest.raises(asyncio.TimeoutError):
                                await asyncio.wait_for(operation(pool, server.url), delay)
                        else:
                            task = asyncio.ensure_future(operation(pool, server.url))
                            await asyncio.sleep(delay)
                            task.cancel()
                            with pytest.raises(asyncio.CancelledError):
                                await task
                        stats = settled(pool)
                        # What was given up mid-response was closed, not pooled.
                        assert stats.idle == 0, stats
                stats = settled(pool)
                assert stats.closed.abandoned == stats.opened, stats

    run(main())


def test_cancel_while_waiting_for_a_slot(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool(max_connections_per_host=1) as pool:
                holder = asyncio.ensure_future(pool.get(server.url))
                await asyncio.sleep(0.02)
                for delay in (0.0, 0.001, 0.01):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(pool.get(server.url), delay)
                    assert pool.stats().waiting == 0
                holder.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await holder
                stats = settled(pool)
                assert stats.opened == 1 and stats.closed.abandoned == 1

    run(main())


def test_cancel_while_connecting(no_socket_leak, run):
    async def main() -> None:
        with full_backlog_listener() as listener:
            async with httpool.AsyncPool() as pool:
                for delay in (0.0, 0.005, 0.05):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(pool.get(f"http://127.0.0.1:{listener.port}/"), delay)
                    stats = settled(pool)
                    assert stats.opened == stats.closed.total   # closed, if it opened

    run(main())


def test_cancelled_requests_leave_the_pool_usable(no_socket_leak, run):
    """A burst of requests cancelled at random points, then the same pool serves."""

    async def main() -> None:
        with ScriptedServer(slowloris_body(0.002, length=20)) as server:
            async with httpool.AsyncPool(max_connections_per_host=4) as pool:
                for round_ in range(5):
                    tasks = [asyncio.ensure_future(pool.get(server.url)) for _ in range(16)]
                    await asyncio.sleep(0.003 * round_)
                    for task in tasks[::2]:
                        task.cancel()
                    results = await asyncio.gather(*tasks, return_exceptions=True)
                    assert all(isinstance(r, (httpool.Response, asyncio.CancelledError)) for r in results)
                    settled(pool)
                r = await pool.get(server.url)
                assert r.content == b"x" * 20
                settled(pool)

    run(main())


# --------------------------------------------------------------------------
# The seed scenarios of the blocking pool (test_pool_seeds.py)
# --------------------------------------------------------------------------


def test_seed1_timed_out_request_frees_its_connection(no_socket_leak, run):
    deadline = 0.2

    async def main() -> list[float]:
        elapsed = []
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool(max_connections_per_host=2,
                                         timeout=httpool.Timeout(pool=0.5)) as pool:
                for _ in range(6):
                    started = time.monotonic()
                    with pytest.raises(httpool.ReadTimeout, match=r"127\.0\.0\.1:\d+.*timed out"):
                        await pool.get(server.url + "/slow", timeout=deadline)
                    elapsed.append(time.monotonic() - started)
                assert server.wait_closed(6)
                assert all(conn.closed_by == "client" for conn in server.connections)
                stats = settled(pool)
                assert (stats.opened, stats.timeouts, stats.closed.timeout) == (6, 6, 6)
        return elapsed

    elapsed = run(main())
    assert min(elapsed) >= deadline - 0.002   # uvloop's clock is the coarse one, to the ms
    assert max(elapsed) < deadline + 0.15, elapsed


def test_seed1_concurrent_timeouts_never_exhaust_the_pool(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool(max_connections_per_host=2,
                                         timeout=httpool.Timeout(read=0.1, pool=2.0)) as pool:
                results = await asyncio.gather(*(pool.get(server.url) for _ in range(8)),
                                               return_exceptions=True)
                assert all(isinstance(r, httpool.TimeoutError) for r in results), results
                assert not any(isinstance(r, httpool.PoolTimeout) for r in results)
                stats = settled(pool)
                assert stats.closed.timeout == stats.opened == 8

    run(main())


def test_seed2_unread_bodies_are_drained_and_the_connection_reused(no_socket_leak, run):
    body = b"x" * 65536

    async def main() -> None:
        with ScriptedServer(keep_alive(body)) as server:
            async with httpool.AsyncPool() as pool:
                for _ in range(50):
                    async with pool.stream("GET", server.url + "/big") as response:
                        assert response.status_code == 200
                stats = settled(pool)
                assert server.accepted == 1
                assert (stats.opened, stats.reused, stats.drained) == (1, 49, 50)
                assert stats.drained_bytes == 50 * len(body)

    run(main())


def test_seed2_body_past_the_drain_limit_is_closed_and_counted(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(keep_alive(b"y" * 300_000)) as server:
            async with httpool.AsyncPool(max_drain=100_000) as pool:
                for _ in range(3):
                    async with pool.stream("GET", server.url) as response:
                        assert await response.aiter_bytes(1000).__anext__() == b"y" * 1000
                stats = settled(pool)
                assert (stats.opened, stats.drained, stats.closed.drain_limit) == (3, 0, 3)
                assert server.wait_closed(3)

    run(main())


def test_seed3_connection_closed_by_server_while_idle_is_not_reused(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(close_idle_after(50)) as server:
            async with httpool.AsyncPool(idle_timeout=15.0) as pool:
                for _ in range(3):
                    assert (await pool.get(server.url)).status_code == 200
                    await asyncio.sleep(0.15)
                stats = settled(pool)
                assert stats.opened == 3 and stats.reused == 0
                assert stats.stale_eof + stats.retried >= 2

    run(main())


def test_seed3_keep_alive_timeout_is_honoured(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(keep_alive_timeout(1, close_after=0.3)) as server:
            async with httpool.AsyncPool() as pool:
                await pool.get(server.url)
                await asyncio.sleep(0.8)
                await pool.get(server.url)
                stats = settled(pool)
                assert stats.opened == 2 and stats.retried == 0

    run(main())


def test_seed4_connection_close_and_limits(no_socket_leak, run):
    def close_each(conn):
        request = conn.read_request(timeout=None)
        if request is not None:
            respond(conn, request, headers={"Connection": "close"})
            conn.close()

    async def main() -> None:
        with ScriptedServer(close_each) as server:
            async with httpool.AsyncPool(max_connections_per_host=3) as pool:
                results = await asyncio.gather(*(pool.get(server.url) for _ in range(12)))
                assert all(r.status_code == 200 for r in results)
                stats = settled(pool)
                assert stats.opened == 12 and stats.closed.server_close == 12 and stats.idle == 0

    run(main())


def test_seed4_client_connection_close(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(keep_alive(b"ok")) as server:
            async with httpool.AsyncPool() as pool:
                for _ in range(3):
                    await pool.get(server.url, headers={"Connection": "close"})
                stats = settled(pool)
                assert stats.opened == 3 and stats.closed.client_close == 3

    run(main())


def test_seed4_pool_timeout_when_every_slot_is_held(no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool(max_connections_per_host=1) as pool:
                holder = asyncio.ensure_future(pool.get(server.url, timeout=1.0))
                await asyncio.sleep(0.02)
                with pytest.raises(httpool.PoolTimeout, match="max_connections_per_host=1"):
                    await pool.get(server.url, timeout=httpool.Timeout(pool=0.05))
                with pytest.raises(httpool.ReadTimeout):
                    await holder
                settled(pool)

    run(main())


# --------------------------------------------------------------------------
# Policies in a stream, send(), and a crowd against nginx
# --------------------------------------------------------------------------


def test_stream_follows_redirects_and_send(no_socket_leak, run):
    def handler(conn):
        while (request := conn.read_request(timeout=None)) is not None:
            if request.target == "/start":
                conn.send_response(302, b"moved" * 1000, {"Location": "/end", "Set-Cookie": "a=1"})
            else:
                conn.send_response(200, (request.header("cookie") or "none").encode())

    async def main() -> None:
        with ScriptedServer(handler) as server:
            async with httpool.AsyncPool(follow_redirects=True) as pool:
                async with pool.stream("GET", server.url + "/start") as r:
                    assert (r.status_code, await r.aread(), len(r.history)) == (200, b"a=1", 1)
                async with pool.stream("GET", server.url + "/start", auth=("u", "p")) as r:
                    assert [c async for c in r.aiter_bytes()] == [b"a=1"]
                r = await pool.send(httpool.Request("GET", server.url + "/start"))
                assert r.content == b"a=1"
                r = await pool.send(httpool.Request("GET", server.url + "/end"), stream=True)
                assert isinstance(r, httpool.AsyncResponse)
                assert await r.aread() == b"a=1"
                stats = settled(pool)
                assert stats.opened == 1 and stats.drained >= 1

    run(main())


def test_ten_thousand_requests_at_256_with_stalled_peers(no_socket_leak, nginx):
    """10,000 requests, 256 in flight from one loop (uvloop): nginx, with one
    in 50 to a peer that never answers and one in 50 to a peer that stalls
    mid-body. Every request ends within its total deadline: nginx's answered,
    the stalled ones as ReadTimeout, most of them right after the read timeout
    (a loaded machine delays the loop, hence the median; and the read
    timeout leaves nginx's answers room on a machine shared with other work)."""
    read, total = 1.0, 5.0

    async def main() -> None:
        with ScriptedServer(never_answer) as silent, ScriptedServer(headers_then_stall) as stall:
            urls = [silent.url if i % 50 == 0 else stall.url if i % 50 == 25 else nginx.url + "/small"
                    for i in range(10_000)]
            async with httpool.AsyncPool(max_connections_per_host=256, max_connections=1000,
                                         max_idle_per_host=256,
                                         timeout=httpool.Timeout(read=read, total=total)) as pool:
                gate = asyncio.Semaphore(256)
                took: dict[str, list[float]] = {"ok": [], "timeout": []}

                async def one(url: str) -> None:
                    async with gate:
                        started = time.monotonic()
                        try:
                            r = await pool.get(url)
                        except httpool.ReadTimeout:
                            assert url != nginx.url + "/small"
                            kind = "timeout"
                        else:
                            assert r.content == b"Hello, world!"
                            kind = "ok"
                        took[kind].append(time.monotonic() - started)

                await asyncio.gather(*(one(url) for url in urls))
                assert (len(took["ok"]), len(took["timeout"])) == (9_600, 400)
                assert max(took["ok"] + took["timeout"]) < total
                assert read <= sorted(took["timeout"])[200] < read + 0.15, sorted(took["timeout"])[200]
                stats = settled(pool)
                assert stats.requests == 9_800 and stats.timeouts == 400, stats

    uvloop.run(main())


def test_a_long_lived_pool_keeps_no_finished_exchange(no_socket_leak):
    """The standing batch's deadline heap sheds the entries of finished
    exchanges even when a nearer deadline stays on top (a stalled request
    with a shorter read timeout): each would otherwise live until its own."""
    import gc

    async def main() -> None:
        with ScriptedServer(keep_alive(b"x")) as server, ScriptedServer(never_answer) as silent:
            async with httpool.AsyncPool(max_connections_per_host=16) as pool:
                stalled = asyncio.ensure_future(pool.get(silent.url, timeout=httpool.Timeout(read=5.0)))
                gate = asyncio.Semaphore(16)

                async def one() -> None:
                    async with gate:
                        await pool.get(server.url)

                await asyncio.gather(*(one() for _ in range(3000)))
                gc.collect()   # count what is still held, not garbage not yet collected
                alive = sum(type(o).__name__ == "Exchange" for o in gc.get_objects())
                assert alive < 1500, alive
                stalled.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await stalled
                settled(pool)

    uvloop.run(main())


# --------------------------------------------------------------------------
# HTTPS: the engine's own TLS under the loop, and a cancelled handshake
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from support.tls import Certificates

    return Certificates(tmp_path_factory.mktemp("certs"))


def test_https_requests_reuse_one_connection(certs, no_socket_leak, run):
    async def main() -> None:
        with ScriptedServer(keep_alive(b"secret" * 10_000), tls=certs.server_context()) as server:
            async with httpool.AsyncPool(verify=certs.ca_path) as pool:
                url = f"https://127.0.0.1:{server.port}/"
                for _ in range(5):
                    assert (await pool.get(url)).content == b"secret" * 10_000
                async with pool.stream("GET", url) as r:
                    assert b"".join([c async for c in r.aiter_bytes(4096)]) == b"secret" * 10_000
                results = await asyncio.gather(*(pool.get(url) for _ in range(8)))
                assert {len(r.content) for r in results} == {60_000}
                stats = settled(pool)
                assert stats.tls_handshakes + stats.tls_resumed == stats.opened
            async with httpool.AsyncPool() as untrusting:   # the system's CAs only
                with pytest.raises(httpool.TLSError, match="certificate"):
                    await untrusting.get(url)
                settled(untrusting)

    run(main())


def test_cancel_mid_handshake(certs, no_socket_leak, run):
    """A server that reads the ClientHello and never answers: the task is
    cancelled mid-handshake, and the handshake's connection is closed."""

    async def main() -> None:
        with ScriptedServer(never_answer) as server:
            async with httpool.AsyncPool(verify=certs.ca_path) as pool:
                url = f"https://127.0.0.1:{server.port}/"
                for delay in (0.0, 0.005, 0.03):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(pool.get(url), delay)
                    stats = settled(pool)
                    assert stats.idle == 0
                with pytest.raises(httpool.ConnectTimeout, match="TLS handshake timed out"):
                    await pool.get(url, timeout=httpool.Timeout(connect=0.1))
                stats = settled(pool)
                assert stats.closed.abandoned + stats.closed.timeout == stats.opened
            assert server.wait_closed(stats.opened)

    run(main())


def test_retry_delays_and_decoding(no_socket_leak, run):
    """A Retry's delays are loop timers (in a request and in a batch), a
    gzip body is decoded (whole, and as a stream), and a cancelled request
    whose retry waits its delay is dropped."""
    import gzip

    body = b"decoded " * 1000
    answers: dict[str, int] = {}

    def handler(conn):
        while (request := conn.read_request(timeout=None)) is not None:
            seen = answers[request.target] = answers.get(request.target, 0) + 1
            if request.target.startswith("/flaky") and seen <= 2:
                conn.send_response(503, b"busy")
            else:
                conn.send_response(200, gzip.compress(body), {"Content-Encoding": "gzip"})

    async def main() -> None:
        with ScriptedServer(handler) as server:
            retry = httpool.Retry(3, status_forcelist=[503], backoff_factor=0.05, backoff_jitter=0)
            async with httpool.AsyncPool(retries=retry) as pool:
                started = time.monotonic()
                r = await pool.get(server.url + "/flaky")
                assert (r.status_code, r.content, r.retries) == (200, body, 2)
                assert time.monotonic() - started >= 0.05
                many = await pool.request_many([("GET", server.url + f"/flaky{i}") for i in range(4)])
                assert [(r.status_code, r.retries) for r in many] == [(200, 2)] * 4
                async with pool.stream("GET", server.url + "/plain") as r:
                    assert b"".join([c async for c in r.aiter_bytes(1000)]) == body
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(pool.get(server.url + "/flaky-cancelled"), 0.03)
                await asyncio.sleep(0.3)   # the dropped retry never goes out
                assert answers["/flaky-cancelled"] == 1
                stats = settled(pool)
                assert stats.retries_status == 2 + 8 + 1   # the last one scheduled, then dropped

    run(main())


def test_through_a_socks5_proxy_and_cancelled_mid_tunnel(no_socket_leak, run):
    """A proxy's tunnel is the engine's too (Connection.tunnel_step): it
    works under the loop, and a task cancelled while the proxy stalls its
    greeting leaves nothing behind."""
    from support.socks import SocksServer

    async def main() -> None:
        with ScriptedServer(keep_alive(b"tunnelled")) as server, SocksServer() as socks:
            async with httpool.AsyncPool(proxy=socks.proxy_url()) as pool:
                for _ in range(3):
                    assert (await pool.get(server.url)).content == b"tunnelled"
                async with pool.stream("GET", server.url) as r:
                    assert await r.aread() == b"tunnelled"
                assert settled(pool).opened == 1
        with ScriptedServer(keep_alive(b"x")) as server, SocksServer(stall="greeting") as socks:
            async with httpool.AsyncPool(proxy=socks.proxy_url()) as pool:
                for delay in (0.0, 0.01):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(pool.get(server.url), delay)
                    settled(pool)

    run(main())
