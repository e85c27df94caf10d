from httpool._exchange cimport Exchange, Limits, Settings
from httpool._idle cimport Doorbell, PoolCore
from httpool._plan cimport Plan


cdef class Batch:
    """The driver of one request_many / iter_many call: many exchanges, one
    epoll set."""
    cdef:
        Settings settings
        PoolCore core
        Limits limits                 # every request's timeouts
        int epfd
        Doorbell bell                 # shared by the waiters of all its exchanges
        Py_ssize_t size               # requests in the batch
        object policies               # the pool's (httpool.policies.flow.Policies)
        object queued                 # deque of (index, Plan, Flow, follows, since) not started, in input order
        dict watched                  # fd -> the Exchange waiting on it
        dict registered               # fd -> (Connection, events) in epfd, idle ones included
        list waiting                  # exchanges waiting for a slot
        list deadlines                # heap of (wake_at, sequence, Exchange); stale entries skipped
        list delayed                  # heap of (start_at, sequence, index, Plan, Flow, since): retries
                                      # waiting their delay, counted in in_flight
        long long sequence            # breaks ties in the heap
        object finished               # deque of (index, Response or exception)
        dict resolved                 # (host, port) -> AddressList
        Py_ssize_t concurrency
        Py_ssize_t in_flight
        bint starting                 # _start_more is running: a nested call returns at once

    cdef int _start_more(self) except -1
    cdef int _start_queued(self) except -1
    cdef int _begin(self, object index, Plan plan, object flow, bint follows,
                    double since) except -1
    # Hooks a driver that waits in an event loop (httpool._async) fills in:
    # the limits of the request at `index` (a batch's are all the same), an
    # exchange that needs nothing more (its result, or its Flow's next hop),
    # and a request's result.
    cdef Limits* _limits_for(self, object index)
    cdef int _done(self, Exchange exchange) except -1
    cdef int _finished(self, object index, object result) except -1
    cdef object _response(self, Exchange exchange)
    cdef int _next_hop(self, Exchange exchange, Plan plan, object flow) except -1
    cdef int _start_delayed(self, double now) except -1
    # After any call into an exchange: watch what it needs, until when, or collect it.
    cdef int _follow(self, Exchange exchange) except -1
    cdef int _forget_fd(self, Exchange exchange) except -1
    cdef int _watch(self, Exchange exchange, int fd, unsigned int events) except -1
    # The nearest wake-up (a deadline, a delayed hop), < 0 for none.
    cdef double _nearest(self)
    # Wait for events (block: until the nearest wake-up; else not at all), then handle them.
    cdef int _poll(self, bint block) except -1
    cdef int _serve_waiting(self) except -1
    cdef int _expire(self, double now) except -1
