from httpool._conn cimport AddressList, Connection
from httpool._idle cimport PoolCore, Waiter
from httpool._request cimport Plan, Runner
from httpool._sys cimport addrinfo


cdef enum JobState:
    JOB_QUEUED = 0        # not started yet
    JOB_WAITING = 1       # for a connection slot: its Waiter's eventfd is watched
    JOB_CONNECTING = 2
    JOB_SENDING = 3
    JOB_RECEIVING = 4
    JOB_DONE = 5


cdef class Job:
    """One request of a batch."""
    cdef:
        readonly Py_ssize_t index
        Plan plan
        double deadline               # absolute monotonic time; < 0: none (set with _set_deadline)
        double started
        int state
        int attempts                  # retries so far
        int fd                        # the watched descriptor, -1 when none
        Connection conn
        Waiter waiter
        AddressList addresses
        addrinfo* next_address        # the address to try after the current one
        readonly object result        # a Response, or the exception


cdef class Batch:
    """The requests of one request_many / iter_many call."""
    cdef:
        Runner pool
        PoolCore core
        int epfd
        Py_ssize_t size               # requests in the batch
        object queued                 # deque of Jobs not started, in input order
        dict watched                  # fd -> Job
        dict registered               # fd -> (owner, events) in epfd
        list deadlines                # heap of (deadline, sequence, Job); stale entries skipped
        long long sequence            # breaks ties in the heap
        object finished               # deque of Jobs with a result
        dict addresses                # (host, port) -> AddressList
        Py_ssize_t concurrency
        Py_ssize_t in_flight
        double timeout                # seconds per request; < 0: none
        double read_timeout           # without a total timeout: the most time without progress
        int retries

    # Starting a job: with a checkout's grant, then connecting and sending.
    cdef int _start_more(self) except -1
    cdef object _checkout(self, Job job, double now)
    cdef int _start(self, Job job, object grant) except -1
    cdef int _connect(self, Job job) except -1
    cdef int _try_address(self, Job job, int err) except -1
    cdef int _connected(self, Job job) except -1
    cdef int _begin(self, Job job, Connection conn) except -1

    # The loop: what each job's descriptor is watched for, and its steps.
    cdef int _watch(self, Job job, int fd, unsigned int events, object owner) except -1
    cdef void _unwatch(self, Job job) noexcept
    cdef void _release(self, Job job) noexcept
    cdef int _poll(self) except -1
    cdef int _advance(self, Job job, unsigned int events) except -1
    cdef int _send(self, Job job, unsigned int events) except -1
    cdef int _receive(self, Job job) except -1
    cdef int _complete(self, Job job) except -1

    # Endings.
    cdef int _done(self, Job job, object result) except -1
    cdef int _retry_or_fail(self, Job job, object exc) except -1
    cdef int _fail(self, Job job, object exc) except -1
    cdef int _set_deadline(self, Job job, double deadline) except -1
    cdef int _expire(self, double now) except -1
