# cython: language_level=3
"""The blocking API: request(), get() and the other methods, compiled.

Client is the base class of httpool.Pool, so that pool.get(url) runs here
from its first instruction: the Planner gives the request's Plan (cached for a
request with no options), an Exchange carries it out (httpool._exchange: every
rule of checkout, sending, receiving, retry, reuse and failure), and the
blocking driver (httpool._blocking) does its waiting. What is left here is
the choice of timeouts and the Response handed back.
"""

import logging

from httpool._blocking cimport drive
from httpool._exchange cimport (
    Exchange, Goal, GOAL_BODY, GOAL_HEAD, Limits, Settings, limits_of, new_exchange,
)
from httpool._plan cimport Plan, Planner
from httpool._response cimport Response, response_of
from httpool._sys cimport hp_now
from httpool._models import Timeout

cdef object logger = logging.getLogger("httpool")
cdef int DEBUG = logging.DEBUG


cdef class Client:
    def _setup(self, Settings settings, Planner planner, object timeout):
        """Called by Pool.__init__ once its arguments are checked."""
        self._settings = settings
        self.core = settings.core
        self._planner = planner
        self.timeout = timeout
        self.limits = limits_of(timeout)

    def request(self, str method, str url, *, headers=None, body=None, params=None, json=None,
                timeout=None):
        """Send a request and read the whole response.

        headers: a mapping or (name, value) pairs; body: bytes-like or str
        (sent with Content-Length), a binary file, or an iterable of bytes
        (sent chunked); params: query parameters appended to the URL; json: a
        body encoded as JSON; timeout: a Timeout, or a number of seconds for
        the whole request."""
        return self._send(method, url, headers, body, params, json, timeout, GOAL_BODY)

    def get(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("GET", url, ...)"""
        return self._send("GET", url, headers, body, params, json, timeout, GOAL_BODY)

    def head(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("HEAD", url, ...)"""
        return self._send("HEAD", url, headers, body, params, json, timeout, GOAL_BODY)

    def post(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("POST", url, ...)"""
        return self._send("POST", url, headers, body, params, json, timeout, GOAL_BODY)

    def put(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("PUT", url, ...)"""
        return self._send("PUT", url, headers, body, params, json, timeout, GOAL_BODY)

    def patch(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("PATCH", url, ...)"""
        return self._send("PATCH", url, headers, body, params, json, timeout, GOAL_BODY)

    def delete(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("DELETE", url, ...)"""
        return self._send("DELETE", url, headers, body, params, json, timeout, GOAL_BODY)

    def options(self, str url, *, headers=None, body=None, params=None, json=None, timeout=None):
        """request("OPTIONS", url, ...)"""
        return self._send("OPTIONS", url, headers, body, params, json, timeout, GOAL_BODY)

    def _open_stream(self, str method, str url, headers, body, params, json, timeout):
        """The response of a stream(): its head read, its body left to the caller."""
        return self._send(method, url, headers, body, params, json, timeout, GOAL_HEAD)

    cdef Response _send(self, str method, str url, object headers, object body, object params,
                        object json, object timeout, Goal goal):
        cdef Plan plan = self._planner.plan(method, url, headers, body, params, json)
        cdef Limits limits = self.limits
        cdef double now = hp_now()
        cdef Exchange exchange
        if timeout is not None:
            limits = limits_of(Timeout.coerce(timeout, self.timeout))
        if now >= self.next_log_check:
            self._check_logging(now)
        exchange = new_exchange(self._settings, plan, &limits, None, None, None)
        try:
            exchange.begin(goal, now)
            drive(exchange)
        finally:
            if self.core.debug:
                self.core.flush_log()
        return response_of(exchange)

    cdef int _check_logging(self, double now) except -1:
        # Asking logging costs a Python call: once a second is enough to
        # notice that DEBUG was switched on or off.
        self.core.debug = logger.isEnabledFor(DEBUG)
        self.next_log_check = now + 1.0
        return 0
