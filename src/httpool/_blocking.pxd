from httpool._exchange cimport Exchange


# Drive `exchange` until it needs nothing more, waiting in its connection's
# own epoll instance (or its waiter's); raises its error, if it ended with one.
cdef int drive(Exchange exchange) except -1
