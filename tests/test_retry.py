"""httpool.Retry: statuses, Retry-After (seconds and HTTP-date), backoff,
the total deadline, connect and read errors, through every API (a batch
schedules a retry without blocking its other requests), against the
project's own servers. Waits are measured between the server's arrivals of
one request's attempts; margins are generous, the lower bounds exact."""

from __future__ import annotations

import email.utils
import math
import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import HEADERS_ONLY, STATUS_LINE_BYTE, ScriptedServer, closed_port, respond, routes
from support.tls import Certificates

MARGIN = 0.15      # a measured wait is within [expected, expected + MARGIN]


class Script:
    """A route answering its attempts in turn (the last answer repeats), and
    noting when each arrived (time.monotonic(), and time.time())."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.arrivals: list[float] = []
        self.wall: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.wall.append(time.time())
            status, headers = self.answers[min(len(self.arrivals), len(self.answers)) - 1]
        return status, f"attempt {len(self.arrivals)}".encode(), headers

    @property
    def waits(self) -> list[float]:
        return [b - a for a, b in zip(self.arrivals, self.arrivals[1:])]


def retrying(**options) -> httpool.Pool:
    options.setdefault("backoff_factor", 0.0)
    options.setdefault("backoff_jitter", 0.0)
    return httpool.Pool(retries=httpool.Retry(**options))


UNAVAILABLE = (503, {})
OK = (200, {})


# ------------------------------------------------------------------ statuses


@pytest.mark.parametrize("api", APIS)
def test_a_forcelisted_status_is_retried_until_it_succeeds(api, no_socket_leak):
    script = Script(UNAVAILABLE, UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server, retrying() as pool:
        response = call(pool, api, "GET", server.url + "/flaky")
        assert response.status_code == 200, response
        assert response.content == b"attempt 3"
        assert response.retries == 2
        assert response.history == []   # retries are not hops
        stats = assert_consistent(pool)
        assert (stats.retries_status, stats.retries_connect, stats.retries_read) == (2, 0, 0)
        assert stats.origins[server.url].retries_status == 2
        assert stats.opened == 1        # every attempt on the one keep-alive connection
        assert len(script.arrivals) == 3


@pytest.mark.parametrize("api", APIS)
def test_a_status_outside_the_forcelist_is_returned_at_once(api, no_socket_leak):
    script = Script((500, {}), OK)
    with ScriptedServer(routes({"/broken": script})) as server, retrying() as pool:
        response = call(pool, api, "GET", server.url + "/broken")
        assert response.status_code == 500
        assert response.retries == 0
        assert len(script.arrivals) == 1
        assert assert_consistent(pool).retries_status == 0


@pytest.mark.parametrize("api", APIS)
def test_a_post_is_not_retried_for_a_status_unless_its_method_is_allowed(api, no_socket_leak):
    script = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/submit": script})) as server:
        with retrying() as pool:
            response = call(pool, api, "POST", server.url + "/submit", body=b"order")
            assert (response.status_code, response.retries) == (503, 0)
            assert len(script.arrivals) == 1
            assert_consistent(pool)
        script.arrivals.clear()
        with retrying(allowed_methods={"GET", "POST"}) as pool:
            response = call(pool, api, "POST", server.url + "/submit", body=b"order")
            assert (response.status_code, response.retries) == (200, 1)
            assert len(script.arrivals) == 2
            assert_consistent(pool)


def test_a_body_that_cannot_be_sent_again_is_not_retried(no_socket_leak):
    script = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/upload": script})) as server:
        with retrying(allowed_methods={"PUT"}) as pool:
            response = pool.put(server.url + "/upload", body=iter([b"one ", b"shot"]))
            assert (response.status_code, response.retries) == (503, 0)
            assert len(script.arrivals) == 1
            assert_consistent(pool)


def test_the_method_is_matched_in_any_case(no_socket_leak):
    script = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server, retrying() as pool:
        response = pool.request("get", server.url + "/flaky")
        assert (response.status_code, response.retries) == (200, 1)


def test_total_zero_retries_nothing(no_socket_leak):
    script = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server, retrying(total=0) as pool:
        response = pool.get(server.url + "/flaky")
        assert (response.status_code, response.retries) == (503, 0)
        assert len(script.arrivals) == 1


@pytest.mark.parametrize("api", APIS)
def test_when_total_is_spent_the_last_response_is_returned(api, no_socket_leak):
    script = Script(UNAVAILABLE)
    with ScriptedServer(routes({"/down": script})) as server, retrying(total=2) as pool:
        response = call(pool, api, "GET", server.url + "/down")
        assert (response.status_code, response.retries) == (503, 2)
        assert response.content == b"attempt 3"
        with pytest.raises(httpool.HTTPStatusError):
            response.raise_for_status()
        assert len(script.arrivals) == 3
        assert assert_consistent(pool).retries_status == 2


def test_a_pool_without_a_retry_does_not_retry_statuses(no_socket_leak):
    script = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server, httpool.Pool(retries=3) as pool:
        response = pool.get(server.url + "/flaky")
        assert (response.status_code, response.retries) == (503, 0)
        assert len(script.arrivals) == 1


# --------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("api", APIS)
def test_retry_after_in_seconds_is_waited(api, no_socket_leak):
    script = Script((503, {"Retry-After": "1"}), OK)
    with ScriptedServer(routes({"/busy": script})) as server:
        with retrying(backoff_factor=5.0, backoff_max=10.0) as pool:
            response = call(pool, api, "GET", server.url + "/busy")
            assert (response.status_code, response.retries) == (200, 1)
            (wait,) = script.waits
            print(f"Retry-After: 1 ({api}): waited {wait:.3f} s")
            assert 1.0 <= wait < 1.0 + MARGIN
            assert_consistent(pool)


@pytest.mark.parametrize("api", ["request", "iter_many"])
def test_retry_after_as_an_http_date_is_waited(api, no_socket_leak):
    # An HTTP-date has whole seconds: the retry is due at `due`, 1 to 2 s away.
    due = math.ceil(time.time()) + 2
    script = Script((503, {"Retry-After": email.utils.formatdate(due, usegmt=True)}), OK)
    with ScriptedServer(routes({"/busy": script})) as server:
        with retrying(backoff_factor=5.0, backoff_max=10.0) as pool:
            response = call(pool, api, "GET", server.url + "/busy")
            assert (response.status_code, response.retries) == (200, 1)
            asked = due - script.wall[0]
            (wait,) = script.waits
            print(f"Retry-After: HTTP-date {asked:.3f} s away ({api}): waited {wait:.3f} s")
            assert script.wall[1] >= due - 0.01   # wall clock: a millisecond of rounding
            assert asked - 0.01 <= wait < asked + MARGIN
            assert_consistent(pool)


@pytest.mark.parametrize("api", ["request", "request_many"])
def test_retry_after_is_capped_at_backoff_max(api, no_socket_leak):
    script = Script((503, {"Retry-After": "30"}), OK)
    with ScriptedServer(routes({"/busy": script})) as server:
        with retrying(backoff_max=0.2) as pool:
            response = call(pool, api, "GET", server.url + "/busy")
            assert (response.status_code, response.retries) == (200, 1)
            (wait,) = script.waits
            print(f"Retry-After: 30, backoff_max=0.2 ({api}): waited {wait:.3f} s")
            assert 0.2 <= wait < 0.2 + MARGIN


def test_retry_after_is_ignored_without_respect_retry_after(no_socket_leak):
    script = Script((503, {"Retry-After": "30"}), OK)
    with ScriptedServer(routes({"/busy": script})) as server:
        with retrying(backoff_factor=0.05, respect_retry_after=False) as pool:
            response = pool.get(server.url + "/busy")
            assert (response.status_code, response.retries) == (200, 1)
            (wait,) = script.waits
            assert 0.05 <= wait < 0.05 + MARGIN


# -------------------------------------------------------------------- backoff


@pytest.mark.parametrize("api", APIS)
def test_backoff_doubles_from_backoff_factor(api, no_socket_leak):
    script = Script(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server:
        with retrying(backoff_factor=0.05) as pool:
            response = call(pool, api, "GET", server.url + "/flaky")
            assert (response.status_code, response.retries) == (200, 3)
            print(f"backoff 0.05 ({api}): waited {[round(w, 3) for w in script.waits]}")
            for wait, expected in zip(script.waits, [0.05, 0.1, 0.2], strict=True):
                assert expected <= wait < expected + MARGIN


def test_backoff_is_bounded_by_backoff_max(no_socket_leak):
    script = Script(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, OK)
    with ScriptedServer(routes({"/flaky": script})) as server:
        with retrying(backoff_factor=0.05, backoff_max=0.08) as pool:
            assert pool.get(server.url + "/flaky").status_code == 200
            print(f"backoff 0.05, max 0.08: waited {[round(w, 3) for w in script.waits]}")
            for wait, expected in zip(script.waits, [0.05, 0.08, 0.08], strict=True):
                assert expected <= wait < expected + MARGIN


def test_jitter_adds_at_most_backoff_jitter(no_socket_leak):
    script = Script(*[UNAVAILABLE] * 5, OK)
    with ScriptedServer(routes({"/flaky": script})) as server:
        with retrying(total=5, backoff_factor=0.02, backoff_max=0.02, backoff_jitter=0.1) as pool:
            assert pool.get(server.url + "/flaky").status_code == 200
            print(f"backoff 0.02 + jitter 0.1: waited {[round(w, 3) for w in script.waits]}")
            assert len(script.waits) == 5
            for wait in script.waits:
                assert 0.02 <= wait < 0.02 + 0.1 + MARGIN


def test_the_delays_follow_the_formula():
    retry = httpool.Retry(backoff_factor=0.5, backoff_max=3.0, backoff_jitter=0.0)
    assert [retry.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = httpool.Retry(backoff_factor=0.5, backoff_max=3.0, backoff_jitter=0.25)
    for n in range(1, 6):
        assert retry.backoff(n) <= jittered.backoff(n) <= retry.backoff(n) + 0.25


# ---------------------------------------------------------- the total deadline


@pytest.mark.parametrize("api", APIS)
def test_no_wait_passes_the_total_deadline(api, no_socket_leak):
    script = Script((503, {"Retry-After": "5"}), OK)
    with ScriptedServer(routes({"/busy": script})) as server, retrying(backoff_max=30) as pool:
        started = time.monotonic()
        response = call(pool, api, "GET", server.url + "/busy", timeout=1.0)
        elapsed = time.monotonic() - started
        print(f"Retry-After: 5 with timeout=1 ({api}): returned after {elapsed:.3f} s")
        assert (response.status_code, response.retries) == (503, 0)
        assert elapsed < 0.5
        assert len(script.arrivals) == 1
        assert_consistent(pool)


def test_retries_stop_before_the_total_deadline(no_socket_leak):
    # Waits of 0.2, 0.4, 0.8 s: the third would end past 1 s from the start.
    script = Script(UNAVAILABLE)
    with ScriptedServer(routes({"/down": script})) as server:
        with retrying(total=10, backoff_factor=0.2) as pool:
            started = time.monotonic()
            response = pool.get(server.url + "/down", timeout=1.0)
            elapsed = time.monotonic() - started
            assert (response.status_code, response.retries) == (503, 2)
            assert 0.6 <= elapsed < 1.0


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize("api", APIS)
def test_connect_errors_are_retried_then_raised(api, no_socket_leak):
    url = f"http://127.0.0.1:{closed_port()}/"
    with retrying(total=3, backoff_factor=0.05) as pool:
        started = time.monotonic()
        result = call(pool, api, "POST", url, body=b"never sent")
        elapsed = time.monotonic() - started
        print(f"connect refused ({api}): raised after {elapsed:.3f} s")
        expect(result, httpool.ConnectError)
        # Three waits of 0.05, 0.1 and 0.2 s between four refused connects.
        assert 0.35 <= elapsed < 0.35 + MARGIN
        stats = assert_consistent(pool)
        assert (stats.retries_connect, stats.retries_status, stats.retries_read) == (3, 0, 0)


@pytest.mark.parametrize("api", APIS)
def test_a_certificate_that_fails_verification_is_not_retried(api, tmp_path, no_socket_leak):
    certs = Certificates(tmp_path)
    tls = certs.server_context(ca=certs.other_ca)
    with ScriptedServer(routes({}), tls=tls) as server:
        with httpool.Pool(verify=certs.ca_path, retries=httpool.Retry(backoff_factor=0)) as pool:
            expect(call(pool, api, "GET", server.url + "/"), httpool.TLSError)
            assert server.wait_accepted(1)
            assert server.accepted == 1
            stats = assert_consistent(pool)
            assert stats.retries_connect == 0


def first_connection_breaks(part: bytes = STATUS_LINE_BYTE):
    """The first connection sends `part` of a response (a byte, or a head
    announcing 100 bytes) and closes; any other answers 200."""

    def handler(conn):
        if conn.index == 0:
            if conn.read_request(timeout=None) is not None:
                conn.send(part)
                conn.close()
            return
        while (request := conn.read_request(timeout=None)) is not None:
            respond(conn, request, b"whole")

    return handler


# A stream's response is the caller's once its head arrived: a body that
# breaks after that is the caller's error, not retried.
READ_ERRORS = [(api, STATUS_LINE_BYTE) for api in APIS] + [
    (api, HEADERS_ONLY) for api in APIS if api != "stream"]


@pytest.mark.parametrize(("api", "part"), READ_ERRORS)
def test_a_read_error_is_retried_for_a_get(api, part, no_socket_leak):
    with ScriptedServer(first_connection_breaks(part)) as server, retrying() as pool:
        response = call(pool, api, "GET", server.url + "/")
        assert (response.status_code, response.retries) == (200, 1), response
        assert response.content == b"whole"
        assert server.requests == 2
        stats = assert_consistent(pool)
        assert (stats.retries_read, stats.retries_connect) == (1, 0)


@pytest.mark.parametrize(("api", "part"), READ_ERRORS)
def test_a_post_is_never_sent_twice_after_a_read_error(api, part, no_socket_leak):
    with ScriptedServer(first_connection_breaks(part)) as server:
        with retrying(allowed_methods={"GET", "POST"}) as pool:
            result = call(pool, api, "POST", server.url + "/", body=b"order")
            expect(result, httpool.TransportError)
            assert server.requests == 1
            stats = assert_consistent(pool)
            assert stats.retries_read == 0


def test_a_read_timeout_is_retried_for_a_get(no_socket_leak):
    def slow_first(conn):
        if conn.index == 0:
            if conn.read_request(timeout=None) is not None:
                conn.wait_client_close()
            return
        while (request := conn.read_request(timeout=None)) is not None:
            respond(conn, request, b"in time")

    with ScriptedServer(slow_first) as server, retrying() as pool:
        response = pool.get(server.url + "/", timeout=httpool.Timeout(read=0.2))
        assert (response.status_code, response.retries, response.content) == (200, 1, b"in time")
        assert assert_consistent(pool).retries_read == 1


# ------------------------------------------------------------------- batches


def test_a_batch_retry_does_not_block_the_other_requests(no_socket_leak):
    slow = Script(UNAVAILABLE, OK)
    with ScriptedServer(routes({"/slow": slow})) as server:
        with retrying(backoff_factor=0.5) as pool:
            items = [("GET", server.url + "/slow")] + [("GET", server.url + f"/{i}")
                                                       for i in range(5)]
            started = time.monotonic()
            done = []
            for response in pool.iter_many(items, concurrency=2):
                done.append((response.index, time.monotonic() - started, response.status_code))
            total = time.monotonic() - started
            print(f"batch: completions {[(i, round(t, 3)) for i, t, _ in done]}, total {total:.3f} s")
            assert [index for index, _, _ in done][-1] == 0
            assert all(status == 200 for _, _, status in done)
            assert all(at < 0.3 for index, at, _ in done if index != 0)
            assert 0.5 <= total < 0.5 + 2 * MARGIN
            assert len(slow.arrivals) == 2
            assert assert_consistent(pool).retries_status == 1


def test_closing_a_batch_drops_its_delayed_retries(no_socket_leak):
    slow = Script((503, {"Retry-After": "5"}), OK)
    with ScriptedServer(routes({"/slow": slow})) as server:
        with retrying(backoff_max=10) as pool:
            started = time.monotonic()
            batch = pool.iter_many([("GET", server.url + "/slow"), ("GET", server.url + "/")])
            first = next(batch)
            assert first.index == 1
            batch.close()
            assert time.monotonic() - started < 1.0
            assert len(slow.arrivals) == 1
            stats = assert_consistent(pool)
            assert stats.in_use == 0


# ------------------------------------------------------------------- arguments


@pytest.mark.parametrize(("options", "error"), [
    ({"total": -1}, ValueError),
    ({"total": 1.5}, TypeError),
    ({"total": True}, TypeError),
    ({"status_forcelist": 503}, TypeError),
    ({"status_forcelist": {"503"}}, TypeError),
    ({"status_forcelist": {42}}, ValueError),
    ({"allowed_methods": "GET"}, TypeError),
    ({"allowed_methods": {1}}, TypeError),
    ({"backoff_factor": -0.1}, ValueError),
    ({"backoff_factor": "1"}, TypeError),
    ({"backoff_max": float("nan")}, ValueError),
    ({"backoff_max": float("inf")}, ValueError),
    ({"backoff_jitter": -1}, ValueError),
    ({"respect_retry_after": 1}, TypeError),
])
def test_bad_arguments_raise_at_construction(options, error):
    with pytest.raises(error):
        httpool.Retry(**options)


def test_a_retry_is_frozen_and_compares_by_value():
    retry = httpool.Retry(total=2, allowed_methods=["get", "post"])
    assert retry.allowed_methods == frozenset({"GET", "POST"})
    assert retry == httpool.Retry(total=2, allowed_methods={"POST", "GET"})
    assert hash(retry) == hash(httpool.Retry(total=2, allowed_methods={"POST", "GET"}))
    with pytest.raises(AttributeError):
        retry.total = 5  # type: ignore[misc]


def test_a_pool_rejects_other_retries():
    with pytest.raises(TypeError, match=r"an int or an httpool\.Retry, not str"):
        httpool.Pool(retries="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        httpool.Pool(retries=-1)
