# cython: language_level=3
"""One request on one connection, from checkout to release: the engine.

Strategy
--------
An Exchange is a state machine that never waits. Each call (begin, advance,
granted, expire) does all it can without blocking and then says what it needs
next (``need``: a slot, the socket writable, the socket readable, or nothing)
and until when (``wake_at``). A driver does the waiting: the blocking driver
(httpool._blocking) in the connection's own epoll instance, a batch
(httpool._batch) in one epoll set for many exchanges. So every rule below
exists once, whichever way the caller waits:

* Deadlines. ``wake_at`` is the nearer of the total deadline and the current
  phase's timeout (pool, connect, write or read, restarted after each wait that
  made progress, like a socket timeout). When it passes, ``expire`` closes the
  connection on the spot, frees its slot and sets the timeout of the phase
  (PoolTimeout, ConnectTimeout, WriteTimeout, ReadTimeout): nothing runs on
  after the caller has its error (seeds 000, 002). The total deadline is also
  checked between steps that did not wait: a trickling body read byte by byte,
  a generator body that takes its time.
* Reuse (``reuse_verdict``): one expression, in the spirit of Go's
  ``alive && bodyEOF && !sawEOF && wroteRequest()``: the response is complete,
  the request went out whole, neither side asked to close, nothing came after
  the response (RFC 9112 section 9.3: a server sends a response only to a
  request, so stray bytes mean the framing can no longer be trusted), and the
  framing was one a reuse can trust. It returns the CloseReason when the
  answer is no.
* Retry (RFC 9110 section 9.2.2): a request whose method is idempotent (or
  that carries an Idempotency-Key) and whose body can be sent again is retried
  on a *new* connection, up to ``retries`` times, when it failed on a reused
  connection before any byte of its response: the server closed that idle
  connection as we sent (seed 003). Never after a response byte, after a
  timeout, or on a fresh connection; and never on another idle connection,
  which the same server event (a reload closing every idle connection) has
  likely closed too.
* Early answers. While the request body goes out, the socket is watched for
  reading as well: a response that arrives before the body was sent whole (a
  413, or a server that answers after the head) stops the upload; the
  response is returned, and the connection is closed (early_response).
* Release. A body read whole returns its connection at once. One released
  early is drained (seeds 001, 004): at most ``max_drain`` bytes within
  ``max_drain_time`` seconds, never past the request's deadline; past either
  the connection is closed under drain_limit, drain_time or timeout.
* Failures. Whatever the state, ``_fail`` gives back what the exchange holds
  (the waiter's place, the reserved slot, the connection, closed under the
  reason the failure names) and counts it, so the pool's accounting
  (``opened - closed == idle + in_use``) holds after every error.
"""

cimport cython

from httpool._conn cimport (
    AddressList, Connection, CONN_ACTIVE, Handshake, HS_FULL, HS_READ, HS_RESUMED, HS_WRITE,
    RECV_AGAIN, SEND_AGAIN, SEND_DONE,
)
from httpool._idle cimport (
    Doorbell, Grant, GRANT_CLOSED, GRANT_IDLE, GRANT_NEW, GRANT_NONE, OriginSlots, PoolCore, Waiter,
)
from httpool._reasons cimport (
    CLOSE_NONE, CLOSE_ABANDONED, CLOSE_CLIENT_CLOSE, CLOSE_CLOSED_ON_REUSE, CLOSE_DRAIN_LIMIT,
    CLOSE_DRAIN_TIME, CLOSE_EARLY_RESPONSE, CLOSE_ERROR, CLOSE_SERVER_CLOSE, CLOSE_TIMEOUT,
    CLOSE_UNSAFE_FRAMING, COUNT_DRAINED, COUNT_DRAINED_BYTES, COUNT_REQUESTS, COUNT_RETRIED,
    COUNT_TIMEOUTS, COUNT_TLS_HANDSHAKES, COUNT_TLS_RESUMED,
)
from httpool._parser cimport ResponseParser
from httpool._plan cimport Plan
from httpool._sys cimport hp_now, EINPROGRESS, EPOLLERR, EPOLLHUP, EPOLLIN
from httpool._exceptions import (
    ConnectionClosed, ConnectTimeout, HTTPError, PoolClosed, PoolTimeout, ProtocolError,
    ReadTimeout, TimeoutError, WriteTimeout,
)


cdef Limits limits_of(object timeout) except *:
    """A Timeout's fields as seconds, -1 for None."""
    cdef Limits limits
    limits.total = -1.0 if timeout.total is None else timeout.total
    limits.connect = -1.0 if timeout.connect is None else timeout.connect
    limits.write = -1.0 if timeout.write is None else timeout.write
    limits.read = -1.0 if timeout.read is None else timeout.read
    limits.pool = -1.0 if timeout.pool is None else timeout.pool
    return limits


# Per state: the phase a timeout names, and its exception (DRAINING and DONE never raise one).
cdef tuple _PHASES = ("pool", "pool", "connect", "write", "read", "read")
cdef tuple _TIMEOUTS = (PoolTimeout, PoolTimeout, ConnectTimeout, WriteTimeout, ReadTimeout,
                        ReadTimeout)
# RFC 8305 section 8's Connection Attempt Delay: the next address is tried
# this long after the last attempt started, unless that one failed first.
cdef double ATTEMPT_DELAY = 0.25


cdef class Settings:
    def __cinit__(self, PoolCore core, int retries, Py_ssize_t max_drain, double max_drain_time,
                  dict parser_limits, TLSConfig tls, bytes uds=None, dict pinned=None):
        self.uds = None if uds is None else AddressList.unix_socket(uds)
        self.pinned = pinned
        self.tls = tls
        self.core = core
        self.retries = retries
        self.max_drain = max_drain
        self.max_drain_time = max_drain_time
        self.parser_limits = parser_limits


cdef Exchange new_exchange(Settings settings, Plan plan, Limits* limits, dict resolved,
                           dict watched, Doorbell bell):
    cdef Exchange exchange = Exchange.__new__(Exchange)
    exchange.settings = settings
    exchange.core = settings.core
    exchange.plan = plan
    exchange.limits = limits[0]
    exchange.resolved = resolved
    exchange.watched = watched
    exchange.bell = bell
    exchange.wake_at = -1.0
    exchange.deadline = -1.0
    exchange.finished_at = -1.0
    exchange.driver_fd = -1
    exchange.driver_at = -1.0
    return exchange


# One is made per request: keep a few freed ones for reuse.
@cython.freelist(16)
cdef class Exchange:
    def __init__(self, *args):
        raise TypeError("exchanges are made by a Pool; they cannot be created directly")

    def __repr__(self):
        states = ("start", "waiting for a slot", "connecting", "sending", "receiving the head",
                  "body", "draining", "done")
        return f"<Exchange {self.plan.method} {self.plan.url} {states[self.state]}>"

    # ------------------------------------------------------------ driving

    cdef int begin(self, Goal goal, double now, double since=-1.0) except -1:
        """Start. since: when the request's first hop began (a redirect or an
        auth retry is one request: its total deadline spans every hop)."""
        self.goal = goal
        self.started = now
        self.since = now if since < 0 else since
        if self.limits.total >= 0:
            self.deadline = self.since + self.limits.total
        return self._step(STEP_CHECKOUT, 0)

    cdef int advance(self, unsigned int events) except -1:
        """The driver saw `events` on fd."""
        return self._step(STEP_EVENTS, events)

    cdef int granted(self) except -1:
        """The waiter was woken: take its grant."""
        return self._step(STEP_GRANT, 0)

    cdef int _step(self, Step step, unsigned int events) except -1:
        """Run one step; an HTTPError ends it by the retry rule or as a
        failure, anything else fails it and propagates."""
        try:
            if step == STEP_CHECKOUT:
                self._checkout(hp_now())
            elif step == STEP_GRANT:
                self._take_grant()
            elif step == STEP_NEXT_ADDRESS:
                self._next_attempt()
            elif not self._overdue():
                if self.state == EX_SENDING:
                    self._send(events)
                elif self.state == EX_CONNECTING:
                    self._connect_result()
                elif self.state == EX_DRAINING:
                    self._drain()
                else:
                    self._receive()
        except HTTPError as exc:
            if self.state == EX_DRAINING:
                self._drop(CLOSE_ERROR)   # releasing raises nothing
            else:
                self._failed(exc)
        except BaseException as exc:
            self._fail(exc)
            raise
        return 0

    cdef int _take_grant(self) except -1:
        cdef Waiter waiter = self.waiter
        self.waiter = None
        if waiter.grant == GRANT_CLOSED:
            raise PoolClosed(f"{self.plan.slots.origin}: the pool was closed while waiting "
                             "for a connection")
        if waiter.grant == GRANT_NEW:
            return self._connect()
        return self._use(waiter.conn)

    cdef int expire(self) except -1:
        """wake_at passed: the phase's timeout, or the end of a drain."""
        cdef str phase, limit
        cdef double seconds
        if self.state == EX_SLOT and self.waiter.grant != GRANT_NONE:
            return self.granted()   # a grant that raced the timeout is taken
        if self.state == EX_DRAINING:
            self._drop(CLOSE_TIMEOUT if self.by_total else CLOSE_DRAIN_TIME)
            return 0
        if self.staggered:
            return self._step(STEP_NEXT_ADDRESS, 0)   # not a timeout: the next address's turn
        if self.handshaking:
            phase = self.conn.tunnel.phase if self.conn.tunnel is not None else "TLS handshake"
        elif self.state == EX_CONNECTING and self.addresses.count > 1:
            phase = f"connect ({self.next_address} of {self.addresses.count} addresses tried)"
        else:
            phase = _PHASES[self.state]
        if self.by_total:
            limit = f"total deadline of {self.limits.total:g} s"
        else:
            seconds = (self.limits.pool, self.limits.pool, self.limits.connect,
                       self.limits.write, self.limits.read, self.limits.read)[self.state]
            limit = f"{_PHASES[self.state]} timeout of {seconds:g} s"
        if self.state <= EX_SLOT:
            exc = _TIMEOUTS[self.state](self._pool_timeout_text(limit))
        else:
            exc = _TIMEOUTS[self.state](
                f"{self.plan.slots.origin}: {phase} timed out ({limit} passed); connection closed")
        return self._fail(exc)

    cdef int abort(self, object exc, int reason=CLOSE_NONE) except -1:
        """The driver gives the exchange up: its wait raised (a signal
        handler did), or the caller left a batch. `reason`, when given, is
        why its connection closes (else the one `exc` names)."""
        return self._fail(exc, reason)

    cdef str _pool_timeout_text(self, str limit):
        cdef OriginSlots slots = self.plan.slots
        cdef PoolCore core = self.core
        reached = (f"max_connections_per_host={core.max_connections_per_host}"
                   if slots.open >= core.max_connections_per_host
                   else f"max_connections={core.max_connections}")
        return (f"{slots.origin}: no connection free after {hp_now() - self.started:.3f} s "
                f"({limit} passed; {reached} reached, {slots.open} open to this origin)")

    # ------------------------------------------------------ the response

    cdef int want(self, Goal goal) except -1:
        """Read on until `goal` (the caller then drives until NEED_DONE)."""
        self.goal = goal
        return self._step(STEP_EVENTS, 0)

    cdef int release(self) except -1:
        """Released before the body was read: drain what is left within
        max_drain bytes and max_drain_time seconds, then give the connection
        back (or close it, counted under why)."""
        cdef ResponseParser parser
        cdef Settings settings = self.settings
        cdef double now, until
        if self.state != EX_BODY:
            return 0
        parser = self.conn.parser
        if parser._content_length >= 0 and parser._content_length - parser._body_seen > settings.max_drain:
            return self._drop(CLOSE_DRAIN_LIMIT)
        # Bytes already buffered count as drained; the parser keeps no more.
        self.drain_start = parser._body_seen - parser._body_len
        parser._discard_body = True
        parser._body_len = 0
        self.state = EX_DRAINING
        now = hp_now()
        self.wake_at = self.deadline
        self.by_total = True
        if settings.max_drain_time >= 0:
            until = now + settings.max_drain_time
            if self.wake_at < 0 or until < self.wake_at:
                self.wake_at = until
                self.by_total = False
        return self._step(STEP_EVENTS, 0)

    cdef int abandon(self) except -1:
        """Garbage-collected with its connection: a finalizer must not block,
        so only a complete body lets the connection be reused."""
        if self.state == EX_BODY and self.conn.parser.message_complete:
            return self._finish()
        if self.state == EX_BODY or self.state == EX_DRAINING:
            return self._drop(CLOSE_ABANDONED)
        return 0

    cdef bytes read_some(self, Py_ssize_t max_bytes):
        """Up to max_bytes of buffered body (goal GOAL_SOME reached); b"" at the end."""
        cdef Connection conn = self.conn
        cdef bytes chunk = b""
        if self.state != EX_BODY:
            return chunk
        if conn.parser._body_len:
            chunk = conn.parser.read_body(max_bytes)
        if conn.parser.message_complete and not conn.parser._body_len:
            self._finish()
        return chunk

    # -------------------------------------------------------------- steps

    cdef int _checkout(self, double now) except -1:
        cdef Grant grant
        # A batch's epoll set vouches for its idle connections only for a
        # replayable request: if a server's close races it, the retry rule
        # sends it again; others get the MSG_PEEK.
        cdef dict watched = self.watched if self.plan.replayable else None
        cdef Connection conn = self.core.checkout(self.plan.slots, now, watched, self.fresh,
                                                  &grant)
        if grant == GRANT_IDLE:
            if self.core.debug:
                self.core.events.append(f"{self.plan.slots.origin}: reusing connection fd={conn.fd}")
            return self._use(conn)
        if grant == GRANT_NEW:
            return self._connect()
        if grant == GRANT_CLOSED:
            raise PoolClosed(f"{self.plan.slots.origin}: the pool is closed")
        self.waiter = self.core.enqueue(self.plan.slots, self.bell, watched)
        self.state = EX_SLOT
        return self._wait_for(NEED_SLOT, self.limits.pool)

    cdef int _connect(self) except -1:
        """A slot is reserved: resolve (once per batch) the URL's host or the
        proxy's, or take the pool's Unix socket, and connect."""
        cdef object target = self.plan.target
        cdef object proxy = self.plan.proxy
        cdef OriginSlots slots = self.plan.slots
        cdef object key = (target.host, target.port) if proxy is None else (proxy.host, proxy.port)
        cdef str origin = slots.origin    # names the Unix socket or the proxy, if any
        self.state = EX_CONNECTING
        if target.scheme == "https":
            # Over a Unix socket or a tunnel too: the server name is the URL's host.
            self.conn = self.settings.tls.connection(slots.key, origin,
                                                     self.settings.parser_limits, target.host)
        else:
            self.conn = Connection(slots.key, origin, self.settings.parser_limits)
        self.conn.slots = slots
        if proxy is not None:
            self.conn.via_proxy = True
            self.conn.tunnel = self.plan.tunnel
        self.addresses = self.settings.uds
        if self.addresses is None and self.resolved is not None:
            self.addresses = self.resolved.get(key)
        if self.addresses is None:
            self.addresses = AddressList.resolve(key[0], key[1], origin, proxy is not None,
                                                 self.settings.pinned)
            if self.resolved is not None:
                self.resolved[key] = self.addresses
        self.next_address = 0
        self.connect_error = 0
        # One connect timeout for the whole phase: every address, then the
        # tunnel and the TLS handshake.
        self._wait_for(NEED_WRITE, self.limits.connect)
        self.connect_until = self.wake_at
        self.connect_by_total = self.by_total
        return self._next_attempt()

    cdef int _next_attempt(self) except -1:
        """Start the next address's attempt (and the one after it at once if
        it fails at once), keeping those in flight; then wait for them, until
        the connect timeout or, while addresses are left, the next one's turn
        (RFC 8305 section 5: 250 ms after this start). No attempt left is a
        ConnectError (ProxyError) with the last error."""
        cdef Connection conn = self.conn
        cdef AddressList addresses = self.addresses
        cdef int err
        cdef double turn
        while self.next_address < addresses.count:
            err = conn.connect_start(addresses.order[self.next_address])
            self.next_address += 1
            if err == 0:
                return self._connected()
            if err == EINPROGRESS:
                break
            self.connect_error = err
        if conn.connecting() == 0:
            conn.connect_failed(self.connect_error, addresses.is_unix)   # raises
        self.need = NEED_WRITE
        self.wake_at = self.connect_until
        self.by_total = self.connect_by_total
        self.staggered = False
        if self.next_address < addresses.count:
            turn = hp_now() + ATTEMPT_DELAY
            if self.wake_at < 0 or turn < self.wake_at:
                self.wake_at = turn
                self.staggered = True
        return 0

    cdef int _connect_result(self) except -1:
        """An attempt's socket (or their race's epoll set) is ready:
        connected, or the next address at once if one failed. Or, once
        connected, the handshake can go on."""
        cdef int err
        if self.handshaking:
            return self._handshake()
        err = self.conn.connect_result()
        if err == 0:
            return self._connected()
        if err == EINPROGRESS:
            return 0
        self.connect_error = err
        return self._next_attempt()

    cdef int _connected(self) except -1:
        # The handshake runs within what is left of the connect timeout, not
        # until the next address's turn.
        self.wake_at = self.connect_until
        self.by_total = self.connect_by_total
        self.staggered = False
        self.core.opened(self.plan.slots)
        if self.core.debug:
            self.core.events.append(f"{self.plan.slots.origin}: opened connection fd={self.conn.fd}")
        self.handshaking = True
        return self._handshake()

    cdef int _handshake(self) except -1:
        """What is set up once connected (a proxy's tunnel, HTTP CONNECT or
        SOCKS5, then the transport's TLS), in steps that keep the connect
        phase's deadline: a peer that trickles its handshake gets no more time
        than one that stalls."""
        cdef Handshake result
        if self.conn.tunnel is not None:
            result = self.conn.tunnel_step()
            if result == HS_READ or result == HS_WRITE:
                self.need = NEED_READ if result == HS_READ else NEED_WRITE
                return 0
        result = self.conn.handshake_step()
        if result == HS_READ or result == HS_WRITE:
            self.need = NEED_READ if result == HS_READ else NEED_WRITE
            return 0
        self.handshaking = False
        if result == HS_FULL:
            self.core.count(self.conn, COUNT_TLS_HANDSHAKES)
        elif result == HS_RESUMED:
            self.core.count(self.conn, COUNT_TLS_RESUMED)
        return self._use(self.conn)

    cdef int _use(self, Connection conn) except -1:
        self.conn = conn
        self.state = EX_SENDING
        conn.begin_request(self.plan.head, self.plan.body, self.plan.client_close)
        conn.parser.start(self.plan.head_request)
        self.chunks = self.plan.chunks
        self.chunk_sent = False
        self.body_left = self.plan.length
        return self._send(0)

    cdef int _send(self, unsigned int events) except -1:
        cdef Connection conn = self.conn
        cdef int sent
        if events & (EPOLLIN | EPOLLHUP | EPOLLERR):
            conn.cut_request()   # the server answered (or closed) mid-upload
        else:
            sent = conn.send_step()
            if sent == SEND_AGAIN:
                return self._wait_for(NEED_WRITE, self.limits.write)
            if sent == SEND_DONE and self._load_more():
                if self._overdue():
                    return 0
                # More body to send: let the driver look for an early answer first.
                return self._wait_for(NEED_WRITE, self.limits.write)
        self.state = EX_HEAD
        # The answer cannot be there yet: wait before the first recv.
        return self._wait_for(NEED_READ, self.limits.read)

    cdef bint _load_more(self) except -1:
        """Load the next piece of an iterable body; False when none is left
        (the chunked body's last chunk is loaded then)."""
        cdef Connection conn = self.conn
        cdef Py_ssize_t size
        if self.chunks is None:
            return False
        for chunk in self.chunks:
            if isinstance(chunk, str):
                chunk = (<str>chunk).encode()
            elif not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"body chunks must be bytes, not {type(chunk).__name__}")
            size = memoryview(chunk).nbytes
            if not size:
                continue
            if not self.plan.chunked:
                self.body_left -= size
                if self.body_left < 0:
                    raise ProtocolError(f"{self.plan.slots.origin}: the file body grew past the "
                                        f"Content-Length of {self.plan.length} sent for it")
                conn.load(chunk, None)
                return True
            # RFC 9112 section 7.1: size in hex, CRLF, data, CRLF (sent before the next size).
            conn.load((b"\r\n%x\r\n" if self.chunk_sent else b"%x\r\n") % size, chunk)
            self.chunk_sent = True
            return True
        self.chunks = None
        if not self.plan.chunked:
            if self.body_left:
                raise ProtocolError(f"{self.plan.slots.origin}: the file body ended "
                                    f"{self.body_left} bytes short of the Content-Length of "
                                    f"{self.plan.length} sent for it")
            return False
        conn.load(b"\r\n0\r\n\r\n" if self.chunk_sent else b"0\r\n\r\n", None)
        return True

    cdef int _receive(self) except -1:
        """Receive as far as the goal; parse as bytes arrive."""
        cdef Connection conn = self.conn
        cdef ResponseParser parser = conn.parser
        cdef Py_ssize_t n
        cdef Py_ssize_t received = conn.received
        while not parser.headers_complete:
            n = conn.recv_step()
            if n == RECV_AGAIN:
                return self._wait_to_read(received)
            if n == 0:
                conn.eof()
        if self.state == EX_HEAD:
            self.state = EX_BODY
            self.status_code = parser.status_code
            self.reason = parser.reason_bytes()
            self.version = parser.version()
            self.headers = parser.header_list()
            self.content_encoded = parser.content_encoded
            self.sets_cookie = parser.sets_cookie
            self.core.count(conn, COUNT_REQUESTS)
        while True:
            if parser.message_complete and (self.goal == GOAL_BODY or not parser._body_len):
                return self._finish()
            if self.goal == GOAL_HEAD or (self.goal == GOAL_SOME and parser._body_len):
                self.need = NEED_DONE
                return 0
            n = conn.recv_body_step()
            if n == RECV_AGAIN:
                return self._wait_to_read(received)
            if n == 0:
                conn.eof()
            elif self._overdue():
                return 0

    cdef int _drain(self) except -1:
        cdef Connection conn = self.conn
        cdef ResponseParser parser = conn.parser
        cdef Py_ssize_t n, drained
        while not parser.message_complete:
            if parser._body_seen - self.drain_start > self.settings.max_drain:
                return self._drop(CLOSE_DRAIN_LIMIT)
            if self.wake_at >= 0 and hp_now() >= self.wake_at:
                return self.expire()
            n = conn.recv_step()
            if n == RECV_AGAIN:
                self.need = NEED_READ
                return 0
            if n == 0:
                conn.eof()
        drained = parser._body_seen - self.drain_start
        if drained == 0:
            return self._finish()
        self.core.count(conn, COUNT_DRAINED)
        self.core.count(conn, COUNT_DRAINED_BYTES, drained)
        if self.core.debug:
            self.core.events.append(f"{conn.origin}: drained {drained} unread body bytes to "
                                    f"save connection fd={conn.fd}")
        return self._finish()

    cdef int _wait_to_read(self, Py_ssize_t received) except -1:
        """Wait for more of the response. The read timeout counts from the
        last byte received (`received` is the count when this step began): a
        wake-up that brought none, such as a folded receive that ran out,
        keeps the deadline it had."""
        if self.need == NEED_READ and self.conn.received == received:
            return 0
        return self._wait_for(NEED_READ, self.limits.read)

    cdef int _wait_for(self, Need need, double phase_timeout) except -1:
        """Say what to wait for, until the nearer of the total deadline and
        the phase's timeout counted from now."""
        cdef double until
        self.need = need
        self.wake_at = self.deadline
        self.by_total = True
        if phase_timeout >= 0:
            until = hp_now() + phase_timeout
            if self.wake_at < 0 or until < self.wake_at:
                self.wake_at = until
                self.by_total = False
        return 0

    cdef bint _overdue(self) except -1:
        """The total deadline passed between waits: expire now."""
        if self.deadline >= 0 and hp_now() >= self.deadline:
            self.by_total = True
            self.expire()
            return True
        return False

    # ------------------------------------------------------------ endings

    cdef int reuse_verdict(self):
        """CLOSE_NONE when the connection may carry another request, else the
        reason it may not (see the module docstring)."""
        cdef Connection conn = self.conn
        cdef ResponseParser parser = conn.parser
        if conn.state != CONN_ACTIVE or not parser.message_complete:
            return CLOSE_ERROR
        if conn.request_cut:
            return CLOSE_EARLY_RESPONSE
        if conn.client_close:
            return CLOSE_CLIENT_CLOSE
        if conn.stray_bytes:
            return CLOSE_ERROR
        if parser.unsafe_framing:
            return CLOSE_UNSAFE_FRAMING
        if not parser._keep_alive or parser._ka_max == 0:
            return CLOSE_SERVER_CLOSE
        return CLOSE_NONE

    cdef int _finish(self) except -1:
        """The response is complete: give the connection back, or close it."""
        cdef Connection conn = self.conn
        cdef int reason = self.reuse_verdict()
        # Taken before the connection goes back: another thread may reuse it at once.
        self.content = conn.parser.take_body()
        self.finished_at = hp_now()
        self.state = EX_DONE
        self.need = NEED_DONE
        self.conn = None
        if reason == CLOSE_NONE:
            self.core.checkin(conn, self.finished_at)
        else:
            self.core.discard(conn, reason)
        return 0

    cdef int _drop(self, int reason) except -1:
        """Close the connection (drain or abandon): no error for the caller."""
        self.finished_at = hp_now()
        self.state = EX_DONE
        self.need = NEED_DONE
        self.core.discard(self.conn, reason)
        self.conn = None
        return 0

    cdef int _failed(self, object exc) except -1:
        """An HTTPError: the retry rule, else the failure."""
        cdef Connection conn = self.conn
        if (isinstance(exc, ConnectionClosed) and conn is not None and self.plan.replayable
                and (self.state == EX_SENDING or self.state == EX_HEAD) and conn.retryable()
                and self.attempts < self.settings.retries):
            self.core.discard(conn, self._failure_reason(exc))
            self.core.count(conn, COUNT_RETRIED)
            if self.core.debug:
                self.core.events.append(
                    f"{conn.origin}: retrying {self.plan.method} {self.plan.path} on a new "
                    "connection: the reused one closed before any response byte")
            self.conn = None
            self.attempts += 1
            self.fresh = True
            self.state = EX_START
            return self._step(STEP_CHECKOUT, 0)
        return self._fail(exc)

    cdef int _failure_reason(self, object exc) except -1:
        """The CloseReason a failure names."""
        cdef Connection conn = self.conn
        if isinstance(exc, TimeoutError):
            return CLOSE_TIMEOUT
        if (isinstance(exc, ConnectionClosed) and conn is not None and conn.reused
                and conn.received == 0):
            # The idle check passed, yet the server had closed: it did so as
            # the request went out (or, like uvicorn after a 500, just after
            # its previous response, without saying Connection: close).
            return CLOSE_CLOSED_ON_REUSE
        return CLOSE_ERROR

    cdef int _fail(self, object exc, int reason=CLOSE_NONE) except -1:
        """End with `exc`, giving back what the exchange holds."""
        cdef Connection conn = self.conn
        if reason == CLOSE_NONE:
            reason = self._failure_reason(exc)
        if reason == CLOSE_TIMEOUT:
            self.core.count_origin(self.plan.slots, COUNT_TIMEOUTS)
        if self.waiter is not None:
            self.core.cancel(self.waiter)
            self.waiter = None
        if self.state == EX_CONNECTING and not self.handshaking:
            # A slot reserved for a connection that never opened.
            conn.close(reason)
            self.core.open_failed(self.plan.slots, conn.close_reason)
        elif conn is not None and self.state != EX_DONE:
            self.core.discard(conn, reason)
        self.conn = None
        self.error = exc
        self.state = EX_DONE
        self.need = NEED_DONE
        self.finished_at = hp_now()
        return 0
