"""HTTPS: real TLS with trustme certificates, against the project's scripted
servers (each misbehaving in one way) and nginx. Every rule of the pool holds
as for plain HTTP: deadlines, reuse, drain, accounting, the retry rule."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.nginx import FILES, NginxServer, find_nginx
from support.servers import ScriptedServer, keep_alive, never_answer, respond
from support.tls import Certificates


def tls_server(certs: Certificates, handler=None, **context) -> ScriptedServer:
    return ScriptedServer(handler or keep_alive(), tls=certs.server_context(**context))


# ------------------------------------------------------------- good sessions


@pytest.mark.parametrize("api", APIS)
def test_verified_requests_reuse_one_connection(certs, api, no_socket_leak):
    with tls_server(certs) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            for n in range(1, 21):
                response = call(pool, api, "GET", server.url + "/")
                assert response.status_code == 200
                assert response.content == b"conn=0 req=%d" % n
            stats = assert_consistent(pool)
            assert (stats.opened, stats.reused, stats.tls_handshakes) == (1, 19, 1)
            assert list(stats.origins) == [f"https://127.0.0.1:{server.port}"]
        assert server.accepted == 1


def test_localhost_name_and_ip_address_are_both_verified(certs, no_socket_leak):
    with tls_server(certs) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            assert pool.get(f"https://localhost:{server.port}/").status_code == 200
            assert pool.get(f"https://127.0.0.1:{server.port}/").status_code == 200
            assert assert_consistent(pool).opened == 2   # two origins


def test_verify_accepts_an_ssl_context_and_false(certs, no_socket_leak):
    context = ssl.create_default_context(cafile=certs.ca_path)
    with tls_server(certs) as server:
        with httpool.Pool(verify=context) as pool:
            assert pool.get(server.url).status_code == 200
        with httpool.Pool(verify=False) as pool:
            assert pool.get(server.url).status_code == 200


def test_http_and_https_on_one_port_never_share_a_connection(certs, no_socket_leak):
    with tls_server(certs) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            assert pool.get(server.url).status_code == 200
            # The TLS server refuses plain HTTP (a reset or an alert): not an answer.
            with pytest.raises((httpool.ConnectionClosed, httpool.RemoteProtocolError)):
                pool.get(f"http://127.0.0.1:{server.port}/")
            stats = assert_consistent(pool)
            assert set(stats.origins) == {f"https://127.0.0.1:{server.port}",
                                          f"http://127.0.0.1:{server.port}"}
            assert stats.origins[f"https://127.0.0.1:{server.port}"].idle == 1


def test_new_connections_resume_the_session(certs, no_socket_leak):
    with tls_server(certs) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            for _ in range(5):
                assert pool.get(server.url, headers={"Connection": "close"}).status_code == 200
            stats = assert_consistent(pool)
            assert (stats.opened, stats.tls_handshakes, stats.tls_resumed) == (5, 1, 4)
            assert stats.closed.client_close == 5


def test_session_tickets_after_the_handshake_keep_the_connection_reused(certs, no_socket_leak):
    context = certs.server_context()
    context.num_tickets = 6   # TLS 1.3 NewSessionTicket messages, after the handshake
    with ScriptedServer(keep_alive(), tls=context) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            for _ in range(10):
                assert pool.get(server.url).status_code == 200
            stats = assert_consistent(pool)
            assert (stats.opened, stats.reused, stats.stale_bytes) == (1, 9, 0)


def test_unread_body_is_drained_and_the_connection_reused(certs, no_socket_leak):
    body = os.urandom(100_000)
    with tls_server(certs, keep_alive(body)) as server:
        with httpool.Pool(verify=certs.ca_path, max_drain=1 << 20) as pool:
            with pool.stream("GET", server.url) as response:
                assert response.status_code == 200
            assert pool.get(server.url).content == body
            stats = assert_consistent(pool)
            assert (stats.opened, stats.drained, stats.drained_bytes) == (1, 1, len(body))


def test_large_upload_and_download(certs, no_socket_leak):
    upload = os.urandom(3_000_000)

    def echo_length(conn):
        while (request := conn.read_request()) is not None:
            respond(conn, request, b"%d" % len(request.body) + request.body[-16:])

    with tls_server(certs, echo_length) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            response = pool.post(server.url, body=upload)
            assert response.content == b"3000000" + upload[-16:]
            assert assert_consistent(pool).opened == 1


# ---------------------------------------------------------- failed handshakes


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("case, match", [
    ("unknown_ca", "unknown certificate authority"),
    ("wrong_host", "does not match the IP address '127.0.0.1'"),
    ("expired", "its certificate has expired"),
    ("not_yet_valid", "its certificate is not yet valid"),
])
def test_bad_certificates_are_a_tls_error_that_says_why(certs, api, case, match, no_socket_leak):
    context = {"unknown_ca": dict(ca=certs.other_ca), "wrong_host": dict(hosts=("example.test",)),
               "expired": dict(valid="expired"), "not_yet_valid": dict(valid="future")}[case]
    with tls_server(certs, **context) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            error = expect(call(pool, api, "GET", server.url), httpool.TLSError,
                           rf"^https://127\.0\.0\.1:{server.port}: TLS handshake failed: "
                           rf"the server's certificate failed verification: .*{match}")
            assert isinstance(error, httpool.ConnectError)
            assert isinstance(error.__cause__, ssl.SSLCertVerificationError)
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.error, stats.in_use) == (1, 1, 0)


def test_hostname_mismatch_names_the_host(certs, no_socket_leak):
    with tls_server(certs, hosts=("example.test",)) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            with pytest.raises(httpool.TLSError, match="does not match the host name 'localhost'"):
                pool.get(f"https://localhost:{server.port}/")


@pytest.mark.parametrize("api", APIS)
def test_client_certificate_required(certs, api, no_socket_leak):
    with tls_server(certs, client_cert=True) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            expect(call(pool, api, "GET", server.url), httpool.TLSError,
                   "requires a client certificate")
            assert assert_consistent(pool).in_use == 0
        with httpool.Pool(verify=certs.ca_path, cert=(certs.client_cert, certs.client_key)) as pool:
            assert call(pool, api, "GET", server.url).status_code == 200


def test_no_protocol_version_in_common(certs, no_socket_leak):
    client = ssl.create_default_context(cafile=certs.ca_path)
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    with tls_server(certs, max_version=ssl.TLSVersion.TLSv1_2) as server:
        with httpool.Pool(verify=client) as pool:
            with pytest.raises(httpool.TLSError, match="no protocol version in common"):
                pool.get(server.url)
            assert assert_consistent(pool).closed.error == 1


def test_plain_http_server_at_an_https_url(certs, no_socket_leak):
    def plain_400(conn):
        conn.send_response(400, b"plain HTTP here", {"Connection": "close"})
        conn.wait_client_close()

    with ScriptedServer(plain_400) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            with pytest.raises(httpool.TLSError, match="did not answer in TLS"):
                pool.get(f"https://127.0.0.1:{server.port}/")


def test_server_closing_during_the_handshake(certs, no_socket_leak):
    def close_at_once(conn):
        conn.close()

    with ScriptedServer(close_at_once) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            with pytest.raises(httpool.TLSError, match="closed the connection during the handshake"):
                pool.get(f"https://127.0.0.1:{server.port}/")


@pytest.mark.parametrize("api", APIS)
def test_stalled_handshake_costs_its_deadline_and_frees_everything(certs, api, no_socket_leak):
    # A plain server that reads the ClientHello and never answers.
    with ScriptedServer(never_answer) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            started = time.monotonic()
            expect(call(pool, api, "GET", f"https://127.0.0.1:{server.port}/",
                        timeout=httpool.Timeout(connect=0.3)),
                   httpool.ConnectTimeout, "TLS handshake timed out")
            elapsed = time.monotonic() - started
            assert server.wait_closed(1)
            stats = assert_consistent(pool)
            assert (stats.in_use, stats.closed.timeout) == (0, 1)
    assert 0.3 <= elapsed < 0.8, elapsed


def test_trickled_handshake_is_bounded_by_the_connect_timeout(certs, no_socket_leak):
    def trickle(conn):
        # The head of a 16 KiB handshake record, then its bytes one at a time.
        conn.send(b"\x16\x03\x03\x40\x00")
        while not conn.stall(0.05):
            conn.send(b"\x00")

    with ScriptedServer(trickle) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            started = time.monotonic()
            with pytest.raises(httpool.ConnectTimeout):
                pool.get(f"https://127.0.0.1:{server.port}/", timeout=httpool.Timeout(connect=0.3))
            assert time.monotonic() - started < 0.8


# ------------------------------------------------------------- idle sessions


def _when_idle(action):
    """A handler: connection 0 answers one request, then `action(conn)`
    while the client holds it idle (`done` is set after); later
    connections serve normally."""
    done = threading.Event()

    def handler(conn):
        while (request := conn.read_request()) is not None:
            respond(conn, request)
            if conn.index == 0:
                action(conn)
                conn.flush()
                done.set()
                conn.wait_client_close()
                return

    return handler, done


def test_close_notify_on_an_idle_connection_makes_it_stale(certs, no_socket_leak):
    handler, notified = _when_idle(lambda conn: conn.close_notify())
    with tls_server(certs, handler) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            assert notified.wait(5)
            assert pool.get(server.url).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.stale_eof, stats.closed.stale, stats.opened) == (1, 1, 2)


def test_application_data_on_an_idle_connection_is_stray(certs, no_socket_leak):
    handler, sent = _when_idle(lambda conn: conn.send_response(408, b"", {"Connection": "close"}))
    with tls_server(certs, handler) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            pool.get(server.url)
            assert sent.wait(5)
            assert pool.get(server.url).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.stale_bytes, stats.closed.stale, stats.opened) == (1, 1, 2)


# ------------------------------------------------------------------- batches


def test_batch_finds_close_notify_that_came_with_the_last_response(certs, no_socket_leak):
    """close_notify sent right behind a response arrives in the same recv and
    waits in the SSLObject's input, where the batch's epoll set cannot see it:
    the idle check must look there, so the next request opens a new
    connection at once instead of failing and being retried."""
    def response_and_close_notify_in_one_segment(conn):
        while (request := conn.read_request()) is not None:
            if conn.index == 0:
                # TCP_CORK holds both records until it is lifted: one segment, one recv.
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                respond(conn, request)
                conn.close_notify(flush=False)
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
                conn.wait_client_close()
                return
            respond(conn, request)

    with tls_server(certs, response_and_close_notify_in_one_segment) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            results = pool.request_many([("GET", server.url)] * 2, concurrency=1)
            assert [r.content for r in results] == [b"conn=0 req=1", b"conn=1 req=1"]
            stats = assert_consistent(pool)
            assert (stats.stale_eof, stats.retried, stats.closed.closed_on_reuse) == (1, 0, 0)


def test_batch_of_64_with_one_stalled_peer(certs, no_socket_leak):
    with tls_server(certs) as good, ScriptedServer(never_answer) as stalled:
        with httpool.Pool(verify=certs.ca_path, max_connections_per_host=64) as pool:
            requests = [("GET", good.url)] * 63 + [("GET", f"https://127.0.0.1:{stalled.port}/")]
            started = time.monotonic()
            results = pool.request_many(requests, concurrency=64, return_exceptions=True,
                                        timeout=httpool.Timeout(connect=0.5))
            assert time.monotonic() - started < 3
            assert all(r.status_code == 200 for r in results[:63])
            expect(results[63], httpool.ConnectTimeout, "TLS handshake")
            stats = assert_consistent(pool)
            assert stats.in_use == 0 and stats.closed.timeout == 1
            assert stats.tls_handshakes + stats.tls_resumed == stats.opened - 1


# ---------------------------------------------------------------------- fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_never_touches_the_parents_tls_connection(certs, no_socket_leak):
    with tls_server(certs) as server:
        with httpool.Pool(verify=certs.ca_path) as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            pid = os.fork()
            if pid == 0:
                try:
                    ok = pool.get(server.url).content.startswith(b"conn=1 ")
                finally:
                    os._exit(0 if ok else 1)
            assert os.waitpid(pid, 0)[1] == 0
            # The parent's session is intact: no close_notify came from the child.
            assert pool.get(server.url).content == b"conn=0 req=2"


# --------------------------------------------------------------- arguments


@pytest.mark.parametrize("options, error, match", [
    (dict(verify=1), TypeError, "verify must be True, False, a path"),
    (dict(verify="/nonexistent/ca.pem"), ValueError, "no such CA file"),
    (dict(cert="/nonexistent/client.pem"), ValueError, "cert: no such file"),
    (dict(cert=("a", "b", "c", "d")), TypeError, "cert must be a path"),
    (dict(verify=ssl.create_default_context(), cert="x.pem"), ValueError, "cannot be combined"),
])
def test_bad_tls_options_are_refused(options, error, match):
    with pytest.raises(error, match=match):
        httpool.Pool(**options)


def test_unreadable_ca_file_is_a_tls_error_on_first_use(certs, tmp_path, no_socket_leak):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    with tls_server(certs) as server:
        with httpool.Pool(verify=str(bogus)) as pool:
            with pytest.raises(httpool.TLSError, match="cannot load CA certificates"):
                pool.get(server.url)
            assert assert_consistent(pool).in_use == 0


# --------------------------------------------------------------------- nginx


@pytest.fixture(scope="module")
def tls_nginx(certs, tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    leaf = certs.ca.issue_cert("127.0.0.1", "localhost")
    directory = tmp_path_factory.mktemp("nginx-tls")
    cert, key = directory / "server.pem", directory / "server.key"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    with NginxServer(ssl_certificate=cert, ssl_certificate_key=key) as server:
        yield server


def test_nginx_over_tls_reuse_resumption_and_drain(certs, tls_nginx, no_socket_leak):
    url = tls_nginx.url
    assert url.startswith("https://")
    with httpool.Pool(verify=certs.ca_path) as pool:
        for _ in range(50):
            assert pool.get(url + "/small").content == FILES["small"]
        assert pool.get(url + "/1m").content == FILES["1m"]
        with pool.stream("GET", url + "/64k"):
            pass
        assert pool.get(url + "/small").content == FILES["small"]
        for _ in range(3):
            pool.get(url + "/small", headers={"Connection": "close"})
        results = pool.request_many([("GET", url + "/64k")] * 64, concurrency=16)
        assert all(r.content == FILES["64k"] for r in results)
        stats = assert_consistent(pool)
        assert stats.drained == 1 and stats.tls_resumed >= 3
