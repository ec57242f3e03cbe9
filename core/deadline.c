/* The monotonic clock and deadlines (see deadline.h). */
#include <limits.h>
#include <time.h>

#include "deadline.h"
#include "macro.h"

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t u = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000u;
        return u ? u : 1; /* 0 is "no deadline" */
}

Deadline deadline_in_ms(uint64_t ms) {
        uint64_t now = now_usec();
        if (ms > (UINT64_MAX - now) / USEC_PER_MSEC)
                return (Deadline) { UINT64_MAX };
        return (Deadline) { now + ms * USEC_PER_MSEC };
}

bool deadline_passed(Deadline d) {
        return deadline_is_set(d) && now_usec() >= d.usec;
}

uint64_t deadline_left_ms(Deadline d) {
        if (!deadline_is_set(d))
                return UINT64_MAX;
        uint64_t now = now_usec();
        if (now >= d.usec)
                return 0;
        return (d.usec - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
}

Deadline deadline_earlier(Deadline a, Deadline b) {
        if (!deadline_is_set(a))
                return b;
        if (!deadline_is_set(b))
                return a;
        return a.usec < b.usec ? a : b;
}

Deadline deadline_within(Deadline d, uint64_t ms) {
        return deadline_earlier(d, deadline_in_ms(ms));
}

int deadline_poll_ms(Deadline d) {
        uint64_t left = deadline_left_ms(d);
        if (left == UINT64_MAX)
                return -1;
        return (int) MIN(left, (uint64_t) INT_MAX);
}
