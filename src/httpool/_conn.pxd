from httpool._parser cimport ResponseParser
from httpool._reasons cimport *
from httpool._sys cimport addrinfo, iovec, msghdr


# send_step() results.
cdef enum:
    SEND_DONE = 0     # everything loaded went out
    SEND_AGAIN = 1    # the socket is full: wait until writable
    SEND_CUT = 2      # the server closed or reset mid-upload; read its answer

# recv_step() result when nothing has arrived yet (otherwise bytes, 0 at EOF).
cdef enum:
    RECV_AGAIN = -2


# The life of a connection: CONN_IDLE <-> CONN_ACTIVE -> CONN_CLOSED.
cdef enum ConnState:
    CONN_ACTIVE = 0   # checked out: a request is in flight or its body unread
    CONN_IDLE = 1     # in an idle stack
    CONN_CLOSED = 2   # the socket is closed; nothing more can happen


cdef class AddressList:
    cdef addrinfo* first              # owned; freed with the object

    @staticmethod
    cdef AddressList resolve(str host, int port, str origin)


cdef class Connection:
    cdef:
        int fd                        # the non-blocking socket
        int epfd                      # this connection's epoll instance, watching fd
        unsigned int watching         # the epoll events currently registered for fd
        readonly object key           # the origin: (scheme, host, port)
        public object slots           # the pool's OriginSlots that counts this connection
        readonly str origin           # "http://host:port", for messages
        readonly double created       # monotonic time of connect
        public double expires_at      # when idle: the time it stops being reusable
        public int expire_reason      # the CloseReason that applies at expires_at
        readonly long requests        # requests sent on this connection
        readonly ConnState state
        readonly int close_reason
        public bint reused            # the current request runs on a connection used before
        readonly Py_ssize_t received  # response bytes received for the current request
        bint _request_cut             # the request was not sent whole (early response)
        bint _client_close            # the request said Connection: close
        bint _stray_bytes             # bytes arrived after the end of the response
        readonly ResponseParser parser
        iovec _iov[2]                 # what is left to send of the loaded bytes
        msghdr _msg
        Py_buffer _views[2]           # held while _iov points into them
        int _nviews
        char* _rbuf                   # receive buffer for heads and framed bodies
        Py_ssize_t _rcap
        object __weakref__

    # Opening: blocking (_open), or in steps for a batch that waits in its own
    # epoll (connect_start, then connect_result once writable).
    cdef int _open(self, str host, int port, double deadline, double connect_timeout) except -1
    cdef int connect_start(self, addrinfo* ai) except -1
    cdef int connect_result(self) except -1
    cdef int _connected(self, int err) except -1
    cdef int connect_failed(self, int err) except -1

    # Waiting: the events that are ready; raises the timeout for `phase`.
    cdef unsigned int _wait(self, unsigned int events, double deadline, double phase_timeout,
                            int phase) except? 0
    cdef int _watch(self, unsigned int events) except -1
    # Transport: the two I/O primitives a TLS connection would override.
    cdef ssize_t _transport_send(self, msghdr* msg, int* err) noexcept
    cdef ssize_t _transport_recv(self, char* buf, size_t size, int* err) noexcept
    # Sending: _load the bytes, then send_step (without waiting; a batch
    # waits in its own epoll) or _send_loaded (waiting in this one's).
    cdef int _load(self, object head, object body) except -1
    cdef void _unload(self) noexcept
    cdef int send_step(self) except -1
    cdef int cut_request(self) except -1
    cdef int _send_loaded(self, double deadline, double write_timeout) except -1
    cdef int begin_request(self, bytes head, object body, bint client_close) except -1
    # Receiving: recv_step (without waiting) or _receive (waiting).
    cdef Py_ssize_t recv_step(self) except -1
    cdef int _eof(self) except -1
    cdef int _recv_failed(self, int err) except -1

    # One request.
    cpdef send_request(self, bytes head, object body, bint client_close,
                       double deadline, double write_timeout)
    cpdef bytes exchange(self, bytes head, object body, bint client_close, bint head_request,
                         bint read_body, double deadline, double read_timeout, double write_timeout)
    cpdef send_more(self, object data, double deadline, double write_timeout)
    cpdef receive_head(self, bint head_request, double deadline, double read_timeout)
    cpdef bytes read_body(self, double deadline, double read_timeout)
    cpdef bytes read_some(self, Py_ssize_t max_bytes, double deadline, double read_timeout)
    cpdef Py_ssize_t drain(self, Py_ssize_t limit, double deadline)
    cdef Py_ssize_t _receive(self, double deadline, double read_timeout) except -1

    # Reuse.
    cpdef bint reusable(self)
    cpdef int check_alive(self)
    cpdef set_idle(self, double now, double idle_timeout, double max_lifetime)
    cpdef close(self, int reason)
