# cython: language_level=3
"""The blocking driver: one exchange, waited for in the calling thread.

Each wait runs with the GIL released, until the exchange's ``wake_at``. A
wait for bytes is the receive itself (``Connection.block_next_recv``: a recv
bounded by SO_RCVTIMEO, one system call instead of epoll_wait and recv). Any
other wait is one ``epoll_wait`` in the connection's own epoll instance (or
the slot waiter's). The instance is the connection's own, not one per pool or
per thread, because a connection moves between threads: a registration left
in another thread's level-triggered epoll set would wake that thread for bytes
it must not read.
"""

from httpool._conn cimport Connection
from httpool._exchange cimport Exchange, NEED_DONE, NEED_READ, NEED_SLOT
from httpool._sys cimport EPOLLIN, EPOLLOUT


cdef int drive(Exchange exchange) except -1:
    cdef unsigned int events
    cdef Connection conn
    while exchange.need != NEED_DONE:
        try:
            if exchange.need == NEED_SLOT:
                if exchange.waiter.wait(exchange.wake_at):
                    exchange.granted()
                    continue
            elif exchange.need == NEED_READ and exchange.conn.block_next_recv(exchange.wake_at):
                # The receive waits itself (no epoll_wait); if it ran out,
                # the exchange still needs to read and the next turn expires it.
                conn = exchange.conn
                try:
                    exchange.advance(EPOLLIN)
                finally:
                    conn.block_recv = False   # unused if the step did not receive
                continue
            else:
                events = exchange.conn.wait(
                    EPOLLIN if exchange.need == NEED_READ else EPOLLIN | EPOLLOUT, exchange.wake_at)
                if events:
                    exchange.advance(events)
                    continue
        except BaseException as exc:
            if exchange.need != NEED_DONE:
                # The wait itself raised (a signal handler): nothing may go on.
                exchange.abort(exc)
            raise
        exchange.expire()
    if exchange.error is not None:
        raise exchange.error
    return 0
