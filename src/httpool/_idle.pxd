from httpool._conn cimport Connection
from httpool._reasons cimport *


cdef class OriginSlots:
    """One origin's connections: the idle stack and the count of open ones."""
    cdef:
        readonly object key
        readonly str origin
        list idle                     # LIFO: the most recently used at the end
        readonly int open             # idle, in use, or being connected
        long long counts[COUNTER_COUNT]
        long long closed[CLOSE_REASON_COUNT]


cdef class Waiter:
    """A caller waiting for a connection slot, woken through an eventfd."""
    cdef:
        readonly OriginSlots slots
        readonly object grant         # None; a Connection; True: open a new one; False: pool closed
        int efd                       # eventfd written once when granted
        int epfd                      # epoll instance watching efd

    cdef int _wake(self, object grant) except -1


cdef class PoolCore:
    """Slot accounting, idle stacks and waiters for a whole pool.

    Every method runs start to end holding the GIL and never releases it (no
    blocking call, no Python callback), so each is atomic across threads
    without a lock of its own. Sockets closed here are closed with close(2),
    which does not block."""
    cdef:
        dict _origins                 # key -> OriginSlots
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

    # Checkout: a validated idle Connection, True (a slot is reserved: open a
    # new connection), or None (no slot: call enqueue() and wait). watched:
    # fd -> (connection, events) registered in the caller's own epoll set,
    # whose idle connections need no peek (a batch watches them).
    cpdef object checkout(self, OriginSlots slots, double now, dict watched=*)
    cpdef Waiter enqueue(self, OriginSlots slots)
    # After a wait ended without a wake: the grant that raced the timeout, or None.
    cpdef object cancel(self, Waiter waiter)
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

    cdef bint _foreign(self, Connection conn)
    cdef object _take(self, OriginSlots slots, double now, dict watched=*)
    cdef int _close(self, Connection conn, OriginSlots slots, int reason) except -1
    cdef int _expire(self, OriginSlots slots, double now) except -1
    cdef int _sweep(self, double now) except -1
    cdef bint _evict_one(self, double now) except -1
    cdef int _serve_waiters(self, double now) except -1
