/* Name lookups the usual way (nsswitch: /etc/hosts, then DNS), with a time limit. */
#pragma once

#include <netdb.h>

/* getaddrinfo (SOCK_STREAM, any family, the given AI_* flags, e.g. AI_CANONNAME) that gives
 * up after timeout_seconds: a resolver that never answers must not hold a check. Returns 0
 * and *ret (freeaddrinfo it), EAI_AGAIN on timeout, or another EAI_* code. Thread-safe. */
int resolve_bounded(const char *name, int flags, unsigned timeout_seconds, struct addrinfo **ret);
