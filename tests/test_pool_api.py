"""The public API of httpool.Pool and httpool.Response, seen from the wire.

Every request here goes to a ScriptedServer whose `echo` handler answers with
a JSON description of the request exactly as it arrived (request line,
headers in order, decoded body), so each test states what httpool *sent*, not
what it meant to send.  Invalid arguments are checked against a server too:
`server.accepted == 0` proves they were refused before any I/O.

The pool's limits (idle, per-host, total), its stats per origin, garbage
collection of unclosed responses, DEBUG logging and repr are checked with the
same servers.  Every test that opens a connection asks for `no_socket_leak`
first, and pyproject.toml turns warnings (a ResourceWarning from a finalizer
included) into errors.
"""

from __future__ import annotations

import datetime
import gc
import json
import logging
import pickle
import re
import threading
import time
import warnings

import pytest

import httpool

from support.accounting import assert_consistent
from support.nginx import pattern
from support.servers import (
    ScriptedServer,
    close_idle_after,
    echo,
    headers_then_stall,
    keep_alive,
    respond,
)

VERSION = httpool.__version__


def sent(response: httpool.Response) -> dict:
    """What the echo server received, with a case-insensitive view of headers."""
    doc = response.json()
    doc["by_name"] = {}
    for name, value in doc["headers"]:
        doc["by_name"].setdefault(name.lower(), []).append(value)
    return doc


@pytest.fixture
def echo_server(no_socket_leak):
    with ScriptedServer(echo) as server:
        yield server


# --------------------------------------------------------------------------
# What goes on the wire
# --------------------------------------------------------------------------


def test_request_line_and_default_headers(echo_server):
    with httpool.Pool() as pool:
        doc = sent(pool.get(echo_server.url + "/a/b?x=1"))
    assert (doc["method"], doc["target"], doc["version"]) == ("GET", "/a/b?x=1", "HTTP/1.1")
    assert doc["by_name"]["host"] == [f"127.0.0.1:{echo_server.port}"]
    assert doc["by_name"]["user-agent"] == [f"httpool/{VERSION}"]
    assert doc["by_name"]["accept"] == ["*/*"]
    # A GET without a body says nothing about one.
    assert "content-length" not in doc["by_name"]
    assert "transfer-encoding" not in doc["by_name"]
    assert doc["body"] == ""
    assert doc["headers"][0][0].lower() == "host"


def test_bare_origin_url_requests_slash(echo_server):
    with httpool.Pool() as pool:
        assert sent(pool.get(echo_server.url))["target"] == "/"
        assert sent(pool.get(echo_server.url + "/p#fragment"))["target"] == "/p"


@pytest.mark.parametrize("method", ["get", "head", "post", "put", "patch", "delete", "options"])
def test_method_shortcuts(echo_server, method):
    with httpool.Pool() as pool:
        response = getattr(pool, method)(echo_server.url + "/m")
        assert response.status_code == 200
        if method == "head":
            assert response.content == b""
        else:
            assert sent(response)["method"] == method.upper()
        assert pool.request(method, echo_server.url + "/m").status_code == 200  # lower-case accepted


def test_custom_headers_override_defaults_case_insensitively(echo_server):
    headers = {"user-agent": "probe/2", "ACCEPT": "text/plain", "host": "example.test", "X-Extra": "1"}
    with httpool.Pool() as pool:
        doc = sent(pool.get(echo_server.url, headers=headers))
    assert doc["by_name"]["user-agent"] == ["probe/2"]
    assert doc["by_name"]["accept"] == ["text/plain"]
    assert doc["by_name"]["host"] == ["example.test"]
    assert doc["by_name"]["x-extra"] == ["1"]


def test_repeated_request_headers_are_all_sent(echo_server):
    with httpool.Pool() as pool:
        doc = sent(pool.get(echo_server.url, headers=[("X-Multi", "a"), ("x-multi", "b")]))
    assert doc["by_name"]["x-multi"] == ["a", "b"]


def test_pool_default_headers_and_their_override(echo_server):
    with httpool.Pool(headers={"X-Team": "red", "User-Agent": "bot/1"}) as pool:
        first = sent(pool.get(echo_server.url))
        second = sent(pool.get(echo_server.url, headers={"x-team": "blue"}))
    assert first["by_name"]["x-team"] == ["red"]
    assert first["by_name"]["user-agent"] == ["bot/1"]
    assert first["by_name"]["accept"] == ["*/*"]
    assert second["by_name"]["x-team"] == ["blue"]
    assert second["by_name"]["user-agent"] == ["bot/1"]


def test_params_are_encoded_and_appended_to_an_existing_query(echo_server):
    with httpool.Pool() as pool:
        plain = sent(pool.get(echo_server.url + "/s", params={"q": "a b&c", "n": 1}))
        appended = sent(pool.get(echo_server.url + "/s?x=1", params=[("k", "v"), ("k", "w")]))
        listed = sent(pool.get(echo_server.url + "/s", params={"k": ["1", "2"], "é": "ü"}))
        empty = sent(pool.get(echo_server.url + "/s", params={}))
    assert plain["target"] == "/s?q=a+b%26c&n=1"
    assert appended["target"] == "/s?x=1&k=v&k=w"
    assert listed["target"] == "/s?k=1&k=2&%C3%A9=%C3%BC"
    assert empty["target"] == "/s"


def test_json_body_sets_content_type_and_length(echo_server):
    payload = {"name": "é", "values": [1, 2, None], "ok": True}
    with httpool.Pool() as pool:
        doc = sent(pool.post(echo_server.url, json=payload))
        own_type = sent(pool.put(echo_server.url, json=[], headers={"content-type": "application/x+json"}))
        falsy = sent(pool.post(echo_server.url, json=0))
    body = doc["body"].encode("latin-1")
    assert json.loads(body) == payload
    assert doc["by_name"]["content-type"] == ["application/json"]
    assert doc["by_name"]["content-length"] == [str(len(body))]
    assert own_type["by_name"]["content-type"] == ["application/x+json"]
    assert own_type["body"] == "[]"
    assert (falsy["body"], falsy["by_name"]["content-length"]) == ("0", ["1"])


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"raw bytes", b"raw bytes"),
        ("h\u00e9llo \u20ac", "h\u00e9llo \u20ac".encode()),
        (bytearray(b"a bytearray"), b"a bytearray"),
        (memoryview(b"0123456789")[2:8], b"234567"),
        (b"", b""),
    ],
    ids=["bytes", "str-utf8", "bytearray", "memoryview", "empty"],
)
def test_bodies_are_sent_with_content_length(echo_server, body, expected):
    with httpool.Pool() as pool:
        doc = sent(pool.post(echo_server.url, body=body))
    assert doc["by_name"]["content-length"] == [str(len(expected))]
    assert "transfer-encoding" not in doc["by_name"]
    assert doc["body"].encode("latin-1") == expected


@pytest.mark.parametrize("method, length", [("POST", ["0"]), ("PUT", ["0"]), ("PATCH", ["0"]),
                                            ("DELETE", None), ("OPTIONS", None)])
def test_methods_without_a_body(echo_server, method, length):
    """POST/PUT/PATCH with no body say Content-Length: 0; others say nothing."""
    with httpool.Pool() as pool:
        doc = sent(pool.request(method, echo_server.url))
    assert doc["by_name"].get("content-length") == length
    assert "transfer-encoding" not in doc["by_name"]


def test_generator_body_is_sent_chunked(echo_server):
    pieces = [b"first,", b"", "second,", bytearray(b"x" * 70_000), memoryview(b",last")]

    def generate():
        yield from pieces

    expected = b"first,second," + b"x" * 70_000 + b",last"
    with httpool.Pool() as pool:
        doc = sent(pool.post(echo_server.url + "/upload", body=generate()))
        again = sent(pool.post(echo_server.url + "/upload", body=[b"a", b"b"]))
        stats = assert_consistent(pool)
    assert doc["by_name"]["transfer-encoding"] == ["chunked"]
    assert "content-length" not in doc["by_name"]
    assert doc["body"].encode("latin-1") == expected
    assert again["body"] == "ab"
    # The chunked body ended cleanly: the connection was reused for the second.
    assert (stats.opened, stats.reused) == (1, 1)


def test_generator_body_that_raises_discards_the_connection(no_socket_leak):
    """The caller's generator fails mid-body: its exception reaches the caller
    and the half-sent request's connection is closed, never reused."""

    def failing():
        yield b"abc"
        raise RuntimeError("generator failed")

    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool() as pool:
            with pytest.raises(RuntimeError, match="generator failed"):
                pool.post(server.url, body=failing())
            with pytest.raises(TypeError):
                pool.post(server.url, body=iter([b"ok", 42]))
            assert server.wait_closed(2)
            stats = assert_consistent(pool)
            assert (stats.in_use, stats.idle, stats.closed.error) == (0, 0, 2)
            assert pool.get(server.url).status_code == 200


def test_pool_default_connection_close_is_the_clients_close(no_socket_leak):
    """`Connection: close` among the pool's default headers is the client's
    choice, exactly as when it is given per request: counted as client_close."""
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(headers={"Connection": "close"}) as pool:
            pool.get(server.url)
            pool.get(server.url, headers={"X-Other": "1"})
            stats = assert_consistent(pool)
            assert server.accepted == 2
            assert (stats.closed.client_close, stats.closed.server_close) == (2, 0), stats


def test_international_host_is_idna_encoded_with_or_without_headers():
    """Host is IDNA-encoded when the pool builds the head from its cache; it
    must be the same when request headers are given (a Host outside Latin-1
    must not turn into a ValueError: both fail only at name resolution)."""
    url = "http://\u4f8b\u3048.invalid:1/"
    with httpool.Pool() as pool:
        with pytest.raises(httpool.ConnectError, match="resolve"):
            pool.get(url)
        with pytest.raises(httpool.ConnectError, match="resolve"):
            pool.get(url, headers={"X-A": "1"})


# --------------------------------------------------------------------------
# Refused before any I/O
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"headers": {"X-Evil": "a\r\nInjected: 1"}},
        {"headers": {"X-Evil": "a\nInjected: 1"}},
        {"headers": {"X-Evil": "a\rb"}},
        {"headers": {"X-Evil": "a\x00b"}},
        {"headers": {"X-Evil\r\nInjected": "1"}},
        {"headers": {"X-Evil\n": "1"}},
        {"headers": {"X-Ev\x00il": "1"}},
        {"headers": {"X Evil": "1"}},
        {"headers": {"X-Evil:": "1"}},
        {"headers": {"": "1"}},
        {"headers": {"X-Evil": "\u20ac"}},  # not Latin-1
    ],
    ids=lambda kwargs: repr(kwargs["headers"]),
)
def test_header_injection_is_refused_before_connecting(echo_server, kwargs):
    with httpool.Pool() as pool:
        with pytest.raises(ValueError):
            pool.get(echo_server.url, **kwargs)
        assert pool.stats().opened == 0
    assert echo_server.accepted == 0


def test_bytes_header_values_are_sent_as_bytes_or_refused(echo_server):
    """A bytes value is either sent as its bytes or refused with TypeError,
    never sent as its Python repr ("b'...'"), which also hides a CR LF from
    the injection check by escaping it."""
    with httpool.Pool() as pool:
        try:
            doc = sent(pool.get(echo_server.url, headers=[("X-Bytes", b"abc")]))
        except TypeError:
            pass
        else:
            assert doc["by_name"]["x-bytes"] == ["abc"]
        with pytest.raises((ValueError, TypeError)):
            pool.get(echo_server.url, headers=[("X-Evil", b"a\r\nb")])


@pytest.mark.parametrize("headers", [{"X-A": "1\r\nX-B: 2"}, {"X-A\n": "1"}, {"X-A": "\x00"}])
def test_header_injection_in_pool_default_headers_is_refused(headers):
    with pytest.raises(ValueError):
        httpool.Pool(headers=headers)


@pytest.mark.parametrize("path", ["/a\x00b", "/a b", "/a?q=1 HTTP/1.1\r\nX-Evil: 1"])
def test_control_characters_in_the_url_are_refused(echo_server, path):
    with httpool.Pool() as pool:
        with pytest.raises(ValueError):
            pool.get(echo_server.url + path)
    assert echo_server.accepted == 0


@pytest.mark.parametrize("path", ["/a\r\nX-Evil:1", "/a\nb", "/a\rb", "/a\tb"])
def test_cr_lf_in_the_url_path_are_refused_not_stripped(echo_server, path):
    """urllib.parse.urlsplit silently deletes CR, LF and TAB (bpo-43882), so
    "/a\\r\\nX-Evil:1" would go out as "/aX-Evil:1": a URL that is not the
    one the caller wrote.  The contract is ValueError, before any I/O."""
    with httpool.Pool() as pool:
        with pytest.raises(ValueError):
            pool.get(echo_server.url + path)
    assert echo_server.accepted == 0


@pytest.mark.parametrize("method", ["GET\r\nX-Evil: 1", "GE T", "GET\x00", ""])
def test_bad_methods_are_refused(echo_server, method):
    with httpool.Pool() as pool:
        with pytest.raises(ValueError):
            pool.request(method, echo_server.url)
    assert echo_server.accepted == 0


@pytest.mark.parametrize(
    "url, error, match",
    [
        ("ftp://127.0.0.1/", ValueError, "scheme"),
        ("127.0.0.1:8080/path", ValueError, "scheme"),
        ("/relative/path", ValueError, "scheme"),
        ("", ValueError, "scheme"),
        ("http:///path", ValueError, "host"),
        ("http://:8080/path", ValueError, "host"),
        ("http://127.0.0.1:99999/", ValueError, "port"),
        ("http://127.0.0.1:-1/", ValueError, "port"),
        ("http://127.0.0.1:http/", ValueError, "port"),
        (b"http://127.0.0.1/", TypeError, "str"),
        (None, TypeError, "str"),
    ],
)
def test_bad_urls_are_refused(url, error, match):
    with httpool.Pool() as pool:
        with pytest.raises(error, match=match):
            pool.get(url)
        assert pool.stats().opened == 0


def test_port_zero_is_refused_not_replaced_by_80():
    """`parts.port or 80` turns an explicit port 0 into port 80: the pool then
    connects to a port the caller never named."""
    with httpool.Pool() as pool:
        with pytest.raises(ValueError, match="port"):
            pool.get("http://127.0.0.1:0/")
        assert pool.stats().opened == 0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_connections": 0}, ValueError),
        ({"max_connections": -1}, ValueError),
        ({"max_connections_per_host": 0}, ValueError),
        ({"max_connections_per_host": -3}, ValueError),
        ({"max_idle_per_host": -1}, ValueError),
        ({"max_drain": -1}, ValueError),
        ({"retries": -1}, ValueError),
        ({"idle_timeout": -1.0}, ValueError),
        ({"idle_timeout": float("nan")}, ValueError),
        ({"max_lifetime": -0.5}, ValueError),
        ({"max_connections": "10"}, TypeError),
        ({"max_connections": 2.5}, TypeError),
        ({"max_connections_per_host": None}, TypeError),
        ({"max_idle_per_host": True}, TypeError),
        ({"retries": 1.0}, TypeError),
        ({"timeout": -1}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": float("inf")}, ValueError),
        ({"timeout": "5"}, TypeError),
        ({"headers": 5}, TypeError),
        ({"headers": {"Content-Length": "3"}}, ValueError),
        ({"headers": {"transfer-encoding": "chunked"}}, ValueError),
        ({"headers": {"Host": "elsewhere"}}, ValueError),
        ({"max_drain_time": -0.1}, ValueError),
        ({"max_drain_time": "1"}, ValueError),
        ({"max_body_size": -1}, ValueError),
        ({"max_body_size": 1.5}, TypeError),
        ({"max_header_bytes": 10}, ValueError),
        ({"max_headers": 0}, ValueError),
        ({"max_interim": -1}, ValueError),
        ({"max_interim": None}, TypeError),
    ],
    ids=repr,
)
def test_bad_pool_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        httpool.Pool(**kwargs)


def test_pool_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        httpool.Pool(10)  # type: ignore[misc]


def test_pool_accepts_the_documented_defaults_explicitly():
    pool = httpool.Pool(
        max_connections_per_host=10, max_connections=100, max_idle_per_host=10,
        idle_timeout=30.0, max_lifetime=None, max_drain=262144, retries=1,
        timeout=httpool.Timeout(total=None, connect=10.0, read=30.0, write=30.0, pool=10.0),
        headers=None,
    )
    pool.close()
    # Zero idle connections and zero retries are meaningful settings.
    httpool.Pool(max_idle_per_host=0, retries=0, max_drain=0, idle_timeout=0).close()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"read": -1}, ValueError),
        ({"connect": float("nan")}, ValueError),
        ({"total": float("-inf")}, ValueError),
        ({"write": "1"}, TypeError),
        ({"pool": True}, TypeError),
    ],
    ids=repr,
)
def test_bad_timeout_values_are_refused(kwargs, error):
    with pytest.raises(error):
        httpool.Timeout(**kwargs)


def test_timeout_defaults():
    assert httpool.Timeout() == httpool.Timeout(total=None, connect=10.0, read=30.0, write=30.0, pool=10.0)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"timeout": -1}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": "2"}, TypeError),
        ({"timeout": [2]}, TypeError),
        ({"body": 12345}, TypeError),
        ({"body": object()}, TypeError),
        ({"body": b"x", "json": {"a": 1}}, ValueError),
        ({"headers": 5}, TypeError),
        ({"headers": {"Content-Length": "5"}}, ValueError),
        ({"headers": {"transfer-encoding": "chunked"}}, ValueError),
        ({"json": {1, 2}}, TypeError),  # not JSON serialisable
    ],
    ids=repr,
)
def test_bad_request_arguments_are_refused_before_connecting(echo_server, kwargs, error):
    with httpool.Pool() as pool:
        with pytest.raises(error):
            pool.post(echo_server.url, **kwargs)
        assert pool.stats().opened == 0
    assert echo_server.accepted == 0


def test_bad_method_type_is_refused(echo_server):
    with httpool.Pool() as pool:
        with pytest.raises(TypeError):
            pool.request(b"GET", echo_server.url)  # type: ignore[arg-type]
    assert echo_server.accepted == 0


def test_non_contiguous_memoryview_body_is_refused_before_connecting(echo_server):
    """A strided memoryview has no single buffer to send: that is known
    before any I/O, and should be a TypeError or ValueError, not a
    BufferError raised after a connection was opened (and then thrown away)."""
    body = memoryview(b"abcdef")[::2]
    with httpool.Pool() as pool:
        with pytest.raises((TypeError, ValueError)):
            pool.post(echo_server.url, body=body)
        assert pool.stats().opened == 0
    assert echo_server.accepted == 0


def test_iter_bytes_refuses_a_chunk_size_below_one(echo_server):
    with httpool.Pool() as pool:
        with pool.stream("GET", echo_server.url) as response:
            with pytest.raises(ValueError):
                next(response.iter_bytes(0))


# --------------------------------------------------------------------------
# The Response
# --------------------------------------------------------------------------


def _routes(conn, request):
    """/status/N answers N; /cookies sets two cookies; /latin1 and /utf8 send
    text in a declared charset; anything else is the default answer."""
    if request.target.startswith("/status/"):
        status = int(request.target.rsplit("/", 1)[1])
        respond(conn, request, b"status body", status=status)
    elif request.target == "/cookies":
        respond(conn, request, b"{}", [("Set-Cookie", "a=1; Path=/"), ("Content-Type", "application/json"),
                                       ("set-cookie", "b=2"), ("X-Empty", "")])
    elif request.target == "/latin1":
        respond(conn, request, "caf\u00e9 \u00fc".encode("latin-1"),
                {"Content-Type": 'text/plain; charset="ISO-8859-1"'})
    elif request.target == "/utf8":
        respond(conn, request, "caf\u00e9 \u20ac".encode(), {"Content-Type": "text/plain"})
    elif request.target == "/reason":
        conn.send_response(299, b"odd", [("X-Conn", conn.index)], reason="Quite Fine Indeed")
    else:
        respond(conn, request)


def routes(conn):
    while (request := conn.read_request()) is not None:
        _routes(conn, request)


@pytest.fixture
def route_server(no_socket_leak):
    with ScriptedServer(routes) as server:
        yield server


def test_response_basics(route_server):
    with httpool.Pool() as pool:
        response = pool.get(route_server.url + "/plain")
        assert response.status_code == 200
        assert response.reason == "OK"
        assert response.http_version == "HTTP/1.1"
        assert response.url == route_server.url + "/plain"
        assert response.content == b"conn=0 req=1"
        assert response.read() is response.content  # read once, kept
        assert isinstance(response.elapsed, datetime.timedelta)
        assert datetime.timedelta(0) < response.elapsed < datetime.timedelta(seconds=2)
        assert response.raise_for_status() is response
        assert "200" in repr(response)

        odd = pool.get(route_server.url + "/reason")
        assert (odd.status_code, odd.reason, odd.content) == (299, "Quite Fine Indeed", b"odd")
        assert odd.raise_for_status() is odd


def test_response_url_includes_params(route_server):
    """The response's url is the URL requested, query from params= included
    (as in httpx and requests)."""
    with httpool.Pool() as pool:
        response = pool.get(route_server.url + "/plain?a=1", params={"b": "x y"})
    assert response.url == route_server.url + "/plain?a=1&b=x+y"


def test_headers_are_case_insensitive_and_multi_valued(route_server):
    with httpool.Pool() as pool:
        headers = pool.get(route_server.url + "/cookies").headers
    assert isinstance(headers, httpool.Headers)
    assert headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]
    assert headers.get_list("SET-COOKIE") == ["a=1; Path=/", "b=2"]
    assert headers["Set-Cookie"] == "a=1; Path=/, b=2"
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "application/json"
    assert "Content-Length" in headers and "content-length" in headers
    assert headers["x-empty"] == ""
    assert headers.get("X-Missing") is None
    with pytest.raises(KeyError):
        headers["X-Missing"]
    assert [name for name, _ in headers.multi_items()].count("Set-Cookie") + \
        [name for name, _ in headers.multi_items()].count("set-cookie") == 2
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.multi_items())
    assert list(headers).count("set-cookie") == 1  # keys are unique, lower-cased
    assert len(headers) == len(set(headers))


def test_text_decodes_with_the_declared_charset(route_server):
    with httpool.Pool() as pool:
        latin = pool.get(route_server.url + "/latin1")
        utf8 = pool.get(route_server.url + "/utf8")
    assert latin.text == "caf\u00e9 \u00fc"
    assert utf8.text == "caf\u00e9 \u20ac"  # no charset: UTF-8


def test_text_with_an_unknown_charset_still_decodes(no_socket_leak):
    """The charset comes from the peer: an unknown one must not make .text
    raise LookupError (fall back to UTF-8 with replacement, as for bad bytes)."""

    def handler(conn):
        while (request := conn.read_request()) is not None:
            respond(conn, request, b"caf\xc3\xa9 \xff", {"Content-Type": "text/plain; charset=x-no-such"})

    with ScriptedServer(handler) as server:
        with httpool.Pool() as pool:
            response = pool.get(server.url)
    assert response.text == "caf\u00e9 \ufffd"


def test_json(route_server):
    with httpool.Pool() as pool:
        assert pool.get(route_server.url + "/cookies").json() == {}
        with pytest.raises(ValueError):
            pool.get(route_server.url + "/plain").json()


@pytest.mark.parametrize("status, kind", [(404, "client error"), (500, "server error"), (503, "server error")])
def test_raise_for_status_names_status_and_url(route_server, status, kind):
    url = f"{route_server.url}/status/{status}"
    with httpool.Pool() as pool:
        response = pool.get(url)
        assert response.status_code == status
        assert response.content == b"status body"  # a 4xx/5xx is a response, not an error
        with pytest.raises(httpool.HTTPStatusError) as info:
            response.raise_for_status()
        # The connection of an error response is reused like any other.
        assert pool.get(route_server.url + "/plain").content == b"conn=0 req=2"
    message = str(info.value)
    assert str(status) in message and kind in message and url in message and "GET" in message
    assert info.value.response is response


@pytest.mark.parametrize("status", [201, 204, 301, 399])
def test_raise_for_status_returns_self_below_400(route_server, status):
    with httpool.Pool() as pool:
        response = pool.get(f"{route_server.url}/status/{status}")
    assert response.raise_for_status() is response


def test_stream_iter_bytes_respects_the_chunk_size(no_socket_leak):
    body = pattern(200_000)  # under max_drain, so the taste below is drained
    with ScriptedServer(keep_alive(body)) as server:
        with httpool.Pool() as pool:
            for chunk_size in (1, 1000, 4096, 65536, 1 << 20):
                with pool.stream("GET", server.url) as response:
                    assert response.status_code == 200
                    assert response.headers["content-length"] == str(len(body))
                    if chunk_size == 1:  # a taste only: 300 000 one-byte chunks is slow
                        iterator = response.iter_bytes(1)
                        pieces = [next(iterator) for _ in range(10)]
                        assert b"".join(pieces) == body[:10]
                        continue  # leaving the block drains the rest
                    else:
                        pieces = list(response.iter_bytes(chunk_size))
                        assert all(0 < len(piece) <= chunk_size for piece in pieces)
                        assert response.is_released  # the end of the body released it
                    assert b"".join(pieces) == body
            stats = assert_consistent(pool)
            # One body drained (the taste), the others read to their end: one
            # connection throughout.
            assert (stats.opened, stats.reused, stats.drained, stats.closed.total) == (1, 4, 1, 0)
            assert server.accepted == 1


def test_read_after_partial_iteration_is_refused(no_socket_leak):
    """content must be the whole body: once iter_bytes() has taken part of it,
    read() refuses (as httpx does) and leaving the block drains the rest."""
    body = pattern(200_000)
    with ScriptedServer(keep_alive(body)) as server:
        with httpool.Pool() as pool:
            with pool.stream("GET", server.url) as response:
                iterator = response.iter_bytes(1000)
                assert next(iterator) + next(iterator) == body[:2000]
                with pytest.raises(RuntimeError, match="already consumed by iter_bytes"):
                    response.read()
            stats = assert_consistent(pool)
            assert (stats.drained, stats.idle, stats.in_use) == (1, 1, 0)


def test_iteration_after_read_replays_the_body(no_socket_leak):
    body = pattern(200_000)
    with ScriptedServer(keep_alive(body)) as server:
        with httpool.Pool() as pool:
            with pool.stream("GET", server.url) as response:
                assert response.read() == body
            assert b"".join(response.iter_bytes(7000)) == body
            assert [len(c) for c in response.iter_bytes(100_000)][:1] == [100_000]


def test_stream_body_is_not_read_before_asked(no_socket_leak):
    body = pattern(100_000)
    with ScriptedServer(keep_alive(body)) as server:
        with httpool.Pool() as pool:
            with pool.stream("GET", server.url) as response:
                assert response.status_code == 200
                assert not response.is_released
                assert pool.stats().in_use == 1
                assert response.content == body
                assert response.is_released
            assert isinstance(response.elapsed, datetime.timedelta)
            stats = assert_consistent(pool)
            assert (stats.in_use, stats.idle) == (0, 1)
            # Released without reading: the body can no longer be had.
            with pool.stream("GET", server.url) as unread:
                pass
            with pytest.raises(RuntimeError, match="released"):
                unread.read()


def test_head_has_headers_but_no_body_and_keeps_the_connection(echo_server):
    with httpool.Pool() as pool:
        head = pool.head(echo_server.url + "/h")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) > 0  # the GET body's length
        with pool.stream("HEAD", echo_server.url + "/h") as streamed:
            assert list(streamed.iter_bytes()) == []
        doc = sent(pool.get(echo_server.url + "/after"))
        stats = assert_consistent(pool)
    assert doc["request"] == 3  # the third request on the one connection
    assert (stats.opened, stats.reused, stats.drained, stats.closed.total) == (1, 2, 0, 0)


def test_per_request_read_timeout_applies_to_the_body(no_socket_leak):
    """Timeout(read=0.2) given to one request bounds every read of that
    request, the body's included, not only the wait for its head."""
    with ScriptedServer(headers_then_stall) as server:
        with httpool.Pool(timeout=httpool.Timeout(read=1.5)) as pool:
            started = time.monotonic()
            with pytest.raises(httpool.ReadTimeout):
                pool.get(server.url, timeout=httpool.Timeout(read=0.2))
            elapsed = time.monotonic() - started
            assert server.wait_closed(1)
            assert assert_consistent(pool).closed.timeout == 1
    assert 0.2 <= elapsed < 0.6, elapsed


def test_float_timeout_is_a_total_deadline(no_socket_leak):
    with ScriptedServer(headers_then_stall) as server:
        with httpool.Pool() as pool:
            started = time.monotonic()
            with pytest.raises(httpool.ReadTimeout, match="total deadline"):
                pool.get(server.url, timeout=0.2)
            elapsed = time.monotonic() - started
            assert server.wait_closed(1)
    assert 0.2 <= elapsed < 0.5, elapsed


# --------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------

TIMEOUTS = [httpool.ConnectTimeout, httpool.WriteTimeout, httpool.ReadTimeout, httpool.PoolTimeout]
ALL_ERRORS = [
    httpool.HTTPError, httpool.TransportError, httpool.ConnectError, httpool.ConnectionClosed,
    httpool.TimeoutError, *TIMEOUTS, httpool.ProtocolError, httpool.RemoteProtocolError,
    httpool.HTTPStatusError, httpool.PoolClosed,
]


def test_exception_hierarchy():
    for cls in ALL_ERRORS:
        assert issubclass(cls, httpool.HTTPError), cls
    for cls in TIMEOUTS:
        assert issubclass(cls, httpool.TimeoutError)
        assert issubclass(cls, TimeoutError), f"{cls.__name__} is not a builtin TimeoutError"
    assert issubclass(httpool.TimeoutError, TimeoutError)
    assert issubclass(httpool.RemoteProtocolError, httpool.ProtocolError)
    for cls in (httpool.ConnectError, httpool.ConnectionClosed):
        assert issubclass(cls, httpool.TransportError)
    # Programming errors are not HTTP errors.
    assert not issubclass(httpool.HTTPError, (ValueError, TypeError))
    assert httpool.TimeoutError is not TimeoutError


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_exceptions_pickle_round_trip(cls):
    error = cls("http://127.0.0.1:1: something happened")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert copy.args == error.args
    assert str(copy) == str(error)


def test_raised_errors_pickle_round_trip(route_server):
    with httpool.Pool() as pool:
        response = pool.get(route_server.url + "/status/404")
        with pytest.raises(httpool.HTTPStatusError) as status_info:
            response.raise_for_status()
    copy = pickle.loads(pickle.dumps(status_info.value))
    assert type(copy) is httpool.HTTPStatusError
    assert str(copy) == str(status_info.value)

    with ScriptedServer(headers_then_stall) as server:
        with httpool.Pool() as pool:
            with pytest.raises(httpool.ReadTimeout) as timeout_info:
                pool.get(server.url, timeout=0.1)
    copy = pickle.loads(pickle.dumps(timeout_info.value))
    assert type(copy) is httpool.ReadTimeout and isinstance(copy, TimeoutError)
    assert str(copy) == str(timeout_info.value)


def test_closed_pool_raises_pool_closed_before_any_io(echo_server):
    pool = httpool.Pool()
    pool.close()
    with pytest.raises(httpool.PoolClosed):
        pool.get(echo_server.url)
    with pytest.raises(httpool.PoolClosed):
        with pool.stream("GET", echo_server.url):
            pass
    assert echo_server.accepted == 0


# --------------------------------------------------------------------------
# Limits and stats
# --------------------------------------------------------------------------


def test_stats_per_origin_with_two_servers(no_socket_leak):
    with ScriptedServer(keep_alive()) as one, ScriptedServer(keep_alive(b"x" * 1000)) as two:
        with httpool.Pool() as pool:
            for _ in range(3):
                pool.get(one.url + "/a")
            with pool.stream("GET", two.url) as response:  # released unread: drained
                pass
            pool.get(two.url)
            stats = assert_consistent(pool)
            assert set(stats.origins) == {one.url, two.url}
            first, second = stats.origins[one.url], stats.origins[two.url]
            assert isinstance(first, httpool.OriginStats)
            assert (first.opened, first.requests, first.reused, first.drained, first.idle) == (1, 3, 2, 0, 1)
            assert (second.opened, second.requests, second.reused, second.drained) == (1, 2, 1, 1)
            assert second.drained_bytes == 1000
            assert (stats.opened, stats.requests, stats.reused, stats.idle, stats.in_use) == (2, 5, 3, 2, 0)
            assert (stats.waiting, stats.retried, stats.timeouts) == (0, 0, 0)
            assert str(stats).startswith("opened=2 requests=5 reused=3")
        stats = pool.stats()
        assert stats.closed.pool_close == 2
        assert stats.origins[one.url].closed.pool_close == 1
        assert response.status_code == 200


def test_idle_timeout_expires_idle_connections(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(idle_timeout=0.05) as pool:
            assert pool.get(server.url).content == b"conn=0 req=1"
            assert pool.get(server.url).content == b"conn=0 req=2"  # within 50 ms: reused
            time.sleep(0.12)  # time passing is the behaviour under test
            assert pool.get(server.url).content == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.closed.idle_timeout, stats.closed.stale) == (2, 1, 0)
            # The pool closed it (the server saw the client go), not the server.
            assert server.wait_closed(1)
            assert server.connections[0].closed_by == "client"


def test_max_idle_per_host_closes_the_surplus_as_pool_full(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_idle_per_host=1) as pool:
            with pool.stream("GET", server.url) as first, pool.stream("GET", server.url) as second:
                assert first.read() == b"conn=0 req=1"
                assert second.read() == b"conn=1 req=1"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.idle, stats.closed.pool_full) == (2, 1, 1)
            assert server.wait_closed(1)


def test_max_idle_per_host_zero_keeps_nothing(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool(max_idle_per_host=0) as pool:
            pool.get(server.url)
            pool.get(server.url)
            stats = assert_consistent(pool)
            assert (stats.opened, stats.idle, stats.closed.pool_full) == (2, 0, 2)


def test_max_connections_is_a_limit_across_origins(no_socket_leak):
    with ScriptedServer(keep_alive()) as one, ScriptedServer(keep_alive()) as two:
        with httpool.Pool(max_connections=1, timeout=httpool.Timeout(pool=0.2)) as pool:
            with pool.stream("GET", one.url) as held:
                started = time.monotonic()
                with pytest.raises(httpool.PoolTimeout, match=r"max_connections=1\b") as info:
                    pool.get(two.url)
                assert 0.2 <= time.monotonic() - started < 0.5
                assert two.url in str(info.value)
                assert held.read() == b"conn=0 req=1"
            # Now idle, the connection to `one` is closed to make room for `two`.
            assert pool.get(two.url).content == b"conn=0 req=1"
            stats = assert_consistent(pool)
            assert stats.origins[one.url].closed.pool_full == 1
            assert stats.origins[two.url].timeouts == 1
            assert (stats.opened, stats.idle, stats.in_use) == (2, 1, 0)
            assert two.accepted == 1


def test_waiter_for_another_origin_is_served_when_a_connection_is_released(no_socket_leak):
    """max_connections=1: a caller for origin two waits while origin one holds
    the only slot, and gets it (one's connection closed as pool_full) as soon
    as it is released."""
    with ScriptedServer(keep_alive()) as one, ScriptedServer(keep_alive()) as two:
        with httpool.Pool(max_connections=1) as pool:
            results = []
            with pool.stream("GET", one.url) as held:
                thread = threading.Thread(target=lambda: results.append(pool.get(two.url).content))
                thread.start()
                deadline = time.monotonic() + 5
                while pool.stats().waiting < 1 and time.monotonic() < deadline:
                    time.sleep(0.001)  # no event for "queued": poll the counter
                assert pool.stats().waiting == 1
                held.read()
            thread.join(5)
            assert results == [b"conn=0 req=1"]
            stats = assert_consistent(pool)
            assert stats.origins[one.url].closed.pool_full == 1


# --------------------------------------------------------------------------
# Garbage collection, logging, repr, close
# --------------------------------------------------------------------------


def _drop_unclosed_stream(pool: httpool.Pool, url: str) -> float:
    """Enter pool.stream() and then drop everything without closing; returns
    how long the garbage collection took."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = pool.stream("GET", url)
        response = manager.__enter__()
        assert response.status_code == 200
        started = time.monotonic()
        del response, manager
        gc.collect()
        elapsed = time.monotonic() - started
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    return elapsed


def test_collected_response_with_complete_body_is_reused(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with httpool.Pool() as pool:
            _drop_unclosed_stream(pool, server.url)
            assert pool.get(server.url).content == b"conn=0 req=2"
            stats = assert_consistent(pool)
            assert (stats.opened, stats.reused, stats.closed.total) == (1, 1, 0)


def test_collected_response_with_unread_body_is_closed_as_abandoned(no_socket_leak):
    """The body never comes (headers, then silence).  Dropping the response
    must release its connection at once, closed as `abandoned`: a finalizer
    must not block draining until the read timeout."""
    with ScriptedServer(headers_then_stall) as server:
        with httpool.Pool(timeout=httpool.Timeout(read=1.0)) as pool:
            elapsed = _drop_unclosed_stream(pool, server.url)
            stats = assert_consistent(pool)
            assert (stats.in_use, stats.idle) == (0, 0)
            assert stats.closed.abandoned == 1, stats
            assert server.wait_closed(1)
    assert elapsed < 0.3, f"garbage collection blocked for {elapsed:.2f} s"


def _stale_scenario(pool: httpool.Pool, server: ScriptedServer) -> None:
    """opened, reused + drained, then stale + opened, then pool_close."""
    pool.get(server.url)  # opened
    with pool.stream("GET", server.url):  # reused; released unread: drained
        pass
    assert server.wait_closed(1)  # the server closes the idle connection
    pool.get(server.url)  # found stale, closed; a new one opened
    pool.close()


def test_debug_log_says_what_the_pool_does(no_socket_leak, caplog):
    caplog.set_level(logging.DEBUG, logger="httpool")
    with ScriptedServer(close_idle_after(300)) as server:
        pool = httpool.Pool()
        _stale_scenario(pool, server)
        stats = assert_consistent(pool)
        assert (stats.opened, stats.reused, stats.drained, stats.closed.stale) == (2, 1, 1, 1)
    records = [r for r in caplog.records if r.name == "httpool"]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    messages = [r.getMessage() for r in records]
    text = "\n".join(messages)
    origin = server.url
    assert all(m.startswith(origin) for m in messages), text
    assert sum("opened connection" in m for m in messages) == 2, text
    assert sum("reusing connection" in m for m in messages) == 1, text
    assert re.search(r"drained \d+ unread body bytes", text), text
    assert re.search(r"is stale: the server closed it", text), text
    assert "closed connection (stale)" in text
    assert "closed connection (pool_close)" in text


def test_debug_log_reports_the_stale_connection_before_its_replacement(no_socket_leak, caplog):
    """The log tells the story in order: the idle connection was found stale
    and closed, *then* a new one was opened (the new socket often reuses the
    old fd number, so the opposite order reads as if the new one was stale)."""
    caplog.set_level(logging.DEBUG, logger="httpool")
    with ScriptedServer(close_idle_after(300)) as server:
        _stale_scenario(httpool.Pool(), server)
    messages = [r.getMessage() for r in caplog.records if r.name == "httpool"]
    stale = next(i for i, m in enumerate(messages) if "is stale" in m)
    closed = messages.index(f"{server.url}: closed connection (stale)")
    second_open = [i for i, m in enumerate(messages) if "opened connection" in m][1]
    assert stale < closed < second_open, "\n".join(messages)


def test_no_debug_records_when_logging_is_off(echo_server, caplog):
    caplog.set_level(logging.INFO, logger="httpool")
    with httpool.Pool() as pool:
        pool.get(echo_server.url)
        pool.get(echo_server.url)
    assert [r for r in caplog.records if r.name == "httpool"] == []


def test_repr_states_the_pool_in_words(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        pool = httpool.Pool(max_connections=7)
        assert repr(pool) == "<Pool open: 0 of 7 connections open, 0 idle, 0 waiting>"
        pool.get(server.url)
        assert repr(pool) == "<Pool open: 1 of 7 connections open, 1 idle, 0 waiting>"
        with pool.stream("GET", server.url):
            assert repr(pool) == "<Pool open: 1 of 7 connections open, 0 idle, 0 waiting>"
        pool.close()
        assert repr(pool) == "<Pool closed: 0 of 7 connections open, 0 idle, 0 waiting>"


def test_context_manager_closes_idle_connections(no_socket_leak):
    with ScriptedServer(keep_alive()) as one, ScriptedServer(keep_alive()) as two:
        with httpool.Pool() as pool:
            assert pool.__enter__() is pool
            pool.get(one.url)
            pool.get(two.url)
            assert pool.stats().idle == 2
        stats = assert_consistent(pool)
        assert (stats.idle, stats.in_use, stats.closed.pool_close) == (0, 0, 2)
        assert one.wait_closed(1) and two.wait_closed(1)
        assert one.connections[0].closed_by == two.connections[0].closed_by == "client"
        pool.close()  # closing twice is harmless
        assert pool.stats().closed.pool_close == 2


def test_pool_dropped_without_close_leaks_no_socket(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pool = httpool.Pool()
            pool.get(server.url)
            with pool.stream("GET", server.url + "/second"):
                pool.get(server.url + "/third")
            assert pool.stats().idle == 2
            del pool
            gc.collect()
        assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
        assert server.wait_closed(2)


def test_connection_in_use_at_close_is_closed_when_released(no_socket_leak):
    with ScriptedServer(keep_alive()) as server:
        pool = httpool.Pool()
        with pool.stream("GET", server.url) as response:
            pool.close()
            assert response.read() == b"conn=0 req=1"  # still readable
        stats = assert_consistent(pool)
        assert (stats.idle, stats.in_use, stats.closed.pool_close) == (0, 0, 1)
