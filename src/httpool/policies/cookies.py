"""Cookies: a pool's jar, the Cookie header of a request, Set-Cookie stored.

The jar is the standard library's ``http.cookiejar.CookieJar`` and its
DefaultCookiePolicy decides which cookie goes where (domain and path
matching, Secure, expiry, public suffixes it knows): this module only adapts
httpool's requests and responses to the urllib objects the jar reads.
"""

from __future__ import annotations

import http.cookiejar
import http.cookies
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from httpool._models import CookieSource, Headers

if TYPE_CHECKING:
    from httpool._plan import _Target

__all__ = ["ObservedJar", "observed_jar", "may_have_cookies", "jar_from", "cookie_header", "store",
           "response_cookies"]


class ObservedJar(http.cookiejar.CookieJar):
    """The jar httpool makes: it calls on_store whenever a cookie is stored
    (from a response, or by the caller), so that a pool spends nothing on
    cookies until it has one."""

    def __init__(self) -> None:
        super().__init__()
        self.on_store: Callable[[], None] | None = None
        self.stored = False

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        super().set_cookie(cookie)
        self.stored = True
        if self.on_store is not None:
            self.on_store()


def observed_jar(on_store: Callable[[], None]) -> ObservedJar:
    jar = ObservedJar()
    jar.on_store = on_store
    return jar


def may_have_cookies(jar: http.cookiejar.CookieJar) -> bool:
    """False only for an ObservedJar that never stored a cookie (the caller's
    own jar says nothing when it changes)."""
    return not isinstance(jar, ObservedJar) or jar.stored


class _JarRequest:
    """A request as http.cookiejar reads it: the interface its documentation
    asks of one (get_full_url, has_header, get_header, header_items,
    add_unredirected_header; host, type, unverifiable, origin_req_host),
    without the cost of parsing the URL into a urllib.request.Request."""

    __slots__ = ("_url", "host", "type", "origin_req_host", "unverifiable", "cookie")

    def __init__(self, url: str, target: _Target) -> None:
        self._url = url
        self.type = target.scheme
        self.host = target.host_header
        self.origin_req_host = target.host
        self.unverifiable = False
        self.cookie: str | None = None

    def get_full_url(self) -> str:
        return self._url

    def has_header(self, name: str) -> bool:
        return name.lower() == "cookie" and self.cookie is not None

    def get_header(self, name: str, default: str | None = None) -> str | None:
        if name.lower() == "host":
            return self.host
        return self.cookie if name.lower() == "cookie" and self.cookie is not None else default

    def header_items(self) -> list[tuple[str, str]]:
        return [("Host", self.host)]

    def add_unredirected_header(self, name: str, value: str) -> None:
        if name.lower() == "cookie":
            self.cookie = value


def _cookie(name: str, value: str) -> http.cookiejar.Cookie:
    """A cookie with no domain: the jar sends it to every origin, as requests
    and httpx do with the cookies of a dict."""
    return http.cookiejar.Cookie(
        version=0, name=name, value=value, port=None, port_specified=False, domain="",
        domain_specified=False, domain_initial_dot=False, path="/", path_specified=True,
        secure=False, expires=None, discard=True, comment=None, comment_url=None, rest={},
        rfc2109=False)


def jar_from(source: CookieSource, what: str = "cookies") -> http.cookiejar.CookieJar:
    """The jar of cookies=: a CookieJar as it is (shared with the caller),
    or a new ObservedJar holding a mapping's cookies (None: an empty one)."""
    if isinstance(source, http.cookiejar.CookieJar):
        return source
    jar = ObservedJar()
    if source is None:
        return jar
    if not isinstance(source, Mapping):
        raise TypeError(f"{what} must be a dict of name -> value or an http.cookiejar.CookieJar, "
                        f"not {type(source).__name__}")
    # The types say str; a caller without a type checker may pass anything.
    for name, value in cast("Mapping[object, object]", source).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"{what}: cookie names and values must be str, not {name!r}: {value!r}")
        jar.set_cookie(_cookie(name, value))
    return jar


def cookie_header(jars: list[http.cookiejar.CookieJar], url: str, target: _Target) -> str | None:
    """The Cookie header value of a request to url from the jars, in order
    (a later jar's cookie of the same name wins); None when none applies."""
    pairs: dict[str, str] = {}
    for jar in jars:
        probe = _JarRequest(url, target)
        # _JarRequest has what the jar reads; typeshed wants a urllib Request.
        jar.add_cookie_header(probe)  # type: ignore[arg-type]
        if probe.cookie:
            for pair in probe.cookie.split("; "):
                name, _, value = pair.partition("=")
                pairs[name] = value
    if not pairs:
        return None
    return "; ".join(f"{name}={value}" for name, value in pairs.items())


class _Message:
    """What CookieJar.extract_cookies reads of a response: info().get_all()."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def info(self) -> _Message:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        return self._headers.get_list(name) or default


def store(jar: http.cookiejar.CookieJar, url: str, target: _Target, headers: Headers) -> None:
    """Keep the Set-Cookie fields of a response to url that the jar's policy
    accepts."""
    # What extract_cookies reads; typeshed wants an HTTPResponse and a urllib Request.
    jar.extract_cookies(_Message(headers), _JarRequest(url, target))  # type: ignore[arg-type]


def response_cookies(headers: Headers) -> dict[str, str]:
    """name -> value of a response's Set-Cookie fields (Response.cookies)."""
    cookies: dict[str, str] = {}
    for line in headers.get_list("set-cookie"):
        parsed = http.cookies.SimpleCookie()
        try:
            parsed.load(line)
        except http.cookies.CookieError:
            continue   # a malformed field is skipped, as the jar skips it
        cookies.update((name, morsel.value) for name, morsel in parsed.items())
    return cookies
