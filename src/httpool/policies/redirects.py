"""Redirects: the request that follows a 3xx response (RFC 9110 section 15.4)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from httpool._exceptions import RedirectError
from httpool._models import Request

if TYPE_CHECKING:
    from httpool._plan import _Target
    from httpool._response import Response

__all__ = ["REDIRECT_STATUSES", "is_redirect", "next_request"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Characters a Location may hold as they are; others are percent-encoded, as
# browsers do with a Location that has spaces or non-ASCII text.
_SAFE = "!#$%&'()*+,/:;=?@[]~"
_UNSAFE = re.compile(r"[^A-Za-z0-9._~!#$%&'()*+,/:;=?@\[\]-]")

# Headers that describe the body (lowered): gone with it when the method becomes GET.
_BODY_HEADERS = ("content-type", "content-encoding", "content-language", "content-location")

# What the caller set for one origin (lowered): never sent to another.
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization", "host")


def is_redirect(response: Response) -> bool:
    return (response.status_code in REDIRECT_STATUSES
            and response._first_header(b"location") is not None)


def _location_url(response: Response) -> str:
    """The absolute URL the response's Location names, resolved against the
    response's URL."""
    location = response._first_header(b"location")
    if location is None:
        raise RedirectError(f"{response.status_code} from {response.url} has no Location")
    location = location.strip()
    if _UNSAFE.search(location):
        location = urllib.parse.quote(location, safe=_SAFE)
    if location.startswith("/") and not location.startswith("//") and "/." not in location:
        # An absolute path (the common Location): the response's scheme and
        # authority before it, with no dot segments to resolve.
        scheme, _, rest = response.url.partition("://")
        url = f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0].split('#', 1)[0]}{location}"
    else:
        url = urllib.parse.urljoin(response.url, location)
    if "#" not in url and "#" in response.url:
        # RFC 9110 section 10.2.2: a Location without a fragment inherits the request's.
        url = f"{url}#{response.url.partition('#')[2]}"
    return url


def next_request(request: Request, response: Response, allow_downgrade: bool,
                 parse: Callable[[str], _Target]) -> Request:
    """The request a redirect asks for. 303, and 301/302 after a method other
    than GET or HEAD, become GET without a body (what browsers do, which RFC
    9110 section 15.4 allows); 307 and 308 keep the method and the body. On a
    change of origin the caller's Authorization, Cookie and Host headers, its
    cookies= and its auth are dropped. https to http raises RedirectError
    unless allow_downgrade. parse: a URL's parsed target (ValueError when it
    is not an http or https URL)."""
    url = _location_url(response)
    try:
        target, here = parse(url), parse(response.url)
    except ValueError as exc:
        raise RedirectError(f"{response.status_code} redirect from {response.url} to "
                            f"{response._first_header(b'location')!r}: not an http or https URL "
                            f"({exc})") from None
    if here.scheme == "https" and target.scheme == "http" and not allow_downgrade:
        raise RedirectError(f"{response.status_code} redirect from {response.url} to {url} "
                            "refused: it leaves https for http (allow_https_downgrade=True allows it)")
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (
            response.status_code in (301, 302) and method not in ("GET", "HEAD")):
        method = "GET"
    has_body = (request.body is not None or request.json is not None or request.data is not None
                or request.files is not None)
    keeps_body = response.status_code in (307, 308) and has_body
    same_origin = target.key == here.key
    dropped = ((_BODY_HEADERS if method != request.method or (has_body and not keeps_body) else ())
               + (() if same_origin else _CREDENTIAL_HEADERS))
    headers = request.headers.multi_items()
    if dropped and headers:
        headers = [(name, value) for name, value in headers if name.lower() not in dropped]
    return Request(
        method, url, headers=headers,
        body=request.body if keeps_body else None,
        json=request.json if keeps_body else None,
        data=request.data if keeps_body else None,
        files=request.files if keeps_body else None,
        auth=request.auth if same_origin else None,
        cookies=request.cookies if same_origin else None,
        follow_redirects=request.follow_redirects)
