"""Cookies: the pool's jar (http.cookiejar's policy decides what goes where),
per-request cookies, Set-Cookie stored from every response including
redirects, through every API; against httpbin and the project's servers."""

from __future__ import annotations

import http.cookiejar

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call
from support.servers import ScriptedServer, routes


def sent_cookie(response: httpool.Response) -> str | None:
    return dict((name.lower(), value) for name, value in response.json()["headers"]).get("cookie")


@pytest.mark.parametrize("api", APIS)
def test_set_cookie_is_stored_and_sent_back(httpbin, api, no_socket_leak):
    with httpool.Pool() as pool:
        assert not pool.uses_policies   # no cookie yet: plain requests take the fast path
        response = call(pool, api, "GET", f"{httpbin}/cookies/set?a=1&b=2")
        assert response.status_code == 302 and response.cookies == {"a": "1", "b": "2"}
        assert pool.uses_policies
        assert {c.name: c.value for c in pool.cookies} == {"a": "1", "b": "2"}
        assert call(pool, api, "GET", f"{httpbin}/cookies").json() == {
            "cookies": {"a": "1", "b": "2"}}
        call(pool, api, "GET", f"{httpbin}/cookies/delete?a")
        assert call(pool, api, "GET", f"{httpbin}/cookies").json() == {"cookies": {"b": "2"}}
        assert_consistent(pool)


@pytest.mark.parametrize("api", APIS)
def test_cookies_set_by_a_redirect_reach_its_target(httpbin, api, no_socket_leak):
    with httpool.Pool(follow_redirects=True) as pool:
        response = call(pool, api, "GET", f"{httpbin}/cookies/set?session=abc")
        assert response.url == f"{httpbin}/cookies"
        assert response.json() == {"cookies": {"session": "abc"}}
        assert [r.status_code for r in response.history] == [302]


@pytest.mark.parametrize("api", APIS)
def test_per_request_cookies_are_sent_with_the_jars_and_not_kept(httpbin, api, no_socket_leak):
    with httpool.Pool(cookies={"pool": "1"}) as pool:
        response = call(pool, api, "GET", f"{httpbin}/cookies", cookies={"mine": "2", "pool": "3"})
        assert response.json() == {"cookies": {"pool": "3", "mine": "2"}}
        assert call(pool, api, "GET", f"{httpbin}/cookies").json() == {"cookies": {"pool": "1"}}


def test_cookies_false_keeps_no_jar(httpbin, no_socket_leak):
    with httpool.Pool(cookies=False) as pool:
        assert pool.cookies is None
        pool.get(f"{httpbin}/cookies/set?a=1")
        assert pool.get(f"{httpbin}/cookies").json() == {"cookies": {}}
        assert not pool.uses_policies


def test_a_caller_jar_is_shared_and_a_caller_cookie_header_wins(httpbin, no_socket_leak):
    jar = http.cookiejar.CookieJar()
    with httpool.Pool(cookies=jar) as pool:
        assert pool.cookies is jar
        pool.get(f"{httpbin}/cookies/set?kept=yes")
        assert [c.name for c in jar] == ["kept"]
        response = pool.get(f"{httpbin}/cookies", headers={"Cookie": "own=1"})
        assert response.json() == {"cookies": {"own": "1"}}


def test_the_jar_keeps_cookies_to_their_domain_and_path(no_socket_leak):
    def set_cookies(request):
        return 200, b"set", [("Set-Cookie", "scoped=1; Path=/app"), ("Set-Cookie", "all=2; Path=/"),
                             ("Set-Cookie", "here=3")]   # no Path: the request's directory, /app

    with ScriptedServer(routes({"/app/login": set_cookies})) as server:
        with httpool.Pool() as pool:
            pool.get(server.url + "/app/login")
            assert sent_cookie(pool.get(server.url + "/app/page")) == "scoped=1; here=3; all=2"
            assert sent_cookie(pool.get(server.url + "/other")) == "all=2"
            # localhost is another host: 127.0.0.1's cookies stay home.
            assert sent_cookie(pool.get(f"http://localhost:{server.port}/app/page")) is None


def test_a_batch_stores_cookies_for_the_requests_after_it(no_socket_leak):
    def set_cookie(request):
        return 200, b"set", {"Set-Cookie": "token=t1"}

    with ScriptedServer(routes({"/login": set_cookie})) as server:
        with httpool.Pool() as pool:
            pool.request_many([("GET", server.url + "/login")])
            responses = pool.request_many([("GET", f"{server.url}/echo/{n}") for n in range(5)])
            assert {sent_cookie(r) for r in responses} == {"token=t1"}


def test_bad_cookie_arguments_raise_before_any_io():
    with pytest.raises(TypeError, match="cookies must be a dict"):
        httpool.Pool(cookies=[("a", "b")])
    with httpool.Pool() as pool:
        with pytest.raises(TypeError, match="cookie names and values must be str"):
            pool.get("http://127.0.0.1:1/", cookies={"a": 1})
        assert pool.stats().opened == 0
