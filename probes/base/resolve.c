/* Name lookups through nsswitch, offloaded to a worker and awaited through the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "offload.h"
#include "resolve.h"

typedef struct Lookup {
        int flags;
        struct addrinfo *ai;
        char name[];
} Lookup;

static int lookup_work(void *data) {
        Lookup *q = data;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC, .ai_flags = q->flags };
        return getaddrinfo(q->name, NULL, &hints, &q->ai);
}

static void lookup_free(void *data) {
        Lookup *q = data;
        if (q->ai)
                freeaddrinfo(q->ai);
        free(q);
}

int resolve_bounded(const char *name, int flags, Deadline deadline, struct addrinfo **ret) {
        size_t l = strlen(name);
        Lookup *q = calloc(1, sizeof(Lookup) + l + 1);
        if (!q)
                return EAI_MEMORY;
        memcpy(q->name, name, l + 1);
        q->flags = flags;

        int result = EAI_FAIL;
        /* On failure q is the pool's (freed now, or by the worker when it is done). */
        int r = offload_run(lookup_work, q, lookup_free, deadline, &result);
        if (r == -ETIMEDOUT)
                return EAI_AGAIN;
        if (r < 0) {
                errno = -r;
                return r == -ENOMEM ? EAI_MEMORY : EAI_SYSTEM;
        }
        if (result == 0)
                *ret = TAKE_PTR(q->ai);
        lookup_free(q);
        return result;
}
