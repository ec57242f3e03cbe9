/* Calls that can only block (getaddrinfo through nsswitch, ldns's own DNSSEC chain walk)
 * run on a small pool of worker threads and are awaited through the fiber's loop. */
#pragma once

#include "deadline.h"

/* At most this many workers exist (created on demand, kept for later calls): with the
 * loop's thread, a process never runs more than OFFLOAD_MAX_WORKERS + 1 threads. */
#define OFFLOAD_MAX_WORKERS 2

typedef int (*OffloadWork)(void *data);
typedef void (*OffloadRelease)(void *data);

/* Runs work(data) on a worker and waits for it until the deadline: through the fiber's
 * loop in a fiber (other fibers run meanwhile), blocking outside one.
 * Returns 0 when the work finished in time: its return value is in *ret_result and data
 * is the caller's again. Any other return hands data over: -ETIMEDOUT (the deadline
 * passed first) and -ECANCELED (the fiber was cancelled) leave the work to finish on the
 * worker, which then calls release(data), so data must be the job's alone (copies, not
 * borrowed pointers); -ENOMEM, -EAGAIN and the like (it could not be queued) call
 * release(data) at once. */
int offload_run(OffloadWork work, void *data, OffloadRelease release, Deadline deadline, int *ret_result);

/* Workers alive now (for tests). */
unsigned offload_workers(void);
