cdef enum:
    MAX_HEAD = 8192    # request bytes buffered per connection: a longer head gets a 400
    EVENT_BATCH = 256  # epoll events taken per wait
    BACKLOG = 4096     # listen() backlog


# What an epoll registration points at: every event's data.ptr is a Slot*.
cdef enum SlotKind:
    SLOT_LISTENER = 0  # the listening socket: accept
    SLOT_WAKE = 1      # the eventfd stop() writes to: leave the loop
    SLOT_CLIENT = 2    # an accepted connection: read requests, send responses


# The prebuilt responses. Each exists twice: as is, and with "Connection: close"
# for a request that asked to close (RFC 9112 section 9.6) or spoke HTTP/1.0.
cdef enum Answer:
    ANSWER_SMALL = 0      # GET /small: 200, 13 bytes
    ANSWER_ONE_MIB = 1    # GET /1m: 200, 1 MiB
    ANSWER_NOT_FOUND = 2  # any other target: 404
    ANSWER_BAD = 3        # unparseable head, head over MAX_HEAD, chunked body: 400, then close
    ANSWER_COUNT = 4


cdef struct Prebuilt:
    const char* data   # head and body, in one bytes object that BenchServer keeps
    size_t size        # head and body
    size_t head_size   # the head alone, for HEAD requests


cdef struct Slot:
    SlotKind kind
    int fd
    Slot* prev                  # the server's list of open clients, so stop() can close them
    Slot* next
    const char* out             # the rest of the response being sent (inside a Prebuilt)
    size_t out_left
    Answer pending              # the response owed once the request body has been read
    bint pending_head_only      # ... to a HEAD request: its head alone
    bint pending_close          # ... and the connection closes after it
    bint close_after            # close once out_left reaches 0
    unsigned long long body_left  # request body bytes still to read and discard
    size_t in_len               # bytes in in_buf
    char in_buf[MAX_HEAD]


cdef class BenchServer:
    cdef:
        readonly str host
        readonly int port
        int listen_fd
        int epfd
        int wake_fd                        # eventfd: stop() writes, the loop wakes and leaves
        Slot listener                      # the registrations of listen_fd and wake_fd
        Slot waker
        Slot* clients                      # open client connections, a doubly linked list
        Prebuilt answers[2][ANSWER_COUNT]  # [close][Answer]
        tuple _keep                        # the bytes objects answers[][] point into
        readonly unsigned long long accepted  # connections accepted (approximate while running)
        readonly unsigned long long requests  # requests answered (approximate while running)
        object _thread

    # Setup and teardown (with the GIL).
    cdef int _open_listener(self, int port) except -1
    cdef void _close_fds(self) noexcept

    # The event loop and what it calls, all without the GIL.
    cdef void _loop(self) noexcept nogil
    cdef void _accept_all(self) noexcept nogil
    cdef int _service(self, Slot* client) noexcept nogil
    cdef int _take_request(self, Slot* client) noexcept nogil
    cdef void _answer(self, Slot* client, Answer answer, bint head_only, bint close) noexcept nogil
    cdef void _drop(self, Slot* client) noexcept nogil
