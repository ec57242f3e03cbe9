/* Name lookups the usual way (nsswitch: /etc/hosts, then DNS), bounded by a deadline. */
#pragma once

#include <netdb.h>

#include "deadline.h"

/* getaddrinfo (SOCK_STREAM, any family, the given AI_* flags, e.g. AI_CANONNAME) that gives
 * up at the deadline: a resolver that never answers must not hold a check. Returns 0 and
 * *ret (freeaddrinfo it), EAI_AGAIN when the deadline passed, EAI_SYSTEM with errno
 * ECANCELED when the fiber was cancelled, or another EAI_* code.
 *
 * getaddrinfo has no asynchronous form that honours nsswitch, so the lookup runs on one
 * worker thread shared by the process; the caller waits for it through its fiber's loop
 * (or blocks, outside a fiber). A lookup abandoned at the deadline finishes on the worker
 * and is then thrown away. */
int resolve_bounded(const char *name, int flags, Deadline deadline, struct addrinfo **ret);
