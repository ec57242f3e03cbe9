/* Fibers: probes written as plain sequential code that wait only through one sd-event loop.
 *
 * A probe is a dialogue (connect, read the greeting, EHLO, STARTTLS, ...) or a chain of
 * lookups. Written as explicit callback state machines these would be several times
 * longer and harder to get right; written as blocking code they need a thread each. A
 * fiber is the middle way (QEMU's block layer runs its coroutines on its AioContext the
 * same way): each probe runs on its own small stack, and every wait (fiber_poll,
 * fiber_suspend, and core's spawn_run, which waits through fiber_poll) registers sd-event
 * sources and switches back to the loop, which runs the other probes meanwhile. One
 * thread, one loop, no locks: fibers only switch at a wait.
 *
 * Outside a fiber the same calls block as before (fiber_poll falls back to poll(2)), so
 * a module works the same from a test, a one-shot verb or a fiber.
 *
 * Cancellation: fiber_cancel() makes every wait of that fiber return -ECANCELED at once
 * (the one in progress and all later ones); the fiber unwinds through its ordinary error
 * paths, freeing what it holds, and its done callback runs before fiber_cancel returns. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "deadline.h"

typedef struct Fiber Fiber;

/* The fiber's body; its return value is handed to the done callback. */
typedef int (*FiberFunc)(void *userdata);

/* Called on the loop when the body has returned (result: its return value, or
 * -ECANCELED when it was cancelled before it started). The Fiber is freed right after. */
typedef void (*FiberDone)(Fiber *f, int result, void *userdata);

/* Creates a fiber that starts running fn(userdata) on the loop's next iteration. ret may
 * be NULL when the caller never cancels it. Returns 0 or a negative errno. */
int fiber_start(sd_event *e, FiberFunc fn, void *userdata, FiberDone done, Fiber **ret);

/* Cancels f (see above). Must not be called by f on itself. f is invalid afterwards. */
void fiber_cancel(Fiber *f);

/* The fiber running now, NULL on the loop itself or outside any loop. */
Fiber *fiber_current(void);

/* The loop the current fiber runs on, NULL outside a fiber. */
sd_event *fiber_event(void);

/* True when the current fiber has been cancelled (false outside a fiber). */
bool fiber_is_cancelled(void);

/* Waits until one of the descriptors is ready or the deadline passes, like poll(2):
 * returns the number of entries with revents set, 0 when the deadline passed, -ECANCELED
 * when the fiber was cancelled, or a negative errno. In a fiber it waits through the
 * loop; outside, with poll(2). */
int fiber_poll(struct pollfd *fds, size_t n, Deadline d);

/* Sleeps until the deadline (in a fiber: through the loop). 0, or -ECANCELED. */
int fiber_sleep(Deadline d);

/* For callback APIs (sd_bus_call_method_async, curl multi, ...): suspends the current
 * fiber until fiber_wake(f) is called from a callback on the same loop (returns 0), the
 * deadline passes (-ETIMEDOUT) or the fiber is cancelled (-ECANCELED). Only in a fiber
 * (-EOPNOTSUPP outside). A wake that arrives while the fiber is not suspended is kept
 * and ends the next suspend at once. */
int fiber_suspend(Deadline d);
void fiber_wake(Fiber *f);

/* Runs fn(args[i]) for i < n concurrently, each in its own fiber, and returns when all
 * have returned; each result goes to results[i] when results is not NULL. In a fiber, on
 * the same loop (cancelling the caller cancels them all); outside a fiber, on a private
 * loop run to completion. Returns 0, or a negative errno when they could not be started
 * (-ECANCELED when the caller was cancelled meanwhile). */
int fiber_run_all(FiberFunc fn, void *const *args, size_t n, int *results);

/* How many fibers exist in this thread right now (for tests: none may be left over). */
size_t fiber_count(void);
