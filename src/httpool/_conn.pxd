from httpool._parser cimport ResponseParser
from httpool._reasons cimport *
from httpool._sys cimport addrinfo, iovec, msghdr, sockaddr_un


# send_step() results.
cdef enum:
    SEND_DONE = 0     # everything loaded went out
    SEND_AGAIN = 1    # the socket is full: wait until writable
    SEND_CUT = 2      # the server closed or reset mid-upload; read its answer

# recv_step() result when nothing has arrived yet (otherwise bytes, 0 at EOF).
cdef enum:
    RECV_AGAIN = -2

# handshake_step() results.
cdef enum Handshake:
    HS_NONE = 0       # a plain connection: nothing to set up
    HS_READ = 1       # wait until readable, then call again
    HS_WRITE = 2      # wait until writable, then call again
    HS_FULL = 3       # TLS is up with a new session
    HS_RESUMED = 4    # TLS is up, resuming an earlier session


# The life of a connection: CONN_IDLE <-> CONN_ACTIVE -> CONN_CLOSED.
cdef enum ConnState:
    CONN_ACTIVE = 0   # checked out: a request is in flight or its body unread
    CONN_IDLE = 1     # in an idle stack
    CONN_CLOSED = 2   # the socket is closed; nothing more can happen


cdef class AddressList:
    cdef addrinfo* first              # from getaddrinfo, freed with the object; or &_unix
    cdef list parts                   # pinned addresses (Pool(resolve=...)): one AddressList each
    cdef addrinfo** order             # the addresses in the order to try them (RFC 8305)
    cdef int count                    # the addresses in order
    cdef bint is_unix                 # one Unix socket (AddressList.unix_socket)
    cdef addrinfo _unix
    cdef sockaddr_un _unix_address

    @staticmethod
    cdef AddressList resolve(str host, int port, str origin, bint proxy, dict pinned)
    @staticmethod
    cdef AddressList _getaddrinfo(bytes host, bytes port, int flags, str origin, bint proxy)
    @staticmethod
    cdef AddressList unix_socket(bytes path)
    cdef int _interleave(self, list heads) except -1


cdef class Connection:
    """The transport of one origin's connection: a non-blocking socket, the
    bytes of one request on their way out, and the parser of its response.
    It never waits: an Exchange says what to do, a driver does the waiting."""
    cdef:
        int fd                        # the socket (blocking once connected; see block_next_recv)
        int epfd                      # this connection's epoll instance, for the blocking driver
        int race_fd                   # while connect attempts race (RFC 8305): their epoll set; else -1
        list attempts                 # the racing attempts' sockets (fd is one of them)
        unsigned int watching         # the epoll events currently registered in epfd
        double _rcvtimeo              # the SO_RCVTIMEO set on fd, seconds (0: none)
        bint block_recv              # the next receive waits (block_next_recv)
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
        bint request_cut              # the request was not sent whole (early response)
        bint client_close             # the request said Connection: close
        bint stray_bytes              # bytes arrived after the end of the response
        readonly ResponseParser parser
        # Through a proxy (named in origin): connect failures are ProxyErrors;
        # a tunnel (httpool.routes.tunnels: HTTP CONNECT or SOCKS5) opens before the
        # transport's handshake (None once open), negotiated by tunnel_step.
        public bint via_proxy
        public object tunnel
        object _negotiation           # the tunnel's Negotiation once started
        bytes _tunnel_out             # what it asked to send, and how much of it went out
        Py_ssize_t tunnel_sent
        iovec _iov[2]                 # what is left to send of the loaded bytes
        msghdr _msg
        Py_buffer _views[2]           # held while _iov points into them
        int _nviews
        char* _rbuf                   # receive buffer for heads and framed bodies
        Py_ssize_t _rcap
        object __weakref__

    # Opening, in steps: connect_start for each address, then (EINPROGRESS)
    # connect_result once waits_on() is ready, while connecting() attempts are in flight.
    cdef int connect_start(self, addrinfo* ai) except -1
    cdef int _race(self, int fd) except -1
    cdef int connecting(self)
    cdef int waits_on(self, unsigned int* events)
    cdef int connect_result(self) except -1
    cdef int _won(self, int fd) except -1
    cdef void _end_race(self, int keep) noexcept
    cdef void _forget_watch(self) noexcept
    cdef int connect_failed(self, int err, bint is_unix) except -1
    # Then, once connected, what the transport sets up (a TLS handshake), in steps.
    cdef Handshake handshake_step(self) except *
    # Before it, through a proxy: the tunnel, in steps (see tunnel_step).
    cdef Handshake tunnel_step(self) except *
    cdef int _tunnel_failed(self, object failure) except -1

    # The blocking driver's wait, in this connection's own epoll instance:
    # the ready events, or 0 once `until` (monotonic, < 0: never) has passed.
    cdef unsigned int wait(self, unsigned int events, double until) except? 0
    cdef int _watch(self, unsigned int events) except -1
    # Or, waiting for bytes only: the next receive waits itself, until `until`.
    cdef bint block_next_recv(self, double until) except -1

    # The transport interface: send, flush what the transport still holds,
    # receive into a buffer, the liveness check before reuse (check_alive),
    # close, and the message of a failed receive. A TLS connection
    # (httpool._tls) overrides these: an SSLObject over memory BIOs on the
    # same socket, whose records go through _sock_recv (so the blocking
    # driver's folded wait works for it too) and sendmsg.
    cdef ssize_t _transport_send(self, msghdr* msg, int* err) noexcept
    cdef int _transport_flush(self, int* err) noexcept
    cdef ssize_t _transport_recv(self, char* buf, size_t size, int* err) noexcept
    cdef ssize_t _sock_recv(self, char* buf, size_t size, int* err) noexcept

    # Sending: begin_request (the head), load (more bytes), then send_step
    # until SEND_DONE.
    cdef int begin_request(self, bytes head, object body, bint client_close) except -1
    cdef int load(self, object first, object second) except -1
    cdef void _unload(self) noexcept
    cdef int send_step(self) except -1
    cdef int cut_request(self) except -1

    # Receiving, without waiting: the bytes received and parsed, 0 at EOF,
    # or RECV_AGAIN. recv_body_step receives a Content-Length body in place.
    cdef Py_ssize_t recv_step(self) except -1
    cdef Py_ssize_t recv_body_step(self) except -1
    cdef Py_ssize_t _recv_into(self, char* buf, Py_ssize_t size) except -1
    cdef int eof(self) except -1
    cdef int _recv_failed(self, int err) except -1
    cdef str _progress(self)

    # Reuse.
    cdef bint retryable(self)
    cpdef int check_alive(self)       # 0 alive, 1 EOF, 2 stray bytes, 3 reset (transport)
    cdef bint holds_input(self)       # bytes received but not yet looked at (transport)
    cpdef set_idle(self, double now, double idle_timeout, double max_lifetime)
    cpdef close(self, int reason)     # (transport)
