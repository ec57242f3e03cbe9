/* cert.renewal: does each TLS listener serve the certificate its configuration names on
 * disk? After a renewal (certbot, a copied file) Postfix and Dovecot keep the old one until
 * they reload: "renewed but not reloaded" is the commonest certificate complaint. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certrenewal.h"
#include "deadline.h"
#include "fileio.h"
#include "macro.h"
#include "mailproto.h"
#include "postconf.h"
#include "tlsprobe.h"

#define MAX_PEM ((size_t) 1 << 20)

typedef enum Daemon { DAEMON_POSTFIX, DAEMON_DOVECOT, _DAEMON_MAX } Daemon;

static const struct {
        const char *name;      /* as --port names it */
        unsigned port;
        Daemon daemon;
        bool implicit;
        bool smtp;
} listeners[] = {
        { "smtp", 25, DAEMON_POSTFIX, false, true },
        { "submission", 587, DAEMON_POSTFIX, false, true },
        { "smtps", 465, DAEMON_POSTFIX, true, true },
        { "imaps", 993, DAEMON_DOVECOT, true, false },
        { "pop3s", 995, DAEMON_DOVECOT, true, false },
};

static const char *const daemon_names[_DAEMON_MAX] = { "Postfix", "Dovecot" };
static const char *const reload_commands[_DAEMON_MAX] = { "postfix reload", "doveadm reload" };

/* The first certificate in a PEM file (the leaf: Postfix's chain files and Dovecot's
 * ssl_cert list it first), or NULL. */
static X509 *first_cert(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        X509 *x = NULL;

        /* bounded: a certificate file is small */
        if (read_file_bounded(path, MAX_PEM, &data, &size) < 0)
                return NULL;
        BIO *b = BIO_new_mem_buf(data, (int) size);
        if (!b)
                return NULL;
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        ERR_clear_error();
        return x;
}

/* Postfix's certificate file: the first of smtpd_tls_chain_files holding a certificate,
 * else smtpd_tls_cert_file. */
static int postfix_cert(const CheckContext *ctx, char **ret_path, X509 **ret_cert) {
        static const char *const names[] = { "smtpd_tls_chain_files", "smtpd_tls_cert_file", NULL };
        _cleanup_strv_free_ char **v = NULL, **chain = NULL;
        int r;

        r = postconf_get(ctx, names, &v, NULL);
        if (r < 0)
                return r;
        if (postfix_list_split(v[0], &chain) < 0)
                return -ENOMEM;
        for (char **c = chain; *c; c++) {
                X509 *x = first_cert(*c);
                if (x) {
                        *ret_cert = x;
                        *ret_path = strdup(*c);
                        return *ret_path ? 0 : -ENOMEM;
                }
        }
        if (!*v[1])
                return -ENOENT;
        *ret_path = strdup(v[1]);
        if (!*ret_path)
                return -ENOMEM;
        *ret_cert = first_cert(v[1]);
        return 0;
}

static int dovecot_cert(const CheckContext *ctx, char **ret_path, X509 **ret_cert) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = doveconf_get(ctx, "ssl_cert", &v, NULL);
        if (r < 0)
                return r;
        /* "</etc/ssl/certs/x.pem": the value is the file */
        const char *p = v + strspn(v, " \t<");
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0)
                return -ENOENT;
        *ret_path = strndup(p, n);
        if (!*ret_path)
                return -ENOMEM;
        *ret_cert = first_cert(*ret_path);
        return 0;
}

static unsigned listener_port(const CheckContext *ctx, size_t i) {
        for (size_t k = 0; k < ctx->n_ports; k++)
                if (streq(ctx->ports[k].service, listeners[i].name))
                        return ctx->ports[k].port;
        return listeners[i].port;
}

/* Where to connect: --connect when it is an address, else loopback (the files compared
 * are this host's). */
static int target_addr(const CheckContext *ctx, unsigned port, struct sockaddr_storage *ss, socklen_t *len) {
        const char *a = ctx->connect && *ctx->connect ? ctx->connect : "127.0.0.1";
        struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

        *ss = (struct sockaddr_storage) {};
        if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t) port);
                *len = sizeof(*s4);
                return 0;
        }
        if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t) port);
                *len = sizeof(*s6);
                return 0;
        }
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons((uint16_t) port);
        *len = sizeof(*s4);
        return 0;
}

/* SMTP up to an accepted STARTTLS. */
static int smtp_starttls(MailConn *c) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        int r;

        r = mailconn_read_smtp_reply(c, &reply);
        if (r < 0)
                return r;
        if (reply.code != 220)
                return -EPROTO;
        static const char *const cmds[] = { "EHLO mxdeck-probe.invalid", "STARTTLS" };
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                smtp_reply_done(&reply);
                r = mailconn_writef(c, "%s\r\n", cmds[i]);
                if (r < 0)
                        return r;
                r = mailconn_read_smtp_reply(c, &reply);
                if (r < 0)
                        return r;
                if (reply.code != (i == 0 ? 250 : 220))
                        return -EPROTO;
        }
        return 0;
}

/* The leaf certificate the listener serves, or NULL with *ret_why. */
static X509 *served_cert(const CheckContext *ctx, SSL_CTX *sctx, size_t i, char **ret_why) {
        MailConn c = { .fd = -1 };
        struct sockaddr_storage ss;
        socklen_t len;
        _cleanup_free_ char *err = NULL;
        X509 *x = NULL;
        int r;

        target_addr(ctx, listener_port(ctx, i), &ss, &len);
        r = mailconn_connect(&c, &ss, len, NULL, 0, ctx->deadline.usec);
        if (r >= 0 && !listeners[i].implicit)
                r = smtp_starttls(&c);
        if (r >= 0)
                r = tls_handshake(&c, sctx, ctx->host, &err);
        if (r >= 0) {
                x = SSL_get1_peer_certificate(c.ssl);
                if (!x)
                        r = -ENOKEY;
        }
        if (r < 0 && asprintf(ret_why, "%s", err ? err : r == -EPROTO ? _("no STARTTLS") :
                              r == -ENOKEY ? _("no certificate") : mailproto_strerror(r)) < 0)
                *ret_why = NULL;
        if (c.ssl)
                (void) SSL_shutdown(c.ssl);
        mailconn_close(&c);
        return x;
}

static char *describe(X509 *x) {
        char nb[64] = "?", na[64] = "?";
        BIO *b = BIO_new(BIO_s_mem());
        char *p, *s = NULL;

        if (!b)
                return NULL;
        if (ASN1_TIME_print(b, X509_get0_notBefore(x)) > 0) {
                long n = BIO_get_mem_data(b, &p);
                snprintf(nb, sizeof(nb), "%.*s", (int) MIN(n, 63), p);
        }
        (void) BIO_reset(b);
        if (ASN1_TIME_print(b, X509_get0_notAfter(x)) > 0) {
                long n = BIO_get_mem_data(b, &p);
                snprintf(na, sizeof(na), "%.*s", (int) MIN(n, 63), p);
        }
        BIO_free(b);
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (asprintf(&s, _("serial %s, valid %s to %s"), hex ? hex : "?", nb, na) < 0)
                s = NULL;
        OPENSSL_free(hex);
        BN_free(bn);
        return s;
}

int check_cert_renewal(const CheckContext *ctx, FindingList *out) {
        SSL_CTX *sctx = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = tls_client_ctx_new(ctx->ca_file, 0, &sctx, &err);
        if (r < 0) {
                Finding *f = findings_addf(out, "cert.renewal", "", STATUS_UNKNOWN,
                                           _("not tested: no TLS client: %s"), strempty(err));
                return f ? 0 : -ENOMEM;
        }
        for (Daemon d = 0; d < _DAEMON_MAX && r >= 0; d++) {
                _cleanup_free_ char *path = NULL, *detail = NULL, *disk_desc = NULL;
                X509 *disk = NULL;
                size_t same = 0, differ = 0, tested = 0;
                Finding *f;

                r = d == DAEMON_POSTFIX ? postfix_cert(ctx, &path, &disk) : dovecot_cert(ctx, &path, &disk);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        /* no TLS configured (or the tool missing): cert.files says so */
                        r = 0;
                        continue;
                }
                if (!disk) {
                        f = findings_addf(out, "cert.renewal", path, STATUS_UNKNOWN,
                                          _("not tested: %s's certificate file %s cannot be read (see cert.files)"),
                                          daemon_names[d], path);
                        r = f ? 0 : -ENOMEM;
                        continue;
                }
                disk_desc = describe(disk);
                for (size_t i = 0; i < ELEMENTSOF(listeners); i++) {
                        _cleanup_free_ char *why = NULL, *line = NULL, *desc = NULL;
                        if (listeners[i].daemon != d)
                                continue;
                        X509 *x = served_cert(ctx, sctx, i, &why);
                        unsigned port = listener_port(ctx, i);
                        if (!x) {
                                if (asprintf(&line, _("port %u: not compared (%s)"), port, strempty(why)) < 0)
                                        line = NULL;
                        } else {
                                bool eq = X509_cmp(x, disk) == 0;
                                tested++;
                                eq ? same++ : differ++;
                                desc = describe(x);
                                if (asprintf(&line, eq ? _("port %u: serves the certificate on disk")
                                                       : _("port %u: serves another certificate (%s)"),
                                             port, strempty(desc)) < 0)
                                        line = NULL;
                                X509_free(x);
                        }
                        if (!line) {
                                r = -ENOMEM;
                                break;
                        }
                        char *n;
                        if (asprintf(&n, "%s%s%s", strempty(detail), detail ? "\n" : "", line) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(detail);
                        detail = n;
                }
                X509_free(disk);
                if (r < 0)
                        break;
                if (tested == 0)
                        f = findings_addf(out, "cert.renewal", path, STATUS_UNKNOWN,
                                          _("not tested: no %s TLS listener answered"), daemon_names[d]);
                else if (differ > 0)
                        f = findings_addf(out, "cert.renewal", path, STATUS_WARNING,
                                          _("%s serves a different certificate than %s: renewed but not "
                                            "reloaded"), daemon_names[d], path);
                else
                        f = findings_addf(out, "cert.renewal", path, STATUS_OK,
                                          _("%s serves the certificate in %s"), daemon_names[d], path);
                if (!f || finding_set_detail(f, _("%s on disk: %s\n%s"), path, strempty(disk_desc),
                                             strempty(detail)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (differ > 0 &&
                    (finding_set_remedy(f, _("Reload %s so that it reads the renewed certificate (a "
                                             "reload keeps connections open):"), daemon_names[d]) < 0 ||
                     finding_add_command(f, "%s", reload_commands[d]) < 0)) {
                        r = -ENOMEM;
                        break;
                }
        }
        tls_client_ctx_free(sctx);
        return r < 0 ? r : 0;
}
