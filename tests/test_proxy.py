"""Pool(proxy=...): through proxy.py (from the package index, run as a
subprocess), an HTTP proxy that forwards plain-HTTP requests sent in
absolute form and opens CONNECT tunnels for https://, through the same
engine as direct connections: reuse, deadlines, stats and batches.

Requests are pooled per proxy and origin ("<origin> (via proxy <proxy>)"),
plain HTTP too: proxy.py relays every request after the first on a client
connection, unchanged, to the first request's origin (no Via added, and
Proxy-Authorization not taken off), so a connection shared by two origins
would send one's requests to the other. A proxy that cannot be reached, or
refuses a tunnel, is a ProxyError naming it; a 407 to a plain-HTTP request is
the proxy's response, returned as it is (as requests and httpx do)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.proxies import dead_proxy, proxied, running_proxy
from support.servers import ScriptedServer, echo, headers_then_stall, respond


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory) -> Iterator[str]:
    """proxy.py asking for Basic credentials user:pass."""
    with running_proxy(tmp_path_factory.mktemp("auth-proxy"), basic_auth="user:pass") as url:
        yield url


def with_credentials(proxy: str, userinfo: str) -> str:
    return proxy.replace("http://", f"http://{userinfo}@")


# ---------------------------------------------------------------- plain HTTP


@pytest.mark.parametrize("api", APIS)
def test_plain_http_goes_through_the_proxy_on_one_connection(proxy, api, no_socket_leak):
    with ScriptedServer(echo) as server, httpool.Pool(proxy=proxy) as pool:
        for n in range(1, 4):
            response = call(pool, api, "GET", server.url + "/path?q=1")
            assert response.status_code == 200
            seen = response.json()
            assert proxied(response) == (n == 1)
            assert seen["target"] == "/path?q=1"
            assert ["Host", f"127.0.0.1:{server.port}"] in seen["headers"]
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused) == (1, 2)
        assert list(stats.origins) == [f"http://127.0.0.1:{server.port} (via proxy {proxy})"]
        assert server.accepted == 1


def test_plain_http_to_two_origins_takes_a_proxy_connection_each(proxy, no_socket_leak):
    with (ScriptedServer(echo) as one, ScriptedServer(echo) as two,
          httpool.Pool(proxy=proxy) as pool):
        for _ in range(2):
            assert pool.get(one.url).json()["conn"] == 0 and one.accepted == 1
            assert pool.get(two.url).json()["conn"] == 0 and two.accepted == 1
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused) == (2, 2)


def test_the_request_target_is_in_absolute_form(no_socket_leak):
    """RFC 9112 section 3.2.2, seen by a server standing in for the proxy."""
    with ScriptedServer(echo) as fake_proxy, httpool.Pool(proxy=fake_proxy.url) as pool:
        seen = pool.get("http://example.test:8080/a/b?c=d").json()
        assert seen["target"] == "http://example.test:8080/a/b?c=d"
        assert ["Host", "example.test:8080"] in seen["headers"]


# ------------------------------------------------------------ CONNECT tunnels


@pytest.mark.parametrize("api", APIS)
def test_https_goes_through_a_connect_tunnel(proxy, certs, api, no_socket_leak):
    with (ScriptedServer(echo, tls=certs.server_context()) as server,
          httpool.Pool(proxy=proxy, verify=certs.ca_path) as pool):
        for _ in range(3):
            response = call(pool, api, "GET", server.url + "/path?q=1")
            assert response.status_code == 200
            seen = response.json()
            assert seen["target"] == "/path?q=1"
            assert not proxied(response)   # the proxy sees only TLS records
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.tls_handshakes) == (1, 2, 1)
        assert list(stats.origins) == [f"{server.url} (via proxy {proxy})"]
        assert server.accepted == 1


def test_a_refused_tunnel_is_a_proxy_error_with_the_status(proxy, no_socket_leak):
    with httpool.Pool(proxy=proxy) as pool:
        for api in APIS:
            # proxy.py cannot connect to the target: 502 Bad Gateway.
            error = expect(call(pool, api, "GET", f"{dead_proxy().replace('http', 'https')}/"),
                           httpool.ProxyError, rf"via proxy {proxy}\): the proxy refused the "
                                               r"CONNECT tunnel: 502 Bad Gateway")
            assert error.status_code == 502
            again = pickle.loads(pickle.dumps(error))
            assert (str(again), again.status_code) == (str(error), 502)
        stats = assert_consistent(pool)
        assert stats.closed.total == stats.opened == 4


def test_the_connect_timeout_covers_the_tunnel(no_socket_leak):
    with (ScriptedServer(lambda conn: conn.stall(5)) as silent_proxy,
          httpool.Pool(proxy=silent_proxy.url, timeout=httpool.Timeout(connect=0.2)) as pool):
        for api in APIS:
            expect(call(pool, api, "GET", "https://example.test/"), httpool.ConnectTimeout,
                   r"CONNECT tunnel timed out \(connect timeout of 0.2 s passed\)")
        assert assert_consistent(pool).timeouts == 4


def test_bytes_after_the_answer_to_connect_are_refused(no_socket_leak):
    """Nothing may follow a 2xx to CONNECT before the client speaks (TLS's
    hello): such bytes would be taken for the origin's."""
    def answer_then_junk(conn):
        if conn.read_request() is not None:
            conn.send(b"HTTP/1.1 200 Connection established\r\n\r\njunk")
            conn.wait_client_close()

    with ScriptedServer(answer_then_junk) as fake_proxy, httpool.Pool(proxy=fake_proxy.url) as pool:
        with pytest.raises(httpool.ProxyError, match=r"\): the proxy sent 4 bytes after its answer to "
                                                     r"CONNECT, before the client spoke$"):
            pool.get("https://example.test/")
        assert assert_consistent(pool).closed.error == 1


def test_a_batch_opens_tunnels_within_the_limits(proxy, certs, no_socket_leak):
    with (ScriptedServer(echo, tls=certs.server_context()) as server,
          httpool.Pool(proxy=proxy, verify=certs.ca_path, max_connections_per_host=3) as pool):
        results = pool.request_many([("GET", f"{server.url}/{n}") for n in range(12)])
        assert [r.json()["target"] for r in results] == [f"/{n}" for n in range(12)]
        stats = assert_consistent(pool)
        assert stats.opened <= 3 and stats.requests == 12
        assert stats.tls_handshakes + stats.tls_resumed == stats.opened


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_read_timeout_holds_through_a_proxy(proxy, certs, scheme, no_socket_leak):
    context = certs.server_context() if scheme == "https" else None
    with (ScriptedServer(headers_then_stall, tls=context) as server,
          httpool.Pool(proxy=proxy, verify=certs.ca_path,
                       timeout=httpool.Timeout(read=0.3)) as pool):
        for api in APIS:
            expect(call(pool, api, "GET", server.url), httpool.ReadTimeout,
                   rf"via proxy {proxy}\): read timed out")
        assert assert_consistent(pool).timeouts == 4


def test_a_redirect_to_another_origin_goes_through_the_proxy_too(proxy, no_socket_leak):
    def redirect(conn):
        request = conn.read_request()
        if request is not None:
            respond(conn, request, b"", {"Location": f"{target.url}/there"}, status=302)

    with (ScriptedServer(echo) as target, ScriptedServer(redirect) as start,
          httpool.Pool(proxy=proxy, follow_redirects=True) as pool):
        response = pool.get(start.url + "/here")
        assert response.status_code == 200 and proxied(response)
        assert response.json()["target"] == "/there"
        assert set(assert_consistent(pool).origins) == {
            f"http://127.0.0.1:{start.port} (via proxy {proxy})",
            f"http://127.0.0.1:{target.port} (via proxy {proxy})"}


# ---------------------------------------------------------- authentication


def test_credentials_in_the_proxy_url_authenticate(auth_proxy, certs, no_socket_leak):
    with (ScriptedServer(echo) as plain, ScriptedServer(echo, tls=certs.server_context()) as tls,
          httpool.Pool(proxy=with_credentials(auth_proxy, "user:pass"), verify=certs.ca_path) as pool):
        response = pool.get(plain.url)
        assert response.status_code == 200 and proxied(response)
        # The proxy takes its credentials off the first request of a connection
        # (proxy.py relays the later ones as they are: see the module docstring).
        assert all(name != "Proxy-Authorization" for name, _ in response.json()["headers"])
        response = pool.get(tls.url)
        assert response.status_code == 200
        assert all(name != "Proxy-Authorization" for name, _ in response.json()["headers"])


@pytest.mark.parametrize("userinfo", [None, "user:wrong"])
def test_missing_or_wrong_credentials(auth_proxy, certs, userinfo, no_socket_leak):
    url = auth_proxy if userinfo is None else with_credentials(auth_proxy, userinfo)
    with (ScriptedServer(echo) as plain, ScriptedServer(echo, tls=certs.server_context()) as tls,
          httpool.Pool(proxy=url, verify=certs.ca_path) as pool):
        # Plain HTTP: the proxy's 407 is the response.
        assert pool.get(plain.url).status_code == 407
        # https: the tunnel is refused.
        with pytest.raises(httpool.ProxyError, match="refused the CONNECT tunnel: 407 ") as caught:
            pool.get(tls.url)
        assert caught.value.status_code == 407
        assert tls.accepted == 0
        assert_consistent(pool)


def test_a_retry_policy_retries_a_dead_proxy_but_not_a_407(auth_proxy, certs, no_socket_leak):
    retry = httpool.Retry(2, backoff_factor=0)
    with httpool.Pool(proxy=dead_proxy(), retries=retry) as pool:
        with pytest.raises(httpool.ProxyError, match="cannot connect to the proxy") as caught:
            pool.get("https://example.test/")
        assert caught.value.status_code is None
        assert assert_consistent(pool).retries_connect == 2
    with (ScriptedServer(echo, tls=certs.server_context()) as tls,
          httpool.Pool(proxy=auth_proxy, retries=retry, verify=certs.ca_path) as pool):
        with pytest.raises(httpool.ProxyError, match="407"):
            pool.get(tls.url)
        assert assert_consistent(pool).retries_connect == 0


# -------------------------------------------------------------- dead proxies


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_dead_proxy_is_a_proxy_error_never_a_direct_connection(scheme, no_socket_leak):
    proxy = dead_proxy()
    with ScriptedServer(echo) as server, httpool.Pool(proxy=proxy) as pool:
        url = server.url.replace("http", scheme)
        for api in APIS:
            expect(call(pool, api, "GET", url), httpool.ProxyError,
                   rf"\(.*proxy.*{proxy}\): cannot connect to the proxy: connection refused")
        assert server.accepted == 0
        assert assert_consistent(pool).closed.error == 4   # each attempt, counted


def test_an_unresolvable_proxy_is_a_proxy_error(no_socket_leak):
    with httpool.Pool(proxy="http://no-such-proxy.invalid:3128") as pool:
        with pytest.raises(httpool.ProxyError, match=r"cannot resolve 'no-such-proxy\.invalid'"):
            pool.get("http://example.test/")


# ------------------------------------------------------- per-scheme mapping


def test_a_mapping_sends_each_scheme_its_own_way(proxy, certs, no_socket_leak):
    with (ScriptedServer(echo) as plain, ScriptedServer(echo, tls=certs.server_context()) as tls):
        with httpool.Pool(proxy={"https": proxy}, verify=certs.ca_path) as pool:
            assert not proxied(pool.get(plain.url))   # direct
            assert pool.get(tls.url).status_code == 200
            assert set(assert_consistent(pool).origins) == {
                f"http://127.0.0.1:{plain.port}", f"{tls.url} (via proxy {proxy})"}
        with httpool.Pool(proxy={"http": proxy, "https": None}, verify=certs.ca_path) as pool:
            assert proxied(pool.get(plain.url))
            assert pool.get(tls.url).status_code == 200
            assert set(assert_consistent(pool).origins) == {
                f"http://127.0.0.1:{plain.port} (via proxy {proxy})", f"https://127.0.0.1:{tls.port}"}


def test_proxy_option_errors():
    with pytest.raises(ValueError, match="only http://, socks5:// and socks5h:// proxies"):
        httpool.Pool(proxy="https://proxy.test:3128")
    with pytest.raises(ValueError, match="unknown key 'ftp'"):
        httpool.Pool(proxy={"ftp": "http://proxy.test:3128"})
    with pytest.raises(ValueError, match="no path"):
        httpool.Pool(proxy="http://proxy.test:3128/path")
    with pytest.raises(TypeError, match="proxy must be a URL or a mapping"):
        httpool.Pool(proxy=3128)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either uds= or proxy="):
        httpool.Pool(proxy="http://proxy.test:3128", uds="/run/app.sock")
