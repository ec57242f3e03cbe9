/* Step tls: the certificate Postfix and Dovecot present. self-signed: a key and a
 * certificate made with the OpenSSL API (key 0600, the host name in subjectAltName), kept
 * while it is valid for the host and not near expiry. files: the administrator's own,
 * checked (key matches, chain present, name covered, not expired) and used in place. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "macro.h"
#include "steps.h"

#define VALIDITY_DAYS 825       /* the longest a browser-era client accepts without fuss */
#define RENEW_BEFORE_DAYS 30
#define ACME_DIR "/etc/letsencrypt"
#define ACME_LIVE ACME_DIR "/live"
#define ACME_HOOK ACME_DIR "/renewal-hooks/deploy/mxdeck-reload"

int tls_paths(const Installer *ins, char **ret_cert, char **ret_key) {
        const Answers *a = installer_answers(ins);
        const DistroProfile *p = installer_profile(ins);

        if (a->tls_source == ANSWERS_TLS_FILES) {
                *ret_cert = strdup(a->tls_cert_file);
                *ret_key = strdup(a->tls_key_file);
        } else if (a->tls_source == ANSWERS_TLS_ACME) {
                /* certbot's stable names: links to the newest files of the lineage */
                if (asprintf(ret_cert, ACME_LIVE "/%s/fullchain.pem", a->hostname) < 0)
                        *ret_cert = NULL;
                if (asprintf(ret_key, ACME_LIVE "/%s/privkey.pem", a->hostname) < 0)
                        *ret_key = NULL;
        } else {
                if (asprintf(ret_cert, "%s/mxdeck.pem", p->cert_dir) < 0)
                        *ret_cert = NULL;
                if (asprintf(ret_key, "%s/mxdeck.key", p->key_dir) < 0)
                        *ret_key = NULL;
        }
        if (!*ret_cert || !*ret_key) {
                free(*ret_cert);
                free(*ret_key);
                return -ENOMEM;
        }
        return 0;
}

/* The OpenSSL error queue as one line (Postfix tls_print_errors). */
static char *ssl_errors(void) {
        char buf[256], *s = NULL;
        unsigned long e;

        while ((e = ERR_get_error()) != 0) {
                char *n;
                ERR_error_string_n(e, buf, sizeof(buf));
                if (asprintf(&n, "%s%s%s", strempty(s), s ? "; " : "", buf) < 0)
                        break;
                free(s);
                s = n;
        }
        return s ? s : strdup("unknown OpenSSL error");
}

typedef struct Loaded {
        STACK_OF(X509) *certs;
        EVP_PKEY *key;
} Loaded;

static void loaded_done(Loaded *l) {
        sk_X509_pop_free(l->certs, X509_free);
        EVP_PKEY_free(l->key);
        *l = (Loaded) {};
}

static int load_pem(const char *cert_pem, size_t cert_size, const char *key_pem, size_t key_size,
                    Loaded *ret) {
        Loaded l = { .certs = sk_X509_new_null() };
        BIO *b;
        X509 *x;

        if (!l.certs)
                return -ENOMEM;
        b = BIO_new_mem_buf(cert_pem, (int) cert_size);
        if (!b) {
                loaded_done(&l);
                return -ENOMEM;
        }
        while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
                sk_X509_push(l.certs, x);
        BIO_free(b);
        ERR_clear_error();
        if (key_pem) {
                b = BIO_new_mem_buf(key_pem, (int) key_size);
                if (!b) {
                        loaded_done(&l);
                        return -ENOMEM;
                }
                l.key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
                BIO_free(b);
                ERR_clear_error();
        }
        *ret = l;
        return 0;
}

/* Why a certificate/key pair cannot serve host, or NULL when it can. */
static const char *unusable(const Loaded *l, const char *host, time_t now, int min_days,
                            bool want_chain) {
        X509 *leaf;
        time_t limit = now + (time_t) min_days * 86400;

        if (sk_X509_num(l->certs) < 1)
                return N_("no certificate in the file");
        if (!l->key)
                return N_("no private key in the key file (or it is encrypted)");
        leaf = sk_X509_value(l->certs, 0);
        if (X509_check_private_key(leaf, l->key) != 1) {
                ERR_clear_error();
                return N_("the private key does not belong to the certificate");
        }
        if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0)
                return N_("the certificate is not valid yet");
        if (X509_cmp_time(X509_get0_notAfter(leaf), &now) < 0)
                return N_("the certificate has expired");
        if (X509_cmp_time(X509_get0_notAfter(leaf), &limit) < 0)
                return N_("the certificate expires within 30 days");
        if (X509_check_host(leaf, host, 0, 0, NULL) != 1)
                return N_("the certificate does not cover the host name");
        /* a CA-issued certificate needs its intermediates beside it, or clients that do not
         * fetch them fail */
        if (want_chain && X509_check_issued(leaf, leaf) != X509_V_OK && sk_X509_num(l->certs) < 2)
                return N_("the file holds only the server certificate: append the CA's "
                          "intermediate certificates (the chain)");
        return NULL;
}

static int pem_of(int (*write)(BIO *, void *), void *obj, char **ret, size_t *ret_size) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long n;

        if (!b)
                return -ENOMEM;
        if (!write(b, obj)) {
                BIO_free(b);
                return -EIO;
        }
        n = BIO_get_mem_data(b, &p);
        *ret = malloc((size_t) n + 1);
        if (!*ret) {
                BIO_free(b);
                return -ENOMEM;
        }
        memcpy(*ret, p, (size_t) n);
        (*ret)[n] = '\0';
        *ret_size = (size_t) n;
        OPENSSL_cleanse(p, (size_t) n);
        BIO_free(b);
        return 0;
}

static int write_key(BIO *b, void *k) {
        return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(BIO *b, void *x) {
        return PEM_write_bio_X509(b, x);
}

static int add_ext(X509 *x, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *e;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!e)
                return -EIO;
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        return 0;
}

/* A fresh RSA 3072 key and a self-signed certificate for host. */
static int make_self_signed(const char *host, time_t now, char **ret_cert, size_t *ret_cert_size,
                            char **ret_key, size_t *ret_key_size, char **ret_error) {
        EVP_PKEY *key = NULL;
        X509 *x = NULL;
        X509_NAME *name;
        unsigned char serial[16];
        BIGNUM *bn = NULL;
        _cleanup_free_ char *san = NULL;
        int r = -EIO;

        key = EVP_RSA_gen(3072);
        x = X509_new();
        if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
                goto fail;
        serial[0] &= 0x7f; /* positive */
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
                goto fail;
        X509_set_version(x, 2);
        if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), VALIDITY_DAYS, 0, &now))
                goto fail;
        name = X509_get_subject_name(x);
        if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) host, -1, -1, 0) ||
            !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
                goto fail;
        if (asprintf(&san, "DNS:%s", host) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (add_ext(x, NID_subject_alt_name, san) < 0 ||
            add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
            add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
            add_ext(x, NID_subject_key_identifier, "hash") < 0)
                goto fail;
        if (!X509_sign(x, key, EVP_sha256()))
                goto fail;
        r = pem_of(write_cert, x, ret_cert, ret_cert_size);
        if (r >= 0) {
                r = pem_of(write_key, key, ret_key, ret_key_size);
                if (r < 0)
                        free(*ret_cert);
        }
fail:
        if (r == -EIO)
                *ret_error = ssl_errors();
        BN_free(bn);
        X509_free(x);
        EVP_PKEY_free(key);
        return r;
}

static int inspect_files(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *cert = NULL, *key = NULL, *kfull = NULL;
        _cleanup_(loaded_done) Loaded l = {};
        size_t cs, ks;
        struct stat st;
        const char *why;
        int r;

        r = installer_read(ins, a->tls_cert_file, &cert, &cs);
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("%s:%u: [tls] cert_file %s: %s"), a->path, a->tls_cert_line,
                                      a->tls_cert_file, strerror(-r));
        r = installer_read(ins, a->tls_key_file, &key, &ks);
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("%s:%u: [tls] key_file %s: %s"), a->path, a->tls_key_line,
                                      a->tls_key_file, strerror(-r));
        kfull = installer_path(ins, a->tls_key_file);
        if (!kfull)
                return -ENOMEM;
        if (stat(kfull, &st) >= 0 && (st.st_mode & 077) != 0) {
                OPENSSL_cleanse(key, ks);
                return step_plan_note(sp, NOTE_ERROR,
                                      _("%s:%u: [tls] key_file %s has mode %04o: a private key must not be "
                                        "readable by others (chmod 600 %s)"), a->path, a->tls_key_line,
                                      a->tls_key_file,
                                      (unsigned) (st.st_mode & 07777), a->tls_key_file);
        }
        r = load_pem(cert, cs, key, ks, &l);
        OPENSSL_cleanse(key, ks);
        if (r < 0)
                return r;
        why = unusable(&l, a->hostname, (time_t) installer_now(ins), 0, true);
        if (why)
                return step_plan_note(sp, NOTE_ERROR, _("%s:%u: [tls] %s and %s cannot be used for %s: %s"),
                                      a->path, a->tls_cert_line, a->tls_cert_file, a->tls_key_file, a->hostname, _(why));
        return step_plan_note(sp, NOTE_INFO, _("using %s and %s as they are"), a->tls_cert_file,
                              a->tls_key_file);
}

/* certbot's deploy hook: run after every issuance and renewal, so that the daemons serve
 * the new certificate (they read it only when they start or reload). */
static const char acme_hook[] =
        "#!/bin/sh\n"
        "# Written by mxdeck setup. certbot runs this after it renews the certificate, so that\n"
        "# Postfix and Dovecot serve the new one: they read it only when they start or reload.\n"
        "postfix reload\n"
        "doveadm reload\n";

/* certbot with its directories under the root when it is not / */
static int certbot_argv(const Installer *ins, const char *const *args, char ***ret) {
        const char *root = installer_root(ins);
        bool other = !streq(root, "/");
        size_t n = 0, k = 0;
        char **v;

        while (args[n])
                n++;
        v = calloc(n + 8, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!(v[k++] = strdup(args[i])))
                        goto oom;
                if (i == 1 && other &&
                    (asprintf(&v[k++], "--config-dir=%s" ACME_DIR, root) < 0 ||
                     asprintf(&v[k++], "--work-dir=%s/var/lib/letsencrypt", root) < 0 ||
                     asprintf(&v[k++], "--logs-dir=%s/var/log/letsencrypt", root) < 0))
                        goto oom;
        }
        *ret = v;
        return 0;
oom:
        strv_free(v);
        return -ENOMEM;
}

static int inspect_acme(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *cert_path = NULL, *key_path = NULL, *cert = NULL, *key = NULL;
        _cleanup_(loaded_done) Loaded l = {};
        _cleanup_strv_free_ char **run = NULL, **undo = NULL;
        size_t cs = 0, ks = 0;
        const char *why = N_("there is none yet");
        int r;

        r = tls_paths(ins, &cert_path, &key_path);
        if (r < 0)
                return r;
        if (installer_read(ins, cert_path, &cert, &cs) >= 0 && installer_read(ins, key_path, &key, &ks) >= 0) {
                r = load_pem(cert, cs, key, ks, &l);
                OPENSSL_cleanse(key, ks);
                if (r < 0)
                        return r;
                /* certbot renews by itself (its timer) from 30 days before expiry */
                why = unusable(&l, a->hostname, (time_t) installer_now(ins), 0, false);
        } else if (key)
                OPENSSL_cleanse(key, ks);

        if (why) {
                const char *args[24];
                size_t n = 0;
                args[n++] = "certbot";
                args[n++] = "certonly";
                args[n++] = "--non-interactive";
                args[n++] = "--agree-tos";
                args[n++] = "--email";
                args[n++] = a->acme_email;
                if (a->acme_directory) {
                        args[n++] = "--server";
                        args[n++] = a->acme_directory;
                }
                args[n++] = "--cert-name";
                args[n++] = a->hostname;
                args[n++] = "--domain";
                args[n++] = a->hostname;
                if (a->acme_challenge == ANSWERS_ACME_WEBROOT) {
                        args[n++] = "--webroot";
                        args[n++] = "--webroot-path";
                        args[n++] = a->acme_webroot;
                } else
                        args[n++] = "--standalone";
                args[n] = NULL;
                const char *del[] = { "certbot", "delete", "--non-interactive", "--cert-name", a->hostname, NULL };
                Action *act;

                if ((r = certbot_argv(ins, args, &run)) < 0 || (r = certbot_argv(ins, del, &undo)) < 0)
                        return r;
                r = step_plan_note(sp, NOTE_INFO, _("a certificate for %s from %s (%s): %s"), a->hostname,
                                   a->acme_directory ? a->acme_directory : _("Let's Encrypt"),
                                   a->acme_challenge == ANSWERS_ACME_WEBROOT ? _("http-01 through the web root")
                                                                             : _("http-01 on port 80"),
                                   _(why));
                if (r < 0)
                        return r;
                r = step_plan_run(sp, NULL, (const char *const *) run, NULL, (const char *const *) undo, &act);
                if (r < 0)
                        return r;
                if (a->acme_ca_bundle) {
                        act->envp = calloc(4, sizeof(char *));
                        if (!act->envp || !(act->envp[0] = strdup("PATH=" SPAWN_SAFE_PATH)) ||
                            !(act->envp[1] = strdup("LC_ALL=C")) ||
                            asprintf(&act->envp[2], "REQUESTS_CA_BUNDLE=%s", a->acme_ca_bundle) < 0) {
                                if (act->envp)
                                        act->envp[2] = NULL;
                                return -ENOMEM;
                        }
                }
        }
        return step_plan_file(ins, sp, ACME_HOOK, acme_hook, strlen(acme_hook), 0755, NULL, NULL, false);
}

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *cert_path = NULL, *key_path = NULL, *cert = NULL, *key = NULL;
        _cleanup_free_ char *ncert = NULL, *nkey = NULL, *err = NULL;
        _cleanup_(loaded_done) Loaded l = {};
        size_t cs = 0, ks = 0, ncs, nks;
        const char *why;
        int r;

        if (a->tls_source == ANSWERS_TLS_FILES)
                return inspect_files(ins, sp);
        if (a->tls_source == ANSWERS_TLS_ACME)
                return inspect_acme(ins, sp);

        r = tls_paths(ins, &cert_path, &key_path);
        if (r < 0)
                return r;
        if (installer_read(ins, cert_path, &cert, &cs) >= 0 &&
            installer_read(ins, key_path, &key, &ks) >= 0) {
                r = load_pem(cert, cs, key, ks, &l);
                if (r < 0) {
                        OPENSSL_cleanse(key, ks);
                        return r;
                }
                why = unusable(&l, a->hostname, (time_t) installer_now(ins), RENEW_BEFORE_DAYS, false);
                if (!why) {
                        /* still record it as ours, and fix a key mode gone wrong */
                        r = step_plan_file(ins, sp, key_path, key, ks, 0600, NULL, NULL, true);
                        OPENSSL_cleanse(key, ks);
                        if (r < 0)
                                return r;
                        return step_plan_file(ins, sp, cert_path, cert, cs, 0644, NULL, NULL, true);
                }
                OPENSSL_cleanse(key, ks);
                r = step_plan_note(sp, NOTE_INFO, _("replacing %s: %s"), cert_path, _(why));
                if (r < 0)
                        return r;
        } else if (key)
                OPENSSL_cleanse(key, ks);

        /* the key directory, if missing, must not be created world-readable */
        _cleanup_free_ char *kdir = installer_path(ins, installer_profile(ins)->key_dir);
        if (!kdir)
                return -ENOMEM;
        if (access(kdir, F_OK) < 0 &&
            (r = step_plan_mkdir(sp, installer_profile(ins)->key_dir, 0700, NULL, NULL)) < 0)
                return r;

        r = make_self_signed(a->hostname, (time_t) installer_now(ins), &ncert, &ncs, &nkey, &nks, &err);
        if (r < 0) {
                if (err)
                        return step_plan_note(sp, NOTE_ERROR, _("cannot make a certificate: %s"), err);
                return r;
        }
        r = step_plan_note(sp, NOTE_INFO, _("a self-signed certificate for %s, valid %d days "
                                            "(mail clients will ask to trust it once)"),
                           a->hostname, VALIDITY_DAYS);
        if (r >= 0)
                r = step_plan_file(ins, sp, key_path, nkey, nks, 0600, NULL, NULL, true);
        if (r >= 0)
                r = step_plan_file(ins, sp, cert_path, ncert, ncs, 0644, NULL, NULL, true);
        OPENSSL_cleanse(nkey, nks);
        return r;
}

const Step step_tls = {
        .name = "tls",
        .title = N_("certificate and key"),
        .inspect = inspect,
};
