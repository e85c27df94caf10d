"""Redirects: followed through every API (a batch follows them inside the
batch), with RFC 9110's method and body rules, credentials kept to their
origin, one total deadline over the chain, and every hop's connection
reused; against the project's servers and httpbin under gunicorn."""

from __future__ import annotations

import io
import json
import time

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import ScriptedServer, routes


def moved(status: int, location: str):
    return lambda request: (status, b"moved along", {"Location": location})


def echoed(response: httpool.Response) -> dict:
    doc = response.json()
    doc["headers"] = {name.lower(): value for name, value in doc["headers"]}
    return doc


# ------------------------------------------------------------ method and body

# status -> (method and body sent, method and body that follow)
RULES = [
    (301, "GET", "GET"), (301, "POST", "GET"),
    (302, "GET", "GET"), (302, "POST", "GET"), (302, "PUT", "GET"),
    (303, "GET", "GET"), (303, "POST", "GET"), (303, "HEAD", "HEAD"),
    (307, "GET", "GET"), (307, "POST", "POST"), (307, "PUT", "PUT"),
    (308, "GET", "GET"), (308, "POST", "POST"),
]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("status", "method", "follows"), RULES)
def test_each_status_keeps_or_drops_the_method_and_body(api, status, method, follows,
                                                        no_socket_leak):
    body = None if method in ("GET", "HEAD") else b"payload"
    with ScriptedServer(routes({"/start": moved(status, "/final")})) as server:
        with httpool.Pool() as pool:
            response = call(pool, api, method, server.url + "/start", body=body,
                            headers={"Content-Type": "text/plain"}, follow_redirects=True)
            assert response.status_code == 200, response
            assert response.url == server.url + "/final"
            assert [r.status_code for r in response.history] == [status]
            assert response.history[0].url == server.url + "/start"
            if follows != "HEAD":
                doc = echoed(response)
                assert doc["method"] == follows
                kept = follows == method and body is not None
                assert doc["body"] == ("payload" if kept else "")
                assert ("content-type" in doc["headers"]) == (kept or body is None)
            # The redirect's body was read, so the one connection carried both hops.
            assert assert_consistent(pool).opened == 1
        assert server.accepted == 1


@pytest.mark.parametrize("api", APIS)
def test_redirects_are_not_followed_unless_asked(api, no_socket_leak):
    with ScriptedServer(routes({"/start": moved(302, "/final")})) as server:
        with httpool.Pool() as pool:
            response = call(pool, api, "GET", server.url + "/start")
            assert response.status_code == 302 and response.history == []
            assert response.is_redirect
            assert call(pool, api, "GET", server.url + "/start",
                        follow_redirects=True).status_code == 200
        with httpool.Pool(follow_redirects=True) as pool:
            assert call(pool, api, "GET", server.url + "/start").status_code == 200
            assert call(pool, api, "GET", server.url + "/start",
                        follow_redirects=False).status_code == 302
            assert_consistent(pool)


def test_relative_absolute_and_fragment_locations(no_socket_leak):
    with ScriptedServer(routes({
        "/dir/start": moved(302, "next?x=1"),
        "/dir/next": lambda r: (302, b"", {"Location": f"http://127.0.0.1:{server.port}/abs"}),
        "/abs": moved(301, "/final#frag"),
    })) as server:
        with httpool.Pool(follow_redirects=True) as pool:
            response = pool.get(server.url + "/dir/start")
            assert [r.url for r in response.history] == [
                server.url + "/dir/start", server.url + "/dir/next?x=1", server.url + "/abs"]
            assert response.url == server.url + "/final#frag"
            assert echoed(response)["target"] == "/final"   # a fragment is never sent


def test_a_location_with_spaces_is_percent_encoded_and_other_schemes_are_refused(no_socket_leak):
    with ScriptedServer(routes({"/spaces": moved(302, "/a b/ü"),
                                "/ftp": moved(302, "ftp://127.0.0.1/file")})) as server:
        with httpool.Pool(follow_redirects=True) as pool:
            assert echoed(pool.get(server.url + "/spaces"))["target"] == "/a%20b/%C3%BC"
            with pytest.raises(httpool.RedirectError, match=r"ftp://127\.0\.0\.1/file.*not an http"):
                pool.get(server.url + "/ftp")
            assert assert_consistent(pool).in_use == 0


# ------------------------------------------------------------- limits, loops

@pytest.mark.parametrize("api", APIS)
def test_a_redirect_loop_stops_at_max_redirects(api, no_socket_leak):
    with ScriptedServer(routes({"/loop": moved(302, "/loop")})) as server:
        with httpool.Pool(follow_redirects=True, max_redirects=5) as pool:
            error = expect(call(pool, api, "GET", server.url + "/loop"), httpool.TooManyRedirects,
                           rf"GET {server.url}/loop: more than max_redirects=5 redirects")
            assert isinstance(error, httpool.RedirectError)
            assert server.requests == 6
            stats = assert_consistent(pool)
            assert (stats.opened, stats.in_use) == (1, 0)


def test_max_redirects_zero_refuses_the_first_redirect(no_socket_leak):
    with ScriptedServer(routes({"/start": moved(302, "/final")})) as server:
        with httpool.Pool(follow_redirects=True, max_redirects=0) as pool:
            with pytest.raises(httpool.TooManyRedirects):
                pool.get(server.url + "/start")


@pytest.mark.parametrize("api", APIS)
def test_the_total_deadline_spans_the_whole_chain(api, no_socket_leak):
    def slow_hop(request):
        time.sleep(0.25)   # the server's own pace: each hop takes 0.25 s
        hop = int(request.target.rsplit("/", 1)[1])
        return 302, b"", {"Location": f"/hop/{hop + 1}"}

    table = {f"/hop/{n}": slow_hop for n in range(20)}
    with ScriptedServer(routes(table)) as server:
        with httpool.Pool(follow_redirects=True) as pool:
            started = time.monotonic()
            expect(call(pool, api, "GET", server.url + "/hop/0", timeout=1.0),
                   httpool.ReadTimeout, "total deadline of 1 s passed")
            elapsed = time.monotonic() - started
            assert 0.9 < elapsed < 2.0, elapsed   # not 1 s per hop
            assert 3 <= server.requests <= 5
            assert_consistent(pool)


# ------------------------------------------------------------- credentials

@pytest.mark.parametrize("api", APIS)
def test_a_change_of_origin_drops_credentials_set_by_the_caller(api, no_socket_leak):
    with ScriptedServer(routes({})) as other:
        with ScriptedServer(routes({"/away": moved(302, other.url + "/echo"),
                                    "/home": moved(307, "/echo")})) as server:
            with httpool.Pool(follow_redirects=True) as pool:
                headers = {"Authorization": "Bearer secret", "Cookie": "session=1",
                           "X-Trace": "kept"}
                away = echoed(call(pool, api, "GET", server.url + "/away", headers=headers,
                                   cookies={"c": "2"}))
                assert "authorization" not in away["headers"]
                assert "cookie" not in away["headers"]
                assert away["headers"]["x-trace"] == "kept"
                assert away["headers"]["host"] == f"127.0.0.1:{other.port}"
                home = echoed(call(pool, api, "GET", server.url + "/home", headers=headers))
                assert home["headers"]["authorization"] == "Bearer secret"
                assert home["headers"]["cookie"] == "session=1"
                assert_consistent(pool)


def test_auth_stays_with_its_origin_across_a_redirect(no_socket_leak):
    with ScriptedServer(routes({})) as other:
        with ScriptedServer(routes({"/away": moved(302, other.url + "/echo"),
                                    "/home": moved(302, "/echo")})) as server:
            with httpool.Pool(follow_redirects=True, auth=("user", "pass")) as pool:
                assert "authorization" in echoed(pool.get(server.url + "/home"))["headers"]
                assert "authorization" not in echoed(pool.get(server.url + "/away"))["headers"]
                assert "authorization" not in echoed(
                    pool.get(server.url + "/away", auth=("a", "b")))["headers"]


def test_https_to_http_is_refused_unless_allowed(certs, no_socket_leak):
    with ScriptedServer(routes({})) as plain:
        with ScriptedServer(routes({"/down": moved(302, plain.url + "/echo")}),
                            tls=certs.server_context()) as secure:
            with httpool.Pool(verify=certs.ca_path, follow_redirects=True) as pool:
                with pytest.raises(httpool.RedirectError, match="leaves https for http"):
                    pool.get(secure.url + "/down")
                assert assert_consistent(pool).in_use == 0
            with httpool.Pool(verify=certs.ca_path, follow_redirects=True,
                              allow_https_downgrade=True) as pool:
                response = pool.get(secure.url + "/down")
                assert response.url == plain.url + "/echo"
                assert [r.url for r in response.history] == [secure.url + "/down"]


# ------------------------------------------------------------- bodies sent again

def test_307_sends_a_seekable_file_again_and_refuses_a_generator(tmp_path, no_socket_leak):
    path = tmp_path / "upload.bin"
    path.write_bytes(b"x" * 100_000)
    with ScriptedServer(routes({"/again": moved(307, "/echo")})) as server:
        with httpool.Pool(follow_redirects=True) as pool:
            with open(path, "rb") as upload:
                doc = echoed(pool.post(server.url + "/again", body=upload))
            assert doc["body"] == "x" * 100_000
            assert doc["headers"]["content-length"] == "100000"
            with pytest.raises(httpool.BodyNotRepeatable, match="cannot be sent again"):
                pool.post(server.url + "/again", body=iter([b"one", b"two"]))
            doc = echoed(pool.post(server.url + "/again", files={"f": io.BytesIO(b"data")}))
            assert doc["body"].count("\r\n\r\ndata\r\n") == 1   # the file's content, once
            assert doc["headers"]["content-type"].startswith("multipart/form-data; boundary=")
            assert assert_consistent(pool).in_use == 0


# ------------------------------------------------------------- by hand, batches

def test_next_request_follows_a_redirect_by_hand(no_socket_leak):
    with ScriptedServer(routes({"/start": moved(308, "/final")})) as server:
        with httpool.Pool() as pool:
            response = pool.post(server.url + "/start", body=b"again",
                                 headers={"X-Mine": "1"})
            following = response.next_request
            assert isinstance(following, httpool.Request)
            assert (following.method, following.url) == ("POST", server.url + "/final")
            doc = echoed(pool.send(following))
            assert (doc["method"], doc["body"], doc["headers"]["x-mine"]) == ("POST", "again", "1")
            assert pool.get(server.url + "/final").next_request is None
            with pool.send(httpool.Request("GET", server.url + "/start", follow_redirects=True),
                           stream=True) as streamed:
                assert streamed.status_code == 200 and echoed(streamed)["target"] == "/final"


def test_a_batch_follows_redirects_inside_the_batch(no_socket_leak):
    table = {f"/r/{n}": moved(302, f"/final/{n}") for n in range(40)}
    with ScriptedServer(routes(table)) as server:
        with httpool.Pool(max_connections_per_host=4) as pool:
            items = [("GET", f"{server.url}/r/{n}", {"follow_redirects": True}) for n in range(40)]
            responses = pool.request_many(items, concurrency=8)
            assert [echoed(r)["target"] for r in responses] == [f"/final/{n}" for n in range(40)]
            assert all(len(r.history) == 1 for r in responses)
            assert [r.index for r in responses] == list(range(40))
            stats = assert_consistent(pool)
            assert stats.opened <= 4 and stats.in_use == 0


# ------------------------------------------------------------- httpbin

@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", ["redirect", "relative-redirect", "absolute-redirect"])
def test_httpbin_redirect_chains(httpbin, api, kind, no_socket_leak):
    with httpool.Pool(follow_redirects=True) as pool:
        response = call(pool, api, "GET", f"{httpbin}/{kind}/3")
        assert response.status_code == 200
        assert response.url == f"{httpbin}/get"
        assert len(response.history) == 3
        assert all(r.status_code == 302 for r in response.history)
        assert_consistent(pool)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_httpbin_redirect_to_each_status_after_a_post(httpbin, status, no_socket_leak):
    with httpool.Pool(follow_redirects=True) as pool:
        response = pool.post(f"{httpbin}/redirect-to", params={"url": "/anything",
                                                                "status_code": status},
                             data={"field": "value"})
        doc = response.json()
        if status in (307, 308):
            assert (doc["method"], doc["form"]) == ("POST", {"field": "value"})
        else:
            assert (doc["method"], doc["form"], doc["data"]) == ("GET", {}, "")
        assert json.loads(json.dumps(doc["args"])) == {}
        assert_consistent(pool)
