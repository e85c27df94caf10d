"""httpool.policies.auth: Basic, callables, auth_from, and Digest.

The unit tests drive each scheme's flow() by hand with stand-in responses:
Basic against RFC 7617's examples, Digest against RFC 7616's worked examples
(section 3.9, with erratum 4897 for 3.9.2), RFC 2069's (as its erratum
corrects it) and RFC 2617's, with the cnonce fixed by patching
``auth._client_nonce``. The last tests run the flows against httpbin under
gunicorn, with a small loop standing in for the request flow (Pool takes no
auth= yet); that loop forwards Set-Cookie by hand, which only the stale-nonce
tests need (httpbin keeps its stale_after countdown in a cookie).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time

import pytest

import httpool
from httpool import Headers, ProtocolError, RemoteProtocolError, Request
from httpool._models import Auth
from httpool.policies import auth as auth_module
from httpool.policies.auth import BasicAuth, DigestAuth, FunctionAuth, auth_from

# RFC 7616 section 3.9.1
RFC_URL = "http://www.example.org/dir/index.html"
RFC_CHALLENGE = ('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={}, '
                 'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
                 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


class StandIn:
    """What a flow reads of an httpool.Response: its status and headers."""

    def __init__(self, status_code: int, headers: list[tuple[str, str]] | None = None) -> None:
        self.status_code = status_code
        self.headers = Headers(headers)


def challenged(*fields: str) -> StandIn:
    """A 401 with one WWW-Authenticate field per argument."""
    return StandIn(401, [("WWW-Authenticate", field) for field in fields])


def answer(auth: Auth, *fields: str, url: str = "http://example.org/", **request: object) -> str:
    """The Authorization auth sends after a 401 with these WWW-Authenticate fields."""
    flow = auth.flow(Request("GET", url, **request))
    assert "Authorization" not in next(flow).headers
    return flow.send(challenged(*fields)).headers["Authorization"]


def fields_of(authorization: str) -> dict[str, str]:
    """The parameters of a Digest Authorization value, as written (quotes kept)."""
    assert authorization.startswith("Digest ")
    pairs = re.findall(r'([\w*]+)=("(?:[^"\\]|\\.)*"|[^,]+)(?:, |$)', authorization[len("Digest "):])
    return dict(pairs)


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


@pytest.fixture
def fixed_cnonce(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(auth_module, "_client_nonce", lambda: RFC_CNONCE)
    return RFC_CNONCE


# --- Basic (RFC 7617) ---

def test_basic_header_is_base64_of_user_colon_password() -> None:
    request = Request("GET", "http://example.org/")
    BasicAuth("Aladdin", "open sesame").apply(request)
    assert request.headers["Authorization"] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="   # RFC 7617 section 2


def test_basic_encodes_str_credentials_in_utf8() -> None:
    request = Request("GET", "http://example.org/")
    BasicAuth("test", "123\u00a3").apply(request)
    assert request.headers["Authorization"] == "Basic dGVzdDoxMjPCow=="   # RFC 7617 section 2.1


def test_basic_sends_bytes_credentials_as_given() -> None:
    request = Request("GET", "http://example.org/")
    BasicAuth(b"test", b"123\xa3").apply(request)   # the pound sign in Latin-1
    assert request.headers["Authorization"] == "Basic dGVzdDoxMjOj"


def test_basic_refuses_a_colon_in_the_username() -> None:
    with pytest.raises(ValueError, match="cannot contain ':'"):
        BasicAuth("a:b", "secret")


def test_basic_refuses_credentials_that_are_not_text() -> None:
    with pytest.raises(TypeError, match="password must be str or bytes, not int"):
        BasicAuth("user", 1234)  # type: ignore[arg-type]


def test_basic_flow_sends_the_request_once() -> None:
    flow = BasicAuth("user", "pass").flow(Request("GET", "http://example.org/"))
    assert next(flow).headers["Authorization"] == "Basic dXNlcjpwYXNz"
    with pytest.raises(StopIteration):
        flow.send(challenged('Basic realm="x"'))


# --- FunctionAuth and auth_from ---

def test_function_auth_lets_the_callable_set_headers() -> None:
    def sign(request: Request) -> None:
        request.headers["Authorization"] = f"Bearer for {request.url}"

    flow = FunctionAuth(sign).flow(Request("GET", "http://example.org/a"))
    assert next(flow).headers["Authorization"] == "Bearer for http://example.org/a"
    with pytest.raises(StopIteration):
        flow.send(StandIn(200))


def test_function_auth_sends_the_request_the_callable_returns() -> None:
    replacement = Request("GET", "http://example.org/b", headers={"X-Signed": "1"})
    flow = FunctionAuth(lambda request: replacement).flow(Request("GET", "http://example.org/a"))
    assert next(flow) is replacement


def test_function_auth_ignores_other_return_values() -> None:
    original = Request("GET", "http://example.org/a")
    flow = FunctionAuth(lambda request: "not a request").flow(original)
    assert next(flow) is original


def test_auth_from_each_kind_of_source() -> None:
    digest = DigestAuth("user", "pass")
    assert auth_from(None) is None
    assert auth_from(digest) is digest
    basic = auth_from(("user", "pass"))
    assert isinstance(basic, BasicAuth)
    request = Request("GET", "http://example.org/")
    basic.apply(request)
    assert request.headers["Authorization"] == "Basic dXNlcjpwYXNz"
    assert isinstance(auth_from(lambda request: None), FunctionAuth)


@pytest.mark.parametrize(("source", "named"), [
    ("user:pass", "not str"),
    (("user", "s3cret", "extra"), "not a tuple of 3 items"),
    (42, "not int"),
])
def test_auth_from_names_an_unknown_source_but_not_its_values(source: object, named: str) -> None:
    with pytest.raises(TypeError, match=f"an httpool.Auth or a callable, {named}$") as caught:
        auth_from(source)  # type: ignore[arg-type]
    assert "s3cret" not in str(caught.value)


# --- Digest (RFC 7616): the answer ---

@pytest.mark.parametrize(("algorithm", "response"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_digest_matches_rfc_7616_worked_example(fixed_cnonce: str, algorithm: str, response: str) -> None:
    authorization = answer(DigestAuth("Mufasa", "Circle of Life"), RFC_CHALLENGE.format(algorithm),
                           url=RFC_URL)
    assert authorization == (
        'Digest username="Mufasa", realm="http-auth@example.org", '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", '
        f'response="{response}", algorithm={algorithm}, qop=auth, nc=00000001, '
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')


def test_digest_hashes_the_username_when_the_server_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    # RFC 7616 section 3.9.2, with erratum 4897's values (the RFC's were computed
    # with a draft SHA-512/256)
    monkeypatch.setattr(auth_module, "_client_nonce", lambda: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v")
    fields = fields_of(answer(
        DigestAuth("J\u00e4s\u00f8n Doe", "Secret, or not?"),
        'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, '
        'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
        'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
        url="http://api.example.org/doe.json"))
    assert fields["username"] == '"793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"'
    assert fields["response"] == '"3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"'
    assert fields["userhash"] == "true"
    assert fields["algorithm"] == "SHA-512-256"


def test_digest_sends_a_non_ascii_username_as_username_star() -> None:
    fields = fields_of(answer(DigestAuth("J\u00e4s\u00f8n Doe", "pw"), 'Digest realm="r", nonce="n", qop="auth"'))
    assert fields["username*"] == "UTF-8''J%C3%A4s%C3%B8n%20Doe"   # RFC 7616 section 3.9.2
    assert "username" not in fields


def test_digest_without_qop_answers_as_rfc_2069(fixed_cnonce: str) -> None:
    authorization = answer(DigestAuth("Mufasa", "CircleOfLife"),
                           'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                           'opaque="5ccc069c403ebaf9f0171e9517f40e41"', url=RFC_URL)
    # RFC 2069 section 2.4, as corrected by its erratum
    assert authorization == (
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'uri="/dir/index.html", response="1949323746fe6a43ef61f9606e7febea", algorithm=MD5, '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"')


def test_digest_matches_rfc_2617_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "_client_nonce", lambda: "0a4f113b")
    fields = fields_of(answer(DigestAuth("Mufasa", "Circle Of Life"),
                              'Digest realm="testrealm@host.com", qop="auth,auth-int", '
                              'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                              'opaque="5ccc069c403ebaf9f0171e9517f40e41"', url=RFC_URL))
    assert fields["response"] == '"6629fae49393a05397450978507c4ef1"'   # RFC 2617 section 3.5


def test_digest_session_algorithm_hashes_both_nonces_into_the_key(fixed_cnonce: str) -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess'))
    key = md5(md5(b"u:r:p") + b":n:" + fixed_cnonce.encode())   # RFC 7616 section 3.4.2
    expected = md5(key + b":n:00000001:" + fixed_cnonce.encode() + b":auth:" + md5(b"GET:/"))
    assert fields["response"] == f'"{expected.decode()}"'
    assert fields["algorithm"] == "MD5-sess"


def test_digest_auth_int_hashes_a_bytes_body(fixed_cnonce: str) -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop="auth-int"',
                              url="http://example.org/upload", body=b"payload"))
    a2 = b"GET:/upload:" + md5(b"payload")   # RFC 7616 section 3.4.3
    expected = md5(md5(b"u:r:p") + b":n:00000001:" + fixed_cnonce.encode() + b":auth-int:" + md5(a2))
    assert fields["qop"] == "auth-int"
    assert fields["response"] == f'"{expected.decode()}"'


def test_digest_auth_int_refuses_a_body_it_cannot_hash_up_front() -> None:
    with pytest.raises(ProtocolError, match=r"qop=auth-int only.*a body of type list_iterator"):
        answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop="auth-int"', body=iter([b"chunk"]))


def test_digest_prefers_qop_auth_to_auth_int() -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop="auth-int, auth"',
                              body=iter([b"not hashed"])))
    assert fields["qop"] == "auth"


def test_digest_uri_is_the_request_target() -> None:
    with_query = fields_of(answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop=auth',
                                  url="http://example.org:8080/a/b?x=1&y=2#fragment"))
    bare = fields_of(answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop=auth',
                            url="http://example.org"))
    assert with_query["uri"] == '"/a/b?x=1&y=2"'
    assert bare["uri"] == '"/"'


def test_digest_escapes_quotes_in_echoed_values() -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), r'Digest realm="say \"hi\" \\ bye", nonce="n", qop=auth'))
    assert fields["realm"] == r'"say \"hi\" \\ bye"'


def test_digest_hashes_the_unquoted_realm(fixed_cnonce: str) -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), r'Digest realm="a\"b", nonce="n", qop=auth'))
    expected = md5(md5(b'u:a"b:p') + b":n:00000001:" + fixed_cnonce.encode() + b":auth:" + md5(b"GET:/"))
    assert fields["response"] == f'"{expected.decode()}"'


# --- Digest: reading challenges ---

def test_digest_finds_its_challenge_among_several_in_one_field() -> None:
    authorization = answer(DigestAuth("u", "p"),
                           'Newauth realm="apps", type=1, title="Login, \\"apps\\"", Basic realm="simple", '
                           'Negotiate abc==, Digest realm="a, b", nonce="n1", qop="auth", Bearer')
    assert fields_of(authorization)["realm"] == '"a, b"'
    assert fields_of(authorization)["nonce"] == '"n1"'


def test_digest_finds_its_challenge_in_a_later_field() -> None:
    authorization = answer(DigestAuth("u", "p"), 'Basic realm="simple"', 'Bearer realm="api"',
                           'Digest realm="r", nonce="n2", qop=auth')
    assert fields_of(authorization)["nonce"] == '"n2"'


def test_digest_answers_the_first_challenge_it_supports() -> None:
    # RFC 7616 section 3.7: the server lists them by preference
    authorization = answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n1", qop=auth, algorithm=SHA3-256',
                           'Digest realm="r", nonce="n2", qop=auth, algorithm=SHA-256',
                           'Digest realm="r", nonce="n3", qop=auth, algorithm=MD5')
    assert fields_of(authorization)["nonce"] == '"n2"'
    assert fields_of(authorization)["algorithm"] == "SHA-256"


def test_digest_parameter_names_are_case_insensitive() -> None:
    fields = fields_of(answer(DigestAuth("u", "p"), 'DIGEST Realm="r", NONCE="n", Qop="auth", Algorithm=sha-256'))
    assert (fields["realm"], fields["nonce"], fields["algorithm"]) == ('"r"', '"n"', "sha-256")
    assert len(fields["response"]) == 2 + 64   # a SHA-256 digest, quoted


def test_digest_unsupported_algorithm_is_a_clear_error() -> None:
    with pytest.raises(ProtocolError, match=r"^http://example.org:80 asks for Digest authentication with "
                                            r"algorithm=SHA3-256, which httpool does not support") as caught:
        answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop=auth, algorithm=SHA3-256')
    assert not isinstance(caught.value, RemoteProtocolError)


def test_digest_unsupported_qop_is_a_clear_error() -> None:
    with pytest.raises(ProtocolError, match=r'with qop="auth-conf", which httpool does not support'):
        answer(DigestAuth("u", "p"), 'Digest realm="r", nonce="n", qop="auth-conf"')


@pytest.mark.parametrize(("challenge", "what"), [
    ('Digest realm="r", qop=auth', "it has no nonce"),
    ("Digest qop=auth", "it has no realm and no nonce"),
    ('Digest realm="r", nonce="n', "'nonce=\"n' is not a name=value parameter"),
    ('Digest realm="r", nonce="n", nonce="m"', "nonce is given twice"),
    ("Digest abc==", "'abc==' is not a name=value parameter"),
    ('Digest realm="r", nonce="n", algorithm=MD5-sess', "algorithm=MD5-sess needs qop"),
])
def test_digest_malformed_challenge_names_the_origin_and_the_fault(challenge: str, what: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        answer(DigestAuth("u", "p"), challenge, url="http://example.org:8080/x")
    assert str(caught.value) == f"http://example.org:8080 sent a malformed Digest challenge: {what}"


# --- Digest: the flow ---

def test_digest_flow_sends_plain_then_answers_401_then_stops() -> None:
    flow = DigestAuth("u", "p").flow(Request("GET", "http://example.org/"))
    first = next(flow)
    assert "Authorization" not in first.headers
    second = flow.send(challenged('Digest realm="r", nonce="n", qop=auth'))
    assert second.headers["Authorization"].startswith('Digest username="u", realm="r", nonce="n"')
    with pytest.raises(StopIteration):
        flow.send(StandIn(200))


@pytest.mark.parametrize("response", [
    StandIn(200),
    StandIn(401),
    challenged('Basic realm="r"'),
    StandIn(403, [("WWW-Authenticate", 'Digest realm="r", nonce="n", qop=auth')]),
], ids=["200", "401 without challenge", "401 with Basic only", "403 with Digest"])
def test_digest_flow_returns_what_is_not_a_digest_401(response: StandIn) -> None:
    flow = DigestAuth("u", "p").flow(Request("GET", "http://example.org/"))
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(response)


def test_digest_flow_returns_a_401_to_its_answer() -> None:
    flow = DigestAuth("u", "wrong").flow(Request("GET", "http://example.org/"))
    next(flow)
    flow.send(challenged('Digest realm="r", nonce="n1", qop=auth'))
    with pytest.raises(StopIteration):
        flow.send(challenged('Digest realm="r", nonce="n2", qop=auth'))


def test_digest_flow_answers_a_stale_nonce_once_more() -> None:
    flow = DigestAuth("u", "p").flow(Request("GET", "http://example.org/"))
    next(flow)
    flow.send(challenged('Digest realm="r", nonce="n1", qop=auth'))
    again = flow.send(challenged('Digest realm="r", nonce="n2", qop=auth, stale=TRUE'))
    fields = fields_of(again.headers["Authorization"])
    assert (fields["nonce"], fields["nc"]) == ('"n2"', "00000001")
    with pytest.raises(StopIteration):
        flow.send(challenged('Digest realm="r", nonce="n3", qop=auth, stale=true'))


def test_digest_answers_the_next_request_up_front_counting_the_nonce() -> None:
    auth = DigestAuth("u", "p")
    answer(auth, 'Digest realm="r", nonce="n", qop=auth', url="http://example.org/a")
    counts = []
    for _ in range(2):
        flow = auth.flow(Request("GET", "http://example.org/b"))
        fields = fields_of(next(flow).headers["Authorization"])
        counts.append(fields["nc"])
        assert (fields["nonce"], fields["uri"]) == ('"n"', '"/b"')
        with pytest.raises(StopIteration):
            flow.send(StandIn(200))
    assert counts == ["00000002", "00000003"]


def test_digest_keeps_challenges_apart_per_origin() -> None:
    auth = DigestAuth("u", "p")
    answer(auth, 'Digest realm="r", nonce="n", qop=auth', url="http://example.org/")
    assert "Authorization" not in next(auth.flow(Request("GET", "http://example.org:8080/"))).headers
    assert "Authorization" not in next(auth.flow(Request("GET", "https://example.org/"))).headers
    assert "Authorization" in next(auth.flow(Request("GET", "http://EXAMPLE.org:80/x"))).headers


def test_digest_restarts_the_count_for_a_new_nonce() -> None:
    auth = DigestAuth("u", "p")
    answer(auth, 'Digest realm="r", nonce="n1", qop=auth')
    flow = auth.flow(Request("GET", "http://example.org/"))
    assert fields_of(next(flow).headers["Authorization"])["nc"] == "00000002"
    renewed = flow.send(challenged('Digest realm="r", nonce="n2", qop=auth, stale=true'))
    assert fields_of(renewed.headers["Authorization"])["nc"] == "00000001"


class SlowDict(dict):
    """A dict that lets other threads run between a read and the next write,
    as a thread switch at the worst moment would."""

    def get(self, key, default=None):
        value = super().get(key, default)
        time.sleep(0.0001)
        return value


def test_digest_counts_each_request_once_across_threads() -> None:
    auth = DigestAuth("u", "p")
    answer(auth, 'Digest realm="r", nonce="n", qop=auth')
    auth._last = SlowDict(auth._last)   # without the lock, counts would be lost or repeated
    threads, per_thread = 8, 50
    counts: list[int] = []
    start = threading.Barrier(threads)

    def send_many() -> None:
        start.wait()
        for _ in range(per_thread):
            authorization = next(auth.flow(Request("GET", "http://example.org/"))).headers["Authorization"]
            counts.append(int(fields_of(authorization)["nc"], 16))

    workers = [threading.Thread(target=send_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(counts) == list(range(2, 2 + threads * per_thread))


# --- Against httpbin (gunicorn) ---

def exchange(pool: httpool.Pool, auth: Auth, url: str,
             jar: dict[str, str]) -> list[tuple[str | None, httpool.Response]]:
    """Run auth's flow for GET url as the request flow will: each request's
    Authorization and its response, in order (the last response is the final
    one). Cookies go through jar by hand (cookies=False): this drives the flow
    alone, without the pool's request flow (tests/test_policies.py has that)."""
    sent = []
    flow = auth.flow(Request("GET", url))
    request = next(flow)
    while True:
        headers = request.headers.copy()
        if jar:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        response = pool.request(request.method, request.url, headers=headers)
        sent.append((request.headers.get("Authorization"), response))
        for cookie in response.headers.get_list("Set-Cookie"):
            name, _, value = cookie.partition(";")[0].partition("=")
            jar[name.strip()] = value.strip()
        try:
            request = flow.send(response)
        except StopIteration:
            return sent


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512"])
def test_httpbin_accepts_the_digest_answer(no_socket_leak: None, httpbin: str, algorithm: str) -> None:
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, DigestAuth("user", "passwd"), f"{httpbin}/digest-auth/auth/user/passwd/{algorithm}", {})
    assert [authorization is not None for authorization, _ in sent] == [False, True]
    assert [response.status_code for _, response in sent] == [401, 200]
    assert sent[-1][1].json() == {"authenticated": True, "user": "user"}


def test_httpbin_accepts_the_auth_int_answer(no_socket_leak: None, httpbin: str) -> None:
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, DigestAuth("user", "passwd"), f"{httpbin}/digest-auth/auth-int/user/passwd/MD5", {})
    assert "qop=auth-int" in str(sent[-1][0])
    assert [response.status_code for _, response in sent] == [401, 200]


def test_httpbin_returns_401_to_a_wrong_digest_password(no_socket_leak: None, httpbin: str) -> None:
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, DigestAuth("user", "wrong"), f"{httpbin}/digest-auth/auth/user/passwd/MD5", {})
    assert [response.status_code for _, response in sent] == [401, 401]


def test_httpbin_stale_nonce_is_answered_again(no_socket_leak: None, httpbin: str) -> None:
    # stale_after=1: httpbin accepts one answer, then calls the nonce stale
    auth, jar, url = DigestAuth("user", "passwd"), {}, f"{httpbin}/digest-auth/auth/user/passwd/MD5/1"
    with httpool.Pool(cookies=False) as pool:
        first = exchange(pool, auth, url, jar)
        second = exchange(pool, auth, url, jar)
    assert [response.status_code for _, response in first] == [401, 200]
    # the cached challenge is sent up front, its nonce is stale, and the new one is accepted
    assert second[0][0] is not None and 'nc=00000002' in second[0][0]
    assert "STALE=TRUE" in second[0][1].headers["WWW-Authenticate"].upper()
    assert [response.status_code for _, response in second] == [401, 200]


def test_httpbin_stale_nonce_is_answered_only_once(no_socket_leak: None, httpbin: str) -> None:
    # stale_after=0: httpbin calls every answer's nonce stale
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, DigestAuth("user", "passwd"), f"{httpbin}/digest-auth/auth/user/passwd/MD5/0", {})
    assert [response.status_code for _, response in sent] == [401, 401, 401]
    assert all("STALE=TRUE" in response.headers["WWW-Authenticate"].upper() for _, response in sent[1:])


def test_httpbin_accepts_basic(no_socket_leak: None, httpbin: str) -> None:
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, BasicAuth("user", "passwd"), f"{httpbin}/basic-auth/user/passwd", {})
    assert [response.status_code for _, response in sent] == [200]
    assert sent[0][1].json() == {"authenticated": True, "user": "user"}


def test_httpbin_returns_401_to_a_wrong_basic_password(no_socket_leak: None, httpbin: str) -> None:
    with httpool.Pool(cookies=False) as pool:
        sent = exchange(pool, BasicAuth("user", "wrong"), f"{httpbin}/basic-auth/user/passwd", {})
    assert [response.status_code for _, response in sent] == [401]
