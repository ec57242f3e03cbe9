/* Relay-restriction walk: the order of restrictions is what makes a server an open relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "restrictions.h"

RelayWalk relay_walk(char *const *tokens) {
        static const char *const guards[] = {
                "reject_unauth_destination", "defer_unauth_destination", "reject", "defer",
        };
        RelayWalk w = { .verdict = RELAY_EMPTY };

        if (!tokens || !tokens[0])
                return w;

        for (char *const *t = tokens; *t; t++) {
                for (size_t i = 0; i < ELEMENTSOF(guards); i++)
                        if (streq(*t, guards[i])) {
                                w.verdict = RELAY_GUARDED;
                                w.culprit = *t;
                                return w;
                        }
                if (streq(*t, "permit")) {
                        w.verdict = RELAY_OPEN;
                        w.culprit = *t;
                        return w;
                }
                if (streq(*t, "permit_mynetworks"))
                        w.permits_mynetworks = true;
                else if (streq(*t, "permit_sasl_authenticated"))
                        w.permits_sasl = true;
        }
        w.verdict = RELAY_UNGUARDED;
        return w;
}

/* A lookup table "type:name": the type is letters and, unlike an IPv6 address's first
 * group, contains a letter that is not a hex digit (hash, cidr, lmdb, texthash, ...). */
static bool is_table(const char *t) {
        size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz");
        return n >= 2 && t[n] == ':' && strcspn(t, "ghijklmnopqrstuvwxyz") < n;
}

bool mynetworks_is_open(char *const *tokens, const char **ret_entry) {
        for (char *const *t = tokens; t && *t; t++) {
                const char *slash = strrchr(*t, '/');
                uint64_t prefix;

                if (is_table(*t))
                        continue; /* hash:/etc/postfix/network_table and the like */
                if (!slash || parse_uint64(slash + 1, &prefix) < 0)
                        continue;
                bool v6 = memchr(*t, ':', (size_t) (slash - *t)) != NULL;
                if ((v6 && prefix < 16) || (!v6 && prefix < 8)) {
                        if (ret_entry)
                                *ret_entry = *t;
                        return true;
                }
        }
        return false;
}
