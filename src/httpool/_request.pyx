# cython: language_level=3
"""The blocking API: request(), get() and the other methods, compiled.

Client is the base class of httpool.Pool, so that pool.get(url) runs here
from its first instruction: the Planner gives the request's Plan (cached for a
request with no options), an Exchange carries it out (httpool._exchange: every
rule of checkout, sending, receiving, retry, reuse and failure), and the
blocking driver (httpool._blocking) does its waiting. What is left here is
the choice of timeouts and the Response handed back.

Policies (auth, cookies, redirects: httpool.policies) cost a plain request
one test of its arguments and of the pool's uses_policies flag, and tests of
the response's status and Set-Cookie flag (set by the parser in C): a request
that uses none goes from plan to response as above. (uses_policies turns on
when the pool's jar stores its first cookie.) A request that only follows
redirects goes the same way, and a Flow takes over if its response is one. Any other goes through a Flow, which
plans each hop (a redirect, an auth retry) and runs it here the same way.
"""

import logging
import time

from httpool._blocking cimport drive
from httpool._exchange cimport (
    Exchange, Goal, GOAL_BODY, GOAL_HEAD, Limits, Settings, limits_of, new_exchange,
)
from httpool._plan cimport Plan, Planner
from httpool._response cimport Response, redirect_status, response_of
from httpool._sys cimport hp_now
from httpool._exceptions import HTTPError
from httpool._models import Request, Timeout
from httpool.policies.flow import Flow

cdef object logger = logging.getLogger("httpool")
cdef int DEBUG = logging.DEBUG


cdef class Client:
    def _setup(self, Settings settings, Planner planner, object timeout, object policies):
        """Called by Pool.__init__ once its arguments are checked."""
        self._settings = settings
        self.core = settings.core
        self._planner = planner
        self._policies = policies
        self.uses_policies = policies.always
        self.follows = policies.follow_redirects
        self.timeout = timeout
        self.limits = limits_of(timeout)

    def request(self, str method, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """Send a request and read the whole response.

        headers: a mapping or (name, value) pairs; body: bytes-like or str
        (sent with Content-Length), a binary file, or an iterable of bytes
        (sent chunked); params: query parameters appended to the URL; json: a
        body encoded as JSON; data: form fields (urlencoded), or with files:
        multipart form data; auth: (user, password), an httpool.Auth or a
        callable that sets the request's headers; cookies: sent with this
        request (a dict or a CookieJar); follow_redirects: this request's
        choice (else the pool's); timeout: a Timeout, or a number of seconds
        for the whole request (every redirect included)."""
        return self._send(method, url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def get(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("GET", url, ...)"""
        return self._send("GET", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def head(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("HEAD", url, ...)"""
        return self._send("HEAD", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def post(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("POST", url, ...)"""
        return self._send("POST", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def put(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("PUT", url, ...)"""
        return self._send("PUT", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def patch(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("PATCH", url, ...)"""
        return self._send("PATCH", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def delete(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("DELETE", url, ...)"""
        return self._send("DELETE", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def options(self, str url, *, headers=None, body=None, params=None, json=None,
                data=None, files=None, auth=None, cookies=None, follow_redirects=None, timeout=None):
        """request("OPTIONS", url, ...)"""
        return self._send("OPTIONS", url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_BODY)

    def _open_stream(self, str method, str url, headers, body, params, json, data, files, auth,
                     cookies, follow_redirects, timeout):
        """The response of a stream(): its head read, its body left to the caller."""
        return self._send(method, url, headers, body, params, json, data, files, auth, cookies,
                          follow_redirects, timeout, GOAL_HEAD)

    def _send_request(self, request, timeout, bint stream):
        """Pool.send: a Request, through its Flow."""
        cdef Limits limits = limits_of(Timeout.coerce(timeout, self.timeout))
        return self._run_flow(Flow(self._policies, request), &limits,
                              GOAL_HEAD if stream else GOAL_BODY)

    cdef Response _send(self, str method, str url, object headers, object body, object params,
                        object json, object data, object files, object auth, object cookies,
                        object follow_redirects, object timeout, Goal goal):
        cdef Plan plan
        cdef Exchange exchange
        cdef Response response
        cdef Limits limits = self.limits
        if timeout is not None:
            limits = limits_of(Timeout.coerce(timeout, self.timeout))
        plan = self._plain_plan(method, url, headers, body, params, json, data, files, auth,
                                cookies)
        if plan is not None:
            exchange = self._run(plan, &limits, goal, -1.0)
            response = response_of(exchange)
            if redirect_status(exchange.status_code) and (
                    self.follows if follow_redirects is None else follow_redirects):
                # A redirect to follow: a Flow takes over from this first hop.
                return self._hops(hop_steps(Flow.after(self._policies, plan), response,
                                            exchange.since, limits.total),
                                  exchange.since, &limits, goal)
            if exchange.sets_cookie:
                self._policies.keep_cookies(response)
            return response
        return self._run_flow(self._flow(method, url, headers, body, params, json, data, files,
                                         auth, cookies, follow_redirects), &limits, goal)

    cdef Plan _plain_plan(self, str method, str url, object headers, object body, object params,
                          object json, object data, object files, object auth, object cookies):
        """The Plan of a request that needs no Flow from its start (none of
        the policies applies to it), else None."""
        cdef Plan plan
        if auth is None and cookies is None and not self.uses_policies:
            plan = self._planner.plan(method, url, headers, body, params, json, data, files)
            if not plan.has_credentials:
                return plan
        return None

    cdef object _flow(self, str method, str url, object headers, object body, object params,
                      object json, object data, object files, object auth, object cookies,
                      object follow_redirects):
        """The Flow of a request that needs one."""
        return Flow(self._policies, Request(method, url, headers=headers, body=body, params=params,
                                            json=json, data=data, files=files, auth=auth,
                                            cookies=cookies, follow_redirects=follow_redirects),
                    True)

    cdef Exchange _run(self, Plan plan, Limits* limits, Goal goal, double since):
        cdef double now = hp_now()
        cdef Exchange exchange
        if now >= self.next_log_check:
            self._check_logging(now)
        exchange = new_exchange(self._settings, plan, limits, None, None, None)
        try:
            exchange.begin(goal, now, since)
            drive(exchange)
        finally:
            if self.core.debug:
                self.core.flush_log()
        return exchange

    cdef Response _run_flow(self, object flow, Limits* limits, Goal goal):
        """Every hop of a request with policies, within one total deadline."""
        cdef double since = hp_now()
        return self._hops(hop_steps(flow, None, since, limits.total), since, limits, goal)

    cdef Response _hops(self, object steps, double since, Limits* limits, Goal goal):
        """Carry out the steps of hop_steps(), waiting in this thread."""
        cdef BlockingHop hop = BlockingHop.__new__(BlockingHop)
        hop.client, hop.since, hop.limits, hop.goal = self, since, limits[0], goal
        hops = run_hops(steps, hop)
        try:
            hops.send(None)   # its steps never suspend: it runs to the end here
        except StopIteration as stop:
            return stop.value
        hops.close()
        raise RuntimeError("a blocking hop suspended")

    cdef int _check_logging(self, double now) except -1:
        # Asking logging costs a Python call: once a second is enough to
        # notice that DEBUG was switched on or off.
        self.core.debug = logger.isEnabledFor(DEBUG)
        self.next_log_check = now + 1.0
        return 0


async def run_hops(object steps, object hop):
    """Carry out the steps of hop_steps() (below) with `hop`, which sends a
    hop (``await hop.send(plan)``: its Response, or its HTTPError raised),
    releases an intermediate response (``hop.close``) and waits a Retry's
    delay (``hop.wait``): a BlockingHop's never suspend (Client._hops runs
    this coroutine to its end in one send()), the asyncio API's await the
    loop (httpool._async). The final response."""
    cdef object result = None
    cdef object error = None
    while True:
        try:
            step = steps.send(result) if error is None else steps.throw(error)
        except StopIteration as stop:
            return stop.value
        result = error = None
        if step[0] == HOP_SEND:
            try:
                result = await hop.send(step[1])
            except HTTPError as exc:
                error = exc
        elif step[0] == HOP_CLOSE:
            await hop.close(step[1])
        elif step[1] > 0:
            await hop.wait(step[1])


cdef class BlockingHop:
    """The blocking API's side of run_hops()."""

    async def send(self, Plan plan):
        return response_of(self.client._run(plan, &self.limits, self.goal, self.since))

    async def close(self, Response response):
        response.close()

    async def wait(self, double seconds):
        time.sleep(seconds)   # releases the GIL


def hop_steps(object flow, Response response, double since, double total):
    """The hops of a request with policies, as steps its driver carries out:
    the blocking API (Client._hops) and the asyncio API's streams
    (httpool._async) run this one loop. It yields (HOP_SEND, plan): send
    back the hop's Response, or throw its HTTPError in; (HOP_CLOSE,
    response): release that intermediate response (drained, so its
    connection is reused); (HOP_WAIT, seconds): a Retry's delay. It returns
    the final response. response: the first hop's, when it went without a
    Flow (a redirect to follow), else None. since: when the request began;
    total: its total deadline in seconds (< 0: none), which spans every hop."""
    cdef Plan plan = None
    # The Flow keeps no retry's wait past the request's total deadline.
    # (hp_now() and time.monotonic() read the same clock: CLOCK_MONOTONIC.)
    flow.deadline = since + total if total >= 0 else -1.0
    if response is None:
        response = yield from _attempt_steps(flow, flow.first())
    while True:
        error = None
        try:
            plan = flow.next(response)
        except BaseException as exc:
            error = exc
        if error is not None:
            yield (HOP_CLOSE, response)
            raise error
        if plan is None:
            return flow.finish(response)
        yield (HOP_CLOSE, response)
        response = yield from _attempt_steps(flow, plan)


def _attempt_steps(object flow, Plan plan):
    """One hop: its response; when it fails, its Flow may send it again (a
    Retry's), after the delay it says."""
    if flow.delay > 0:
        yield (HOP_WAIT, flow.delay)
    while True:
        try:
            return (yield (HOP_SEND, plan))
        except HTTPError as exc:
            plan = flow.failed(exc)   # else it raises exc
        yield (HOP_WAIT, flow.delay)
