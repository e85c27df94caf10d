/* Monotonic time and deadline-bounded epoll waits, shared by the connection
 * layer and the pool's waiters. */
#ifndef HTTPOOL_HP_WAIT_H
#define HTTPOOL_HP_WAIT_H

#include <errno.h>
#include <math.h>
#include <sys/epoll.h>
#include <time.h>

/* Monotonic clock, seconds (the clock of Python's time.monotonic()). */
static inline double hp_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One epoll_wait for at most one event, until the absolute monotonic
 * `deadline` (a negative deadline: no limit). The timeout is rounded up to
 * whole milliseconds, epoll_wait's resolution, so the wait never ends early.
 * Returns 1 with *ev filled, 0 when the deadline has passed, -1 with errno set
 * (EINTR: a signal arrived; call again with the same deadline to wait for the
 * time left). */
static inline int hp_wait_until(int epfd, struct epoll_event *ev, double deadline) {
    int ms = -1;
    if (deadline >= 0.0) {
        double left = deadline - hp_now();
        if (left <= 0.0) return 0;
        double rounded = ceil(left * 1000.0);
        ms = rounded > 2147483647.0 ? 2147483647 : (int)rounded;
    }
    int n = epoll_wait(epfd, ev, 1, ms);
    if (n == 0 && deadline >= 0.0 && hp_now() < deadline) {
        errno = EINTR;  /* woke early: treat as an interruption and wait again */
        return -1;
    }
    return n;
}

#endif
