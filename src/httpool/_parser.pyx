# cython: language_level=3
"""HTTP/1.1 response parser over llhttp.

Strategy
--------
llhttp does the tokenising and the body framing of RFC 9112 section 6 (Content-
Length, chunked with extensions and trailers, read-until-close, no body for HEAD,
1xx, 204 and 304). This module adds what a client needs on top, without a
Python call per header or per body chunk:

* Span callbacks copy the status reason and each header name and value into
  one growing C buffer (llhttp's spans point into the caller's bytes and are
  valid only during the callback). Python objects are built only when the
  caller asks for ``headers``.
* llhttp is paused twice per message. In ``on_headers_complete`` the pause
  gives the exact size of the head (llhttp has no limit of its own) and lets
  the body buffer be sized from Content-Length before any body byte arrives.
  In ``on_message_complete`` the pause stops parsing at the message boundary:
  whatever follows is kept as ``tail``; a client that finds bytes there must
  not reuse the connection (RFC 9112 section 9.3: a response only follows a
  request).
* The body is written into a bytes object the parser owns alone and grows in
  place, so ``take_body()`` returns it without a further copy. ``body_space()``
  lets the connection receive straight into that buffer; ``on_body`` then sees
  its own bytes and copies nothing. When draining, ``on_body`` only counts.
* Interim responses (1xx other than 101) are parsed and dropped; the parser
  reports the final response. 101 and upgrades are refused.

The callbacks are plain C: they touch no Python object except through
``_reserve_body``, whose MemoryError is caught, stored and re-raised after
``llhttp_execute`` returns, so no exception crosses llhttp's frames.
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE,
)
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_REFCNT, Py_XDECREF
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memchr, memcmp, memcpy, memmove
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_SET_ITEM

from httpool._llhttp cimport *
from httpool._exceptions import RemoteProtocolError

cdef extern from "Python.h":
    # Resizes a bytes object that nobody else references; on failure it frees
    # the object, sets *obj to NULL and raises MemoryError.
    int _PyBytes_Resize(PyObject** obj, Py_ssize_t newsize) except -1

cdef enum:
    FIRST_HEAD_CAP = 1024
    FIRST_BODY_CAP = 16384
    # A Content-Length larger than this is not trusted for one allocation up
    # front: the buffer grows as bytes actually arrive.
    MAX_BODY_PREALLOC = 64 * 1024 * 1024

cdef llhttp_settings_t _settings
llhttp_settings_init(&_settings)

cdef str _VERSION_1_1 = "1.1"
cdef str _VERSION_1_0 = "1.0"


cdef inline ResponseParser _owner(llhttp_t* p):
    return <ResponseParser>p.data


cdef inline int _fail(ResponseParser self, const char* reason) noexcept:
    self._error_reason = reason
    return HPE_USER


cdef inline Py_ssize_t _head_offset(ResponseParser self, const char* at, size_t n) noexcept:
    """Where the span `at` will sit in _head_buf, or -1 past the head limit.

    The spans one llhttp_execute() call reports lie in order in its input, so
    instead of copying each one, the bytes from the first span to the end of
    the last are copied once when the call returns (_flush_head), separators
    included: one memcpy per head instead of two per header line."""
    # The limit counts span bytes only, as copied one by one they would be:
    # what lies between spans depends on how the input was cut.
    self._head_spans += n
    if self._head_spans > self.max_header_bytes:
        return -1
    if self._region == NULL:
        self._region = at
    self._region_end = at + n
    return self._head_len + (at - self._region)


cdef int cb_on_status(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef Py_ssize_t offset = _head_offset(self, at, n)
    if offset < 0:
        return _fail(self, "response head larger than the limit")
    if self._reason_len == 0:
        self._reason_at = <uint32_t>offset
    self._reason_len += <uint32_t>n
    return 0


cdef int cb_on_header_field(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef HeaderSpan* span
    cdef Py_ssize_t offset = _head_offset(self, at, n)
    if offset < 0:
        return _fail(self, "response head larger than the limit")
    if self._last_span != SPAN_NAME:
        # A new header line starts (a name may arrive in several spans).
        if self._nspans >= self.max_headers:
            return _fail(self, "more header fields than the limit")
        span = &self._spans[self._nspans]
        self._nspans += 1
        span.name_at = <uint32_t>offset
        span.name_len = 0
        span.value_at = 0
        span.value_len = 0
        self._last_span = SPAN_NAME
    else:
        span = &self._spans[self._nspans - 1]
    span.name_len += <uint32_t>n
    return 0


cdef int cb_on_header_value(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef HeaderSpan* span = &self._spans[self._nspans - 1]
    cdef Py_ssize_t offset = _head_offset(self, at, n)
    if offset < 0:
        return _fail(self, "response head larger than the limit")
    if self._last_span != SPAN_VALUE:
        span.value_at = <uint32_t>offset
        self._last_span = SPAN_VALUE
    span.value_len += <uint32_t>n
    return 0


cdef int cb_on_headers_complete(llhttp_t* p) noexcept:
    cdef ResponseParser self = _owner(p)
    if self._head:
        # Same effect as returning 1 ("no body"), which cannot be combined
        # with a pause: llhttp ORs F_SKIPBODY into the flags for that.
        p.flags |= F_SKIPBODY
    self._event = EVENT_HEADERS
    return HPE_PAUSED


cdef int cb_on_body(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    self._body_seen += <Py_ssize_t>n
    if self.max_body_size >= 0 and self._body_seen > self.max_body_size:
        return _fail(self, "response body larger than the limit")
    if self._discard_body:
        return 0
    cdef char* dest
    if self._body != NULL:
        dest = PyBytes_AS_STRING(<object>self._body) + self._body_len
        if dest == at:
            # Received in place through body_space(): already where it belongs.
            self._body_len += <Py_ssize_t>n
            return 0
    try:
        self._reserve_body(<Py_ssize_t>n)
    except MemoryError as exc:
        self._callback_error = exc
        return _fail(self, "out of memory for the response body")
    # `at` points into the caller's buffer, valid until this callback returns.
    memcpy(PyBytes_AS_STRING(<object>self._body) + self._body_len, at, n)
    self._body_len += <Py_ssize_t>n
    return 0


cdef int cb_on_message_complete(llhttp_t* p) noexcept:
    cdef ResponseParser self = _owner(p)
    # Asked before llhttp's after_message_complete clears the flags.
    self._keep_alive = llhttp_should_keep_alive(p)
    self.message_complete = True
    self._event = EVENT_MESSAGE
    return HPE_PAUSED


_settings.on_status = cb_on_status
_settings.on_header_field = cb_on_header_field
_settings.on_header_value = cb_on_header_value
_settings.on_headers_complete = cb_on_headers_complete
_settings.on_body = cb_on_body
_settings.on_message_complete = cb_on_message_complete


cdef inline bint _is_space(char c) noexcept:
    return c == b' ' or c == b'\t'


cdef inline char _lower(char c) noexcept:
    if b'A' <= c <= b'Z':
        return c + 32
    return c


cdef bint _equals_lower(const char* s, Py_ssize_t n, const char* lowered) noexcept:
    """Whether s[:n] equals the NUL-terminated lowercase `lowered`, ignoring case."""
    cdef Py_ssize_t i = 0
    while i < n:
        if lowered[i] == 0 or _lower(s[i]) != lowered[i]:
            return False
        i += 1
    return lowered[n] == 0


# Header names most responses carry, spelled as servers send them: handed out
# as shared bytes objects instead of a new one per response. Sorted by length;
# the names of length n start at index _NAMES_BY_LENGTH[n].
cdef tuple _COMMON_NAMES = tuple(sorted({
    spelling
    for name in (
        b"Date", b"Server", b"Content-Type", b"Content-Length", b"Connection", b"Keep-Alive",
        b"Transfer-Encoding", b"Cache-Control", b"Last-Modified", b"ETag", b"Accept-Ranges",
        b"Vary", b"Expires", b"Location", b"Set-Cookie", b"Content-Encoding", b"Age", b"Via",
        b"Pragma", b"Content-Range", b"Content-Language", b"Content-Disposition", b"Link",
        b"Strict-Transport-Security", b"X-Content-Type-Options", b"X-Frame-Options",
        b"Access-Control-Allow-Origin", b"Alt-Svc", b"Retry-After", b"X-Request-Id",
    )
    for spelling in (name, name.lower())
}, key=len))

cdef enum:
    MAX_COMMON_NAME = 32

cdef Py_ssize_t _NAMES_BY_LENGTH[MAX_COMMON_NAME + 2]


def _index_common_names():
    cdef Py_ssize_t length, i = 0
    for length in range(MAX_COMMON_NAME + 2):
        while i < len(_COMMON_NAMES) and len(_COMMON_NAMES[i]) < length:
            i += 1
        _NAMES_BY_LENGTH[length] = i


_index_common_names()


cdef inline bint _bytes_equal(PyObject* obj, const char* s, Py_ssize_t n) noexcept:
    """Whether the bytes object `obj` holds s[:n]. A borrowed pointer, so no
    reference counting or type check is spent on it."""
    return (PyBytes_GET_SIZE(<object>obj) == n
            and memcmp(PyBytes_AS_STRING(<object>obj), s, n) == 0)


cdef object _name_bytes(const char* s, Py_ssize_t n):
    """s[:n] as bytes: a shared object when it is a common header name."""
    cdef Py_ssize_t i
    if n <= MAX_COMMON_NAME:
        for i in range(_NAMES_BY_LENGTH[n], _NAMES_BY_LENGTH[n + 1]):
            if memcmp(PyBytes_AS_STRING(<bytes>_COMMON_NAMES[i]), s, n) == 0:
                return _COMMON_NAMES[i]
    return PyBytes_FromStringAndSize(s, n)


cdef long _parse_digits(const char* s, Py_ssize_t n) noexcept:
    """A decimal number of 1 to 9 digits, or -1."""
    cdef long v = 0
    cdef Py_ssize_t i
    if n < 1 or n > 9:
        return -1
    for i in range(n):
        if not (b'0' <= s[i] <= b'9'):
            return -1
        v = v * 10 + (s[i] - 48)
    return v


cdef class ResponseParser:
    """Parser for one HTTP/1.1 response at a time on one connection.

    Feed it bytes as they arrive; call start() before each response.
    """

    def __cinit__(self, *, Py_ssize_t max_header_bytes=65536, Py_ssize_t max_headers=100,
                  max_body_size=None, Py_ssize_t max_interim=5):
        if max_header_bytes < 64:
            raise ValueError(f"max_header_bytes must be at least 64, not {max_header_bytes}")
        if max_headers < 1:
            raise ValueError(f"max_headers must be at least 1, not {max_headers}")
        if max_interim < 0:
            raise ValueError(f"max_interim must be 0 or more, not {max_interim}")
        if max_body_size is not None and max_body_size < 0:
            raise ValueError(f"max_body_size must be None or 0 or more, not {max_body_size}")
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_body_size = -1 if max_body_size is None else max_body_size
        self.max_interim = max_interim
        self._head_cap = FIRST_HEAD_CAP
        self._head_buf = <char*>malloc(self._head_cap)
        self._spans = <HeaderSpan*>malloc(max_headers * sizeof(HeaderSpan))
        if self._head_buf == NULL or self._spans == NULL:
            raise MemoryError()
        llhttp_init(&self._llhttp, HTTP_RESPONSE, &_settings)
        # A borrowed pointer: the parser owns the llhttp state, so it outlives it.
        self._llhttp.data = <void*>self
        self.start()

    def __dealloc__(self):
        cdef int i
        for i in range(2 * LINE_CACHE_SIZE):
            Py_XDECREF(self._line_cache[i])
        free(self._head_buf)
        free(self._spans)
        Py_XDECREF(self._body)

    cpdef start(self, bint head=False, bint discard_body=False):
        """Prepare for the next response. head: it answers a HEAD request.
        discard_body: count body bytes without keeping them (drain)."""
        llhttp_reset(&self._llhttp)
        self._head = head
        self._discard_body = discard_body
        self._reset_head()
        self._interim_seen = 0
        self._body_len = 0
        self._body_seen = 0
        self._event = EVENT_NONE
        self.message_complete = False
        self._keep_alive = False
        self._error_reason = NULL
        self._callback_error = None
        self._tail = b""
        self._fed = 0

    cdef void _reset_head(self) noexcept:
        self._region = NULL
        self._head_spans = 0
        self._head_len = 0
        self._reason_at = 0
        self._reason_len = 0
        self._nspans = 0
        self._nheaders = 0
        self._last_span = SPAN_NONE
        self._head_raw = 0
        self.headers_complete = False
        self.status_code = 0
        self._ka_timeout = -1.0
        self._ka_max = -1
        self._content_length = -1
        self._headers_cache = None

    def feed(self, data):
        """Parse bytes, bytearray or memoryview. Bytes after the end of the
        message are not parsed: they are kept in `tail`."""
        cdef Py_buffer view
        if PyBytes_CheckExact(data):
            # bytes are immutable and `data` is held for this call: no export needed.
            self._feed_buffer(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
            return
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            # view.buf stays valid until PyBuffer_Release below.
            self._feed_buffer(<const char*>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)

    cdef int _feed_buffer(self, const char* data, Py_ssize_t n) except -1:
        cdef Py_ssize_t used = self.feed_ptr(data, n)
        if used < n:
            self._tail = PyBytes_FromStringAndSize(data + used, n - used)
        elif self.message_complete:
            # An empty feed after the end: its tail is empty, not an earlier one.
            self._tail = b""
        return 0

    def feed_eof(self):
        """The peer closed the connection. Completes a body delimited by the
        close; raises RemoteProtocolError when the response was cut short."""
        if not self.finish():
            raise RemoteProtocolError(
                "invalid response: the connection closed before the response was complete "
                f"({self._fed} bytes received)")

    cdef Py_ssize_t feed_ptr(self, const char* p, Py_ssize_t n) except -1:
        cdef const char* cur = p
        cdef const char* end = p + n
        cdef const char* pos
        cdef llhttp_errno_t err
        if self._error_reason != NULL:
            # httpool refused this response, which may leave llhttp in no error
            # state: the refusal stands until start().
            self._raise_error(HPE_USER, p, n, p)
        if self.message_complete:
            return 0
        while True:
            self._event = EVENT_NONE
            err = llhttp_execute(&self._llhttp, cur, end - cur)
            # The spans point into p[:n], valid until this method returns.
            self._flush_head()
            if err == HPE_OK:
                if not self.headers_complete:
                    self._head_raw += end - cur
                    if self._head_raw > self.max_header_bytes:
                        self._error_reason = "response head larger than the limit"
                        self._raise_error(HPE_USER, p, n, end)
                self._fed += n
                return n
            pos = llhttp_get_error_pos(&self._llhttp)
            if err != HPE_PAUSED:
                if self._error_reason == NULL:
                    self._report_open_span(cur, pos)
                    if self._error_reason != NULL:
                        err = HPE_USER
                if (not self.headers_complete and self._error_reason == NULL
                        and cur <= pos <= end and self._head_raw + (pos - cur) > self.max_header_bytes):
                    # The head crossed its limit before the byte llhttp refused:
                    # the limit is the first fault, however the input was cut.
                    self._error_reason = "response head larger than the limit"
                    err = HPE_USER
                self._raise_error(err, p, n, pos)
            llhttp_resume(&self._llhttp)
            if self._event == EVENT_HEADERS:
                self._head_raw += pos - cur
                cur = pos
                self._headers_complete(p, n, pos)
            elif self._event == EVENT_MESSAGE:
                cur = pos
                if 100 <= self._llhttp.status_code < 200:
                    self._skip_interim(p, n, pos)
                    continue
                self._fed += cur - p
                return cur - p

    cdef int _report_open_span(self, const char* cur, const char* pos) except -1:
        """llhttp refused a byte inside a span it has not reported (a header
        name, say): report the span up to that byte, as llhttp does when its
        input ends there, so that a limit the span crosses (the header count)
        is the fault found, however the input was cut."""
        cdef const char* start = <const char*>self._llhttp._span_pos0
        if start != NULL and cur <= start <= pos:
            (<llhttp_span_cb>self._llhttp._span_cb0)(&self._llhttp, start, pos)
        return 0

    cdef int _flush_head(self) except -1:
        """Copy the head bytes the last llhttp_execute() call reported."""
        cdef Py_ssize_t size, cap
        cdef char* grown
        if self._region == NULL:
            return 0
        size = self._region_end - self._region
        if self._head_len + size > self._head_cap:
            cap = self._head_cap * 2
            while cap < self._head_len + size:
                cap *= 2
            grown = <char*>realloc(self._head_buf, cap)
            if grown == NULL:
                raise MemoryError("out of memory for the response head")
            self._head_buf = grown
            self._head_cap = cap
        memcpy(self._head_buf + self._head_len, self._region, size)
        self._head_len += size
        self._region = NULL
        return 0

    cdef int _headers_complete(self, const char* p, Py_ssize_t n, const char* pos) except -1:
        cdef unsigned long long length
        cdef int status
        self.headers_complete = True
        self.status_code = self._llhttp.status_code
        self._nheaders = self._nspans
        # `headers` read while the head was incomplete cached fewer lines.
        self._headers_cache = None
        if self._head_raw > self.max_header_bytes:
            self._error_reason = "response head larger than the limit"
            self._raise_error(HPE_USER, p, n, pos)
        if self._llhttp.status_code == 101 or self._llhttp.upgrade:
            self._error_reason = "protocol upgrade (101 Switching Protocols) is not supported"
            self._raise_error(HPE_USER, p, n, pos)
        if self._scan_headers():
            self._error_reason = "tab in a Transfer-Encoding or Connection value, which llhttp misreads"
            self._raise_error(HPE_USER, p, n, pos)
        status = self._llhttp.status_code
        if (self._llhttp.flags & F_CONTENT_LENGTH and not self._llhttp.flags & F_CHUNKED
                and not self._head and status >= 200 and status != 204 and status != 304):
            length = self._llhttp.content_length
            self._content_length = <long long>length
            if self.max_body_size >= 0 and length > <unsigned long long>self.max_body_size:
                self._error_reason = "Content-Length larger than the body limit"
                self._raise_error(HPE_USER, p, n, pos)
            if not self._discard_body and length > 0:
                self._reserve_body(<Py_ssize_t>min(length, <unsigned long long>MAX_BODY_PREALLOC), True)
        return 0

    cdef int _skip_interim(self, const char* p, Py_ssize_t n, const char* pos) except -1:
        # Not the response the caller waits for, even when it is one too many.
        self.message_complete = False
        self._interim_seen += 1
        if self._interim_seen > self.max_interim:
            self._error_reason = "more interim (1xx) responses than the limit"
            self._raise_error(HPE_USER, p, n, pos)
        # The final response starts afresh, whatever the 1xx said of keep-alive.
        llhttp_reset(&self._llhttp)
        self._reset_head()
        return 0

    cdef int finish(self) except -1:
        cdef llhttp_errno_t err
        if self.message_complete:
            return 1
        if (self._callback_error is not None or self._error_reason != NULL
                or llhttp_get_errno(&self._llhttp) not in (HPE_OK, HPE_PAUSED)):
            return 0
        self._event = EVENT_NONE
        err = llhttp_finish(&self._llhttp)
        if err == HPE_PAUSED:
            llhttp_resume(&self._llhttp)
        return 1 if self.message_complete else 0

    cdef char* body_space(self, Py_ssize_t want) except NULL:
        self._reserve_body(want)
        return PyBytes_AS_STRING(<object>self._body) + self._body_len

    cdef int _reserve_body(self, Py_ssize_t extra, bint exact=False) except -1:
        """Room for `extra` more body bytes. exact: the size is known (from
        Content-Length), so allocate just that; else grow geometrically."""
        cdef Py_ssize_t need = self._body_len + extra
        cdef Py_ssize_t cap
        if self._body != NULL and need <= self._body_cap:
            return 0
        cap = need if exact else max(self._body_cap * 2, FIRST_BODY_CAP, need)
        if self._body == NULL:
            # Only size 0 gives a shared singleton; cap is at least 1.
            obj = PyBytes_FromStringAndSize(NULL, cap)
            Py_INCREF(obj)   # the parser's own reference, released in take_body()
            self._body = <PyObject*>obj
        else:
            _PyBytes_Resize(&self._body, cap)
        self._body_cap = cap
        return 0

    cpdef bytes take_body(self):
        """The whole body received so far; the parser keeps none of it."""
        cdef PyObject* obj = self._body
        if obj == NULL or self._body_len == 0:
            self._body_len = 0
            return b""
        self._body = NULL
        self._body_cap = 0
        if self._body_len != PyBytes_GET_SIZE(<object>obj):
            _PyBytes_Resize(&obj, self._body_len)
        self._body_len = 0
        result = <bytes>obj
        Py_DECREF(result)   # hand the parser's reference over to the caller
        return result

    cpdef bytes read_body(self, Py_ssize_t max_bytes):
        """Up to max_bytes of the body received so far, removed from the parser."""
        cdef bytes out
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        if max_bytes >= self._body_len:
            return self.take_body()
        cdef char* data = PyBytes_AS_STRING(<object>self._body)
        out = PyBytes_FromStringAndSize(data, max_bytes)
        memmove(data, data + max_bytes, self._body_len - max_bytes)
        self._body_len -= max_bytes
        return out

    cdef bint _scan_headers(self) noexcept:
        """One pass over the header lines: read Keep-Alive, and return whether
        a Transfer-Encoding, Connection or Proxy-Connection value holds an
        HTAB. llhttp 9.3.0 takes only SP as whitespace around the tokens of
        these fields: it reads "chunked<HTAB>" as another coding (the body
        would run to the close) and "close<HTAB>" as another option (the
        connection would be kept), so such a response is refused."""
        cdef Py_ssize_t i
        cdef HeaderSpan* span
        cdef const char* name
        cdef bint tab = False
        for i in range(self._nheaders):
            span = &self._spans[i]
            name = self._head_buf + span.name_at
            # Names are compared only when their length matches.
            if span.name_len == 10:
                if _equals_lower(name, 10, b"keep-alive"):
                    self._parse_keep_alive(self._head_buf + span.value_at, span.value_len)
                    continue
                if not _equals_lower(name, 10, b"connection"):
                    continue
            elif span.name_len == 17:
                if not _equals_lower(name, 17, b"transfer-encoding"):
                    continue
            elif span.name_len == 16:
                if not _equals_lower(name, 16, b"proxy-connection"):
                    continue
            else:
                continue
            if memchr(self._head_buf + span.value_at, b'\t', span.value_len) != NULL:
                tab = True
        return tab

    cdef void _parse_keep_alive(self, const char* v, Py_ssize_t end) noexcept:
        """Read `Keep-Alive: timeout=N, max=M` (RFC 2068 section 19.7.1.1)."""
        cdef Py_ssize_t j = 0, k_start, k_end, v_start, v_end
        cdef long number
        while j < end:
            # One parameter: [spaces] key [spaces] = [spaces] value [spaces] (, or end)
            while j < end and (_is_space(v[j]) or v[j] == b','):
                j += 1
            k_start = j
            while j < end and v[j] != b'=' and v[j] != b',' and not _is_space(v[j]):
                j += 1
            k_end = j
            while j < end and _is_space(v[j]):
                j += 1
            if j >= end or v[j] != b'=':
                continue
            j += 1
            while j < end and _is_space(v[j]):
                j += 1
            v_start = j
            while j < end and v[j] != b',' and not _is_space(v[j]):
                j += 1
            v_end = j
            number = _parse_digits(v + v_start, v_end - v_start)
            if number < 0:
                continue
            if _equals_lower(v + k_start, k_end - k_start, b"timeout") and self._ka_timeout < 0:
                self._ka_timeout = <double>number
            elif _equals_lower(v + k_start, k_end - k_start, b"max") and self._ka_max < 0:
                self._ka_max = number

    cdef int _raise_error(self, int err, const char* data, Py_ssize_t n, const char* pos) except -1:
        cdef Py_ssize_t at = pos - data if data <= pos <= data + n else n
        cdef const char* reason = self._error_reason
        cdef Py_ssize_t shown_from = max(0, at - 24)
        if reason == NULL:
            reason = llhttp_get_error_reason(&self._llhttp)
        # HPE_USER marks httpool's own refusals; llhttp's carry llhttp's code name.
        code = "" if err == HPE_USER else f" ({llhttp_errno_name(<llhttp_errno_t>err).decode()})"
        before = PyBytes_FromStringAndSize(data + shown_from, at - shown_from)
        after = PyBytes_FromStringAndSize(data + at, min(n - at, 24))
        shown = repr(before + after)
        caret = " " * (len(repr(before)) - 1) + "^"
        message = (f"invalid response: {reason.decode(errors='replace')}{code} "
                   f"at byte {self._fed + at}:\n    {shown}\n    {caret}")
        cause = self._callback_error
        self._callback_error = None
        raise RemoteProtocolError(message) from cause

    @property
    def reason(self):
        """The reason phrase, as bytes."""
        return self.reason_bytes()

    @property
    def http_version(self):
        """'1.1' or '1.0' (other versions as 'M.m')."""
        return self.version()

    @property
    def headers(self):
        """Header lines as a list of (name, value) bytes pairs, in order, with duplicates."""
        return self.header_list()

    cdef bytes reason_bytes(self):
        cdef const char* reason = self._head_buf + self._reason_at
        # Most responses on a connection share their reason: reuse its bytes.
        if self._reason is None or not _bytes_equal(<PyObject*>self._reason, reason, self._reason_len):
            self._reason = PyBytes_FromStringAndSize(reason, self._reason_len)
        return self._reason

    cdef str version(self):
        if self._llhttp.http_major == 1 and self._llhttp.http_minor == 1:
            return _VERSION_1_1
        if self._llhttp.http_major == 1 and self._llhttp.http_minor == 0:
            return _VERSION_1_0
        return f"{self._llhttp.http_major}.{self._llhttp.http_minor}"

    cdef list header_list(self):
        if self._headers_cache is None:
            self._headers_cache = self._header_list(0, self._nheaders)
        return self._headers_cache

    @property
    def trailers(self):
        """Trailer lines of a chunked body, as (name, value) bytes pairs."""
        if not self.message_complete:
            return []
        return self._header_list(self._nheaders, self._nspans)

    cdef list _header_list(self, Py_ssize_t first, Py_ssize_t stop):
        cdef list result = PyList_New(stop - first)
        cdef HeaderSpan* span
        cdef Py_ssize_t i, vlen
        cdef object pair
        for i in range(first, stop):
            span = &self._spans[i]
            vlen = span.value_len
            # Trailing whitespace is not part of the value (RFC 9110 section 5.5).
            while vlen > 0 and _is_space(self._head_buf[span.value_at + vlen - 1]):
                vlen -= 1
            pair = self._header_pair(i, self._head_buf + span.name_at, span.name_len,
                                     self._head_buf + span.value_at, vlen)
            Py_INCREF(pair)   # PyList_SET_ITEM steals a reference
            PyList_SET_ITEM(result, i - first, pair)
        return result

    cdef object _header_pair(self, Py_ssize_t line, const char* name, Py_ssize_t name_len,
                             const char* value, Py_ssize_t value_len):
        """The (name, value) tuple of header line `line`.

        A server answers alike on one connection (Server, Content-Type,
        Connection, Vary...), so the tuples of line `line` in the two previous
        responses are kept: one with equal bytes is reused (tuples are
        immutable). When only the value changed (Date, ETag), a kept tuple
        that nothing else references any more gets the new value in place, as
        CPython's own iterators reuse their result tuples: nobody can see it
        change. Two generations, because a caller typically still holds the
        previous response while the next one is parsed."""
        cdef PyObject** kept
        cdef PyObject* cached
        cdef PyObject* old_value
        cdef int k, free_slot = 1
        if line >= LINE_CACHE_SIZE:
            return (_name_bytes(name, name_len), PyBytes_FromStringAndSize(value, value_len))
        kept = &self._line_cache[2 * line]
        for k in range(2):
            cached = kept[k]
            if (cached != NULL and _bytes_equal(PyTuple_GET_ITEM(<object>cached, 1), value, value_len)
                    and _bytes_equal(PyTuple_GET_ITEM(<object>cached, 0), name, name_len)):
                return <object>cached
        for k in range(2):
            cached = kept[k]
            if cached == NULL:
                free_slot = k
            elif Py_REFCNT(<object>cached) == 1:
                free_slot = k
                if _bytes_equal(PyTuple_GET_ITEM(<object>cached, 0), name, name_len):
                    old_value = PyTuple_GET_ITEM(<object>cached, 1)
                    new_value = PyBytes_FromStringAndSize(value, value_len)
                    Py_INCREF(new_value)   # PyTuple_SET_ITEM steals a reference
                    PyTuple_SET_ITEM(<object>cached, 1, new_value)
                    Py_DECREF(<object>old_value)
                    return <object>cached
        pair = (_name_bytes(name, name_len), PyBytes_FromStringAndSize(value, value_len))
        Py_XDECREF(kept[free_slot])
        Py_INCREF(pair)   # the cache's own reference, released in __dealloc__
        kept[free_slot] = <PyObject*>pair
        return pair

    @property
    def keep_alive(self):
        """Whether the connection may carry another request after this response
        (HTTP version and Connection header; False until the message is complete)."""
        return self.message_complete and self._keep_alive

    @property
    def keep_alive_timeout(self):
        """The server's `Keep-Alive: timeout=N` in seconds, or None."""
        return None if self._ka_timeout < 0 else self._ka_timeout

    @property
    def keep_alive_max(self):
        """The server's `Keep-Alive: max=M`, or None."""
        return None if self._ka_max < 0 else self._ka_max

    @property
    def content_length(self):
        """The Content-Length of a response that has a body framed by it, else None."""
        return None if self._content_length < 0 else self._content_length

    @property
    def chunked(self):
        """Whether the body is chunked."""
        return bool(self._llhttp.flags & F_CHUNKED)

    @property
    def needs_eof(self):
        """Whether the body ends only when the server closes the connection."""
        return self.headers_complete and not self.message_complete and llhttp_message_needs_eof(&self._llhttp) == 1

    @property
    def body_received(self):
        """Body bytes parsed so far in this message (kept or discarded)."""
        return self._body_seen

    @property
    def buffered_body(self):
        """Body bytes held by the parser, not yet taken."""
        return self._body_len

    @property
    def tail(self):
        """Bytes that followed the end of the message in the last feed."""
        return self._tail
