/* Judging Postfix access restriction lists for relay safety (config.relay). */
#pragma once

#include <stdbool.h>

typedef enum RelayVerdict {
        RELAY_GUARDED,     /* reject_unauth_destination (or reject/defer) before any permit */
        RELAY_OPEN,        /* an unconditional "permit" is reached first */
        RELAY_UNGUARDED,   /* the list ends without a guard: Postfix's default is permit */
        RELAY_EMPTY,       /* no restrictions in this list */
        _RELAY_VERDICT_MAX,
} RelayVerdict;

typedef struct RelayWalk {
        RelayVerdict verdict;
        const char *culprit;       /* the token that decided (points into the input), or NULL */
        bool permits_mynetworks;   /* permit_mynetworks comes before the guard */
        bool permits_sasl;         /* permit_sasl_authenticated comes before the guard */
} RelayWalk;

/* Walks a list of restriction tokens (NULL-terminated, as postfix_list_split gives).
 * Table lookups (type:name) and unknown words are taken as conditional. */
RelayWalk relay_walk(char *const *tokens);

/* True when a mynetworks value lets the whole Internet (or an absurdly wide range) in:
 * 0.0.0.0/0, ::/0, an IPv4 prefix shorter than /8 or IPv6 shorter than /16. On true,
 * *ret_entry points to the offending token. */
bool mynetworks_is_open(char *const *tokens, const char **ret_entry);
