"""Pool(uds=path): every request goes to one Unix domain socket, with the
URL's host as Host, through the same engine as TCP: reuse, the idle liveness
check, deadlines, drain, TLS and stats (origins named "<url origin> (via path)")."""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.httpbin import running_httpbin
from support.servers import ScriptedServer, close_idle_after, echo, headers_then_stall, keep_alive


@contextmanager
def short_directory() -> Iterator[str]:
    """A directory for sockets: pytest's tmp_path can pass the 107 bytes a
    socket path may have."""
    directory = tempfile.mkdtemp(prefix="httpool-uds-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


@pytest.fixture
def sock_dir() -> Iterator[str]:
    with short_directory() as directory:
        yield directory


@pytest.fixture(scope="module")
def httpbin_socket(tmp_path_factory) -> Iterator[str]:
    """The socket path of httpbin under gunicorn (support/httpbin.py)."""
    with short_directory() as directory:
        path = f"{directory}/httpbin.sock"
        log = tmp_path_factory.mktemp("httpbin-uds") / "gunicorn.log"
        with running_httpbin(log, bind=f"unix:{path}") as where:
            assert where == f"unix:{path}"
            yield path


@pytest.mark.parametrize("api", APIS)
def test_requests_reuse_one_connection_and_send_the_url_host(sock_dir, api, no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(echo, uds=path) as server:
        with httpool.Pool(uds=path) as pool:
            for n in range(1, 4):
                response = call(pool, api, "GET", f"http://app.test:8080/item/{n}?q=1")
                assert response.status_code == 200
                seen = response.json()
                assert (seen["conn"], seen["request"], seen["target"]) == (0, n, f"/item/{n}?q=1")
                assert dict(seen["headers"])["Host"] == "app.test:8080"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.requests, stats.reused) == (1, 3, 2)
            assert list(stats.origins) == [f"http://app.test:8080 (via {path})"]
        assert server.accepted == 1


def test_each_host_is_its_own_origin_on_the_same_socket(sock_dir, no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(echo, uds=path) as server:
        with httpool.Pool(uds=path) as pool:
            hosts = [dict(pool.get(f"http://{host}/").json()["headers"])["Host"]
                     for host in ("a.test", "b.test", "a.test")]
            assert hosts == ["a.test", "b.test", "a.test"]
            stats = assert_consistent(pool)
            assert sorted(stats.origins) == [f"http://a.test:80 (via {path})",
                                             f"http://b.test:80 (via {path})"]
            assert stats.opened == 2
        assert server.accepted == 2


def test_a_batch_shares_the_socket_within_the_connection_limits(sock_dir, no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(keep_alive(), uds=path) as server:
        with httpool.Pool(uds=path, max_connections_per_host=3) as pool:
            responses = pool.request_many([("GET", f"http://app.test/{n}") for n in range(30)],
                                          concurrency=10)
            assert [r.status_code for r in responses] == [200] * 30
            stats = assert_consistent(pool)
            assert (stats.requests, stats.in_use) == (30, 0)
            assert 1 <= stats.opened <= 3
        assert server.accepted == stats.opened


@pytest.mark.parametrize("api", APIS)
def test_a_stalled_server_is_a_read_timeout_and_the_pool_stays_consistent(sock_dir, api,
                                                                          no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(headers_then_stall, uds=path) as server:
        with httpool.Pool(uds=path) as pool:
            result = call(pool, api, "GET", "http://app.test/", timeout=httpool.Timeout(read=0.2))
            expect(result, httpool.ReadTimeout, f"via {re.escape(path)}.*read timed out")
            assert server.wait_closed(1)
            assert server.connections[0].closed_by == "client"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.idle, stats.in_use, stats.closed.timeout) == (1, 0, 0, 1)


@pytest.mark.parametrize("api", APIS)
def test_an_idle_connection_the_server_closed_is_caught_before_reuse(sock_dir, api,
                                                                     no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(close_idle_after(30), uds=path) as server:
        with httpool.Pool(uds=path) as pool:
            assert call(pool, api, "GET", "http://app.test/").content == b"conn=0 req=1"
            assert server.wait_closed(1)
            # The MSG_PEEK check finds the EOF: a new connection, no error, no retry.
            assert call(pool, api, "GET", "http://app.test/").content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.stale_eof, stats.retried) == (2, 1, 0)


def test_a_response_released_early_is_drained_and_its_connection_reused(sock_dir, no_socket_leak):
    path = f"{sock_dir}/app.sock"
    with ScriptedServer(keep_alive(b"x" * 50_000), uds=path) as server:
        with httpool.Pool(uds=path) as pool:
            with pool.stream("GET", "http://app.test/") as response:
                assert response.status_code == 200
            assert pool.get("http://app.test/").content == b"x" * 50_000
            stats = assert_consistent(pool)
            assert (stats.opened, stats.drained, stats.reused) == (1, 1, 1)
        assert server.accepted == 1


@pytest.mark.parametrize("api", APIS)
def test_a_missing_socket_is_a_connect_error_naming_it(sock_dir, api, no_socket_leak):
    path = f"{sock_dir}/missing.sock"
    with httpool.Pool(uds=path) as pool:
        result = call(pool, api, "GET", "http://app.test/")
        expect(result, httpool.ConnectError,
               f"^http://app\\.test:80 \\(via {re.escape(path)}\\): no such socket$")
        stats = assert_consistent(pool)
        assert (stats.opened, stats.closed.error) == (1, 1)


@pytest.mark.parametrize("api", APIS)
def test_a_socket_nobody_listens_on_is_a_connect_error_naming_it(sock_dir, api, no_socket_leak):
    path = f"{sock_dir}/stale.sock"
    # A server that exited without removing its socket file: the file stays, nobody listens.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(path)
    with httpool.Pool(uds=path) as pool:
        result = call(pool, api, "GET", "http://app.test/")
        expect(result, httpool.ConnectError,
               f"^http://app\\.test:80 \\(via {re.escape(path)}\\): nobody listens on the socket$")
        assert_consistent(pool)


def test_a_full_listen_queue_is_a_connect_error_at_once(sock_dir, no_socket_leak):
    path = f"{sock_dir}/busy.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(0)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as waiting:
            waiting.connect(path)   # listen(0) queues one connection: now it is full
            with httpool.Pool(uds=path) as pool:
                with pytest.raises(httpool.ConnectError, match=r"the socket's listen queue is full$"):
                    pool.get("http://app.test/", timeout=httpool.Timeout(connect=5.0))
                assert_consistent(pool)


def test_a_path_longer_than_sun_path_holds_is_a_value_error():
    longest = "/" + "x" * 106   # 107 bytes and the NUL: sun_path's 108
    httpool.Pool(uds=longest).close()
    with pytest.raises(ValueError, match=r"uds must be a path of 1 to 107 bytes .*\(108 bytes\)"):
        httpool.Pool(uds=longest + "x")
    with pytest.raises(ValueError, match="without NUL"):
        httpool.Pool(uds="/run/a\0b")
    with pytest.raises(ValueError, match="1 to 107 bytes"):
        httpool.Pool(uds="")


def test_uds_takes_a_path_like_and_refuses_bytes(sock_dir, no_socket_leak):
    path = Path(sock_dir) / "app.sock"
    with ScriptedServer(keep_alive(), uds=str(path)):
        with httpool.Pool(uds=path) as pool:
            assert pool.get("http://app.test/").status_code == 200
    with pytest.raises(TypeError, match=r"uds must be a str or os\.PathLike"):
        httpool.Pool(uds=bytes(path))


def test_https_over_the_socket_verifies_the_url_host(certs, sock_dir, no_socket_leak):
    path = f"{sock_dir}/tls.sock"
    with ScriptedServer(echo, tls=certs.server_context(hosts=("app.test",)), uds=path):
        with httpool.Pool(uds=path, verify=certs.ca_path) as pool:
            for _ in range(2):
                response = pool.get("https://app.test/")
                assert dict(response.json()["headers"])["Host"] == "app.test"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.tls_handshakes, stats.reused) == (1, 1, 1)
            assert list(stats.origins) == [f"https://app.test:443 (via {path})"]
            # The certificate names app.test, not other.test: the server name is the URL's host.
            with pytest.raises(httpool.TLSError, match=f"https://other\\.test:443 \\(via {re.escape(path)}\\)"):
                pool.get("https://other.test/")
            assert_consistent(pool)


@pytest.mark.parametrize("api", APIS)
def test_httpbin_under_gunicorn_on_a_unix_socket(httpbin_socket, api, no_socket_leak):
    with httpool.Pool(uds=httpbin_socket) as pool:
        for n in range(3):
            response = call(pool, api, "POST", f"http://httpbin.test/anything/{n}", json={"n": n})
            assert response.status_code == 200
            echoed = response.json()
            assert echoed["headers"]["Host"] == "httpbin.test"
            assert (echoed["url"], json.loads(echoed["data"])) == (
                f"http://httpbin.test/anything/{n}", {"n": n})
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused) == (1, 2)
        assert list(stats.origins) == [f"http://httpbin.test:80 (via {httpbin_socket})"]
