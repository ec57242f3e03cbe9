/* DMARC, DKIM key and MTA-STS / TLS-RPT parsers, and the tag-list grammar under them. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim.h"
#include "dns-records.h"
#include "dmarc.h"
#include "dns-tags.h"
#include "macro.h"
#include "mtasts.h"

static void test_tags(void **state) {
        static const struct {
                const char *text;
                int ret;
                size_t n;
        } cases[] = {
                { "", 0, 0 },
                { "a=1", 0, 1 },
                { "a=1;", 0, 1 },
                { " a = 1 ; b=2 3 ;", 0, 2 },
                { "a=;b=", 0, 2 },
                { "a=1;;b=2", 0, 2 },
                { "a=1;a=2", -EINVAL, 0 },
                { "a", -EINVAL, 0 },
                { "1a=2", -EINVAL, 0 },
                { "a=\x01", -EINVAL, 0 },
                { "a=\xff", -EINVAL, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(tags_done) TagList l = {};
                _cleanup_free_ char *err = NULL;
                int r = tags_parse(cases[i].text, strlen(cases[i].text), &l, &err);
                if (r != cases[i].ret || (r == 0 && l.n != cases[i].n))
                        fail_msg("case %zu '%s': %d n=%zu", i, cases[i].text, r, l.n);
        }
        _cleanup_(tags_done) TagList l = {};
        assert_int_equal(tags_parse(" a = 1 ; b=2 3 ;", 16, &l, NULL), 0);
        assert_string_equal(tags_get(&l, "a"), "1");
        assert_string_equal(tags_get(&l, "b"), "2 3");
}

static void test_dmarc(void **state) {
        static const struct {
                const char *text;
                int ret;
                DmarcPolicy p, sp;
                size_t n_rua;
        } cases[] = {
                { "v=DMARC1; p=none", 0, DMARC_POLICY_NONE, DMARC_POLICY_NONE, 0 },
                { "v=DMARC1;p=reject;sp=quarantine;rua=mailto:d@example.test", 0, DMARC_POLICY_REJECT,
                  DMARC_POLICY_QUARANTINE, 1 },
                { "v=DMARC1; p=quarantine; rua=mailto:a@x.test!10m, mailto:b@y.test; pct=50; adkim=s; aspf=r; "
                  "fo=1:d; ri=3600; rf=afrf", 0, DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, 2 },
                { "v=DMARC1; p=none; foo=bar", 0, DMARC_POLICY_NONE, DMARC_POLICY_NONE, 0 },
                { "v=DMARC1; rua=mailto:d@example.test", 0, DMARC_POLICY_NONE, DMARC_POLICY_NONE, 1 },
                { "v=DMARC1", -EINVAL, 0, 0, 0 },
                { "p=none; v=DMARC1", -EINVAL, 0, 0, 0 },
                { "v=DMARC2; p=none", -EINVAL, 0, 0, 0 },
                { "v=dmarc1; p=none", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=block", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; pct=101", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; adkim=x", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; rua=d@example.test", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; rua=mailto:example.test", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; rua=mailto:a@b.test!x", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; p=reject", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; fo=2", -EINVAL, 0, 0, 0 },
                { "v=DMARC1; p=none; ri=-1", -EINVAL, 0, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(dmarc_record_freep) DmarcRecord *rec = NULL;
                _cleanup_free_ char *err = NULL;
                int r = dmarc_parse(cases[i].text, strlen(cases[i].text), &rec, &err);
                if (r != cases[i].ret)
                        fail_msg("case %zu '%s': %d (%s)", i, cases[i].text, r, strempty(err));
                if (r < 0)
                        continue;
                if (rec->p != cases[i].p || rec->sp != cases[i].sp || rec->n_rua != cases[i].n_rua)
                        fail_msg("case %zu: p=%d sp=%d n_rua=%zu", i, rec->p, rec->sp, rec->n_rua);
        }
        _cleanup_(dmarc_record_freep) DmarcRecord *rec = NULL;
        const char *t = "v=DMARC1; p=none; rua=mailto:Reports@Other.TEST!10m";
        assert_int_equal(dmarc_parse(t, strlen(t), &rec, NULL), 0);
        assert_string_equal(rec->rua[0].domain, "other.test");
        assert_int_equal(rec->rua[0].limit, 10u << 20);
        assert_true(dmarc_is_record("v=DMARC1; p=none", 16));
        assert_true(dmarc_is_record("v = DMARC1", 10));
        assert_false(dmarc_is_record("v=DMARC10", 9));
        assert_false(dmarc_is_record("v=spf1", 6));
        assert_true(dmarc_destination_is_external("example.test", "other.test"));
        assert_false(dmarc_destination_is_external("example.test", "example.test"));
        assert_false(dmarc_destination_is_external("example.test", "mail.example.test"));
        assert_false(dmarc_destination_is_external("sub.example.test", "example.test"));
        assert_true(dmarc_destination_is_external("example.test", "badexample.test"));
}

static char *make_rsa_pub(unsigned bits, const char *keyfile) {
        EVP_PKEY *k = EVP_RSA_gen(bits);
        assert_non_null(k);
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k, &der);
        assert_true(n > 0);
        char *b64 = malloc(4 * ((size_t) n + 2) / 3 + 4);
        EVP_EncodeBlock((unsigned char *) b64, der, n);
        OPENSSL_free(der);
        if (keyfile) {
                FILE *f = fopen(keyfile, "we");
                assert_non_null(f);
                assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
                fclose(f);
        }
        EVP_PKEY_free(k);
        return b64;
}

static void test_dkim(void **state) {
        char keyfile[] = "/tmp/test-dkim-XXXXXX";
        int fd = mkstemp(keyfile);
        assert_true(fd >= 0);
        close(fd);
        _cleanup_free_ char *k2048 = make_rsa_pub(2048, keyfile), *k1024 = make_rsa_pub(1024, NULL),
                            *k512 = make_rsa_pub(512, NULL);
        _cleanup_free_ char *r2048 = NULL, *r1024 = NULL, *r512 = NULL, *folded = NULL;
        assert_true(asprintf(&r2048, "v=DKIM1; k=rsa; p=%s", k2048) > 0);
        assert_true(asprintf(&r1024, "v=DKIM1; h=sha256; p=%s", k1024) > 0);
        assert_true(asprintf(&r512, "p=%s", k512) > 0);
        /* whitespace inside p= (as when several TXT strings are joined with a space) */
        assert_true(asprintf(&folded, "v=DKIM1; k=rsa; t=y:s; p=%.100s %s", k2048, k2048 + 100) > 0);
        static const char bad_b64[] = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA!!!";
        static const char truncated[] = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAAAAA";
        const struct {
                const char *text;
                int ret;
                unsigned bits;
        } cases[] = {
                { r2048, 0, 2048 },
                { r1024, 0, 1024 },
                { r512, 0, 512 },
                { folded, 0, 2048 },
                { "v=DKIM1; p=", 0, 0 },
                { "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 0, 256 },
                { "v=DKIM1; k=ed25519; p=AAAA", -EINVAL, 0 },
                { bad_b64, -EINVAL, 0 },
                { truncated, -EINVAL, 0 },
                { "v=DKIM1; k=dsa; p=AAAA", -EINVAL, 0 },
                { "v=DKIM1; k=rsa", -EINVAL, 0 },
                { "k=rsa; v=DKIM1; p=", -EINVAL, 0 },
                { "v=DKIM2; p=", -EINVAL, 0 },
                { "v=DKIM1; p=; p=", -EINVAL, 0 },
                { "v=DKIM1; p=QUJD=QUJD", -EINVAL, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(dkim_key_freep) DkimKey *k = NULL;
                _cleanup_free_ char *err = NULL;
                int r = dkim_key_parse(cases[i].text, strlen(cases[i].text), &k, &err);
                if (r != cases[i].ret)
                        fail_msg("case %zu '%.60s': %d (%s)", i, cases[i].text, r, strempty(err));
                if (r == 0 && k->bits != cases[i].bits)
                        fail_msg("case %zu: %u bits, want %u", i, k->bits, cases[i].bits);
        }

        _cleanup_(dkim_key_freep) DkimKey *k = NULL, *other = NULL;
        assert_int_equal(dkim_key_parse(folded, strlen(folded), &k, NULL), 0);
        assert_true(k->testing && k->strict);
        assert_int_equal(dkim_key_matches_private(k, keyfile), 1);
        assert_int_equal(dkim_key_parse(r1024, strlen(r1024), &other, NULL), 0);
        assert_int_equal(dkim_key_matches_private(other, keyfile), 0);
        _cleanup_free_ char *b64 = NULL;
        DkimKeyType type;
        unsigned bits;
        assert_int_equal(dkim_public_from_private(keyfile, &type, &b64, &bits), 0);
        assert_int_equal(type, DKIM_KEY_RSA);
        assert_int_equal(bits, 2048);
        assert_string_equal(b64, k2048);
        unlink(keyfile);

        assert_true(dkim_is_record("v=DKIM1; p=", 11));
        assert_true(dkim_is_record("k=rsa; p=AAAA", 13));
        assert_false(dkim_is_record("v=spf1 -all", 11));
}

static void test_mtasts(void **state) {
        static const struct {
                const char *text;
                int ret;
                MtaStsMode mode;
                size_t n_mx;
        } cases[] = {
                { "version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 604800\n", 0, MTASTS_MODE_ENFORCE, 1 },
                { "version: STSv1\r\nmode: testing\r\nmx: *.example.test\r\nmx: backup.example.net\r\nmax_age: 86400\r\n",
                  0, MTASTS_MODE_TESTING, 2 },
                { "version: STSv1\nmode: none\nmax_age: 0", 0, MTASTS_MODE_NONE, 0 },
                { "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\nextension: x\n", 0, MTASTS_MODE_ENFORCE, 1 },
                { "mode: enforce\nmx: a.test\nmax_age: 1\n", -EINVAL, 0, 0 },
                { "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: enforce\nmax_age: 1\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: enforce\nmx: a.test\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n", -EINVAL, 0, 0 },
                { "version: STSv1\nmode: enforce\nmx: *a.test\nmax_age: 5\n", -EINVAL, 0, 0 },
                { "version STSv1\n", -EINVAL, 0, 0 },
                { "<html>404</html>", -EINVAL, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(mtasts_policy_freep) MtaStsPolicy *p = NULL;
                _cleanup_free_ char *err = NULL;
                int r = mtasts_policy_parse(cases[i].text, strlen(cases[i].text), &p, &err);
                if (r != cases[i].ret)
                        fail_msg("case %zu: %d (%s)", i, r, strempty(err));
                if (r == 0 && (p->mode != cases[i].mode || p->n_mx != cases[i].n_mx))
                        fail_msg("case %zu: mode %d n_mx %zu", i, p->mode, p->n_mx);
        }
        assert_true(mtasts_mx_matches("mail.example.test", "MAIL.example.test."));
        assert_true(mtasts_mx_matches("*.example.test", "mail.example.test"));
        assert_false(mtasts_mx_matches("*.example.test", "a.mail.example.test"));
        assert_false(mtasts_mx_matches("*.example.test", "example.test"));
        assert_false(mtasts_mx_matches("mail.example.test", "mail2.example.test"));

        _cleanup_free_ char *id = NULL;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(mtasts_txt_parse("v=STSv1; id=2026-11-22;", 23, &id, NULL), -EINVAL);
        assert_int_equal(mtasts_txt_parse("v=STSv1; id=20261122", 20, &id, NULL), 0);
        assert_string_equal(id, "20261122");
        assert_int_equal(mtasts_txt_parse("id=1; v=STSv1", 13, &id, &err), -EINVAL);
        assert_int_equal(mtasts_txt_parse("v=STSv1", 7, &id, &err), -EINVAL);

        _cleanup_strv_free_ char **rua = NULL;
        const char *t = "v=TLSRPTv1; rua=mailto:tls@example.test, https://r.example.test/x";
        assert_int_equal(tlsrpt_txt_parse(t, strlen(t), &rua, NULL), 2);
        assert_string_equal(rua[1], "https://r.example.test/x");
        assert_int_equal(tlsrpt_txt_parse("v=TLSRPTv1; rua=ftp://x", 23, &rua, &err), -EINVAL);
        assert_int_equal(tlsrpt_txt_parse("v=TLSRPTv1;", 11, &rua, &err), -EINVAL);
        assert_true(tlsrpt_is_record("v=TLSRPTv1; rua=x", 17));
        assert_true(mtasts_is_record("v=STSv1; id=1", 13));
        assert_false(mtasts_is_record("v=STSv10; id=1", 14));
}

static void test_records(void **state) {
        char root[] = "/tmp/test-records-XXXXXX", path[256];
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/etc", root);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof(path), "%s/etc/mxdeck", root);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof(path), "%s/etc/mxdeck/dkim", root);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof(path), "%s/etc/mxdeck/dkim/sel1.private", root);
        _cleanup_free_ char *pub = make_rsa_pub(2048, path);

        SpfAddr addrs[2];
        assert_int_equal(spf_addr_from_string("192.0.2.25", &addrs[0]), 0);
        assert_int_equal(spf_addr_from_string("2001:db8::25", &addrs[1]), 0);
        RecordInput in = { .domain = "example.test", .host = "mail.example.test", .addrs = addrs, .n_addrs = 2,
                           .mta_sts = true, .mta_sts_id = "1", .root = root };
        _cleanup_(records_freep) RecordSet *set = NULL;
        assert_int_equal(records_compute(&in, &set), 0);
        assert_string_equal(set->dkim_selector, "sel1");
        assert_int_equal(set->dkim_bits, 2048);
        assert_false(set->host_outside);
        bool dkim = false, mx = false, a = false, aaaa = false, dmarc = false, sts = false;
        for (size_t i = 0; i < set->n_records; i++) {
                const PublishRecord *r = &set->records[i];
                if (r->strings)
                        for (char **x = r->strings; *x; x++)
                                assert_true(strlen(*x) <= 255);
                if (streq(r->name, "sel1._domainkey.example.test.")) {
                        _cleanup_free_ char *want = NULL;
                        assert_true(asprintf(&want, "v=DKIM1; k=rsa; p=%s", pub) > 0);
                        assert_string_equal(r->value, want);
                        assert_non_null(r->strings[1]); /* a 2048-bit key needs two strings */
                        dkim = true;
                }
                mx = mx || (streq(r->type, "MX") && streq(r->value, "10 mail.example.test."));
                a = a || (streq(r->type, "A") && streq(r->name, "mail.example.test."));
                aaaa = aaaa || (streq(r->type, "AAAA") && streq(r->value, "2001:db8::25"));
                dmarc = dmarc || (streq(r->name, "_dmarc.example.test.") && strstr(r->value, "p=none"));
                sts = sts || streq(r->name, "_mta-sts.example.test.");
        }
        assert_true(dkim && mx && a && aaaa && dmarc && sts);
        assert_int_equal(set->n_ptr, 2);
        assert_string_equal(set->ptr[0].reverse, "25.2.0.192.in-addr.arpa.");
        assert_string_equal(set->ptr[0].target, "mail.example.test.");
        assert_non_null(strstr(set->dmarc_stages[2], "p=reject"));
        unlink(path);
        snprintf(path, sizeof(path), "rm -r %s", root);
        assert_int_equal(system(path), 0);

        /* a host outside the domain: no A/AAAA in this zone */
        RecordInput out = { .domain = "example.test", .host = "mx.provider.test", .addrs = addrs, .n_addrs = 1, .root = root };
        _cleanup_(records_freep) RecordSet *o = NULL;
        assert_int_equal(records_compute(&out, &o), 0);
        assert_true(o->host_outside);
        assert_null(o->dkim_selector);
        for (size_t i = 0; i < o->n_records; i++)
                assert_false(streq(o->records[i].type, "A"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tags),
                cmocka_unit_test(test_dmarc),
                cmocka_unit_test(test_dkim),
                cmocka_unit_test(test_mtasts),
                cmocka_unit_test(test_records),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
