/* SPF: term grammar, macros, check_host() and the static lookup count, on a fake DNS. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "spf.h"

static void test_parse(void **state) {
        static const struct {
                const char *text;
                int ret;
                size_t n_terms;
        } cases[] = {
                { "v=spf1", 0, 0 },
                { "v=spf1 -all", 0, 1 },
                { "V=SPF1 MX -ALL", 0, 2 },
                { "v=spf1  a  mx  ", 0, 2 },
                { "v=spf1 +a ~mx ?ptr -all", 0, 4 },
                { "v=spf1 a:mail.example.com/24//64 mx/30 -all", 0, 3 },
                { "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", 0, 3 },
                { "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 ~all", 0, 3 },
                { "v=spf1 include:_spf.example.com -all", 0, 2 },
                { "v=spf1 exists:%{i}._spf.%{d} -all", 0, 2 },
                { "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", 0, 2 },
                { "v=spf1 redirect=_spf.example.com", 0, 0 },
                { "v=spf1 mx exp=explain._spf.%{d} -all", 0, 2 },
                { "v=spf1 foo=bar -all", 0, 1 },               /* unknown modifier: ignored */
                { "v=spf1 a:example.com.", 0, 1 },             /* trailing dot */
                { "v=spf10", -EINVAL, 0 },
                { "spf1 -all", -EINVAL, 0 },
                { "v=spf1 -all foo", -EINVAL, 0 },             /* unknown mechanism */
                { "v=spf1 ip4:192.0.2.0/33", -EINVAL, 0 },
                { "v=spf1 ip4:192.0.2.256", -EINVAL, 0 },
                { "v=spf1 ip4:2001:db8::1", -EINVAL, 0 },
                { "v=spf1 ip6:2001:db8::/129", -EINVAL, 0 },
                { "v=spf1 ip4:192.0.2.0/024", -EINVAL, 0 },    /* leading zero */
                { "v=spf1 include", -EINVAL, 0 },
                { "v=spf1 include:", -EINVAL, 0 },
                { "v=spf1 include:localhost", -EINVAL, 0 },    /* domain-end needs a dot */
                { "v=spf1 include:example.123", -EINVAL, 0 },  /* numeric top label */
                { "v=spf1 all:example.com", -EINVAL, 0 },
                { "v=spf1 redirect=a.example redirect=b.example", -EINVAL, 0 },
                { "v=spf1 exp=a.example exp=b.example", -EINVAL, 0 },
                { "v=spf1 exists:%{x}.example.com", -EINVAL, 0 },  /* bad macro letter */
                { "v=spf1 exists:%{c}.example.com", -EINVAL, 0 },  /* c only in exp */
                { "v=spf1 exists:%{i.example.com", -EINVAL, 0 },
                { "v=spf1 a:exa\001mple.com", -EINVAL, 0 },
                { "v=spf1 *all", -EINVAL, 0 },
                { "v=spf1\t-all", -EINVAL, 0 },
                { "v=spf1 mx//129", -EINVAL, 0 },
                { "v=spf1 mx:/24", -EINVAL, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
                _cleanup_free_ char *err = NULL;
                int r = spf_parse(cases[i].text, strlen(cases[i].text), &rec, &err);
                if (r != cases[i].ret)
                        fail_msg("case %zu '%s': %d (%s), want %d", i, cases[i].text, r, strempty(err), cases[i].ret);
                if (r == 0 && rec->n_terms != cases[i].n_terms)
                        fail_msg("case %zu: %zu terms, want %zu", i, rec->n_terms, cases[i].n_terms);
                if (r < 0)
                        assert_non_null(err);
        }
}

static void test_parse_fields(void **state) {
        _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
        const char *t = "v=spf1 ~a:mail.example.com/24//64 ip6:2001:db8::/32 redirect=_spf.example.com";
        assert_int_equal(spf_parse(t, strlen(t), &rec, NULL), 0);
        assert_int_equal(rec->n_terms, 2);
        assert_int_equal(rec->terms[0].mechanism, SPF_A);
        assert_int_equal(rec->terms[0].qualifier, SPF_QUALIFIER_SOFTFAIL);
        assert_string_equal(rec->terms[0].domain, "mail.example.com");
        assert_int_equal(rec->terms[0].cidr4, 24);
        assert_int_equal(rec->terms[0].cidr6, 64);
        assert_int_equal(rec->terms[1].cidr6, 32);
        assert_string_equal(rec->redirect, "_spf.example.com");
}

/* RFC 7208 7.4 examples. */
static void test_macros(void **state) {
        SpfAddr v4, v6;
        assert_int_equal(spf_addr_from_string("192.0.2.3", &v4), 0);
        assert_int_equal(spf_addr_from_string("2001:db8::cb01", &v6), 0);
        SpfMacroEnv env = { .sender = "strong-bad@email.example.com", .domain = "email.example.com", .helo = "mx.example.org", .ip = &v4 };
        static const struct {
                const char *spec, *want;
                bool v6;
        } cases[] = {
                { "%{s}", "strong-bad@email.example.com", false },
                { "%{o}", "email.example.com", false },
                { "%{d}", "email.example.com", false },
                { "%{d4}", "email.example.com", false },
                { "%{d3}", "email.example.com", false },
                { "%{d2}", "example.com", false },
                { "%{d1}", "com", false },
                { "%{dr}", "com.example.email", false },
                { "%{d2r}", "example.email", false },
                { "%{l}", "strong-bad", false },
                { "%{l-}", "strong.bad", false },
                { "%{lr}", "strong-bad", false },
                { "%{lr-}", "bad.strong", false },
                { "%{l1r-}", "strong", false },
                { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", false },
                { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", false },
                { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com", false },
                { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net", false },
                { "%{ir}.%{v}._spf.%{d2}",
                  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", true },
                { "%%%_%-", "% %20", false },
                { "%{H}", "mx.example.org", false },
                { "%{S}", "strong-bad%40email.example.com", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                env.ip = cases[i].v6 ? &v6 : &v4;
                assert_int_equal(spf_expand(cases[i].spec, &env, false, &out), 0);
                if (!streq(out, cases[i].want))
                        fail_msg("case %zu '%s': '%s', want '%s'", i, cases[i].spec, out, cases[i].want);
        }
        char *out = NULL;
        assert_int_equal(spf_expand("%{d0}", &env, false, &out), -EINVAL);
        assert_int_equal(spf_expand("%{c}", &env, false, &out), -EINVAL);
        assert_int_equal(spf_expand("%{c}", &env, true, &out), 0);
        assert_string_equal(out, "192.0.2.3");
        free(out);
}

/* --- fake DNS --- */

typedef struct Rr {
        const char *name, *type, *data;
} Rr;

static const Rr *zone;

static int fake_txt(void *u, const char *name, char ***ret) {
        char **v = calloc(8, sizeof(char *));
        int n = 0;
        for (const Rr *r = zone; r->name; r++) {
                if (strcasecmp(r->name, name) != 0)
                        continue;
                if (streq(r->type, "FAIL")) {
                        free(v);
                        return -ETIMEDOUT;
                }
                if (streq(r->type, "TXT"))
                        v[n++] = strdup(r->data);
        }
        *ret = v;
        return n;
}

static int fake_addrs(void *u, const char *name, int family, SpfAddr **ret) {
        SpfAddr *a = calloc(8, sizeof(SpfAddr));
        int n = 0;
        for (const Rr *r = zone; r->name; r++)
                if (strcasecmp(r->name, name) == 0 && streq(r->type, family == AF_INET ? "A" : "AAAA"))
                        assert_int_equal(spf_addr_from_string(r->data, &a[n++]), 0);
        *ret = a;
        return n;
}

static int fake_mx(void *u, const char *name, char ***ret) {
        char **v = calloc(16, sizeof(char *));
        int n = 0;
        for (const Rr *r = zone; r->name; r++)
                if (strcasecmp(r->name, name) == 0 && streq(r->type, "MX"))
                        v[n++] = strdup(r->data);
        *ret = v;
        return n;
}

static int fake_ptr(void *u, const SpfAddr *a, char ***ret) {
        char buf[64];
        char **v = calloc(4, sizeof(char *));
        int n = 0;
        inet_ntop(a->family, a->a, buf, sizeof(buf));
        for (const Rr *r = zone; r->name; r++)
                if (streq(r->name, buf) && streq(r->type, "PTR"))
                        v[n++] = strdup(r->data);
        *ret = v;
        return n;
}

static const SpfDns fake = { fake_txt, fake_addrs, fake_mx, fake_ptr, NULL };

static const Rr zone_main[] = {
        { "example.test", "TXT", "v=spf1 mx a:out.example.test ip4:198.51.100.0/24 include:_spf.partner.test -all" },
        { "example.test", "TXT", "some-verification=abc" },
        { "example.test", "MX", "mail.example.test" },
        { "mail.example.test", "A", "192.0.2.25" },
        { "mail.example.test", "AAAA", "2001:db8::25" },
        { "out.example.test", "A", "192.0.2.26" },
        { "_spf.partner.test", "TXT", "v=spf1 ip4:203.0.113.0/25 ~all" },
        { "soft.test", "TXT", "v=spf1 mx ~all" },
        { "soft.test", "MX", "mail.example.test" },
        { "redir.test", "TXT", "v=spf1 redirect=example.test" },
        { "plus.test", "TXT", "v=spf1 +all" },
        { "two.test", "TXT", "v=spf1 -all" },
        { "two.test", "TXT", "v=spf1 mx -all" },
        { "tmp.test", "FAIL", "" },
        { "usestmp.test", "TXT", "v=spf1 include:tmp.test -all" },
        { "exists.test", "TXT", "v=spf1 exists:%{ir}.list.exists.test -all" },
        { "25.2.0.192.list.exists.test", "A", "127.0.0.2" },
        { "ptr.test", "TXT", "v=spf1 ptr -all" },
        { "192.0.2.25", "PTR", "mail.ptr.test" },
        { "mail.ptr.test", "A", "192.0.2.25" },
        /* 11 lookups through nested includes */
        { "deep.test", "TXT", "v=spf1 include:l1.deep.test a mx -all" },
        { "deep.test", "A", "192.0.2.1" },
        { "deep.test", "MX", "mail.example.test" },
        { "l1.deep.test", "TXT", "v=spf1 include:l2.deep.test a:mail.example.test a:out.example.test ~all" },
        { "l2.deep.test", "TXT", "v=spf1 include:l3.deep.test a:mail.example.test a:out.example.test ~all" },
        { "l3.deep.test", "TXT", "v=spf1 a:mail.example.test a:out.example.test ip4:192.0.2.99 ~all" },
        /* void lookups */
        { "void.test", "TXT", "v=spf1 a:none1.void.test a:none2.void.test mx:none3.void.test ip4:192.0.2.25 -all" },
        { "loop.test", "TXT", "v=spf1 include:loop2.test -all" },
        { "loop2.test", "TXT", "v=spf1 include:loop.test -all" },
        { "noinc.test", "TXT", "v=spf1 include:nothing.test -all" },
        {}
};

static void test_check_host(void **state) {
        static const struct {
                const char *domain, *ip;
                SpfResult want;
        } cases[] = {
                { "example.test", "192.0.2.25", SPF_RESULT_PASS },
                { "example.test", "2001:db8::25", SPF_RESULT_PASS },
                { "example.test", "192.0.2.26", SPF_RESULT_PASS },
                { "example.test", "198.51.100.7", SPF_RESULT_PASS },
                { "example.test", "203.0.113.5", SPF_RESULT_PASS },    /* through include */
                { "example.test", "203.0.113.200", SPF_RESULT_FAIL },  /* include ~all: no match, then -all */
                { "example.test", "192.0.2.99", SPF_RESULT_FAIL },
                { "soft.test", "192.0.2.99", SPF_RESULT_SOFTFAIL },
                { "redir.test", "192.0.2.25", SPF_RESULT_PASS },
                { "redir.test", "192.0.2.99", SPF_RESULT_FAIL },
                { "plus.test", "192.0.2.99", SPF_RESULT_PASS },
                { "two.test", "192.0.2.25", SPF_RESULT_PERMERROR },
                { "nothing.test", "192.0.2.25", SPF_RESULT_NONE },
                { "usestmp.test", "192.0.2.25", SPF_RESULT_TEMPERROR },
                { "exists.test", "192.0.2.25", SPF_RESULT_PASS },
                { "exists.test", "192.0.2.26", SPF_RESULT_FAIL },
                { "ptr.test", "192.0.2.25", SPF_RESULT_PASS },
                { "ptr.test", "192.0.2.26", SPF_RESULT_FAIL },
                { "deep.test", "192.0.2.200", SPF_RESULT_PERMERROR },  /* the 11th lookup (mx) is reached */
                { "void.test", "192.0.2.25", SPF_RESULT_PERMERROR },   /* third void lookup */
                { "loop.test", "192.0.2.25", SPF_RESULT_PERMERROR },
                { "noinc.test", "192.0.2.25", SPF_RESULT_PERMERROR },
        };
        zone = zone_main;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SpfAddr ip;
                SpfEvaluation e;
                assert_int_equal(spf_addr_from_string(cases[i].ip, &ip), 0);
                assert_int_equal(spf_check_host(&fake, &ip, cases[i].domain, "postmaster@x.test", "helo.test", &e), 0);
                if (e.result != cases[i].want)
                        fail_msg("case %zu %s %s: %s (%s), want %s", i, cases[i].domain, cases[i].ip,
                                 spf_result_to_string(e.result), strempty(e.reason), spf_result_to_string(cases[i].want));
                spf_evaluation_done(&e);
        }
}

static void test_walk(void **state) {
        static const struct {
                const char *domain;
                unsigned lookups, voids;
                bool plus_all, error;
        } cases[] = {
                { "example.test", 3, 0, false, false },
                { "redir.test", 4, 0, false, false },
                { "plus.test", 0, 0, true, false },
                { "deep.test", 11, 0, false, false },
                { "void.test", 3, 3, false, false },
                { "loop.test", 2, 0, false, true },
                { "noinc.test", 1, 1, false, true },
                { "two.test", 0, 0, false, true },
                { "ptr.test", 1, 0, false, false },
        };
        zone = zone_main;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SpfWalk w;
                assert_int_equal(spf_walk(&fake, cases[i].domain, &w), 0);
                if (w.lookups != cases[i].lookups || w.void_lookups != cases[i].voids ||
                    w.plus_all != cases[i].plus_all || !!w.error != cases[i].error)
                        fail_msg("case %zu %s: lookups %u voids %u plus_all %d error %s\n%s", i, cases[i].domain,
                                 w.lookups, w.void_lookups, w.plus_all, strempty(w.error), strempty(w.trace));
                spf_walk_done(&w);
        }
}

static void test_network(void **state) {
        SpfAddr ip, net;
        assert_int_equal(spf_addr_from_string("192.0.2.130", &ip), 0);
        assert_int_equal(spf_addr_from_string("192.0.2.128", &net), 0);
        assert_true(spf_addr_in_network(&ip, &net, 25));
        assert_false(spf_addr_in_network(&ip, &net, 32));
        assert_true(spf_addr_in_network(&ip, &net, 0));
        assert_int_equal(spf_addr_from_string("2001:db8::1", &net), 0);
        assert_false(spf_addr_in_network(&ip, &net, 0));
        assert_int_equal(spf_addr_from_string("nonsense", &ip), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_fields),
                cmocka_unit_test(test_macros),
                cmocka_unit_test(test_check_host),
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_network),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
