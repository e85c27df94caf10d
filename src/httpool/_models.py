"""Timeout, Headers and Request: what callers configure, send and receive."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypedDict, Union, cast

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    from httpool._response import Response

__all__ = ["Timeout", "Headers", "Request", "Auth"]


def _check_seconds(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout {name} must be a number of seconds or None, not {type(value).__name__}")
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"timeout {name} must be a finite number of seconds >= 0, not {value!r}")


@dataclasses.dataclass(frozen=True)
class Timeout:
    """Limits in seconds (None: no limit). ``total`` bounds a whole request:
    pool wait, connect, write and read. The others bound one phase, and read
    and write apply to each wait for the socket (like a socket timeout)."""

    total: float | None = None
    connect: float | None = 10.0
    read: float | None = 30.0
    write: float | None = 30.0
    pool: float | None = 10.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_seconds(field.name, getattr(self, field.name))

    @classmethod
    def coerce(cls, value: TimeoutSource, default: Timeout) -> Timeout:
        """A Timeout from a request's `timeout=` argument: a number is a total deadline."""
        if value is None:
            return default
        if isinstance(value, Timeout):
            return value
        _check_seconds("total", value)
        return dataclasses.replace(default, total=float(value))


def _text(value: object, what: str) -> str:
    """A header name or value as str; bytes are taken as Latin-1 octets."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    raise TypeError(f"header {what} must be str or bytes, not {type(value).__name__}: {value!r}")


# The types of the request arguments, for the signatures of Pool (here, in
# httpool._pool) and of its compiled base (httpool._request.pyi, httpool._plan.pyi).
# They are plain aliases, evaluated at import so that typing.get_type_hints()
# works on Request; nothing checks them at run time (the planner does its own checks).

# A header name or value: str, or bytes taken as Latin-1 octets.
HeaderField = str | bytes | bytearray
# headers=: a mapping (a Headers is one), or (name, value) pairs when a name repeats.
HeaderSource = (Mapping[str, HeaderField] | Mapping[bytes, HeaderField]
                | Sequence[tuple[HeaderField, HeaderField]] | None)

Buffer = bytes | bytearray | memoryview


class Readable(Protocol):
    """A binary file, as a request body: read in blocks (a regular file is sent
    with Content-Length from its position, anything else chunked)."""

    def read(self, size: int, /) -> bytes: ...


# body=: bytes-like or str (Content-Length), a binary file, or an iterable of
# bytes-like or str chunks (sent chunked).
Body = Buffer | str | Readable | Iterable[Buffer | str] | None

# params=: urllib.parse.urlencode(params, doseq=True); a sequence value repeats the key.
ParamScalar = str | bytes | int | float
ParamValue = ParamScalar | Sequence[ParamScalar]
Params = Mapping[str, ParamValue] | Sequence[tuple[str, ParamValue]] | None

# json=: what json.dumps encodes, checked at the top level only: a nested
# JSONInput would reject a plain dict[str, object], which is what a dict display
# of mixed values infers to. json.dumps raises TypeError for the rest, before any I/O.
JSONInput = Mapping[str, object] | Sequence[object] | str | int | float | bool | None

# A form field's value: str (sent as UTF-8), bytes (as they are), int or float
# (their str()), bool ("true"/"false") or None (""). A list or tuple of them
# repeats the field.
FormScalar = str | bytes | int | float | None
FormValue = FormScalar | Sequence[FormScalar]
# Form fields: a mapping, or (name, value) pairs to keep an order or repeat a name.
FormFields = Mapping[str, FormValue] | Sequence[tuple[str, FormValue]]
# data=: form fields (urlencoded, or the other fields of a multipart body), or
# raw content sent as it is.
FormData = FormFields | str | bytes | None

# A file field's content: a binary file, or the content itself (str as UTF-8).
FileContent = Readable | bytes | str
# A file field, as requests and httpx accept it: the content alone, or
# (filename, content), (filename, content, content_type) or
# (filename, content, content_type, headers). A None filename sends no filename
# parameter; a None content_type is guessed from the filename.
FileValue = (FileContent
             | tuple[str | None, FileContent]
             | tuple[str | None, FileContent, str | None]
             | tuple[str | None, FileContent, str | None, Mapping[str, str]])
# files=: a mapping, or (name, value) pairs to repeat a name.
FileFields = Mapping[str, FileValue] | Sequence[tuple[str, FileValue]]
Files = FileFields | None

# auth=: (user, password) for Basic, an httpool.Auth (Digest, or a flow of your
# own), or a callable given the Request about to be sent, which sets its headers.
AuthSource = Union[tuple[str | bytes, str | bytes], "Auth", Callable[["Request"], object], None]

# cookies=: name -> value, or a cookie jar.
CookieSource = Union[Mapping[str, str], "CookieJar", None]

# Plan.args: a request's own (headers, body, json, data, files), as given.
PlanArgs = tuple[HeaderSource, Body, JSONInput, FormData, Files]

# What Response.json() returns (json.loads without hooks).
JSONValue = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

# timeout=: a Timeout, or a number of seconds for the whole request.
TimeoutSource = Timeout | float | None


class RequestOptions(TypedDict, total=False):
    """The keywords of the third item of a (method, url, {keywords}) request
    of Pool.request_many / iter_many."""

    headers: HeaderSource
    body: Body
    params: Params
    json: JSONInput
    data: FormData
    files: Files
    auth: AuthSource
    cookies: CookieSource
    follow_redirects: bool | None


class Headers(MutableMapping[str, str]):
    """Case-insensitive, multi-valued HTTP headers with str names and values.

    ``headers["set-cookie"]`` joins repeated fields with ", "; ``get_list()``
    returns them apart; ``multi_items()`` keeps order and duplicates. Setting
    a name replaces every field of that name; ``add()`` appends one."""

    __slots__ = ("_items", "_raw", "_by_name")

    def __init__(self, headers: HeaderSource = None) -> None:
        self._raw: list[tuple[bytes, bytes]] | None = None
        # Lowered name -> values, built on the first lookup, dropped by a change.
        self._by_name: dict[str, list[str]] | None = None
        kind = type(headers)   # the common kinds first: an ABC's isinstance is slow
        if headers is None:
            self._items: list[tuple[str, str]] | None = []
        elif kind is Headers or (kind is not list and kind is not dict
                                 and isinstance(headers, Headers)):
            self._items = list(cast("Headers", headers).multi_items())
        else:
            pairs = (headers.items() if isinstance(headers, (dict, Mapping))
                     else headers)
            self._items = [(_text(k, "name"), _text(v, "value")) for k, v in pairs]

    @classmethod
    def _from_raw(cls, raw: list[tuple[bytes, bytes]]) -> Headers:
        """From the parser's (bytes, bytes) pairs, decoded on first use."""
        headers = cls.__new__(cls)
        headers._raw = raw
        headers._items = None
        headers._by_name = None
        return headers

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, in order, duplicates kept."""
        if self._items is None:
            # HTTP field values are octets; Latin-1 maps each to one character.
            # (_raw is set whenever _items is not.)
            raw = cast("list[tuple[bytes, bytes]]", self._raw)
            self._items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
        return self._items

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The (name, value) pairs as bytes."""
        if self._raw is None:
            items = cast("list[tuple[str, str]]", self._items)   # set whenever _raw is not
            self._raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in items]
        return self._raw

    def _index(self) -> dict[str, list[str]]:
        if self._by_name is None:
            self._by_name = {}
            for k, v in self.multi_items():
                self._by_name.setdefault(k.lower(), []).append(v)
        return self._by_name

    def get_list(self, name: str) -> list[str]:
        return list(self._index().get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        values = self.get_list(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        name, value = _text(name, "name"), _text(value, "value")
        lowered = name.lower()
        items = self.multi_items()
        at = next((i for i, (k, _) in enumerate(items) if k.lower() == lowered), len(items))
        items[at:] = [(name, value)] + [(k, v) for k, v in items[at:] if k.lower() != lowered]
        self._raw = self._by_name = None

    def __delitem__(self, name: str) -> None:
        lowered = name.lower()
        items = self.multi_items()
        kept = [(k, v) for k, v in items if k.lower() != lowered]
        if len(kept) == len(items):
            raise KeyError(name)
        items[:] = kept
        self._raw = self._by_name = None

    def add(self, name: str, value: str) -> None:
        """Append a field, keeping those of the same name."""
        self.multi_items().append((_text(name, "name"), _text(value, "value")))
        self._raw = self._by_name = None

    def copy(self) -> Headers:
        return Headers(self)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name.lower() in self._index()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._index()))

    def __len__(self) -> int:
        return len(self._index())

    def __bool__(self) -> bool:
        return bool(self._items if self._items is not None else self._raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Headers, Mapping)):
            return NotImplemented
        mine = sorted((k.lower(), v) for k, v in self.multi_items())
        theirs = sorted((k.lower(), v) for k, v in Headers(other).multi_items())
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.multi_items()!r})"


class Request:
    """A request: for Pool.send, request_many and iter_many (the arguments of
    Pool.request), and what an auth callable or Auth.flow gets to sign (set
    its headers). Response.next_request is one too."""

    __slots__ = ("method", "url", "headers", "body", "params", "json", "data", "files", "auth",
                 "cookies", "follow_redirects")

    def __init__(self, method: str, url: str, *, headers: HeaderSource = None, body: Body = None,
                 params: Params = None, json: JSONInput = None, data: FormData = None,
                 files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                 follow_redirects: bool | None = None) -> None:
        self.method = method
        self.url = url
        self.headers = Headers(headers)
        self.body = body
        self.params = params
        self.json = json
        self.data = data
        self.files = files
        self.auth = auth
        self.cookies = cookies
        self.follow_redirects = follow_redirects

    def copy(self) -> Request:
        """The same request, with headers of its own."""
        return Request(self.method, self.url, headers=self.headers, body=self.body,
                       params=self.params, json=self.json, data=self.data, files=self.files,
                       auth=self.auth, cookies=self.cookies,
                       follow_redirects=self.follow_redirects)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Auth:
    """The base of authentication schemes (httpool.DigestAuth is one).

    flow() is a generator: it yields the request to send, with its headers
    set, and receives the response; yielding the request again sends it
    again (Digest answers a 401 challenge that way). The default flow calls
    apply() once."""

    def flow(self, request: Request) -> Generator[Request, Response, None]:
        self.apply(request)
        yield request

    def apply(self, request: Request) -> None:
        """Set the request's headers (bearer tokens, signatures)."""


# One item of Pool.request_many / iter_many.
RequestItem = Request | tuple[str, str] | tuple[str, str, RequestOptions]
