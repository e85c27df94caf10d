# cython: language_level=3
"""Idle stacks, connection slots and waiters.

Strategy
--------
Per origin, idle connections form a LIFO stack: the most recently used
connection is reused first (its peer is least likely to have timed it out) and
the coldest sinks to the bottom, where it expires. A popped connection is
checked before reuse, without blocking: expired (idle_timeout, the server's
Keep-Alive timeout less a margin, max_lifetime), then a MSG_PEEK recv for EOF,
reset or stray bytes such as a 408 sent before the server closed (seed 003). A
bad one is closed, counted as stale, and the next is tried. Expiry is checked
whenever a stack is touched, and every stack at most once a second on
checkout: an idle pool runs no thread of its own. (Keeping idle sockets in an
epoll set with EPOLLRDHUP would notice a FIN sooner, but registering and
removing a socket per idle period costs two epoll_ctl calls, measured at about
1.7 us on this machine, against about 0.4 us for one recv(MSG_PEEK) on pop,
which also catches stray bytes.)

Slots: at most max_connections_per_host connections per origin and
max_connections in all, counted from the moment a connect starts. A caller
that finds no slot queues a Waiter, woken through a Doorbell: a blocking
caller sleeps in epoll_wait on its own; a batch's waiters share the batch's,
whose eventfd is written only while the batch sleeps. Every release serves
the queue in order: an idle connection of the waiter's origin, else a new
slot, else an idle connection of another origin is closed (pool_full) to make
room. A newcomer never overtakes a waiter of its origin. A retry (``fresh``)
never takes an idle connection: it opens a new one.

Thread safety comes from the GIL: no method here releases it or calls back
into Python, so each is atomic. Closing a socket is close(2) on a socket with
no linger, which does not block.
"""

import logging
from collections import deque

from httpool._reasons import CLOSE_REASONS

from libc.string cimport memset
from libc.stdint cimport uint64_t

from httpool._conn cimport Connection, CONN_ACTIVE, CONN_IDLE, CONN_CLOSED
from httpool._sys cimport (
    eventfd, EFD_CLOEXEC, EFD_NONBLOCK, epoll_create1, EPOLL_CLOEXEC, epoll_ctl, EPOLL_CTL_ADD,
    epoll_event, EPOLLIN, close, read, write, errno, EINTR, hp_now, hp_wait_until,
)
from cpython.exc cimport PyErr_CheckSignals

cdef double SWEEP_INTERVAL = 1.0
cdef object logger = logging.getLogger("httpool")


cdef class IdleStack:
    def __cinit__(self):
        self._items = []

    cdef int push(self, Connection conn) except -1:
        if self.size < len(self._items):
            self._items[self.size] = conn
        else:
            self._items.append(conn)
        self.size += 1
        return 0

    cdef Connection pop(self):
        self.size -= 1
        conn = self._items[self.size]
        self._items[self.size] = None
        return conn

    cdef Connection coldest(self):
        return self._items[0] if self.size else None

    cdef Connection pop_coldest(self):
        conn = self._items.pop(0)
        self.size -= 1
        return conn

    cdef list connections(self):
        return self._items[:self.size]

    cdef int replace(self, list connections) except -1:
        self._items = connections
        self.size = len(connections)
        return 0


cdef class OriginSlots:
    def __cinit__(self, object key, str origin, object pool_token):
        self.key = key
        self.origin = origin
        self.pool_token = pool_token
        self.idle = IdleStack()
        memset(self.counts, 0, sizeof(self.counts))
        memset(self.closed, 0, sizeof(self.closed))

    @property
    def idle_count(self):
        return self.idle.size

    def counters(self):
        """(counts, closed): the per-origin counters as two tuples of ints."""
        return (tuple([self.counts[i] for i in range(COUNTER_COUNT)]),
                tuple([self.closed[i] for i in range(CLOSE_REASON_COUNT)]))


cdef class Doorbell:
    def __cinit__(self):
        self.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
        if self.efd < 0:
            raise OSError(errno, "cannot create the eventfd of a pool waiter")

    def __dealloc__(self):
        if self.efd >= 0:
            close(self.efd)

    @property
    def fileno(self):
        return self.efd

    cdef int ring(self) except -1:
        cdef uint64_t one = 1
        if self.armed:
            write(self.efd, &one, sizeof(one))
        else:
            self.pending = True
        return 0

    cdef bint arm(self) noexcept:
        # Both steps run holding the GIL: no ring can fall between them.
        if self.pending:
            self.pending = False
            return True
        self.armed = True
        return False

    cdef int disarm(self, bint rung) except -1:
        cdef uint64_t count
        self.armed = False
        if rung:
            read(self.efd, &count, sizeof(count))
        return 0


cdef class Waiter:
    def __cinit__(self, OriginSlots slots, Doorbell bell, dict watched):
        cdef epoll_event ev
        self.slots = slots
        self.watched = watched
        self.epfd = -1
        if bell is not None:
            self.bell = bell
            return
        self.bell = Doorbell()
        self.bell.armed = True   # a blocking waiter only ever sleeps on it
        self.epfd = epoll_create1(EPOLL_CLOEXEC)
        if self.epfd < 0:
            raise OSError(errno, "cannot create the epoll instance of a pool waiter")
        ev.events = EPOLLIN
        ev.data.fd = self.bell.efd
        epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.bell.efd, &ev)

    def __dealloc__(self):
        if self.epfd >= 0:
            close(self.epfd)

    cdef int _wake(self, Grant grant, Connection conn) except -1:
        self.grant = grant
        self.conn = conn
        return self.bell.ring()

    cdef bint wait(self, double until) except -1:
        cdef epoll_event ev
        cdef int n, err
        while self.grant == GRANT_NONE:
            with nogil:
                n = hp_wait_until(self.epfd, &ev, until)
                err = errno
            if n == 0:
                return False
            if n < 0 and err == EINTR:
                PyErr_CheckSignals()
        return True


cdef class PoolCore:
    def __cinit__(self, int max_connections, int max_connections_per_host, int max_idle_per_host,
                  double idle_timeout, double max_lifetime):
        self._origins = {}
        self._token = object()
        self._waiters = deque()
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self.max_idle_per_host = max_idle_per_host
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.events = []

    cpdef OriginSlots slots(self, object key, str origin):
        cdef OriginSlots slots = self._origins.get(key)
        if slots is None:
            slots = OriginSlots(key, origin, self._token)
            self._origins[key] = slots
        return slots

    def origins(self):
        return list(self._origins.values())

    @property
    def waiting(self):
        return len(self._waiters)

    cdef Connection checkout(self, OriginSlots slots, double now, dict watched, bint fresh,
                             Grant* grant):
        cdef Waiter waiter
        if self.closed:
            grant[0] = GRANT_CLOSED
            return None
        if now >= self._next_sweep:
            self._sweep(now)
        if self._waiters:
            for waiter in self._waiters:
                if waiter.slots is slots:
                    grant[0] = GRANT_NONE   # first come, first served
                    return None
        return self._take(slots, now, watched, fresh, grant)

    cdef Connection _take(self, OriginSlots slots, double now, dict watched, bint fresh,
                          Grant* grant):
        cdef Connection conn
        cdef int alive
        self._expire(slots, now)
        while slots.idle.size and not fresh:
            conn = slots.idle.pop()
            entry = watched.get(conn.fd) if watched is not None else None
            if entry is not None and (<tuple>entry)[0] is conn and not conn.holds_input():
                # Idle in the caller's epoll set since its last wait, which
                # reported no byte and no close for it: no peek needed.
                alive = 0
            else:
                alive = conn.check_alive()
            if alive:
                slots.counts[COUNT_STALE_EOF + alive - 1] += 1
                if self.debug:
                    found = ("the server closed it", "unexpected bytes waiting", "reset")[alive - 1]
                    self.events.append(f"{slots.origin}: idle connection fd={conn.fd} is stale: {found}")
                self._close(conn, slots, CLOSE_STALE)
                continue
            conn.state = CONN_ACTIVE
            slots.counts[COUNT_REUSED] += 1
            grant[0] = GRANT_IDLE
            return conn
        if fresh and slots.idle.size and slots.open >= self.max_connections_per_host:
            # A retry after a reused connection died: its idle siblings were
            # likely closed by the same server event, so one makes room.
            self._close(slots.idle.pop_coldest(), slots, CLOSE_POOL_FULL)
        if slots.open >= self.max_connections_per_host or (
                self.open_total >= self.max_connections and not self._evict_one(now)):
            grant[0] = GRANT_NONE
            return None
        slots.open += 1
        self.open_total += 1
        grant[0] = GRANT_NEW
        return None

    cdef Waiter enqueue(self, OriginSlots slots, Doorbell bell, dict watched):
        cdef Waiter waiter = Waiter(slots, bell, watched)
        self._waiters.append(waiter)
        return waiter

    cdef int cancel(self, Waiter waiter) except -1:
        if waiter.grant == GRANT_NONE:
            self._waiters.remove(waiter)
        elif waiter.grant == GRANT_NEW:
            self.release_slot(waiter.slots)
        elif waiter.grant == GRANT_IDLE:
            self.checkin(waiter.conn, hp_now())
        waiter.grant = GRANT_CLOSED
        waiter.conn = None
        return 0

    cpdef release_slot(self, OriginSlots slots):
        """Give back a slot reserved for a connection that was never opened."""
        slots.open -= 1
        self.open_total -= 1
        self._serve_waiters(hp_now())

    cpdef opened(self, OriginSlots slots):
        slots.counts[COUNT_OPENED] += 1

    cpdef open_failed(self, OriginSlots slots, int reason):
        """A reserved slot whose connect failed: counted as opened and closed."""
        slots.open -= 1
        self.open_total -= 1
        slots.counts[COUNT_OPENED] += 1
        slots.closed[reason] += 1
        self._serve_waiters(hp_now())

    cpdef flush_log(self):
        for line in self.events:
            logger.debug("%s", line)
        self.events.clear()

    cdef bint _foreign(self, Connection conn):
        """A connection from before a fork (or another pool): close it, uncounted."""
        cdef OriginSlots slots = conn.slots
        if slots is not None and slots.pool_token is self._token:
            return False
        conn.close(CLOSE_POOL_CLOSE)
        return True

    cpdef checkin(self, Connection conn, double now):
        cdef OriginSlots slots = conn.slots
        if self._foreign(conn):
            return
        if conn.state == CONN_IDLE:
            raise RuntimeError(f"{conn!r} was put back in the idle stack twice")
        if conn.state == CONN_CLOSED:
            self._close(conn, slots, conn.close_reason)
        elif self.closed:
            self._close(conn, slots, CLOSE_POOL_CLOSE)
        else:
            conn.set_idle(now, self.idle_timeout, self.max_lifetime)
            self._expire(slots, now)
            if conn.expires_at <= now:
                self._close(conn, slots, conn.expire_reason)
            elif slots.idle.size >= self.max_idle_per_host:
                self._close(conn, slots, CLOSE_POOL_FULL)
            else:
                slots.idle.push(conn)
        self._serve_waiters(now)

    cpdef discard(self, Connection conn, int reason):
        """Close a checked-out connection and free its slot."""
        cdef OriginSlots slots = conn.slots
        if self._foreign(conn):
            return
        if conn.state == CONN_IDLE:
            raise RuntimeError(f"{conn!r} is idle: it cannot be discarded by a request")
        self._close(conn, slots, conn.close_reason if conn.state == CONN_CLOSED else reason)
        self._serve_waiters(hp_now())

    cpdef count(self, Connection conn, int counter, long long amount=1):
        (<OriginSlots>conn.slots).counts[counter] += amount

    cpdef count_origin(self, OriginSlots slots, int counter):
        slots.counts[counter] += 1

    cdef int _close(self, Connection conn, OriginSlots slots, int reason) except -1:
        """Close a connection that holds a slot and count why."""
        conn.close(reason)
        reason = conn.close_reason
        slots.closed[reason] += 1
        slots.open -= 1
        self.open_total -= 1
        if self.debug:
            self.events.append(f"{slots.origin}: closed connection ({CLOSE_REASONS[reason - 1]})")
        return 0

    cdef int _expire(self, OriginSlots slots, double now) except -1:
        cdef Connection conn
        cdef list keep
        cdef Py_ssize_t i
        for i in range(slots.idle.size):
            if (<Connection>slots.idle._items[i]).expires_at <= now:
                break
        else:
            return 0   # the common case: nothing expired, nothing rebuilt
        keep = []
        for conn in slots.idle.connections():
            if conn.expires_at <= now:
                self._close(conn, slots, conn.expire_reason)
            else:
                keep.append(conn)
        slots.idle.replace(keep)
        return 0

    cdef int _sweep(self, double now) except -1:
        cdef OriginSlots slots
        for slots in self._origins.values():
            self._expire(slots, now)
        self._next_sweep = now + SWEEP_INTERVAL
        return 0

    cdef bint _evict_one(self, double now) except -1:
        """Close the coldest idle connection of any origin to free a slot."""
        cdef OriginSlots slots, coldest = None
        cdef Connection conn
        cdef double oldest = 1e300
        for slots in self._origins.values():
            conn = slots.idle.coldest()
            if conn is not None:
                if conn.expires_at < oldest:
                    oldest = conn.expires_at
                    coldest = slots
        if coldest is None:
            return False
        self._close(coldest.idle.pop_coldest(), coldest, CLOSE_POOL_FULL)
        return True

    cdef int _serve_waiters(self, double now) except -1:
        cdef Waiter waiter
        cdef Connection conn
        cdef Grant grant
        cdef list served
        cdef set blocked
        if not self._waiters:
            return 0
        served = []
        blocked = set()
        for waiter in self._waiters:
            # A waiter that cannot be served blocks later ones of its origin.
            if waiter.slots.key in blocked:
                continue
            conn = self._take(waiter.slots, now, waiter.watched, False, &grant)
            if grant == GRANT_NONE:
                blocked.add(waiter.slots.key)
                continue
            waiter._wake(grant, conn)
            served.append(waiter)
        for waiter in served:
            self._waiters.remove(waiter)
        return 0

    cpdef close_all(self, int reason):
        """Close every idle connection; connections in use close when released."""
        cdef OriginSlots slots
        cdef Connection conn
        cdef Waiter waiter
        self.closed = True
        for slots in self._origins.values():
            for conn in slots.idle.connections():
                self._close(conn, slots, reason)
            slots.idle.replace([])
        for waiter in self._waiters:
            waiter._wake(GRANT_CLOSED, None)   # the waiter raises PoolClosed
        self._waiters.clear()

    cpdef forget_all(self):
        """In a forked child: drop every slot of the parent's connections (their
        descriptors are closed by httpool._conn's fork handler). Connections
        released later are recognised as foreign and closed uncounted."""
        self._origins = {}
        self._token = object()
        self._waiters = deque()
        self.open_total = 0
