# cython: language_level=3
"""The Response a request returns.

Compiled because one is built for every request: its fields are copied from
the connection's parser in C, and its finalizer (which returns the connection
of a response nobody closed) costs nothing for the common response whose
connection already went back. The connection goes back once the body is read
whole, or when the response is released early (close(), the end of a `with`
block, garbage collection); its exchange then drains what is left of the body.
Reading on and releasing go through the exchange (httpool._exchange), driven
by the blocking driver.
"""

import codecs
import datetime
import json as jsonlib

from httpool._blocking cimport drive
from httpool._exchange cimport Exchange, EX_DONE, GOAL_BODY, GOAL_SOME
from httpool._exceptions import HTTPStatusError
from httpool._models import Headers


cdef Response response_of(Exchange exchange):
    cdef Response response = Response.__new__(Response)
    cdef str version = exchange.version
    response.status_code = exchange.status_code
    response._reason = exchange.reason
    response.http_version = "HTTP/1.1" if version == "1.1" else "HTTP/" + version
    response.url = exchange.plan.url
    response.method = exchange.plan.method
    response._headers = exchange.headers
    response._content = exchange.content
    response._started = exchange.started
    response._exchange = exchange
    _forget_exchange(response)
    return response


cdef int _forget_exchange(Response response) except -1:
    if response._exchange.state == EX_DONE:
        response._finished = response._exchange.finished_at
        response._exchange = None
    else:
        response._finished = -1.0
    return 0


cdef bytes _next_chunk(Response response, Py_ssize_t max_bytes):
    """Up to max_bytes more of the body, waiting for at least one; b"" at the end."""
    cdef Exchange exchange = response._exchange
    cdef bytes chunk
    if exchange is None:
        return b""
    try:
        exchange.want(GOAL_SOME)
        drive(exchange)
        return exchange.read_some(max_bytes)
    finally:
        _forget_exchange(response)


cdef class Response:
    """An HTTP response: status, headers and body."""

    def __init__(self, *args):
        raise TypeError("responses are made by a Pool; they cannot be created directly")

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
        cdef Exchange exchange = self._exchange
        if self._content is None:
            if self._streamed:
                raise RuntimeError(f"the body of {self!r} was already consumed by iter_bytes()")
            if exchange is None:
                raise RuntimeError(f"the body of {self!r} was released before it was read")
            try:
                exchange.want(GOAL_BODY)
                drive(exchange)
                self._content = exchange.content
            finally:
                _forget_exchange(self)
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
        if self._content is None and self._exchange is None:
            raise RuntimeError(f"the body of {self!r} was released before it was read")
        return self._iter_bytes(chunk_size)

    def _iter_bytes(self, Py_ssize_t chunk_size):
        if self._content is not None:
            for start in range(0, len(self._content), chunk_size):
                yield self._content[start:start + chunk_size]
            return
        self._streamed = True
        while True:
            chunk = _next_chunk(self, chunk_size)
            if not chunk:
                return
            yield chunk

    @property
    def is_released(self):
        """Whether the connection went back to the pool (or was closed)."""
        return self._exchange is None

    def close(self):
        """Release the connection: an unread body is drained, up to the pool's
        max_drain bytes and max_drain_time seconds, so the connection can be reused."""
        cdef Exchange exchange = self._exchange
        if exchange is not None:
            try:
                exchange.release()
                drive(exchange)
            finally:
                _forget_exchange(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        if self._exchange is not None:
            self._exchange.abandon()

    def raise_for_status(self):
        """Raise HTTPStatusError for a 4xx or 5xx status; return self otherwise."""
        if 400 <= self.status_code < 600:
            kind = "client error" if self.status_code < 500 else "server error"
            raise HTTPStatusError(
                f"{kind} {self.status_code} {self.reason} for {self.method} {self.url}", self)
        return self

    def __repr__(self):
        return f"<Response [{self.status_code} {self.reason}]>"
