"""What requests and httpx users expect of a response beyond its body:
links, a settable encoding, cookies, is_redirect, history."""

from __future__ import annotations

import pytest

import httpool

from support.servers import ScriptedServer, routes

LINKS = ('<https://api.example/items?page=2>; rel="next", <items?page=9>; rel=last; '
         'title="the, last"')


def fixed(status: int, body: bytes, headers):
    return lambda request: (status, body, headers)


def test_links_are_parsed_by_rel_and_resolved(no_socket_leak):
    with ScriptedServer(routes({"/items": fixed(200, b"[]", {"Link": LINKS})})) as server:
        with httpool.Pool() as pool:
            links = pool.get(server.url + "/items").links
            assert links == {
                "next": {"url": "https://api.example/items?page=2", "rel": "next"},
                "last": {"url": server.url + "/items?page=9", "rel": "last", "title": "the, last"},
            }
            assert pool.get(server.url + "/echo").links == {}


def test_encoding_is_read_from_content_type_and_can_be_set(no_socket_leak):
    latin = "café".encode("latin-1")
    with ScriptedServer(routes({
        "/latin": fixed(200, latin, {"Content-Type": "text/plain; charset=ISO-8859-1"}),
        "/bare": fixed(200, latin, {"Content-Type": "text/plain"}),
    })) as server:
        with httpool.Pool() as pool:
            response = pool.get(server.url + "/latin")
            assert (response.encoding, response.text) == ("iso8859-1", "café")
            bare = pool.get(server.url + "/bare")
            assert bare.encoding == "utf-8" and bare.text == "caf\ufffd"
            bare.encoding = "latin-1"
            assert (bare.encoding, bare.text) == ("iso8859-1", "café")
            with pytest.raises(LookupError):
                bare.encoding = "no-such-codec"


def test_cookies_is_redirect_and_history_of_a_plain_response(no_socket_leak):
    with ScriptedServer(routes({
        "/moved": fixed(301, b"", [("Location", "/there"), ("Set-Cookie", "a=1; Path=/"),
                                   ("Set-Cookie", "b=two")]),
        "/no-location": fixed(302, b"", {}),
    })) as server:
        with httpool.Pool(cookies=False) as pool:
            moved = pool.get(server.url + "/moved")
            assert moved.is_redirect and moved.history == []
            assert moved.cookies == {"a": "1", "b": "two"}
            assert not pool.get(server.url + "/no-location").is_redirect
            assert pool.get(server.url + "/no-location", follow_redirects=True).status_code == 302
