from httpool._conn cimport Connection
from httpool._reasons cimport *


cdef class IdleStack:
    """One origin's idle connections, oldest first, the most recently used
    on top. A Python list frees its storage when it empties and allocates it
    again on the next append: as a stack of one connection reused request
    after request, two reallocs per request. This one keeps its storage."""
    cdef:
        list _items                   # the connections in [0, size), None past size
        readonly Py_ssize_t size

    cdef int push(self, Connection conn) except -1
    cdef Connection pop(self)         # the most recently used
    cdef Connection coldest(self)     # the least recently used, or None
    cdef Connection pop_coldest(self)
    cdef list connections(self)       # a copy, oldest first
    cdef int replace(self, list connections) except -1


cdef class OriginSlots:
    """One origin's connections: the idle stack and the count of open ones."""
    cdef:
        readonly object key
        readonly str origin
        readonly object pool_token    # the PoolCore's token when these slots were made
        IdleStack idle
        readonly int open             # idle, in use, or being connected
        long long counts[COUNTER_COUNT]
        long long closed[CLOSE_REASON_COUNT]


# What a checkout grants.
cdef enum Grant:
    GRANT_NONE = 0      # no slot free: enqueue a Waiter and wait
    GRANT_IDLE = 1      # a validated idle connection, checked out
    GRANT_NEW = 2       # a slot is reserved: open a new connection
    GRANT_CLOSED = 3    # the pool was closed


cdef class Doorbell:
    """How waiters are woken: an eventfd, written only while the bell is
    armed (its owner sleeps in epoll_wait); while the owner runs, a wake only
    marks it pending, and the owner looks before it sleeps again. A batch
    shares one between all its waiters; a blocking waiter has its own."""
    cdef:
        int efd
        bint armed                    # the owner is (about to be) in epoll_wait
        bint pending                  # woken while not armed

    cdef int ring(self) except -1
    # Take the pending mark, or arm for a sleep: True when woken meanwhile.
    cdef bint arm(self) noexcept
    # After the sleep: consume the eventfd's count.
    cdef int disarm(self, bint rung) except -1


cdef class Waiter:
    """A caller waiting for a connection slot."""
    cdef:
        readonly OriginSlots slots
        readonly Grant grant          # GRANT_NONE until woken
        readonly Connection conn      # with GRANT_IDLE
        Doorbell bell
        dict watched                  # the owner's registered fds (see checkout), or None
        int epfd                      # a blocking waiter's epoll instance watching bell.efd, else -1

    cdef int _wake(self, Grant grant, Connection conn) except -1
    # Sleep until woken (True) or until `until` passes (False).
    cdef bint wait(self, double until) except -1


cdef class PoolCore:
    """Slot accounting, idle stacks and waiters for a whole pool.

    Every method runs start to end holding the GIL and never releases it (no
    blocking call, no Python callback), so each is atomic across threads
    without a lock of its own. Sockets closed here are closed with close(2),
    which does not block."""
    cdef:
        dict _origins                 # key -> OriginSlots
        object _token                 # marks the OriginSlots of _origins; new after a fork
        object _waiters               # collections.deque of Waiter, first come first served
        readonly int open_total
        readonly int max_connections
        readonly int max_connections_per_host
        readonly int max_idle_per_host
        readonly double idle_timeout  # < 0: none
        readonly double max_lifetime  # < 0: none
        double _next_sweep
        readonly bint closed
        public list events            # debug log lines, when `debug` is set
        public bint debug

    cpdef OriginSlots slots(self, object key, str origin)

    # Checkout: *grant says what was granted; the Connection with GRANT_IDLE,
    # else None. watched: fd -> (connection, events) registered in the
    # caller's own epoll set, whose idle connections need no peek (a batch
    # watches them). fresh: a retry, which never takes an idle connection.
    cdef Connection checkout(self, OriginSlots slots, double now, dict watched, bint fresh,
                             Grant* grant)
    # bell: a batch's shared Doorbell, or None for a waiter of its own;
    # watched: as for checkout, used when the waiter is served.
    cdef Waiter enqueue(self, OriginSlots slots, Doorbell bell, dict watched)
    # Leave the queue; a grant that raced the end of the wait is given back.
    cdef int cancel(self, Waiter waiter) except -1
    cpdef release_slot(self, OriginSlots slots)
    cpdef opened(self, OriginSlots slots)
    cpdef open_failed(self, OriginSlots slots, int reason)

    # Checkin: a connection whose response is finished, reusable or not.
    cpdef checkin(self, Connection conn, double now)
    cpdef discard(self, Connection conn, int reason)
    cpdef count(self, Connection conn, int counter, long long amount=*)
    cpdef count_origin(self, OriginSlots slots, int counter)

    cpdef close_all(self, int reason)
    cpdef forget_all(self)

    # Debug events, when `debug` is set, written to the "httpool" logger.
    cpdef flush_log(self)

    cdef bint _foreign(self, Connection conn)
    cdef Connection _take(self, OriginSlots slots, double now, dict watched, bint fresh,
                          Grant* grant)
    cdef int _close(self, Connection conn, OriginSlots slots, int reason) except -1
    cdef int _expire(self, OriginSlots slots, double now) except -1
    cdef int _sweep(self, double now) except -1
    cdef bint _evict_one(self, double now) except -1
    cdef int _serve_waiters(self, double now) except -1
