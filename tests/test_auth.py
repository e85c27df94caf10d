"""auth= through the pool: Basic from a tuple or from the URL's userinfo, a
callable, Digest, on the pool or per request, through every API; against
httpbin under gunicorn and the project's servers. (The schemes themselves:
tests/test_auth_schemes.py.)"""

from __future__ import annotations

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call
from support.servers import ScriptedServer, routes


def sent(response: httpool.Response) -> dict:
    doc = response.json()
    doc["headers"] = {name.lower(): value for name, value in doc["headers"]}
    return doc


@pytest.mark.parametrize("api", APIS)
def test_basic_auth_from_a_tuple_the_url_or_the_pool(httpbin, api, no_socket_leak):
    host = httpbin.removeprefix("http://")
    with httpool.Pool() as pool:
        url = f"{httpbin}/basic-auth/user/pa55"
        assert call(pool, api, "GET", url).status_code == 401
        assert call(pool, api, "GET", url, auth=("user", "pa55")).json()["authenticated"]
        assert call(pool, api, "GET", f"http://user:pa55@{host}/basic-auth/user/pa55").status_code == 200
        # Percent-encoded userinfo is decoded before it is encoded for Basic.
        assert call(pool, api, "GET", f"http://user:p%40ss@{host}/basic-auth/user/p@ss").status_code == 200
        with pytest.raises(ValueError, match="cannot contain ':'"):
            call(pool, api, "GET", f"http://us%3Aer:pw@{host}/basic-auth/us:er/pw")
        assert_consistent(pool)
    with httpool.Pool(auth=("user", "pa55")) as pool:
        assert call(pool, api, "GET", f"{httpbin}/basic-auth/user/pa55").status_code == 200
        assert call(pool, api, "GET", f"{httpbin}/basic-auth/user/pa55",
                    auth=("user", "wrong")).status_code == 401


def test_userinfo_never_reaches_the_request_line_or_host(no_socket_leak):
    with ScriptedServer(routes({})) as server:
        with httpool.Pool() as pool:
            doc = sent(pool.get(f"http://al%40ice:s3cret@127.0.0.1:{server.port}/echo?q=1"))
            assert doc["target"] == "/echo?q=1"
            assert doc["headers"]["host"] == f"127.0.0.1:{server.port}"
            assert doc["headers"]["authorization"] == "Basic YWxAaWNlOnMzY3JldA=="   # al@ice:s3cret
            # An explicit auth= wins over the URL's.
            doc = sent(pool.get(f"http://a:b@127.0.0.1:{server.port}/echo", auth=("c", "d")))
            assert doc["headers"]["authorization"] == "Basic Yzpk"


@pytest.mark.parametrize("api", APIS)
def test_a_callable_sets_headers_on_each_request(api, no_socket_leak):
    calls = []

    def bearer(request: httpool.Request) -> None:
        calls.append((request.method, request.url))
        request.headers["Authorization"] = f"Bearer token-{len(calls)}"

    with ScriptedServer(routes({})) as server:
        with httpool.Pool() as pool:
            doc = sent(call(pool, api, "POST", server.url + "/echo", params={"x": "1"},
                            json={"a": 1}, auth=bearer))
            assert doc["headers"]["authorization"] == "Bearer token-1"
            assert calls == [("POST", server.url + "/echo?x=1")]
            assert doc["body"] == '{"a":1}'


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_auth_answers_the_challenge(httpbin, api, algorithm, no_socket_leak):
    auth = httpool.DigestAuth("user", "passwd")
    with httpool.Pool() as pool:
        response = call(pool, api, "GET", f"{httpbin}/digest-auth/auth/user/passwd/{algorithm}",
                        auth=auth)
        assert response.status_code == 200, response
        assert response.json() == {"authenticated": True, "user": "user"}
        assert [r.status_code for r in response.history] == [401]
        wrong = call(pool, api, "GET", f"{httpbin}/digest-auth/auth/user/passwd/{algorithm}",
                     auth=httpool.DigestAuth("user", "nope"))
        assert wrong.status_code == 401
        assert_consistent(pool)


def test_digest_on_the_pool_sends_a_body_again_after_the_challenge(tmp_path, no_socket_leak):
    bodies = []

    def challenge(request):
        bodies.append(request.body)
        if request.header("Authorization") is None:
            return 401, b"who?", {"WWW-Authenticate": 'Digest realm="r", nonce="n1", qop="auth"'}
        return 200, request.header("Authorization").encode(), {}

    path = tmp_path / "upload.bin"
    path.write_bytes(b"y" * 70_000)
    with ScriptedServer(routes({"/digest": challenge})) as server:
        with httpool.Pool(auth=httpool.DigestAuth("user", "passwd")) as pool:
            with open(path, "rb") as upload:
                response = pool.post(server.url + "/digest", body=upload)
            assert response.status_code == 200
            assert response.text.startswith('Digest username="user", realm="r", nonce="n1"')
            assert [r.status_code for r in response.history] == [401]
            assert bodies == [b"y" * 70_000] * 2
            with pytest.raises(httpool.BodyNotRepeatable, match="cannot be sent again"):
                pool.post(server.url + "/digest", body=iter([b"once"]),
                          auth=httpool.DigestAuth("user", "passwd"))   # no challenge cached
            assert assert_consistent(pool).opened == 1


def test_bad_auth_raises_before_any_io():
    with pytest.raises(TypeError):
        httpool.Pool(auth="user:pass")
    with httpool.Pool() as pool:
        with pytest.raises(TypeError):
            pool.get("http://127.0.0.1:1/", auth=42)
        with pytest.raises(TypeError):
            pool.request_many([("GET", "http://127.0.0.1:1/", {"auth": 42})])
        with pytest.raises(TypeError):
            list(pool.iter_many([httpool.Request("GET", "http://127.0.0.1:1/", auth=42)]))
        with pytest.raises(TypeError):
            pool.stream("GET", "http://127.0.0.1:1/", auth=42).__enter__()
        assert pool.stats().opened == 0
