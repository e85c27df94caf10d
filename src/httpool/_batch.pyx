# cython: language_level=3
"""Many requests in flight from one thread, driven by one epoll loop.

Strategy
--------
A Batch keeps up to `concurrency` requests (Jobs) in flight. Each job walks
WAITING (for a slot) -> CONNECTING -> SENDING -> RECEIVING -> DONE, one step
at a time, whenever the batch's epoll says its socket (or, while waiting for a
slot, its Waiter's eventfd) is ready: the same non-blocking steps the waiting
requests use (Connection.connect_start/connect_result, send_step, recv_step),
so one loop drives hundreds of connections and Python is touched only to hand
back finished responses.

Every rule of the pool holds inside a batch, because the batch goes through the
same PoolCore: per-origin and total limits (a job without a slot queues a
Waiter like any other caller, first come first served), stale checks on
checkout (for replayable requests, a connection that stayed registered in the
batch's epoll set while idle is checked by that epoll for free: any byte or
close makes it report the connection, which is then dropped from the set and
peeked at its next checkout; other requests get the usual MSG_PEEK), the retry of replayable requests that failed on a reused connection
before any response byte, stats. Each job has its own deadline; the loop's
epoll_wait sleeps until the nearest one, and a job whose deadline passes has
its connection closed and gets its own timeout, costing the others nothing.

Names are resolved once per host and port for the batch (getaddrinfo may
block; connecting never does). If the batch is abandoned (an exception, a
KeyboardInterrupt, the caller leaving iter_many), close() closes every
connection still in flight and gives back every slot, so the pool stays
consistent.
"""

from collections import deque
from heapq import heappop, heappush

from cpython.exc cimport PyErr_CheckSignals

from httpool._conn cimport (
    AddressList, Connection, SEND_AGAIN, SEND_CUT, RECV_AGAIN,
)
from httpool._reasons cimport CLOSE_ERROR, CLOSE_TIMEOUT, COUNT_REQUESTS, COUNT_RETRIED, COUNT_TIMEOUTS
from httpool._request cimport Plan, Runner
from httpool._response cimport Response
from httpool._sys cimport (
    addrinfo, close, epoll_create1, epoll_ctl, epoll_event, epoll_wait, errno, hp_now,
    EINPROGRESS, EINTR, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD,
    EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT,
)
from httpool._exceptions import (
    ConnectionClosed, ConnectTimeout, HTTPError, PoolClosed, PoolTimeout, ReadTimeout, WriteTimeout,
)

cdef enum:
    MAX_EVENTS = 256

cdef tuple _TIMEOUT_ERRORS = (PoolTimeout, PoolTimeout, ConnectTimeout, WriteTimeout, ReadTimeout)
cdef tuple _STATE_NAMES = ("queued", "waiting for a connection", "connecting", "sending", "receiving")


cdef class Job:
    """One request of a batch."""

    def __cinit__(self, Py_ssize_t index, Plan plan):
        self.index = index
        self.plan = plan
        self.fd = -1
        self.deadline = -1.0


cdef class Batch:
    """The requests of one request_many / iter_many call."""

    def __cinit__(self, Runner pool, list plans, Py_ssize_t concurrency, double timeout,
                  double read_timeout, int retries):
        cdef Py_ssize_t i
        self.pool = pool
        self.core = pool.core
        self.epfd = epoll_create1(EPOLL_CLOEXEC)
        if self.epfd < 0:
            raise OSError(errno, "epoll_create1 failed for a batch")
        self.queued = deque([Job(i, plans[i]) for i in range(len(plans))])
        self.size = len(plans)
        self.watched = {}
        self.registered = {}
        self.deadlines = []
        self.finished = deque()
        self.addresses = {}
        self.concurrency = concurrency
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.retries = retries

    def __dealloc__(self):
        if self.epfd >= 0:
            close(self.epfd)

    def __len__(self):
        return self.size

    def next_done(self):
        """The next job to finish (in completion order), or None when all did."""
        cdef Job job
        while not self.finished:
            self._start_more()
            if self.in_flight == 0:
                return None
            self._poll()
        job = self.finished.popleft()
        return job

    # -------------------------------------------------------------- starting

    cdef int _start_more(self) except -1:
        cdef Job job
        while self.queued and self.in_flight < self.concurrency:
            job = self.queued.popleft()
            self.in_flight += 1
            job.started = hp_now()
            if self.timeout >= 0:
                self._set_deadline(job, job.started + self.timeout)
            elif self.read_timeout >= 0:
                self._set_deadline(job, job.started + self.read_timeout)
            self._start(job, self._checkout(job, job.started))
        return 0

    cdef object _checkout(self, Job job, double now):
        """PoolCore.checkout, trusting the batch's epoll set for the idle
        connections registered in it, but only for replayable requests: if a
        server's close races one of those, the retry rule sends it again; a
        POST gets the MSG_PEEK."""
        return self.core.checkout(job.plan.slots, now,
                                  self.registered if job.plan.replayable else None)

    cdef int _start(self, Job job, object grant) except -1:
        """Go on with a checkout's grant: a Connection, True (connect), None
        (wait for a slot), or False (the pool was closed)."""
        try:
            if grant is None:
                job.waiter = self.core.enqueue(job.plan.slots)
                job.state = JOB_WAITING
                self._watch(job, job.waiter.efd, EPOLLIN, job.waiter)
            elif grant is True:
                self._connect(job)
            elif grant is False:
                raise PoolClosed("the pool was closed while waiting for a connection")
            else:
                self._begin(job, <Connection>grant)
        except BaseException as exc:
            self._fail(job, exc)
            if not isinstance(exc, Exception):
                raise
        return 0

    cdef int _connect(self, Job job) except -1:
        cdef object target = job.plan.target
        cdef AddressList addresses = self.addresses.get((target.host, target.port))
        cdef Connection conn
        if addresses is None:
            try:
                addresses = AddressList.resolve(target.host, target.port, target.origin)
            except BaseException:
                self.core.open_failed(job.plan.slots, CLOSE_ERROR)
                raise
            self.addresses[(target.host, target.port)] = addresses
        conn = Connection(target.key, target.origin)
        conn.slots = job.plan.slots
        job.conn = conn
        job.addresses = addresses
        job.next_address = addresses.first
        job.state = JOB_CONNECTING
        return self._try_address(job, 0)

    cdef int _try_address(self, Job job, int err) except -1:
        """Connect to the next address, or fail with the last error."""
        cdef Connection conn = job.conn
        while job.next_address != NULL:
            err = conn.connect_start(job.next_address)
            job.next_address = job.next_address.ai_next
            if err == EINPROGRESS:
                self._watch(job, conn.fd, EPOLLOUT, conn)
                return 0
            if err == 0:
                return self._connected(job)
        job.conn = None
        self.core.open_failed(job.plan.slots, CLOSE_ERROR)
        conn.connect_failed(err)   # raises ConnectError
        return 0

    cdef int _connected(self, Job job) except -1:
        self.core.opened(job.plan.slots)
        return self._begin(job, job.conn)

    cdef int _begin(self, Job job, Connection conn) except -1:
        job.conn = conn
        conn.begin_request(job.plan.head, job.plan.body, job.plan.client_close)
        conn.parser.start(job.plan.head_request)
        job.state = JOB_SENDING
        # A request head fits in the socket buffer: try before watching, so
        # the common case registers for EPOLLIN only.
        if conn.send_step() == SEND_AGAIN:
            return self._watch(job, conn.fd, EPOLLIN | EPOLLOUT, conn)
        job.state = JOB_RECEIVING
        return self._watch(job, conn.fd, EPOLLIN, conn)

    # -------------------------------------------------------------- the loop

    cdef int _watch(self, Job job, int fd, unsigned int events, object owner) except -1:
        """Watch fd (owned by `owner`: a Connection or a Waiter) for the job.
        A connection stays registered when its job ends, for the next job of
        the batch that reuses it: epoll_ctl is a system call per change."""
        cdef epoll_event ev
        cdef tuple entry = self.registered.get(fd)
        cdef int op = EPOLL_CTL_ADD
        if job.fd >= 0 and job.fd != fd:
            self._unwatch(job)
        if entry is not None and entry[0] is owner:
            op = EPOLL_CTL_MOD
            if entry[1] == events:
                op = -1
        if op >= 0:
            ev.events = events
            ev.data.fd = fd
            if epoll_ctl(self.epfd, op, fd, &ev) < 0:
                raise OSError(errno, f"epoll_ctl failed for a batch request to "
                                     f"{job.plan.target.origin}")
        self.registered[fd] = (owner, events)
        job.fd = fd
        self.watched[fd] = job
        return 0

    cdef void _unwatch(self, Job job) noexcept:
        """Stop watching the job's descriptor (it is about to close)."""
        if job.fd >= 0:
            epoll_ctl(self.epfd, EPOLL_CTL_DEL, job.fd, NULL)
            self.registered.pop(job.fd, None)
            self.watched.pop(job.fd, None)
            job.fd = -1

    cdef void _release(self, Job job) noexcept:
        """The job is done with its connection, which stays registered."""
        if job.fd >= 0:
            self.watched.pop(job.fd, None)
            job.fd = -1

    cdef int _poll(self) except -1:
        cdef epoll_event events[MAX_EVENTS]
        cdef int n, i, err, ms = -1
        cdef double nearest, now
        cdef Job job
        cdef tuple top
        # The nearest deadline of a job still in flight; entries of jobs that
        # ended or moved their deadline are dropped on the way.
        while self.deadlines:
            top = self.deadlines[0]
            job = top[2]
            if job.state != JOB_DONE and job.deadline == top[0]:
                break
            heappop(self.deadlines)
        if self.deadlines:
            nearest = self.deadlines[0][0]
            now = hp_now()
            ms = 0 if nearest <= now else <int>((nearest - now) * 1000.0) + 1
        with nogil:
            n = epoll_wait(self.epfd, events, MAX_EVENTS, ms)
            err = errno
        if n < 0:
            if err != EINTR:
                raise OSError(err, "epoll_wait failed in a batch")
            PyErr_CheckSignals()
            n = 0
        for i in range(n):
            job = self.watched.get(events[i].data.fd)
            if job is not None:
                self._advance(job, events[i].events)
            elif self.registered.pop(events[i].data.fd, None) is not None:
                # An idle connection with bytes or a FIN: no longer watched
                # (level-triggered, it would wake every wait); its next
                # checkout finds it stale.
                epoll_ctl(self.epfd, EPOLL_CTL_DEL, events[i].data.fd, NULL)
        self._expire(hp_now())
        return 0

    cdef int _advance(self, Job job, unsigned int events) except -1:
        cdef object grant
        cdef int err
        try:
            if job.state == JOB_WAITING:
                self._unwatch(job)
                grant = self.core.cancel(job.waiter)
                job.waiter = None
                self._start(job, grant)
                return 0
            if self.timeout < 0 and self.read_timeout >= 0:
                # No total deadline: the read timeout bounds the time without progress.
                self._set_deadline(job, hp_now() + self.read_timeout)
            if job.state == JOB_CONNECTING:
                err = job.conn.connect_result()
                if err == 0:
                    return self._connected(job)
                return self._try_address(job, err)
            if job.state == JOB_SENDING:
                return self._send(job, events)
            if job.state == JOB_RECEIVING:
                return self._receive(job)
        except ConnectionClosed as exc:
            self._retry_or_fail(job, exc)
        except HTTPError as exc:
            self._fail(job, exc)
        return 0

    cdef int _send(self, Job job, unsigned int events) except -1:
        cdef int sent
        if events & (EPOLLIN | EPOLLHUP | EPOLLERR) and not events & EPOLLOUT:
            job.conn.cut_request()   # the server answered (or closed) mid-upload
            sent = SEND_CUT
        else:
            sent = job.conn.send_step()
        if sent == SEND_AGAIN:
            return 0
        job.state = JOB_RECEIVING
        return self._watch(job, job.conn.fd, EPOLLIN, job.conn)

    cdef int _receive(self, Job job) except -1:
        cdef Connection conn = job.conn
        cdef Py_ssize_t n
        while not conn.parser.message_complete:
            n = conn.recv_step()
            if n == RECV_AGAIN:
                return 0
            if n == 0:
                conn._eof()   # completes a close-delimited body, else raises
        self._release(job)
        self._complete(job)
        return 0

    cdef int _complete(self, Job job) except -1:
        cdef Connection conn = job.conn
        cdef Response response = Response.__new__(Response)
        self.core.count(conn, COUNT_REQUESTS)
        response.fill(self.pool, conn, job.plan.method, job.plan.url, job.deadline,
                      self.read_timeout, job.started)
        response._content = conn.parser.take_body()
        response.index = job.index
        job.conn = None
        self.pool.release(response)
        self._done(job, response)
        # The connection just went back to the idle stack: the next queued job
        # takes it now, before more completions overflow max_idle_per_host.
        return self._start_more()

    # -------------------------------------------------------------- endings

    cdef int _done(self, Job job, object result) except -1:
        job.result = result
        job.state = JOB_DONE
        self.in_flight -= 1
        self.finished.append(job)
        return 0

    cdef int _retry_or_fail(self, Job job, object exc) except -1:
        """The rule of httpool._request: a replayable request that failed on
        a reused connection before any response byte goes again, on a new one."""
        cdef Connection conn = job.conn
        if (conn is not None and job.plan.replayable and conn.retryable
                and job.attempts < self.retries):
            self._unwatch(job)
            self.core.discard(conn, CLOSE_ERROR)
            self.core.count(conn, COUNT_RETRIED)
            job.conn = None
            job.attempts += 1
            self._start(job, self._checkout(job, hp_now()))
            return 0
        return self._fail(job, exc)

    cdef int _fail(self, Job job, object exc) except -1:
        """End a job with an exception, closing its connection or giving back
        its slot."""
        cdef object grant
        cdef int reason
        self._unwatch(job)
        if job.waiter is not None:
            grant = self.core.cancel(job.waiter)
            job.waiter = None
            if grant is True:
                self.core.release_slot(job.plan.slots)
            elif isinstance(grant, Connection):
                self.core.checkin(grant, hp_now())
        if job.conn is not None:
            reason = CLOSE_TIMEOUT if isinstance(exc, TimeoutError) else CLOSE_ERROR
            if reason == CLOSE_TIMEOUT:
                self.core.count_origin(job.plan.slots, COUNT_TIMEOUTS)
            if job.state == JOB_CONNECTING:
                # A slot reserved for a connection that never opened.
                job.conn.close(reason)
                self.core.open_failed(job.plan.slots, job.conn.close_reason)
            else:
                self.core.discard(job.conn, reason)
            job.conn = None
        elif isinstance(exc, TimeoutError):
            self.core.count_origin(job.plan.slots, COUNT_TIMEOUTS)
        try:
            exc.index = job.index
        except AttributeError:
            pass
        return self._done(job, exc)

    cdef int _set_deadline(self, Job job, double deadline) except -1:
        job.deadline = deadline
        self.sequence += 1
        heappush(self.deadlines, (deadline, self.sequence, job))
        return 0

    cdef int _expire(self, double now) except -1:
        cdef Job job
        cdef tuple top
        while self.deadlines and self.deadlines[0][0] <= now:
            top = heappop(self.deadlines)
            job = top[2]
            if job.state == JOB_DONE or job.deadline != top[0]:
                continue   # ended, or its deadline moved on
            self._fail(job, _TIMEOUT_ERRORS[job.state](
                f"{job.plan.target.origin}: {job.plan.method} {job.plan.path} timed out while "
                f"{_STATE_NAMES[job.state]} (batch deadline passed); connection closed"))
        return 0

    def close(self):
        """Abandon the batch: close what is in flight, give back every slot."""
        cdef Job job
        for job in list(self.watched.values()):
            self._fail(job, ConnectionClosed(
                f"{job.plan.target.origin}: the batch was abandoned; connection closed"))
        self.queued.clear()
        self.finished.clear()
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1
