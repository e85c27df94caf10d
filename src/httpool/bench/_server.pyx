# cython: language_level=3
"""A fixed-response HTTP/1.1 server for ``python -m httpool bench``.

When nginx is not installed, the benchmark needs a server that ships with
httpool and is fast enough not to be what is measured. This is that server: one
background thread running an epoll loop over non-blocking sockets, written in
Cython and run entirely without the GIL, so the client being measured in the
same process never waits for it except for a CPU.

    GET /small   200, "Hello, world!" (13 bytes)
    GET /1m      200, 1 MiB (16-byte lines holding their offset, as
                 tests/support/nginx.py serves it)
    anything     404
    HEAD         the same heads, without the body

Strategy
--------
Every response is prebuilt at start-up, head and body in one bytes object, in
two variants: as is and with ``Connection: close``. Answering a request is
pointing the connection's output at one of them; sending is ``send`` from that
pointer until the kernel's buffer is full.

A request is parsed just enough to answer it: the head ends at the first
CRLFCRLF (RFC 9112 section 2.1); the request line gives the method (HEAD or
not), the target (its path before any ``?``) and the version; among the header
lines only Content-Length (a body to read and discard before answering),
Transfer-Encoding (refused: 400, then close) and Connection (``close``) count.
HTTP/1.0 requests get the closing variant. Nothing else is validated: this is a
benchmark peer, not a general server. Empty lines before a request line are
skipped (RFC 9112 section 2.2).

Each client is registered once, edge-triggered, for input and output. An event
runs ``_service``, which advances the connection as far as it goes without
blocking, in this order: send what is owed; then take the next request already
buffered; then read more. So a pipelined burst is answered in order, one
response at a time, and a connection whose output is stuck reads nothing more
until the client reads (edge-triggered epoll reports the next output edge). A
response is owed only once its request body has been read, so a client that is
still sending a large body is never blocked by an answer it has not read.

``stop()`` writes to an eventfd the loop watches; the loop closes every client
and returns, and ``stop()`` joins the thread and closes the rest.
"""

from libc.stdlib cimport malloc, free
from libc.string cimport memmove, memcmp, memset
from libc.stdint cimport uint64_t

from httpool._sys cimport *
from httpool.bench._sys cimport *

import threading


# A larger Content-Length is refused (long before the arithmetic could overflow).
cdef unsigned long long MAX_BODY_LENGTH = 10 ** 15


cdef struct RequestHead:
    Answer answer
    bint head_only
    bint close
    unsigned long long body_length


def _pattern(size: int) -> bytes:
    """16-byte lines holding their offset: a lost or repeated piece shows."""
    return b"".join(b"%015d\n" % offset for offset in range(0, size, 16))[:size]


SMALL_BODY = b"Hello, world!"
ONE_MIB_BODY = _pattern(1 << 20)

# (status line, content type, body), in the order of the Answer enum.
_ANSWERS = (
    (b"200 OK", b"text/plain", SMALL_BODY),
    (b"200 OK", b"application/octet-stream", ONE_MIB_BODY),
    (b"404 Not Found", b"text/plain", b"not found\n"),
    (b"400 Bad Request", b"text/plain", b"bad request\n"),
)


def _build(bytes status, bytes content_type, bytes body, bint close):
    """One response: (head + body, head size)."""
    head = (b"HTTP/1.1 %s\r\nServer: httpool-benchserver\r\nContent-Type: %s\r\n"
            b"Content-Length: %d\r\n%s\r\n"
            % (status, content_type, len(body), b"Connection: close\r\n" if close else b""))
    return head + body, len(head)


cdef inline size_t _find_byte(const char* data, size_t size, char byte) noexcept nogil:
    """Index of the first `byte` in data[:size], or size."""
    cdef size_t i = 0
    while i < size and data[i] != byte:
        i += 1
    return i


cdef bint _has_token_close(const char* value, size_t size) noexcept nogil:
    """Whether a Connection header value mentions "close" (any case)."""
    cdef size_t i = 0
    while i + 5 <= size:
        if strncasecmp(value + i, b"close", 5) == 0:
            return True
        i += 1
    return False


cdef int _parse_head(const char* head, size_t size, RequestHead* out) noexcept nogil:
    """Parse a request head (size bytes, ending with CRLFCRLF) into out.
    Returns 0, or -1 when the request cannot be answered (ANSWER_BAD)."""
    cdef size_t line_end = _find_byte(head, size, c'\r')
    cdef size_t method_end = _find_byte(head, line_end, c' ')
    cdef size_t target_start, target_end, path_end, version_start, pos, next_line, value_start
    cdef unsigned long long length
    if method_end == 0 or method_end == line_end:
        return -1
    target_start = method_end + 1
    target_end = target_start + _find_byte(head + target_start, line_end - target_start, c' ')
    if target_end == line_end:
        return -1
    version_start = target_end + 1
    out.head_only = method_end == 4 and memcmp(head, b"HEAD", 4) == 0
    out.close = line_end - version_start == 8 and memcmp(head + version_start, b"HTTP/1.0", 8) == 0
    out.body_length = 0
    path_end = target_start + _find_byte(head + target_start, target_end - target_start, c'?')
    if path_end - target_start == 6 and memcmp(head + target_start, b"/small", 6) == 0:
        out.answer = ANSWER_SMALL
    elif path_end - target_start == 3 and memcmp(head + target_start, b"/1m", 3) == 0:
        out.answer = ANSWER_ONE_MIB
    else:
        out.answer = ANSWER_NOT_FOUND

    # Header lines: each runs from pos to the next CR (the head ends with CRLFCRLF,
    # so the last line found before size - 2 is the last header line).
    pos = line_end + 2
    while pos + 2 < size:
        next_line = pos + _find_byte(head + pos, size - pos, c'\r')
        if next_line - pos >= 15 and strncasecmp(head + pos, b"content-length:", 15) == 0:
            value_start = pos + 15
            while value_start < next_line and (head[value_start] == c' ' or head[value_start] == c'\t'):
                value_start += 1
            if value_start == next_line:
                return -1
            length = 0
            while value_start < next_line and c'0' <= head[value_start] <= c'9':
                if length > MAX_BODY_LENGTH:
                    return -1
                length = length * 10 + <unsigned long long>(head[value_start] - c'0')
                value_start += 1
            while value_start < next_line and (head[value_start] == c' ' or head[value_start] == c'\t'):
                value_start += 1
            if value_start != next_line:
                return -1
            out.body_length = length
        elif next_line - pos >= 18 and strncasecmp(head + pos, b"transfer-encoding:", 18) == 0:
            return -1  # chunked request bodies are not read: refused
        elif next_line - pos >= 11 and strncasecmp(head + pos, b"connection:", 11) == 0:
            if _has_token_close(head + pos + 11, next_line - pos - 11):
                out.close = True
        pos = next_line + 2
    return 0


cdef inline void _consume(Slot* client, size_t count) noexcept nogil:
    """Drop the first `count` buffered bytes."""
    client.in_len -= count
    if client.in_len:
        memmove(client.in_buf, client.in_buf + count, client.in_len)


cdef class BenchServer:
    """The fixed-response server, listening on host:port (port 0: one the
    kernel picks; read .port after start()).

    >>> with BenchServer() as server:
    ...     url = f"{server.url}/small"
    """

    def __cinit__(self):
        self.listen_fd = -1
        self.epfd = -1
        self.wake_fd = -1
        self.clients = NULL

    def __init__(self, str host="127.0.0.1", int port=0):
        cdef int close_variant, answer
        cdef list keep = []
        self.host = host
        self.port = port
        for close_variant in range(2):
            for answer in range(<int>ANSWER_COUNT):
                data, head_size = _build(*_ANSWERS[answer], close_variant)
                keep.append(data)
                # Valid while self._keep holds `data` (bytes are immutable).
                self.answers[close_variant][answer].data = data
                self.answers[close_variant][answer].size = len(data)
                self.answers[close_variant][answer].head_size = head_size
        self._keep = tuple(keep)

    def __dealloc__(self):
        # Reached only when stop() was not called; the loop thread, which holds
        # a reference to self, has ended by then.
        self._close_fds()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return (f"<BenchServer {self.url} {state}: {self.accepted} connections, "
                f"{self.requests} requests>")

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def running(self):
        return self._thread is not None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        """Bind, listen, and serve from a background thread."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        self._open_listener(self.port)
        self._thread = threading.Thread(target=self._serve, name=f"httpool-benchserver:{self.port}",
                                        daemon=True)
        self._thread.start()

    def stop(self):
        """Close every connection and the listening socket; wait for the thread."""
        cdef uint64_t one = 1
        if self._thread is None:
            return
        write(self.wake_fd, &one, sizeof(one))
        self._thread.join()
        self._thread = None
        self._close_fds()

    def _serve(self):
        with nogil:
            self._loop()

    # ------------------------------------------------------------ setup

    cdef int _open_listener(self, int port) except -1:
        cdef sockaddr_in address
        cdef socklen_t size = sizeof(address)
        cdef int one = 1, err
        cdef bytes host_b = self.host.encode()
        cdef epoll_event event
        memset(&address, 0, sizeof(address))
        address.sin_family = AF_INET
        address.sin_port = htons(port)
        if inet_pton(AF_INET, host_b, &address.sin_addr) != 1:
            raise ValueError(f"not an IPv4 address: {self.host!r}")
        self.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
        self.epfd = epoll_create1(EPOLL_CLOEXEC)
        self.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
        if self.listen_fd < 0 or self.epfd < 0 or self.wake_fd < 0:
            err = errno
            self._close_fds()
            raise OSError(err, f"bench server: cannot create sockets: {strerror(err).decode()}")
        setsockopt(self.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))
        if (bind(self.listen_fd, <sockaddr*>&address, sizeof(address)) < 0
                or listen(self.listen_fd, BACKLOG) < 0
                or getsockname(self.listen_fd, <sockaddr*>&address, &size) < 0):
            err = errno
            self._close_fds()
            raise OSError(err, f"bench server: cannot listen on {self.host}:{port}: "
                               f"{strerror(err).decode()}")
        self.port = ntohs(address.sin_port)
        self.listener.kind = SLOT_LISTENER
        self.listener.fd = self.listen_fd
        self.waker.kind = SLOT_WAKE
        self.waker.fd = self.wake_fd
        # The listener is level-triggered: whatever _accept_all leaves is reported again.
        event.events = EPOLLIN
        event.data.ptr = &self.listener
        epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.listen_fd, &event)
        event.data.ptr = &self.waker
        epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.wake_fd, &event)
        return 0

    cdef void _close_fds(self) noexcept:
        if self.listen_fd >= 0:
            close(self.listen_fd)
            self.listen_fd = -1
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1
        if self.wake_fd >= 0:
            close(self.wake_fd)
            self.wake_fd = -1

    # ------------------------------------------------------------ the loop

    cdef void _loop(self) noexcept nogil:
        cdef epoll_event events[EVENT_BATCH]
        cdef int count, i
        cdef Slot* slot
        cdef bint stopping = False
        while not stopping:
            count = epoll_wait(self.epfd, events, EVENT_BATCH, -1)
            if count < 0 and errno != EINTR:
                break
            for i in range(count):
                slot = <Slot*>events[i].data.ptr
                if slot.kind == SLOT_CLIENT:
                    if self._service(slot) < 0:
                        self._drop(slot)
                elif slot.kind == SLOT_LISTENER:
                    self._accept_all()
                else:  # SLOT_WAKE: stop() was called
                    stopping = True
        while self.clients != NULL:
            self._drop(self.clients)

    cdef void _accept_all(self) noexcept nogil:
        cdef int fd, one = 1
        cdef Slot* client
        cdef epoll_event event
        while True:
            fd = accept4(self.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)
            if fd < 0:
                if errno == EINTR:
                    continue
                return  # EAGAIN: all taken; EMFILE and the like: the listener stays ready
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
            client = <Slot*>malloc(sizeof(Slot))
            if client == NULL:
                close(fd)
                continue
            memset(client, 0, sizeof(Slot))
            client.kind = SLOT_CLIENT
            client.fd = fd
            event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET
            event.data.ptr = client
            if epoll_ctl(self.epfd, EPOLL_CTL_ADD, fd, &event) < 0:
                close(fd)
                free(client)
                continue
            client.next = self.clients
            if self.clients != NULL:
                self.clients.prev = client
            self.clients = client
            self.accepted += 1

    cdef int _service(self, Slot* client) noexcept nogil:
        """Advance a connection until it would block: send what is owed, then
        take the next buffered request, then read. -1: close it."""
        cdef ssize_t n
        while True:
            if client.out_left:
                n = send(client.fd, client.out, client.out_left, MSG_NOSIGNAL)
                if n < 0:
                    if errno == EINTR:
                        continue
                    return 0 if errno == EAGAIN else -1
                client.out += n
                client.out_left -= n
                if client.out_left == 0 and client.close_after:
                    return -1
                continue
            if self._take_request(client):
                continue
            if client.in_len == MAX_HEAD:  # no end of head in MAX_HEAD bytes
                self._answer(client, ANSWER_BAD, False, True)
                client.in_len = 0
                continue
            n = recv(client.fd, client.in_buf + client.in_len, MAX_HEAD - client.in_len, 0)
            if n > 0:
                client.in_len += n
            elif n == 0:
                return -1
            elif errno == EAGAIN:
                return 0
            elif errno != EINTR:
                return -1

    cdef int _take_request(self, Slot* client) noexcept nogil:
        """Read the next request from the buffer: 1 when a response is now owed,
        0 when more bytes are needed."""
        cdef const char* end
        cdef size_t head_size, take
        cdef RequestHead request
        if client.body_left == 0:
            while client.in_len >= 2 and client.in_buf[0] == c'\r' and client.in_buf[1] == c'\n':
                _consume(client, 2)
            end = <const char*>memmem(client.in_buf, client.in_len, b"\r\n\r\n", 4)
            if end == NULL:
                return 0
            head_size = end - client.in_buf + 4
            if _parse_head(client.in_buf, head_size, &request) < 0:
                self._answer(client, ANSWER_BAD, False, True)
                client.in_len = 0
                return 1
            _consume(client, head_size)
            client.pending = request.answer
            client.pending_head_only = request.head_only
            client.pending_close = request.close
            client.body_left = request.body_length
            if client.body_left == 0:
                self._answer(client, request.answer, request.head_only, request.close)
                return 1
        take = client.in_len if client.in_len < client.body_left else <size_t>client.body_left
        _consume(client, take)
        client.body_left -= take
        if client.body_left:
            return 0
        self._answer(client, client.pending, client.pending_head_only, client.pending_close)
        return 1

    cdef void _answer(self, Slot* client, Answer answer, bint head_only, bint close) noexcept nogil:
        cdef Prebuilt* response = &self.answers[1 if close or answer == ANSWER_BAD else 0][<int>answer]
        client.out = response.data
        client.out_left = response.head_size if head_only else response.size
        client.close_after = close or answer == ANSWER_BAD
        self.requests += 1

    cdef void _drop(self, Slot* client) noexcept nogil:
        # close() removes fd from the epoll set: no epoll_ctl(DEL) needed.
        close(client.fd)
        if client.prev != NULL:
            client.prev.next = client.next
        else:
            self.clients = client.next
        if client.next != NULL:
            client.next.prev = client.prev
        free(client)
