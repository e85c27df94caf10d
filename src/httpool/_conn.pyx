# cython: language_level=3
"""One HTTP/1.1 connection on a non-blocking socket: the transport.

Strategy
--------
Nothing here decides how long to wait: the request's state machine
(httpool._exchange) says what it needs next and until when, and a driver waits
(the blocking driver in this connection's own epoll instance through ``wait``,
a batch in its shared one). A signal that interrupts a wait runs its Python
handler and the wait resumes until the same limit.

Every send and recv passes MSG_DONTWAIT, except one: the blocking driver's
wait for a response folds into the receive itself (``block_next_recv``), a
recv that sleeps until bytes arrive or SO_RCVTIMEO runs out. That saves one
epoll_wait per response, a third of the system calls of a small request on a
reused connection. So the socket is blocking once connected (connect itself
runs non-blocking) and MSG_DONTWAIT is what keeps every other call from
waiting.

Each connection owns an epoll instance rather than sharing one per pool or per
thread: a connection moves between threads, and a registration left in another
thread's level-triggered epoll would wake that thread for bytes it must not
read. One extra descriptor per connection buys waits with no epoll_ctl on the
hot path; the watched events change only while a send buffer is full.

The GIL is released around every call that waits: connect, getaddrinfo,
epoll_wait and the folded receive. Other sends and recvs never wait; they release
it when they copy more than RELEASE_GIL_BYTES, and keep it for the small
copies where releasing would cost more than the copy. Parsing (llhttp via
ResponseParser) keeps it. A body framed by Content-Length is
received straight into the bytes object the caller will get
(ResponseParser.body_space), so large bodies are copied once, by the kernel.

Error messages start with the origin. A connection that raised is closed by
its Exchange, which knows the CloseReason to record for the pool's stats.
"""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport floor
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

import os
import weakref

cimport cython

from httpool._sys cimport *
from httpool._parser cimport ResponseParser
from httpool._exceptions import ConnectError, ConnectionClosed, ProxyError, RemoteProtocolError
from httpool.routes.tunnels import TunnelFailed

cdef enum:
    RECV_BUFFER = 65536
    # The socket is non-blocking, so send and recv never wait: they only copy.
    # Below this size the copy takes less time than releasing and taking back
    # the GIL, so the GIL is kept; above it, other threads run during the copy.
    RELEASE_GIL_BYTES = 16384
    # SO_RCVTIMEO is set in steps of 1/RCVTIMEO_STEPS s, rounded down: a
    # request's time left then maps to the same value from one request to the
    # next (one setsockopt per connection, not per request), and the receive
    # never outlasts its deadline (the kernel rounds up by under a jiffy).
    RCVTIMEO_STEPS = 64

# Every open connection, so that a forked child can close its copies of their
# descriptors: the child must never read or write the parent's sockets.
_live = weakref.WeakSet()


def _close_all_in_child():
    cdef Connection conn
    for conn in list(_live):
        # The base class's close: a TLS connection's would send close_notify
        # on the parent's session.
        Connection.close(conn, CLOSE_POOL_CLOSE)
    _live.clear()


os.register_at_fork(after_in_child=_close_all_in_child)


cdef str _os_error(int err):
    return f"{strerror(err).decode(errors='replace')} (errno {err})"


cdef class AddressList:
    """The addresses to connect to, in the order to try them: those of
    host:port from getaddrinfo (run without the GIL), the ones the pool pins
    for host (Pool(resolve=...)), or one Unix socket (Pool(uds=...)).

    getaddrinfo sorts by RFC 6724's preferences; the families are then
    interleaved (RFC 8305 section 4: the first address's family, then the
    other, and so on), so that when one family is broken the next attempt,
    250 ms later, is already on the other."""

    @staticmethod
    cdef AddressList resolve(str host, int port, str origin, bint proxy, dict pinned):
        """host's addresses; proxy: host is a proxy's (a failure is a
        ProxyError); pinned: host -> its addresses (IP literals), or None."""
        cdef AddressList found
        cdef list literals = pinned.get(host) if pinned else None
        cdef bytes port_b = str(port).encode()
        if literals is None:
            found = AddressList._getaddrinfo(
                host.encode("idna") if not host.isascii() else host.encode(), port_b, 0, origin,
                proxy)
            found._interleave([<size_t>found.first])
            return found
        found = AddressList.__new__(AddressList)
        found.parts = [AddressList._getaddrinfo(literal.encode(), port_b, AI_NUMERICHOST, origin, proxy)
                       for literal in literals]
        found._interleave([<size_t>(<AddressList>part).first for part in found.parts])
        return found

    @staticmethod
    cdef AddressList _getaddrinfo(bytes host, bytes port, int flags, str origin, bint proxy):
        cdef AddressList found = AddressList.__new__(AddressList)
        cdef addrinfo hints
        cdef int rc
        cdef const char* c_host = host
        cdef const char* c_port = port
        memset(&hints, 0, sizeof(hints))
        hints.ai_socktype = SOCK_STREAM
        hints.ai_flags = flags
        with nogil:
            rc = getaddrinfo(c_host, c_port, &hints, &found.first)
        if rc != 0:
            raise (ProxyError if proxy else ConnectError)(
                f"{origin}: cannot resolve {host.decode()!r}: {gai_strerror(rc).decode()}")
        return found

    cdef int _interleave(self, list heads) except -1:
        """Fill order from the lists at heads (addrinfo* as ints): the
        first address's family and the other one's, alternately."""
        cdef addrinfo* ai
        cdef list first_family = [], other_family = []
        cdef int family = -1
        cdef Py_ssize_t i
        for head in heads:
            ai = <addrinfo*><size_t>head
            while ai != NULL:
                if family < 0:
                    family = ai.ai_family
                (first_family if ai.ai_family == family else other_family).append(<size_t>ai)
                ai = ai.ai_next
        self.order = <addrinfo**>malloc(max(1, len(first_family) + len(other_family)) * sizeof(addrinfo*))
        if self.order == NULL:
            raise MemoryError()
        for i in range(max(len(first_family), len(other_family))):
            if i < len(first_family):
                self.order[self.count] = <addrinfo*><size_t>first_family[i]
                self.count += 1
            if i < len(other_family):
                self.order[self.count] = <addrinfo*><size_t>other_family[i]
                self.count += 1
        return 0

    @staticmethod
    cdef AddressList unix_socket(bytes path):
        """The one address of the Unix socket at path, held in the object."""
        cdef AddressList found = AddressList.__new__(AddressList)
        cdef Py_ssize_t size = len(path)
        # The path and its terminating NUL must fit in sun_path (108 bytes on Linux).
        if not path or <size_t>size >= sizeof(found._unix_address.sun_path) or b"\0" in path:
            raise ValueError(f"uds must be a path of 1 to {sizeof(found._unix_address.sun_path) - 1} "
                             f"bytes without NUL, not {os.fsdecode(path)!r} ({size} bytes)")
        found._unix_address.sun_family = AF_UNIX
        memcpy(found._unix_address.sun_path, <const char*>path, size + 1)
        found._unix.ai_family = AF_UNIX
        found._unix.ai_socktype = SOCK_STREAM
        found._unix.ai_addr = <sockaddr*>&found._unix_address
        found._unix.ai_addrlen = sizeof(found._unix_address)
        found.first = &found._unix
        found.is_unix = True
        found._interleave([<size_t>found.first])
        return found

    def __dealloc__(self):
        free(self.order)
        if self.first != NULL and not self.is_unix:
            freeaddrinfo(self.first)


cdef class Connection:
    """A connection to one origin. Created by an Exchange; not used directly."""

    def __cinit__(self, object key, str origin, dict limits=None):
        self.fd = -1
        self.epfd = -1
        self.race_fd = -1
        self.key = key
        self.origin = origin
        self.state = CONN_ACTIVE
        self.close_reason = CLOSE_NONE
        self.parser = ResponseParser(**limits) if limits else ResponseParser()
        self._rcap = RECV_BUFFER
        self._rbuf = <char*>malloc(self._rcap)
        if self._rbuf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        self._unload()
        if self.race_fd >= 0:
            self._end_race(self.fd)
        # Only reached with an open socket when the pool lost track of it.
        if self.fd >= 0:
            close(self.fd)
        if self.epfd >= 0:
            close(self.epfd)
        free(self._rbuf)

    def __repr__(self):
        states = ("active", "idle", "closed")
        return f"<Connection {self.origin} fd={self.fd} {states[self.state]} requests={self.requests}>"

    cdef int connect_start(self, addrinfo* ai) except -1:
        """Start connecting to one address, alongside the attempts still in
        flight (happy eyeballs, RFC 8305). Returns 0 when connected at once
        (the other attempts are closed), EINPROGRESS while under way (wait
        on waits_on(), then connect_result()), or the errno of this
        attempt's failure (its socket is closed; the others go on)."""
        cdef int fd, rc, err, one = 1
        fd = socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
        if fd < 0:
            return errno
        if ai.ai_family != AF_UNIX:
            # Requests go out in one sendmsg; waiting for ACKs only adds latency.
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
        with nogil:
            rc = connect(fd, ai.ai_addr, ai.ai_addrlen)
            err = errno if rc < 0 else 0
        if err != 0 and err != EINPROGRESS:
            close(fd)
            return err
        if self.fd < 0:
            self.fd = fd
        elif self.race_fd < 0:
            # A second attempt while the first is in flight: both (and any
            # later ones) wait in an epoll set of their own, which the driver watches.
            self.race_fd = epoll_create1(EPOLL_CLOEXEC)
            if self.race_fd < 0:
                err = errno
                close(fd)
                return err
            self.attempts = []
            self._race(self.fd)
            self._race(fd)
        else:
            self._race(fd)
        if err == 0:
            return self._won(fd)
        return EINPROGRESS

    cdef int _race(self, int fd) except -1:
        cdef epoll_event ev
        ev.events = EPOLLOUT
        ev.data.fd = fd
        if epoll_ctl(self.race_fd, EPOLL_CTL_ADD, fd, &ev) < 0:
            raise ConnectionClosed(f"{self.origin}: epoll_ctl failed: {_os_error(errno)}")
        self.attempts.append(fd)
        return 0

    cdef int connecting(self):
        """How many connect attempts are in flight."""
        if self.race_fd >= 0:
            return len(self.attempts)
        return 1 if self.fd >= 0 else 0

    cdef int waits_on(self, unsigned int* events):
        """The descriptor a driver waits on: the socket, or while attempts
        race, their epoll set (readable when one of them is decided)."""
        if self.race_fd >= 0:
            events[0] = EPOLLIN
            return self.race_fd
        return self.fd

    cdef int connect_result(self) except -1:
        """After the wait: 0 when an attempt connected (fd is its socket; the
        others are closed), the errno of one that failed (closed; see
        connecting() for the rest), or EINPROGRESS when none is decided."""
        cdef int err = 0, fd = self.fd
        cdef socklen_t errlen = sizeof(int)
        cdef epoll_event ev
        if self.race_fd >= 0:
            if epoll_wait(self.race_fd, &ev, 1, 0) <= 0:
                return EINPROGRESS
            fd = ev.data.fd
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen)
        if err == 0:
            return self._won(fd)
        close(fd)   # which also takes it out of the race's epoll set
        if fd == self.fd:
            # The blocking driver may have watched it: the next socket gets a fresh epoll set.
            self._forget_watch()
            self.fd = -1
        if self.race_fd >= 0:
            self.attempts.remove(fd)
            if self.fd < 0 and self.attempts:
                self.fd = self.attempts[0]
            if not self.attempts:
                self._end_race(-1)
        return err

    cdef int _won(self, int fd) except -1:
        """fd connected: it is this connection's socket; the other attempts end."""
        if fd != self.fd:
            self._forget_watch()
            self.fd = fd
        if self.race_fd >= 0:
            self._end_race(fd)
        # Blocking from now on: every call but the folded receive passes MSG_DONTWAIT.
        fcntl(self.fd, F_SETFL, 0)
        self.created = hp_now()
        _live.add(self)
        return 0

    cdef void _end_race(self, int keep) noexcept:
        """Close the race's epoll set and every attempt but keep."""
        for fd in self.attempts:
            if fd != keep:
                close(fd)
        self.attempts = None
        close(self.race_fd)
        self.race_fd = -1

    cdef void _forget_watch(self) noexcept:
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1
        self.watching = 0

    cdef int connect_failed(self, int err, bint is_unix) except -1:
        """Every address failed, the last with err: close and raise ConnectError.
        (A Unix socket's path is in the origin: see Planner.)"""
        self.close(CLOSE_ERROR)
        if is_unix and err == ENOENT:
            raise ConnectError(f"{self.origin}: no such socket")
        if is_unix and err == ECONNREFUSED:
            raise ConnectError(f"{self.origin}: nobody listens on the socket")
        if is_unix and err == EAGAIN:
            # Linux refuses a non-blocking connect to a Unix socket whose listen queue is full.
            raise ConnectError(f"{self.origin}: the socket's listen queue is full")
        if self.via_proxy:
            what = "connection refused" if err == ECONNREFUSED else _os_error(err)
            raise ProxyError(f"{self.origin}: cannot connect to the proxy: {what}")
        if err == ECONNREFUSED:
            raise ConnectError(f"{self.origin}: connection refused")
        raise ConnectError(f"{self.origin}: cannot connect: {_os_error(err)}")

    cdef Handshake handshake_step(self) except *:
        """A plain connection has nothing to set up; TLS overrides this."""
        return HS_NONE

    @cython.final
    cdef Handshake tunnel_step(self) except *:
        """Open the tunnel through the proxy, below any transport (its TLS
        goes through the tunnel): the I/O of the tunnel's negotiation
        (httpool.routes.tunnels), which says what to send and how many bytes it may
        receive next, never past the end of the proxy's answer. HS_WRITE or
        HS_READ while under way; HS_NONE once open (tunnel is None then); a
        ProxyError (a ConnectError when the proxy is not at fault) otherwise."""
        cdef object negotiation = self._negotiation
        cdef Py_ssize_t want
        cdef ssize_t n
        cdef int err
        try:
            if negotiation is None:
                negotiation = self._negotiation = self.tunnel.start()
                self._tunnel_out = negotiation.begin()
                self.tunnel_sent = 0
            while True:
                while self.tunnel_sent < PyBytes_GET_SIZE(self._tunnel_out):
                    n = send(self.fd, PyBytes_AS_STRING(self._tunnel_out) + self.tunnel_sent,
                             PyBytes_GET_SIZE(self._tunnel_out) - self.tunnel_sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT)
                    if n >= 0:
                        self.tunnel_sent += n
                        continue
                    err = errno
                    if err == EAGAIN or err == EWOULDBLOCK:
                        return HS_WRITE
                    if err != EINTR:
                        raise TunnelFailed(f"sending to the proxy failed: {_os_error(err)}")
                want = negotiation.want
                if want == 0:
                    break
                n = self._sock_recv(self._rbuf, min(want, self._rcap), &err)
                if n > 0:
                    self._tunnel_out = negotiation.feed(self._rbuf[:n])
                    self.tunnel_sent = 0
                elif n == 0:
                    raise negotiation.eof()
                elif err == EAGAIN or err == EWOULDBLOCK:
                    return HS_READ
                elif err == EINTR:
                    PyErr_CheckSignals()
                else:
                    raise TunnelFailed(f"receiving the proxy's answer failed: {_os_error(err)}")
        except TunnelFailed as failure:
            self._tunnel_failed(failure)
        self.tunnel = self._negotiation = self._tunnel_out = None
        return HS_NONE

    cdef int _tunnel_failed(self, object failure) except -1:
        """Raise the TunnelFailed as a ProxyError (with the proxy's status
        when it answered), or a ConnectError when the proxy is not at fault:
        the origin names the proxy (see Planner)."""
        if failure.by_proxy:
            raise ProxyError(f"{self.origin}: {failure.why}", failure.status_code,
                             failure.refused) from None
        raise ConnectError(f"{self.origin}: {failure.why}") from None

    cdef int _watch(self, unsigned int events) except -1:
        cdef epoll_event ev
        if self.epfd < 0:
            self.epfd = epoll_create1(EPOLL_CLOEXEC)
            if self.epfd < 0:
                raise ConnectionClosed(f"{self.origin}: epoll_create1 failed: {_os_error(errno)}")
        elif events == self.watching:
            return 0
        ev.events = events
        ev.data.fd = self.fd
        if epoll_ctl(self.epfd, EPOLL_CTL_MOD if self.watching else EPOLL_CTL_ADD, self.fd, &ev) < 0:
            raise ConnectionClosed(f"{self.origin}: epoll_ctl failed: {_os_error(errno)}")
        self.watching = events
        return 0

    cdef unsigned int wait(self, unsigned int events, double until) except? 0:
        """Wait in this connection's epoll instance until fd is ready for
        `events` (the ready events), or until `until` has passed (0). A
        signal runs its Python handler (which may raise) and the wait goes on
        until the same limit. While connect attempts race, the wait is in
        their epoll set instead."""
        cdef epoll_event ev
        cdef int n, err
        cdef int epfd = self.race_fd
        if epfd < 0:
            self._watch(events)
            epfd = self.epfd
        while True:
            with nogil:
                n = hp_wait_until(epfd, &ev, until)
                err = errno
            if n > 0:
                return ev.events
            if n == 0:
                return 0
            if err != EINTR:
                raise ConnectionClosed(f"{self.origin}: epoll_wait failed: {_os_error(err)}")
            PyErr_CheckSignals()

    cdef bint block_next_recv(self, double until) except -1:
        """The blocking driver's wait for bytes, folded into the next receive:
        it sleeps (GIL released) until bytes arrive or `until` (< 0: never)
        passes. False when `until` is too near for SO_RCVTIMEO's steps: then
        the caller waits in epoll."""
        cdef double timeo = 0.0   # SO_RCVTIMEO 0: no limit
        cdef timeval tv
        if until >= 0:
            timeo = floor((until - hp_now()) * RCVTIMEO_STEPS) / RCVTIMEO_STEPS
            if timeo <= 0:
                return False
        if timeo != self._rcvtimeo:
            tv.tv_sec = <long>timeo
            tv.tv_usec = <long>((timeo - tv.tv_sec) * 1e6)
            if setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0:
                return False
            self._rcvtimeo = timeo
        self.block_recv = True
        return True

    # The transport: the only places bytes cross the socket for a request.
    # A TLS connection (httpool._tls) overrides the _transport_* methods.

    cdef ssize_t _transport_send(self, msghdr* msg, int* err) noexcept:
        """sendmsg without blocking; -1 with *err set on failure."""
        cdef ssize_t n
        cdef size_t size = 0
        cdef size_t i
        for i in range(msg.msg_iovlen):
            size += msg.msg_iov[i].iov_len
        if size < RELEASE_GIL_BYTES:
            n = sendmsg(self.fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT)
            err[0] = errno
            return n
        with nogil:
            n = sendmsg(self.fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT)
            err[0] = errno
        return n

    cdef int _transport_flush(self, int* err) noexcept:
        """Bytes the transport still holds to send (TLS records): 0 once
        none are left, -1 with *err set (EAGAIN: wait until writable)."""
        return 0

    cdef ssize_t _transport_recv(self, char* buf, size_t size, int* err) noexcept:
        return self._sock_recv(buf, size, err)

    @cython.final
    cdef ssize_t _sock_recv(self, char* buf, size_t size, int* err) noexcept:
        """recv from the socket without blocking, unless block_next_recv
        asked this one to wait; 0 at EOF, -1 with *err set on failure or
        EAGAIN (also when the folded wait ran out)."""
        cdef ssize_t n
        if self.block_recv:
            self.block_recv = False
            with nogil:
                n = recv(self.fd, buf, size, 0)
                err[0] = errno
            return n
        if size < RELEASE_GIL_BYTES:
            n = recv(self.fd, buf, size, MSG_DONTWAIT)
            err[0] = errno
            return n
        with nogil:
            n = recv(self.fd, buf, size, MSG_DONTWAIT)
            err[0] = errno
        return n

    cdef int begin_request(self, bytes head, object body, bint client_close) except -1:
        """Start a request: load its head and a bytes-like body (or None)."""
        if self.state != CONN_ACTIVE:
            raise ConnectionClosed(f"{self.origin}: connection is not checked out")
        self.requests += 1
        self.received = 0
        self.request_cut = False
        self.stray_bytes = False
        self.client_close = client_close
        self.load(head, body if body is not None and len(body) else None)
        return 0

    cdef int load(self, object first, object second) except -1:
        """Make `first` (and `second`, if not None) the bytes to send next.
        Their buffers are held until sent whole (_unload), so the iovecs stay valid."""
        self._unload()
        PyObject_GetBuffer(first, &self._views[0], PyBUF_SIMPLE)
        self._nviews = 1
        self._iov[0].iov_base = self._views[0].buf
        self._iov[0].iov_len = self._views[0].len
        if second is not None:
            PyObject_GetBuffer(second, &self._views[1], PyBUF_SIMPLE)
            self._nviews = 2
            self._iov[1].iov_base = self._views[1].buf
            self._iov[1].iov_len = self._views[1].len
        memset(&self._msg, 0, sizeof(self._msg))
        self._msg.msg_iov = self._iov
        self._msg.msg_iovlen = self._nviews
        return 0

    cdef void _unload(self) noexcept:
        while self._nviews > 0:
            self._nviews -= 1
            PyBuffer_Release(&self._views[self._nviews])
        self._msg.msg_iovlen = 0

    cdef int send_step(self) except -1:
        """Send what it can of the loaded bytes without waiting: SEND_DONE,
        SEND_AGAIN (wait until writable), or SEND_CUT: the server closed or
        reset mid-upload; its answer, if any, may be waiting to be read."""
        cdef msghdr* msg = &self._msg
        cdef ssize_t n
        cdef int err
        while True:
            if msg.msg_iovlen > 0:
                n = self._transport_send(msg, &err)
            else:
                n = self._transport_flush(&err)
                if n == 0:
                    break
            if n >= 0:
                while msg.msg_iovlen > 0 and <size_t>n >= msg.msg_iov[0].iov_len:
                    n -= msg.msg_iov[0].iov_len
                    msg.msg_iov += 1
                    msg.msg_iovlen -= 1
                if msg.msg_iovlen > 0:
                    msg.msg_iov[0].iov_base = <char*>msg.msg_iov[0].iov_base + n
                    msg.msg_iov[0].iov_len -= n
            elif err == EAGAIN or err == EWOULDBLOCK:
                return SEND_AGAIN
            elif err == EPIPE or err == ECONNRESET:
                self.cut_request()
                return SEND_CUT
            elif err != EINTR:
                raise ConnectionClosed(f"{self.origin}: send failed: {_os_error(err)}")
        self._unload()
        return SEND_DONE

    cdef int cut_request(self) except -1:
        """The server answered or closed before the request was sent whole:
        send no more; the connection will not be reused."""
        self.request_cut = True
        self._unload()
        return 0

    cdef Py_ssize_t recv_step(self) except -1:
        """One recv without waiting, parsed: the bytes received, 0 at EOF, or
        RECV_AGAIN when nothing is there yet."""
        # A head is small: read it in a size that keeps the GIL (see
        # RELEASE_GIL_BYTES); bodies get the whole buffer.
        return self._recv_into(self._rbuf, self._rcap if self.parser.headers_complete
                               else RELEASE_GIL_BYTES - 1)

    cdef Py_ssize_t recv_body_step(self) except -1:
        """recv_step for a body: one framed by Content-Length is received
        straight into the bytes object the caller will get, exactly the rest
        of it, so no byte of a following message can land in the body."""
        cdef ResponseParser parser = self.parser
        cdef Py_ssize_t room
        cdef char* space
        if parser._content_length < 0 or parser._discard_body:
            return self.recv_step()
        # The space stays valid until the next feed: parser.feed_ptr in _recv_into is that feed.
        space = parser.body_space(parser._content_length - parser._body_seen, &room)
        return self._recv_into(space, room)

    cdef Py_ssize_t _recv_into(self, char* buf, Py_ssize_t size) except -1:
        cdef ssize_t n
        cdef int err
        cdef Py_ssize_t used
        while True:
            n = self._transport_recv(buf, size, &err)
            if n > 0:
                self.received += n
                try:
                    used = self.parser.feed_ptr(buf, n)
                except RemoteProtocolError as exc:
                    if self.reused and self.parser._llhttp.status_code == 0:
                        # Not even a status line: bytes the server sent after an
                        # earlier response (a HEAD answered with a body), not an
                        # answer to this request.
                        self.stray_bytes = True
                        raise ConnectionClosed(
                            f"{self.origin}: the reused connection held stray bytes instead of "
                            f"a response; it was closed ({exc})") from None
                    raise RemoteProtocolError(f"{self.origin}: {exc}") from None
                if used < n:
                    self.stray_bytes = True
                return n
            if n == 0:
                return 0
            if err == EAGAIN or err == EWOULDBLOCK:
                return RECV_AGAIN
            if err != EINTR:
                self._recv_failed(err)
            # A signal cut the folded wait short: its handler runs (and may raise).
            PyErr_CheckSignals()

    cdef int _recv_failed(self, int err) except -1:
        what = "connection reset by the server" if err == ECONNRESET else f"receive failed: {_os_error(err)}"
        raise ConnectionClosed(f"{self.origin}: {what} {self._progress()}")

    cdef int eof(self) except -1:
        """The server closed: fine when that ends a close-delimited body."""
        if self.parser.finish():
            return 0
        if self.received == 0:
            raise ConnectionClosed(f"{self.origin}: server closed the connection without "
                                   "sending a response")
        raise ConnectionClosed(f"{self.origin}: server closed the connection mid-response "
                               f"{self._progress()}")

    cdef str _progress(self):
        """How far the response got, for messages: in the head, or in the body
        with what its framing promised."""
        if not self.parser.headers_complete:
            return f"after {self.received} bytes of the response head"
        return self.parser.body_progress()

    cdef bint retryable(self):
        """The request failed on a reused connection before any byte of its
        response: the connection, not the request, was at fault."""
        return self.reused and (self.received == 0 or self.stray_bytes)

    cdef bint holds_input(self):
        """Whether the transport holds received bytes nobody has looked at:
        never for a plain socket, whose bytes wait in the kernel."""
        return False

    cpdef int check_alive(self):
        """Before reuse, without blocking: 0 alive; 1 the server closed (EOF);
        2 unexpected bytes are waiting (e.g. a 408); 3 reset or another error."""
        cdef char byte
        cdef ssize_t n
        cdef int err
        n = recv(self.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT)
        err = errno
        if n < 0:
            return 0 if err == EAGAIN or err == EWOULDBLOCK else 3
        return 1 if n == 0 else 2

    cpdef set_idle(self, double now, double idle_timeout, double max_lifetime):
        """Enter the idle stack: work out when and why it stops being reusable."""
        cdef double ka = self.parser._ka_timeout
        cdef double at = now + idle_timeout if idle_timeout >= 0 else 1e300
        cdef int reason = CLOSE_IDLE_TIMEOUT
        if ka >= 0:
            # The server closes at N seconds; stop reusing a little before,
            # so a request never races the server's FIN (seed 003).
            ka = now + ka - min(1.0, 0.25 * ka)
            if ka < at:
                at = ka
                reason = CLOSE_KEEP_ALIVE_TIMEOUT
        if max_lifetime >= 0 and self.created + max_lifetime < at:
            at = self.created + max_lifetime
            reason = CLOSE_MAX_LIFETIME
        self.expires_at = at
        self.expire_reason = reason
        self.state = CONN_IDLE
        self.reused = True

    cpdef close(self, int reason):
        """Close the socket (once); the first reason given is kept."""
        if self.state == CONN_CLOSED:
            return
        self._unload()
        self.state = CONN_CLOSED
        self.close_reason = reason
        if self.race_fd >= 0:
            self._end_race(self.fd)
        if self.fd >= 0:
            close(self.fd)   # closing also removes fd from every epoll set
            self.fd = -1
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1

    @property
    def fileno(self):
        return self.fd


cdef bint _has_control(bytes text) noexcept:
    """Whether text holds CR, LF or NUL, which would split or end a header line."""
    cdef const char* p = PyBytes_AS_STRING(text)
    cdef Py_ssize_t i
    for i in range(PyBytes_GET_SIZE(text)):
        if p[i] == b'\r' or p[i] == b'\n' or p[i] == 0:
            return True
    return False


cdef bytes _field(object text, str what):
    """A header name or value as bytes (str is encoded as Latin-1)."""
    cdef bytes raw
    if type(text) is str:
        try:
            raw = (<str>text).encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"{what} {text!r} has characters outside Latin-1") from None
    elif isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
    else:
        raise TypeError(f"{what} must be str or bytes, not {type(text).__name__}")
    if _has_control(raw):
        raise ValueError(f"{what} {text!r} contains CR, LF or NUL (header injection refused)")
    return raw


def build_request_head(str method, str target, bytes fixed, list headers):
    """The request head: request line, `fixed` (header lines already checked,
    each ending in CRLF, e.g. Host and User-Agent), then `headers` as (name,
    value) pairs, which are checked for CR, LF and NUL here."""
    cdef bytes m = _field(method, "method")
    cdef bytes t = _field(target, "request target")
    if b" " in m or not m:
        raise ValueError(f"invalid method {method!r}")
    if b" " in t:
        raise ValueError(f"request target {target!r} contains a space")
    parts = [m, b" ", t, b" HTTP/1.1\r\n", fixed]
    for name, value in headers:
        name_b = _field(name, "header name")
        if not name_b or b":" in name_b or b" " in name_b or b"\t" in name_b:
            raise ValueError(f"invalid header name {name!r}")
        parts += (name_b, b": ", _field(value, "header value"), b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)
