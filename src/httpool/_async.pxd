from httpool._batch cimport Batch
from httpool._exchange cimport Exchange, Goal, Limits
from httpool._plan cimport Plan
from httpool._request cimport Client
from httpool._response cimport Response


cdef class Binding:
    """A batch (its epoll set, its nearest wake-up) watched by an event loop."""
    cdef:
        Batch batch
        readonly object loop
        object timer                  # the loop's TimerHandle at timer_at, or None
        double timer_at               # the engine's clock (hp_now)
        object waiter                 # a Future next_done() awaits, or None
        bint bound                    # the epoll set's descriptor is watched by the loop
        bint closing                  # the pool was closed: unbind once nothing is in flight

    cdef int bind(self) except -1
    # After any call into the batch's exchanges: the doorbell armed, the timer set.
    cdef int settle(self) except -1
    cdef int _after(self) except -1
    cdef int unbind(self) except -1


cdef class Ticket:
    """One request of an AsyncPool: its limits; in the standing batch (its
    index there), its future and the exchange of its current hop."""
    cdef:
        object future                 # resolved with the Response, or the exception
        Limits limits                 # the request's timeouts
        Exchange exchange             # its current hop's, while one is in flight
        bint cancelled                # the caller gave up: a hop not started is dropped


cdef class AsyncDriver(Batch):
    """An AsyncPool's standing batch: requests come and go, on one loop."""
    cdef:
        Binding binding
        double resolved_until         # when the batch's resolved names are dropped (hp_now)

    # Requests (every hop through the batch): a ticket to await, or to cancel.
    cdef Ticket submit(self, Plan plan, object flow, bint follows, Limits* limits)
    cdef int cancel(self, Ticket ticket) except -1
    # Exchanges driven alone (a stream's): begin, then after each call into
    # one, a future to await until it needs nothing more (None: it needs
    # nothing now), or give it up.
    cdef Exchange start(self, Plan plan, Limits* limits, Goal goal, double since)
    cdef object wait(self, Exchange exchange)
    cdef int give_up(self, Exchange exchange) except -1
    cdef int _give_up(self, Exchange exchange) except -1


cdef class AsyncHop:
    """What a stream does for each step of hop_steps() (httpool._request.run_hops)."""
    cdef:
        AsyncDriver driver
        Ticket request                # its limits
        double since                  # when the request began


cdef class AsyncResponse(Response):
    cdef:
        AsyncDriver _driver


cdef class AsyncClient:
    """The request methods of httpool.AsyncPool (its base class)."""
    cdef:
        Client _client                # the Pool whose options and connections it shares
        AsyncDriver _driver           # made on the first request, for the running loop

    cdef AsyncDriver _here(self)
