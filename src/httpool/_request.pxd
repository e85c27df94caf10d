from httpool._exchange cimport Goal, Limits, Settings
from httpool._idle cimport PoolCore
from httpool._plan cimport Planner
from httpool._response cimport Response


cdef class Client:
    """The public request methods, compiled: the base class of httpool.Pool.
    It plans a request, runs its Exchange with the blocking driver, and hands
    back the Response."""
    cdef:
        readonly Settings _settings
        PoolCore core
        readonly Planner _planner
        object timeout                # the pool's default Timeout
        Limits limits                 # the same, in C
        double next_log_check         # when to ask logging again whether DEBUG is on

    cdef Response _send(self, str method, str url, object headers, object body, object params,
                        object json, object timeout, Goal goal)
    cdef int _check_logging(self, double now) except -1
