"""Happy eyeballs (RFC 8305) and pinned addresses (Pool(resolve=...)).

A host with several addresses is connected to by staggered attempts: the
first address, then the next one 250 ms later if the first has not
connected (at once if it failed), families interleaved; the first attempt
to connect wins and the others are closed. The connect timeout covers the
whole race. Real sockets throughout: an address is "black-holed" by a
listener whose accept queue is full (its SYNs are dropped, so connect()
stays pending), placed on ::1 or 127.0.0.2 at the port of a real server on
127.0.0.1; resolve= pins the host name to those addresses, as curl's
--resolve does."""

from __future__ import annotations

import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import ScriptedServer, closed_port, echo, full_backlog_listener

# RFC 8305's Connection Attempt Delay, as httpool uses it.
ATTEMPT_DELAY = 0.25


def timed(pool: httpool.Pool, api: str, url: str) -> tuple[object, float]:
    started = time.monotonic()
    result = call(pool, api, "GET", url)
    return result, time.monotonic() - started


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("hole", ["::1", "127.0.0.2"])
def test_a_black_holed_first_address_costs_one_attempt_delay(no_socket_leak, hole, api):
    """The black hole is tried first; 250 ms later 127.0.0.1 is tried
    beside it, connects, and the pending attempt is closed."""
    with ScriptedServer(echo) as server, full_backlog_listener(host=hole, port=server.port):
        with httpool.Pool(resolve={"dual.test": [hole, "127.0.0.1"]}, timeout=5.0) as pool:
            response, elapsed = timed(pool, api, f"http://dual.test:{server.port}/")
            assert response.status_code == 200
            # Generous margins: the fallback is the 250 ms delay, never the 5 s connect timeout.
            assert ATTEMPT_DELAY * 0.9 <= elapsed < ATTEMPT_DELAY + 1.0, elapsed
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.total, server.accepted) == (1, 0, 1)
            # The winner is reused: no new race.
            response, elapsed = timed(pool, api, f"http://dual.test:{server.port}/")
            assert response.status_code == 200 and elapsed < ATTEMPT_DELAY
            assert pool.stats().reused == 1


def test_a_refused_first_address_starts_the_next_at_once(no_socket_leak):
    with ScriptedServer(echo) as server:
        port = server.port
        with httpool.Pool(resolve={"dual.test": ["127.0.0.2", "127.0.0.1"]}) as pool:
            # Nothing listens on 127.0.0.2 at that port: refused, no delay.
            response, elapsed = timed(pool, "request", f"http://dual.test:{port}/")
            assert response.status_code == 200
            assert elapsed < ATTEMPT_DELAY * 0.8, elapsed


def test_families_are_interleaved(no_socket_leak):
    """[::1, ::ffff:127.0.0.2, 127.0.0.1] is tried as ::1, 127.0.0.1, ...:
    the IPv4 address goes second (RFC 8305 section 4), so it connects after
    one delay, not two. (::ffff:127.0.0.2 is IPv6 to the IPv4 black hole.)"""
    with (ScriptedServer(echo) as server,
          full_backlog_listener(host="::1", port=server.port),
          full_backlog_listener(host="127.0.0.2", port=server.port)):
        pinned = {"dual.test": ["::1", "::ffff:127.0.0.2", "127.0.0.1"]}
        with httpool.Pool(resolve=pinned, timeout=5.0) as pool:
            response, elapsed = timed(pool, "request", f"http://dual.test:{server.port}/")
            assert response.status_code == 200
            assert elapsed < 2 * ATTEMPT_DELAY - 0.05, elapsed


@pytest.mark.parametrize("api", APIS)
def test_the_connect_timeout_covers_every_address(no_socket_leak, api):
    """Two black holes and connect=0.6: one ConnectTimeout at 0.6 s (not
    0.6 s per address), naming how many addresses were tried."""
    with (ScriptedServer(echo) as server,
          full_backlog_listener(host="::1", port=server.port),
          full_backlog_listener(host="127.0.0.2", port=server.port)):
        with httpool.Pool(resolve={"dual.test": ["::1", "127.0.0.2"]},
                          timeout=httpool.Timeout(connect=0.6)) as pool:
            error, elapsed = timed(pool, api, f"http://dual.test:{server.port}/")
            expect(error, httpool.ConnectTimeout,
                   rf"^http://dual\.test:{server.port}: connect \(2 of 2 addresses tried\) timed out "
                   r"\(connect timeout of 0\.6 s passed\); connection closed$")
            assert 0.55 <= elapsed < 1.1, elapsed
            stats = assert_consistent(pool)
            assert stats.in_use == 0 and server.accepted == 0


def test_a_batch_races_each_new_connection(no_socket_leak):
    with ScriptedServer(echo) as server, full_backlog_listener(host="::1", port=server.port):
        with httpool.Pool(resolve={"dual.test": ["::1", "127.0.0.1"]}, timeout=5.0,
                          max_connections_per_host=4) as pool:
            started = time.monotonic()
            results = pool.request_many([("GET", f"http://dual.test:{server.port}/{n}")
                                         for n in range(16)], concurrency=8)
            elapsed = time.monotonic() - started
            assert [r.json()["target"] for r in results] == [f"/{n}" for n in range(16)]
            assert elapsed < ATTEMPT_DELAY + 1.5, elapsed
            stats = assert_consistent(pool)
            assert stats.opened == server.accepted == 4


def test_every_address_refused_is_one_connect_error(no_socket_leak):
    port = closed_port()
    with httpool.Pool(resolve={"dual.test": ["::1", "127.0.0.1"]}) as pool:
        expect(call(pool, "request", "GET", f"http://dual.test:{port}/"), httpool.ConnectError,
               rf"^http://dual\.test:{port}: connection refused$")
        assert assert_consistent(pool).in_use == 0


def test_pinned_names_take_precedence_over_dns(no_socket_leak):
    """localhost would resolve; a pinned name never asks DNS (example.test
    cannot be resolved), and a proxy's host is pinned the same way."""
    with ScriptedServer(echo) as server:
        with httpool.Pool(resolve={"Example.TEST": "127.0.0.1"}) as pool:
            assert pool.get(f"http://example.test:{server.port}/").status_code == 200
            with pytest.raises(httpool.ConnectError, match=r"cannot resolve 'other\.test'"):
                pool.get(f"http://other.test:{server.port}/")
        with httpool.Pool(resolve={"proxy.test": ["127.0.0.1"]},
                          proxy=f"http://proxy.test:{server.port}") as pool:
            # The echo server stands in for the proxy: it sees the absolute form.
            assert pool.get("http://origin.test/x").json()["target"] == "http://origin.test/x"


def test_resolve_option_errors():
    with pytest.raises(ValueError, match=r"resolve\['h'\]: 'h2' is not an IP address"):
        httpool.Pool(resolve={"h": ["127.0.0.1", "h2"]})
    with pytest.raises(ValueError, match=r"resolve\['h'\]: no addresses"):
        httpool.Pool(resolve={"h": []})
    with pytest.raises(TypeError, match="resolve must be a mapping"):
        httpool.Pool(resolve=["127.0.0.1"])  # type: ignore[arg-type]
