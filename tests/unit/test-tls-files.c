/* [tls] source = files: every refusal (key does not match, chain missing, name not covered,
 * expired, not yet valid, key readable by others) happens in the plan, names the answers
 * file, its line and the reason, and changes nothing; a good pair is used in place. The
 * certificates are made here with the OpenSSL API (a CA, an intermediate, leaves) at a time
 * pinned relative to the installer's clock, so nothing depends on fixtures expiring. The
 * tls step alone runs, against a temporary root: no command is run, none is recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "answers.h"
#include "fileio.h"
#include "installer.h"
#include "macro.h"
#include "steps.h"

#define NOW INT64_C(1795000000)
#define DAY 86400

typedef struct Issued {
        X509 *cert;
        EVP_PKEY *key;
} Issued;

static void issued_done(Issued *i) {
        X509_free(i->cert);
        EVP_PKEY_free(i->key);
}

static void ext(X509 *x, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        assert_non_null(e);
        assert_true(X509_add_ext(x, e, -1));
        X509_EXTENSION_free(e);
}

/* A certificate for cn (a SAN too unless ca), valid from now+from to now+until seconds,
 * signed by issuer (NULL: self-signed). */
static Issued make_cert(const char *cn, bool ca, const Issued *issuer, long from, long until) {
        static long serial = 1;
        Issued r = { .cert = X509_new(), .key = EVP_EC_gen("P-256") };
        time_t now = (time_t) NOW;
        _cleanup_free_ char *san = NULL;

        assert_non_null(r.cert);
        assert_non_null(r.key);
        X509_set_version(r.cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(r.cert), serial++);
        assert_non_null(X509_time_adj(X509_getm_notBefore(r.cert), from, &now));
        assert_non_null(X509_time_adj(X509_getm_notAfter(r.cert), until, &now));
        X509_NAME *name = X509_get_subject_name(r.cert);
        assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0));
        assert_true(X509_set_issuer_name(r.cert, issuer ? X509_get_subject_name(issuer->cert) : name));
        assert_true(X509_set_pubkey(r.cert, r.key));
        if (ca)
                ext(r.cert, issuer ? issuer->cert : NULL, NID_basic_constraints, "critical,CA:TRUE");
        else {
                assert_true(asprintf(&san, "DNS:%s", cn) > 0);
                ext(r.cert, issuer ? issuer->cert : NULL, NID_subject_alt_name, san);
                ext(r.cert, issuer ? issuer->cert : NULL, NID_basic_constraints, "critical,CA:FALSE");
        }
        assert_true(X509_sign(r.cert, issuer ? issuer->key : r.key, EVP_sha256()) > 0);
        return r;
}

static char *pem_certs(X509 *const *certs, size_t n) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p, *s;
        for (size_t i = 0; i < n; i++)
                assert_true(PEM_write_bio_X509(b, certs[i]));
        long len = BIO_get_mem_data(b, &p);
        s = strndup(p, (size_t) len);
        BIO_free(b);
        return s;
}

static char *pem_key(EVP_PKEY *k) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p, *s;
        assert_true(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
        long len = BIO_get_mem_data(b, &p);
        s = strndup(p, (size_t) len);
        BIO_free(b);
        return s;
}

static char root_dir[64];

static void put(const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *full = NULL;
        assert_true(asprintf(&full, "%s%s", root_dir, path) > 0);
        for (char *s = full + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void) mkdir(full, 0755);
                        *s = '/';
                }
        AtomicWriteOptions o = { .set_mode = true, .mode = mode };
        assert_int_equal(atomic_write_file(full, content, strlen(content), &o, NULL), 0);
        assert_int_equal(chmod(full, mode), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static const char answers_text[] =
        "[server]\n"
        "hostname = mail.example.test\n"
        "domain = example.test\n"
        "[users]\n"
        "mode = virtual\n"
        "[user alice]\n"
        "password_hash = {SHA512-CRYPT}$6$abcdefgh$ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\n"
        "[tls]\n"
        "source = files\n"
        "cert_file = /etc/ssl/mail.pem\n"
        "key_file = /etc/ssl/mail.key\n";

/* Plans the tls step alone with the pair in place; returns the plan text, and whether the
 * plan has errors. */
static char *plan_tls(bool *ret_errors) {
        _cleanup_(answers_freep) Answers *a = NULL;
        _cleanup_(installer_freep) Installer *ins = NULL;
        _cleanup_free_ char *err = NULL;
        char *text = NULL;
        Plan p = { .n_steps = 1 };
        StepPlan sp = { .step = &step_tls };

        int r = answers_load_buffer("answers.ini", answers_text, strlen(answers_text), &a, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err);
        assert_int_equal(r, 0);
        InstallerOptions o = {
                .root = root_dir, .answers = a, .profile = distro_profile_by_name("debian"),
                .offline = true, .no_live_checks = true, .now = NOW,
        };
        assert_int_equal(installer_new(&o, &ins, &err), 0);
        assert_int_equal(step_tls.inspect(ins, &sp), 0);
        p.steps = &sp;
        assert_int_equal(plan_render_text(&p, false, &text), 0);
        *ret_errors = plan_has_errors(&p);
        /* a plan with errors is never applied: no transaction is begun */
        if (*ret_errors) {
                ApplyResult res = {};
                assert_int_equal(installer_apply(ins, &p, &res), -EINVAL);
                assert_null(res.transaction);
        }
        p.steps = NULL;
        /* the step plan's own memory, through a one-step heap plan */
        Plan *hp = calloc(1, sizeof(Plan));
        assert_non_null(hp);
        hp->steps = calloc(1, sizeof(StepPlan));
        assert_non_null(hp->steps);
        hp->steps[0] = sp;
        hp->n_steps = 1;
        plan_free(hp);
        return text;
}

static void test_files_refusals(void **state) {
        (void) state;
        Issued ca = make_cert("Test Root CA", true, NULL, -100 * DAY, 3650L * DAY);
        Issued inter = make_cert("Test Intermediate", true, &ca, -100 * DAY, 1000L * DAY);
        Issued good = make_cert("mail.example.test", false, &inter, -DAY, 90 * DAY);
        Issued other = make_cert("www.example.test", false, &inter, -DAY, 90 * DAY);
        Issued expired = make_cert("mail.example.test", false, &inter, -100 * DAY, -DAY);
        Issued future = make_cert("mail.example.test", false, &inter, 10 * DAY, 100 * DAY);
        Issued stranger = make_cert("mail.example.test", false, &inter, -DAY, 90 * DAY);
        const struct {
                const char *what;
                X509 *certs[2];
                size_t n;
                EVP_PKEY *key;
                mode_t key_mode;
                const char *want;   /* NULL: accepted */
        } cases[] = {
                { "good", { good.cert, inter.cert }, 2, good.key, 0600, NULL },
                { "key of another certificate", { good.cert, inter.cert }, 2, stranger.key, 0600,
                  "answers.ini:10: [tls] /etc/ssl/mail.pem and /etc/ssl/mail.key cannot be used for "
                  "mail.example.test: the private key does not belong to the certificate" },
                { "chain missing", { good.cert }, 1, good.key, 0600,
                  "answers.ini:10: [tls] /etc/ssl/mail.pem and /etc/ssl/mail.key cannot be used for "
                  "mail.example.test: the file holds only the server certificate: append the CA's "
                  "intermediate certificates (the chain)" },
                { "name not covered", { other.cert, inter.cert }, 2, other.key, 0600,
                  "answers.ini:10: [tls] /etc/ssl/mail.pem and /etc/ssl/mail.key cannot be used for "
                  "mail.example.test: the certificate does not cover the host name" },
                { "expired", { expired.cert, inter.cert }, 2, expired.key, 0600,
                  "answers.ini:10: [tls] /etc/ssl/mail.pem and /etc/ssl/mail.key cannot be used for "
                  "mail.example.test: the certificate has expired" },
                { "not yet valid", { future.cert, inter.cert }, 2, future.key, 0600,
                  "the certificate is not valid yet" },
                { "key readable by others", { good.cert, inter.cert }, 2, good.key, 0644,
                  "answers.ini:11: [tls] key_file /etc/ssl/mail.key has mode 0644: a private key "
                  "must not be readable by others (chmod 600 /etc/ssl/mail.key)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *cert = pem_certs(cases[i].certs, cases[i].n);
                _cleanup_free_ char *key = pem_key(cases[i].key);
                _cleanup_free_ char *text = NULL;
                bool errors;

                snprintf(root_dir, sizeof(root_dir), "/tmp/test-tls-files-XXXXXX");
                assert_non_null(mkdtemp(root_dir));
                put("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644);
                put("/etc/ssl/mail.pem", cert, 0644);
                put("/etc/ssl/mail.key", key, cases[i].key_mode);

                text = plan_tls(&errors);
                if (cases[i].want ? !errors || !strstr(text, cases[i].want) : errors)
                        fprintf(stderr, "case '%s':\n%s", cases[i].what, text);
                assert_int_equal(errors, cases[i].want != NULL);
                if (cases[i].want)
                        assert_non_null(strstr(text, cases[i].want));
                else
                        assert_non_null(strstr(text, "using /etc/ssl/mail.pem and /etc/ssl/mail.key as they are"));
                /* nothing written: no journal, no managed record */
                _cleanup_free_ char *journal = NULL;
                assert_true(asprintf(&journal, "%s/var/lib/mxdeck", root_dir) > 0);
                assert_int_equal(access(journal, F_OK), -1);
                (void) nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
        issued_done(&ca);
        issued_done(&inter);
        issued_done(&good);
        issued_done(&other);
        issued_done(&expired);
        issued_done(&future);
        issued_done(&stranger);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
