from httpool._idle cimport OriginSlots, PoolCore


cdef class Plan:
    """A request ready to send: checked, its head encoded, its body framed.
    Everything about it that does not depend on time or connections."""
    cdef:
        readonly str method
        readonly str url
        readonly str path
        readonly object target        # _Target: where the URL points
        readonly OriginSlots slots
        readonly bytes head
        readonly object body          # bytes-like sent with the head, or None
        readonly object chunks        # an iterable of the rest of the body, or None
        readonly bint chunked         # chunks are framed chunked (else a file's Content-Length)
        readonly Py_ssize_t length    # the bytes chunks owe Content-Length, -1 when chunked
        # None when the body can be sent again as it is (bytes, or none); else a
        # callable that rewinds it for another send (a file seeks back) and
        # returns False when it cannot (a generator, a pipe).
        readonly object rewind
        readonly tuple args           # (headers, body, json, data, files) as given, or None
        readonly bint has_credentials # the URL has user:password@ (Basic auth: see policies.flow)
        readonly bint client_close
        readonly bint replayable      # may be sent again after a failure (see Exchange)
        readonly bint head_request
        readonly object proxy         # _Proxy: connect to it instead of the URL's host; or None
        readonly object tunnel        # the tunnel to open first (httpool.routes.tunnels: https via an HTTP
                                      # proxy, anything via SOCKS5), or None


cdef class Planner:
    """Checks and encodes requests once: a pool's default headers, its
    parsed URLs, and the plans of requests with no options."""
    cdef:
        PoolCore core
        list headers                  # the default (name, value) pairs
        bint default_close            # they say Connection: close
        bytes fixed_tail              # their header lines, checked, as bytes
        dict targets                  # url -> _Target
        dict fixed                    # (Host, Proxy-Authorization or None) -> their lines + fixed_tail
        dict plans                    # method -> url -> Plan, for requests with no options
        object routes                 # httpool.routes.proxies.Routes: each URL's proxy; or None
        # What follows a URL's origin in the name of its connections (stats,
        # messages): " (via /run/app.sock)" with uds=, else "".
        str via

    cpdef Plan plan(self, str method, str url, object headers, object body, object params,
                    object json, object data=*, object files=*)
    cdef Plan _plan(self, str method, str url, object headers, object body, object params,
                    object json, object data, object files)
