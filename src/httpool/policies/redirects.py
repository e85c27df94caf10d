"""Redirects: the request that follows a 3xx response (RFC 9110 section 15.4)."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from httpool._exceptions import RedirectError
from httpool._models import Headers, Request

if TYPE_CHECKING:
    from httpool._response import Response

__all__ = ["REDIRECT_STATUSES", "is_redirect", "next_request", "origin_of"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Characters a Location may hold as they are; others are percent-encoded, as
# browsers do with a Location that has spaces or non-ASCII text.
_SAFE = "!#$%&'()*+,/:;=?@[]~"

# Headers that describe the body: gone with it when the method becomes GET.
_BODY_HEADERS = ("Content-Type", "Content-Encoding", "Content-Language", "Content-Location")

# Credentials the caller set for one origin: never sent to another.
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


def is_redirect(status_code: int, headers: Headers) -> bool:
    return status_code in REDIRECT_STATUSES and "location" in headers


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or ""), port or (443 if scheme == "https" else 80)


def _target_of(response: Response, location: str) -> str:
    """The absolute URL a Location names, resolved against the response's URL."""
    url = urllib.parse.urljoin(response.url, urllib.parse.quote(location.strip(), safe=_SAFE))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise RedirectError(f"{response.status_code} redirect from {response.url} to {location!r}: "
                            "not an http or https URL")
    if not parts.fragment:
        # RFC 9110 section 10.2.2: a Location without a fragment inherits the request's.
        fragment = urllib.parse.urlsplit(response.url).fragment
        if fragment:
            url = f"{url}#{fragment}"
    return url


def next_request(request: Request, response: Response, allow_downgrade: bool) -> Request:
    """The request a redirect asks for. 303, and 301/302 after a method other
    than GET or HEAD, become GET without a body (what browsers do, which RFC
    9110 section 15.4 allows); 307 and 308 keep the method and the body. On a
    change of origin the caller's Authorization, Cookie and Host headers, its
    cookies= and its auth are dropped. https to http raises RedirectError
    unless allow_downgrade."""
    location = response.headers.get("location")
    if location is None:
        raise RedirectError(f"{response.status_code} from {response.url} has no Location")
    url = _target_of(response, location)
    if (urllib.parse.urlsplit(response.url).scheme.lower() == "https"
            and urllib.parse.urlsplit(url).scheme.lower() == "http" and not allow_downgrade):
        raise RedirectError(f"{response.status_code} redirect from {response.url} to {url} "
                            "refused: it leaves https for http (allow_https_downgrade=True allows it)")
    headers = request.headers.copy()
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (
            response.status_code in (301, 302) and method not in ("GET", "HEAD")):
        method = "GET"
    has_body = any(part is not None
                   for part in (request.body, request.json, request.data, request.files))
    keeps_body = response.status_code in (307, 308) and has_body
    if method != request.method or (has_body and not keeps_body):
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    same_origin = origin_of(url) == origin_of(response.url)
    if not same_origin:
        for name in (*_CREDENTIAL_HEADERS, "Host"):
            headers.pop(name, None)
    return Request(
        method, url, headers=headers,
        body=request.body if keeps_body else None,
        json=request.json if keeps_body else None,
        data=request.data if keeps_body else None,
        files=request.files if keeps_body else None,
        auth=request.auth if same_origin else None,
        cookies=request.cookies if same_origin else None,
        follow_redirects=request.follow_redirects)
