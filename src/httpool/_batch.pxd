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
    cdef object _response(self, Exchange exchange)
    cdef int _next_hop(self, Exchange exchange, Plan plan, object flow) except -1
    cdef int _start_delayed(self, double now) except -1
    # After any call into an exchange: watch what it needs, until when, or collect it.
    cdef int _follow(self, Exchange exchange) except -1
    cdef int _forget_fd(self, Exchange exchange) except -1
    cdef int _watch(self, Exchange exchange, int fd, unsigned int events) except -1
    cdef int _poll(self) except -1
    cdef int _serve_waiting(self) except -1
    cdef int _expire(self, double now) except -1
