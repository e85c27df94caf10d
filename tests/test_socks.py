"""Pool(proxy="socks5://..." or "socks5h://..."): through the project's own
SOCKS5 proxy (tests/support/socks.py), plain HTTP and HTTPS go through a
SOCKS5 tunnel, on the same engine as direct connections: reuse, deadlines,
stats and batches.

socks5:// resolves the URL's host in the client and sends the address;
socks5h:// sends the name for the proxy to resolve (the server records which
it got). Plain HTTP through SOCKS5 is sent as to the origin (origin-form
target, no Proxy-Authorization). Every way the negotiation can fail is a
ProxyError that names the proxy and what went wrong, and leaves the pool's
accounting whole; a proxy that stalls it gets the connect timeout."""

from __future__ import annotations

import os
import socket
import time

import pytest

import httpool
from httpool._plan import _Proxy
from httpool.routes.proxies import routes_of
from httpool.routes.tunnels import SOCKS5_REPLIES, Socks5, Socks5Negotiation, TunnelFailed

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import ScriptedServer, ServerConn, echo, headers_then_stall
from support.socks import Asked, SocksServer

# The targets are named "localhost", so that socks5 (an address sent) and
# socks5h (the name sent) differ; the test servers listen on 127.0.0.1.
LOCAL_IP = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)[0][4][0]


def named(server: ScriptedServer, path: str = "/") -> str:
    """The server's URL with "localhost" for its host."""
    return f"{server.scheme}://localhost:{server.port}{path}"


def expected_ask(scheme: str, server: ScriptedServer, username: str | None = None) -> Asked:
    if scheme == "socks5h":
        return Asked(3, "localhost", server.port, username)
    return Asked(1 if "." in LOCAL_IP else 4, LOCAL_IP, server.port, username)


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------- through the tunnel


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("target", ["http", "https"])
@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_requests_go_through_the_tunnel_on_one_connection(scheme, target, api, certs, no_socket_leak):
    context = certs.server_context() if target == "https" else None
    with (ScriptedServer(echo, tls=context) as server, SocksServer() as socks,
          httpool.Pool(proxy=socks.proxy_url(scheme), verify=certs.ca_path) as pool):
        for _ in range(3):
            response = call(pool, api, "GET", named(server, "/path?q=1"))
            assert response.status_code == 200, response
            seen = response.json()
            assert seen["target"] == "/path?q=1"     # origin-form, for http too
            assert ["Host", f"localhost:{server.port}"] in seen["headers"]
            assert all(name != "Proxy-Authorization" for name, _ in seen["headers"])
        assert socks.asked == [expected_ask(scheme, server)]
        assert socks.offered == [b"\x00"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.tls_handshakes) == (1, 2, int(target == "https"))
        assert list(stats.origins) == [f"{target}://localhost:{server.port} "
                                       f"(via proxy {scheme}://127.0.0.1:{socks.port})"]
        assert server.accepted == socks.accepted == 1


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_an_ip_literal_is_sent_as_an_address(scheme, no_socket_leak):
    with ScriptedServer(echo) as server, SocksServer() as socks, \
            httpool.Pool(proxy=socks.proxy_url(scheme)) as pool:
        assert pool.get(server.url).status_code == 200
        assert socks.asked == [Asked(1, "127.0.0.1", server.port, None)]
        assert assert_consistent(pool).opened == 1


def test_a_batch_opens_tunnels_within_the_limits(certs, no_socket_leak):
    with (ScriptedServer(echo, tls=certs.server_context()) as server, SocksServer() as socks,
          httpool.Pool(proxy=socks.proxy_url("socks5h"), verify=certs.ca_path,
                       max_connections_per_host=3) as pool):
        results = pool.request_many([("GET", named(server, f"/{n}")) for n in range(12)])
        assert [r.json()["target"] for r in results] == [f"/{n}" for n in range(12)]
        stats = assert_consistent(pool)
        assert stats.opened <= 3 and stats.requests == 12
        assert len(socks.asked) == stats.opened == server.accepted


def speaks_first(conn: ServerConn) -> None:
    """A target that answers before it is asked (then reads the request)."""
    conn.send_response(200, b"spoke first", {"Connection": "close"})
    conn.read_request()
    conn.finish()


@pytest.mark.parametrize("bound_atyp", [1, 3, 4])
def test_the_reply_is_read_exactly_never_past_it(bound_atyp, no_socket_leak):
    """The proxy sends its reply (BND.ADDR an IPv4 address, a name or an
    IPv6 address) and the target's first bytes in one segment: the client
    takes the reply's bytes and leaves the rest to HTTP."""
    with (ScriptedServer(speaks_first) as server,
          SocksServer(bound_atyp=bound_atyp, coalesce=True) as socks,
          httpool.Pool(proxy=socks.proxy_url()) as pool):
        response = pool.get(named(server))
        assert (response.status_code, response.content) == (200, b"spoke first")
        assert_consistent(pool)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_read_timeout_holds_through_the_tunnel(scheme, certs, no_socket_leak):
    context = certs.server_context() if scheme == "https" else None
    with (ScriptedServer(headers_then_stall, tls=context) as server, SocksServer() as socks,
          httpool.Pool(proxy=socks.proxy_url(), verify=certs.ca_path,
                       timeout=httpool.Timeout(read=0.3)) as pool):
        for api in APIS:
            expect(call(pool, api, "GET", named(server)), httpool.ReadTimeout,
                   rf"via proxy socks5://127\.0\.0\.1:{socks.port}\): read timed out")
        assert assert_consistent(pool).timeouts == 4


def test_a_mapping_sends_each_scheme_its_own_way(certs, no_socket_leak):
    with (ScriptedServer(echo) as plain, ScriptedServer(echo, tls=certs.server_context()) as tls,
          SocksServer() as socks):
        with httpool.Pool(proxy={"https": socks.proxy_url("socks5h")}, verify=certs.ca_path) as pool:
            assert pool.get(named(plain)).status_code == 200   # direct
            assert pool.get(named(tls)).status_code == 200
            assert socks.asked == [Asked(3, "localhost", tls.port, None)]
            assert set(assert_consistent(pool).origins) == {
                f"http://localhost:{plain.port}",
                f"https://localhost:{tls.port} (via proxy socks5h://127.0.0.1:{socks.port})"}


# ---------------------------------------------------------- authentication


@pytest.mark.parametrize("target", ["http", "https"])
def test_credentials_authenticate(target, certs, no_socket_leak):
    context = certs.server_context() if target == "https" else None
    with (ScriptedServer(echo, tls=context) as server, SocksServer(credentials=("us er", "p@ss")) as socks,
          httpool.Pool(proxy=socks.proxy_url("socks5h", "us%20er:p%40ss"), verify=certs.ca_path) as pool):
        for api in APIS:
            response = call(pool, api, "GET", named(server))
            assert response.status_code == 200, response
            assert all(name != "Proxy-Authorization" for name, _ in response.json()["headers"])
        # Both methods offered; one connection, reused.
        assert socks.offered == [b"\x00\x02"]
        assert socks.asked == [Asked(3, "localhost", server.port, "us er")]
        assert assert_consistent(pool).opened == 1


def test_wrong_credentials_are_rejected(no_socket_leak):
    with (ScriptedServer(echo) as server, SocksServer(credentials=("user", "pass")) as socks,
          httpool.Pool(proxy=socks.proxy_url(userinfo="user:wrong")) as pool):
        for api in APIS:
            error = expect(call(pool, api, "GET", named(server)), httpool.ProxyError,
                           rf"^http://localhost:{server.port} \(via proxy socks5://127\.0\.0\.1:{socks.port}\): "
                           r"the SOCKS5 proxy rejected the username and password \(status 0x01\)$")
            assert error.status_code is None
        assert server.accepted == 0 and socks.asked == []
        stats = assert_consistent(pool)
        assert stats.opened == stats.closed.error == 4


@pytest.mark.parametrize(("options", "userinfo", "offered"), [
    ({"credentials": ("user", "pass")}, None, "no authentication"),
    ({"method": 0xFF}, "user:pass", "no authentication, username/password"),
])
def test_no_acceptable_method(options, userinfo, offered, no_socket_leak):
    with SocksServer(**options) as socks, httpool.Pool(proxy=socks.proxy_url(userinfo=userinfo)) as pool:
        for api in APIS:
            expect(call(pool, api, "GET", "http://localhost:9/"), httpool.ProxyError,
                   rf"via proxy socks5://127\.0\.0\.1:{socks.port}\): the SOCKS5 proxy accepts none of "
                   rf"the authentication methods offered \({offered}\)$")
        stats = assert_consistent(pool)
        assert stats.opened == stats.closed.error == 4


def test_a_method_not_offered_is_refused(no_socket_leak):
    with SocksServer(method=0x02) as socks, httpool.Pool(proxy=socks.proxy_url()) as pool:
        with pytest.raises(httpool.ProxyError, match=r"chose the authentication method 0x02, "
                                                     r"which was not offered$"):
            pool.get("http://localhost:9/")
        assert socks.offered == [b"\x00"]
        assert_consistent(pool)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("code", [*SOCKS5_REPLIES, 0x09])
def test_every_refusal_is_spelled_out(code, no_socket_leak):
    with SocksServer(reply=code) as socks, httpool.Pool(proxy=socks.proxy_url()) as pool:
        for api in APIS:
            error = expect(call(pool, api, "GET", "https://localhost:8443/"), httpool.ProxyError)
            text = SOCKS5_REPLIES.get(code, "an unassigned code")
            assert str(error) == (f"https://localhost:8443 (via proxy socks5://127.0.0.1:{socks.port}): "
                                  f"the SOCKS5 proxy could not connect to localhost:8443: "
                                  f"reply 0x{code:02x}, {text}")
            assert error.status_code is None
        stats = assert_consistent(pool)
        assert stats.opened == stats.closed.error == 4


def test_the_proxy_cannot_reach_the_target(no_socket_leak):
    """A real refusal: the proxy's connect to a closed port (0x05), to a name
    it cannot resolve (0x04)."""
    port = dead_port()
    with SocksServer() as socks, httpool.Pool(proxy=socks.proxy_url("socks5h")) as pool:
        with pytest.raises(httpool.ProxyError, match=rf"could not connect to localhost:{port}: "
                                                     r"reply 0x05, connection refused$"):
            pool.get(f"http://localhost:{port}/")
        with pytest.raises(httpool.ProxyError, match=r"could not connect to no-such-host\.invalid:80: "
                                                     r"reply 0x04, host unreachable$"):
            pool.get("http://no-such-host.invalid/")
        assert socks.asked[-1] == Asked(3, "no-such-host.invalid", 80, None)
        assert_consistent(pool)


def test_socks5_resolves_in_the_client(no_socket_leak):
    """socks5://: a name the client cannot resolve is a ConnectError naming
    the origin (the proxy is not at fault), and the proxy is asked nothing."""
    with SocksServer() as socks, httpool.Pool(proxy=socks.proxy_url("socks5")) as pool:
        with pytest.raises(httpool.ConnectError, match=r"^http://no-such-host\.invalid:80 \(via proxy "
                                                       r".*\): cannot resolve 'no-such-host\.invalid'") as caught:
            pool.get("http://no-such-host.invalid/")
        assert not isinstance(caught.value, httpool.ProxyError)
        assert socks.asked == []
        assert_consistent(pool)


# ------------------------------------------------ misbehaving or dead proxies


@pytest.mark.parametrize("stall", ["greeting", "connect"])
def test_a_stalled_negotiation_gets_the_connect_timeout(stall, no_socket_leak):
    limit = 0.3
    with SocksServer(stall=stall) as socks, \
            httpool.Pool(proxy=socks.proxy_url(), timeout=httpool.Timeout(connect=limit)) as pool:
        for api in APIS:
            started = time.monotonic()
            expect(call(pool, api, "GET", "http://localhost:9/"), httpool.ConnectTimeout,
                   rf"^http://localhost:9 \(via proxy socks5://127\.0\.0\.1:{socks.port}\): SOCKS5 handshake "
                   r"timed out \(connect timeout of 0\.3 s passed\); connection closed$")
            elapsed = time.monotonic() - started
            print(f"stall at the {stall}, {api}: ConnectTimeout after {elapsed:.3f} s")
            assert limit <= elapsed < limit + 1.0
        stats = assert_consistent(pool)
        assert stats.timeouts == stats.opened == stats.closed.timeout == 4


def test_garbage_is_not_a_socks5_reply(no_socket_leak):
    with SocksServer(garbage=True) as socks, httpool.Pool(proxy=socks.proxy_url()) as pool:
        for api in APIS:
            expect(call(pool, api, "GET", "http://localhost:9/"), httpool.ProxyError,
                   r"\): not a SOCKS5 proxy: its answer to the greeting starts with b'HT?', not version 5$")
        assert assert_consistent(pool).closed.error == 4


@pytest.mark.parametrize(("close", "where", "received"), [("greeting", "greeting", 0), ("reply", "CONNECT", 3)])
def test_a_proxy_closing_mid_negotiation(close, where, received, no_socket_leak):
    with ScriptedServer(echo) as server, SocksServer(close=close) as socks, \
            httpool.Pool(proxy=socks.proxy_url()) as pool:
        for api in APIS:
            expect(call(pool, api, "GET", named(server)), httpool.ProxyError,
                   rf"via proxy socks5://127\.0\.0\.1:{socks.port}\): the SOCKS5 proxy closed the connection "
                   rf"during the negotiation \(waiting for its answer to the {where}, {received} bytes "
                   r"of it received\)$")
        assert assert_consistent(pool).closed.error == 4


@pytest.mark.parametrize("target", ["http", "https"])
def test_a_dead_proxy_is_a_proxy_error_never_a_direct_connection(target, no_socket_leak):
    proxy = f"socks5h://127.0.0.1:{dead_port()}"
    with ScriptedServer(echo) as server, httpool.Pool(proxy=proxy) as pool:
        for api in APIS:
            expect(call(pool, api, "GET", f"{target}://127.0.0.1:{server.port}/"), httpool.ProxyError,
                   rf"\(via proxy {proxy}\): cannot connect to the proxy: connection refused$")
        assert server.accepted == 0
        assert assert_consistent(pool).closed.error == 4


# ------------------------------------------------------------ the option


def test_proxy_urls():
    proxy = _Proxy("SOCKS5h://user:pass@proxy.test")
    assert (proxy.scheme, proxy.url, proxy.port, proxy.credentials) == (
        "socks5h", "socks5h://proxy.test:1080", 1080, (b"user", b"pass"))
    assert proxy.key != _Proxy("socks5://user:pass@proxy.test").key
    routes = routes_of({"http": "socks5://[::1]:9050"}, trust_env=False)
    assert routes is not None and routes.rules["http"][0] is not None
    assert routes.rules["http"][0].url == "socks5://[::1]:9050"
    with pytest.raises(ValueError, match="only http://, socks5:// and socks5h:// proxies"):
        httpool.Pool(proxy="socks4://proxy.test:1080")
    with pytest.raises(ValueError, match="a SOCKS5 username is 1 to 255 bytes"):
        httpool.Pool(proxy=f"socks5://{'u' * 256}:p@proxy.test")
    with pytest.raises(ValueError, match="no path"):
        httpool.Pool(proxy="socks5://proxy.test:1080/path")


# ------------------------------------------- the negotiation, without I/O


def negotiate(negotiation: Socks5Negotiation, answers: bytes) -> list[bytes]:
    """Feed `answers` one byte at a time, as a trickling proxy would send
    them; check that `want` never reaches past the current message."""
    sent = [negotiation.begin()]
    for index, byte in enumerate(answers):
        assert 0 < negotiation.want <= len(answers) - index
        out = negotiation.feed(bytes((byte,)))
        if out:
            sent.append(out)
    return sent


@pytest.mark.parametrize("bound", [b"\x01" + bytes(4), b"\x03\x04name", b"\x04" + bytes(16)])
def test_the_negotiation_byte_by_byte(bound):
    negotiation = Socks5Negotiation(b"\x03\x09localhost\x00\x50", (b"user", b"pw"), "localhost:80")
    sent = negotiate(negotiation, b"\x05\x02" + b"\x01\x00" + b"\x05\x00\x00" + bound + b"\x1f\x90")
    assert sent == [b"\x05\x02\x00\x02", b"\x01\x04user\x02pw", b"\x05\x01\x00\x03\x09localhost\x00\x50"]
    assert negotiation.want == 0


def test_a_refusal_is_known_from_its_second_byte():
    negotiation = Socks5Negotiation(b"\x01\x7f\x00\x00\x01\x00\x50", None, "127.0.0.1:80")
    negotiate(negotiation, b"\x05\x00")
    negotiation.feed(b"\x05")
    with pytest.raises(TunnelFailed, match="reply 0x02, connection not allowed by ruleset"):
        negotiation.feed(b"\x02")


def test_a_long_name_is_refused_before_any_io():
    with pytest.raises(ValueError, match="longer than the 255 bytes"):
        Socks5("a" * 256, 80, True, None)


# ------------------------------------------------------------------ retries


@pytest.mark.parametrize(("options", "refused"), [
    ({"credentials": ("user", "pass")}, True),   # the wrong password below
    ({"method": 0xFF}, True),                    # no acceptable method
    ({"reply": 0x02}, True),                     # not allowed by ruleset
    ({"reply": 0x05}, False),                    # the target refused: may pass next time
])
def test_a_retry_policy_never_retries_a_refusal(options, refused, no_socket_leak):
    """A proxy that turned this client away says so in ProxyError.refused,
    and a Retry does not send again (as for an HTTP proxy's 407 or 403)."""
    retry = httpool.Retry(total=2, backoff_factor=0)
    with SocksServer(**options) as socks, httpool.Pool(proxy=socks.proxy_url(userinfo="user:wrong"),
                                                       retries=retry) as pool:
        error = expect(call(pool, "request", "GET", "http://localhost:9/"), httpool.ProxyError)
        assert error.refused == refused
        assert socks.accepted == (1 if refused else 3)
        assert assert_consistent(pool).retries_connect == (0 if refused else 2)


def test_all_proxy_may_name_a_socks_proxy(monkeypatch, no_socket_leak):
    with ScriptedServer(echo) as server, SocksServer() as socks:
        for name in list(os.environ):
            if name.lower().endswith("_proxy"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("ALL_PROXY", socks.proxy_url("socks5h"))
        with httpool.Pool() as pool:
            assert pool.get(named(server)).status_code == 200
            assert socks.asked == [Asked(3, "localhost", server.port, None)]
            assert_consistent(pool)
