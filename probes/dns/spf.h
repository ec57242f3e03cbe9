/* SPF (RFC 7208): record parser, macro expansion, check_host() evaluation and the static
 * lookup count through include/redirect. DNS comes through callbacks, so all of it runs
 * against a table in the unit tests and the fuzzer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_MAX_LOOKUPS 10      /* RFC 7208 4.6.4 */
#define SPF_MAX_VOID_LOOKUPS 2  /* RFC 7208 4.6.4 */
#define SPF_MAX_RECORD 4096     /* longer TXT is refused unparsed */
#define SPF_MAX_TERMS 128
#define SPF_MAX_DEPTH 12        /* include/redirect nesting; deeper is a permerror anyway */

typedef enum SpfQualifier {
        SPF_QUALIFIER_PASS,     /* + */
        SPF_QUALIFIER_FAIL,     /* - */
        SPF_QUALIFIER_SOFTFAIL, /* ~ */
        SPF_QUALIFIER_NEUTRAL,  /* ? */
        _SPF_QUALIFIER_MAX,
} SpfQualifier;

typedef enum SpfMechanism {
        SPF_ALL,
        SPF_INCLUDE,
        SPF_A,
        SPF_MX,
        SPF_PTR,
        SPF_IP4,
        SPF_IP6,
        SPF_EXISTS,
        _SPF_MECHANISM_MAX,
} SpfMechanism;

typedef struct SpfAddr {
        int family;       /* AF_INET or AF_INET6 */
        uint8_t a[16];    /* network order; IPv4 in the first 4 bytes */
} SpfAddr;

typedef struct SpfTerm {
        SpfMechanism mechanism;
        SpfQualifier qualifier;
        bool explicit_qualifier;
        char *domain;     /* domain-spec as written (may hold macros), NULL when absent */
        SpfAddr addr;     /* ip4 / ip6 network */
        int cidr4, cidr6; /* prefix lengths, -1 when not given */
} SpfTerm;

typedef struct SpfRecord {
        SpfTerm *terms;
        size_t n_terms;
        char *redirect;   /* domain-spec or NULL */
        char *exp;        /* domain-spec or NULL */
        unsigned n_unknown_modifiers;
} SpfRecord;

typedef enum SpfResult {
        SPF_RESULT_NONE,
        SPF_RESULT_NEUTRAL,
        SPF_RESULT_PASS,
        SPF_RESULT_FAIL,
        SPF_RESULT_SOFTFAIL,
        SPF_RESULT_TEMPERROR,
        SPF_RESULT_PERMERROR,
        _SPF_RESULT_MAX,
} SpfResult;

const char *spf_result_to_string(SpfResult r);
const char *spf_mechanism_to_string(SpfMechanism m);
/* include, a, mx, ptr, exists (and the redirect modifier) cost one DNS lookup each. */
bool spf_mechanism_costs_lookup(SpfMechanism m);

/* True when a TXT string is an SPF record: "v=spf1" alone or followed by a space
 * (case-insensitive; "v=spf10" is not). */
bool spf_is_record(const char *txt, size_t len);

/* Parses a record (the whole "v=spf1 ..." text, len bytes, no NULs allowed). Returns 0, or
 * -EINVAL with *ret_error (when non-NULL) saying which term is wrong (untrusted text
 * quoted as is: make it terminal-safe before display), -E2BIG for records over
 * SPF_MAX_RECORD bytes or SPF_MAX_TERMS terms, -ENOMEM. */
int spf_parse(const char *text, size_t len, SpfRecord **ret, char **ret_error);
SpfRecord *spf_record_free(SpfRecord *r);
static inline void spf_record_freep(SpfRecord **r) {
        if (*r)
                spf_record_free(*r);
}

/* DNS through callbacks. Each returns the number of items (0: a void answer, NXDOMAIN
 * or no data), or negative errno for a lookup that failed (timeout, SERVFAIL): that is a
 * temperror. Lists are NULL-terminated string arrays / arrays the caller frees. */
typedef struct SpfDns {
        int (*txt)(void *userdata, const char *name, char ***ret);
        int (*addrs)(void *userdata, const char *name, int family, SpfAddr **ret);
        int (*mx)(void *userdata, const char *name, char ***ret);
        int (*ptr)(void *userdata, const SpfAddr *addr, char ***ret);
        void *userdata;
} SpfDns;

typedef struct SpfMacroEnv {
        const char *sender;   /* full address, "postmaster@example.com" */
        const char *domain;   /* current domain */
        const char *helo;
        const SpfAddr *ip;
} SpfMacroEnv;

/* Expands a macro-string (RFC 7208 7). exp: the c, r and t letters are allowed too.
 * For domain names the result is cut to 253 bytes from the left. Returns 0, -EINVAL. */
int spf_expand(const char *spec, const SpfMacroEnv *env, bool exp, char **ret);

/* Fetches and parses the SPF record of domain. Returns 1 and *ret_record (and the text
 * when ret_text), 0 when there is none (*ret_void tells whether the TXT lookup was void),
 * -EEXIST for several SPF records (a permerror), -EINVAL (parse error, *ret_error), or a
 * DNS error. */
int spf_fetch(const SpfDns *dns, const char *domain, SpfRecord **ret_record, char **ret_text,
              bool *ret_void, char **ret_error);

typedef struct SpfEvaluation {
        SpfResult result;
        unsigned lookups;
        unsigned void_lookups;
        char *reason;     /* why, for the detail: the matching term or the error */
} SpfEvaluation;

/* check_host() of RFC 7208 4 for ip, domain and sender. Always fills *ret (free with
 * spf_evaluation_done); returns -ENOMEM only. */
int spf_check_host(const SpfDns *dns, const SpfAddr *ip, const char *domain, const char *sender,
                   const char *helo, SpfEvaluation *ret);
void spf_evaluation_done(SpfEvaluation *e);

/* The static count a receiver may run into: every lookup term of the record and of every
 * record reached through include and redirect, whatever the order of evaluation. */
typedef struct SpfWalk {
        unsigned lookups;
        unsigned void_lookups;
        unsigned max_depth;
        bool plus_all;        /* the top record (or its redirect target) ends in +all */
        bool has_all;         /* the top record decides (an all, or a redirect) */
        bool uses_ptr;        /* ptr is deprecated (RFC 7208 5.5) */
        bool temporary;       /* some lookup failed: counts are a lower bound */
        char *error;          /* first permanent error found in the tree, or NULL */
        char *trace;          /* one line per record visited: "depth domain: lookups" */
} SpfWalk;

int spf_walk(const SpfDns *dns, const char *domain, SpfWalk *ret);
void spf_walk_done(SpfWalk *w);

/* Address parsing helpers shared with the DNS checks. */
int spf_addr_from_string(const char *s, SpfAddr *ret);
bool spf_addr_in_network(const SpfAddr *ip, const SpfAddr *net, int prefix);
