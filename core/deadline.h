/* One notion of time: the monotonic clock and the deadline every probe is handed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

/* An absolute point on CLOCK_MONOTONIC, in microseconds. usec == 0 means "no deadline",
 * so a zero-initialised Deadline waits as long as its user's own limit says. */
typedef struct Deadline {
        uint64_t usec;
} Deadline;

#define DEADLINE_NONE ((Deadline) { 0 })

/* CLOCK_MONOTONIC now, in microseconds (never 0). */
uint64_t now_usec(void);

/* Milliseconds on the same clock. */
static inline uint64_t now_msec(void) {
        return now_usec() / USEC_PER_MSEC;
}

/* The deadline ms milliseconds from now. */
Deadline deadline_in_ms(uint64_t ms);

static inline bool deadline_is_set(Deadline d) {
        return d.usec != 0;
}

/* True when the deadline is set and has passed. */
bool deadline_passed(Deadline d);

/* Time left, rounded up to whole milliseconds so a wait never ends just before the
 * deadline; 0 once it has passed; UINT64_MAX for no deadline. */
uint64_t deadline_left_ms(Deadline d);

/* The earlier of two deadlines (an unset one counts as later than any). */
Deadline deadline_earlier(Deadline a, Deadline b);

/* The earlier of d and ms milliseconds from now: a step's own limit inside the run's. */
Deadline deadline_within(Deadline d, uint64_t ms);

/* Timeout argument for poll(2): -1 for no deadline, else the rounded-up milliseconds left,
 * capped at INT_MAX. */
int deadline_poll_ms(Deadline d);
