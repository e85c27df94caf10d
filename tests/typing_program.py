# mypy: disallow-any-expr
"""A user's program that touches the whole public API, for the type checker.

tests/test_typing.py checks it with ``mypy --strict`` and, by the comment above,
``--disallow-any-expr``: no
expression in it may have the type Any, so every value httpool hands back must
be precisely typed (a Response, not Any; a list[Response], not list[Any]). The
assert_type() calls pin the types that matter. The test also runs main()
against a local echo server (a keep-alive server whose body is the request as
JSON), so the program is a real one and the types are those of the values.
"""

from __future__ import annotations

import datetime
import io
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import httpool

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover
    from typing_extensions import assert_type


def chunks() -> Iterator[bytes]:
    yield b"chunk one, "
    yield b"chunk two"


def pools(ca_file: Path) -> None:
    """Every option of Pool, in each shape it takes (none is connected)."""
    context = ssl.create_default_context()
    shapes: list[httpool.Pool] = [
        httpool.Pool(
            max_connections_per_host=4,
            max_connections=8,
            max_idle_per_host=2,
            idle_timeout=5,
            max_lifetime=None,
            max_drain=65536,
            max_drain_time=None,
            retries=0,
            timeout=httpool.Timeout(total=10.0, connect=2, read=None, write=5.0, pool=1.0),
            headers={"X-Default": "1"},
            max_body_size=1 << 20,
            max_header_bytes=8192,
            max_headers=50,
            max_interim=1,
            verify=False,
        ),
        httpool.Pool(timeout=2.5, headers=[("X-A", "1"), ("X-A", "2")], verify=str(ca_file)),
        httpool.Pool(verify=ca_file, headers=httpool.Headers({"X-B": "b"})),
        httpool.Pool(verify=context, headers=[(b"X-Raw", b"octets")]),
    ]
    for pool in shapes:
        assert_type(repr(pool), str)
        pool.close()
    # Client certificates: a file, or (certificate, key).
    for cert in ("client.pem", Path("client.pem"), ("client.pem", Path("client.key"))):
        try:
            httpool.Pool(cert=cert).close()
        except (OSError, ssl.SSLError, ValueError):
            pass   # the files do not exist: the shapes are what is checked here


def headers_api() -> None:
    headers = httpool.Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-One", "1")])
    assert_type(headers["set-cookie"], str)
    assert_type(headers.get("x-one"), str | None)
    assert_type(headers.get_list("Set-Cookie"), list[str])
    assert_type(headers.multi_items(), list[tuple[str, str]])
    assert_type(headers.raw, list[tuple[bytes, bytes]])
    assert "X-ONE" in headers and len(headers) == 2
    names: list[str] = list(headers)
    assert names == ["set-cookie", "x-one"]
    assert headers == {"set-cookie": "a=1, b=2", "x-one": "1"} or headers != httpool.Headers()
    for name, value in headers.items():
        assert_type(name, str)
        assert_type(value, str)


def response_api(response: httpool.Response) -> None:
    assert_type(response.status_code, int)
    assert_type(response.reason, str)
    assert_type(response.http_version, str)
    assert_type(response.url, str)
    assert_type(response.method, str)
    assert_type(response.headers, httpool.Headers)
    assert_type(response.content, bytes)
    assert_type(response.read(), bytes)
    assert_type(response.text, str)
    assert_type(response.encoding, str)
    assert_type(response.elapsed, datetime.timedelta | None)
    assert_type(response.is_released, bool)
    assert_type(response.index, int | None)
    assert_type(response.raise_for_status(), httpool.Response)
    document = response.json()
    # json() is a JSON value, never Any: the program narrows it before use.
    if isinstance(document, dict):
        method = document.get("method")
        assert isinstance(method, str) and method == response.method
    body = b"".join(response.iter_bytes(4))
    assert body == response.content
    with response as same:
        assert_type(same, httpool.Response)
    response.close()


def requests(pool: httpool.Pool, url: str) -> None:
    """Every request method and keyword, with each shape of each keyword."""
    response_api(pool.request("GET", url, params={"q": "x", "n": 1, "many": ["a", "b"]}))
    response_api(pool.get(url, headers={"Accept": "application/json"}, timeout=5))
    assert pool.head(url, params=[("a", "1"), ("b", 2.5)]).content == b""
    pool.post(url, json={"name": "httpool", "tags": ["fast", "typed"], "n": 1}).close()
    pool.post(url, json=[1, "two", None]).close()
    pool.put(url, body=b"bytes", headers=[("Content-Type", "application/octet-stream")]).close()
    pool.patch(url, body="text", timeout=httpool.Timeout(total=5.0)).close()
    pool.delete(url, body=memoryview(b"view"), timeout=None).close()
    pool.options(url, body=io.BytesIO(b"file-like")).close()
    pool.post(url, body=chunks()).close()
    pool.post(url, body=[b"a", bytearray(b"b"), "c"]).close()

    with pool.stream("POST", url, body=b"streamed", headers={"X-Stream": "1"}) as streamed:
        assert_type(streamed, httpool.Response)
        pieces: list[bytes] = list(streamed.iter_bytes(16))
        assert b"".join(pieces)

    try:
        pool.get(url, headers={"X-Status": "404"}).raise_for_status()
    except httpool.HTTPStatusError as exc:
        assert_type(exc.response, httpool.Response | None)


def batches(pool: httpool.Pool, url: str) -> None:
    items: list[httpool.Request | tuple[str, str]] = [
        ("GET", url),
        httpool.Request("POST", url, headers={"X-Batch": "1"}, body=b"one", params={"i": 1}),
        httpool.Request("POST", url, json={"i": 2}),
    ]
    responses = pool.request_many(items, concurrency=2, timeout=10.0)
    assert_type(responses, list[httpool.Response])
    assert [r.status_code for r in responses] == [200, 200, 200]

    with_options = pool.request_many([("GET", url), ("POST", url, {"json": {"k": "v"}, "params": {"a": "b"}})])
    assert_type(with_options, list[httpool.Response])

    results = pool.request_many([("GET", url), ("GET", "http://127.0.0.1:9/")], return_exceptions=True)
    assert_type(results, list[httpool.Response | Exception])
    for result in results:
        if isinstance(result, httpool.HTTPError):
            assert_type(result, httpool.HTTPError)
        elif isinstance(result, Exception):
            raise result
        else:
            assert_type(result.status_code, int)

    for response in pool.iter_many([("GET", url)] * 3, concurrency=3):
        assert_type(response, httpool.Response)
        assert response.index is not None
    flag = len(items) > 10
    for outcome in pool.iter_many(items, return_exceptions=flag):
        assert_type(outcome, httpool.Response | Exception)


def stats(pool: httpool.Pool, url: str) -> None:
    snapshot = pool.stats()
    assert_type(snapshot, httpool.PoolStats)
    assert_type(snapshot.origins, dict[str, httpool.OriginStats])
    assert_type(snapshot.waiting, int)
    assert snapshot.requests > 0
    for name, origin in snapshot.origins.items():
        assert_type(name, str)
        assert_type(origin, httpool.OriginStats)
    origin = snapshot.origins[next(iter(snapshot.origins))]
    assert_type(origin.opened, int)
    assert_type(origin.requests + origin.reused + origin.retried + origin.timeouts, int)
    assert_type(origin.closed, httpool.ClosedStats)
    assert_type(origin.closed.total, int)
    assert_type(origin.closed.idle_timeout + origin.closed.pool_close, int)
    assert_type(origin + origin, httpool.OriginStats)
    assert_type(origin.closed + origin.closed, httpool.ClosedStats)
    assert_type(str(snapshot), str)


def errors(url: str) -> None:
    caught: list[type[httpool.HTTPError]] = []
    with httpool.Pool(timeout=httpool.Timeout(connect=1.0)) as pool:
        try:
            pool.get("http://127.0.0.1:9/")
        except httpool.TLSError:
            caught.append(httpool.TLSError)
        except httpool.ConnectError as exc:
            caught.append(type(exc))
        except (httpool.ConnectTimeout, httpool.WriteTimeout, httpool.ReadTimeout,
                httpool.PoolTimeout) as exc:
            caught.append(type(exc))   # each is an httpool.TimeoutError and a builtins.TimeoutError
        except (httpool.ConnectionClosed, httpool.RemoteProtocolError, httpool.ProtocolError,
                httpool.TransportError) as exc:
            caught.append(type(exc))
    try:
        pool.get(url)
    except httpool.PoolClosed as exc:
        caught.append(type(exc))
    assert caught == [httpool.ConnectError, httpool.PoolClosed]


def parser() -> None:
    parsing = httpool.ResponseParser(max_header_bytes=4096, max_headers=10, max_body_size=None)
    parsing.start()
    parsing.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert_type(parsing.status_code, int)
    assert_type(parsing.headers, list[tuple[bytes, bytes]])
    assert parsing.message_complete and parsing.take_body() == b"ok"


def main(url: str, ca_file: Path) -> None:
    """url: an echo server (every request answered with 200, keep-alive)."""
    assert_type(httpool.__version__, str)
    reason = httpool.CloseReason(1)
    assert_type(reason, httpool.CloseReason)
    assert reason is httpool.CloseReason.IDLE_TIMEOUT and reason.name == "IDLE_TIMEOUT"
    timeout = httpool.Timeout(total=None, connect=10.0)
    assert_type(timeout.read, float | None)
    pools(ca_file)
    headers_api()
    parser()
    with httpool.Pool(timeout=timeout, headers={"User-Agent": "typing-program"}) as pool:
        requests(pool, url)
        batches(pool, url)
        stats(pool, url)
    errors(url)
