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
  reports the final response. 101 and upgrades are refused, and so is a status
  line whose version is not HTTP/1.x (llhttp also takes 0.9 and 2.0).

Limits
------
Everything a server sends is bounded by a limit the caller can set, and a
breach is a RemoteProtocolError that names the limit and its value.
``max_header_bytes`` bounds the raw bytes of the head, and in a chunked body
the bytes between two chunks' data (a chunk-size line with its extensions)
and the trailer section: llhttp reads chunk extensions, leading zeros of a
chunk size and whitespace in trailers without limit, so these bytes are
counted as consumed (``_count_raw``), not as reported in spans.
``max_headers`` bounds header and trailer lines, ``max_interim`` the 1xx
responses, ``max_body_size`` the body: by its Content-Length before any body
byte, and by the bytes as they arrive. A Content-Length is the server's claim,
not memory it has paid for: the body buffer is sized from it up to 1 MiB, and
grows geometrically as bytes arrive past that.

Framing that is read but never trusted twice
--------------------------------------------
RFC 9112 section 6.1: "A server or client that receives an HTTP/1.0 message
containing a Transfer-Encoding header field MUST treat the message as if the
framing is faulty, even if a Content-Length is present, and close the
connection after processing the message"; and "A sender MUST NOT apply the
chunked transfer coding more than once to a message body". Such a response is
read as llhttp frames it, with ``unsafe_framing`` set and a keep-alive verdict
of False, so the connection is never reused after it.

obs-fold
--------
RFC 9112 section 5.2: "A user agent that receives an obs-fold in a response
message [...] MUST replace each received obs-fold with one or more SP octets
prior to interpreting the field value." llhttp refuses an obs-fold unless
LENIENT_HEADERS is set, and that flag also lets through whitespace before a
colon, a CR without LF and control characters in values: request smuggling
openings. So the flag is set for one byte only, the obs-fold's first SP or
HTAB, once llhttp has refused it there. Refusing it changes nothing in
llhttp but its error and its state, which is one of two (after a value's
CRLF, after an empty value's CRLF), learnt at import by letting llhttp read
such a line. The parser puts llhttp back in that state and gives it the byte
with the flag set, which at that point decides whether an obs-fold is taken
and nothing else; responses without an obs-fold pay nothing. The rest of the
fold's whitespace is dropped from the value, where one SP stands for the
whole fold. A fold in Content-Length or Transfer-Encoding is refused (the
framing of a response is read from one line, never pieced together), and one
in Connection means the connection is not reused: llhttp reads the tokens
after it apart from those before it.

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
from libc.string cimport memchr, memcmp, memcpy, memmove, strcmp, strlen
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_SET_ITEM

from httpool._llhttp cimport *
from httpool._exceptions import RemoteProtocolError

cdef extern from "Python.h":
    # Resizes a bytes object that nobody else references; on failure it frees
    # the object, sets *obj to NULL and raises MemoryError.
    int _PyBytes_Resize(PyObject** obj, Py_ssize_t newsize) except -1
    const Py_ssize_t PY_SSIZE_T_MAX

cdef enum:
    FIRST_HEAD_CAP = 1024
    FIRST_BODY_CAP = 16384
    # A Content-Length larger than this is not trusted for one allocation up
    # front: the buffer grows as bytes actually arrive.
    MAX_BODY_PREALLOC = 1024 * 1024
    # Offsets into the head buffer are uint32_t.
    MAX_HEADER_BYTES_LIMIT = 0x7fffffff
    # The span table is allocated whole at construction.
    MAX_HEADERS_LIMIT = 65536

# Refusals that name a limit: the message ends with "=<its value>".
cdef const char* HEAD_TOO_LARGE = "response head larger than max_header_bytes"
cdef const char* FRAMING_TOO_LARGE = (
    "chunk-size line or trailer section larger than max_header_bytes")
cdef const char* TOO_MANY_HEADERS = "more header fields than max_headers"
cdef const char* BODY_TOO_LARGE = "response body larger than max_body_size"
cdef const char* LENGTH_TOO_LARGE = "Content-Length announces a body larger than max_body_size"
cdef const char* TOO_MANY_INTERIM = "more interim (1xx) responses than max_interim"
cdef const char* FOLDED_FRAMING = "obs-fold in a Content-Length or Transfer-Encoding field"

cdef llhttp_settings_t _settings
llhttp_settings_init(&_settings)

cdef str _VERSION_1_1 = "1.1"
cdef str _VERSION_1_0 = "1.0"


cdef inline ResponseParser _owner(llhttp_t* p):
    return <ResponseParser>p.data


cdef inline int _fail(ResponseParser self, const char* reason) noexcept:
    self._error_reason = reason
    return HPE_USER


cdef inline int _fail_limit(ResponseParser self, const char* reason, Py_ssize_t limit) noexcept:
    self._error_reason = reason
    self._error_limit = limit
    return HPE_USER


cdef inline int _head_too_large(ResponseParser self) noexcept:
    # Past the head, spans are trailers: counted with the chunked framing.
    if self.headers_complete:
        return _fail_limit(self, FRAMING_TOO_LARGE, self.max_header_bytes)
    return _fail_limit(self, HEAD_TOO_LARGE, self.max_header_bytes)


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


cdef int cb_on_version_complete(llhttp_t* p) noexcept:
    if p.http_major != 1:
        # llhttp takes HTTP/0.9 and HTTP/2.0 status lines too; neither is an
        # answer to an HTTP/1.1 request.
        return _fail(_owner(p), "not an HTTP/1.x status line")
    return 0


cdef int cb_on_status(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef Py_ssize_t offset = _head_offset(self, at, n)
    if offset < 0:
        return _head_too_large(self)
    if self._reason_len == 0:
        self._reason_at = <uint32_t>offset
    self._reason_len += <uint32_t>n
    return 0


cdef int cb_on_header_field(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef HeaderSpan* span
    cdef Py_ssize_t offset = _head_offset(self, at, n)
    if offset < 0:
        return _head_too_large(self)
    if self._last_span != SPAN_NAME:
        # A new header line starts (a name may arrive in several spans).
        if self._nspans >= self.max_headers:
            return _fail_limit(self, TOO_MANY_HEADERS, self.max_headers)
        span = &self._spans[self._nspans]
        self._nspans += 1
        span.name_at = <uint32_t>offset
        span.name_len = 0
        span.value_at = 0
        span.value_len = 0
        span.folds = 0
        self._last_span = SPAN_NAME
    else:
        span = &self._spans[self._nspans - 1]
    span.name_len += <uint32_t>n
    return 0


cdef int cb_on_header_value(llhttp_t* p, const char* at, size_t n) noexcept:
    cdef ResponseParser self = _owner(p)
    cdef HeaderSpan* span = &self._spans[self._nspans - 1]
    cdef Py_ssize_t offset
    if self._in_fold:
        # An obs-fold's own whitespace: one SP stands for it (_join_folded_line).
        return 0
    offset = _head_offset(self, at, n)
    if offset < 0:
        return _head_too_large(self)
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
    if self._count_framing:
        # `at` and _data_end lie in the current input: the bytes between them
        # are chunk framing.
        self._framing_run += at - self._data_end
        if self._framing_run > self.max_header_bytes:
            return _fail_limit(self, FRAMING_TOO_LARGE, self.max_header_bytes)
        self._framing_run = 0
        self._data_end = at + n
    self._body_seen += <Py_ssize_t>n
    if self.max_body_size >= 0 and self._body_seen > self.max_body_size:
        return _fail_limit(self, BODY_TOO_LARGE, self.max_body_size)
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


cdef int cb_on_chunk_header(llhttp_t* p) noexcept:
    _owner(p).mid_chunk = p.content_length > 0
    return 0


cdef int cb_on_chunk_complete(llhttp_t* p) noexcept:
    _owner(p).mid_chunk = False
    return 0


cdef int cb_on_message_complete(llhttp_t* p) noexcept:
    cdef ResponseParser self = _owner(p)
    # Asked before llhttp's after_message_complete clears the flags.
    self._keep_alive = llhttp_should_keep_alive(p) and not self.unsafe_framing
    self.message_complete = True
    self._event = EVENT_MESSAGE
    return HPE_PAUSED


cdef void* _state_after(const char* head) except NULL:
    """llhttp's state (its private _current) once it has read `head` and waits
    for the next byte, learnt from llhttp itself."""
    cdef llhttp_settings_t none
    cdef llhttp_t probe
    llhttp_settings_init(&none)
    llhttp_init(&probe, HTTP_RESPONSE, &none)
    if llhttp_execute(&probe, head, strlen(head)) != HPE_OK:
        raise ImportError(f"llhttp refused {head!r}")
    return probe._current


# Where llhttp refuses an obs-fold from: after a value's CRLF, and after an
# empty value's CRLF (see _cross_fold).
cdef void* _AFTER_VALUE = _state_after(b"HTTP/1.1 200 OK\r\nX: a\r\n")
cdef void* _AFTER_EMPTY_VALUE = _state_after(b"HTTP/1.1 200 OK\r\nX:\r\n")


_settings.on_version_complete = cb_on_version_complete
_settings.on_status = cb_on_status
_settings.on_header_field = cb_on_header_field
_settings.on_header_value = cb_on_header_value
_settings.on_headers_complete = cb_on_headers_complete
_settings.on_body = cb_on_body
_settings.on_chunk_header = cb_on_chunk_header
_settings.on_chunk_complete = cb_on_chunk_complete
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


cdef int _count_chunked(const char* v, Py_ssize_t n) noexcept:
    """How many codings of the Transfer-Encoding value v[:n] are "chunked"."""
    cdef Py_ssize_t i = 0, start, stop
    cdef int count = 0
    while i < n:
        while i < n and (_is_space(v[i]) or v[i] == b','):
            i += 1
        start = i
        while i < n and v[i] != b',':
            i += 1
        stop = i
        while stop > start and _is_space(v[stop - 1]):
            stop -= 1
        if stop > start and _equals_lower(v + start, stop - start, b"chunked"):
            count += 1
    return count


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

    Limits (keyword-only; a response over one is refused with a
    RemoteProtocolError naming it): max_header_bytes, raw bytes of the status
    line and header block, and of each chunk-size line and the trailer
    section (64 to 2**31 - 1); max_headers, header and trailer lines (1 to
    65536); max_body_size, body bytes (None: no limit); max_interim, 1xx
    responses before the final one (0 or more).
    """

    def __cinit__(self, *, Py_ssize_t max_header_bytes=65536, Py_ssize_t max_headers=100,
                  max_body_size=None, Py_ssize_t max_interim=5):
        if not 64 <= max_header_bytes <= MAX_HEADER_BYTES_LIMIT:
            raise ValueError(f"max_header_bytes must be 64 to {MAX_HEADER_BYTES_LIMIT}, "
                             f"not {max_header_bytes}")
        if not 1 <= max_headers <= MAX_HEADERS_LIMIT:
            raise ValueError(f"max_headers must be 1 to {MAX_HEADERS_LIMIT}, not {max_headers}")
        if max_interim < 0:
            raise ValueError(f"max_interim must be 0 or more, not {max_interim}")
        if max_body_size is not None and max_body_size < 0:
            raise ValueError(f"max_body_size must be None or 0 or more, not {max_body_size}")
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        # A limit past what Py_ssize_t holds is no limit.
        self.max_body_size = -1 if max_body_size is None else min(max_body_size, PY_SSIZE_T_MAX)
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
        self._error_limit = -1
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
        self._in_fold = False
        self.unsafe_framing = False
        self.content_encoded = False
        self.sets_cookie = False
        self.mid_chunk = False
        self._count_framing = False
        self._framing_run = 0

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
        if self.finish():
            return
        where = f", {self.body_progress()}" if self.headers_complete else ""
        raise RemoteProtocolError(
            "invalid response: the connection closed before the response was complete"
            f"{where} ({self._fed} bytes received)")

    cdef str body_progress(self):
        if self._content_length >= 0:
            return f"after {self._body_seen} of {self._content_length} body bytes"
        if self.mid_chunk:
            return f"after {self._body_seen} body bytes, in the middle of a chunk"
        return f"after {self._body_seen} body bytes"

    cdef Py_ssize_t feed_ptr(self, const char* p, Py_ssize_t n) except -1:
        cdef const char* cur = p
        cdef const char* end = p + n
        cdef const char* stop
        cdef const char* pos
        cdef const char* fold
        cdef void* node
        cdef llhttp_errno_t err
        if self._error_reason != NULL:
            # httpool refused this response, which may leave llhttp in no error
            # state: the refusal stands until start().
            self._raise_error(HPE_USER, p, n, p)
        if self.message_complete:
            return 0
        while True:
            stop = end
            if self._in_fold:
                # llhttp gets the rest of the obs-fold's whitespace alone.
                stop = cur
                while stop < end and _is_space(stop[0]):
                    stop += 1
                if stop == cur < end:
                    self._in_fold = False
                    stop = end
            self._event = EVENT_NONE
            # p[:n] is valid until this method returns: on_body moves
            # _data_end in it.
            self._data_end = cur
            err = llhttp_execute(&self._llhttp, cur, stop - cur)
            # The spans point into p[:n], valid until this method returns.
            self._flush_head()
            if err == HPE_OK:
                if not self.headers_complete or self._count_framing:
                    self._count_raw(p, n, cur, stop)
                if stop < end:
                    self._in_fold = False
                    cur = stop
                    continue
                self._fed += n
                return n
            pos = llhttp_get_error_pos(&self._llhttp)
            if err == HPE_INVALID_HEADER_TOKEN and self._error_reason == NULL:
                fold = self._refused_fold(cur, pos, &node)
                if fold != NULL:
                    self._cross_fold(p, n, fold, node)
                    self._count_raw(p, n, cur, fold + 1)
                    cur = fold + 1
                    continue
            if err != HPE_PAUSED:
                if self._error_reason == NULL:
                    self._report_open_span(cur, pos)
                if self._error_reason == NULL and cur <= pos <= stop:
                    # A limit crossed before the byte llhttp refused is the
                    # first fault, however the input was cut.
                    if not self.headers_complete and self._head_raw + (pos - cur) > self.max_header_bytes:
                        _fail_limit(self, HEAD_TOO_LARGE, self.max_header_bytes)
                    elif (self._count_framing
                          and self._framing_run + (pos - self._data_end) > self.max_header_bytes):
                        _fail_limit(self, FRAMING_TOO_LARGE, self.max_header_bytes)
                if self._error_reason != NULL:
                    # httpool's refusal, which llhttp may report under the code
                    # of the callback that failed.
                    err = HPE_USER
                self._raise_error(err, p, n, pos)
            llhttp_resume(&self._llhttp)
            if not self.headers_complete or self._count_framing:
                self._count_raw(p, n, cur, pos)
            cur = pos
            if self._event == EVENT_HEADERS:
                self._headers_complete(p, n, pos)
            elif self._event == EVENT_MESSAGE:
                if 100 <= self._llhttp.status_code < 200:
                    self._skip_interim(p, n, pos)
                    continue
                self._fed += cur - p
                return cur - p

    cdef const char* _refused_fold(self, const char* cur, const char* pos, void** node) noexcept:
        """Where the obs-fold starts (its first SP or HTAB) that llhttp refused
        at pos, with the state it refused it from in *node; NULL when it
        refused something else. llhttp 9.3.0 refuses an obs-fold in two
        places, with HPE_INVALID_HEADER_TOKEN: after a value ("Unexpected
        whitespace after header value", at the SP or HTAB), and after an empty
        value ("Invalid header value char", just past it; the reason a bare LF
        after an empty value gets too, just past the LF). Another llhttp leaves
        every obs-fold refused, which is safe."""
        cdef const char* reason = llhttp_get_error_reason(&self._llhttp)
        if strcmp(reason, "Unexpected whitespace after header value") == 0:
            node[0] = _AFTER_VALUE
            return pos
        # pos - 1, past cur, was consumed by the failed call.
        if (strcmp(reason, "Invalid header value char") == 0 and self._last_span == SPAN_NAME
                and cur < pos and _is_space((pos - 1)[0])):
            node[0] = _AFTER_EMPTY_VALUE
            return pos - 1
        return NULL

    cdef int _cross_fold(self, const char* p, Py_ssize_t n, const char* fold, void* node) except -1:
        """Take llhttp past the obs-fold it refused at `fold`. Refusing it
        changed only llhttp's error and its state (_current), so llhttp is put
        back in the state it refused it from, then given the fold's first byte
        with LENIENT_HEADERS, which there decides whether an obs-fold is taken
        and nothing else. The value goes on after one SP."""
        cdef llhttp_errno_t err
        self._llhttp.error = HPE_OK
        self._llhttp._current = node
        self._in_fold = True
        llhttp_set_lenient_headers(&self._llhttp, 1)
        # fold lies in p[:n], valid until feed_ptr() returns.
        err = llhttp_execute(&self._llhttp, fold, 1)
        llhttp_set_lenient_headers(&self._llhttp, 0)
        if err != HPE_OK:
            self._raise_error(err, p, n, llhttp_get_error_pos(&self._llhttp))
        self._join_folded_line()
        return 0

    cdef int _join_folded_line(self) except -1:
        """llhttp went past an obs-fold: one SP stands for it in the value
        (RFC 9112 section 5.2), unless the value is still empty (the fold is
        then whitespace before it, which a value never keeps)."""
        cdef HeaderSpan* span = &self._spans[self._nspans - 1]
        span.folds += 1
        if self._last_span != SPAN_VALUE:
            return 0
        # The value ends the head buffer (the fold's whitespace was dropped):
        # its trailing whitespace goes too, then the SP.
        while span.value_len > 0 and _is_space(self._head_buf[span.value_at + span.value_len - 1]):
            span.value_len -= 1
        self._head_len = span.value_at + span.value_len
        self._grow_head(1)
        self._head_buf[self._head_len] = b' '
        self._head_len += 1
        span.value_len += 1
        return 0

    cdef int _count_raw(self, const char* p, Py_ssize_t n, const char* cur, const char* stop) except -1:
        """Count the bytes llhttp consumed from cur to stop: the head's against
        max_header_bytes, and in a chunked body those since the last data byte
        (a chunk-size line with its extensions, the trailer section) too."""
        if not self.headers_complete:
            self._head_raw += stop - cur
            if self._head_raw > self.max_header_bytes:
                self._raise_error(_fail_limit(self, HEAD_TOO_LARGE, self.max_header_bytes), p, n, stop)
        elif self._count_framing:
            # _data_end lies in [cur, stop]: where this call began, or on_body moved it.
            self._framing_run += stop - self._data_end
            if self._framing_run > self.max_header_bytes:
                self._raise_error(_fail_limit(self, FRAMING_TOO_LARGE, self.max_header_bytes), p, n, stop)
        return 0

    cdef int _report_open_span(self, const char* cur, const char* pos) except -1:
        """llhttp refused a byte inside a span it has not reported (a header
        name, say): report the span up to that byte, as llhttp does when its
        input ends there, so that a limit the span crosses (the header count)
        is the fault found, however the input was cut."""
        cdef const char* start = <const char*>self._llhttp._span_pos0
        if start != NULL and cur <= start <= pos:
            (<llhttp_span_cb>self._llhttp._span_cb0)(&self._llhttp, start, pos)
        return 0

    cdef int _grow_head(self, Py_ssize_t size) except -1:
        """Room for `size` more bytes in the head buffer."""
        cdef Py_ssize_t cap = self._head_cap * 2
        cdef char* grown
        if self._head_len + size <= self._head_cap:
            return 0
        while cap < self._head_len + size:
            cap *= 2
        grown = <char*>realloc(self._head_buf, cap)
        if grown == NULL:
            raise MemoryError("out of memory for the response head")
        self._head_buf = grown
        self._head_cap = cap
        return 0

    cdef int _flush_head(self) except -1:
        """Copy the head bytes the last llhttp_execute() call reported."""
        cdef Py_ssize_t size
        if self._region == NULL:
            return 0
        size = self._region_end - self._region
        if self._head_len + size > self._head_cap:
            self._grow_head(size)
        memcpy(self._head_buf + self._head_len, self._region, size)
        self._head_len += size
        self._region = NULL
        return 0

    cdef int _headers_complete(self, const char* p, Py_ssize_t n, const char* pos) except -1:
        cdef unsigned long long length
        cdef int status = self._llhttp.status_code
        cdef const char* refusal
        self.headers_complete = True
        self.status_code = status
        self._nheaders = self._nspans
        # Trailer spans count apart, with the rest of the chunked framing.
        self._head_spans = 0
        # `headers` read while the head was incomplete cached fewer lines.
        self._headers_cache = None
        if status == 101 or self._llhttp.upgrade:
            self._error_reason = "protocol upgrade (101 Switching Protocols) is not supported"
            self._raise_error(HPE_USER, p, n, pos)
        refusal = self._scan_headers()
        if refusal != NULL:
            self._error_reason = refusal
            self._raise_error(HPE_USER, p, n, pos)
        if self._llhttp.flags & F_TRANSFER_ENCODING and self._llhttp.http_minor == 0:
            # RFC 9112 section 6.1 (see the module docstring).
            self.unsafe_framing = True
        self._count_framing = self._llhttp.flags & F_CHUNKED != 0
        if (self._llhttp.flags & F_CONTENT_LENGTH and not self._llhttp.flags & F_CHUNKED
                and not self._head and status >= 200 and status != 204 and status != 304):
            length = self._llhttp.content_length
            self._content_length = <long long>length
            if self.max_body_size >= 0 and length > <unsigned long long>self.max_body_size:
                self._raise_error(_fail_limit(self, LENGTH_TOO_LARGE, self.max_body_size), p, n, pos)
            if not self._discard_body and length > 0:
                self._reserve_body(<Py_ssize_t>min(length, <unsigned long long>MAX_BODY_PREALLOC), True)
        return 0

    cdef int _skip_interim(self, const char* p, Py_ssize_t n, const char* pos) except -1:
        # Not the response the caller waits for, even when it is one too many.
        self.message_complete = False
        self._interim_seen += 1
        if self._interim_seen > self.max_interim:
            self._raise_error(_fail_limit(self, TOO_MANY_INTERIM, self.max_interim), p, n, pos)
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

    cdef char* body_space(self, Py_ssize_t want, Py_ssize_t* room) except NULL:
        cdef Py_ssize_t free, step
        free = self._body_cap - self._body_len if self._body != NULL else 0
        if free < want and free < FIRST_BODY_CAP:
            # Grow by at most the buffer's size (geometrically), and to the
            # exact size when the rest of the body fits in that step.
            step = min(want, max(self._body_cap, <Py_ssize_t>FIRST_BODY_CAP))
            self._reserve_body(step, step == want)
            free = self._body_cap - self._body_len
        room[0] = min(want, free)
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

    cdef const char* _scan_headers(self) noexcept:
        """One pass over the header lines: read Keep-Alive, count the chunked
        codings (more than one sets unsafe_framing, as does an obs-fold in
        Connection), and return why the head is refused, or NULL. Refused: an
        obs-fold in Content-Length or Transfer-Encoding (framing is read from
        one line, never pieced together), and an HTAB in a Transfer-Encoding,
        Connection or Proxy-Connection value: llhttp 9.3.0 takes only SP as
        whitespace around the tokens of these fields, and reads "chunked<HTAB>"
        as another coding (the body would run to the close) and "close<HTAB>"
        as another option (the connection would be kept). It also notes
        whether the response sets a cookie or has a Content-Encoding, so
        that a response with neither costs the policies nothing."""
        cdef Py_ssize_t i
        cdef HeaderSpan* span
        cdef const char* name
        cdef int chunked = 0
        for i in range(self._nheaders):
            span = &self._spans[i]
            name = self._head_buf + span.name_at
            # Names are compared only when their length matches.
            if span.name_len == 10:
                if _equals_lower(name, 10, b"keep-alive"):
                    self._parse_keep_alive(self._head_buf + span.value_at, span.value_len)
                    continue
                if _equals_lower(name, 10, b"set-cookie"):
                    self.sets_cookie = True
                    continue
                if not _equals_lower(name, 10, b"connection"):
                    continue
            elif span.name_len == 14:
                if span.folds and _equals_lower(name, 14, b"content-length"):
                    return FOLDED_FRAMING
                continue
            elif span.name_len == 17:
                if not _equals_lower(name, 17, b"transfer-encoding"):
                    continue
                if span.folds:
                    return FOLDED_FRAMING
                chunked += _count_chunked(self._head_buf + span.value_at, span.value_len)
            elif span.name_len == 16:
                if _equals_lower(name, 16, b"content-encoding"):
                    self.content_encoded = True
                    continue
                if not _equals_lower(name, 16, b"proxy-connection"):
                    continue
            else:
                continue
            if span.folds:
                # llhttp reads the tokens after an obs-fold apart from those
                # before it ("keep-alive\r\n ,close" as keep-alive).
                self.unsafe_framing = True
            if memchr(self._head_buf + span.value_at, b'\t', span.value_len) != NULL:
                return "tab in a Transfer-Encoding or Connection value, which llhttp misreads"
        if chunked > 1:
            self.unsafe_framing = True
        return NULL

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
        self._in_fold = False
        # A refused response is never complete, even when the fault (trailers
        # over their limit) is found as it ends.
        self.message_complete = False
        if reason == NULL:
            reason = llhttp_get_error_reason(&self._llhttp)
        # HPE_USER marks httpool's own refusals; llhttp's carry llhttp's code name.
        code = "" if err == HPE_USER else f" ({llhttp_errno_name(<llhttp_errno_t>err).decode()})"
        before = PyBytes_FromStringAndSize(data + shown_from, at - shown_from)
        after = PyBytes_FromStringAndSize(data + at, min(n - at, 24))
        shown = repr(before + after)
        caret = " " * (len(repr(before)) - 1) + "^"
        limit = f"={self._error_limit}" if self._error_reason != NULL and self._error_limit >= 0 else ""
        message = (f"invalid response: {reason.decode(errors='replace')}{limit}{code} "
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
