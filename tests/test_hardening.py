"""One regression test per defect the engine rewrite fixes, run through every
API where the defect applies: request(), stream(), request_many() and
iter_many() (``call`` below).

Each test scripts a raw-socket server to do the one wrong thing, then checks
the outcome, the pool's accounting and that no socket leaked.  Where a defect
is "the connection was reused", the observable behaviour (nothing left idle,
the next request on a new connection) is asserted before the close reason.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import (
    HEADERS_ONLY,
    ScriptedServer,
    echo,
    keep_alive,
    never_answer,
    partial_response_then_close,
    respond,
)

MARGIN = 0.5  # seconds a bounded operation may overrun its bound


def expect_response(result) -> httpool.Response:
    assert isinstance(result, httpool.Response), f"expected a Response, got {result!r}"
    return result


def first_conn_sends(raw: bytes, *, close: bool = False):
    """Connection 0 reads one request and answers with the bytes `raw`, then
    closes (`close`) or keeps the connection open until the client closes it;
    every later connection serves keep-alive (body ``conn=I req=N``)."""
    serve = keep_alive()

    def handler(conn):
        if conn.index > 0:
            return serve(conn)
        if conn.read_request(timeout=None) is not None:
            conn.send(raw)
            if close:
                conn.close()
            else:
                conn.wait_client_close()

    return handler


def answer_once_then_close_on_next(first: int):
    """Connections below `first` answer one request keep-alive, then read the
    next request whole and close without answering: the close comes after the
    client's idle check passed.  Later connections serve keep-alive."""
    serve = keep_alive()

    def handler(conn):
        if conn.index >= first:
            return serve(conn)
        request = conn.read_request(timeout=None)
        if request is None:
            return
        respond(conn, request)
        if conn.read_request(timeout=None) is not None:
            conn.close()

    return handler


def trickle(head: bytes, piece: bytes, interval: float):
    """Send `head`, then `piece` every `interval` seconds (0: back to back)
    until the client goes away or the server stops."""

    def handler(conn):
        if conn.read_request(timeout=None) is None:
            return
        conn.send(head)
        while not conn.stall(interval):
            conn.send(piece)

    return handler


def gen_chunks(chunks, gate: threading.Event | None = None, sent: list | None = None):
    """A generator body: yields `chunks`, waiting on `gate` before every chunk
    after the first; appends each chunk to `sent` as it is handed over."""
    for i, chunk in enumerate(chunks):
        if i and gate is not None:
            gate.wait(5)
        if sent is not None:
            sent.append(chunk)
        yield chunk


# ------------------------------------------------------------------ 1. batch bodies


@pytest.mark.parametrize("api", ["request_many", "iter_many"])
def test_batches_send_list_and_generator_bodies(no_socket_leak, api):
    """Defect 1: "request_many/iter_many never send list or generator bodies"."""
    bodies = [b"plain", [b"li", b"", b"st"], gen_chunks([b"gen", b"erator"]), [b"again"]]
    expected = ["plain", "list", "generator", "again"]
    with ScriptedServer(echo) as server:
        with httpool.Pool() as pool:
            requests = [("POST", server.url, {"body": body}) for body in bodies]
            if api == "request_many":
                results = pool.request_many(requests, concurrency=1, timeout=2,
                                            return_exceptions=True)
            else:
                results = sorted(pool.iter_many(requests, concurrency=1, timeout=2,
                                                return_exceptions=True),
                                 key=lambda r: r.index)
            for result in results:
                expect_response(result)
            assert [r.json()["body"] for r in results] == expected
            # A whole chunked upload leaves the connection reusable.
            assert [r.json()["conn"] for r in results] == [0, 0, 0, 0]
            stats = assert_consistent(pool)
            assert (stats.opened, stats.requests, stats.in_use) == (1, 4, 0)


# ------------------------------------------------------------------ 2. retry


@pytest.mark.parametrize("api", APIS)
def test_retry_opens_a_new_connection(no_socket_leak, api):
    """Defect 2: "a retry takes the next idle connection, which may be as dead
    as the first"."""
    with ScriptedServer(answer_once_then_close_on_next(2)) as server:
        with httpool.Pool() as pool:
            # Two connections, both idle and alive when the next GET checks them.
            with pool.stream("GET", server.url) as a, pool.stream("GET", server.url) as b:
                assert (a.read(), b.read()) == (b"conn=0 req=1", b"conn=1 req=1")
            assert (pool.stats().idle, pool.stats().opened) == (2, 2)
            result = call(pool, api, "GET", server.url, timeout=3)
            assert expect_response(result).content == b"conn=2 req=1"
            stats = assert_consistent(pool)
            assert (stats.retried, stats.opened, stats.in_use) == (1, 3, 0)


# ------------------------------------------------------------------ 3. total deadline


def test_total_deadline_holds_while_streaming_a_body_that_keeps_coming(no_socket_leak):
    """Defect 3a: "the total deadline is checked only when a read has to wait,
    so a body that is always there to read is streamed past it"."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    # 64 chunks of 1000 bytes per send, with no pause: the server is paced by
    # TCP flow control only, so bytes are always waiting in the client's socket.
    burst = (b"3e8\r\n" + b"x" * 1000 + b"\r\n") * 64
    with ScriptedServer(trickle(head, burst, 0)) as server:
        with httpool.Pool() as pool:
            received = 0
            started = time.monotonic()
            with pytest.raises(httpool.TimeoutError):
                with pool.stream("GET", server.url, timeout=0.5) as response:
                    for _ in response.iter_bytes(1):
                        received += 1
                        if time.monotonic() - started > 0.5 + 2 * MARGIN:
                            break  # the deadline was ignored: fail, don't hang
            elapsed = time.monotonic() - started
            assert received > 0
            assert 0.45 <= elapsed < 0.5 + MARGIN, elapsed
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


@pytest.mark.parametrize("api", APIS)
def test_total_deadline_holds_during_a_slow_generator_upload(no_socket_leak, api):
    """Defect 3b: "the total deadline is not checked between the chunks of an upload"."""
    sent = []

    def slow_body():
        for i in range(10):
            if i:
                time.sleep(0.1)  # the workload: a slow producer, not synchronisation
            sent.append(i)
            yield b"chunk %d\n" % i

    with ScriptedServer(never_answer) as server:
        with httpool.Pool() as pool:
            started = time.monotonic()
            result = call(pool, api, "POST", server.url, body=slow_body(), timeout=0.3)
            elapsed = time.monotonic() - started
            expect(result, httpool.TimeoutError)
            assert 1 <= len(sent) < 10, f"{len(sent)} chunks taken: the upload was not cut"
            assert 0.25 <= elapsed < 0.3 + 0.2, elapsed
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.timeouts, stats.closed.timeout, stats.in_use) == (1, 1, 0)


# ------------------------------------------------------------------ 4. drain time


@pytest.mark.parametrize("read", [30.0, None])
def test_closing_a_trickling_stream_is_bounded_by_max_drain_time(no_socket_leak, read):
    """Defect 4: "closing a stream drains a trickling body for as long as the
    read timeout (or forever)"."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    with ScriptedServer(trickle(head, b"x" * 10, 0.05)) as server:
        with httpool.Pool(max_drain_time=0.2, timeout=httpool.Timeout(read=read)) as pool:
            with pool.stream("GET", server.url) as response:
                assert response.status_code == 200
                started = time.monotonic()
                response.close()
                elapsed = time.monotonic() - started
            assert elapsed < 0.2 + MARGIN, elapsed
            assert response.is_released
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.closed.drain_time, stats.idle, stats.in_use) == (1, 0, 0)


# ------------------------------------------------------------------ 5. chunk extension


def endless_chunk_extension(conn) -> None:
    """A chunk size line whose extension never ends."""
    if conn.read_request(timeout=None) is None:
        return
    conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;")
    filler = b"a" * 65536
    while not conn.server.stopping:
        conn.send(filler)


@pytest.mark.parametrize("api", APIS)
def test_endless_chunk_extension_is_a_protocol_error(no_socket_leak, api):
    """Defect 5: "a chunk extension is read without limit"."""
    with ScriptedServer(endless_chunk_extension) as server:
        with httpool.Pool() as pool:
            started = time.monotonic()
            result = call(pool, api, "GET", server.url, timeout=httpool.Timeout(total=3.0))
            elapsed = time.monotonic() - started
            expect(result, httpool.RemoteProtocolError)
            assert elapsed < 3.0, elapsed
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.closed.error, stats.in_use) == (1, 0)


# ------------------------------------------------------------------ 6. body size


@pytest.mark.parametrize("api", APIS)
def test_absurd_content_length_is_an_http_error_not_memory_error(no_socket_leak, api):
    """Defect 6a: "Content-Length: 99999999999999 raises MemoryError"."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nhello"
    with ScriptedServer(first_conn_sends(raw, close=True)) as server:
        with httpool.Pool() as pool:
            expect(call(pool, api, "GET", server.url, timeout=3), httpool.HTTPError)
            stats = assert_consistent(pool)
            assert (stats.idle, stats.in_use) == (0, 0)


def _chunked_body_of_2000(conn) -> None:
    request = conn.read_request(timeout=None)
    if request is not None:
        conn.send_response(200, b"b" * 2000, chunked=True)
        conn.wait_client_close()


FRAMINGS = {"content-length": keep_alive(b"b" * 2000), "chunked": _chunked_body_of_2000}


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("api", APIS)
def test_max_body_size_limits_read_bodies(no_socket_leak, api, framing):
    """Defect 6b: "no option limits the size of a response body"."""
    with ScriptedServer(FRAMINGS[framing]) as server:
        with httpool.Pool(max_body_size=1000) as pool:
            expect(call(pool, api, "GET", server.url, timeout=3), httpool.HTTPError,
                   match="max_body_size")
            stats = assert_consistent(pool)
            assert (stats.idle, stats.in_use) == (0, 0)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_max_body_size_limits_streamed_bodies(no_socket_leak, framing):
    """Defect 6b, streamed: iter_bytes stops at max_body_size too."""
    with ScriptedServer(FRAMINGS[framing]) as server:
        with httpool.Pool(max_body_size=1000) as pool:
            received = 0
            with pytest.raises(httpool.HTTPError, match="max_body_size"):
                with pool.stream("GET", server.url, timeout=3) as response:
                    for chunk in response.iter_bytes(100):
                        received += len(chunk)
            assert received <= 1000
            stats = assert_consistent(pool)
            assert (stats.idle, stats.in_use) == (0, 0)


# ------------------------------------------------------------------ 7. early response


def early_answer(answered: threading.Event):
    """Connection 0 reads only the head of the request, answers 200 keep-alive
    at once (the body still coming), sets `answered`, and discards the rest;
    later connections serve keep-alive."""
    serve = keep_alive()

    def handler(conn):
        if conn.index > 0:
            return serve(conn)
        if conn.read_request(timeout=None, body=False) is not None:
            conn.send_response(200, b"ok")
            answered.set()
            conn.wait_client_close()

    return handler


@pytest.mark.parametrize("api", APIS)
def test_connection_answered_before_the_upload_ended_is_not_reused(no_socket_leak, api):
    """Defect 7: "a keep-alive response that arrives before the request body
    was sent whole leaves the connection to be reused"."""
    answered = threading.Event()
    with ScriptedServer(early_answer(answered)) as server:
        with httpool.Pool() as pool:
            body = gen_chunks([b"first chunk", b"second chunk", b"third chunk"], gate=answered)
            result = call(pool, api, "POST", server.url, body=body, timeout=3)
            assert expect_response(result).status_code == 200
            assert result.content == b"ok"
            assert pool.stats().idle == 0, "the connection must not be kept for reuse"
            after = pool.get(server.url, timeout=2)
            assert after.content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.early_response, stats.in_use) == (2, 1, 0)


# ------------------------------------------------------------------ 8. unsafe framing

UNSAFE_FRAMING = {
    "te-on-http-1.0": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "chunked-twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                     b"2\r\nok\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("case", UNSAFE_FRAMING)
@pytest.mark.parametrize("api", APIS)
def test_response_with_unsafe_framing_is_read_and_not_reused(no_socket_leak, api, case):
    """Defect 8a: "Transfer-Encoding on HTTP/1.0, or chunked applied twice,
    leaves the connection to be reused"."""
    with ScriptedServer(first_conn_sends(UNSAFE_FRAMING[case])) as server:
        with httpool.Pool() as pool:
            result = call(pool, api, "GET", server.url, timeout=3)
            assert expect_response(result).status_code == 200
            assert result.content == b"ok"
            assert pool.stats().idle == 0, "the connection must not be kept for reuse"
            assert pool.get(server.url, timeout=2).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.unsafe_framing, stats.in_use) == (2, 1, 0)


@pytest.mark.parametrize("api", APIS)
def test_http_2_status_line_is_a_protocol_error(no_socket_leak, api):
    """Defect 8b: "an `HTTP/2.0` status line is accepted over HTTP/1.1"."""
    raw = b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    with ScriptedServer(first_conn_sends(raw)) as server:
        with httpool.Pool() as pool:
            expect(call(pool, api, "GET", server.url, timeout=3), httpool.RemoteProtocolError)
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.idle, stats.in_use) == (0, 0)


# ------------------------------------------------------------------ 9. obs-fold


@pytest.mark.parametrize("api", APIS)
def test_obs_fold_is_unfolded(no_socket_leak, api):
    """Defect 9: "a folded header line (obs-fold) is a protocol error"."""
    raw = b"HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\nok"
    with ScriptedServer(first_conn_sends(raw)) as server:
        with httpool.Pool() as pool:
            response = expect_response(call(pool, api, "GET", server.url, timeout=3))
            assert response.headers["x-folded"] == "one two"
            assert response.content == b"ok"
            stats = assert_consistent(pool)
            assert stats.in_use == 0


# ------------------------------------------------------------------ 10. messages


@pytest.mark.parametrize("api", APIS)
def test_body_cut_short_says_how_much_arrived(no_socket_leak, api):
    """Defect 10a: "a body cut short reports response bytes, not body bytes"."""
    with ScriptedServer(partial_response_then_close(HEADERS_ONLY + b"0123456789")) as server:
        with httpool.Pool() as pool:
            expect(call(pool, api, "GET", server.url, timeout=3), httpool.ConnectionClosed,
                   match="10 of 100 body bytes")
            stats = assert_consistent(pool)
            assert (stats.closed.error, stats.in_use) == (1, 0)


@pytest.mark.parametrize("api", APIS)
def test_pool_closed_names_the_origin(no_socket_leak, api):
    """Defect 10b: "PoolClosed does not say which origin the request was for"."""
    with ScriptedServer(keep_alive()) as server:
        pool = httpool.Pool()
        pool.close()
        error = expect(call(pool, api, "GET", server.url + "/path"), httpool.PoolClosed)
        assert re.match(re.escape(server.url) + r"(?!\d)", str(error)), str(error)
        assert server.accepted == 0
        stats = assert_consistent(pool)
        assert (stats.opened, stats.in_use) == (0, 0)


# ------------------------------------------------------------------ 11. limits

LIMITS = {
    "max_header_bytes": (
        {"max_header_bytes": 1024},
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 2048 + b"\r\nContent-Length: 2\r\n\r\nok",
    ),
    "max_headers": (
        {"max_headers": 5},
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10))
        + b"Content-Length: 2\r\n\r\nok",
    ),
    "max_interim": (
        {"max_interim": 1},
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ),
}


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("api", APIS)
def test_parser_limits_are_pool_options(no_socket_leak, api, limit):
    """Defect 11: "max_header_bytes, max_headers and max_interim cannot be set
    on a Pool"."""
    options, raw = LIMITS[limit]
    with ScriptedServer(first_conn_sends(raw)) as server:
        with httpool.Pool(**options) as pool:
            expect(call(pool, api, "GET", server.url, timeout=3), httpool.RemoteProtocolError,
                   match=limit)
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.closed.error, stats.idle, stats.in_use) == (1, 0, 0)


# ------------------------------------------------------------------ 12. closed on reuse


@pytest.mark.parametrize("api", APIS)
def test_post_on_a_connection_the_server_closed_fails_and_counts_closed_on_reuse(no_socket_leak, api):
    """Defect 12: "a reused connection the server closed without answering is
    counted as an error, not as closed on reuse"."""
    with ScriptedServer(answer_once_then_close_on_next(1)) as server:
        with httpool.Pool() as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            result = call(pool, api, "POST", server.url, body=b"payload", timeout=3)
            expect(result, httpool.ConnectionClosed)
            assert server.accepted == 1, "a POST is not retried"
            stats = assert_consistent(pool)
            assert (stats.retried, stats.in_use) == (0, 0)
            assert stats.closed.error == 0, "counted as closed_on_reuse, not as an error"
            assert stats.closed.closed_on_reuse == 1
