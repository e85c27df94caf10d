from httpool._conn cimport AddressList, Connection
from httpool._idle cimport Doorbell, OriginSlots, PoolCore, Waiter
from httpool._plan cimport Plan
from httpool._tls cimport TLSConfig


# A request's limits in seconds, < 0 for none: httpool.Timeout in C.
cdef struct Limits:
    double total      # the whole exchange, from checkout to the end of the body
    double connect    # each wait while connecting
    double write      # each wait while sending
    double read       # each wait while receiving
    double pool       # the wait for a connection slot

cdef Limits limits_of(object timeout) except *


# What the exchange needs next: the whole interface between it and a driver.
# A driver waits for `need` on `fd` (or on the waiter) until `wake_at`, then
# calls advance(events), granted(), or expire() when wake_at passed first.
cdef enum Need:
    NEED_DONE = 0     # nothing: the goal is reached, or `error` is set
    NEED_SLOT = 1     # the waiter's grant (its eventfd becomes readable)
    NEED_WRITE = 2    # fd writable (EPOLLOUT); EPOLLIN too, which means an early answer
    NEED_READ = 3     # fd readable (EPOLLIN)


# Where one exchange is. Transitions: START -> SLOT -> CONNECTING -> SENDING
# -> HEAD -> BODY -> DONE, skipping SLOT and CONNECTING for an idle connection;
# BODY -> DRAINING -> DONE when the response is released early; any state ->
# DONE on failure; SENDING/HEAD -> START for the one retry on a new connection.
cdef enum ExState:
    EX_START = 0        # not checked out
    EX_SLOT = 1         # waiting for a connection slot
    EX_CONNECTING = 2   # connect() in progress
    EX_SENDING = 3      # request head and body on their way out
    EX_HEAD = 4         # receiving the response head
    EX_BODY = 5         # head received; the body is read as the goal says
    EX_DRAINING = 6     # released early: the rest of the body is discarded
    EX_DONE = 7         # the connection went back or was closed


# How far the caller wants the response read before advance() says NEED_DONE.
cdef enum Goal:
    GOAL_HEAD = 0       # the head (a stream)
    GOAL_SOME = 1       # some body bytes buffered (iter_bytes)
    GOAL_BODY = 2       # the whole body


# The steps a driver's call runs (see Exchange._step).
cdef enum Step:
    STEP_CHECKOUT = 0   # take a connection or a slot (begin, or the retry)
    STEP_EVENTS = 1     # go on after a wait, or for the response's new goal
    STEP_GRANT = 2      # take what the waiter was granted
    STEP_NEXT_ADDRESS = 3   # start connecting to the next address (RFC 8305's delay passed)


cdef class Settings:
    """The pool-wide parts of every exchange, fixed when the pool is made."""
    cdef:
        PoolCore core
        int retries                   # retries on a new connection (see Exchange)
        Py_ssize_t max_drain          # bytes an early release may discard
        double max_drain_time         # seconds it may take; < 0: no limit but the deadline
        dict parser_limits            # ResponseParser keywords for new connections
        TLSConfig tls                 # verification, client certificate, sessions of https origins
        AddressList uds               # the Unix socket every request goes to (uds=), or None
        dict pinned                   # host -> its addresses, IP literals (resolve=), or None


cdef class Exchange:
    """One request on one connection, from checkout to release."""
    cdef:
        readonly Plan plan
        Settings settings
        PoolCore core
        Limits limits
        readonly Connection conn
        readonly ExState state
        Goal goal
        readonly Need need
        readonly double wake_at       # the current wait ends here (monotonic); < 0: never
        bint by_total                 # wake_at is the total deadline, not a phase timeout
        readonly double started
        readonly double since         # when the request's first hop began (redirects, auth)
        double deadline               # since + limits.total, or < 0
        readonly double finished_at   # when the connection was released; < 0 until then
        int attempts                  # retries so far
        bint fresh                    # the next checkout must open a new connection
        bint handshaking              # connected; the transport's handshake is under way
        AddressList addresses
        int next_address              # the index in addresses of the next one to try
        int connect_error             # the errno of the last attempt that failed
        double connect_until          # wake_at of the connect phase (its timeout, or the deadline)
        bint connect_by_total         # ... which is the total deadline
        bint staggered                # wake_at is the next address's turn, not a timeout
        dict resolved                 # (host, port) -> AddressList shared by a batch, or None
        dict watched                  # a batch's registered fds (see PoolCore.checkout), or None
        readonly Waiter waiter
        Doorbell bell                 # a batch's, shared by its waiters, or None
        object chunks                 # iterator of the body still to send, or None
        bint chunk_sent               # a chunk went out (the next size line starts with CRLF)
        Py_ssize_t body_left          # bytes a file body still owes its Content-Length
        Py_ssize_t drain_start        # body bytes parsed when draining began
        # The response head, copied from the parser when it is complete.
        readonly int status_code
        readonly bytes reason
        readonly str version          # "1.1", "1.0"
        readonly list headers         # (name, value) bytes pairs
        readonly bint content_encoded # the head has Content-Encoding (httpool.policies.decoding)
        readonly bint sets_cookie     # the head has Set-Cookie (httpool.policies.cookies)
        readonly bytes content        # the body, once the exchange finished with it read
        readonly object error         # the exception that ended the exchange, or None
        # Drivers' own bookkeeping; the exchange never reads them.
        public int driver_fd
        public double driver_at
        public object driver_index
        public object driver_flow     # the request's policies (httpool.policies.flow), or None
        public bint driver_follows    # without a Flow: one takes over if the response is a redirect

    # Driving: begin once, then one call per wake-up, each updating need,
    # wake_at and (at the end) error.
    cdef int begin(self, Goal goal, double now, double since=*) except -1
    cdef int advance(self, unsigned int events) except -1
    cdef int granted(self) except -1
    cdef int expire(self) except -1
    cdef int abort(self, object exc, int reason=*) except -1

    # The response's side: read further, release early, or let go without I/O.
    cdef int want(self, Goal goal) except -1
    cdef int release(self) except -1
    cdef int abandon(self) except -1
    cdef bytes read_some(self, Py_ssize_t max_bytes)

    # Steps.
    cdef int _step(self, Step step, unsigned int events) except -1
    cdef int _take_grant(self) except -1
    cdef int _checkout(self, double now) except -1
    cdef int _connect(self) except -1
    cdef int _next_attempt(self) except -1
    cdef int _connect_result(self) except -1
    cdef int _connected(self) except -1
    cdef int _handshake(self) except -1
    cdef int _use(self, Connection conn) except -1
    cdef int _send(self, unsigned int events) except -1
    cdef bint _load_more(self) except -1
    cdef int _receive(self) except -1
    cdef int _drain(self) except -1
    cdef int _wait_to_read(self, Py_ssize_t received) except -1
    cdef int _wait_for(self, Need need, double phase_timeout) except -1
    cdef bint _overdue(self) except -1
    cdef str _pool_timeout_text(self, str limit)

    # Endings, each in one place: the reuse rule, the retry rule, failures.
    cdef int reuse_verdict(self)
    cdef int _finish(self) except -1
    cdef int _drop(self, int reason) except -1
    cdef int _failed(self, object exc) except -1
    cdef int _failure_reason(self, object exc) except -1
    cdef int _fail(self, object exc, int reason=*) except -1


# A new exchange. resolved, watched and bell are a batch's (None for the
# blocking driver): see the fields of the same names.
cdef Exchange new_exchange(Settings settings, Plan plan, Limits* limits, dict resolved,
                           dict watched, Doorbell bell)
