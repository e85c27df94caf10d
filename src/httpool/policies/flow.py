"""One request's policies around the engine: auth, cookies, redirects, retries.

A Flow turns a Request into the Plans the engine sends, one per hop, and
reads each response to choose the next hop: the auth scheme's answer to a
challenge (Digest's 401), or the redirect's target. It never waits and never
touches a connection, so the blocking API (httpool._request), a stream and a
batch (httpool._batch, which follows a redirect inside the batch) all drive
the same Flow: first(), then next(response) after each response until it
returns None, then finish(response). The driver reads or drains each
intermediate response before the next hop, so its connection is reused, and
spans the request's total deadline over every hop.

Retries (the pool's httpool.Retry): next() returns the same request again for
a status to retry, and failed(exc) after a hop ended with an error; either
sets Flow.delay, the wait before that hop, which the driver keeps (the
blocking API sleeps, a batch schedules it). The driver sets Flow.deadline,
the request's total deadline: a retry whose wait would pass it is not made
(the response is final, or the error raised).

Policies holds what a pool sets once: its auth, its cookie jar (None when
cookies=False), its redirect settings and its Retry.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, cast

from httpool._exceptions import (
    BodyNotRepeatable,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    DecodingError,
    ProxyError,
    ReadTimeout,
    RemoteProtocolError,
    TLSError,
    TooManyRedirects,
    WriteTimeout,
)
from httpool._models import AuthSource, PlanArgs, Request
from httpool._reasons import COUNTERS
from httpool.policies import redirects
from httpool.policies.auth import BasicAuth, auth_from

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    from httpool._idle import PoolCore
    from httpool._plan import Plan, Planner, _Target
    from httpool._response import Response
    from httpool.policies.retry import Retry

__all__ = ["Policies", "Flow", "request_of"]

# The counters of retries, by cause (httpool._reasons' rows).
_RETRIES_STATUS = COUNTERS.index("retries_status")
_RETRIES_CONNECT = COUNTERS.index("retries_connect")
_RETRIES_READ = COUNTERS.index("retries_read")


class Policies:
    """A pool's policies (see the module docstring).

    The cookie jar is made when it is first needed (a Set-Cookie to keep, or
    the caller asking for pool.cookies), so that neither importing httpool
    nor a pool that never sees a cookie pays for http.cookiejar (which
    imports urllib.request, http.client and email: tens of milliseconds)."""

    __slots__ = ("planner", "auth", "_jar", "_jar_lock", "keeps_cookies", "on_store",
                 "follow_redirects", "max_redirects", "allow_downgrade", "retry", "core")

    def __init__(self, planner: Planner, auth: AuthSource, jar: CookieJar | None,
                 keeps_cookies: bool, on_store: Callable[[], None], follow_redirects: bool,
                 max_redirects: int, allow_downgrade: bool, retry: Retry | None = None,
                 core: PoolCore | None = None) -> None:
        """jar: the caller's (or one made from their dict), else None and
        made when needed if keeps_cookies. on_store: called when a jar httpool
        made stores a cookie. retry: the pool's Retry, or None; core: where
        its retries are counted."""
        self.planner = planner
        self.auth = auth_from(auth)
        self._jar = jar
        self._jar_lock = threading.Lock()   # two threads' first cookies make one jar
        self.keeps_cookies = keeps_cookies
        self.on_store = on_store
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.allow_downgrade = allow_downgrade
        self.retry = retry
        self.core = core

    @property
    def jar(self) -> CookieJar | None:
        """The pool's jar, made now if it is to keep cookies and has none yet."""
        if self._jar is None and self.keeps_cookies:
            from httpool.policies import cookies  # on first use: see the class docstring
            with self._jar_lock:
                if self._jar is None:
                    self._jar = cookies.observed_jar(self.on_store)
        return self._jar

    @property
    def always(self) -> bool:
        """Whether every request needs a Flow from its start: the pool
        authenticates, retries with a Retry, or may have cookies to send.
        (Following redirects does not: a request goes without one, and a Flow
        takes over only when its response is a redirect; see Flow.after.)"""
        if self.auth is not None or self.retry is not None:
            return True
        if self._jar is None:
            return False
        from httpool.policies import cookies
        return cookies.may_have_cookies(self._jar)

    def parse(self, url: str) -> _Target:
        """A URL's parsed target, from the planner's cache (ValueError when
        it is not an http or https URL)."""
        return self.planner._target(url, None)[0]

    def keep_cookies(self, response: Response) -> None:
        """Store a response's Set-Cookie (a request that needed no Flow)."""
        jar = self.jar
        if jar is not None:
            from httpool.policies import cookies
            cookies.store(jar, response.url, self.parse(response.url), response.headers)


class Flow:
    """The hops of one request (see the module docstring)."""

    __slots__ = ("policies", "request", "target", "follow", "same_origin", "steps", "plan",
                 "history", "retries", "delay", "deadline")

    def __init__(self, policies: Policies, request: Request, owned: bool = False) -> None:
        """owned: the request is the Flow's to change (else it works on a copy)."""
        self.policies = policies
        self.request = request = request if owned else request.copy()
        self.target: _Target | None = None   # the current hop's
        self.follow = (policies.follow_redirects if request.follow_redirects is None
                       else request.follow_redirects)
        # False once a redirect left the first origin: the pool's auth stays there.
        self.same_origin = True
        self.steps: Generator[Request, Response, None] | None = None
        self.plan: Plan | None = None
        self.history: list[Response] = []
        self.retries = 0        # retries so far (Retry)
        self.delay = 0.0        # seconds to wait before the hop next() or failed() returned
        # The request's total deadline (time.monotonic()), < 0 for none: set by the driver.
        self.deadline = -1.0

    @classmethod
    def after(cls, policies: Policies, plan: Plan) -> Flow:
        """The Flow of a request sent without one, whose response is a
        redirect to follow: as if its first hop had been its own."""
        flow = cls(policies, request_of(plan.method, plan.url, plan.args, follow_redirects=True),
                   owned=True)
        flow.target, flow.plan = plan.target, plan
        return flow

    def first(self) -> Plan:
        """The Plan of the first hop."""
        return self._hop(self.request)

    def next(self, response: Response) -> Plan | None:
        """After a response (its head at least): store its cookies, then the
        next hop's Plan, or None when this response is the final one. The
        driver waits self.delay seconds before sending it (a retry's)."""
        self.delay = 0.0
        request = self.request
        policies = self.policies
        if response._sets_cookie and policies.keeps_cookies and self.target is not None:
            from httpool.policies import cookies
            cookies.store(cast("CookieJar", policies.jar), request.url, self.target,
                          response.headers)
        if self.steps is not None:
            try:
                again = self.steps.send(response)
            except StopIteration:
                self.steps = None
            else:
                self.history.append(response)
                return self._send_again(again, "the auth scheme asked to send it again")
        if not self.follow or not redirects.is_redirect(response):
            return self._retry_status(response)
        if len(self.history) >= policies.max_redirects:
            raise TooManyRedirects(
                f"{request.method} {self.history[0].url if self.history else request.url}: more "
                f"than max_redirects={policies.max_redirects} redirects (the last to "
                f"{response._first_header(b'location')})")
        following = redirects.next_request(request, response, policies.allow_downgrade,
                                           policies.parse)
        self.history.append(response)
        if following.body is not None or following.files is not None:
            self._rewind(f"a {response.status_code} redirect asks for it again")
        return self._hop(following)

    def finish(self, response: Response) -> Response:
        """The final response, with the hops before it."""
        response._set_history(self.history, self.request, self.retries)
        return response

    def failed(self, exc: BaseException) -> Plan:
        """After a hop ended with an HTTPError: the Plan to send again (after
        self.delay seconds) when the pool's Retry says so, else raise exc.
        A connect error (not TLS: a certificate does not fix itself; nor a
        proxy that refused this client: ProxyError.refused) is always retried; a read error only when the
        request may be sent again."""
        self.delay = 0.0
        retry = self.policies.retry
        plan = self.plan
        if retry is None or plan is None or self.retries >= retry.total:
            raise exc
        if isinstance(exc, (ConnectError, ConnectTimeout)) and not (
                isinstance(exc, TLSError)
                or (isinstance(exc, ProxyError) and exc.refused)):
            counter = _RETRIES_CONNECT
        elif (isinstance(exc, (ReadTimeout, WriteTimeout, ConnectionClosed, RemoteProtocolError))
                and not isinstance(exc, DecodingError) and plan.replayable):
            counter = _RETRIES_READ
        else:
            raise exc
        again = self._retry(retry, counter, None)
        if again is None:
            raise exc
        return again

    # ---------------------------------------------------------------- retries

    def _retry_status(self, response: Response) -> Plan | None:
        retry = self.policies.retry
        if (retry is None or response.status_code not in retry.status_forcelist
                or self.request.method.upper() not in retry.allowed_methods
                or self.retries >= retry.total):
            return None
        return self._retry(retry, _RETRIES_STATUS, response)

    def _retry(self, retry: Retry, counter: int, response: Response | None) -> Plan | None:
        """The same request again after its delay, or None when the delay
        would pass the deadline or the body cannot be sent again."""
        plan = cast("Plan", self.plan)
        delay = retry.delay(self.retries + 1, response)
        if self.deadline >= 0 and time.monotonic() + delay >= self.deadline:
            return None
        if plan.rewind is not None and not plan.rewind():
            return None
        self.retries += 1
        self.delay = delay
        core = self.policies.core
        if core is not None:
            core.count_origin(plan.slots, counter)
        return self._plan(self.request)

    # ---------------------------------------------------------------- hops

    def _hop(self, request: Request) -> Plan:
        """Start a hop: credentials from the URL, the auth scheme's flow."""
        planner = self.policies.planner
        target, _, url = planner._target(request.url, request.params)
        if self.target is not None and target.key != self.target.key:
            self.same_origin = False
        self.target = target
        if target.credentials is not None:
            # user:password@ is Basic auth, unless auth= says otherwise; it is
            # never sent in the request line or the Host header.
            url = _without_credentials(url)
            if request.auth is None:
                request.auth = BasicAuth(*target.credentials)
        request.url, request.params = url, None
        self.request = request
        auth = auth_from(request.auth) if request.auth is not None else None
        if auth is None and self.same_origin:
            auth = self.policies.auth
        self.steps = auth.flow(request) if auth is not None else None
        return self._plan(next(self.steps) if self.steps is not None else request)

    def _send_again(self, request: Request, why: str) -> Plan:
        self._rewind(why)
        return self._plan(request)

    def _rewind(self, why: str) -> None:
        plan = self.plan
        if plan is not None and plan.rewind is not None and not plan.rewind():
            raise BodyNotRepeatable(f"{plan.method} {plan.url}: {why}, but its body cannot be sent "
                                "again (an iterator or a stream that cannot seek); pass bytes "
                                "or a seekable file")

    def _plan(self, request: Request) -> Plan:
        self.request = request
        headers = request.headers
        jar = self.policies._jar
        if (jar is not None or request.cookies is not None) and self.target is not None:
            from httpool.policies import cookies
            jars = [] if jar is None or not cookies.may_have_cookies(jar) else [jar]
            if request.cookies is not None:
                jars.append(cookies.jar_from(request.cookies))
            # A Cookie header the caller set is sent as it is, as requests and urllib do.
            line = (cookies.cookie_header(jars, request.url, self.target)
                    if jars and "cookie" not in headers else None)
            if line is not None:
                headers = headers.copy()
                headers["Cookie"] = line
        self.plan = self.policies.planner.plan(
            request.method, request.url, headers if headers else None, request.body, None,
            request.json, request.data, request.files)
        return self.plan


def request_of(method: str, url: str, args: PlanArgs | None,
               follow_redirects: bool | None = None) -> Request:
    """The Request of a Plan (its own arguments: Plan.args), for a Flow that
    takes over after the first hop, or for Response.next_request."""
    headers, body, json, data, files = args or (None, None, None, None, None)
    return Request(method, url, headers=headers, body=body, json=json, data=data, files=files,
                   follow_redirects=follow_redirects)


def _without_credentials(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
