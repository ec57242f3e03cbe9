/* Name lookups the usual way (nsswitch: /etc/hosts, then DNS), with a time limit. */
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "resolve.h"

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

typedef struct Lookup {
        struct gaicb cb;
        struct addrinfo hints;
        char name[];
} Lookup;

int resolve_bounded(const char *name, int flags, unsigned timeout_seconds, struct addrinfo **ret) {
        size_t l = strlen(name);
        Lookup *q = calloc(1, sizeof(Lookup) + l + 1);
        struct gaicb *list[1];
        int r;

        if (!q)
                return EAI_MEMORY;
        memcpy(q->name, name, l + 1);
        q->hints = (struct addrinfo) { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC, .ai_flags = flags };
        q->cb = (struct gaicb) { .ar_name = q->name, .ar_request = &q->hints };
        list[0] = &q->cb;
        r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
        if (r != 0) {
                free(q);
                return r;
        }
        uint64_t deadline = now_usec() + (uint64_t) timeout_seconds * 1000000u;
        while ((r = gai_error(&q->cb)) == EAI_INPROGRESS) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        break;
                struct timespec ts = { .tv_sec = (time_t) ((deadline - now) / 1000000u),
                                       .tv_nsec = (long) ((deadline - now) % 1000000u) * 1000 };
                (void) gai_suspend((const struct gaicb *const *) list, 1, &ts);
        }
        if (r == EAI_INPROGRESS) {
                if (gai_cancel(&q->cb) == EAI_NOTCANCELED)
                        return EAI_AGAIN; /* q stays with the resolver thread: a small, rare leak */
                if (gai_error(&q->cb) == 0)
                        freeaddrinfo(q->cb.ar_result);
                free(q);
                return EAI_AGAIN;
        }
        if (r == 0)
                *ret = q->cb.ar_result;
        free(q);
        return r;
}

