/* Fibers on sd-event (see fiber.h for why). Built on ucontext: makecontext/swapcontext
 * are in every glibc and musl, need no assembly of ours, and save the signal mask per
 * fiber (so core/subprocess.c's per-call SIGPIPE block stays private to the fiber that
 * set it). Stacks are mmap'd with a guard page, so an overflow faults instead of
 * corrupting a neighbour. Under AddressSanitizer every switch is announced to it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "fiber.h"
#include "macro.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
/* Instrumented frames are larger, and ASan keeps fake frames beside them. */
#define FIBER_STACK_SIZE ((size_t) 2 * 1024 * 1024)
#else
/* Probes keep no large buffers on the stack; OpenSSL and ldns need a few tens of KiB. Only
 * the pages a fiber touches take memory (MAP_NORESERVE). */
#define FIBER_STACK_SIZE ((size_t) 512 * 1024)
#endif

typedef enum FiberState {
        FIBER_NEW,
        FIBER_RUNNING,   /* on the CPU, or suspended in a wait */
        FIBER_FINISHED,  /* body returned; freed once control is back on the loop */
} FiberState;

struct Fiber {
        sd_event *event;
        FiberFunc fn;
        FiberDone done;
        void *userdata;
        FiberState state;
        bool cancelled;
        bool woken;      /* fiber_wake arrived */
        bool waiting;    /* suspended in fiber_poll/fiber_suspend */
        bool suspended;  /* ... in fiber_suspend: fiber_wake may end it */
        int result;

        sd_event_source *start_source;
        sd_event_source *wake_source;
        ucontext_t ctx;
        ucontext_t caller;
        void *stack;     /* mapping: guard page, then the stack */
        size_t map_size;

        Fiber *parent_wait; /* fiber_run_all: the fiber waiting for this group */
#ifdef FIBER_ASAN
        void *fake_stack;
        const void *caller_bottom;
        size_t caller_size;
#endif
};

static _Thread_local Fiber *current;
static _Thread_local Fiber *starting;
static _Thread_local size_t n_fibers;

Fiber *fiber_current(void) {
        return current;
}

sd_event *fiber_event(void) {
        return current ? current->event : NULL;
}

bool fiber_is_cancelled(void) {
        return current && current->cancelled;
}

size_t fiber_count(void) {
        return n_fibers;
}

static size_t page_size(void) {
        long p = sysconf(_SC_PAGESIZE);
        return p > 0 ? (size_t) p : 4096;
}

static void fiber_free(Fiber *f) {
        if (!f)
                return;
        sd_event_source_disable_unref(f->start_source);
        sd_event_source_disable_unref(f->wake_source);
        if (f->stack)
                munmap(f->stack, f->map_size);
        sd_event_unref(f->event);
        free(f);
        n_fibers--;
}

/* Leaves the fiber for whoever resumed it; returns when it is resumed again. */
static void switch_to_caller(Fiber *f) {
#ifdef FIBER_ASAN
        __sanitizer_start_switch_fiber(f->state == FIBER_FINISHED ? NULL : &f->fake_stack, f->caller_bottom,
                                       f->caller_size);
#endif
        swapcontext(&f->ctx, &f->caller);
#ifdef FIBER_ASAN
        __sanitizer_finish_switch_fiber(f->fake_stack, &f->caller_bottom, &f->caller_size);
#endif
}

static void trampoline(void) {
        Fiber *f = starting;
#ifdef FIBER_ASAN
        __sanitizer_finish_switch_fiber(NULL, &f->caller_bottom, &f->caller_size);
#endif
        f->state = FIBER_RUNNING;
        f->result = f->fn(f->userdata);
        f->state = FIBER_FINISHED;
        switch_to_caller(f);
        abort(); /* a finished fiber is never resumed */
}

/* Runs f until its next wait or its end; at the end calls done and frees it, and returns
 * true: f is gone then. */
static bool resume(Fiber *f) {
        Fiber *prev = current;
        current = f;
        if (f->state == FIBER_NEW)
                starting = f;
#ifdef FIBER_ASAN
        void *fake = NULL;
        const void *bottom;
        size_t size;
        __sanitizer_start_switch_fiber(&fake, (char *) f->stack + page_size(), f->map_size - page_size());
#endif
        swapcontext(&f->caller, &f->ctx);
#ifdef FIBER_ASAN
        __sanitizer_finish_switch_fiber(fake, &bottom, &size);
#endif
        current = prev;
        if (f->state == FIBER_FINISHED) {
                if (f->done)
                        f->done(f, f->result, f->userdata);
                fiber_free(f);
                return true;
        }
        return false;
}

static int on_start(sd_event_source *s, void *userdata) {
        Fiber *f = userdata;
        f->start_source = sd_event_source_disable_unref(f->start_source);
        (void) resume(f);
        return 0;
}

int fiber_start(sd_event *e, FiberFunc fn, void *userdata, FiberDone done, Fiber **ret) {
        if (!e || !fn)
                return -EINVAL;
        Fiber *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        n_fibers++;
        *f = (Fiber) { .event = sd_event_ref(e), .fn = fn, .done = done, .userdata = userdata };

        size_t guard = page_size();
        f->map_size = FIBER_STACK_SIZE + guard;
        void *m = mmap(NULL, f->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                       -1, 0);
        if (m == MAP_FAILED) {
                int r = negative_errno();
                fiber_free(f);
                return r;
        }
        f->stack = m;
        if (mprotect(m, guard, PROT_NONE) < 0 || getcontext(&f->ctx) < 0) {
                int r = negative_errno();
                fiber_free(f);
                return r;
        }
        f->ctx.uc_stack.ss_sp = (char *) m + guard;
        f->ctx.uc_stack.ss_size = FIBER_STACK_SIZE;
        f->ctx.uc_link = NULL;
        makecontext(&f->ctx, trampoline, 0);

        int r = sd_event_add_defer(e, &f->start_source, on_start, f);
        if (r < 0) {
                fiber_free(f);
                return r;
        }
        if (ret)
                *ret = f;
        return 0;
}

void fiber_cancel(Fiber *f) {
        if (!f || f == current)
                return;
        f->cancelled = true;
        if (f->state == FIBER_NEW) {
                /* Never started: its body does not run at all. */
                if (f->done)
                        f->done(f, -ECANCELED, f->userdata);
                fiber_free(f);
                return;
        }
        /* Suspended in a wait (a running fiber cannot be the caller's business: only one
         * runs at a time, and it is not us). Resume it; every wait now returns at once, so
         * this returns when the body has returned. */
        while (f->waiting)
                if (resume(f))
                        return;
}

/* ---- waiting ---- */

typedef struct Wait {
        Fiber *fiber;
        struct pollfd *fds;
        size_t n;
        sd_event_source **sources;
        sd_event_source *timer;
        int ready;
        bool timed_out;
} Wait;

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Wait *w = userdata;
        for (size_t i = 0; i < w->n; i++)
                if (w->fds[i].fd == fd && w->fds[i].fd >= 0) {
                        /* EPOLLIN/OUT/ERR/HUP have poll(2)'s values on Linux. */
                        w->fds[i].revents = (short) (revents & (uint32_t) (w->fds[i].events | POLLERR | POLLHUP));
                        if (!w->fds[i].revents)
                                w->fds[i].revents = (short) (revents & 0xffff);
                }
        w->ready = 1;
        if (w->fiber->waiting)
                (void) resume(w->fiber);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Wait *w = userdata;
        w->timed_out = true;
        if (w->fiber->waiting)
                (void) resume(w->fiber);
        return 0;
}

static void wait_done(Wait *w) {
        if (w->sources)
                for (size_t i = 0; i < w->n; i++)
                        sd_event_source_disable_unref(w->sources[i]);
        free(w->sources);
        sd_event_source_disable_unref(w->timer);
}

/* Suspends the current fiber until something resumes it. */
static void park(Fiber *f) {
        f->waiting = true;
        switch_to_caller(f);
        f->waiting = false;
}

int fiber_poll(struct pollfd *fds, size_t n, Deadline d) {
        Fiber *f = current;

        for (size_t i = 0; i < n; i++)
                fds[i].revents = 0;
        if (!f) {
                for (;;) {
                        int k = poll(fds, (nfds_t) n, deadline_poll_ms(d));
                        if (k >= 0 || errno != EINTR)
                                return k < 0 ? negative_errno() : k;
                }
        }
        if (f->cancelled)
                return -ECANCELED;
        if (deadline_passed(d)) {
                /* Still report what is ready right now, as poll(..., 0) would. */
                int k = poll(fds, (nfds_t) n, 0);
                return k < 0 ? negative_errno() : k;
        }

        Wait w = { .fiber = f, .fds = fds, .n = n };
        int r = 0;
        w.sources = calloc(MAX(n, (size_t) 1), sizeof(sd_event_source *));
        if (!w.sources)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (fds[i].fd < 0)
                        continue;
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                        if (fds[k].fd == fds[i].fd && w.sources[k]) {
                                /* One epoll registration per descriptor: widen the first. */
                                uint32_t ev = 0;
                                (void) sd_event_source_get_io_events(w.sources[k], &ev);
                                (void) sd_event_source_set_io_events(w.sources[k], ev | (uint32_t) fds[i].events);
                                dup = true;
                                break;
                        }
                if (dup)
                        continue;
                r = sd_event_add_io(f->event, &w.sources[i], fds[i].fd, (uint32_t) fds[i].events, on_io, &w);
                if (r == -EPERM) {
                        /* A regular file: epoll refuses it, poll(2) calls it always ready. */
                        fds[i].revents = fds[i].events & (POLLIN | POLLOUT);
                        w.ready = 1;
                        r = 0;
                }
        }
        if (r >= 0 && deadline_is_set(d))
                r = sd_event_add_time(f->event, &w.timer, CLOCK_MONOTONIC, d.usec, 1, on_timer, &w);
        if (r >= 0 && !w.ready)
                park(f);
        wait_done(&w);
        if (r < 0)
                return r;
        if (f->cancelled)
                return -ECANCELED;
        int k = 0;
        for (size_t i = 0; i < n; i++)
                if (fds[i].revents)
                        k++;
        return k;
}

int fiber_sleep(Deadline d) {
        if (!current) {
                for (;;) {
                        uint64_t left = deadline_left_ms(d);
                        if (left == 0)
                                return 0;
                        struct timespec ts = { .tv_sec = (time_t) MIN(left / 1000, (uint64_t) 86400),
                                               .tv_nsec = (long) (left % 1000) * 1000000L };
                        (void) nanosleep(&ts, NULL);
                }
        }
        if (!deadline_is_set(d))
                return -EINVAL; /* would sleep for ever */
        int r = fiber_poll(NULL, 0, d);
        return r < 0 ? r : 0;
}

typedef struct SuspendWait {
        Fiber *fiber;
        bool timed_out;
} SuspendWait;

static int on_suspend_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        SuspendWait *w = userdata;
        w->timed_out = true;
        if (w->fiber->waiting)
                (void) resume(w->fiber);
        return 0;
}

int fiber_suspend(Deadline d) {
        Fiber *f = current;
        if (!f)
                return -EOPNOTSUPP;
        if (f->cancelled)
                return -ECANCELED;
        if (f->woken) {
                f->woken = false;
                return 0;
        }
        if (deadline_passed(d))
                return -ETIMEDOUT;
        SuspendWait w = { .fiber = f };
        sd_event_source *timer = NULL;
        if (deadline_is_set(d)) {
                int r = sd_event_add_time(f->event, &timer, CLOCK_MONOTONIC, d.usec, 1, on_suspend_timer, &w);
                if (r < 0)
                        return r;
        }
        f->suspended = true;
        park(f);
        f->suspended = false;
        sd_event_source_disable_unref(timer);
        if (f->cancelled)
                return -ECANCELED;
        if (f->woken) {
                f->woken = false;
                return 0;
        }
        return w.timed_out ? -ETIMEDOUT : 0;
}

static int on_wake(sd_event_source *s, void *userdata) {
        Fiber *f = userdata;
        f->wake_source = sd_event_source_disable_unref(f->wake_source);
        if (f->suspended && f->woken)
                (void) resume(f);
        return 0;
}

void fiber_wake(Fiber *f) {
        if (!f)
                return;
        f->woken = true;
        /* Resumed from the loop's next iteration, never from inside the caller's callback:
         * no fiber runs nested in another's completion. */
        if (f != current && !f->wake_source &&
            sd_event_add_defer(f->event, &f->wake_source, on_wake, f) < 0 && f->suspended)
                (void) resume(f); /* no memory for the source: do it here after all */
}

/* ---- groups ---- */

typedef struct Group {
        FiberFunc fn;
        void *const *args;
        int *results;
        Fiber **members;
        size_t left;
        Fiber *waiter;   /* the fiber in fiber_run_all, NULL on a private loop */
        sd_event *private_loop;
} Group;

typedef struct Member {
        Group *group;
        size_t index;
} Member;

static int member_run(void *userdata) {
        Member *m = userdata;
        return m->group->fn(m->group->args[m->index]);
}

static void member_done(Fiber *f, int result, void *userdata) {
        Member *m = userdata;
        Group *g = m->group;
        if (g->results)
                g->results[m->index] = result;
        g->members[m->index] = NULL;
        if (--g->left == 0) {
                if (g->waiter)
                        fiber_wake(g->waiter);
                else if (g->private_loop)
                        (void) sd_event_exit(g->private_loop, 0);
        }
}

int fiber_run_all(FiberFunc fn, void *const *args, size_t n, int *results) {
        if (n == 0)
                return 0;
        if (fiber_is_cancelled())
                return -ECANCELED;
        Group g = { .fn = fn, .args = args, .results = results, .waiter = current };
        _cleanup_free_ Member *members = calloc(n, sizeof(Member));
        _cleanup_free_ Fiber **fibers = calloc(n, sizeof(Fiber *));
        sd_event *e = NULL;
        int r = 0;

        if (!members || !fibers)
                return -ENOMEM;
        g.members = fibers;
        if (current)
                e = sd_event_ref(current->event);
        else {
                r = sd_event_new(&e);
                if (r < 0)
                        return r;
                g.private_loop = e;
        }

        for (size_t i = 0; i < n; i++) {
                members[i] = (Member) { .group = &g, .index = i };
                r = fiber_start(e, member_run, &members[i], member_done, &fibers[i]);
                if (r < 0)
                        break;
                g.left++;
        }
        if (r < 0) {
                /* Those started never ran: cancelling them calls their done at once. */
                for (size_t i = 0; i < n; i++)
                        if (fibers[i])
                                fiber_cancel(fibers[i]);
                sd_event_unref(e);
                return r;
        }

        if (g.private_loop) {
                r = sd_event_loop(e);
                r = r < 0 ? r : 0;
        } else {
                while (g.left > 0) {
                        int k = fiber_suspend(DEADLINE_NONE);
                        if (k == -ECANCELED) {
                                for (size_t i = 0; i < n; i++)
                                        if (fibers[i])
                                                fiber_cancel(fibers[i]);
                                r = -ECANCELED;
                        }
                }
        }
        sd_event_unref(e);
        return r;
}
