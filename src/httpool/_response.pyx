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
import urllib.parse

from httpool._blocking cimport drive
from httpool._exchange cimport Exchange, EX_DONE, GOAL_BODY, GOAL_SOME
from httpool._exceptions import HTTPStatusError
from httpool._models import Headers, Request
from httpool._plan import _Target
from httpool.policies.decoding import decoder_for
from httpool.policies.flow import request_of
from httpool.policies.redirects import is_redirect, next_request


cdef bint redirect_status(int status) noexcept:
    """301, 302, 303, 307 or 308 (httpool.policies.redirects.REDIRECT_STATUSES)."""
    return status == 301 or status == 302 or status == 303 or status == 307 or status == 308


cdef Response response_of(Exchange exchange):
    """The response of an exchange whose head arrived. A body with a
    Content-Encoding is decoded (whole when it was read whole): it may raise
    DecodingError, after the connection went back."""
    return fill_response(Response.__new__(Response), exchange)


cdef Response fill_response(Response response, Exchange exchange):
    """response_of() into a new Response of a subclass (httpool._async's)."""
    cdef str version = exchange.version
    response.status_code = exchange.status_code
    response._reason = exchange.reason
    response.http_version = "HTTP/1.1" if version == "1.1" else "HTTP/" + version
    response._request = exchange.plan.args
    response._sets_cookie = exchange.sets_cookie
    response.url = exchange.plan.url
    response.method = exchange.plan.method
    response._headers = exchange.headers
    response._content = exchange.content
    response._started = exchange.started
    response._exchange = exchange
    _forget_exchange(response)
    if exchange.content_encoded:
        _start_decoding(response, exchange)
    return response


cdef int _start_decoding(Response response, Exchange exchange) except -1:
    cdef object limit = exchange.settings.parser_limits["max_body_size"]
    response._decoder = decoder_for(", ".join(response.headers.get_list("content-encoding")),
                                    exchange.plan.slots.origin, limit)
    if response._decoder is not None and response._content is not None:
        response._raw = response._content
        response._content = _decoded(response, response._raw)
    return 0


cdef bytes _decoded(Response response, bytes raw):
    """A whole body decoded (the decoder stops at max_body_size)."""
    decoder = response._decoder
    head = decoder.decode(raw)
    tail = decoder.finish()
    return head + tail if tail else head


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


cdef object _whole_body(Response response, Py_ssize_t chunk_size, object decoder):
    """The pieces of a body read whole (as received when decoder is None)."""
    cdef bytes content = response._content
    if decoder is None and response._raw is not None:
        content = response._raw
    return [content[start:start + chunk_size] for start in range(0, len(content), chunk_size)]


cdef object _pieces(bytes chunk, Py_ssize_t chunk_size, object decoder):
    """The pieces to yield for one chunk received (b"": the end of the body)."""
    if decoder is None:
        return (chunk,) if chunk else ()
    if chunk:
        return decoder.iter_decode(chunk, chunk_size)
    chunk = decoder.finish()
    return [chunk[start:start + chunk_size] for start in range(0, len(chunk), chunk_size)]


cdef Exchange _to_read(Response response):
    """The exchange to read a body from, which no iter_bytes() took part of."""
    if response._streamed:
        raise RuntimeError(f"the body of {response!r} was already consumed by iter_bytes()")
    if response._exchange is None:
        raise RuntimeError(f"the body of {response!r} was released before it was read")
    return response._exchange


cdef int _took_body(Response response, bytes content) except -1:
    """The whole body is read: keep it, decoded."""
    response._content = content
    if response._decoder is not None:
        response._raw = content
        response._content = _decoded(response, content)
    return 0


def _parsed(str url):
    return _Target(url)


def _parse_links(str value):
    """The links of one Link field (RFC 8288 section 3):
    <url>; param=value; param="quoted, value", <url>; ..."""
    links = []
    cdef Py_ssize_t i = 0, n = len(value), end
    while True:
        i = value.find("<", i)
        if i < 0:
            return links
        end = value.find(">", i)
        if end < 0:
            return links
        link = {"url": value[i + 1:end].strip()}
        i = end + 1
        # Parameters until the comma that ends this link (one outside quotes).
        while i < n and value[i] != ",":
            if value[i] != ";":
                i += 1
                continue
            i += 1
            end = i
            while end < n and value[end] not in "=;,":
                end += 1
            name = value[i:end].strip().lower()
            i = end
            param = ""
            if i < n and value[i] == "=":
                i += 1
                while i < n and value[i] == " ":
                    i += 1
                if i < n and value[i] == '"':
                    end = i + 1
                    while end < n and value[end] != '"':
                        end += 2 if value[end] == "\\" else 1
                    param = value[i + 1:end].replace("\\", "")
                    i = end + 1
                else:
                    end = i
                    while end < n and value[end] not in ";,":
                        end += 1
                    param = value[i:end].strip()
                    i = end
            if name:
                link.setdefault(name, param)
        links.append(link)


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

    def _first_header(self, bytes name):
        """The first value of a header (name lowered), or None, read from the
        parser's pairs without building Headers (the policies ask for
        Location this way)."""
        cdef tuple pair
        if isinstance(self._headers, Headers):
            values = self._headers.get_list(name.decode("latin-1"))
            return values[0] if values else None
        for pair in self._headers:
            if len(<bytes>pair[0]) == len(name) and (<bytes>pair[0]).lower() == name:
                return (<bytes>pair[1]).decode("latin-1")
        return None

    def read(self):
        """Read the whole body (once) and return it."""
        cdef Exchange exchange
        if self._content is None:
            exchange = _to_read(self)
            try:
                exchange.want(GOAL_BODY)
                drive(exchange)
            finally:
                _forget_exchange(self)
            _took_body(self, exchange.content)
        return self._content

    @property
    def content(self):
        if self._content is not None:
            return self._content
        return self.read()

    @property
    def encoding(self):
        """The charset of Content-Type when Python knows it, else utf-8;
        set it to decode .text otherwise."""
        if self._encoding is not None:
            return self._encoding
        content_type = self.headers.get("content-type", "")
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                try:
                    return codecs.lookup(value.strip('"')).name
                except LookupError:
                    break
        return "utf-8"

    @encoding.setter
    def encoding(self, value):
        if not isinstance(value, str):
            raise TypeError(f"encoding must be a str, not {type(value).__name__}")
        self._encoding = codecs.lookup(value).name

    @property
    def text(self):
        return self.read().decode(self.encoding, errors="replace")

    def json(self, **kwargs):
        return jsonlib.loads(self.read(), **kwargs)

    def iter_bytes(self, Py_ssize_t chunk_size=65536):
        """The body in pieces of at most chunk_size bytes, as they arrive,
        decoded (Content-Encoding) as they arrive."""
        self._check_iterable(chunk_size)
        return self._iter_body(chunk_size, self._decoder)

    def iter_raw(self, Py_ssize_t chunk_size=65536):
        """The body as it came over the wire (still Content-Encoded), in
        pieces of at most chunk_size bytes."""
        self._check_iterable(chunk_size)
        return self._iter_body(chunk_size, None)

    def _check_iterable(self, Py_ssize_t chunk_size):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        if self._content is None and self._exchange is None:
            raise RuntimeError(f"the body of {self!r} was released before it was read")

    def _iter_body(self, Py_ssize_t chunk_size, decoder):
        if self._content is not None:
            yield from _whole_body(self, chunk_size, decoder)
            return
        self._streamed = True
        while True:
            chunk = _next_chunk(self, chunk_size)
            yield from _pieces(chunk, chunk_size, decoder)
            if not chunk:
                return

    @property
    def history(self):
        """The responses before this one, oldest first: redirects followed,
        and challenges an auth scheme answered."""
        return list(self._history) if self._history is not None else []

    def _set_history(self, list history, request=None, int retries=0):
        self._history = history
        self._request = request
        self.retries = retries

    @property
    def is_redirect(self):
        """A 301, 302, 303, 307 or 308 with a Location."""
        return is_redirect(self)

    @property
    def next_request(self):
        """The Request a redirect asks for (for following redirects by hand:
        pool.send(response.next_request)); None if this is not a redirect."""
        if not self.is_redirect:
            return None
        request = self._request
        if not isinstance(request, Request):
            request = request_of(self.method, self.url, request)
        return next_request(request, self, True, _parsed)

    @property
    def cookies(self):
        """name -> value of this response's Set-Cookie fields."""
        from httpool.policies.cookies import response_cookies   # http.cookies, on first use
        return response_cookies(self.headers)

    @property
    def links(self):
        """The Link header (RFC 8288), by rel (or by URL when a link has none):
        {"next": {"url": "...", "rel": "next", ...}}; URLs resolved against the response's."""
        links = {}
        for value in self.headers.get_list("link"):
            for link in _parse_links(value):
                link["url"] = urllib.parse.urljoin(self.url, link["url"])
                links[link.get("rel") or link["url"]] = link
        return links

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
