from httpool._conn cimport Connection
from httpool._idle cimport OriginSlots, PoolCore
from httpool._response cimport Response


cdef class Plan:
    """A request ready to send: checked, its head encoded, its body framed.
    Everything about it that does not depend on time or connections."""
    cdef:
        readonly str method
        readonly str url
        readonly str path
        readonly object target        # httpool._pool._Target
        readonly OriginSlots slots
        readonly bytes head
        readonly object body          # bytes-like or None
        readonly object chunks        # an iterable of bytes, sent chunked, or None
        readonly bint client_close
        readonly bint replayable      # may be sent again after a failure (see Runner)
        readonly bint head_request


cdef class Runner:
    """The per-request hot path; the base class of httpool.Pool."""
    cdef:
        PoolCore core
        dict plans                    # method -> url -> Plan, for requests with no options
        int retries
        object timeout                # the pool's default Timeout
        double read_timeout           # its read and write timeouts, -1 for none
        double write_timeout
        double next_log_check         # when to ask logging again whether DEBUG is on

    cpdef Response send(self, str method, str url, object headers, object body, object params,
                        object json, object timeout, bint read_body)
    cpdef Plan plan(self, str method, str url, object headers, object body, object params,
                    object json)
    cdef int release(self, Response response) except -1
    cdef Connection _acquire(self, Plan plan, double deadline, object timeout)
    cdef Response _run(self, Plan plan, object t, double read_timeout, double write_timeout,
                       bint read_body)
