from httpool._exchange cimport Exchange, Goal, Limits, Settings
from httpool._idle cimport PoolCore
from httpool._plan cimport Plan, Planner
from httpool._response cimport Response


cdef class Client:
    """The public request methods, compiled: the base class of httpool.Pool.
    It plans a request, runs its Exchange with the blocking driver, and hands
    back the Response; a request that uses a policy goes through its Flow."""
    cdef:
        readonly Settings _settings
        PoolCore core
        readonly Planner _planner
        readonly object _policies     # httpool.policies.flow.Policies
        public bint uses_policies     # every request needs a Flow (Policies.always)
        bint follows                  # the pool follows redirects
        object timeout                # the pool's default Timeout
        Limits limits                 # the same, in C
        double next_log_check         # when to ask logging again whether DEBUG is on

    cdef Response _send(self, str method, str url, object headers, object body, object params,
                        object json, object data, object files, object auth, object cookies,
                        object follow_redirects, object timeout, Goal goal)
    # Shared with the asyncio API (httpool._async): which requests take the
    # plain path, and the Flow of the others.
    cdef Plan _plain_plan(self, str method, str url, object headers, object body, object params,
                          object json, object data, object files, object auth, object cookies)
    cdef object _flow(self, str method, str url, object headers, object body, object params,
                      object json, object data, object files, object auth, object cookies,
                      object follow_redirects)
    cdef Exchange _run(self, Plan plan, Limits* limits, Goal goal, double since)
    cdef Response _run_flow(self, object flow, Limits* limits, Goal goal)
    cdef Response _hops(self, object steps, double since, Limits* limits, Goal goal)
    cdef int _check_logging(self, double now) except -1


cdef class BlockingHop:
    """What the blocking API does for each step of hop_steps() (run_hops)."""
    cdef:
        Client client
        double since                  # when the request began
        Limits limits
        Goal goal


# The steps hop_steps() yields (tuples of the step and its argument).
cdef enum HopStep:
    HOP_SEND = 0        # (HOP_SEND, Plan): send back its Response, or throw its HTTPError
    HOP_CLOSE = 1       # (HOP_CLOSE, Response): release it (drain)
    HOP_WAIT = 2        # (HOP_WAIT, seconds): wait before the next hop
