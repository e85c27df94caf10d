# cython: language_level=3
"""Many requests in flight from one thread: the batch driver.

Strategy
--------
A Batch keeps up to `concurrency` exchanges (httpool._exchange) in flight and
waits for all of them in one epoll set: each exchange says what it needs
(its socket readable or writable, or a slot) and until when, the batch
registers that and sleeps in one ``epoll_wait`` until the nearest ``wake_at``
of all (a heap, re-armed lazily: an entry popped before its exchange's current
wake_at is pushed again at it). So the batch holds no rule of its own: limits,
timeouts of every phase, the retry on a new connection, reuse, drain and
failure accounting are the exchange's, exactly as for a blocking request.

Slots. An exchange that finds no slot (max_connections_per_host or
max_connections reached) waits in the pool's first-come-first-served queue
like any caller, counted in ``pool.stats().waiting``; a batch's waiters share
one eventfd, watched in the batch's epoll set, so waiting costs no descriptor
and no epoll instance per request. ``concurrency`` above the per-host limit
therefore means: that many requests started, the rest of them queued for a
connection of their origin.

Idle connections stay registered in the batch's epoll set between its
exchanges: a connection that the last wait reported no byte and no close for
needs no MSG_PEEK at its next checkout by a replayable request (if a server's
close races it, the retry rule sends the request again); any event on an idle
one drops it from the set, and its next checkout peeks.

Policies. A request with a Flow (httpool.policies.flow: auth, cookies,
redirects) runs its hops inside the batch: when a hop's response is read, its
Flow names the next hop, which starts at once as a new exchange in the same
place, within the request's one total deadline. A request that only follows
redirects starts without one, and a Flow takes over if its response is a
redirect; a request without one only has its Set-Cookie stored.

Retries (httpool.Retry) never sleep: a hop that its Flow says to send after
a delay (a retryable status, or an exchange that ended with a retryable
error) waits in the ``delayed`` heap, holding no connection and no slot, and
``epoll_wait`` wakes for the nearest start as for any deadline. It stays
counted in flight, so next_done() waits for it.

Names are resolved once per host and port for the batch (getaddrinfo may
block; connecting never does). If the batch is abandoned (an exception, a
KeyboardInterrupt, the caller leaving iter_many), close() ends every exchange
still in flight, which gives back its connection or slot.
"""

from collections import deque
from heapq import heappop, heappush

from cpython.exc cimport PyErr_CheckSignals

from httpool._conn cimport Connection, CONN_CLOSED
from httpool._exchange cimport (
    Exchange, GOAL_BODY, Need, NEED_DONE, NEED_READ, NEED_SLOT, NEED_WRITE, Settings,
    limits_of, new_exchange,
)
from httpool._idle cimport Doorbell, GRANT_NONE
from httpool._plan cimport Plan
from httpool._reasons cimport CLOSE_ABANDONED
from httpool._response cimport Response, redirect_status, response_of
from httpool._sys cimport (
    close, epoll_create1, epoll_ctl, epoll_event, epoll_wait, errno, hp_now, EINTR, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL,
    EPOLL_CTL_MOD, EPOLLIN, EPOLLOUT,
)
from httpool._exceptions import ConnectionClosed
from httpool.policies.flow import Flow

cdef enum:
    MAX_EVENTS = 256


cdef class Batch:
    def __cinit__(self, Settings settings, list items, Py_ssize_t concurrency, object timeout,
                  object policies):
        cdef epoll_event ev
        self.settings = settings
        self.core = settings.core
        self.limits = limits_of(timeout)
        self.epfd = epoll_create1(EPOLL_CLOEXEC)
        if self.epfd < 0:
            raise OSError(errno, "cannot create the epoll instance of a batch")
        self.bell = Doorbell()
        ev.events = EPOLLIN
        ev.data.fd = self.bell.efd
        epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.bell.efd, &ev)
        self.policies = policies
        # (index, Plan, its Flow or None, whether it follows redirects, when its first hop began or -1)
        self.queued = deque((index, plan, flow, follows, -1.0)
                            for index, (plan, flow, follows) in enumerate(items))
        self.size = len(items)
        self.watched = {}
        self.registered = {}
        self.waiting = []
        self.deadlines = []
        self.delayed = []
        self.finished = deque()
        self.resolved = {}
        self.concurrency = concurrency

    def __dealloc__(self):
        if self.epfd >= 0:
            close(self.epfd)

    def __len__(self):
        return self.size

    def next_done(self):
        """(index, Response or exception) of the next request to finish, in
        completion order; None when all did."""
        while not self.finished:
            self._start_more()
            if self.finished:
                break
            if self.in_flight == 0:
                return None
            self._poll(True)
        return self.finished.popleft()

    def poll_done(self):
        """next_done() without waiting, for a driver that waits in an event
        loop (httpool._async): (index, Response or exception), None when all
        finished, or () when none is ready yet (wait for epfd or nearest())."""
        if not self.finished:
            self._start_more()
        if self.finished:
            return self.finished.popleft()
        return None if self.in_flight == 0 else ()

    cdef int _start_more(self) except -1:
        if self.starting:
            return 0   # called back from _follow: the running loop goes on instead
        self.starting = True
        try:
            self._start_queued()
        finally:
            self.starting = False
        return 0

    cdef int _start_queued(self) except -1:
        cdef Exchange exchange
        while self.queued and self.in_flight < self.concurrency:
            index, plan, flow, follows, since = self.queued.popleft()
            self.in_flight += 1
            self._begin(index, plan, flow, follows, since)
        return 0

    cdef int _begin(self, object index, Plan plan, object flow, bint follows,
                    double since) except -1:
        cdef Limits* limits = self._limits_for(index)
        cdef Exchange exchange = new_exchange(self.settings, plan, limits, self.resolved,
                                              self.registered, self.bell)
        exchange.driver_index = index
        exchange.driver_flow = flow
        exchange.driver_follows = follows
        try:
            exchange.begin(GOAL_BODY, hp_now(), since)
        except Exception:
            pass   # the exchange ended with it as its error
        if flow is not None:
            # The Flow keeps no retry's wait past the request's total deadline
            # (hp_now() and time.monotonic() read the same clock).
            flow.deadline = exchange.since + limits.total if limits.total >= 0 else -1.0
        return self._follow(exchange)

    cdef Limits* _limits_for(self, object index):
        return &self.limits

    cdef int _next_hop(self, Exchange exchange, Plan plan, object flow) except -1:
        """Start the hop its Flow returned, now or after the delay it says."""
        if flow.delay > 0:
            self.sequence += 1
            heappush(self.delayed, (hp_now() + flow.delay, self.sequence, exchange.driver_index,
                                    plan, flow, exchange.since))
            return 0
        return self._begin(exchange.driver_index, plan, flow, False, exchange.since)

    cdef int _start_delayed(self, double now) except -1:
        """Begin the delayed hops whose time came."""
        while self.delayed and self.delayed[0][0] <= now:
            _, _, index, plan, flow, since = heappop(self.delayed)
            self._begin(index, plan, flow, False, since)
        return 0

    cdef int _follow(self, Exchange exchange) except -1:
        cdef Need need = exchange.need
        cdef int fd = -1
        cdef unsigned int events = EPOLLIN if need == NEED_READ else EPOLLIN | EPOLLOUT
        if need == NEED_READ or need == NEED_WRITE:
            fd = exchange.conn.waits_on(&events)
        if exchange.driver_fd >= 0 and exchange.driver_fd != fd:
            self._forget_fd(exchange)
        if need == NEED_DONE:
            return self._done(exchange)
        if need == NEED_SLOT:
            self.waiting.append(exchange)
        else:
            self._watch(exchange, fd, events)
        if exchange.wake_at >= 0 and (exchange.driver_at < 0 or exchange.wake_at < exchange.driver_at):
            exchange.driver_at = exchange.wake_at
            self.sequence += 1
            heappush(self.deadlines, (exchange.wake_at, self.sequence, exchange))
        return 0

    cdef int _done(self, Exchange exchange) except -1:
        """An exchange needs nothing more: its request's result, or its next hop."""
        cdef object result
        cdef Plan plan
        result = exchange.error
        if result is not None and exchange.driver_flow is not None:
            try:
                plan = exchange.driver_flow.failed(result)   # else it raises the error
            except Exception as exc:
                result = exc
            else:
                self._next_hop(exchange, plan, exchange.driver_flow)
                return 0   # its retry is in flight, or delayed, in its place
        elif result is None:
            try:
                result = self._response(exchange)
            except Exception as exc:
                result = exc
            if result is None:
                return 0   # its next hop is in flight in its place
        self.in_flight -= 1
        self._finished(exchange.driver_index, result)
        if self.core.debug:
            self.core.flush_log()
        # A connection just went back to the idle stack: the next queued
        # exchange takes it now, before more completions overflow max_idle_per_host.
        return self._start_more()

    cdef int _finished(self, object index, object result) except -1:
        """A request's result (a Response or an exception) is in."""
        if isinstance(result, Response):
            (<Response>result).index = index
        else:
            try:
                result.index = index
            except AttributeError:
                pass
        self.finished.append((index, result))
        return 0

    cdef object _response(self, Exchange exchange):
        """The response of an exchange that succeeded, or None when its Flow
        started the next hop instead."""
        cdef Response response = response_of(exchange)
        cdef object flow = exchange.driver_flow
        if flow is None:
            if not (exchange.driver_follows and redirect_status(exchange.status_code)):
                if exchange.sets_cookie:
                    self.policies.keep_cookies(response)
                return response
            # A redirect to follow: a Flow takes over from this first hop.
            flow = Flow.after(self.policies, exchange.plan)
        plan = flow.next(response)
        if plan is None:
            return flow.finish(response)
        self._next_hop(exchange, plan, flow)
        return None

    cdef int _forget_fd(self, Exchange exchange) except -1:
        """The exchange no longer waits on its fd. Its connection stays
        registered while it is open (idle, for the next exchange); a closed
        one left the epoll set with its descriptor."""
        cdef int fd = exchange.driver_fd
        cdef tuple entry = self.registered.get(fd)
        if self.watched.get(fd) is exchange:
            del self.watched[fd]
        # Gone with its descriptor: a closed connection's, or the epoll set
        # of its connect attempts once one of them won.
        if entry is not None and ((<Connection>entry[0]).state == CONN_CLOSED
                                  or (<Connection>entry[0]).fd != fd):
            del self.registered[fd]
        exchange.driver_fd = -1
        return 0

    cdef int _watch(self, Exchange exchange, int fd, unsigned int events) except -1:
        cdef epoll_event ev
        cdef Connection conn = exchange.conn
        cdef tuple entry = self.registered.get(fd)
        cdef int op = EPOLL_CTL_ADD
        if entry is not None and entry[0] is conn:
            op = EPOLL_CTL_MOD if entry[1] != events else -1
        if op >= 0:
            ev.events = events
            ev.data.fd = fd
            if epoll_ctl(self.epfd, op, fd, &ev) < 0:
                raise OSError(errno, f"epoll_ctl failed for a batch request to {conn.origin}")
            self.registered[fd] = (conn, events)
        self.watched[fd] = exchange
        exchange.driver_fd = fd
        return 0

    cdef double _nearest(self):
        """The nearest deadline of an exchange still in flight, or of a
        delayed hop; < 0 for none. Stale entries of the heap go."""
        cdef Exchange exchange
        cdef tuple top
        while self.deadlines:
            top = self.deadlines[0]
            exchange = top[2]
            if exchange.need != NEED_DONE and exchange.driver_at == top[0]:
                break
            heappop(self.deadlines)
        if not self.deadlines:
            return self.delayed[0][0] if self.delayed else -1.0
        if not self.delayed:
            return self.deadlines[0][0]
        return min(self.deadlines[0][0], self.delayed[0][0])

    cdef int _poll(self, bint block) except -1:
        """Wait (block: until the nearest deadline; else not at all) for
        events, then run what they and the passed deadlines say."""
        cdef epoll_event events[MAX_EVENTS]
        cdef int n, i, fd, err, ms = 0
        cdef double nearest, now
        cdef bint rung = False
        cdef Exchange exchange
        if block:
            if self.bell.arm():
                # A waiter of this batch was served while it ran (its own
                # release handed a connection on): no sleep, no eventfd.
                return self._serve_waiting()
            nearest = self._nearest()
            now = hp_now()
            ms = -1 if nearest < 0 else 0 if nearest <= now else <int>((nearest - now) * 1000.0) + 1
        with nogil:
            n = epoll_wait(self.epfd, events, MAX_EVENTS, ms)
            err = errno
        for i in range(n if n > 0 else 0):
            rung = rung or events[i].data.fd == self.bell.efd
        self.bell.disarm(rung)
        if n < 0:
            if err != EINTR:
                raise OSError(err, "epoll_wait failed in a batch")
            PyErr_CheckSignals()
            n = 0
        for i in range(n):
            fd = events[i].data.fd
            if fd == self.bell.efd:
                self._serve_waiting()
                continue
            exchange = self.watched.get(fd)
            if exchange is not None:
                try:
                    exchange.advance(events[i].events)
                except Exception:
                    pass   # the exchange ended with it as its error
                self._follow(exchange)
            elif self.registered.pop(fd, None) is not None:
                # An idle connection with bytes or a FIN: no longer watched
                # (level-triggered, it would wake every wait); its next
                # checkout peeks and finds it stale.
                epoll_ctl(self.epfd, EPOLL_CTL_DEL, fd, NULL)
        now = hp_now()
        self._expire(now)
        self._start_delayed(now)
        return 0

    cdef int _serve_waiting(self) except -1:
        """The doorbell rang: the exchanges whose waiter was granted go on."""
        cdef Exchange exchange
        cdef list granted
        granted = [exchange for exchange in self.waiting if exchange.waiter.grant != GRANT_NONE]
        if not granted:
            return 0
        self.waiting = [exchange for exchange in self.waiting if exchange.waiter.grant == GRANT_NONE]
        for exchange in granted:
            try:
                exchange.granted()
            except Exception:
                pass   # the exchange ended with it as its error
            self._follow(exchange)
        return 0

    cdef int _expire(self, double now) except -1:
        cdef Exchange exchange
        cdef tuple top
        while self.deadlines and self.deadlines[0][0] <= now:
            top = heappop(self.deadlines)
            exchange = top[2]
            if exchange.need == NEED_DONE or exchange.driver_at != top[0]:
                continue   # ended, or a nearer entry replaced this one
            if exchange.wake_at < 0 or exchange.wake_at > now:
                # Its wait was re-armed later since: schedule it there.
                exchange.driver_at = exchange.wake_at
                if exchange.wake_at >= 0:
                    self.sequence += 1
                    heappush(self.deadlines, (exchange.wake_at, self.sequence, exchange))
                continue
            if exchange.need == NEED_SLOT:
                self.waiting.remove(exchange)
            # This entry is spent: a wait that goes on (the next address's
            # turn came) is scheduled afresh by _follow.
            exchange.driver_at = -1.0
            try:
                exchange.expire()
            except Exception:
                pass   # the exchange ended with it as its error
            self._follow(exchange)
        return 0

    def close(self):
        """Abandon the batch: end every exchange in flight, giving back its
        connection or slot."""
        cdef Exchange exchange
        for exchange in list(self.watched.values()) + self.waiting:
            if exchange.need != NEED_DONE:
                # The caller gave these up: the server is not to blame.
                exchange.abort(ConnectionClosed(
                    f"{exchange.plan.slots.origin}: the batch was abandoned; connection closed"),
                    CLOSE_ABANDONED)
        self.watched.clear()
        self.waiting = []
        self.delayed = []         # they hold no connection: dropped
        self.queued.clear()
        self.finished.clear()
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1
