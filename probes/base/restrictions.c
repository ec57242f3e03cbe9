/* Relay-restriction walk: the order of restrictions is what makes a server an open relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <arpa/inet.h>

#include "conf.h"
#include "fileio.h"
#include "postconf.h"
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
                else if (!w.uncertain && strncmp(*t, "reject_", 7) != 0 && strncmp(*t, "defer_", 6) != 0 &&
                         strncmp(*t, "warn_if_reject", 14) != 0 && !streq(*t, "sleep") &&
                         !streq(*t, "permit_auth_destination") && !streq(*t, "permit_tls_clientcerts"))
                        /* permit_auth_destination permits mail to our own domains only;
                         * a table's argument belongs to its check_* word, taken already. */
                        w.uncertain = *t;
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

#define TABLE_MAX (1024 * 1024)

/* A list that grows by doubling: adding n words is linear, not quadratic. */
typedef struct WordList {
        char **v;
        size_t n, cap;
} WordList;

static int strv_add(WordList *l, const char *s, size_t len) {
        if (l->n + 2 > l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                char **p = reallocarray(l->v, cap, sizeof(char *));
                if (!p)
                        return -ENOMEM;
                l->v = p;
                l->cap = cap;
        }
        l->v[l->n] = strndup(s, len);
        if (!l->v[l->n])
                return -ENOMEM;
        l->v[++l->n] = NULL;
        return 0;
}

/* The words of one table joined with spaces, grown by doubling. */
typedef struct Joined {
        char *s;
        size_t len, cap;
} Joined;

static int joined_add(Joined *j, const char *w, size_t n) {
        size_t need = j->len + 1 + n + 1;
        if (need > j->cap) {
                size_t cap = j->cap ? j->cap : 64;
                while (cap < need)
                        cap *= 2;
                char *p = realloc(j->s, cap);
                if (!p)
                        return -ENOMEM;
                j->s = p;
                j->cap = cap;
        }
        if (j->len > 0)
                j->s[j->len++] = ' ';
        memcpy(j->s + j->len, w, n);
        j->len += n;
        j->s[j->len] = 0;
        return 0;
}

static int text_append(char **s, const char *a, const char *b) {
        char *n;
        if (asprintf(&n, "%s%s%s%s%s", strempty(*s), *s ? "\n" : "", a, b ? ": " : "", strempty(b)) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

/* The first word of each line that is not a comment: a cidr: table's networks, a postmap
 * -s dump's keys, a mynetworks "/file"'s patterns (all words of such a file count). */
static int collect_words(const char *text, bool first_only, WordList *v, Joined *listed) {
        for (const char *line = text; *line;) {
                size_t len = strcspn(line, "\n");
                const char *p = line;
                const char *end = line + len;
                while (p < end) {
                        p += strspn(p, " \t,");
                        if (p >= end || *p == '#')
                                break;
                        size_t w = strcspn(p, " \t,\n");
                        if (p + w > end)
                                w = (size_t) (end - p);
                        if (strv_add(v, p, w) < 0 || joined_add(listed, p, w) < 0)
                                return -ENOMEM;
                        if (first_only)
                                break;
                        p += w;
                }
                line = end + (*end == '\n');
        }
        return 0;
}

int mynetworks_expand(const CheckContext *ctx, char *const *words, char ***ret_entries, char **ret_sources,
                      char **ret_unread) {
        _cleanup_strv_free_ char **v_owned = NULL;
        _cleanup_free_ char *sources = NULL, *unread = NULL;
        WordList v = {};
        int r;

#define V_SYNC() (v_owned = v.v)

        for (char *const *w = words; w && *w; w++) {
                _cleanup_free_ char *listed_s = NULL;
                Joined listed = {};
                if (!is_table(*w) && **w != '/') {
                        r = strv_add(&v, *w, strlen(*w));
                        V_SYNC();
                        if (r < 0)
                                return -ENOMEM;
                        continue;
                }
                if (**w == '/' || strncmp(*w, "cidr:", 5) == 0) {
                        /* A file of patterns, or a cidr: table: read it as Postfix does. */
                        const char *path = **w == '/' ? *w : *w + 5;
                        _cleanup_free_ char *text = NULL;
                        size_t size;
                        r = read_file_bounded(path, TABLE_MAX, &text, &size);
                        if (r < 0) {
                                if (text_append(&unread, *w, strerror(-r)) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                        r = collect_words(text, **w != '/', &v, &listed);
                        V_SYNC();
                        listed_s = listed.s;
                        if (r < 0)
                                return -ENOMEM;
                } else {
                        const char *argv[] = { "postmap", "-s", *w, NULL };
                        SpawnResult s;
                        r = probe_run(ctx, argv, &s);
                        if (r < 0 || !spawn_result_ok(&s)) {
                                if (r >= 0)
                                        spawn_result_done(&s);
                                if (text_append(&unread, *w, _("cannot be listed")) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                        r = collect_words(s.out, true, &v, &listed);
                        V_SYNC();
                        listed_s = listed.s;
                        spawn_result_done(&s);
                        if (r < 0)
                                return r;
                }
                if (text_append(&sources, *w, listed_s ? listed_s : _("(empty)")) < 0)
                        return -ENOMEM;
        }
        if (!v.v) {
                r = strv_add(&v, "", 0);
                V_SYNC();
                if (r < 0)
                        return -ENOMEM;
        }
#undef V_SYNC
        v.v = NULL;
        *ret_entries = TAKE_PTR(v_owned);
        *ret_sources = TAKE_PTR(sources);
        *ret_unread = TAKE_PTR(unread);
        return 0;
}

/* Is text address a inside network word w ("10.0.0.0/8", "[::1]/128", "192.0.2.1")? */
static bool net_contains(const char *w, const char *a) {
        char buf[80];
        unsigned char net[16], ad[16];
        if (strlen(w) >= sizeof(buf))
                return false;
        strcpy(buf, w);
        char *slash = strchr(buf, '/'), *ip = buf;
        if (slash)
                *slash = 0;
        if (*ip == '[') {
                ip++;
                char *e = strchr(ip, ']');
                if (!e)
                        return false;
                *e = 0;
        }
        int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
        size_t len = family == AF_INET ? 4 : 16;
        if (inet_pton(family, ip, net) != 1 || inet_pton(family, a, ad) != 1)
                return false;
        uint64_t prefix = len * 8;
        if (slash && (parse_uint64(slash + 1, &prefix) < 0 || prefix > len * 8))
                return false;
        for (unsigned bit = 0; bit < prefix; bit++)
                if ((net[bit / 8] ^ ad[bit / 8]) & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

int mynetworks_contains(const CheckContext *ctx, char *const *words, const char *addr) {
        int ret = 0;
        for (char *const *w = words; w && *w; w++) {
                if (**w == '!')
                        continue;
                if (!is_table(*w)) {
                        if (**w == '/') {
                                _cleanup_strv_free_ char **e = NULL;
                                _cleanup_free_ char *src = NULL, *unread = NULL;
                                char *one[] = { *w, NULL };
                                if (mynetworks_expand(ctx, one, &e, &src, &unread) >= 0)
                                        for (char **x = e; *x; x++)
                                                if (net_contains(*x, addr))
                                                        return 1;
                                continue;
                        }
                        if (net_contains(*w, addr))
                                return 1;
                        continue;
                }
                const char *argv[] = { "postmap", "-q", addr, *w, NULL };
                SpawnResult s;
                int r = probe_run(ctx, argv, &s);
                if (r < 0) {
                        ret = r;
                        continue;
                }
                bool hit = spawn_result_ok(&s) && s.out_size > 0;
                /* postmap -q exits 1 for "not found", other failures are errors. */
                if (!hit && s.exit_status != 1)
                        ret = -EIO;
                spawn_result_done(&s);
                if (hit)
                        return 1;
        }
        return ret;
}

/* From postconf(5) and smtpd_check.c of Postfix 3.7, old names included. */
static const char *const known_restrictions[] = {
        "permit", "reject", "defer", "defer_if_permit", "defer_if_reject", "warn_if_reject", "sleep",
        "check_policy_service", "permit_mynetworks", "permit_sasl_authenticated", "permit_tls_clientcerts",
        "permit_tls_all_clientcerts", "permit_inet_interfaces", "permit_naked_ip_address", "permit_mx_backup",
        "permit_auth_destination", "permit_dnswl_client", "permit_rhswl_client", "reject_unauth_destination",
        "defer_unauth_destination", "reject_unauth_pipelining", "reject_plaintext_session", "reject_unverified_recipient",
        "reject_unverified_sender", "reject_unknown_recipient_domain", "reject_unknown_sender_domain",
        "reject_unlisted_recipient", "reject_unlisted_sender", "reject_non_fqdn_recipient", "reject_non_fqdn_sender",
        "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname", "reject_invalid_helo_hostname",
        "reject_invalid_hostname", "reject_unknown_helo_hostname", "reject_unknown_hostname",
        "reject_unknown_client_hostname", "reject_unknown_client", "reject_unknown_reverse_client_hostname",
        "reject_unknown_forward_client_hostname", "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_sender",
        "reject_rhsbl_helo", "reject_rhsbl_recipient", "reject_rhsbl_reverse_client", "reject_rbl", "reject_rhsbl",
        "reject_maps_rbl", "reject_multi_recipient_bounce", "reject_sender_login_mismatch",
        "reject_authenticated_sender_login_mismatch", "reject_known_sender_login_mismatch",
        "reject_unauthenticated_sender_login_mismatch", "reject_unauth_destination", "reject_unverified_address",
        "reject_auth_destination", "defer_unauth_pipelining", "check_relay_domains", "permit_auth_destination",
        "reject_unknown_address", "check_recipient_maps", "check_client_access", "check_client_a_access",
        "check_client_mx_access", "check_client_ns_access", "check_reverse_client_hostname_access",
        "check_reverse_client_hostname_a_access", "check_reverse_client_hostname_mx_access",
        "check_reverse_client_hostname_ns_access", "check_helo_access", "check_helo_a_access", "check_helo_mx_access",
        "check_helo_ns_access", "check_sender_access", "check_sender_a_access", "check_sender_mx_access",
        "check_sender_ns_access", "check_recipient_access", "check_recipient_a_access", "check_recipient_mx_access",
        "check_recipient_ns_access", "check_etrn_access", "check_ccert_access", "check_sasl_access",
        "check_address_map", "reject_unverified_sender", "permit_sasl_authenticated", "reject_non_fqdn_address",
};

bool restriction_is_known(const char *word, char *const *classes) {
        if (is_table(word) || strncmp(word, "inet:", 5) == 0 || strncmp(word, "unix:", 5) == 0 || *word == '/' ||
            *word == '{' || *word == '}')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(known_restrictions); i++)
                if (streq(word, known_restrictions[i]))
                        return true;
        for (char *const *c = classes; c && *c; c++)
                if (streq(word, *c))
                        return true;
        /* Arguments: reject_rbl_client zen.spamhaus.org=127.0.0.[2..11], sleep 1,
         * check_policy_service { inet:... }: a word with a dot, '=' or a digit first. */
        return strchr(word, '.') || strchr(word, '=') || (*word >= '0' && *word <= '9');
}

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 63 || lb > 63)
                return SIZE_MAX;
        size_t prev[64], cur[64];
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                        cur[j] = MIN(sub, MIN(del, ins));
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

const char *restriction_nearest(const char *word) {
        const char *best = NULL;
        size_t best_d = 3;
        for (size_t i = 0; i < ELEMENTSOF(known_restrictions); i++) {
                size_t d = edit_distance(word, known_restrictions[i]);
                if (d < best_d) {
                        best_d = d;
                        best = known_restrictions[i];
                }
        }
        return best;
}
