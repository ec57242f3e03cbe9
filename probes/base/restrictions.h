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
        /* The first word before the guard that may let a stranger through on its own terms
         * (an access table, a policy service, a permit_* other than mynetworks and SASL):
         * the configuration alone cannot say whether strangers relay. NULL when none. */
        const char *uncertain;
} RelayWalk;

/* Walks a list of restriction tokens (NULL-terminated, as postfix_list_split gives).
 * Table lookups (type:name) and unknown words are taken as conditional. */
RelayWalk relay_walk(char *const *tokens);

/* True when a mynetworks value lets the whole Internet (or an absurdly wide range) in:
 * 0.0.0.0/0, ::/0, an IPv4 prefix shorter than /8 or IPv6 shorter than /16. On true,
 * *ret_entry points to the offending token. */
bool mynetworks_is_open(char *const *tokens, const char **ret_entry);

#include "probe.h"

/* mynetworks as Postfix reads it: networks written in main.cf, plus the entries of the
 * tables and files it names (cidr: files parsed, other tables listed with postmap -s,
 * "/file" read), so that mynetworks_is_open sees them. *ret_sources: one line per table
 * or file read ("cidr:/etc/postfix/mynetworks.cidr: 127.0.0.0/8"), for evidence. A table
 * that cannot be listed (a database: mysql:, ldap:) is named in *ret_unread. */
int mynetworks_expand(const CheckContext *ctx, char *const *words, char ***ret_entries, char **ret_sources,
                      char **ret_unread);

/* Is addr (text) in mynetworks? Written networks compared here, tables asked with
 * postmap -q. 1 yes, 0 no, -errno when a table could not be asked. */
int mynetworks_contains(const CheckContext *ctx, char *const *words, const char *addr);

/* Is word something Postfix accepts in an smtpd_*_restrictions list: a restriction it
 * knows (Postfix 3.x), a table argument (type:name), or one of classes (the names from
 * smtpd_restriction_classes)? Postfix answers "451 4.3.5 Server configuration error" to
 * every client at the list with an unknown word. */
bool restriction_is_known(const char *word, char *const *classes);

/* The known restriction nearest to word (at most two edits), for "did you mean"; NULL. */
const char *restriction_nearest(const char *word);
