from libc.stdint cimport uint32_t
from cpython.object cimport PyObject

from httpool._llhttp cimport llhttp_t


# Where one header line's name and value sit in ResponseParser._head.
cdef struct HeaderSpan:
    uint32_t name_at
    uint32_t name_len
    uint32_t value_at
    uint32_t value_len
    uint32_t folds        # obs-folds in the value, each kept as one SP


cdef enum:
    # Header lines whose tuples are kept for reuse by the next response.
    LINE_CACHE_SIZE = 32


# What stopped the last llhttp_execute() call besides running out of bytes.
cdef enum ParseEvent:
    EVENT_NONE = 0
    EVENT_HEADERS = 1    # the header block ended (llhttp paused in on_headers_complete)
    EVENT_MESSAGE = 2    # the whole message ended (paused in on_message_complete)


# Which part of a header line the last span callback delivered.
cdef enum SpanKind:
    SPAN_NONE = 0
    SPAN_NAME = 1
    SPAN_VALUE = 2


cdef class ResponseParser:
    cdef:
        llhttp_t _llhttp

        # Limits, fixed at construction (keyword arguments of the same name;
        # a breach is a RemoteProtocolError that names the limit and its value).
        Py_ssize_t max_header_bytes   # raw bytes of the status line and header block (64 to
                                      #   2**31 - 1; default 65536); also of each chunk-size
                                      #   line with its extensions, and of the trailer section
        Py_ssize_t max_headers        # header lines, trailers included (1 to 65536; default 100)
        Py_ssize_t max_body_size      # body bytes, by Content-Length or as they arrive
                                      #   (None: -1, no limit; the default)
        Py_ssize_t max_interim        # interim 1xx responses before the final one (default 5)

        # Per message, set by start().
        bint _head                    # the request was HEAD: no body follows
        bint _discard_body            # count body bytes, keep none (drain)

        # Status line and headers, copied out of llhttp's spans (they only live
        # for the duration of a callback) into one growing byte buffer.
        char* _head_buf
        Py_ssize_t _head_len
        Py_ssize_t _head_cap
        uint32_t _reason_at
        uint32_t _reason_len
        const char* _region           # head bytes of the current llhttp_execute()
        const char* _region_end       #   call, not yet copied (see _head_offset)
        Py_ssize_t _head_spans        # bytes of the spans reported, for the head limit
        HeaderSpan* _spans
        Py_ssize_t _nspans            # header and trailer lines seen
        Py_ssize_t _nheaders          # lines before the header block ended
        SpanKind _last_span
        Py_ssize_t _head_raw          # raw bytes of the head consumed so far
        Py_ssize_t _interim_seen

        # obs-fold (RFC 9112 section 5.2), which llhttp refuses: see _cross_fold.
        bint _in_fold                 # in an obs-fold's whitespace, which the value does not keep

        # Body: a bytes object httpool owns alone (refcount 1) and grows in
        # place, so the finished body is handed out without another copy.
        PyObject* _body
        Py_ssize_t _body_len          # bytes held in _body
        Py_ssize_t _body_cap          # bytes allocated in _body
        # For the connection layer's "cut short" messages ("after 10 of 100
        # body bytes"), with _content_length and mid_chunk below.
        Py_ssize_t _body_seen         # body bytes parsed in this message (kept or discarded)
        readonly bint mid_chunk       # a chunk's size line was read, not yet all its data

        # Chunked framing: bytes that are not chunk data (chunk-size lines,
        # extensions, CRLFs, the trailer section) since the last data byte.
        bint _count_framing           # the body is chunked
        Py_ssize_t _framing_run
        const char* _data_end         # where the last data byte ended, or the current input began

        # Outcome.
        ParseEvent _event
        readonly int status_code      # of the final response, 0 until its head is parsed
        readonly bint headers_complete
        readonly bint message_complete
        # The framing is questionable (RFC 9112 section 6.1: Transfer-Encoding in
        # an HTTP/1.0 response; chunked applied more than once), or persistence
        # is (an obs-fold in Connection, which llhttp misreads): the response is
        # read, but the connection must not carry another one (_keep_alive is False).
        readonly bint unsafe_framing
        readonly bint content_encoded # a Content-Encoding field is present (see httpool.policies.decoding)
        readonly bint sets_cookie     # a Set-Cookie field is present (see httpool.policies.cookies)
        bint _keep_alive              # llhttp's verdict and not unsafe_framing, once complete
        double _ka_timeout            # Keep-Alive: timeout=N, -1 when absent
        long _ka_max                  # Keep-Alive: max=M, -1 when absent
        long long _content_length     # the body's Content-Length, -1 when not framed by one
        const char* _error_reason     # set by a callback that failed the parse
        Py_ssize_t _error_limit       # the value of the limit _error_reason names, or -1

        # Bytes that followed the end of the message in the last feed.
        bytes _tail

        list _headers_cache
        bytes _reason                 # the last reason phrase handed out
        # Owned (name, value) tuples of the previous responses, two per line
        # (see _header_pair), or NULL.
        PyObject* _line_cache[2 * LINE_CACHE_SIZE]
        object _callback_error        # a Python exception caught in a callback
        Py_ssize_t _fed               # bytes consumed by earlier feeds, for error offsets

    cdef int _feed_buffer(self, const char* data, Py_ssize_t n) except -1

    # Begin a new response on the same connection.
    cpdef start(self, bint head=*, bint discard_body=*)

    # Parse n bytes at p. Returns how many were consumed: fewer than n only
    # when the message ended, the rest being bytes the server sent after it.
    cdef Py_ssize_t feed_ptr(self, const char* p, Py_ssize_t n) except -1
    # The peer closed. Returns 1 when that completed the message (a body
    # delimited by the close), 0 when the message was cut short.
    cdef int finish(self) except -1

    # Direct body writes: a pointer to free bytes at the end of the body buffer.
    # Bytes received there and then passed to feed_ptr() are kept where they are
    # instead of being copied. The buffer grows only as bytes arrive
    # (geometrically, from at most 1 MiB sized by Content-Length), so *room is
    # set to the bytes free there, 1 to `want`: receive at most that many.
    cdef char* body_space(self, Py_ssize_t want, Py_ssize_t* room) except NULL
    # How far a body got, for messages: "after 5 of 10 body bytes".
    cdef str body_progress(self)

    # The response's status line and headers, for the connection layer.
    cdef bytes reason_bytes(self)
    cdef str version(self)                 # "1.1", "1.0"
    cdef list header_list(self)

    # Body handed to the caller.
    cpdef bytes take_body(self)
    cpdef bytes read_body(self, Py_ssize_t max_bytes)

    cdef void _reset_head(self) noexcept
    cdef int _report_open_span(self, const char* cur, const char* pos) except -1
    cdef int _flush_head(self) except -1
    cdef int _headers_complete(self, const char* p, Py_ssize_t n, const char* pos) except -1
    cdef int _skip_interim(self, const char* p, Py_ssize_t n, const char* pos) except -1
    cdef list _header_list(self, Py_ssize_t first, Py_ssize_t stop)
    cdef object _header_pair(self, Py_ssize_t line, const char* name, Py_ssize_t name_len,
                             const char* value, Py_ssize_t value_len)
    cdef int _reserve_body(self, Py_ssize_t extra, bint exact=*) except -1
    cdef const char* _scan_headers(self) noexcept
    cdef const char* _refused_fold(self, const char* cur, const char* pos, void** node) noexcept
    cdef int _cross_fold(self, const char* p, Py_ssize_t n, const char* fold, void* node) except -1
    cdef int _join_folded_line(self) except -1
    cdef int _grow_head(self, Py_ssize_t size) except -1
    cdef int _count_raw(self, const char* p, Py_ssize_t n, const char* cur, const char* stop) except -1
    cdef void _parse_keep_alive(self, const char* value, Py_ssize_t length) noexcept
    cdef int _raise_error(self, int err, const char* data, Py_ssize_t n, const char* pos) except -1
