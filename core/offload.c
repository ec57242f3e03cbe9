/* The worker pool behind offload_run (see offload.h). A job holds two references, the
 * caller's and the pool's; whoever drops the last one frees it, so a caller that gives up
 * at its deadline never waits for the worker and never leaves it a dangling pointer. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fiber.h"
#include "macro.h"
#include "offload.h"

typedef struct Job {
        struct Job *next;
        unsigned refs;
        bool abandoned;
        int efd;
        OffloadWork work;
        OffloadRelease release;
        void *data;
        int result;
} Job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static Job *head, *tail;
static unsigned n_workers, n_idle;

unsigned offload_workers(void) {
        pthread_mutex_lock(&lock);
        unsigned n = n_workers;
        pthread_mutex_unlock(&lock);
        return n;
}

/* With lock held. */
static void job_unref_locked(Job *j) {
        if (--j->refs > 0)
                return;
        closep(&j->efd);
        free(j);
}

static void *worker(void *arg) {
        pthread_mutex_lock(&lock);
        for (;;) {
                while (!head) {
                        n_idle++;
                        pthread_cond_wait(&wake, &lock);
                        n_idle--;
                }
                Job *j = head;
                head = j->next;
                if (!head)
                        tail = NULL;
                bool skip = j->abandoned;
                pthread_mutex_unlock(&lock);

                int result = skip ? -ECANCELED : j->work(j->data);

                pthread_mutex_lock(&lock);
                j->result = result;
                uint64_t one = 1;
                (void) !write(j->efd, &one, sizeof(one));
                if (j->abandoned) {
                        OffloadRelease release = j->release;
                        void *data = j->data;
                        job_unref_locked(j);
                        pthread_mutex_unlock(&lock);
                        if (release)
                                release(data);
                        pthread_mutex_lock(&lock);
                } else
                        job_unref_locked(j);
        }
        return NULL;
}

/* With lock held: a worker for the new job, unless an idle one will take it. */
static int ensure_worker_locked(void) {
        if (n_idle > 0 || n_workers >= OFFLOAD_MAX_WORKERS)
                return n_workers > 0 ? 0 : -EAGAIN;
        pthread_attr_t attr;
        pthread_t t;
        int r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Signals belong to the loop's thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&t, &attr, worker, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return n_workers > 0 ? 0 : -r;
        n_workers++;
        return 0;
}

int offload_run(OffloadWork work, void *data, OffloadRelease release, Deadline deadline, int *ret_result) {
        int r;
        Job *j = NULL;

        if (!work) {
                r = -EINVAL;
                goto fail;
        }
        if (fiber_is_cancelled()) {
                r = -ECANCELED;
                goto fail;
        }
        j = calloc(1, sizeof(Job));
        if (!j) {
                r = -ENOMEM;
                goto fail;
        }
        *j = (Job) { .refs = 2, .efd = -1, .work = work, .release = release, .data = data };
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->efd < 0) {
                r = negative_errno();
                goto fail;
        }

        pthread_mutex_lock(&lock);
        r = ensure_worker_locked();
        if (r < 0) {
                pthread_mutex_unlock(&lock);
                goto fail;
        }
        if (tail)
                tail->next = j;
        else
                head = j;
        tail = j;
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&lock);

        struct pollfd p = { .fd = j->efd, .events = POLLIN };
        int k = fiber_poll(&p, 1, deadline);

        pthread_mutex_lock(&lock);
        /* Finished meanwhile even if the wait did not see it: take the result. */
        uint64_t v;
        bool finished = read(j->efd, &v, sizeof(v)) == (ssize_t) sizeof(v);
        if (finished) {
                if (ret_result)
                        *ret_result = j->result;
                r = 0;
        } else {
                j->abandoned = true; /* the worker releases data when it is done */
                r = k == -ECANCELED ? -ECANCELED : k < 0 ? k : -ETIMEDOUT;
        }
        job_unref_locked(j);
        pthread_mutex_unlock(&lock);
        return r;

fail:
        if (j) {
                closep(&j->efd);
                free(j);
        }
        if (release)
                release(data);
        return r;
}
