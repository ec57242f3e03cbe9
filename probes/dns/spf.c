/* SPF (RFC 7208): parser for the term grammar of section 12, macros, check_host() and the
 * static lookup count. No I/O of its own: DNS arrives through SpfDns callbacks. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns-tags.h"
#include "macro.h"
#include "spf.h"

static const char *const mechanism_names[_SPF_MECHANISM_MAX] = {
        [SPF_ALL] = "all",
        [SPF_INCLUDE] = "include",
        [SPF_A] = "a",
        [SPF_MX] = "mx",
        [SPF_PTR] = "ptr",
        [SPF_IP4] = "ip4",
        [SPF_IP6] = "ip6",
        [SPF_EXISTS] = "exists",
};

static const char *const result_names[_SPF_RESULT_MAX] = {
        [SPF_RESULT_NONE] = "none",
        [SPF_RESULT_NEUTRAL] = "neutral",
        [SPF_RESULT_PASS] = "pass",
        [SPF_RESULT_FAIL] = "fail",
        [SPF_RESULT_SOFTFAIL] = "softfail",
        [SPF_RESULT_TEMPERROR] = "temperror",
        [SPF_RESULT_PERMERROR] = "permerror",
};

const char *spf_result_to_string(SpfResult r) {
        return r >= 0 && r < _SPF_RESULT_MAX ? result_names[r] : "?";
}

const char *spf_mechanism_to_string(SpfMechanism m) {
        return m >= 0 && m < _SPF_MECHANISM_MAX ? mechanism_names[m] : "?";
}

bool spf_mechanism_costs_lookup(SpfMechanism m) {
        return m == SPF_INCLUDE || m == SPF_A || m == SPF_MX || m == SPF_PTR || m == SPF_EXISTS;
}

bool spf_is_record(const char *txt, size_t len) {
        return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

SpfRecord *spf_record_free(SpfRecord *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_terms; i++)
                free(r->terms[i].domain);
        free(r->terms);
        free(r->redirect);
        free(r->exp);
        free(r);
        return NULL;
}

/* --- grammar --- */

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alnum(char c) {
        return is_alpha(c) || is_digit(c);
}

static bool is_macro_letter(char c, bool exp) {
        c = (char) tolower((unsigned char) c);
        return strchr("slodiphv", c) || (exp && strchr("crt", c));
}

/* macro-string: *( macro-expand / macro-literal ); s[0..n) has no SP. */
static bool macro_string_valid(const char *s, size_t n, bool exp) {
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) s[i];
                if (c == '%') {
                        if (i + 1 >= n)
                                return false;
                        char m = s[i + 1];
                        if (m == '%' || m == '_' || m == '-') {
                                i += 2;
                                continue;
                        }
                        if (m != '{' || i + 2 >= n || !is_macro_letter(s[i + 2], exp))
                                return false;
                        i += 3;
                        while (i < n && is_digit(s[i]))
                                i++;
                        if (i < n && (s[i] == 'r' || s[i] == 'R'))
                                i++;
                        while (i < n && strchr(".-+,/_=", s[i]) && s[i])
                                i++;
                        if (i >= n || s[i] != '}')
                                return false;
                        i++;
                        continue;
                }
                if (c < 0x21 || c > 0x7e)
                        return false;
                i++;
        }
        return true;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel_valid(const char *s, size_t n) {
        bool alpha = false;
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
                alpha = alpha || is_alpha(s[i]) || s[i] == '-';
        }
        return alpha && s[0] != '-' && s[n - 1] != '-';
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static bool domain_spec_valid(const char *s, size_t n) {
        if (n == 0 || !macro_string_valid(s, n, false))
                return false;
        if (s[n - 1] == '}') {
                /* ends in a macro-expand: find its '%{' */
                for (size_t i = n - 1; i-- > 0;)
                        if (s[i] == '%' && s[i + 1] == '{') {
                                /* "%%{" is a literal '%' then '{': then the end is no macro */
                                size_t k = 0;
                                while (k < i && s[i - 1 - k] == '%')
                                        k++;
                                return k % 2 == 0;
                        }
                return false;
        }
        if (s[n - 1] == '.')
                n--;
        const char *dot = memrchr(s, '.', n);
        if (!dot || dot == s)
                return false;
        return toplabel_valid(dot + 1, n - (size_t) (dot + 1 - s));
}

static int parse_cidr(const char *s, size_t n, int max, int *ret) {
        unsigned v = 0;
        if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > (unsigned) max)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

/* [ "/" ip4 ] [ "//" ip6 ] at the end of s[0..*n): strips it, fills the lengths. */
static int split_dual_cidr(const char *s, size_t *n, bool ip4_allowed, bool ip6_allowed, int *c4, int *c6) {
        *c4 = *c6 = -1;
        size_t len = *n;
        /* the last "//" starts the ip6 length */
        for (size_t i = len; i >= 2; i--)
                if (s[i - 1] == '/' && s[i - 2] == '/') {
                        if (!ip6_allowed || parse_cidr(s + i, len - i, 128, c6) < 0)
                                return -EINVAL;
                        len = i - 2;
                        break;
                }
        const char *slash = memrchr(s, '/', len);
        if (slash) {
                size_t at = (size_t) (slash - s);
                if (!ip4_allowed || parse_cidr(slash + 1, len - at - 1, 32, c4) < 0)
                        return -EINVAL;
                len = at;
        }
        *n = len;
        return 0;
}

int spf_addr_from_string(const char *s, SpfAddr *ret) {
        SpfAddr a = {};
        if (inet_pton(AF_INET, s, a.a) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, a.a) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

bool spf_addr_in_network(const SpfAddr *ip, const SpfAddr *net, int prefix) {
        if (ip->family != net->family)
                return false;
        int bits = ip->family == AF_INET ? 32 : 128;
        if (prefix < 0 || prefix > bits)
                prefix = bits;
        size_t full = (size_t) prefix / 8;
        if (memcmp(ip->a, net->a, full) != 0)
                return false;
        if (prefix % 8 == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - prefix % 8));
        return (ip->a[full] & mask) == (net->a[full] & mask);
}

static int parse_term(SpfRecord *rec, const char *t, size_t n, char **ret_error) {
        SpfTerm term = { .cidr4 = -1, .cidr6 = -1, .qualifier = SPF_QUALIFIER_PASS };
        size_t name_len = 0;

        while (name_len < n && (is_alnum(t[name_len]) || strchr("-_.", t[name_len])))
                name_len++;

        /* modifier: name "=" macro-string */
        if (name_len > 0 && name_len < n && t[name_len] == '=' && is_alpha(t[0])) {
                const char *v = t + name_len + 1;
                size_t vn = n - name_len - 1;
                bool redirect = name_len == 8 && strncasecmp(t, "redirect", 8) == 0;
                bool exp = name_len == 3 && strncasecmp(t, "exp", 3) == 0;
                if (redirect || exp) {
                        char **slot = redirect ? &rec->redirect : &rec->exp;
                        if (*slot)
                                return record_error(ret_error, _("'%s' appears twice"), redirect ? "redirect" : "exp");
                        if (!domain_spec_valid(v, vn))
                                return record_error(ret_error, _("'%.*s': not a valid domain"), (int) n, t);
                        *slot = strndup(v, vn);
                        return *slot ? 0 : -ENOMEM;
                }
                if (!macro_string_valid(v, vn, false))
                        return record_error(ret_error, _("'%.*s': bad modifier value"), (int) n, t);
                rec->n_unknown_modifiers++;
                return 0;
        }

        size_t i = 0;
        switch (t[0]) {
        case '+': term.qualifier = SPF_QUALIFIER_PASS; i = 1; break;
        case '-': term.qualifier = SPF_QUALIFIER_FAIL; i = 1; break;
        case '~': term.qualifier = SPF_QUALIFIER_SOFTFAIL; i = 1; break;
        case '?': term.qualifier = SPF_QUALIFIER_NEUTRAL; i = 1; break;
        }
        term.explicit_qualifier = i == 1;
        size_t m = i;
        while (m < n && is_alnum(t[m]))
                m++;
        SpfMechanism mech = _SPF_MECHANISM_MAX;
        for (int k = 0; k < _SPF_MECHANISM_MAX; k++)
                if (strlen(mechanism_names[k]) == m - i && strncasecmp(t + i, mechanism_names[k], m - i) == 0)
                        mech = (SpfMechanism) k;
        if (mech == _SPF_MECHANISM_MAX)
                return record_error(ret_error, _("'%.*s': unknown mechanism"), (int) n, t);
        term.mechanism = mech;

        const char *arg = t + m;
        size_t an = n - m;
        bool colon = an > 0 && arg[0] == ':';
        switch (mech) {
        case SPF_ALL:
                if (an != 0)
                        return record_error(ret_error, _("'%.*s': 'all' takes no argument"), (int) n, t);
                break;
        case SPF_INCLUDE:
        case SPF_EXISTS:
                if (!colon || !domain_spec_valid(arg + 1, an - 1))
                        return record_error(ret_error, _("'%.*s': needs ':domain'"), (int) n, t);
                term.domain = strndup(arg + 1, an - 1);
                if (!term.domain)
                        return -ENOMEM;
                break;
        case SPF_A:
        case SPF_MX: {
                size_t len = an;
                if (split_dual_cidr(arg, &len, true, true, &term.cidr4, &term.cidr6) < 0)
                        return record_error(ret_error, _("'%.*s': bad prefix length"), (int) n, t);
                if (len > 0) {
                        if (arg[0] != ':' || !domain_spec_valid(arg + 1, len - 1))
                                return record_error(ret_error, _("'%.*s': bad domain"), (int) n, t);
                        term.domain = strndup(arg + 1, len - 1);
                        if (!term.domain)
                                return -ENOMEM;
                }
                break;
        }
        case SPF_PTR:
                if (an > 0) {
                        if (!colon || !domain_spec_valid(arg + 1, an - 1))
                                return record_error(ret_error, _("'%.*s': bad domain"), (int) n, t);
                        term.domain = strndup(arg + 1, an - 1);
                        if (!term.domain)
                                return -ENOMEM;
                }
                break;
        case SPF_IP4:
        case SPF_IP6: {
                bool v4 = mech == SPF_IP4;
                if (!colon)
                        return record_error(ret_error, _("'%.*s': needs ':address'"), (int) n, t);
                const char *a = arg + 1;
                size_t len = an - 1;
                const char *slash = memchr(a, '/', len);
                int *cidr = v4 ? &term.cidr4 : &term.cidr6;
                if (slash) {
                        if (parse_cidr(slash + 1, len - (size_t) (slash + 1 - a), v4 ? 32 : 128, cidr) < 0)
                                return record_error(ret_error, _("'%.*s': bad prefix length"), (int) n, t);
                        len = (size_t) (slash - a);
                }
                char buf[INET6_ADDRSTRLEN];
                if (len == 0 || len >= sizeof(buf))
                        return record_error(ret_error, _("'%.*s': bad address"), (int) n, t);
                memcpy(buf, a, len);
                buf[len] = 0;
                term.addr.family = v4 ? AF_INET : AF_INET6;
                if (inet_pton(term.addr.family, buf, term.addr.a) != 1)
                        return record_error(ret_error, _("'%.*s': bad %s address"), (int) n, t, v4 ? "IPv4" : "IPv6");
                break;
        }
        default:
                return -EINVAL;
        }

        if (rec->n_terms >= SPF_MAX_TERMS) {
                free(term.domain);
                return -E2BIG;
        }
        SpfTerm *nt = realloc(rec->terms, (rec->n_terms + 1) * sizeof(SpfTerm));
        if (!nt) {
                free(term.domain);
                return -ENOMEM;
        }
        rec->terms = nt;
        rec->terms[rec->n_terms++] = term;
        return 0;
}

int spf_parse(const char *text, size_t len, SpfRecord **ret, char **ret_error) {
        _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
        int r;

        if (len > SPF_MAX_RECORD)
                return -E2BIG;
        if (memchr(text, 0, len))
                return record_error(ret_error, _("the record contains a NUL byte"));
        if (!spf_is_record(text, len))
                return record_error(ret_error, _("the record does not start with 'v=spf1'"));
        rec = calloc(1, sizeof(SpfRecord));
        if (!rec)
                return -ENOMEM;

        for (size_t i = 6; i < len;) {
                if (text[i] != ' ')
                        return record_error(ret_error, _("unexpected character 0x%02x"), (unsigned char) text[i]);
                while (i < len && text[i] == ' ')
                        i++;
                if (i >= len)
                        break;
                size_t start = i;
                while (i < len && text[i] != ' ')
                        i++;
                r = parse_term(rec, text + start, i - start, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(rec);
        return 0;
}

/* --- macros (RFC 7208 7) --- */

typedef struct Buf {
        char *s;
        size_t n, cap;
} Buf;

static int buf_add(Buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > 8192)
                return -E2BIG;
        if (b->n + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->n + n + 64);
                char *p = realloc(b->s, cap);
                if (!p)
                        return -ENOMEM;
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = 0;
        return 0;
}

static void addr_to_macro(const SpfAddr *ip, char *out, size_t size, bool dotted_v6) {
        if (!ip) {
                snprintf(out, size, "%s", "");
                return;
        }
        if (ip->family == AF_INET) {
                inet_ntop(AF_INET, ip->a, out, (socklen_t) size);
                return;
        }
        if (!dotted_v6) {
                inet_ntop(AF_INET6, ip->a, out, (socklen_t) size);
                return;
        }
        /* %{i} of IPv6: dot-separated nibbles */
        size_t k = 0;
        for (int i = 0; i < 16 && k + 4 < size; i++) {
                k += (size_t) snprintf(out + k, size - k, "%x.%x%s", ip->a[i] >> 4, ip->a[i] & 15, i < 15 ? "." : "");
        }
}

static int expand_one(Buf *b, char letter, unsigned keep, bool reverse, const char *delims, const SpfMacroEnv *env) {
        char value[256];
        const char *sender = strempty(env->sender);
        const char *at = strrchr(sender, '@');

        switch (tolower((unsigned char) letter)) {
        case 's': snprintf(value, sizeof(value), "%s", sender); break;
        case 'l': snprintf(value, sizeof(value), "%.*s", at ? (int) (at - sender) : 10, at ? sender : "postmaster"); break;
        case 'o': snprintf(value, sizeof(value), "%s", at ? at + 1 : sender); break;
        case 'd': snprintf(value, sizeof(value), "%s", strempty(env->domain)); break;
        case 'i': addr_to_macro(env->ip, value, sizeof(value), true); break;
        case 'c': addr_to_macro(env->ip, value, sizeof(value), false); break;
        case 'p': snprintf(value, sizeof(value), "%s", "unknown"); break;
        case 'h': snprintf(value, sizeof(value), "%s", strempty(env->helo)); break;
        case 'v': snprintf(value, sizeof(value), "%s", env->ip && env->ip->family == AF_INET6 ? "ip6" : "in-addr"); break;
        case 'r': snprintf(value, sizeof(value), "%s", "unknown"); break;
        case 't': snprintf(value, sizeof(value), "%s", "0"); break;
        default: return -EINVAL;
        }

        /* split on the delimiters, keep the rightmost `keep` parts, optionally reversed */
        const char *parts[128];
        size_t lens[128], n = 0;
        const char *p = value;
        for (;;) {
                size_t l = strcspn(p, delims);
                if (n == ELEMENTSOF(parts))
                        return -E2BIG;
                parts[n] = p;
                lens[n++] = l;
                if (!p[l])
                        break;
                p += l + 1;
        }
        if (reverse)
                for (size_t i = 0; i < n / 2; i++) {
                        const char *tp = parts[i];
                        size_t tl = lens[i];
                        parts[i] = parts[n - 1 - i];
                        lens[i] = lens[n - 1 - i];
                        parts[n - 1 - i] = tp;
                        lens[n - 1 - i] = tl;
                }
        size_t first = keep > 0 && keep < n ? n - keep : 0;
        bool upper = isupper((unsigned char) letter);
        for (size_t i = first; i < n; i++) {
                int r;
                if (i > first && (r = buf_add(b, ".", 1)) < 0)
                        return r;
                if (!upper) {
                        if ((r = buf_add(b, parts[i], lens[i])) < 0)
                                return r;
                        continue;
                }
                for (size_t k = 0; k < lens[i]; k++) {
                        unsigned char c = (unsigned char) parts[i][k];
                        char esc[4];
                        if (is_alnum((char) c) || strchr("-._~", c))
                                r = buf_add(b, (const char *) &c, 1);
                        else {
                                snprintf(esc, sizeof(esc), "%%%02X", c);
                                r = buf_add(b, esc, 3);
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int spf_expand(const char *spec, const SpfMacroEnv *env, bool exp, char **ret) {
        Buf b = {};
        size_t n = strlen(spec);
        int r = 0;

        if (!macro_string_valid(spec, n, exp))
                return -EINVAL;
        for (size_t i = 0; i < n && r >= 0;) {
                if (spec[i] != '%') {
                        r = buf_add(&b, spec + i, 1);
                        i++;
                        continue;
                }
                char m = spec[i + 1];
                if (m == '%' || m == '_' || m == '-') {
                        r = buf_add(&b, m == '%' ? "%" : m == '_' ? " " : "%20", m == '-' ? 3 : 1);
                        i += 2;
                        continue;
                }
                char letter = spec[i + 2];
                size_t k = i + 3;
                unsigned keep = 0;
                while (is_digit(spec[k])) {
                        keep = keep * 10 + (unsigned) (spec[k] - '0');
                        if (keep > 1000)
                                keep = 1000;
                        k++;
                }
                bool reverse = spec[k] == 'r' || spec[k] == 'R';
                if (reverse)
                        k++;
                char delims[8] = "";
                size_t nd = 0;
                while (spec[k] != '}') {
                        if (nd < sizeof(delims) - 1 && !memchr(delims, spec[k], nd))
                                delims[nd++] = spec[k];
                        k++;
                }
                if (nd == 0)
                        delims[nd++] = '.';
                delims[nd] = 0;
                if (keep == 0 && k > i + 3 && is_digit(spec[i + 3])) {
                        r = -EINVAL; /* RFC 7208 7.1: zero digits is a syntax error */
                        break;
                }
                r = expand_one(&b, letter, keep, reverse, delims, env);
                i = k + 1;
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        if (!b.s && !(b.s = strdup("")))
                return -ENOMEM;
        if (!exp && b.n > 253) {
                /* cut whole labels from the left until it fits */
                char *p = b.s;
                while (strlen(p) > 253 && strchr(p, '.'))
                        p = strchr(p, '.') + 1;
                memmove(b.s, p, strlen(p) + 1);
        }
        *ret = b.s;
        return 0;
}

/* --- fetching --- */

int spf_fetch(const SpfDns *dns, const char *domain, SpfRecord **ret_record, char **ret_text, bool *ret_void,
              char **ret_error) {
        _cleanup_strv_free_ char **txt = NULL;
        const char *found = NULL;
        int r;

        if (ret_void)
                *ret_void = false;
        r = dns->txt(dns->userdata, domain, &txt);
        if (r < 0)
                return r;
        if (r == 0 && ret_void)
                *ret_void = true;
        for (char **t = txt; t && *t; t++)
                if (spf_is_record(*t, strlen(*t))) {
                        if (found)
                                return record_error(ret_error, _("%s has more than one SPF record"), domain) == -EINVAL
                                               ? -EEXIST : -ENOMEM;
                        found = *t;
                }
        if (!found)
                return 0;
        r = spf_parse(found, strlen(found), ret_record, ret_error);
        if (r == -E2BIG)
                (void) record_error(ret_error, _("the SPF record of %s is too long (more than %d bytes or %d terms)"), domain,
                              SPF_MAX_RECORD, SPF_MAX_TERMS);
        if (r < 0)
                return r == -E2BIG ? -EINVAL : r;
        if (ret_text) {
                *ret_text = strdup(found);
                if (!*ret_text) {
                        *ret_record = spf_record_free(*ret_record);
                        return -ENOMEM;
                }
        }
        return 1;
}

/* --- check_host() --- */

typedef struct Eval {
        const SpfDns *dns;
        const SpfAddr *ip;
        const char *sender;
        const char *helo;
        unsigned lookups, void_lookups;
        char *reason;
        bool oom;
} Eval;

static SpfResult fail_with(Eval *e, SpfResult res, const char *fmt, ...) _printf_(3, 4);
static SpfResult fail_with(Eval *e, SpfResult res, const char *fmt, ...) {
        va_list ap;
        free(e->reason);
        e->reason = NULL;
        va_start(ap, fmt);
        if (vasprintf(&e->reason, fmt, ap) < 0) {
                e->reason = NULL;
                e->oom = true;
        }
        va_end(ap);
        return res;
}

static SpfResult qualifier_result(SpfQualifier q) {
        switch (q) {
        case SPF_QUALIFIER_FAIL: return SPF_RESULT_FAIL;
        case SPF_QUALIFIER_SOFTFAIL: return SPF_RESULT_SOFTFAIL;
        case SPF_QUALIFIER_NEUTRAL: return SPF_RESULT_NEUTRAL;
        default: return SPF_RESULT_PASS;
        }
}

/* Counts one lookup; false when the limit is passed (permerror). */
static bool count_lookup(Eval *e) {
        return ++e->lookups <= SPF_MAX_LOOKUPS;
}

/* Counts a void answer; false when the limit is passed. */
static bool count_void(Eval *e, int r) {
        return r != 0 || ++e->void_lookups <= SPF_MAX_VOID_LOOKUPS;
}

static SpfResult check_host(Eval *e, const char *domain, unsigned depth);

/* Does any address of name match ip with the prefix lengths? 1 yes, 0 no, <0 DNS error. */
static int addrs_match(Eval *e, const char *name, int c4, int c6, bool *ret_void) {
        _cleanup_free_ SpfAddr *addrs = NULL;
        int r = e->dns->addrs(e->dns->userdata, name, e->ip->family, &addrs);
        if (r < 0)
                return r;
        if (ret_void)
                *ret_void = r == 0;
        for (int i = 0; i < r; i++)
                if (spf_addr_in_network(e->ip, &addrs[i], e->ip->family == AF_INET ? c4 : c6))
                        return 1;
        return 0;
}

/* 1 match, 0 no match, or a final result through *ret_result (returns -1). */
static int match_term(Eval *e, const SpfTerm *t, const char *domain, unsigned depth, SpfResult *ret_result) {
        _cleanup_free_ char *target = NULL;
        SpfMacroEnv env = { .sender = e->sender, .domain = domain, .helo = e->helo, .ip = e->ip };
        int r;

        if (spf_mechanism_costs_lookup(t->mechanism) && !count_lookup(e)) {
                *ret_result = fail_with(e, SPF_RESULT_PERMERROR, _("more than %d DNS lookups (at %s of %s)"),
                                        SPF_MAX_LOOKUPS, spf_mechanism_to_string(t->mechanism), domain);
                return -1;
        }
        if (t->domain) {
                r = spf_expand(t->domain, &env, false, &target);
                if (r < 0) {
                        *ret_result = fail_with(e, SPF_RESULT_PERMERROR, _("bad macro in '%s'"), t->domain);
                        return -1;
                }
        } else if (!(target = strdup(domain))) {
                e->oom = true;
                return 0;
        }

        switch (t->mechanism) {
        case SPF_ALL:
                return 1;
        case SPF_IP4:
        case SPF_IP6:
                return spf_addr_in_network(e->ip, &t->addr, t->mechanism == SPF_IP4 ? t->cidr4 : t->cidr6);
        case SPF_INCLUDE: {
                SpfResult sub = check_host(e, target, depth + 1);
                switch (sub) {
                case SPF_RESULT_PASS:
                        return 1;
                case SPF_RESULT_FAIL:
                case SPF_RESULT_SOFTFAIL:
                case SPF_RESULT_NEUTRAL:
                        return 0;
                case SPF_RESULT_NONE:
                        *ret_result = fail_with(e, SPF_RESULT_PERMERROR, _("include:%s has no SPF record"), target);
                        return -1;
                default:
                        *ret_result = sub;
                        return -1;
                }
        }
        case SPF_A: {
                bool v = false;
                r = addrs_match(e, target, t->cidr4, t->cidr6, &v);
                if (r < 0)
                        goto dns_error;
                if (!count_void(e, v ? 0 : 1))
                        goto too_many_void;
                return r;
        }
        case SPF_MX: {
                _cleanup_strv_free_ char **mx = NULL;
                r = e->dns->mx(e->dns->userdata, target, &mx);
                if (r < 0)
                        goto dns_error;
                if (!count_void(e, r))
                        goto too_many_void;
                if (r > 10) {
                        *ret_result = fail_with(e, SPF_RESULT_PERMERROR, _("mx of %s has more than 10 names"), target);
                        return -1;
                }
                for (char **m = mx; m && *m; m++) {
                        r = addrs_match(e, *m, t->cidr4, t->cidr6, NULL);
                        if (r < 0)
                                goto dns_error;
                        if (r > 0)
                                return 1;
                }
                return 0;
        }
        case SPF_PTR: {
                _cleanup_strv_free_ char **names = NULL;
                r = e->dns->ptr(e->dns->userdata, e->ip, &names);
                if (r < 0)
                        return 0; /* RFC 7208 5.5: a failed PTR lookup is no match */
                size_t tl = strlen(target);
                for (int i = 0; names && names[i] && i < 10; i++) {
                        size_t nl = strlen(names[i]);
                        bool sub = nl == tl ? strcasecmp(names[i], target) == 0
                                            : nl > tl && names[i][nl - tl - 1] == '.' &&
                                                      strcasecmp(names[i] + nl - tl, target) == 0;
                        if (!sub)
                                continue;
                        if (addrs_match(e, names[i], -1, -1, NULL) > 0)
                                return 1;
                }
                return 0;
        }
        case SPF_EXISTS: {
                _cleanup_free_ SpfAddr *addrs = NULL;
                r = e->dns->addrs(e->dns->userdata, target, AF_INET, &addrs);
                if (r < 0)
                        goto dns_error;
                if (!count_void(e, r))
                        goto too_many_void;
                return r > 0;
        }
        default:
                return 0;
        }

dns_error:
        *ret_result = fail_with(e, SPF_RESULT_TEMPERROR, _("DNS lookup for %s failed: %s"), target, strerror(-r));
        return -1;
too_many_void:
        *ret_result = fail_with(e, SPF_RESULT_PERMERROR, _("more than %d void lookups (at %s)"), SPF_MAX_VOID_LOOKUPS,
                                target);
        return -1;
}

static SpfResult check_host(Eval *e, const char *domain, unsigned depth) {
        _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        bool is_void;
        int r;

        if (depth > SPF_MAX_DEPTH)
                return fail_with(e, SPF_RESULT_PERMERROR, _("include/redirect nested too deeply at %s"), domain);
        r = spf_fetch(e->dns, domain, &rec, NULL, &is_void, &error);
        if (r == -ENOMEM) {
                e->oom = true;
                return SPF_RESULT_TEMPERROR;
        }
        if (r == -EEXIST || r == -EINVAL)
                return fail_with(e, SPF_RESULT_PERMERROR, _("%s: %s"), domain, error ? error : "bad record");
        if (r < 0)
                return fail_with(e, SPF_RESULT_TEMPERROR, _("TXT lookup for %s failed: %s"), domain, strerror(-r));
        if (r == 0) {
                if (depth > 0 && !count_void(e, is_void ? 0 : 1))
                        return fail_with(e, SPF_RESULT_PERMERROR, _("more than %d void lookups (at %s)"),
                                         SPF_MAX_VOID_LOOKUPS, domain);
                return fail_with(e, SPF_RESULT_NONE, _("%s has no SPF record"), domain);
        }

        for (size_t i = 0; i < rec->n_terms; i++) {
                SpfResult res = SPF_RESULT_PERMERROR;
                r = match_term(e, &rec->terms[i], domain, depth, &res);
                if (r < 0)
                        return res;
                if (r > 0) {
                        const SpfTerm *t = &rec->terms[i];
                        (void) fail_with(e, qualifier_result(t->qualifier), "%s matched %s%s%s%s", domain,
                                         t->explicit_qualifier ? (const char[]) { "+-~?"[t->qualifier], 0 } : "",
                                         spf_mechanism_to_string(t->mechanism), t->domain ? ":" : "",
                                         strempty(t->domain));
                        return qualifier_result(t->qualifier);
                }
        }
        if (rec->redirect) {
                _cleanup_free_ char *target = NULL;
                SpfMacroEnv env = { .sender = e->sender, .domain = domain, .helo = e->helo, .ip = e->ip };
                if (!count_lookup(e))
                        return fail_with(e, SPF_RESULT_PERMERROR, _("more than %d DNS lookups (at redirect of %s)"),
                                         SPF_MAX_LOOKUPS, domain);
                if (spf_expand(rec->redirect, &env, false, &target) < 0)
                        return fail_with(e, SPF_RESULT_PERMERROR, _("bad macro in redirect=%s"), rec->redirect);
                SpfResult res = check_host(e, target, depth + 1);
                if (res == SPF_RESULT_NONE)
                        return fail_with(e, SPF_RESULT_PERMERROR, _("redirect=%s has no SPF record"), target);
                return res;
        }
        return fail_with(e, SPF_RESULT_NEUTRAL, _("no term of %s matched (default ?all)"), domain);
}

int spf_check_host(const SpfDns *dns, const SpfAddr *ip, const char *domain, const char *sender, const char *helo,
                   SpfEvaluation *ret) {
        Eval e = { .dns = dns, .ip = ip, .sender = sender, .helo = helo };
        SpfResult res = check_host(&e, domain, 0);
        *ret = (SpfEvaluation) {
                .result = res,
                .lookups = e.lookups,
                .void_lookups = e.void_lookups,
                .reason = e.reason,
        };
        return e.oom ? -ENOMEM : 0;
}

void spf_evaluation_done(SpfEvaluation *e) {
        free(e->reason);
        e->reason = NULL;
}

/* --- static walk --- */

typedef struct Walk {
        const SpfDns *dns;
        SpfWalk *w;
        char *visited[64];
        size_t n_visited;
        Buf trace;
        bool oom;
} Walk;

static void walk_error(Walk *k, const char *fmt, ...) _printf_(2, 3);
static void walk_error(Walk *k, const char *fmt, ...) {
        va_list ap;
        if (k->w->error)
                return;
        va_start(ap, fmt);
        if (vasprintf(&k->w->error, fmt, ap) < 0) {
                k->w->error = NULL;
                k->oom = true;
        }
        va_end(ap);
}

static void walk_trace(Walk *k, unsigned depth, const char *fmt, ...) _printf_(3, 4);
static void walk_trace(Walk *k, unsigned depth, const char *fmt, ...) {
        char line[512];
        va_list ap;
        int n = snprintf(line, sizeof(line), "%*s", (int) MIN(depth * 2, 40u), "");
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
        va_end(ap);
        if (k->trace.n < 4096) {
                if (k->trace.n > 0)
                        (void) buf_add(&k->trace, "\n", 1);
                (void) buf_add(&k->trace, line, strlen(line));
        }
}

static bool has_macro(const char *s) {
        return s && strchr(s, '%');
}

static void walk_domain(Walk *k, const char *domain, unsigned depth, bool top);

static void walk_record(Walk *k, const SpfRecord *rec, const char *domain, unsigned depth, bool top) {
        SpfWalk *w = k->w;
        bool has_all = false;
        int r;

        for (size_t i = 0; i < rec->n_terms; i++) {
                const SpfTerm *t = &rec->terms[i];
                if (t->mechanism == SPF_ALL) {
                        has_all = true;
                        if (top && t->qualifier == SPF_QUALIFIER_PASS)
                                w->plus_all = true;
                }
                if (t->mechanism == SPF_PTR)
                        w->uses_ptr = true;
                if (!spf_mechanism_costs_lookup(t->mechanism))
                        continue;
                w->lookups++;
                if (has_macro(t->domain))
                        continue; /* depends on the sender: counted, not followed */
                const char *target = t->domain ? t->domain : domain;
                switch (t->mechanism) {
                case SPF_INCLUDE:
                        walk_domain(k, target, depth + 1, false);
                        break;
                case SPF_A: {
                        _cleanup_free_ SpfAddr *a4 = NULL, *a6 = NULL;
                        r = k->dns->addrs(k->dns->userdata, target, AF_INET, &a4);
                        int r6 = k->dns->addrs(k->dns->userdata, target, AF_INET6, &a6);
                        if (r < 0 || r6 < 0)
                                w->temporary = true;
                        else if (r == 0 && r6 == 0) {
                                w->void_lookups++;
                                walk_trace(k, depth + 1, _("a:%s: no address (void lookup)"), target);
                        }
                        break;
                }
                case SPF_MX: {
                        _cleanup_strv_free_ char **mx = NULL;
                        r = k->dns->mx(k->dns->userdata, target, &mx);
                        if (r < 0)
                                w->temporary = true;
                        else if (r == 0) {
                                w->void_lookups++;
                                walk_trace(k, depth + 1, _("mx:%s: no MX (void lookup)"), target);
                        } else if (r > 10)
                                walk_error(k, _("mx:%s has %d names, more than 10"), target, r);
                        break;
                }
                case SPF_EXISTS: {
                        _cleanup_free_ SpfAddr *a = NULL;
                        r = k->dns->addrs(k->dns->userdata, target, AF_INET, &a);
                        if (r < 0)
                                w->temporary = true;
                        else if (r == 0)
                                w->void_lookups++;
                        break;
                }
                default:
                        break;
                }
        }
        if (top)
                w->has_all = has_all || rec->redirect;
        /* RFC 7208 6.1: redirect is ignored when the record has an all mechanism. */
        if (rec->redirect && !has_all) {
                w->lookups++;
                if (!has_macro(rec->redirect))
                        walk_domain(k, rec->redirect, depth + 1, top);
        }
}

static void walk_domain(Walk *k, const char *domain, unsigned depth, bool top) {
        _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        bool is_void = false;
        int r;

        k->w->max_depth = MAX(k->w->max_depth, depth);
        if (depth > SPF_MAX_DEPTH) {
                walk_error(k, _("include/redirect nested more than %d deep at %s"), SPF_MAX_DEPTH, domain);
                return;
        }
        for (size_t i = 0; i < k->n_visited; i++)
                if (strcasecmp(k->visited[i], domain) == 0) {
                        walk_error(k, _("%s is included twice (a loop or a duplicate)"), domain);
                        return;
                }
        if (k->n_visited < ELEMENTSOF(k->visited)) {
                k->visited[k->n_visited] = strdup(domain);
                if (k->visited[k->n_visited])
                        k->n_visited++;
        }

        r = spf_fetch(k->dns, domain, &rec, NULL, &is_void, &error);
        if (r == -ENOMEM) {
                k->oom = true;
                return;
        }
        if (r == -EEXIST || r == -EINVAL) {
                walk_trace(k, depth, _("%s: %s"), domain, error ? error : "bad record");
                walk_error(k, _("%s"), error ? error : "bad record");
                return;
        }
        if (r < 0) {
                k->w->temporary = true;
                walk_trace(k, depth, _("%s: lookup failed (%s)"), domain, strerror(-r));
                return;
        }
        if (r == 0) {
                if (depth > 0) {
                        if (is_void)
                                k->w->void_lookups++;
                        walk_error(k, _("%s (reached through include/redirect) has no SPF record"), domain);
                }
                walk_trace(k, depth, _("%s: no SPF record%s"), domain, is_void ? " (void lookup)" : "");
                return;
        }
        unsigned own = rec->redirect ? 1 : 0;
        for (size_t i = 0; i < rec->n_terms; i++)
                own += spf_mechanism_costs_lookup(rec->terms[i].mechanism);
        walk_trace(k, depth, _("%s: %u lookup term(s)"), domain, own);
        walk_record(k, rec, domain, depth, top);
}

int spf_walk(const SpfDns *dns, const char *domain, SpfWalk *ret) {
        Walk k = { .dns = dns, .w = ret };
        *ret = (SpfWalk) {};
        walk_domain(&k, domain, 0, true);
        for (size_t i = 0; i < k.n_visited; i++)
                free(k.visited[i]);
        ret->trace = k.trace.s;
        return k.oom ? -ENOMEM : 0;
}

void spf_walk_done(SpfWalk *w) {
        free(w->error);
        free(w->trace);
        *w = (SpfWalk) {};
}
