"""Timeout, Headers and Response: what callers configure and receive."""

from __future__ import annotations

import codecs
import dataclasses
import datetime
import json as jsonlib
import math
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Union

from httpool._exceptions import HTTPStatusError

__all__ = ["Timeout", "Headers", "Response"]


def _check_seconds(name: str, value: Optional[float]) -> None:
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

    total: Optional[float] = None
    connect: Optional[float] = 10.0
    read: Optional[float] = 30.0
    write: Optional[float] = 30.0
    pool: Optional[float] = 10.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_seconds(field.name, getattr(self, field.name))

    @classmethod
    def coerce(cls, value: Union[Timeout, float, None], default: Timeout) -> Timeout:
        """A Timeout from a request's `timeout=` argument: a number is a total deadline."""
        if value is None:
            return default
        if isinstance(value, Timeout):
            return value
        _check_seconds("total", value)
        return dataclasses.replace(default, total=float(value))


def _text(value: Any, what: str) -> str:
    """A header name or value as str; bytes are taken as Latin-1 octets."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    raise TypeError(f"header {what} must be str or bytes, not {type(value).__name__}: {value!r}")


HeaderSource = Union["Headers", Mapping[str, str], list, tuple, None]


class Headers(Mapping):
    """Case-insensitive, multi-valued HTTP headers with str names and values.

    ``headers["set-cookie"]`` joins repeated fields with ", "; ``get_list()``
    returns them apart; ``multi_items()`` keeps order and duplicates."""

    __slots__ = ("_items", "_raw")

    def __init__(self, headers: HeaderSource = None) -> None:
        self._raw: Optional[list] = None
        if headers is None:
            self._items: Optional[list] = []
        elif isinstance(headers, Headers):
            self._items = list(headers.multi_items())
        else:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            self._items = [(_text(k, "name"), _text(v, "value")) for k, v in pairs]

    @classmethod
    def _from_raw(cls, raw: list) -> Headers:
        """From the parser's (bytes, bytes) pairs, decoded on first use."""
        headers = cls.__new__(cls)
        headers._raw = raw
        headers._items = None
        return headers

    def multi_items(self) -> list:
        """Every (name, value) pair, in order, duplicates kept."""
        if self._items is None:
            # HTTP field values are octets; Latin-1 maps each to one character.
            self._items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw]
        return self._items

    @property
    def raw(self) -> list:
        """The (name, value) pairs as bytes."""
        if self._raw is None:
            self._raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self._items]
        return self._raw

    def get_list(self, name: str) -> list:
        lowered = name.lower()
        return [v for k, v in self.multi_items() if k.lower() == lowered]

    def __getitem__(self, name: str) -> str:
        values = self.get_list(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lowered = name.lower()
        return any(k.lower() == lowered for k, _ in self.multi_items())

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k.lower() for k, _ in self.multi_items()))

    def __len__(self) -> int:
        return len(dict.fromkeys(k.lower() for k, _ in self.multi_items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Headers, Mapping)):
            return NotImplemented
        mine = sorted((k.lower(), v) for k, v in self.multi_items())
        theirs = sorted((k.lower(), v) for k, v in Headers(other).multi_items())
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.multi_items()!r})"


class Response:
    """An HTTP response. Its connection goes back to the pool once the body is
    read, or, when released early (close(), the end of a `with` block, or
    garbage collection), after the pool drains the rest of the body."""

    __slots__ = ("status_code", "reason", "http_version", "url", "method", "elapsed",
                 "index", "_headers", "_content", "_conn", "_pool", "_deadline", "_read_timeout",
                 "_started", "_streamed")

    def __init__(self, pool: Any, conn: Any, method: str, url: str, deadline: float,
                 read_timeout: float, started: float) -> None:
        parser = conn.parser
        self.status_code: int = parser.status_code
        self.reason: str = parser.reason.decode("latin-1")
        self.http_version: str = "HTTP/" + parser.http_version
        self.url = url
        self.method = method
        self.elapsed: Optional[datetime.timedelta] = None
        self.index: Optional[int] = None
        self._headers: Any = parser.headers
        self._content: Optional[bytes] = None
        self._conn = conn
        self._pool = pool
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._started = started
        self._streamed = False

    @property
    def headers(self) -> Headers:
        if not isinstance(self._headers, Headers):
            self._headers = Headers._from_raw(self._headers)
        return self._headers

    def read(self) -> bytes:
        """Read the whole body (once) and return it."""
        if self._content is None:
            if self._streamed:
                raise RuntimeError(f"the body of {self!r} was already consumed by iter_bytes()")
            if self._conn is None:
                raise RuntimeError(f"the body of {self!r} was released before it was read")
            self._content = self._pool._read_body(self)
        return self._content

    @property
    def content(self) -> bytes:
        return self.read()

    @property
    def encoding(self) -> str:
        """The charset of Content-Type when Python knows it, else utf-8."""
        content_type = self.headers.get("content-type", "")
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                try:
                    return codecs.lookup(value.strip('"')).name
                except LookupError:
                    break
        return "utf-8"

    @property
    def text(self) -> str:
        return self.read().decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.read(), **kwargs)

    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """The body in pieces of at most chunk_size bytes, as they arrive."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        if self._content is not None:
            for start in range(0, len(self._content), chunk_size):
                yield self._content[start:start + chunk_size]
            return
        if self._conn is None:
            raise RuntimeError(f"the body of {self!r} was released before it was read")
        self._streamed = True
        while self._conn is not None:
            chunk = self._pool._read_some(self, chunk_size)
            if chunk:
                yield chunk

    @property
    def is_released(self) -> bool:
        """Whether the connection went back to the pool (or was closed)."""
        return self._conn is None

    def close(self) -> None:
        """Release the connection: an unread body is drained, up to the pool's
        max_drain, so the connection can be reused."""
        if self._conn is not None:
            self._pool._release_early(self)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if self._conn is not None:
            self._pool._abandon(self)

    def raise_for_status(self) -> Response:
        """Raise HTTPStatusError for a 4xx or 5xx status; return self otherwise."""
        if 400 <= self.status_code < 600:
            kind = "client error" if self.status_code < 500 else "server error"
            raise HTTPStatusError(
                f"{kind} {self.status_code} {self.reason} for {self.method} {self.url}", self)
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason}]>"
