# cython: language_level=3
"""The asyncio driver: exchanges waited for by an event loop.

Strategy
--------
The loop only waits; the exchange (httpool._exchange) decides everything, as
for the blocking and batch drivers. The driver *is* a batch (httpool._batch):
one epoll set holds the sockets of every exchange in flight, the waiters of
the pool share one eventfd in it, and a heap holds their deadlines. The event
loop sees two things only:

* the epoll set's own descriptor, watched with one ``loop.add_reader`` for
  the pool's life: when any socket in the set is ready, the loop calls the
  driver, which takes the events with ``epoll_wait(0)`` and advances the
  exchanges they concern (the engine's own non-blocking send and recv, its
  own TLS);
* one ``loop.call_at`` timer at the nearest wake-up of all (a deadline, a
  Retry's delay), mapped from the engine's clock to ``loop.time()``, re-armed
  only when a nearer one appears (a timer that fires early re-arms itself).

Why not a watcher per socket (``add_reader``/``add_writer`` on each
connection) or an ``asyncio.Protocol``? A watcher per socket costs a loop
handle and two epoll_ctl calls per wait (uvloop adds a uv_poll handle per
registration, and its uv_poll_init sets the socket non-blocking and checks it
with two more calls), and a registration left on a socket the engine closed
is a hazard (a new socket with the same number is silently not watched, or
libuv aborts). A Protocol hands the bytes to Python as a new bytes object
per read and owns the socket: TLS would be asyncio's, not the engine's, and
the engine's rules (the idle check, the retry on a new connection, drains,
deadlines on the socket) would need a second home. With the epoll set, an
idle connection stays registered between requests (no epoll_ctl per request),
one epoll_wait serves every socket that is ready, and the engine is the same
code the other drivers run. bench/test_async_bench.py measures the loop
bindings side by side (README, "asyncio").

Requests that take the plain path and requests with policies (a Flow:
redirects, cookies, auth, Retry) are items of the driver's standing batch,
so their hops run exactly as in request_many; each one's result resolves its
Ticket's future. A stream's exchange (its head, then aread, aiter_bytes,
aclose) is driven alone: ``wait`` watches it until it needs nothing more.

Cancellation. A coroutine cancelled while it awaits (a slot, a connect, the
send, the head, the body, a drain) gives its exchange up at once: ``abort``
leaves the waiters' queue, or closes the connection (reason ``abandoned``)
and frees its slot; a Retry's hop not started yet is dropped. Nothing is
left to run after the CancelledError, and nothing half-read goes back to the
idle stack. A response nobody closed is released by its finalizer without
blocking (``Exchange.abandon``).

One pool, one loop: the driver is made on the first request, for the running
loop; a request from another loop raises RuntimeError.

Names: like a batch, the driver resolves each host once and keeps its
addresses, for a minute (getaddrinfo blocks the loop for that call).
"""

import asyncio
from heapq import heapify


from httpool._batch cimport Batch
from httpool._exchange cimport (
    Exchange, EX_DONE, GOAL_BODY, GOAL_HEAD, GOAL_SOME, Goal, Limits, NEED_DONE, NEED_SLOT,
    limits_of, new_exchange,
)
from httpool._plan cimport Plan
from httpool._reasons cimport CLOSE_ABANDONED
from httpool._request cimport Client
from httpool._response cimport (
    Response, _forget_exchange, _pieces, _to_read, _took_body, _whole_body, fill_response,
    redirect_status,
)
from httpool._sys cimport hp_now
from httpool._models import Timeout
from httpool._request import hop_steps, run_hops
from httpool.policies.flow import Flow

cdef object _get_running_loop = asyncio.get_running_loop
cdef object CancelledError = asyncio.CancelledError
cdef Py_ssize_t UNLIMITED = (<Py_ssize_t>1) << 62
cdef double RESOLVED_FOR = 60.0   # seconds the standing batch keeps a host's addresses
# An exchange driven alone (a stream's): its driver_flow, so that the batch leaves it be.
cdef object _ALONE = object()


# A standing batch runs for the pool's life. An entry of its deadline heap
# whose exchange finished goes when it comes to the top; with one timeout for
# every request it soon does, but a live entry with a nearer deadline (a
# stalled request with a shorter timeout) keeps the finished ones beneath it,
# each holding its exchange, until it ends. They are dropped once they
# outnumber the live ones four to one.
cdef Py_ssize_t COMPACT_AT = 1024


cdef int _compact(Batch batch) except -1:
    cdef tuple entry
    cdef Exchange exchange
    cdef list live = []
    for entry in batch.deadlines:
        exchange = entry[2]
        if exchange.need != NEED_DONE and exchange.driver_at == entry[0]:
            live.append(entry)
    heapify(live)
    batch.deadlines = live
    return 0


cdef class Binding:
    """A batch waited for by an event loop: its epoll set watched with
    add_reader, one timer at its nearest wake-up."""

    def __cinit__(self, Batch batch, object loop):
        self.batch = batch
        self.loop = loop
        self.timer_at = -1.0
        self.bind()

    cdef int bind(self) except -1:
        if not self.bound:
            self.loop.add_reader(self.batch.epfd, self._ready)
            self.bound = True
        return 0

    cdef int settle(self) except -1:
        """After any call into the batch: arm its doorbell (a waiter granted
        meanwhile is served now) and the timer at its nearest wake-up."""
        cdef Batch batch = self.batch
        cdef double nearest
        while batch.bell.arm():
            batch._serve_waiting()
        if self.closing and not batch.watched and not batch.waiting and not batch.in_flight:
            return self.unbind()   # a closed pool's: bound again if a stream reads on
        if len(batch.deadlines) > COMPACT_AT and len(batch.deadlines) > 4 * (
                len(batch.watched) + len(batch.waiting) + batch.in_flight):
            _compact(batch)
        nearest = batch._nearest()
        if nearest < 0:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        elif self.timer is None or nearest < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = nearest
            # The engine's clock (CLOCK_MONOTONIC) to the loop's.
            self.timer = self.loop.call_at(self.loop.time() + (nearest - hp_now()), self._fire)
        return 0

    def _ready(self):
        try:
            self.batch._poll(False)
        finally:
            self._after()

    def _fire(self):
        self.timer = None
        try:
            self.batch._poll(False)
        finally:
            self._after()

    cdef int _after(self) except -1:
        self.settle()
        if self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)
            self.waiter = None
        return 0

    async def next_done(self):
        """The batch's next (index, result), None when every request finished."""
        cdef Batch batch = self.batch
        while True:
            done = batch.poll_done()
            self.settle()
            if done != ():
                return done
            self.waiter = self.loop.create_future()
            await self.waiter

    def close(self):
        """Stop watching, then close the batch (what is in flight is given up)."""
        self.unbind()
        self.batch.close()

    cdef int unbind(self) except -1:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.bound:
            # Before the epoll set is closed: a watched descriptor must not be reused unseen.
            self.bound = False
            self.loop.remove_reader(self.batch.epfd)
        return 0


cdef class Ticket:
    """One request of an AsyncPool: its future, its limits, the exchange of its current hop."""


cdef class AsyncDriver(Batch):
    """An AsyncPool's standing batch, on one loop (see the module docstring)."""

    # ------------------------------------------------- requests (the batch's)

    cdef Ticket submit(self, Plan plan, object flow, bint follows, Limits* limits):
        """Start a request; its result resolves ticket.future."""
        cdef Ticket ticket = Ticket.__new__(Ticket)
        cdef double now = hp_now()
        if now >= self.resolved_until:
            # The batch's names, resolved once each, are kept a minute at most.
            self.resolved.clear()
            self.resolved_until = now + RESOLVED_FOR
        ticket.limits = limits[0]
        ticket.future = self.binding.loop.create_future()
        self.binding.bind()
        self.in_flight += 1
        try:
            self._begin(ticket, plan, flow, follows, -1.0)
        finally:
            self.binding.settle()
        return ticket

    cdef int cancel(self, Ticket ticket) except -1:
        """The caller was cancelled: give the request up where it is."""
        cdef Exchange exchange = ticket.exchange
        ticket.cancelled = True
        ticket.exchange = None
        if exchange is not None and exchange.need != NEED_DONE:
            self._give_up(exchange)
            self.in_flight -= 1
        # Else it finished, or its next hop waits its delay: _begin drops it.
        return self.binding.settle()

    cdef Limits* _limits_for(self, object index):
        return &(<Ticket>index).limits

    cdef int _begin(self, object index, Plan plan, object flow, bint follows,
                    double since) except -1:
        if (<Ticket>index).cancelled:
            self.in_flight -= 1
            return 0
        return Batch._begin(self, index, plan, flow, follows, since)

    cdef int _follow(self, Exchange exchange) except -1:
        if exchange.need != NEED_DONE and exchange.driver_flow is not _ALONE:
            (<Ticket>exchange.driver_index).exchange = exchange
        return Batch._follow(self, exchange)

    cdef int _done(self, Exchange exchange) except -1:
        cdef object future
        if exchange.driver_flow is _ALONE:
            future = exchange.driver_index
            exchange.driver_index = None
            if not future.done():
                future.set_result(None)
            return 0
        return Batch._done(self, exchange)

    cdef int _finished(self, object index, object result) except -1:
        cdef Ticket ticket = index
        ticket.exchange = None
        if not ticket.future.done():
            if isinstance(result, BaseException):
                ticket.future.set_exception(result)
            else:
                ticket.future.set_result(result)
        return 0

    # ------------------------------------------ exchanges driven alone (streams)

    cdef Exchange start(self, Plan plan, Limits* limits, Goal goal, double since):
        """A stream's exchange, begun (see wait). since: when its request's
        first hop began, or < 0 for now."""
        cdef Exchange exchange = new_exchange(self.settings, plan, limits, self.resolved,
                                              self.registered, self.bell)
        exchange.driver_flow = _ALONE
        exchange.begin(goal, hp_now(), since)
        return exchange

    cdef object wait(self, Exchange exchange):
        """After a call into an exchange driven alone: None when it needs
        nothing more, else a future resolved when it does."""
        if exchange.need == NEED_DONE:
            return None
        future = self.binding.loop.create_future()
        exchange.driver_index = future
        self.binding.bind()
        self._follow(exchange)
        self.binding.settle()
        return future

    cdef int _give_up(self, Exchange exchange) except -1:
        """End an exchange whose caller was cancelled (see the module docstring)."""
        if exchange.need == NEED_SLOT and exchange in self.waiting:
            self.waiting.remove(exchange)
        if exchange.state != EX_DONE:
            exchange.abort(CancelledError(), CLOSE_ABANDONED)
        exchange.driver_index = None
        if exchange.driver_fd >= 0:
            self._forget_fd(exchange)
        return 0

    cdef int give_up(self, Exchange exchange) except -1:
        self._give_up(exchange)
        return self.binding.settle()


async def _drive(AsyncDriver driver, Exchange exchange):
    """Await an exchange driven alone until it needs nothing more; raise its error."""
    future = driver.wait(exchange)
    if future is not None:
        try:
            await future
        except BaseException:
            driver.give_up(exchange)
            raise
    if exchange.error is not None:
        raise exchange.error


async def _stream_hop(AsyncDriver driver, Plan plan, Ticket request, double since):
    """One hop of a stream: its response once the head arrived. request:
    holds the request's limits."""
    cdef Exchange exchange = driver.start(plan, &request.limits, GOAL_HEAD, since)
    cdef AsyncResponse response
    await _drive(driver, exchange)
    response = AsyncResponse.__new__(AsyncResponse)
    response._driver = driver
    fill_response(response, exchange)
    return response


cdef class AsyncHop:
    """A stream's side of run_hops() (httpool._request)."""

    async def send(self, Plan plan):
        return await _stream_hop(self.driver, plan, self.request, self.since)

    async def close(self, AsyncResponse response):
        await response.aclose()

    async def wait(self, double seconds):
        await asyncio.sleep(seconds)


cdef class AsyncResponse(Response):
    """A Response of an AsyncPool whose body may still be on its way (a stream)."""

    async def aread(self):
        """Read the whole body (once) and return it."""
        cdef Exchange exchange
        if self._content is None:
            exchange = _to_read(self)
            try:
                exchange.want(GOAL_BODY)
                await _drive(self._driver, exchange)
            finally:
                _forget_exchange(self)
            _took_body(self, exchange.content)
        return self._content

    def aiter_bytes(self, Py_ssize_t chunk_size=65536):
        """The body in pieces of at most chunk_size bytes, as they arrive,
        decoded (Content-Encoding) as they arrive."""
        self._check_iterable(chunk_size)
        return self._aiter_body(chunk_size, self._decoder)

    def aiter_raw(self, Py_ssize_t chunk_size=65536):
        """The body as it came over the wire, in pieces of at most chunk_size bytes."""
        self._check_iterable(chunk_size)
        return self._aiter_body(chunk_size, None)

    async def _aiter_body(self, Py_ssize_t chunk_size, decoder):
        if self._content is not None:
            for piece in _whole_body(self, chunk_size, decoder):
                yield piece
            return
        self._streamed = True
        while True:
            chunk = await self._next_chunk(chunk_size)
            for piece in _pieces(chunk, chunk_size, decoder):
                yield piece
            if not chunk:
                return

    async def _next_chunk(self, Py_ssize_t max_bytes):
        cdef Exchange exchange = self._exchange
        if exchange is None:
            return b""
        try:
            exchange.want(GOAL_SOME)
            await _drive(self._driver, exchange)
            return exchange.read_some(max_bytes)
        finally:
            _forget_exchange(self)

    async def aclose(self):
        """Release the connection: an unread body is drained (within the
        pool's max_drain and max_drain_time) without blocking the loop."""
        cdef Exchange exchange = self._exchange
        if exchange is not None:
            try:
                exchange.release()
                await _drive(self._driver, exchange)
            finally:
                _forget_exchange(self)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()

    # The blocking methods would block the loop while the body is on its way.

    def read(self):
        if self._content is None and self._exchange is not None:
            raise RuntimeError(f"the body of {self!r} is still on its way: await response.aread()")
        return Response.read(self)

    def iter_bytes(self, Py_ssize_t chunk_size=65536):
        if self._content is None and self._exchange is not None:
            raise RuntimeError(f"the body of {self!r} is still on its way: "
                               "use async for chunk in response.aiter_bytes()")
        return Response.iter_bytes(self, chunk_size)

    def close(self):
        """Release the connection without blocking: an unread body is not
        drained, its connection is closed (await aclose() drains it)."""
        if self._exchange is not None:
            self._exchange.abandon()
            _forget_exchange(self)


cdef class AsyncClient:
    """The request methods of httpool.AsyncPool, compiled: each plans its
    request with the blocking pool's Client and awaits it on the driver."""

    def _bind(self, Client client):
        """Called by AsyncPool.__init__: the Pool whose options, planner,
        policies and connections it shares."""
        self._client = client

    cdef AsyncDriver _here(self):
        """The driver of the running loop (made on first use)."""
        loop = _get_running_loop()
        cdef AsyncDriver driver = self._driver
        if driver is None:
            driver = AsyncDriver(self._client._settings, [], UNLIMITED, self._client.timeout,
                                 self._client._policies)
            driver.binding = Binding(driver, loop)
            self._driver = driver
        elif driver.binding.loop is not loop:
            raise RuntimeError(f"this AsyncPool belongs to the event loop {driver.binding.loop!r}, "
                               f"not to {loop!r}: make one pool per event loop")
        return driver

    async def request(self, str method, str url, *, headers=None, body=None, params=None,
                      json=None, data=None, files=None, auth=None, cookies=None,
                      follow_redirects=None, timeout=None):
        """Send a request and read the whole response (Pool.request's keywords)."""
        return await self._send(method, url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def get(self, str url, *, headers=None, body=None, params=None, json=None,
                  data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                  timeout=None):
        """request("GET", url, ...)"""
        return await self._send("GET", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def head(self, str url, *, headers=None, body=None, params=None, json=None,
                   data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                   timeout=None):
        """request("HEAD", url, ...)"""
        return await self._send("HEAD", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def post(self, str url, *, headers=None, body=None, params=None, json=None,
                   data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                   timeout=None):
        """request("POST", url, ...)"""
        return await self._send("POST", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def put(self, str url, *, headers=None, body=None, params=None, json=None,
                  data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                  timeout=None):
        """request("PUT", url, ...)"""
        return await self._send("PUT", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def patch(self, str url, *, headers=None, body=None, params=None, json=None,
                    data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                    timeout=None):
        """request("PATCH", url, ...)"""
        return await self._send("PATCH", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def delete(self, str url, *, headers=None, body=None, params=None, json=None,
                     data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                     timeout=None):
        """request("DELETE", url, ...)"""
        return await self._send("DELETE", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def options(self, str url, *, headers=None, body=None, params=None, json=None,
                      data=None, files=None, auth=None, cookies=None, follow_redirects=None,
                      timeout=None):
        """request("OPTIONS", url, ...)"""
        return await self._send("OPTIONS", url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects, timeout)

    async def _send(self, str method, str url, object headers, object body, object params,
                    object json, object data, object files, object auth, object cookies,
                    object follow_redirects, object timeout):
        cdef AsyncDriver driver = self._here()
        cdef Client client = self._client
        cdef Limits limits = client.limits
        cdef Ticket ticket
        cdef Plan plan
        cdef object flow = None
        if timeout is not None:
            limits = limits_of(Timeout.coerce(timeout, client.timeout))
        plan = client._plain_plan(method, url, headers, body, params, json, data, files,
                                            auth, cookies)
        if plan is None:
            flow = client._flow(method, url, headers, body, params, json, data, files, auth,
                                cookies, follow_redirects)
            plan = flow.first()
        return await self._result(driver, driver.submit(plan, flow, flow is None and (
            client.follows if follow_redirects is None else follow_redirects), &limits))

    async def _result(self, AsyncDriver driver, Ticket ticket):
        """A request's result; a cancellation gives the request up."""
        try:
            return await ticket.future
        except BaseException:
            driver.cancel(ticket)
            raise

    async def _open_stream(self, str method, str url, object headers, object body, object params,
                           object json, object data, object files, object auth, object cookies,
                           object follow_redirects, object timeout):
        """The response of a stream(): its head read, its body left to the caller."""
        cdef AsyncDriver driver = self._here()
        cdef Client client = self._client
        cdef Ticket request = Ticket.__new__(Ticket)
        cdef AsyncResponse response
        cdef Plan plan
        cdef double since
        request.limits = client.limits
        if timeout is not None:
            request.limits = limits_of(Timeout.coerce(timeout, client.timeout))
        plan = client._plain_plan(method, url, headers, body, params, json, data, files, auth,
                                  cookies)
        if plan is None:
            since = hp_now()
            return await self._hops(driver, hop_steps(
                client._flow(method, url, headers, body, params, json, data, files, auth, cookies,
                             follow_redirects), None, since, request.limits.total), since, request)
        response = await _stream_hop(driver, plan, request, -1.0)
        if redirect_status(response.status_code) and (
                client.follows if follow_redirects is None else follow_redirects):
            # A redirect to follow: a Flow takes over from this first hop.
            since = response._started
            return await self._hops(driver, hop_steps(Flow.after(client._policies, plan), response,
                                                      since, request.limits.total), since, request)
        if response._sets_cookie:
            client._policies.keep_cookies(response)
        return response

    async def _send_request(self, request, timeout, bint stream):
        """AsyncPool.send: a Request, through its Flow."""
        cdef AsyncDriver driver = self._here()
        cdef Client client = self._client
        cdef Ticket holder = Ticket.__new__(Ticket)
        cdef double since = hp_now()
        holder.limits = limits_of(Timeout.coerce(timeout, client.timeout))
        flow = Flow(client._policies, request)
        if stream:
            return await self._hops(driver, hop_steps(flow, None, since, holder.limits.total),
                                    since, holder)
        return await self._result(driver, driver.submit(flow.first(), flow, False, &holder.limits))

    async def _hops(self, AsyncDriver driver, object steps, double since, Ticket request):
        """Client._hops for a stream: each hop's head awaited, each
        intermediate response drained, without blocking the loop."""
        cdef AsyncHop hop = AsyncHop.__new__(AsyncHop)
        hop.driver, hop.request, hop.since = driver, request, since
        return await run_hops(steps, hop)

    def _batch_binding(self, Batch batch):
        """A request_many / iter_many batch, watched by the running loop."""
        self._here()
        return Binding(batch, _get_running_loop())

    def _after_close(self):
        """The pool was closed: its waiters were woken with PoolClosed and go
        on now; the loop stops watching once nothing is in flight."""
        cdef AsyncDriver driver = self._driver
        if driver is not None:
            driver._serve_waiting()
            driver.binding.closing = True
            driver.binding.settle()
