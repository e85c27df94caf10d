/* Monotonic time for deadlines, in seconds as a double. */
#ifndef HTTPOOL_HP_TIME_H
#define HTTPOOL_HP_TIME_H

#include <math.h>
#include <time.h>

static inline double hp_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Milliseconds for epoll_wait from seconds left: rounded up, so a wait never
 * ends before its deadline (epoll_wait's resolution is one millisecond). A
 * negative `left` means no deadline: wait for ever. */
static inline int hp_wait_ms(double left) {
    double ms;
    if (left < 0.0) return -1;
    ms = ceil(left * 1000.0);
    if (ms > 2147483647.0) return 2147483647;
    return (int)ms;
}

#endif
