# cython: language_level=3
"""The per-request hot path: checkout, send, receive, release.

The rules it carries out (the Pool in httpool._pool is their public face):

* Retry (RFC 9110 section 9.2.2): a request whose method is idempotent (or that
  carries an Idempotency-Key) and whose body can be sent again is retried on a
  new connection, up to ``retries`` times, when it failed on a *reused*
  connection before any byte of its response: the server closed that idle
  connection as we sent (seed 003). Never after a response byte, after a
  timeout, or on a fresh connection.
* Release: a response whose body was read whole returns its connection at
  once (reusable or closed, with its reason counted); one released early is
  drained by the pool first (seeds 001, 004).

Runner is the base class of httpool.Pool, so that pool.get(url) runs here
from its first instruction. Only the common case runs here: a request with no
options reuses a cached Plan, and an idle connection comes straight from
PoolCore.checkout. Building a plan, opening a connection and waiting for a
slot are Pool's Python methods (_plan, _connect), whose cost is small next to
what they do.
"""

import logging

from httpool._conn cimport Connection
from httpool._idle cimport OriginSlots, PoolCore
from httpool._response cimport Response
from httpool._reasons cimport CLOSE_ERROR, CLOSE_TIMEOUT, COUNT_REQUESTS, COUNT_RETRIED, COUNT_TIMEOUTS
from httpool._sys cimport hp_now
from httpool._exceptions import ConnectionClosed, PoolClosed, TimeoutError

cdef object logger = logging.getLogger("httpool")
cdef int DEBUG = logging.DEBUG

cdef enum:
    PLAN_CACHE_SIZE = 512


cdef class Plan:
    def __init__(self, str method, str url, str path, object target, OriginSlots slots,
                 bytes head, object body, object chunks, bint client_close, bint replayable):
        self.method = method
        self.url = url
        self.path = path
        self.target = target
        self.slots = slots
        self.head = head
        self.body = body
        self.chunks = chunks
        self.client_close = client_close
        self.replayable = replayable
        self.head_request = method == "HEAD"


cdef class Runner:
    def _setup(self, PoolCore core, int retries, object timeout):
        """Called by Pool.__init__ once its arguments are checked."""
        self.core = core
        self.plans = {}
        self.retries = retries
        self.timeout = timeout
        self.read_timeout = -1.0 if timeout.read is None else timeout.read
        self.write_timeout = -1.0 if timeout.write is None else timeout.write

    def request(self, str method, str url, *, headers=None, body=None, params=None, json=None,
                timeout=None):
        """Send a request and read the whole response.

        headers: a mapping or (name, value) pairs; body: bytes-like or str
        (sent with Content-Length) or an iterable of bytes (sent chunked);
        params: query parameters appended to the URL; json: a body encoded as
        JSON; timeout: a Timeout, or a number of seconds for the whole request."""
        return self.send(method, url, headers, body, params, json, timeout, True)

    def get(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("GET", url, ...)"""
        return self.send("GET", url, headers, body, params, json, timeout, True)

    def head(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("HEAD", url, ...)"""
        return self.send("HEAD", url, headers, body, params, json, timeout, True)

    def post(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("POST", url, ...)"""
        return self.send("POST", url, headers, body, params, json, timeout, True)

    def put(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("PUT", url, ...)"""
        return self.send("PUT", url, headers, body, params, json, timeout, True)

    def patch(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("PATCH", url, ...)"""
        return self.send("PATCH", url, headers, body, params, json, timeout, True)

    def delete(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("DELETE", url, ...)"""
        return self.send("DELETE", url, headers, body, params, json, timeout, True)

    def options(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("OPTIONS", url, ...)"""
        return self.send("OPTIONS", url, headers, body, params, json, timeout, True)

    cpdef Response send(self, str method, str url, object headers, object body, object params,
                        object json, object timeout, bint read_body):
        """Send a request and receive the response head; with read_body, the
        body too, and the connection goes back at once."""
        cdef Plan plan
        cdef object t = self.timeout
        cdef double read_timeout = self.read_timeout, write_timeout = self.write_timeout
        if self.core.closed:
            raise PoolClosed("the pool is closed")
        plan = self.plan(method, url, headers, body, params, json)
        if timeout is not None:
            t = type(self.timeout).coerce(timeout, self.timeout)
            read_timeout = -1.0 if t.read is None else t.read
            write_timeout = -1.0 if t.write is None else t.write
        return self._run(plan, t, read_timeout, write_timeout, read_body)

    cpdef Plan plan(self, str method, str url, object headers, object body, object params,
                    object json):
        """The request's Plan: from the cache when it has no options."""
        cdef Plan plan
        cdef dict by_url
        if headers is None and body is None and params is None and json is None:
            by_url = self.plans.get(method)
            if by_url is None:
                by_url = self.plans[method] = {}
            plan = by_url.get(url)
            if plan is None:
                plan = self._plan(method, url, None, None, None, None)
                if len(by_url) >= PLAN_CACHE_SIZE:
                    by_url.clear()
                by_url[url] = plan
            return plan
        return self._plan(method, url, headers, body, params, json)

    cdef Response _run(self, Plan plan, object t, double read_timeout, double write_timeout,
                       bint read_body):
        cdef PoolCore core = self.core
        cdef Connection conn
        cdef Response response
        cdef int attempt = 0
        cdef double started = hp_now()
        cdef double deadline = started + t.total if t.total is not None else -1.0
        cdef object content
        if started >= self.next_log_check:
            # Asking logging costs a Python call: once a second is enough to
            # notice that DEBUG was switched on or off.
            core.debug = logger.isEnabledFor(DEBUG)
            self.next_log_check = started + 1.0
        while True:
            conn = self._acquire(plan, deadline, t)
            try:
                if plan.chunks is None:
                    content = conn.exchange(plan.head, plan.body, plan.client_close, plan.head_request,
                                            read_body, deadline, read_timeout, write_timeout)
                else:
                    conn.send_request(plan.head, None, plan.client_close, deadline, write_timeout)
                    self._send_chunks(conn, plan.chunks, deadline, write_timeout)
                    conn.receive_head(plan.head_request, deadline, read_timeout)
                    content = conn.read_body(deadline, read_timeout) if read_body else None
            except ConnectionClosed:
                core.discard(conn, CLOSE_ERROR)
                if plan.replayable and conn.retryable and attempt < self.retries:
                    attempt += 1
                    core.count(conn, COUNT_RETRIED)
                    if core.debug:
                        logger.debug("%s: retrying %s %s on a new connection: the reused one "
                                     "closed before any response byte", conn.origin,
                                     plan.method, plan.path)
                    continue
                self._flush_log()
                raise
            except TimeoutError:
                core.count(conn, COUNT_TIMEOUTS)
                core.discard(conn, CLOSE_TIMEOUT)
                self._flush_log()
                raise
            except BaseException:
                core.discard(conn, CLOSE_ERROR)
                self._flush_log()
                raise
            break
        core.count(conn, COUNT_REQUESTS)
        response = Response.__new__(Response)
        response.fill(self, conn, plan.method, plan.url, deadline, read_timeout, started)
        if content is not None:
            response._content = content
            self.release(response)
        return response

    cdef Connection _acquire(self, Plan plan, double deadline, object t):
        """An idle connection of the plan's origin, or a new one (Pool._connect
        waits for a slot and connects)."""
        cdef object grant = self.core.checkout(plan.slots, hp_now())
        if type(grant) is not Connection:
            return self._connect(plan.slots, plan.target, grant, deadline, t)
        if self.core.debug:
            self._flush_log()
            logger.debug("%s: reusing connection fd=%d", plan.slots.origin, (<Connection>grant).fd)
        return <Connection>grant

    def finish(self, Response response):
        """The body was read whole: return the connection, or close it."""
        self.release(response)

    cdef int release(self, Response response) except -1:
        """finish() without Python's method lookup, for the compiled callers."""
        cdef Connection conn = response._conn
        cdef double now = hp_now()
        response._conn = None
        response._finished = now
        if conn.reusable():
            self.core.checkin(conn, now)
        else:
            self.core.discard(conn, conn.end_reason())
        if self.core.debug:
            self._flush_log()
        return 0
