"""Authentication: Basic (RFC 7617), Digest (RFC 7616), and auth callables.

auth_from() turns a request's auth= into an httpool.Auth; the request flow
drives its flow(): the first request to send, then, for each response, either
the request to send again or the end (that response is the final one).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from httpool._exceptions import ProtocolError, RemoteProtocolError
from httpool._models import Auth, AuthSource, Request
from httpool._plan import _Target

if TYPE_CHECKING:
    from httpool._response import Response

__all__ = ["BasicAuth", "FunctionAuth", "DigestAuth", "auth_from"]


def _credential(value: object, what: str) -> bytes:
    """A username or password as octets: a str in UTF-8 (RFC 7617 section
    2.1's charset, and RFC 7616 section 3.3's), bytes as given."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"the {what} must be str or bytes, not {type(value).__name__}")


class BasicAuth(Auth):
    """RFC 7617: ``Authorization: Basic base64(user-id ":" password)``."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        user_id = _credential(username, "username")
        if b":" in user_id:
            # RFC 7617 section 2: the first colon ends the user-id
            raise ValueError("a Basic username cannot contain ':' (RFC 7617 section 2)")
        user_pass = user_id + b":" + _credential(password, "password")
        self._authorization = "Basic " + base64.b64encode(user_pass).decode("ascii")

    def apply(self, request: Request) -> None:
        request.headers["Authorization"] = self._authorization


class FunctionAuth(Auth):
    """An auth= callable: it gets the Request about to be sent and sets its
    headers, or returns a Request, which is sent instead."""

    def __init__(self, function: Callable[[Request], object]) -> None:
        self._function = function

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        returned = self._function(request)
        yield returned if isinstance(returned, Request) else request


def auth_from(source: AuthSource) -> Auth | None:
    """The Auth of a request's auth=: None, (username, password) for Basic,
    an Auth, or a callable that sets the request's headers."""
    if source is None or isinstance(source, Auth):
        return source
    if isinstance(source, tuple) and len(source) == 2:
        return BasicAuth(*source)
    if callable(source):
        return FunctionAuth(source)
    raise TypeError(f"auth= takes (username, password), an httpool.Auth or a callable, "
                    f"not {_described(source)}")


def _described(source: object) -> str:
    """What auth= was, without its value: a tuple's items may be credentials."""
    return f"a tuple of {len(source)} items" if isinstance(source, tuple) else type(source).__name__


# --- Digest (RFC 7616) ---

# RFC 9110 section 5.6.2 (token) and 5.6.4 (quoted-string).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# One element of a comma-separated list (RFC 9110 section 5.6.1): a comma in a
# quoted string does not split it; an unterminated quote runs to the end.
_LIST_ELEMENT = re.compile(r'(?:"(?:[^"\\]|\\.?)*"?|[^",])+')
# auth-param (RFC 9110 section 11.2): name BWS "=" BWS value.
_PARAM = re.compile(rf"({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED})")
_PARAM_START = re.compile(rf"{_TOKEN}[ \t]*=")
# The element that opens a challenge: its auth-scheme, then 1*SP and its first
# auth-param or token68 (RFC 9110 section 11.6.1).
_CHALLENGE_START = re.compile(rf"({_TOKEN})(?:[ \t]+(.*))?", re.DOTALL)

# RFC 7616 section 3.3's algorithms (and httpbin's SHA-512, as httpx offers),
# upper-cased, without -sess: their hashlib names.
_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256", "SHA-512": "sha512"}


class _Malformed(Exception):
    """A Digest challenge breaks RFC 7616's syntax (its message says how)."""


class _Unsupported(Exception):
    """A Digest challenge asks for what httpool cannot answer (its message says what)."""


@dataclasses.dataclass(frozen=True)
class _Challenge:
    """What a Digest challenge (RFC 7616 section 3.3) asks for; values as received."""

    realm: str
    nonce: str
    opaque: str | None
    algorithm: str          # as spelled by the server, MD5 when absent
    hash_name: str          # its hashlib name
    qop: str | None         # the one chosen: "auth", "auth-int", or None (RFC 2069 style)
    userhash: bool
    stale: bool

    @property
    def session(self) -> bool:
        return self.algorithm.upper().endswith("-SESS")

    def hex_digest(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).hexdigest().encode("ascii")


def _challenges(field: str) -> list[tuple[str, list[str]]]:
    """The challenges of one WWW-Authenticate field, in order: (auth-scheme,
    its elements: auth-params, or a token68)."""
    challenges: list[tuple[str, list[str]]] = []
    for match in _LIST_ELEMENT.finditer(field):
        element = match.group().strip(" \t")
        start = None if _PARAM_START.match(element) else _CHALLENGE_START.fullmatch(element)
        if start is not None:
            challenges.append((start[1], [start[2]] if start[2] else []))
        elif challenges and element:
            challenges[-1][1].append(element)
    return challenges


def _unquote(value: str) -> str:
    """A token, or a quoted-string's content (RFC 9110 section 5.6.4)."""
    if not value.startswith('"'):
        return value
    return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)


def _params(elements: list[str]) -> dict[str, str]:
    """A challenge's auth-params by lower-case name (RFC 9110 section 11.2:
    names are case-insensitive, and occur once per challenge)."""
    params: dict[str, str] = {}
    for element in elements:
        match = _PARAM.fullmatch(element)
        if match is None:
            raise _Malformed(f"{element!r} is not a name=value parameter")
        name = match[1].lower()
        if name in params:
            raise _Malformed(f"{name} is given twice")
        params[name] = _unquote(match[2])
    return params


def _chosen_qop(offered: str | None) -> str | None:
    """The qop to answer with: "auth" when offered, else "auth-int"; None
    without qop, answered as RFC 2069 did (RFC 2617 section 3.2.2.1)."""
    if offered is None:
        return None
    options = {option.strip().lower() for option in offered.split(",")}
    for qop in ("auth", "auth-int"):
        if qop in options:
            return qop
    raise _Unsupported(f'qop="{offered}"')


def _digest_challenge(elements: list[str]) -> _Challenge:
    """A Digest challenge from its elements (RFC 7616 section 3.3)."""
    params = _params(elements)
    missing = [name for name in ("realm", "nonce") if name not in params]
    if missing:
        raise _Malformed(f"it has no {' and no '.join(missing)}")
    algorithm = params.get("algorithm", "MD5")
    hash_name = _HASHES.get(algorithm.upper().removesuffix("-SESS"))
    if hash_name is None:
        raise _Unsupported(f"algorithm={algorithm}")
    challenge = _Challenge(
        realm=params["realm"], nonce=params["nonce"], opaque=params.get("opaque"),
        algorithm=algorithm, hash_name=hash_name, qop=_chosen_qop(params.get("qop")),
        userhash=params.get("userhash", "").lower() == "true",
        stale=params.get("stale", "").lower() == "true")
    if challenge.session and challenge.qop is None:
        # RFC 7616 section 3.4.2: a session key hashes the cnonce, which is sent only with qop
        raise _Malformed(f"algorithm={algorithm} needs qop")
    return challenge


def _challenge_to_answer(response: Response, origin: str) -> _Challenge | None:
    """The Digest challenge of a 401 to answer: the first one httpool
    supports (RFC 7616 section 3.7). None when there is no Digest challenge."""
    if response.status_code != 401:
        return None
    unsupported: list[str] = []
    for field in response.headers.get_list("WWW-Authenticate"):
        for scheme, elements in _challenges(field):
            if scheme.lower() != "digest":
                continue
            try:
                return _digest_challenge(elements)
            except _Malformed as exc:
                raise RemoteProtocolError(f"{origin} sent a malformed Digest challenge: {exc}") from None
            except _Unsupported as exc:
                unsupported.append(str(exc))
    if unsupported:
        raise ProtocolError(f"{origin} asks for Digest authentication with {' or '.join(unsupported)}, "
                            f"which httpool does not support (it answers algorithm={', '.join(_HASHES)}, "
                            f"each also -sess, with qop=auth or auth-int)")
    return None


def _client_nonce() -> str:
    """A fresh cnonce (RFC 7616 section 3.4): 128 random bits."""
    return secrets.token_hex(16)


def _quoted(value: str) -> str:
    """value as a quoted-string (RFC 9110 section 5.6.4)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _octets(text: str) -> bytes:
    """Header text as the octets sent: Latin-1, as httpool encodes heads."""
    return text.encode("latin-1")


def _hashed_body(request: Request, origin: str) -> bytes:
    """The body as qop=auth-int hashes it (RFC 7616 section 3.4.3): only a
    body given as bytes or str (sent in UTF-8) is known before it is sent."""
    body = request.body
    given = [name for name, value in (("json=", request.json), ("data=", request.data),
                                      ("files=", request.files)) if value is not None]
    if not given:
        if body is None:
            return b""
        if isinstance(body, str):
            return body.encode("utf-8")
        if isinstance(body, (bytes, bytearray, memoryview)):
            return bytes(body)
        given = [f"a body of type {type(body).__name__}"]
    raise ProtocolError(f"{origin} accepts Digest authentication with qop=auth-int only, which hashes "
                        f"the body: httpool answers it for a body given as bytes or str, and this "
                        f"request has {' and '.join(given)}")


class DigestAuth(Auth):
    """RFC 7616 Digest authentication. The request goes out first without
    credentials; a 401 with a Digest challenge is answered once (twice when
    the server says the first answer's nonce was stale). The last challenge
    of each origin is kept, so that the next request to that origin is
    answered up front, with the next nonce count. Safe to share across threads."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._username = _credential(username, "username")
        self._password = _credential(password, "password")
        self._lock = threading.Lock()
        # origin -> its last challenge, and how many requests used its nonce
        self._last: dict[str, tuple[_Challenge, int]] = {}

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        target = _Target(request.url)
        cached = self._next_cached(target.origin)
        if cached is not None:
            self._authorize(request, target, *cached)
        response = yield request
        challenge = _challenge_to_answer(response, target.origin)
        if challenge is None:
            return
        self._authorize(request, target, challenge, self._next_count(target.origin, challenge))
        response = yield request
        challenge = _challenge_to_answer(response, target.origin)
        # RFC 7616 section 3.3: stale=true: the answer was right, but its nonce had expired
        if challenge is None or not challenge.stale:
            return
        self._authorize(request, target, challenge, self._next_count(target.origin, challenge))
        yield request

    def _next_cached(self, origin: str) -> tuple[_Challenge, int] | None:
        """The origin's last challenge and the next count of its nonce, if any."""
        with self._lock:
            last = self._last.get(origin)
            if last is None:
                return None
            challenge, count = last[0], last[1] + 1
            self._last[origin] = (challenge, count)
            return challenge, count

    def _next_count(self, origin: str, challenge: _Challenge) -> int:
        """Keep challenge as the origin's last; the next count of its nonce
        (RFC 7616 section 3.4: nc counts the requests sent with a nonce)."""
        with self._lock:
            last = self._last.get(origin)
            count = last[1] + 1 if last is not None and last[0].nonce == challenge.nonce else 1
            self._last[origin] = (challenge, count)
            return count

    def _authorize(self, request: Request, target: _Target, challenge: _Challenge, count: int) -> None:
        request.headers["Authorization"] = self._authorization(request, target, challenge, count)

    def _authorization(self, request: Request, target: _Target, challenge: _Challenge,
                       count: int) -> str:
        """The Authorization value answering challenge (RFC 7616 section 3.4)."""
        cnonce, nc = _client_nonce(), f"{count:08x}"
        response = self._response(request, target, challenge, nc, cnonce)
        # RFC 7616 section 3.4: algorithm, qop and nc are tokens, the others quoted-strings
        fields = [self._username_field(challenge), f"realm={_quoted(challenge.realm)}",
                  f"nonce={_quoted(challenge.nonce)}", f"uri={_quoted(target.path)}",
                  f'response="{response}"', f"algorithm={challenge.algorithm}"]
        if challenge.qop is not None:
            fields += [f"qop={challenge.qop}", f"nc={nc}", f"cnonce={_quoted(cnonce)}"]
        if challenge.opaque is not None:
            fields.append(f"opaque={_quoted(challenge.opaque)}")
        if challenge.userhash:
            fields.append("userhash=true")
        return "Digest " + ", ".join(fields)

    def _response(self, request: Request, target: _Target, challenge: _Challenge, nc: str,
                  cnonce: str) -> str:
        """The response= digest (RFC 7616 section 3.4.1; without qop, RFC 2617
        section 3.2.2.1's)."""
        h = challenge.hex_digest
        realm, nonce = _octets(challenge.realm), _octets(challenge.nonce)
        # RFC 7616 section 3.4.2: A1, and for -sess the session key
        ha1 = h(b":".join((self._username, realm, self._password)))
        if challenge.session:
            ha1 = h(b":".join((ha1, nonce, cnonce.encode("ascii"))))
        # RFC 7616 section 3.4.3: A2 (httpool sends the method upper-cased)
        a2 = _octets(f"{request.method.upper()}:{target.path}")
        if challenge.qop == "auth-int":
            a2 += b":" + h(_hashed_body(request, target.origin))
        if challenge.qop is None:
            return h(b":".join((ha1, nonce, h(a2)))).decode("ascii")
        return h(b":".join((ha1, nonce, nc.encode("ascii"), cnonce.encode("ascii"),
                            challenge.qop.encode("ascii"), h(a2)))).decode("ascii")

    def _username_field(self, challenge: _Challenge) -> str:
        """username="..." (hashed when the server asks for it, RFC 7616
        section 3.4.4), or username*= when it does not fit a quoted-string."""
        if challenge.userhash:
            hashed = challenge.hex_digest(self._username + b":" + _octets(challenge.realm))
            return f'username="{hashed.decode("ascii")}"'
        if all(0x20 <= octet < 0x7F for octet in self._username):
            return f"username={_quoted(self._username.decode('ascii'))}"
        # RFC 8187 ext-value; quote() keeps letters, digits and "_.-~": attr-char adds these
        return "username*=UTF-8''" + urllib.parse.quote(self._username, safe="!#$&+^`|")
