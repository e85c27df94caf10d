"""trust_env (on by default): the proxies HTTP_PROXY, HTTPS_PROXY and
ALL_PROXY name, the hosts NO_PROXY exempts, and the trust store
SSL_CERT_FILE names, through proxy.py (from the package index) and the
project's own servers. A proxy named by the environment is used or fails
loudly, never skipped for a direct connection; the DEBUG log says which
route each origin takes; trust_env=False ignores all of it; an explicit
proxy= replaces it."""

from __future__ import annotations

import logging
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.proxies import dead_proxy, proxied
from support.servers import ScriptedServer, echo


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    """No proxy or trust-store variable of the machine's leaks into a test."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("SSL_CERT_FILE", "SSL_CERT_DIR",
                                                        "REQUEST_METHOD"):
            monkeypatch.delenv(name)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(echo) as running:
        yield running


def routes(pool: httpool.Pool) -> set[str]:
    return set(assert_consistent(pool).origins)


# ------------------------------------------------------------------ proxies


@pytest.mark.parametrize("api", APIS)
def test_http_proxy_from_the_environment(no_socket_leak, monkeypatch, proxy, server, api):
    monkeypatch.setenv("HTTP_PROXY", proxy)
    with httpool.Pool() as pool:
        response = call(pool, api, "GET", server.url + "/env")
        assert response.status_code == 200 and proxied(response)
        assert routes(pool) == {f"{server.url} (via proxy {proxy})"}


@pytest.mark.parametrize("api", APIS)
def test_https_proxy_from_the_environment_opens_a_tunnel(no_socket_leak, monkeypatch, proxy, certs, api):
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    with (ScriptedServer(echo, tls=certs.server_context()) as tls, ScriptedServer(echo) as plain,
          httpool.Pool(verify=certs.ca_path) as pool):
        assert call(pool, api, "GET", tls.url).status_code == 200
        # HTTPS_PROXY covers https:// only: plain HTTP goes directly.
        assert not proxied(call(pool, api, "GET", plain.url))
        assert routes(pool) == {f"{tls.url} (via proxy {proxy})", plain.url}


def test_all_proxy_covers_both_schemes(no_socket_leak, monkeypatch, proxy, certs, server):
    monkeypatch.setenv("ALL_PROXY", proxy)
    with (ScriptedServer(echo, tls=certs.server_context()) as tls,
          httpool.Pool(verify=certs.ca_path) as pool):
        assert pool.get(server.url).status_code == 200
        assert pool.get(tls.url).status_code == 200
        assert routes(pool) == {f"{server.url} (via proxy {proxy})", f"{tls.url} (via proxy {proxy})"}


def test_lowercase_names_win_and_a_bare_host_port_is_an_http_proxy(no_socket_leak, monkeypatch, proxy, server):
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    monkeypatch.setenv("http_proxy", proxy.removeprefix("http://"))
    with httpool.Pool() as pool:
        assert proxied(pool.get(server.url))
        assert routes(pool) == {f"{server.url} (via proxy {proxy})"}


def test_http_proxy_is_ignored_under_cgi(no_socket_leak, monkeypatch, server):
    """A CGI request's Proxy header becomes HTTP_PROXY ("httpoxy"): the
    standard library ignores HTTP_PROXY when REQUEST_METHOD is set."""
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    with httpool.Pool() as pool:
        assert pool.get(server.url).status_code == 200
        assert routes(pool) == {server.url}


@pytest.mark.parametrize("no_proxy, direct", [
    ("127.0.0.1", {"ip", "ip-other-port"}),
    ("localhost", {"name"}),
    (".localhost, example.test", {"name"}),   # a leading dot is ignored, as curl does
    ("*", {"ip", "ip-other-port", "name"}),
    ("127.0.0.1:{port}", {"ip"}),          # host:port exempts that port only
])
def test_no_proxy_patterns(no_socket_leak, monkeypatch, proxy, no_proxy, direct):
    with ScriptedServer(echo) as one, ScriptedServer(echo) as other:
        urls = {"ip": one.url, "ip-other-port": other.url, "name": f"http://localhost:{one.port}"}
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", no_proxy.format(port=one.port))
        with httpool.Pool() as pool:
            for name, url in urls.items():
                assert proxied(pool.get(url)) == (name not in direct), name
            assert_consistent(pool)


def test_no_proxy_domain_suffix(no_socket_leak, monkeypatch):
    """NO_PROXY=example.test exempts example.test and its subdomains (seen
    by a server standing in for the proxy: a request it gets went through it)."""
    with ScriptedServer(echo) as fake_proxy:
        monkeypatch.setenv("HTTP_PROXY", fake_proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.test")
        with httpool.Pool() as pool:
            assert pool.get("http://other.test/").json()["target"] == "http://other.test/"
            for exempt in ("http://example.test:1/", "http://api.example.test:1/"):
                # Direct: nothing listens on port 1 of those names (nor can they resolve).
                expect(call(pool, "request", "GET", exempt), httpool.ConnectError,
                       r"^http://(api\.)?example\.test:1: ")
            assert fake_proxy.accepted == 1
            assert_consistent(pool)


@pytest.mark.parametrize("api", APIS)
def test_a_dead_proxy_from_the_environment_fails_loudly(no_socket_leak, monkeypatch, server, api):
    """requests and httpx go through it; so does httpool: never silently direct."""
    dead = dead_proxy()
    monkeypatch.setenv("HTTP_PROXY", dead)
    with httpool.Pool() as pool:
        expect(call(pool, api, "GET", server.url), httpool.ProxyError,
               rf"^{server.url} \(via proxy {dead}\): ")
        assert server.accepted == 0
        assert_consistent(pool)


def test_trust_env_false_ignores_the_proxies(no_socket_leak, monkeypatch, server):
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    monkeypatch.setenv("ALL_PROXY", dead_proxy())
    with httpool.Pool(trust_env=False) as pool:
        assert pool.get(server.url).status_code == 200
        assert routes(pool) == {server.url}


def test_an_explicit_proxy_replaces_the_environment(no_socket_leak, monkeypatch, proxy, server):
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    monkeypatch.setenv("NO_PROXY", "*")
    with httpool.Pool(proxy=proxy) as pool:
        assert proxied(pool.get(server.url))
    with httpool.Pool(proxy={"http": None}) as pool:
        assert not proxied(pool.get(server.url))
        assert routes(pool) == {server.url}


def test_a_unix_socket_pool_ignores_environment_proxies(no_socket_leak, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", dead_proxy())
    path = str(tmp_path / "app.sock")
    with ScriptedServer(echo, uds=path), httpool.Pool(uds=path) as pool:
        assert pool.get("http://app.test/").status_code == 200


def test_the_debug_log_names_each_route(no_socket_leak, monkeypatch, proxy, caplog):
    with ScriptedServer(echo) as one, ScriptedServer(echo) as two:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{two.port}")
        with caplog.at_level(logging.DEBUG, logger="httpool"), httpool.Pool() as pool:
            pool.get(one.url)
            pool.get(two.url)
            pool.get(one.url)
    routed = [r.getMessage() for r in caplog.records if "requests to" in r.getMessage()]
    assert routed == [f"httpool: requests to {one.url} go via proxy {proxy} (HTTP_PROXY)",
                      f"httpool: requests to {two.url} go directly (NO_PROXY)"]


def test_a_bad_proxy_variable_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.test:21")
    with pytest.raises(ValueError, match=r"HTTPS_PROXY='ftp://proxy.test:21' \(ignore the "
                                         r"environment with trust_env=False\): "):
        httpool.Pool()
    httpool.Pool(trust_env=False).close()


# ----------------------------------------------------- proxy= mapping keys


def test_mapping_keys_per_host_then_scheme_then_all(no_socket_leak, proxy):
    with ScriptedServer(echo) as fake_proxy, ScriptedServer(echo) as server:
        with httpool.Pool(proxy={"all": fake_proxy.url, "http://127.0.0.1": proxy,
                                 "all://localhost": None}) as pool:
            assert proxied(pool.get(server.url))                      # http://127.0.0.1
            assert pool.get(f"http://localhost:{server.port}").json()["target"] == "/"  # direct
            assert pool.get("http://elsewhere.test/").json()["target"] == "http://elsewhere.test/"
            assert fake_proxy.accepted == 1
            assert_consistent(pool)


# -------------------------------------------------------------- trust store


def test_ssl_cert_file_is_the_trust_store(no_socket_leak, monkeypatch, certs):
    monkeypatch.setenv("SSL_CERT_FILE", certs.ca_path)
    with ScriptedServer(echo, tls=certs.server_context()) as tls:
        with httpool.Pool() as pool:
            assert pool.get(tls.url).status_code == 200
        with httpool.Pool(trust_env=False) as pool:
            expect(call(pool, "request", "GET", tls.url), httpool.TLSError,
                   r"signed by an unknown certificate authority")
            assert_consistent(pool)


def test_ssl_cert_dir_is_the_trust_store(no_socket_leak, monkeypatch, certs, tmp_path):
    """A directory of hashed names, as c_rehash makes (OpenSSL's capath)."""
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", certs.ca_path],
                                  capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(certs.ca_path, tmp_path / f"{subject_hash}.0")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert ssl.get_default_verify_paths().capath == str(tmp_path)
    with ScriptedServer(echo, tls=certs.server_context()) as tls, httpool.Pool() as pool:
        assert pool.get(tls.url).status_code == 200
