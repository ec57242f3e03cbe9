/* The offline DKIM verifier (installer/dkimverify.c) on messages signed in every
 * canonicalization (tests/data/dkim/sign.py), changed after signing in ways that must and
 * must not break the signature, and on DKIM-Signature values that must not parse. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>

#include <cmocka.h>

#include "dkimverify.h"
#include "macro.h"

static char *slurp(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        const char *dir = getenv("MXDECK_TEST_DATA");
        assert_non_null(dir);
        assert_true(asprintf(&path, "%s/dkim/%s", dir, name) > 0);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *buf = malloc(1 << 20);
        assert_non_null(buf);
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (ret_size)
                *ret_size = n;
        return buf;
}

static EVP_PKEY *key(const char *name) {
        size_t n;
        _cleanup_free_ char *pem = slurp(name, &n);
        EVP_PKEY *k = NULL;
        assert_int_equal(dkim_verify_load_key(pem, n, &k), 0);
        return k;
}

/* msg with the first occurrence of from replaced by to (which must be there) */
static char *replace(const char *msg, const char *from, const char *to) {
        const char *at = strstr(msg, from);
        char *out = NULL;
        if (!from[0])
                at = msg;
        assert_non_null(at);
        assert_true(asprintf(&out, "%.*s%s%s", (int) (at - msg), msg, to, at + strlen(from)) > 0);
        return out;
}

static char *lf_only(const char *msg) {
        char *out = strdup(msg), *o = out;
        assert_non_null(out);
        for (const char *p = msg; *p; p++)
                if (!(p[0] == '\r' && p[1] == '\n'))
                        *o++ = *p;
        *o = '\0';
        return out;
}

enum { ALL = 0, HS = 1, HR = 2, BS = 4, BR = 8 }; /* the canonicalizations a case is about */

static const struct {
        const char *what;
        const char *from, *to;   /* the change after signing; NULL: none */
        bool lf;                 /* bare LF line ends, as in a Maildir file */
        const char *key;
        const char *expect_d, *expect_s;
        DkimVerifyResult simple_body, relaxed_body; /* by the body canonicalization */
        DkimVerifyResult simple_header, relaxed_header; /* by the header canonicalization, when
                                                         * the body part passes */
} cases[] = {
        { "as signed", NULL, NULL, false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "bare LF line ends", NULL, NULL, true, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "any signer accepted", NULL, NULL, false, "test.private", NULL, NULL,
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "the body changed", "last line", "last lime", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_BODY_HASH, DKIM_VERIFY_BODY_HASH, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "white space in the body", "A test  message", "A test message", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_BODY_HASH, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "trailing white space on a body line", "last line", "last line  ", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_BODY_HASH, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "more empty lines at the end", "last line\r\n", "last line\r\n\r\n\r\n\r\n", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "a signed header changed", "To: alice@", "To: bob@", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_BAD_SIGNATURE },
        { "white space in a signed header", "From: Alice  <", "From:Alice <", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_OK },
        { "a header name's case", "\r\nTo: alice", "\r\nTO: alice", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_OK },
        { "the signature's own field refolded", "d=lab.test; s=fixture;", "d=lab.test;\r\n s=fixture;", false,
          "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_OK },
        { "an unsigned header added", "\r\nTo: ", "\r\nX-Spam: no\r\nTo: ", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_OK },
        { "a second From added (oversigned)", "\r\nTo: ", "\r\nFrom: mallory@evil.test\r\nTo: ", false, "test.private",
          "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_BAD_SIGNATURE },
        { "another key", NULL, NULL, false, "other.private", "lab.test", "fixture",
          DKIM_VERIFY_OK, DKIM_VERIFY_OK, DKIM_VERIFY_BAD_SIGNATURE, DKIM_VERIFY_BAD_SIGNATURE },
        { "another domain expected", NULL, NULL, false, "test.private", "example.org", "fixture",
          DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER },
        { "another selector expected", NULL, NULL, false, "test.private", "lab.test", "202612",
          DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER, DKIM_VERIFY_WRONG_SIGNER },
        { "l= is not supported", "v=1;", "v=1; l=10;", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED },
        { "rsa-sha1 is not supported", "a=rsa-sha256", "a=rsa-sha1", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED, DKIM_VERIFY_UNSUPPORTED },
        { "no signature", "DKIM-Signature:", "X-Was-Signature:", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_NOT_SIGNED, DKIM_VERIFY_NOT_SIGNED, DKIM_VERIFY_NOT_SIGNED, DKIM_VERIFY_NOT_SIGNED },
        { "a broken signature", "bh=", "bh", false, "test.private", "lab.test", "fixture",
          DKIM_VERIFY_MALFORMED, DKIM_VERIFY_MALFORMED, DKIM_VERIFY_MALFORMED, DKIM_VERIFY_MALFORMED },
};

static void test_messages(void **state) {
        static const char *const files[][2] = {
                { "simple", "simple" }, { "simple", "relaxed" }, { "relaxed", "simple" }, { "relaxed", "relaxed" },
        };
        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                _cleanup_free_ char *name = NULL, *signed_msg = NULL;
                assert_true(asprintf(&name, "signed-%s-%s.eml", files[f][0], files[f][1]) > 0);
                signed_msg = slurp(name, NULL);
                bool hr = streq(files[f][0], "relaxed"), br = streq(files[f][1], "relaxed");
                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        _cleanup_free_ char *changed = cases[i].from ? replace(signed_msg, cases[i].from, cases[i].to)
                                                                     : strdup(signed_msg);
                        _cleanup_free_ char *msg = cases[i].lf ? lf_only(changed) : strdup(changed);
                        DkimVerifyResult body = br ? cases[i].relaxed_body : cases[i].simple_body;
                        DkimVerifyResult want = body != DKIM_VERIFY_OK ? body :
                                                hr ? cases[i].relaxed_header : cases[i].simple_header;
                        EVP_PKEY *k = key(cases[i].key);
                        DkimVerify v = {};
                        assert_int_equal(dkim_verify_message(msg, strlen(msg), k, cases[i].expect_d, cases[i].expect_s, &v), 0);
                        if (v.result != want)
                                fail_msg("%s, %s: %s, expected %s (%s)", name, cases[i].what,
                                         dkim_verify_result_to_string(v.result), dkim_verify_result_to_string(want),
                                         strempty(v.detail));
                        if (want != DKIM_VERIFY_NOT_SIGNED && want != DKIM_VERIFY_MALFORMED) {
                                assert_string_equal(v.d, "lab.test");
                                assert_string_equal(v.s, "fixture");
                        }
                        dkim_verify_done(&v);
                        EVP_PKEY_free(k);
                }
        }
}

/* A message opendkim signed in a setup-dkim lab (its Canonicalization relaxed/simple, From
 * oversigned), as the Maildir holds it: LF line ends, Return-Path, Delivered-To and a
 * Received added above the signature after signing. The key is that lab's throwaway one. */
static void test_opendkim(void **state) {
        static const struct {
                const char *from, *to, *key;
                DkimVerifyResult want;
        } changes[] = {
                { NULL, NULL, "opendkim-lab.private", DKIM_VERIFY_OK },
                { "signed body", "signed  body", "opendkim-lab.private", DKIM_VERIFY_BODY_HASH },
                { "signed body one-3\n", "signed body one-3\n\n\n", "opendkim-lab.private", DKIM_VERIFY_OK },
                { "Subject: dkim", "Subject:  dkim ", "opendkim-lab.private", DKIM_VERIFY_OK },
                { "Subject: dkim one", "Subject: dkim two", "opendkim-lab.private", DKIM_VERIFY_BAD_SIGNATURE },
                { "Delivered-To: alice", "Delivered-To: bob", "opendkim-lab.private", DKIM_VERIFY_OK },
                { NULL, NULL, "test.private", DKIM_VERIFY_BAD_SIGNATURE },
        };
        _cleanup_free_ char *signed_msg = slurp("opendkim-relaxed-simple.eml", NULL);
        for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
                _cleanup_free_ char *msg = changes[i].from ? replace(signed_msg, changes[i].from, changes[i].to)
                                                           : strdup(signed_msg);
                EVP_PKEY *k = key(changes[i].key);
                DkimVerify v = {};
                assert_int_equal(dkim_verify_message(msg, strlen(msg), k, "lab.test", "202612", &v), 0);
                if (v.result != changes[i].want)
                        fail_msg("change %zu: %s, expected %s", i, dkim_verify_result_to_string(v.result),
                                 dkim_verify_result_to_string(changes[i].want));
                dkim_verify_done(&v);
                EVP_PKEY_free(k);
        }
}

static void test_parse(void **state) {
        static const struct {
                const char *value;
                int r;
                const char *d, *h, *b;
                DkimCanon hc, bc;
        } tags[] = {
                { " v=1; a=rsa-sha256; d=x.test; s=s1; h=From : To; bh=AAAA; b=QU\r\n\t JD", 0, "x.test", "From:To", "QUJD",
                  DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE },
                { "v=1;a=rsa-sha256;c=relaxed;d=x.test;s=s1;h=from;bh=AAAA;b=AAAA;", 0, "x.test", "from", "AAAA",
                  DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE },
                { "v=1;a=rsa-sha256;c=simple/relaxed;d=x.test;s=s1;h=from;bh=AAAA;b=AAAA; x_y=ignored ;", 0, "x.test",
                  "from", "AAAA", DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED },
                { "v=1;a=rsa-sha256;c=nowsp;d=x.test;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;c=relaxed/;d=x.test;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;d=x.test;d=y.test;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;d=;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;;a=rsa-sha256;d=x.test;s=s1;h=from;bh=AAAA;b=AAAA", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;d=x.test;s=s1;h=from;bh=AAAA;b", .r = -EBADMSG },
                { "v=1;a=rsa-sha256;d=x.test;s=s1;h=from;bh=AAAA;1b=AAAA", .r = -EBADMSG },
                { "", .r = -EBADMSG },
        };
        for (size_t i = 0; i < ELEMENTSOF(tags); i++) {
                DkimSignature sig = {};
                char *err = NULL;
                int r = dkim_signature_parse(tags[i].value, strlen(tags[i].value), &sig, &err);
                if (r != tags[i].r)
                        fail_msg("'%s': %d, expected %d", tags[i].value, r, tags[i].r);
                if (r == 0) {
                        assert_string_equal(sig.d, tags[i].d);
                        assert_string_equal(sig.h, tags[i].h);
                        assert_string_equal(sig.b, tags[i].b);
                        assert_int_equal(sig.header_canon, tags[i].hc);
                        assert_int_equal(sig.body_canon, tags[i].bc);
                } else
                        assert_non_null(err);
                free(err);
                dkim_signature_done(&sig);
        }
}

static void test_keys(void **state) {
        EVP_PKEY *k = NULL;
        assert_int_equal(dkim_verify_load_key("not a key", 9, &k), -EBADMSG);
        assert_null(k);
        size_t n;
        _cleanup_free_ char *pem = slurp("message.eml", &n);
        assert_int_equal(dkim_verify_load_key(pem, n, &k), -EBADMSG);
        _cleanup_free_ char *big = malloc(DKIM_VERIFY_MESSAGE_MAX + 1);
        assert_non_null(big);
        memset(big, 'a', DKIM_VERIFY_MESSAGE_MAX + 1);
        DkimVerify v = {};
        k = key("test.private");
        assert_int_equal(dkim_verify_message(big, DKIM_VERIFY_MESSAGE_MAX + 1, k, NULL, NULL, &v), -E2BIG);
        EVP_PKEY_free(k);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_messages),
                cmocka_unit_test(test_opendkim),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
