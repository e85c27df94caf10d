# cython: language_level=3
"""The Response a request returns.

Compiled because one is built for every request: its fields are copied from
the connection's parser in C, and its finalizer (which returns the connection
of a response nobody closed) costs nothing for the common response whose
connection already went back. The connection goes back once the body is read
whole, or when the response is released early (close(), the end of a `with`
block, garbage collection); the pool then drains what is left of the body.
"""

import codecs
import datetime
import json as jsonlib

from httpool._conn cimport Connection
from httpool._parser cimport ResponseParser
from httpool._exceptions import HTTPStatusError
from httpool._models import Headers


cdef class Response:
    """An HTTP response: status, headers and body."""

    def __init__(self, *args):
        raise TypeError("responses are made by a Pool; they cannot be created directly")

    cdef fill(self, object pool, Connection conn, str method, str url, double deadline,
              double read_timeout, double started):
        """Take the status line and headers from the connection's parser."""
        cdef ResponseParser parser = conn.parser
        cdef str version = parser.version()
        self.status_code = parser.status_code
        self._reason = parser.reason_bytes()
        self.http_version = "HTTP/1.1" if version == "1.1" else "HTTP/" + version
        self.url = url
        self.method = method
        self._headers = parser.header_list()
        self._conn = conn
        self._pool = pool
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._started = started
        self._finished = -1.0

    @property
    def reason(self) -> str:
        return self._reason.decode("latin-1")

    @property
    def elapsed(self):
        """From sending the request to the end of the body (a timedelta); None until then."""
        if self._finished < 0:
            return None
        return datetime.timedelta(seconds=self._finished - self._started)

    @property
    def headers(self):
        """Case-insensitive, multi-valued headers (httpool.Headers)."""
        if not isinstance(self._headers, Headers):
            self._headers = Headers._from_raw(self._headers)
        return self._headers

    def read(self):
        """Read the whole body (once) and return it."""
        if self._content is None:
            if self._streamed:
                raise RuntimeError(f"the body of {self!r} was already consumed by iter_bytes()")
            if self._conn is None:
                raise RuntimeError(f"the body of {self!r} was released before it was read")
            self._content = self._pool._read_body(self)
        return self._content

    @property
    def content(self):
        return self.read()

    @property
    def encoding(self):
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
    def text(self):
        return self.read().decode(self.encoding, errors="replace")

    def json(self, **kwargs):
        return jsonlib.loads(self.read(), **kwargs)

    def iter_bytes(self, Py_ssize_t chunk_size=65536):
        """The body in pieces of at most chunk_size bytes, as they arrive."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        if self._content is None and self._conn is None:
            raise RuntimeError(f"the body of {self!r} was released before it was read")
        return self._iter_bytes(chunk_size)

    def _iter_bytes(self, Py_ssize_t chunk_size):
        if self._content is not None:
            for start in range(0, len(self._content), chunk_size):
                yield self._content[start:start + chunk_size]
            return
        self._streamed = True
        while self._conn is not None:
            chunk = self._pool._read_some(self, chunk_size)
            if chunk:
                yield chunk

    @property
    def is_released(self):
        """Whether the connection went back to the pool (or was closed)."""
        return self._conn is None

    def close(self):
        """Release the connection: an unread body is drained, up to the pool's
        max_drain, so the connection can be reused."""
        if self._conn is not None:
            self._pool._release_early(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        if self._conn is not None:
            self._pool._abandon(self)

    def raise_for_status(self):
        """Raise HTTPStatusError for a 4xx or 5xx status; return self otherwise."""
        if 400 <= self.status_code < 600:
            kind = "client error" if self.status_code < 500 else "server error"
            raise HTTPStatusError(
                f"{kind} {self.status_code} {self.reason} for {self.method} {self.url}", self)
        return self

    def __repr__(self):
        return f"<Response [{self.status_code} {self.reason}]>"
