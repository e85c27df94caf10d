"""One request through any of the four APIs, for tests that hold a rule in
every one of them."""

from __future__ import annotations

import re

import httpool

APIS = ("request", "stream", "request_many", "iter_many")


def call(pool: httpool.Pool, api: str, method: str, url: str, *, timeout=None, **options):
    """Send one request through `api` ("request", "stream" (+ read),
    "request_many" or "iter_many") and return its Response with the body read,
    or the httpool error it ended with (raised, or in the batch's result)."""
    try:
        if api == "request":
            return pool.request(method, url, timeout=timeout, **options)
        if api == "stream":
            with pool.stream(method, url, timeout=timeout, **options) as response:
                response.read()
            return response
        batch = [(method, url, options)]
        if api == "request_many":
            (result,) = pool.request_many(batch, timeout=timeout, return_exceptions=True)
        else:
            (result,) = list(pool.iter_many(batch, timeout=timeout, return_exceptions=True))
        return result
    except httpool.HTTPError as exc:
        return exc


def expect(result, kind: type[BaseException], match: str | None = None):
    """Assert that `result` is an exception of `kind` (whose message contains
    the regex `match`) and return it."""
    assert isinstance(result, kind), f"expected {kind.__name__}, got {result!r}"
    if match is not None:
        assert re.search(match, str(result)), f"{match!r} not in {str(result)!r}"
    return result
