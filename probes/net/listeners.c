/* port.*, tls.*, smtp.*, imap.*, pop3.*: every mail listener probed at once, each with a deadline. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>

#include "listeners.h"
#include "macro.h"
#include "mailproto.h"
#include "resolve.h"
#include "postconf.h"
#include "tlsprobe.h"

#define MAX_ADDRS 4
#define GREETING_MAX 1024u /* bytes of a greeting kept as evidence */
#define EHLO_NAME "mxdeck-probe.invalid"
/* A domain that is certainly not ours: RFC 2606 reserves it. */
#define RELAY_RCPT "mxdeck-relay-test@example.net"

typedef enum Proto { PROTO_SMTP, PROTO_IMAP, PROTO_POP3 } Proto;

typedef struct Service {
        const char *name;
        unsigned port;
        Proto proto;
        bool implicit_tls;
        const char *login; /* Dovecot: the login service owning its inet_listener */
} Service;

static const Service services[] = {
        { "smtp", 25, PROTO_SMTP, false, NULL },
        { "submission", 587, PROTO_SMTP, false, NULL },
        { "smtps", 465, PROTO_SMTP, true, NULL },
        { "imap", 143, PROTO_IMAP, false, "imap-login" },
        { "imaps", 993, PROTO_IMAP, true, "imap-login" },
        { "pop3", 110, PROTO_POP3, false, "pop3-login" },
        { "pop3s", 995, PROTO_POP3, true, "pop3-login" },
};
#define N_SERVICES ELEMENTSOF(services)

/* The main probe, and a second connection that offers only TLS 1.0 and 1.1. */
typedef enum Variant { VARIANT_MAIN, VARIANT_LEGACY, _VARIANT_MAX } Variant;

typedef enum Stage {
        STAGE_NONE,         /* not run */
        STAGE_CONNECT,      /* failed to connect */
        STAGE_TLS_FIRST,    /* implicit TLS failed before the greeting */
        STAGE_GREETING,     /* greeting missing or broken */
        STAGE_DIALOGUE,     /* greeting fine, a later step failed */
        STAGE_DONE,
} Stage;

typedef enum StartTls { STARTTLS_NOT_TRIED, STARTTLS_NOT_OFFERED, STARTTLS_REFUSED, STARTTLS_OK } StartTls;

typedef enum Relay { RELAY_NOT_RUN, RELAY_REFUSED, RELAY_ACCEPTED, RELAY_MAIL_REFUSED, RELAY_ERROR } Relay;

typedef struct Result {
        Stage stage;
        int error;                  /* of the failing step */
        char *error_text;           /* words for it (TLS reasons, the reply) */
        char target[INET6_ADDRSTRLEN + 10];
        struct sockaddr_storage local;
        socklen_t local_len;
        bool same_address;          /* client and server address equal (Dovecot: "secured") */
        uint64_t latency_ms, duration_ms;
        bool greeting_ok;
        char *greeting;             /* raw, bounded */
        /* SMTP */
        bool ehlo_ok;
        char *ehlo;                 /* the EHLO reply */
        bool has_starttls, has_auth;
        Relay relay;
        char *relay_text;
        /* IMAP / POP3 */
        bool caps_ok;
        char *caps;
        bool plaintext_allowed;
        /* TLS */
        StartTls starttls;
        char *starttls_reply;
        bool tls_ok;
        TlsInfo tls;
        int legacy_version;         /* what the legacy-only handshake got */
} Result;

typedef struct Shared {
        const CheckContext *ctx;
        const char *host;                 /* SNI and name check */
        struct sockaddr_storage addrs[MAX_ADDRS];
        socklen_t addr_lens[MAX_ADDRS];
        size_t n_addrs;
        SSL_CTX *tls_ctx[_VARIANT_MAX];
        uint64_t deadline_usec;
        bool want_relay;
} Shared;

typedef struct Job {
        const Shared *shared;
        const Service *svc;
        unsigned port;
        Variant variant;
        Result res;
} Job;

static void result_done(Result *r) {
        free(r->error_text);
        free(r->greeting);
        free(r->ehlo);
        free(r->relay_text);
        free(r->caps);
        free(r->starttls_reply);
        tls_info_done(&r->tls);
}

static void append_bounded(char **s, const char *line, size_t len) {
        size_t have = *s ? strlen(*s) : 0;
        if (have >= GREETING_MAX)
                return;
        len = MIN(len, GREETING_MAX - have);
        char *n = realloc(*s, have + len + 2);
        if (!n)
                return;
        if (have > 0)
                n[have++] = '\n';
        memcpy(n + have, line, len);
        n[have + len] = '\0';
        *s = n;
}

static void set_error(Result *r, Stage stage, int error, const char *text) {
        r->stage = stage;
        r->error = error;
        free(r->error_text);
        r->error_text = text ? strdup(text) : NULL;
}

static bool ipv4_loopback(const struct sockaddr_storage *ss) {
        return ss->ss_family == AF_INET &&
               (ntohl(((const struct sockaddr_in *) ss)->sin_addr.s_addr) >> 24) == 127;
}

static void format_target(const struct sockaddr_storage *ss, unsigned port, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN] = "?";
        if (ss->ss_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) ss)->sin_addr, a, sizeof(a));
        else if (ss->ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ss)->sin6_addr, a, sizeof(a));
        snprintf(buf, size, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET)
                return ((const struct sockaddr_in *) a)->sin_addr.s_addr == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
        if (a->ss_family == AF_INET6)
                return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr, &((const struct sockaddr_in6 *) b)->sin6_addr,
                              sizeof(struct in6_addr)) == 0;
        return false;
}

/* Tries the addresses in order until one accepts. A loopback IPv4 server is reached from
 * another loopback address (127.0.0.2): servers treat "client address = server address" as
 * a trusted local connection (Dovecot allows plaintext login then), which would hide the
 * very problems these probes look for. */
static int connect_any(Job *j, MailConn *c) {
        const Shared *s = j->shared;
        int r = -EADDRNOTAVAIL;

        for (size_t i = 0; i < s->n_addrs; i++) {
                struct sockaddr_storage ss = s->addrs[i], src = {};
                struct sockaddr_in *src4 = (struct sockaddr_in *) &src;
                bool bind_it = false;

                if (ss.ss_family == AF_INET)
                        ((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) j->port);
                else
                        ((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) j->port);
                format_target(&ss, j->port, j->res.target, sizeof(j->res.target));
                if (ipv4_loopback(&ss)) {
                        in_addr_t dst = ntohl(((struct sockaddr_in *) &ss)->sin_addr.s_addr);
                        src4->sin_family = AF_INET;
                        src4->sin_addr.s_addr = htonl(dst == 0x7f000002 ? 0x7f000003 : 0x7f000002);
                        bind_it = true;
                }
                r = mailconn_connect(c, &ss, s->addr_lens[i], bind_it ? &src : NULL, sizeof(struct sockaddr_in),
                                     s->deadline_usec);
                if (r >= 0) {
                        j->res.local_len = sizeof(j->res.local);
                        if (getsockname(c->fd, (struct sockaddr *) &j->res.local, &j->res.local_len) < 0)
                                j->res.local_len = 0;
                        j->res.same_address = j->res.local_len > 0 && same_ip(&j->res.local, &ss);
                        return 0;
                }
                mailconn_close(c);
                if (r == -ETIMEDOUT)
                        break; /* the time is gone for the others too */
        }
        return r;
}

/* ---- Greetings ---- */

static int greeting_smtp(Job *j, MailConn *c) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        for (;;) {
                const char *line;
                int n = mailconn_read_line(c, &line);
                if (n < 0)
                        return n;
                append_bounded(&j->res.greeting, line, (size_t) n);
                int r = smtp_reply_feed(&reply, line, (size_t) n);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
        }
        if (reply.code != 220)
                return -MAILPROTO_E_MALFORMED;
        return 0;
}

static void caps_cb(const ImapLine *l, void *userdata) {
        Result *r = userdata;
        if (l->kind == IMAP_UNTAGGED && l->status == IMAP_OTHER && strncasecmp(l->rest, "CAPABILITY", 10) == 0) {
                free(r->caps);
                r->caps = strndup(l->rest, GREETING_MAX);
        }
}

static int greeting_imap(Job *j, MailConn *c) {
        const char *line;
        ImapLine l;
        int n = mailconn_read_line(c, &line);
        if (n < 0)
                return n;
        append_bounded(&j->res.greeting, line, (size_t) n);
        if ((size_t) n != strlen(line) || imap_parse_line(line, &l) < 0 || l.kind != IMAP_UNTAGGED ||
            (l.status != IMAP_OK && l.status != IMAP_PREAUTH))
                return -MAILPROTO_E_MALFORMED;
        /* "* OK [CAPABILITY ...]": kept in case CAPABILITY itself answers nothing useful. */
        if (strncasecmp(l.rest, "[CAPABILITY ", 12) == 0)
                j->res.caps = strndup(l.rest + 1, MIN(strcspn(l.rest + 1, "]"), (size_t) GREETING_MAX));
        return 0;
}

static int greeting_pop3(Job *j, MailConn *c) {
        const char *line;
        int n = mailconn_read_line(c, &line);
        if (n < 0)
                return n;
        append_bounded(&j->res.greeting, line, (size_t) n);
        return pop3_parse_status(line) == POP3_OK ? 0 : -MAILPROTO_E_MALFORMED;
}

static int read_greeting(Job *j, MailConn *c) {
        switch (j->svc->proto) {
        case PROTO_SMTP:
                return greeting_smtp(j, c);
        case PROTO_IMAP:
                return greeting_imap(j, c);
        default:
                return greeting_pop3(j, c);
        }
}

/* ---- Dialogues before STARTTLS ---- */

static int smtp_command(MailConn *c, const char *cmd, SmtpReply *reply) {
        smtp_reply_done(reply);
        int r = mailconn_writef(c, "%s\r\n", cmd);
        if (r < 0)
                return r;
        return mailconn_read_smtp_reply(c, reply);
}

static char *reply_text_or(const SmtpReply *r, const char *fallback) {
        char *s = r->n_lines > 0 ? smtp_reply_text(r) : NULL;
        return s ? s : strdup(fallback);
}

static void relay_test(Job *j, MailConn *c) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        Result *res = &j->res;
        int r;

        /* The null sender passes sender checks everywhere (bounces must), so the answer to
         * RCPT is about relaying alone. Never DATA: nothing is ever sent. */
        r = smtp_command(c, "MAIL FROM:<>", &reply);
        if (r < 0) {
                res->relay = RELAY_ERROR;
                res->relay_text = strdup(mailproto_strerror(r));
                return;
        }
        if (reply.code / 100 != 2) {
                res->relay = RELAY_MAIL_REFUSED;
                res->relay_text = reply_text_or(&reply, "");
                return;
        }
        r = smtp_command(c, "RCPT TO:<" RELAY_RCPT ">", &reply);
        if (r < 0) {
                res->relay = RELAY_ERROR;
                res->relay_text = strdup(mailproto_strerror(r));
                return;
        }
        res->relay = reply.code / 100 == 2 ? RELAY_ACCEPTED : RELAY_REFUSED;
        res->relay_text = reply_text_or(&reply, "");
        (void) smtp_command(c, "RSET", &reply);
}

static int dialogue_smtp(Job *j, MailConn *c, bool main_probe) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        Result *res = &j->res;
        int r;

        r = smtp_command(c, "EHLO " EHLO_NAME, &reply);
        if (r < 0)
                return r;
        if (main_probe)
                res->ehlo = reply_text_or(&reply, "");
        if (reply.code != 250)
                return -MAILPROTO_E_MALFORMED;
        res->ehlo_ok = true;
        res->has_starttls = smtp_ehlo_has(&reply, "STARTTLS");
        res->has_auth = smtp_ehlo_has(&reply, "AUTH");

        if (main_probe && j->shared->want_relay && j->svc->port == 25)
                relay_test(j, c);

        if (!res->has_starttls) {
                res->starttls = STARTTLS_NOT_OFFERED;
                (void) mailconn_writef(c, "QUIT\r\n");
                return 0;
        }
        r = smtp_command(c, "STARTTLS", &reply);
        if (r < 0)
                return r;
        if (reply.code != 220) {
                res->starttls = STARTTLS_REFUSED;
                res->starttls_reply = reply_text_or(&reply, "");
                return 0;
        }
        res->starttls = STARTTLS_OK;
        return 0;
}

static int dialogue_imap(Job *j, MailConn *c) {
        Result *res = &j->res;
        int r;

        r = mailconn_writef(c, "m1 CAPABILITY\r\n");
        if (r < 0)
                return r;
        r = mailconn_read_imap_tagged(c, "m1", caps_cb, res);
        if (r < 0)
                return r;
        if (r == IMAP_OK && res->caps) {
                res->caps_ok = true;
                res->has_starttls = imap_capability_has(res->caps, "STARTTLS");
                res->plaintext_allowed = !imap_capability_has(res->caps, "LOGINDISABLED") ||
                                         imap_capability_has(res->caps, "AUTH=PLAIN") ||
                                         imap_capability_has(res->caps, "AUTH=LOGIN");
        }
        if (!res->has_starttls) {
                res->starttls = STARTTLS_NOT_OFFERED;
                (void) mailconn_writef(c, "m9 LOGOUT\r\n");
                return 0;
        }
        r = mailconn_writef(c, "m2 STARTTLS\r\n");
        if (r < 0)
                return r;
        r = mailconn_read_imap_tagged(c, "m2", NULL, NULL);
        if (r < 0)
                return r;
        res->starttls = r == IMAP_OK ? STARTTLS_OK : STARTTLS_REFUSED;
        return 0;
}

static int dialogue_pop3(Job *j, MailConn *c) {
        _cleanup_(pop3_capa_done) Pop3Capa capa = {};
        Result *res = &j->res;
        const char *line;
        int n, r;

        r = mailconn_writef(c, "CAPA\r\n");
        if (r < 0)
                return r;
        n = mailconn_read_line(c, &line);
        if (n < 0)
                return n;
        if (pop3_parse_status(line) == POP3_OK) {
                for (;;) {
                        n = mailconn_read_line(c, &line);
                        if (n < 0)
                                return n;
                        r = pop3_capa_feed(&capa, line, (size_t) n);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                break;
                }
                res->caps_ok = true;
                for (size_t i = 0; i < capa.n_lines; i++)
                        append_bounded(&res->caps, capa.lines[i], strlen(capa.lines[i]));
                const char *sasl = pop3_capa_has(&capa, "SASL");
                res->has_starttls = pop3_capa_has(&capa, "STLS");
                res->plaintext_allowed = pop3_capa_has(&capa, "USER") || (sasl && sasl_list_has_plaintext(sasl));
        }
        if (!res->caps_ok || !res->has_starttls) {
                /* Without CAPA, STLS may still work (RFC 2595): try it. */
                if (res->caps_ok) {
                        res->starttls = STARTTLS_NOT_OFFERED;
                        (void) mailconn_writef(c, "QUIT\r\n");
                        return 0;
                }
        }
        r = mailconn_writef(c, "STLS\r\n");
        if (r < 0)
                return r;
        n = mailconn_read_line(c, &line);
        if (n < 0)
                return n;
        if (pop3_parse_status(line) != POP3_OK) {
                res->starttls = res->caps_ok ? STARTTLS_REFUSED : STARTTLS_NOT_OFFERED;
                res->starttls_reply = strndup(line, GREETING_MAX);
                return 0;
        }
        res->starttls = STARTTLS_OK;
        return 0;
}

static void say_goodbye(Job *j, MailConn *c) {
        /* Best effort, no waiting for the answer: the server logs a clean end. A write that
         * cannot go out at once gets a moment, not the rest of the probe's time. */
        c->deadline_usec = MIN(c->deadline_usec, mailproto_now_usec() + 100000u);
        (void) mailconn_writef(c, j->svc->proto == PROTO_IMAP ? "m9 LOGOUT\r\n" : "QUIT\r\n");
        if (c->ssl)
                (void) SSL_shutdown(c->ssl);
}

static void run_job(Job *j) {
        const Shared *s = j->shared;
        Result *res = &j->res;
        MailConn c = { .fd = -1 };
        SSL_CTX *ctx = s->tls_ctx[j->variant];
        bool main_probe = j->variant == VARIANT_MAIN;
        _cleanup_free_ char *err = NULL;
        uint64_t t0 = mailproto_now_usec();
        int r;

        r = connect_any(j, &c);
        if (r < 0) {
                set_error(res, STAGE_CONNECT, r, NULL);
                goto finish;
        }
        if (j->svc->implicit_tls) {
                r = tls_handshake(&c, ctx, s->host, &err);
                if (r < 0) {
                        set_error(res, STAGE_TLS_FIRST, r, err);
                        goto finish;
                }
                res->tls_ok = true;
                if (!main_probe) {
                        res->legacy_version = SSL_version(c.ssl);
                        goto done;
                }
                if (tls_inspect(&c, ctx, s->host, &res->tls) < 0) {
                        set_error(res, STAGE_DIALOGUE, -ENOMEM, NULL);
                        goto finish;
                }
        }
        r = read_greeting(j, &c);
        if (r < 0) {
                set_error(res, STAGE_GREETING, r, NULL);
                goto finish;
        }
        res->greeting_ok = true;
        res->latency_ms = (mailproto_now_usec() - t0) / 1000;

        if (!j->svc->implicit_tls) {
                r = j->svc->proto == PROTO_SMTP ? dialogue_smtp(j, &c, main_probe)
                    : j->svc->proto == PROTO_IMAP ? dialogue_imap(j, &c)
                                                  : dialogue_pop3(j, &c);
                if (r < 0) {
                        set_error(res, STAGE_DIALOGUE, r, NULL);
                        goto finish;
                }
                if (res->starttls != STARTTLS_OK)
                        goto done;
                r = tls_handshake(&c, ctx, s->host, &err);
                if (r < 0) {
                        set_error(res, STAGE_DIALOGUE, r, err);
                        goto finish;
                }
                res->tls_ok = true;
                if (!main_probe)
                        res->legacy_version = SSL_version(c.ssl);
                if (main_probe && tls_inspect(&c, ctx, s->host, &res->tls) < 0) {
                        set_error(res, STAGE_DIALOGUE, -ENOMEM, NULL);
                        goto finish;
                }
        }
done:
        res->stage = STAGE_DONE;
        say_goodbye(j, &c);
finish:
        mailconn_close(&c);
        res->duration_ms = (mailproto_now_usec() - t0) / 1000;
}

static void *job_thread(void *userdata) {
        run_job(userdata);
        return NULL;
}

/* ---- Findings ---- */

/* Commands in remedies: systemctl only where systemd runs the daemons. */
static const char *reload_cmd(const CheckContext *ctx, bool postfix, bool dovecot) {
        if (postfix && dovecot)
                return ctx->systemd ? "systemctl reload postfix dovecot" : "postfix reload; doveadm reload";
        if (postfix)
                return ctx->systemd ? "systemctl reload postfix" : "postfix reload";
        return ctx->systemd ? "systemctl reload dovecot" : "doveadm reload";
}

static const char *start_cmd(const CheckContext *ctx, bool postfix) {
        if (postfix)
                return ctx->systemd ? "systemctl start postfix" : "postfix start";
        return ctx->systemd ? "systemctl start dovecot" : "dovecot";
}

static const char *relay_remedy(void) {
        return _("Put reject_unauth_destination before any permit that strangers can reach: "
                 "postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                 "reject_unauth_destination'; keep mynetworks to your own hosts; then 'postfix reload'.");
}

static char *dovecot_plaintext_remedy(const CheckContext *ctx) {
        char *s = NULL;
        if (asprintf(&s,
                     _("In Dovecot's 10-auth.conf set 'disable_plaintext_auth = yes' (Dovecot 2.4: "
                       "'auth_allow_cleartext = no'), so passwords are only accepted after STARTTLS or on "
                       "993/995; then '%s'."),
                     reload_cmd(ctx, false, true)) < 0)
                return NULL;
        return s;
}

/* A deploy hook that reloads both daemons after every renewal (certbot runs the files in
 * renewal-hooks/deploy/ by itself; a bare "certbot --deploy-hook" would run "certbot run"). */
static char *deploy_hook_text(const CheckContext *ctx) {
        char *s = NULL;
        if (asprintf(&s,
                     _("Make renewals reload the daemons: put a script in /etc/letsencrypt/renewal-hooks/deploy/:\n"
                       "printf '#!/bin/sh\\n%s\\n' > /etc/letsencrypt/renewal-hooks/deploy/reload-mail && "
                       "chmod 755 /etc/letsencrypt/renewal-hooks/deploy/reload-mail"),
                     reload_cmd(ctx, true, true)) < 0)
                return NULL;
        return s;
}

static char *certbot_remedy(const CheckContext *ctx, const char *host) {
        _cleanup_free_ char *hook = deploy_hook_text(ctx);
        char *s = NULL;
        const char *h = host && *host ? host : "mail.example.org";
        if (!hook)
                return NULL;
        if (asprintf(&s,
                     _("Get a certificate from a public CA, e.g. Let's Encrypt: "
                       "certbot certonly --standalone -d %s (or --webroot -w DIR); then\n"
                       "postconf -e 'smtpd_tls_chain_files = /etc/letsencrypt/live/%s/privkey.pem, "
                       "/etc/letsencrypt/live/%s/fullchain.pem'\n"
                       "Dovecot 10-ssl.conf: ssl_cert = </etc/letsencrypt/live/%s/fullchain.pem and "
                       "ssl_key = </etc/letsencrypt/live/%s/privkey.pem\n"
                       "then: %s\n%s"),
                     h, h, h, h, h, reload_cmd(ctx, true, true), hook) < 0)
                return NULL;
        return s;
}

/* Expired or expiring: what renews it depends on who issued it. A self-signed or private-CA
 * certificate is not renewed by certbot at all; Let's Encrypt's is. */
static char *expiry_remedy(const CheckContext *ctx, const TlsInfo *t, const char *host) {
        char *s = NULL;
        bool lets_encrypt = t->issuer && strstr(t->issuer, "Let's Encrypt");
        bool private_ca = !lets_encrypt && (t->chain != TLS_CHAIN_OK || ctx->ca_file);

        if (private_ca) {
                _cleanup_free_ char *rem = certbot_remedy(ctx, host);
                if (!rem || asprintf(&s, _("This certificate is %s: certbot cannot renew it. Replace it with a "
                                           "real one. %s"),
                                     t->chain == TLS_CHAIN_SELF_SIGNED ? _("self-signed") : _("from a private CA"),
                                     rem) < 0)
                        return NULL;
                return s;
        }
        if (lets_encrypt) {
                _cleanup_free_ char *hook = deploy_hook_text(ctx);
                if (!hook || asprintf(&s, _("Renew it: certbot renew (see why the automatic renewal did not: "
                                            "%s); then %s.\n%s"),
                                      ctx->systemd ? "systemctl list-timers certbot.timer; journalctl -u certbot"
                                                   : "/var/log/letsencrypt/letsencrypt.log",
                                      reload_cmd(ctx, true, true), hook) < 0)
                        return NULL;
                return s;
        }
        if (asprintf(&s, _("Renew it with its CA (%s), install the new certificate and then %s."), strempty(t->issuer),
                     reload_cmd(ctx, true, true)) < 0)
                return NULL;
        return s;
}

static char *tls_setting_hint(const CheckContext *ctx, const Service *svc) {
        char *s = NULL;
        int r = svc->proto == PROTO_SMTP
                ? asprintf(&s, "%s", _("Postfix: smtpd_tls_chain_files (or smtpd_tls_cert_file/smtpd_tls_key_file) in "
                                       "main.cf, then 'postfix reload'."))
                : asprintf(&s, _("Dovecot: ssl_cert and ssl_key in 10-ssl.conf, then '%s'."), reload_cmd(ctx, false, true));
        return r < 0 ? NULL : s;
}

static int set_hint_remedy(const CheckContext *ctx, Finding *f, const Service *svc, const char *prefix) {
        _cleanup_free_ char *hint = tls_setting_hint(ctx, svc);
        if (!hint)
                return -ENOMEM;
        return finding_set_remedy(f, "%s%s", strempty(prefix), hint);
}

/* What we learnt about a service beyond the probe: is it configured at all, and does its
 * daemon run? */
typedef struct SvcState {
        int configured;   /* 1 yes, 0 no, -1 unknown (the tool could not be run) */
        char *why_off;    /* configured == 0: "pop3 is not enabled (Dovecot protocols = imap)" */
        bool disabled;    /* not configured, not listening, not asked for: port.SVC ok, nothing else */
        bool daemon_down; /* every probed port of its daemon refused connections */
} SvcState;

static bool svc_postfix(const Service *svc) {
        return svc->proto == PROTO_SMTP;
}

/* How to make a service listen, for "refuses connections". */
static char *listen_remedy(const CheckContext *ctx, const Service *svc, unsigned port, const SvcState *st) {
        char *s = NULL;
        int r;

        if (st && st->daemon_down) {
                r = svc_postfix(svc)
                        ? asprintf(&s, _("Postfix is not running: see service.postfix; start it with '%s' (none "
                                         "of its ports accepts connections). If it stops again at once, read "
                                         "'postfix check' and the mail log."),
                                   start_cmd(ctx, true))
                        : asprintf(&s, _("Dovecot is not running: see service.dovecot; start it with '%s' (none "
                                         "of its ports accepts connections). If it stops again at once, read "
                                         "'doveconf -n' and the mail log."),
                                   start_cmd(ctx, false));
                return r < 0 ? NULL : s;
        }
        int configured = st ? st->configured : -1;
        if (streq(svc->name, "smtp"))
                r = asprintf(&s, _("Postfix listens on port 25 through the 'smtp inet ... smtpd' line of "
                                   "/etc/postfix/master.cf (check: postconf -M smtp/inet) and inet_interfaces in "
                                   "main.cf; then '%s', and open the port in the firewall."),
                             ctx->systemd ? "systemctl restart postfix" : "postfix stop; postfix start");
        else if (svc_postfix(svc)) {
                const char *tls = streq(svc->name, "smtps") ? "smtpd_tls_wrappermode=yes" : "smtpd_tls_security_level=encrypt";
                if (configured > 0)
                        r = asprintf(&s, _("'postconf -M %s/inet' shows the service, yet nothing listens on port %u: "
                                           "check that master.cf line (keep its -o overrides, see postconf -P), "
                                           "inet_interfaces and the mail log; then 'postfix reload'."),
                                     svc->name, port);
                else if (configured == 0)
                        r = asprintf(&s, _("'postconf -M %s/inet' prints nothing: add the service: "
                                           "postconf -M %s/inet='%s inet n - y - - smtpd'; "
                                           "postconf -P %s/inet/%s %s/inet/smtpd_sasl_auth_enable=yes; then 'postfix reload'."),
                                     svc->name, svc->name, svc->name, svc->name, tls, svc->name);
                else
                        /* postconf -M NAME='...' replaces an existing entry and drops its -o
                         * overrides: only ever for a service that is absent. */
                        r = asprintf(&s, _("First see whether the service exists: postconf -M %s/inet. "
                                           "If that prints nothing, add it: "
                                           "postconf -M %s/inet='%s inet n - y - - smtpd'; "
                                           "postconf -P %s/inet/%s %s/inet/smtpd_sasl_auth_enable=yes; then 'postfix reload'. "
                                           "If it prints a line, do not overwrite it (that drops its -o overrides): "
                                           "check it, inet_interfaces and the mail log."),
                                     svc->name, svc->name, svc->name, svc->name, tls, svc->name);
        } else {
                const char *reload = reload_cmd(ctx, false, true);
                const char *proto = svc->proto == PROTO_IMAP ? "imap" : "pop3";
                if (configured > 0)
                        r = asprintf(&s, _("Dovecot has %s enabled, yet nothing listens on port %u: check "
                                           "'service %s { inet_listener %s { port = %u%s } }' in 10-master.conf "
                                           "(doveconf service/%s), 'listen' in dovecot.conf and the mail log; then '%s'."),
                                     proto, port, svc->login, svc->name, port, svc->implicit_tls ? " ssl = yes" : "",
                                     svc->login, reload);
                else if (svc->proto == PROTO_POP3 && !svc->implicit_tls)
                        r = asprintf(&s, _("Add pop3 to 'protocols' in dovecot.conf (Debian and Ubuntu: install "
                                           "dovecot-pop3d first; dnf: it ships with dovecot), with 'service pop3-login "
                                           "{ inet_listener pop3 { port = 110 } }'; then '%s'."),
                                     reload);
                else
                        r = asprintf(&s, _("Dovecot serves %s when 'protocols' includes %s (dovecot.conf) and "
                                           "10-master.conf has 'service %s { inet_listener %s { port = %u%s } }'%s; then '%s'."),
                                     svc->name, proto, svc->login, svc->name, svc->port,
                                     svc->implicit_tls ? " ssl = yes" : "",
                                     svc->implicit_tls ? _(", with ssl = yes and ssl_cert/ssl_key in 10-ssl.conf") : "",
                                     reload);
        }
        return r < 0 ? NULL : s;
}

/* Why the findings past port.SVC could not be judged, for "not tested: ..." */
static char *not_tested_reason(const CheckContext *ctx, const Job *j, const char *resolve_error) {
        const Result *res = &j->res;
        char *s = NULL;
        int r;

        if (resolve_error)
                return strdup(resolve_error);
        switch (res->stage) {
        case STAGE_NONE:
                return strdup(_("the probe did not run"));
        case STAGE_CONNECT:
                if (res->error == -ECONNREFUSED)
                        r = asprintf(&s, _("port %u refused the connection"), j->port);
                else if (res->error == -ETIMEDOUT)
                        r = asprintf(&s, _("port %u did not accept a connection within %u s"), j->port,
                                     ctx->settings->timeout_seconds);
                else
                        r = asprintf(&s, _("cannot connect to port %u: %s"), j->port, strerror(-res->error));
                break;
        case STAGE_TLS_FIRST:
                r = asprintf(&s, _("TLS on port %u failed: %s"), j->port,
                             res->error_text ? res->error_text : mailproto_strerror(res->error));
                break;
        case STAGE_GREETING:
                if (res->error == -ECONNRESET)
                        r = asprintf(&s, _("the server on port %u closed the connection before its greeting "
                                           "(a fatal error in its configuration? see the mail log)"),
                                     j->port);
                else if (res->error == -ETIMEDOUT)
                        r = asprintf(&s, _("port %u accepted the connection but sent no greeting within %u s "
                                           "(a daemon that dies at start? see the mail log)"),
                                     j->port, ctx->settings->timeout_seconds);
                else
                        r = asprintf(&s, _("port %u sent no valid greeting: %s"), j->port, mailproto_strerror(res->error));
                break;
        case STAGE_DIALOGUE:
                r = asprintf(&s, _("the dialogue on port %u broke off: %s"), j->port,
                             res->error_text ? res->error_text : mailproto_strerror(res->error));
                break;
        default:
                r = asprintf(&s, _("no TLS on port %u"), j->port);
        }
        return r < 0 ? NULL : s;
}

/* An unknown finding for a check the probe could not get to. */
static int add_not_tested(FindingList *out, const char *id, const char *target, const char *reason) {
        return findings_addf(out, id, target, STATUS_UNKNOWN, _("not tested: %s"), reason) ? 0 : -ENOMEM;
}

static int port_finding(const CheckContext *ctx, const Job *j, const SvcState *st, const char *resolve_error,
                        FindingList *out) {
        const Result *res = &j->res;
        const Service *svc = j->svc;
        _cleanup_free_ char *id = NULL;
        unsigned timeout = ctx->settings->timeout_seconds;
        Finding *f;

        if (asprintf(&id, "port.%s", svc->name) < 0)
                return -ENOMEM;

        if (resolve_error) {
                f = findings_addf(out, id, res->target, STATUS_UNKNOWN, _("%s not tested: %s"), svc->name,
                                  resolve_error);
                if (!f)
                        return -ENOMEM;
                return finding_set_remedy(f, _("Give the address to probe with --connect ADDR, or publish the "
                                               "name in DNS or /etc/hosts."));
        }

        if (st && st->disabled) {
                f = findings_addf(out, id, res->target, STATUS_OK, "%s", st->why_off);
                if (!f)
                        return -ENOMEM;
                return finding_set_detail(f, _("port %u: %s"), j->port, res->error == -ECONNREFUSED
                                                                            ? _("nothing listens there")
                                                                            : strerror(-res->error));
        }

        switch (res->stage) {
        case STAGE_CONNECT: {
                _cleanup_free_ char *rem = NULL;
                if (res->error == -ECONNREFUSED)
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL,
                                          _("%s port %u refuses connections: nothing listens there"), svc->name, j->port);
                else if (res->error == -ETIMEDOUT)
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL,
                                          _("%s port %u: no answer to connect within %u s (a firewall dropping packets?)"),
                                          svc->name, j->port, timeout);
                else
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL, _("%s port %u: cannot connect: %s"),
                                          svc->name, j->port, strerror(-res->error));
                if (!f || !(rem = listen_remedy(ctx, svc, j->port, st)))
                        return -ENOMEM;
                return finding_set_remedy(f, "%s", rem);
        }
        case STAGE_TLS_FIRST:
                f = findings_addf(out, id, res->target, STATUS_CRITICAL,
                                  res->error == -ETIMEDOUT ? _("%s port %u accepts connections but does not complete TLS within the time limit")
                                                           : _("%s port %u accepts connections but TLS fails, so no greeting"),
                                  svc->name, j->port);
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, "%s", res->error_text ? res->error_text : mailproto_strerror(res->error)) < 0)
                        return -ENOMEM;
                return set_hint_remedy(ctx, f, svc, NULL);
        case STAGE_GREETING: {
                const char *want = svc->proto == PROTO_SMTP ? "220" : svc->proto == PROTO_IMAP ? "* OK" : "+OK";
                if (res->error == -ETIMEDOUT)
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL,
                                          _("%s port %u accepts connections but sends no greeting within %u s"), svc->name,
                                          j->port, timeout);
                else if (res->error == -MAILPROTO_E_MALFORMED)
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL,
                                          _("%s port %u: wrong greeting (want %s): %.80s"), svc->name, j->port, want,
                                          strempty(res->greeting));
                else
                        f = findings_addf(out, id, res->target, STATUS_CRITICAL, _("%s port %u: broken greeting: %s"),
                                          svc->name, j->port, mailproto_strerror(res->error));
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, _("greeting: %s"), res->greeting ? res->greeting : _("(nothing)")) < 0)
                        return -ENOMEM;
                return finding_set_remedy(f, _("Check that the %s daemon owns this port (ss -ltnp 'sport = :%u') and "
                                               "read its log (%s)."),
                                          svc->proto == PROTO_SMTP ? "Postfix" : "Dovecot", j->port,
                                          ctx->systemd ? (svc->proto == PROTO_SMTP ? "journalctl -u postfix"
                                                                                   : "journalctl -u dovecot")
                                                       : _("the mail log, e.g. /var/log/mail.log"));
        }
        default:
                break;
        }

        f = findings_addf(out, id, res->target, STATUS_OK, _("%s port %u answers in %llu ms"), svc->name, j->port,
                          (unsigned long long) res->latency_ms);
        if (!f || finding_set_detail(f, _("greeting: %s"), strempty(res->greeting)) < 0)
                return -ENOMEM;
        if (res->stage == STAGE_DIALOGUE &&
            finding_append_detail(f, _("then: %s"), res->error_text ? res->error_text : mailproto_strerror(res->error)) < 0)
                return -ENOMEM;
        /* Only a greeting measures latency: a probe that got none has no latency, not 0 ms. */
        if (res->greeting_ok) {
                Metric *m = finding_add_metric(f, "latency_ms", (double) res->latency_ms, "ms");
                if (!m)
                        return -ENOMEM;
                metric_set_range(m, true, 0, false, 0);
        }
        return 0;
}

/* Metric on port.SVC: the whole probe of the service, every connection included. */
static int add_duration(FindingList *out, size_t from, const char *port_id, uint64_t ms) {
        for (size_t i = from; i < out->n; i++)
                if (streq(out->items[i].id, port_id))
                        return finding_add_metric(&out->items[i], "probe_ms", (double) ms, "ms") ? 0 : -ENOMEM;
        return 0;
}

static const char *version_name(int v) {
        return v == TLS1_VERSION ? "TLS 1.0" : v == TLS1_1_VERSION ? "TLS 1.1" : v == TLS1_2_VERSION ? "TLS 1.2"
             : v == TLS1_3_VERSION ? "TLS 1.3" : "SSL";
}

static const char *const tls_checks[] = { "handshake", "expiry", "name", "chain", "protocol" };

/* tls.SVC.WHAT for the checks from tls_checks[from] on (up to but not including `to`), as unknown. */
static int tls_not_tested(FindingList *out, const Service *svc, const char *target, size_t from, size_t to,
                          const char *reason) {
        char id[64];
        for (size_t i = from; i < to && i < ELEMENTSOF(tls_checks); i++) {
                snprintf(id, sizeof(id), "tls.%s.%s", svc->name, tls_checks[i]);
                int r = add_not_tested(out, id, target, reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool same_cert(const TlsInfo *a, const TlsInfo *b) {
        return a->has_cert && b->has_cert && streq(strempty(a->subject), strempty(b->subject)) &&
               streq(strempty(a->issuer), strempty(b->issuer)) && streq(strempty(a->sans), strempty(b->sans)) &&
               streq(strempty(a->not_after), strempty(b->not_after));
}

/* The same certificate on several ports gets the same long remedy each time: after the first,
 * point at that one. Only when an earlier service serves the same leaf and its finding of the
 * same check has the same status and the very same remedy. */
static int point_to_earlier(FindingList *out, Finding *f, const Job *j, const Job *const *earlier, size_t n_earlier,
                            const char *what) {
        char id[64];
        if (!f->remedy)
                return 0;
        for (size_t i = 0; i < n_earlier; i++) {
                const Job *p = earlier[i];
                if (p == j || !p->res.tls_ok || !same_cert(&p->res.tls, &j->res.tls))
                        continue;
                snprintf(id, sizeof(id), "tls.%s.%s", p->svc->name, what);
                for (size_t k = 0; k < out->n; k++) {
                        const Finding *e = &out->items[k];
                        if (e == f || !streq(e->id, id) || e->status != f->status || !e->remedy ||
                            !streq(e->remedy, f->remedy))
                                continue;
                        return finding_set_remedy(f, _("same certificate as %s: see %s"), p->svc->name, id);
                }
        }
        return 0;
}

static int tls_protocol_finding(const CheckContext *ctx, const Job *jobs, FindingList *out) {
        const Job *j = &jobs[0];
        const Result *res = &j->res;
        const Service *svc = j->svc;
        const TlsInfo *t = &res->tls;
        char id[64];
        Finding *f;
        int r;

        snprintf(id, sizeof(id), "tls.%s.protocol", svc->name);
        /* the main handshake's version, and whether TLS 1.0/1.1 offered alone work */
        const Result *legacy = &jobs[VARIANT_LEGACY].res;
        bool weak = t->version < TLS1_2_VERSION;
        bool accepted = legacy->tls_ok;
        bool tested = legacy->stage != STAGE_NONE &&
                      (accepted || legacy->error == -EPROTO || legacy->error == -ECONNRESET);
        if (weak || accepted) {
                f = findings_addf(out, id, res->target, STATUS_WARNING,
                                  weak ? _("%s negotiates %s, older than TLS 1.2")
                                       : _("%s still accepts %s (by default it negotiates %s)"),
                                  svc->name, weak ? t->protocol : version_name(legacy->legacy_version), t->protocol);
                if (!f)
                        return -ENOMEM;
                r = svc->proto == PROTO_SMTP
                        ? finding_set_remedy(f, "%s", _("postconf -e 'smtpd_tls_protocols = >=TLSv1.2' "
                                                        "'smtpd_tls_mandatory_protocols = >=TLSv1.2'; postfix reload"))
                        : finding_set_remedy(f, _("Dovecot 10-ssl.conf: ssl_min_protocol = TLSv1.2; then %s"),
                                             reload_cmd(ctx, false, true));
                if (r < 0)
                        return r;
        } else
                f = findings_addf(out, id, res->target, STATUS_OK,
                                  tested ? _("%s with %s; TLS 1.0 and 1.1 refused") : _("%s with %s; TLS 1.0/1.1 not tested"),
                                  t->protocol, t->cipher);
        if (!f)
                return -ENOMEM;
        return finding_set_detail(f, _("negotiated: %s, %s\nonly TLS 1.0 and 1.1 offered: %s"), t->protocol, t->cipher,
                                  accepted ? version_name(legacy->legacy_version)
                                  : tested ? _("refused")
                                  : legacy->stage == STAGE_NONE ? _("not tested")
                                  : legacy->error_text ? legacy->error_text : mailproto_strerror(legacy->error));
}

/* tls.SVC.{handshake,expiry,name,chain,protocol}: always all five, unknown where the probe
 * could not get to them, so the series stay stable. earlier: the services reported before
 * (for item "same certificate as ..."). */
static int tls_findings(const CheckContext *ctx, const Job *jobs, const char *host, const char *resolve_error,
                        const Job *const *earlier, size_t n_earlier, FindingList *out) {
        const Job *j = &jobs[0];
        const Result *res = &j->res;
        const Service *svc = j->svc;
        const Settings *st = ctx->settings;
        char id[64];
        Finding *f;
        int r;

#define ID(what) (snprintf(id, sizeof(id), "tls.%s.%s", svc->name, what), id)

        if (resolve_error)
                return tls_not_tested(out, svc, res->target, 0, ELEMENTSOF(tls_checks), resolve_error);

        bool handshake_failed = !res->tls_ok && (res->stage == STAGE_TLS_FIRST ||
                                                 (res->stage == STAGE_DIALOGUE && res->starttls == STARTTLS_OK));
        bool no_starttls = res->stage == STAGE_DONE &&
                           (res->starttls == STARTTLS_NOT_OFFERED || res->starttls == STARTTLS_REFUSED);

        if (handshake_failed) {
                f = findings_addf(out, ID("handshake"), res->target, STATUS_CRITICAL,
                                  res->error == -ETIMEDOUT ? _("TLS handshake on %s did not finish within %u s")
                                  : res->error == -ECONNRESET ? _("%s: the server closed the connection during the TLS handshake")
                                                              : _("TLS handshake on %s fails"),
                                  svc->name, st->timeout_seconds);
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, "%s", res->error_text ? res->error_text : mailproto_strerror(res->error)) < 0)
                        return -ENOMEM;
                r = set_hint_remedy(ctx, f, svc, NULL);
                if (r < 0)
                        return r;
                return tls_not_tested(out, svc, res->target, 1, ELEMENTSOF(tls_checks),
                                      _("the TLS handshake failed (see the handshake finding)"));
        }
        if (no_starttls) {
                bool offered = res->starttls == STARTTLS_REFUSED;
                const char *verb = svc->proto == PROTO_POP3 ? "STLS" : "STARTTLS";
                f = findings_addf(out, ID("handshake"), res->target, STATUS_CRITICAL,
                                  offered ? _("%s refuses %s: %.80s") : _("%s does not offer %s%s"), svc->name,
                                  verb, strempty(res->starttls_reply));
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, "%s", strempty(svc->proto == PROTO_SMTP ? res->ehlo : res->caps)) < 0)
                        return -ENOMEM;
                r = set_hint_remedy(ctx, f, svc, svc->proto == PROTO_SMTP
                                    ? _("postconf -e 'smtpd_tls_security_level = may' (encrypt on submission) with a certificate. ")
                                    : _("Dovecot: 'ssl = yes' in 10-ssl.conf with a certificate. "));
                if (r < 0)
                        return r;
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, offered ? _("the server refuses %s") : _("the server does not offer %s"), verb) < 0)
                        return -ENOMEM;
                return tls_not_tested(out, svc, res->target, 1, ELEMENTSOF(tls_checks), why);
        }
        if (!res->tls_ok || !res->tls.protocol) {
                _cleanup_free_ char *why = not_tested_reason(ctx, j, NULL);
                if (!why)
                        return -ENOMEM;
                return tls_not_tested(out, svc, res->target, 0, ELEMENTSOF(tls_checks), why);
        }

        const TlsInfo *t = &res->tls;
        _cleanup_free_ char *detail = tls_info_detail(t);
        if (!detail)
                return -ENOMEM;

        /* handshake */
        f = findings_addf(out, ID("handshake"), res->target, STATUS_OK, _("TLS handshake on %s works: %s, %s"), svc->name,
                          t->protocol, t->cipher);
        if (!f || finding_set_detail(f, "%s", detail) < 0)
                return -ENOMEM;
        if (!t->has_cert) {
                r = tls_not_tested(out, svc, res->target, 1, 4, _("the server sent no certificate"));
                if (r < 0)
                        return r;
                return tls_protocol_finding(ctx, jobs, out);
        }

        /* expiry: days_left counts whole days, negative once expired (see tls_inspect); the
         * summary says the same number as the metric. */
        Status s;
        if (t->not_yet_valid) {
                s = STATUS_CRITICAL;
                f = findings_addf(out, ID("expiry"), res->target, s, _("certificate not valid before %s"), t->not_before);
        } else if (t->seconds_left < 0) {
                s = STATUS_CRITICAL;
                if (t->seconds_left > -86400)
                        f = findings_addf(out, ID("expiry"), res->target, s,
                                          _("certificate expired less than a day ago (%s)"), t->not_after);
                else
                        f = findings_addf(out, ID("expiry"), res->target, s, _("certificate expired %lld days ago (%s)"),
                                          (long long) -t->days_left, t->not_after);
        } else {
                s = t->days_left < (int64_t) st->tls_expiry_critical_days ? STATUS_CRITICAL
                  : t->days_left < (int64_t) st->tls_expiry_warning_days  ? STATUS_WARNING
                                                                          : STATUS_OK;
                f = findings_addf(out, ID("expiry"), res->target, s,
                                  s == STATUS_OK ? _("certificate valid for %lld more days") : _("certificate expires in %lld days"),
                                  (long long) t->days_left);
        }
        if (!f || finding_set_detail(f, "notBefore=%s\nnotAfter=%s\nsubject=%s\nissuer=%s", strempty(t->not_before),
                                     t->not_after, t->subject, t->issuer) < 0)
                return -ENOMEM;
        Metric *m = finding_add_metric(f, "days_left", (double) t->days_left, "");
        if (!m)
                return -ENOMEM;
        metric_set_floors(m, true, st->tls_expiry_warning_days, true, st->tls_expiry_critical_days);
        m->scope = METRIC_NOT_PROMETHEUS;
        /* Prometheus wants base units: the same quantity in seconds, to the second. */
        m = finding_add_metric(f, "seconds_left", (double) t->seconds_left, "s");
        if (!m)
                return -ENOMEM;
        m->scope = METRIC_PROMETHEUS_ONLY;
        if (s != STATUS_OK) {
                _cleanup_free_ char *rem = expiry_remedy(ctx, t, host);
                if (!rem || finding_set_remedy(f, "%s", rem) < 0)
                        return -ENOMEM;
                if (point_to_earlier(out, f, j, earlier, n_earlier, "expiry") < 0)
                        return -ENOMEM;
        }

        /* name */
        if (t->name_match < 0)
                f = findings_addf(out, ID("name"), res->target, STATUS_UNKNOWN,
                                  _("no host name to check the certificate against: give --host NAME"));
        else if (t->name_match)
                f = findings_addf(out, ID("name"), res->target, STATUS_OK, _("certificate is valid for %s"), host);
        else
                f = findings_addf(out, ID("name"), res->target, STATUS_CRITICAL, _("certificate is not valid for %s (it names %.120s)"),
                                  host, *t->sans ? t->sans : t->subject);
        if (!f || finding_set_detail(f, "asked for: %s\nsubject=%s\nSANs=%s", strempty(host), t->subject,
                                     *t->sans ? t->sans : "(none)") < 0)
                return -ENOMEM;
        if (t->name_match == 0) {
                _cleanup_free_ char *rem = certbot_remedy(ctx, host);
                if (!rem || finding_set_remedy(f, _("Use a certificate whose subjectAltName includes %s (clients "
                                                    "connect to that name). %s"), host, rem) < 0)
                        return -ENOMEM;
                if (point_to_earlier(out, f, j, earlier, n_earlier, "name") < 0)
                        return -ENOMEM;
        }

        /* chain */
        if (t->chain == TLS_CHAIN_OK)
                f = findings_addf(out, ID("chain"), res->target, STATUS_OK, ctx->ca_file ? _("chain verifies against %s")
                                                                                           : _("chain verifies against the system CA store%s"),
                                  ctx->ca_file ? ctx->ca_file : "");
        else if (t->chain == TLS_CHAIN_SELF_SIGNED)
                f = findings_addf(out, ID("chain"), res->target, STATUS_WARNING,
                                  _("self-signed certificate: mail clients warn, and other servers cannot verify it"));
        else
                f = findings_addf(out, ID("chain"), res->target, STATUS_CRITICAL, _("chain does not verify: %s"),
                                  strempty(t->chain_error));
        if (!f || finding_set_detail(f, "subject=%s\nissuer=%s%s%s", t->subject, t->issuer,
                                     t->chain_error ? "\nverify: " : "", strempty(t->chain_error)) < 0)
                return -ENOMEM;
        if (t->chain == TLS_CHAIN_SELF_SIGNED) {
                _cleanup_free_ char *rem = certbot_remedy(ctx, host);
                if (!rem || finding_set_remedy(f, "%s", rem) < 0)
                        return -ENOMEM;
        } else if (t->chain == TLS_CHAIN_UNTRUSTED) {
                _cleanup_free_ char *hint = tls_setting_hint(ctx, svc);
                if (!hint || finding_set_remedy(f, _("Serve the whole chain (fullchain.pem, not cert.pem): %s If the "
                                                     "certificate comes from a private CA, pass that CA with --ca-file."),
                                                hint) < 0)
                        return -ENOMEM;
        }
        if (point_to_earlier(out, f, j, earlier, n_earlier, "chain") < 0)
                return -ENOMEM;

        return tls_protocol_finding(ctx, jobs, out);
#undef ID
}

/* Is addr inside one of mynetworks' address/prefix entries? Names and tables are skipped.
 * An entry as wide as a /8 (IPv4) or /32 (IPv6) or wider does not count: "mynetworks =
 * 0.0.0.0/0" is the classic open relay, not a trusted network. */
static bool in_networks(const char *const *words, const struct sockaddr_storage *addr) {
        for (const char *const *w = words; w && *w; w++) {
                char buf[80];
                const char *p = *w;
                unsigned prefix;
                unsigned char net[16], a[16];
                size_t len;
                int family;

                if (strlen(p) >= sizeof(buf))
                        continue;
                strcpy(buf, p);
                char *slash = strchr(buf, '/');
                char *ip = buf;
                if (slash)
                        *slash = '\0';
                if (*ip == '[') {
                        ip++;
                        char *e = strchr(ip, ']');
                        if (!e)
                                continue;
                        *e = '\0';
                }
                if (inet_pton(AF_INET, ip, net) == 1)
                        family = AF_INET, len = 4;
                else if (inet_pton(AF_INET6, ip, net) == 1)
                        family = AF_INET6, len = 16;
                else
                        continue;
                if (family != addr->ss_family)
                        continue;
                prefix = (unsigned) len * 8;
                if (slash) {
                        char *end;
                        unsigned long v = strtoul(slash + 1, &end, 10);
                        if (*end || v > len * 8)
                                continue;
                        prefix = (unsigned) v;
                }
                memcpy(a, family == AF_INET ? (const void *) &((const struct sockaddr_in *) addr)->sin_addr
                                            : (const void *) &((const struct sockaddr_in6 *) addr)->sin6_addr, len);
                bool match = true;
                for (unsigned bit = 0; bit < prefix && match; bit++)
                        match = ((net[bit / 8] ^ a[bit / 8]) & (0x80 >> (bit % 8))) == 0;
                if (match && prefix >= (family == AF_INET ? 8u : 32u))
                        return true;
        }
        return false;
}

/* smtp.open-relay and smtp.starttls (port 25) and smtp.auth-before-tls (25 and 587): all of
 * them every time, unknown with the reason when the dialogue did not get that far. */
static int smtp_findings(const CheckContext *ctx, const Job *j, const char *resolve_error, FindingList *out) {
        const Result *res = &j->res;
        bool port25 = j->svc->port == 25 && streq(j->svc->name, "smtp");
        Finding *f;

        if (!check_group_selected(ctx, "smtp"))
                return 0;
        if (resolve_error || !res->ehlo_ok) {
                static const char *const ids25[] = { "smtp.open-relay", "smtp.starttls", "smtp.auth-before-tls" };
                _cleanup_free_ char *why = not_tested_reason(ctx, j, resolve_error);
                if (!why)
                        return -ENOMEM;
                for (size_t i = port25 ? 0 : 2; i < ELEMENTSOF(ids25); i++) {
                        int r = add_not_tested(out, ids25[i], res->target, why);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        if (port25) {
                /* open relay */
                Status s;
                const char *summary;
                bool in_mynetworks = false;
                _cleanup_free_ char *nets = NULL;

                if (res->relay == RELAY_ACCEPTED) {
                        static const char *const names[] = { "mynetworks", NULL };
                        _cleanup_strv_free_ char **v = NULL, **words = NULL;
                        if (postconf_get(ctx, names, &v, NULL) >= 0 && v[0] &&
                            postfix_list_split(v[0], &words) >= 0 && res->local_len > 0) {
                                in_mynetworks = in_networks((const char *const *) words, &res->local);
                                nets = strdup(v[0]);
                        }
                }
                switch (res->relay) {
                case RELAY_REFUSED:
                        s = STATUS_OK;
                        summary = _("relaying to a foreign domain is refused");
                        break;
                case RELAY_ACCEPTED:
                        s = in_mynetworks ? STATUS_OK : STATUS_CRITICAL;
                        summary = in_mynetworks
                                ? _("relaying accepted, but only because this client is in mynetworks; strangers "
                                    "were not tested (run the check from another host)")
                                : _("OPEN RELAY: the server accepts mail for a foreign domain from anyone");
                        break;
                case RELAY_MAIL_REFUSED:
                        s = STATUS_UNKNOWN;
                        summary = _("relay test inconclusive: the server refused MAIL FROM:<>");
                        break;
                default:
                        s = STATUS_UNKNOWN;
                        summary = _("relay test failed");
                }
                f = findings_addf(out, "smtp.open-relay", res->target, s, "%s", summary);
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, _("MAIL FROM:<> RCPT TO:<%s> (never DATA) -> %s"), RELAY_RCPT,
                                       strempty(res->relay_text)) < 0)
                        return -ENOMEM;
                if (in_mynetworks && finding_append_detail(f, "mynetworks = %s", strempty(nets)) < 0)
                        return -ENOMEM;
                if (s == STATUS_CRITICAL && finding_set_remedy(f, "%s", relay_remedy()) < 0)
                        return -ENOMEM;

                /* STARTTLS offered on 25 */
                f = findings_addf(out, "smtp.starttls", res->target, res->has_starttls ? STATUS_OK : STATUS_CRITICAL,
                                  res->has_starttls ? _("port 25 offers STARTTLS")
                                                    : _("port 25 does not offer STARTTLS: mail arrives in clear text"));
                if (!f || finding_set_detail(f, "%s", strempty(res->ehlo)) < 0)
                        return -ENOMEM;
                if (!res->has_starttls &&
                    finding_set_remedy(f, _("postconf -e 'smtpd_tls_security_level = may' 'smtpd_tls_chain_files = "
                                            "/path/privkey.pem, /path/fullchain.pem'; postfix reload")) < 0)
                        return -ENOMEM;
        }

        /* AUTH before STARTTLS */
        Status s = !res->has_auth ? STATUS_OK : port25 ? STATUS_WARNING : STATUS_CRITICAL;
        f = findings_addf(out, "smtp.auth-before-tls", res->target, s,
                          !res->has_auth ? _("%s does not offer AUTH before STARTTLS")
                                         : _("%s offers AUTH before STARTTLS: passwords can cross the network in clear text"),
                          j->svc->name);
        if (!f || finding_set_detail(f, "%s", strempty(res->ehlo)) < 0)
                return -ENOMEM;
        if (s != STATUS_OK &&
            finding_set_remedy(f, port25 ? _("postconf -e 'smtpd_tls_auth_only = yes' (or drop "
                                             "smtpd_sasl_auth_enable on port 25: clients submit on 587/465); postfix reload")
                                         : _("postconf -e 'smtpd_tls_auth_only = yes', or postconf -P "
                                             "submission/inet/smtpd_tls_security_level=encrypt; postfix reload")) < 0)
                return -ENOMEM;
        return 0;
}

static int plaintext_finding(const CheckContext *ctx, const Job *j, const char *resolve_error, FindingList *out) {
        const Result *res = &j->res;
        const char *group = j->svc->proto == PROTO_IMAP ? "imap" : "pop3";
        char id[32];
        Finding *f;

        if (!check_group_selected(ctx, group))
                return 0;
        snprintf(id, sizeof(id), "%s.plaintext-auth", group);
        if (resolve_error || !res->caps_ok) {
                _cleanup_free_ char *why = !resolve_error && res->greeting_ok && res->stage == STAGE_DONE
                                                   ? strdup(_("the server did not list its capabilities"))
                                                   : not_tested_reason(ctx, j, resolve_error);
                if (!why)
                        return -ENOMEM;
                return add_not_tested(out, id, res->target, why);
        }
        f = findings_addf(out, id, res->target, res->plaintext_allowed ? STATUS_CRITICAL : STATUS_OK,
                          res->plaintext_allowed ? _("%s accepts password login without TLS")
                                                 : _("%s refuses password login before TLS"),
                          j->svc->name);
        if (!f || finding_set_detail(f, _("capabilities before TLS: %s"), strempty(res->caps)) < 0)
                return -ENOMEM;
        if (res->same_address && finding_append_detail(f, _("note: client and server share an address; Dovecot "
                                                             "counts such connections as secure")) < 0)
                return -ENOMEM;
        if (res->plaintext_allowed) {
                _cleanup_free_ char *rem = dovecot_plaintext_remedy(ctx);
                if (!rem || finding_set_remedy(f, "%s", rem) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Services that are not set up. A service whose port does not accept connections is looked
 * up in the daemon's configuration:
 *   Postfix: smtp/inet is always expected; submission and smtps are configured when
 *     'postconf -M submission/inet' (smtps/inet) prints their master.cf line.
 *   Dovecot: imap, imaps, pop3 and pop3s need their protocol in 'doveconf -h protocols' and
 *     an inet_listener port other than 0 ('doveconf -h service/imap-login/inet_listener/imaps/port';
 *     when that query fails, protocols alone decide).
 * Neither configured nor listening: port.SVC is ok ("pop3 is not enabled (Dovecot protocols
 * = imap lmtp)") and the service's tls.SVC.*, smtp.* and *.plaintext-auth findings are left
 * out. A service given with --port SVC=PORT is always probed and judged. When postconf or
 * doveconf cannot be run, the service counts as configured (judged as it always was). */
typedef struct ConfCache {
        bool dovecot_asked;
        int dovecot_r;
        char *protocols;
} ConfCache;

static bool word_in(const char *list, const char *word) {
        size_t l = strlen(word);
        for (const char *p = list; p && *p;) {
                p += strspn(p, " \t,");
                size_t n = strcspn(p, " \t,");
                if (n == l && strncmp(p, word, l) == 0)
                        return true;
                p += n;
        }
        return false;
}

static const char *trim_left(const char *s) {
        while (s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* 1 configured, 0 not (with *ret_why), -1 unknown. */
static int service_configured(const CheckContext *ctx, const Service *svc, ConfCache *cc, char **ret_why) {
        if (streq(svc->name, "smtp"))
                return 1;
        if (svc_postfix(svc)) {
                char name[32];
                snprintf(name, sizeof(name), "%s/inet", svc->name);
                const char *argv[] = { "postconf", "-M", name, NULL };
                SpawnResult sr;
                if (probe_run(ctx, argv, &sr) < 0)
                        return -1;
                bool ok = spawn_result_ok(&sr), empty = true;
                for (size_t i = 0; ok && i < sr.out_size && empty; i++)
                        empty = isspace((unsigned char) sr.out[i]);
                spawn_result_done(&sr);
                if (!ok)
                        return -1;
                if (!empty)
                        return 1;
                return asprintf(ret_why, _("%s is not enabled (Postfix master.cf has no %s service: "
                                           "'postconf -M %s' prints nothing)"),
                                svc->name, name, name) < 0 ? -1 : 0;
        }
        if (!cc->dovecot_asked) {
                cc->dovecot_asked = true;
                cc->dovecot_r = doveconf_get(ctx, "protocols", &cc->protocols, NULL);
        }
        if (cc->dovecot_r < 0 || !cc->protocols)
                return -1;
        const char *proto = svc->proto == PROTO_IMAP ? "imap" : "pop3";
        if (!word_in(cc->protocols, proto))
                return asprintf(ret_why, _("%s is not enabled (Dovecot protocols = %s)"), svc->name,
                                trim_left(cc->protocols)) < 0 ? -1 : 0;
        _cleanup_free_ char *key = NULL, *port = NULL;
        if (asprintf(&key, "service/%s/inet_listener/%s/port", svc->login, svc->name) < 0)
                return -1;
        if (doveconf_get(ctx, key, &port, NULL) >= 0 && port && streq(trim_left(port), "0"))
                return asprintf(ret_why, _("%s is not enabled (Dovecot: service %s { inet_listener %s { port = 0 } })"),
                                svc->name, svc->login, svc->name) < 0 ? -1 : 0;
        return 1;
}

static bool port_overridden(const CheckContext *ctx, const Service *svc) {
        for (size_t i = 0; i < ctx->n_ports; i++)
                if (streq(ctx->ports[i].service, svc->name))
                        return true;
        return false;
}

static unsigned service_port(const CheckContext *ctx, const Service *svc) {
        unsigned port = svc->port;
        for (size_t i = 0; i < ctx->n_ports; i++)
                if (streq(ctx->ports[i].service, svc->name))
                        port = ctx->ports[i].port;
        return port;
}

static bool service_wanted(const CheckContext *ctx, const Service *svc) {
        if (check_group_selected(ctx, "port") || check_group_selected(ctx, "tls"))
                return true;
        if (svc->implicit_tls)
                return false;
        if (svc->proto == PROTO_SMTP)
                return check_group_selected(ctx, "smtp");
        return check_group_selected(ctx, svc->proto == PROTO_IMAP ? "imap" : "pop3");
}

/* An asynchronous lookup's state: on the heap, because a lookup that cannot be cancelled
 * still writes into it after we gave up. */
static int resolve(Shared *s, const char *name, unsigned timeout_seconds, char **ret_error) {
        struct addrinfo *ai = NULL;
        int r = resolve_bounded(name, 0, timeout_seconds, &ai);
        if (r != 0) {
                if (asprintf(ret_error, _("cannot resolve %s: %s"), name,
                             r == EAI_AGAIN ? _("no answer in time") : gai_strerror(r)) < 0)
                        *ret_error = NULL;
                return r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
        }
        for (struct addrinfo *i = ai; i && s->n_addrs < MAX_ADDRS; i = i->ai_next) {
                if ((i->ai_family != AF_INET && i->ai_family != AF_INET6) || i->ai_addrlen > sizeof(s->addrs[0]))
                        continue;
                memcpy(&s->addrs[s->n_addrs], i->ai_addr, i->ai_addrlen);
                s->addr_lens[s->n_addrs++] = i->ai_addrlen;
        }
        freeaddrinfo(ai);
        if (s->n_addrs == 0) {
                if (asprintf(ret_error, _("%s has no IPv4 or IPv6 address"), name) < 0)
                        *ret_error = NULL;
                return -EHOSTUNREACH;
        }
        return 0;
}

int check_mail_listeners(const CheckContext *ctx, FindingList *out) {
        Shared s = { .ctx = ctx, .host = ctx->host };
        Job jobs[N_SERVICES][_VARIANT_MAX] = {};
        pthread_t threads[N_SERVICES][_VARIANT_MAX];
        bool started[N_SERVICES][_VARIANT_MAX] = {};
        _cleanup_free_ char *resolve_error = NULL, *tls_error = NULL;
        bool want_legacy = check_group_selected(ctx, "tls");
        int r = 0;

        /* One time limit for the whole suite, name lookup included: --timeout bounds the
         * check, not each of its steps. */
        uint64_t deadline = mailproto_now_usec() + (uint64_t) ctx->settings->timeout_seconds * 1000000u;

        /* Connect to --connect, else the host's addresses, else (no name at all) loopback. */
        const char *name = ctx->connect ? ctx->connect : ctx->host ? ctx->host : "127.0.0.1";
        r = resolve(&s, name, ctx->settings->timeout_seconds, &resolve_error);
        if (r == -ENOMEM)
                return r;
        s.want_relay = check_group_selected(ctx, "smtp");

        for (Variant v = 0; v < _VARIANT_MAX; v++) {
                bool legacy = v == VARIANT_LEGACY;
                r = tls_client_ctx_new_range(ctx->ca_file, legacy ? TLS1_VERSION : 0, legacy ? TLS1_1_VERSION : 0,
                                       &s.tls_ctx[v], v == VARIANT_MAIN ? &tls_error : NULL);
                if (r < 0 && v == VARIANT_MAIN) {
                        Finding *f = findings_addf(out, "tls.smtp.handshake", "", STATUS_UNKNOWN,
                                                   _("TLS probes cannot start: %s"), strempty(tls_error));
                        r = f ? -ECANCELED : -ENOMEM;
                        goto out;
                }
        }

        s.deadline_usec = deadline;
        for (size_t i = 0; i < N_SERVICES && !resolve_error; i++) {
                if (!service_wanted(ctx, &services[i]))
                        continue;
                for (Variant v = 0; v < _VARIANT_MAX; v++) {
                        if (v != VARIANT_MAIN && (!want_legacy || !s.tls_ctx[v]))
                                continue;
                        Job *j = &jobs[i][v];
                        *j = (Job) { .shared = &s, .svc = &services[i], .port = service_port(ctx, &services[i]), .variant = v };
                        if (pthread_create(&threads[i][v], NULL, job_thread, j) == 0)
                                started[i][v] = true;
                        else
                                run_job(j);
                }
        }
        for (size_t i = 0; i < N_SERVICES; i++)
                for (Variant v = 0; v < _VARIANT_MAX; v++)
                        if (started[i][v])
                                pthread_join(threads[i][v], NULL);

        /* What the configuration says about the services that do not listen, and whether a
         * daemon is down altogether (every probed port of it refused). */
        SvcState state[N_SERVICES] = {};
        ConfCache conf = {};
        unsigned probed[2] = {}, refused[2] = {}; /* [0] Postfix, [1] Dovecot */
        for (size_t i = 0; i < N_SERVICES && !resolve_error; i++) {
                const Service *svc = &services[i];
                const Result *res = &jobs[i][VARIANT_MAIN].res;
                SvcState *st = &state[i];
                if (!service_wanted(ctx, svc))
                        continue;
                st->configured = 1;
                if (res->stage == STAGE_CONNECT) {
                        st->configured = service_configured(ctx, svc, &conf, &st->why_off);
                        st->disabled = st->configured == 0 && st->why_off && !port_overridden(ctx, svc);
                }
                if (st->disabled)
                        continue;
                probed[!svc_postfix(svc)]++;
                if (res->stage == STAGE_CONNECT && res->error == -ECONNREFUSED)
                        refused[!svc_postfix(svc)]++;
        }
        for (size_t i = 0; i < N_SERVICES; i++) {
                unsigned d = !svc_postfix(&services[i]);
                state[i].daemon_down = probed[d] > 0 && refused[d] == probed[d];
        }

        const Job *earlier[N_SERVICES];
        size_t n_earlier = 0;
        r = 0;
        for (size_t i = 0; i < N_SERVICES && r >= 0; i++) {
                const Service *svc = &services[i];
                Job *j = jobs[i];
                if (!service_wanted(ctx, svc))
                        continue;
                size_t from = out->n;
                if (resolve_error) {
                        *j = (Job) { .svc = svc, .port = service_port(ctx, svc) };
                        snprintf(j->res.target, sizeof(j->res.target), "%.*s:%u",
                                 (int) (sizeof(j->res.target) - 7), name, j->port);
                }
                if (check_group_selected(ctx, "port")) {
                        r = port_finding(ctx, j, &state[i], resolve_error, out);
                        uint64_t ms = 0;
                        for (Variant v = 0; v < _VARIANT_MAX; v++)
                                ms = MAX(ms, j[v].res.duration_ms);
                        if (r >= 0 && !resolve_error && j->res.stage != STAGE_CONNECT) {
                                char pid[32];
                                snprintf(pid, sizeof(pid), "port.%s", svc->name);
                                r = add_duration(out, from, pid, ms);
                        }
                }
                if (state[i].disabled)
                        continue; /* not configured and not listening: nothing more to say */
                if (r >= 0 && check_group_selected(ctx, "tls"))
                        r = tls_findings(ctx, j, ctx->host, resolve_error, earlier, n_earlier, out);
                if (r >= 0 && svc->proto == PROTO_SMTP && !svc->implicit_tls)
                        r = smtp_findings(ctx, j, resolve_error, out);
                if (r >= 0 && svc->proto != PROTO_SMTP && !svc->implicit_tls)
                        r = plaintext_finding(ctx, j, resolve_error, out);
                if (resolve_error)
                        for (size_t k = from; k < out->n && r >= 0; k++)
                                if (!out->items[k].remedy &&
                                    finding_set_remedy(&out->items[k], _("Give the address to probe with --connect ADDR, "
                                                                         "or publish the name in DNS or /etc/hosts.")) < 0)
                                        r = -ENOMEM;
                earlier[n_earlier++] = j;
        }
        for (size_t i = 0; i < N_SERVICES; i++)
                free(state[i].why_off);
        free(conf.protocols);

        for (size_t i = 0; i < N_SERVICES; i++)
                for (Variant v = 0; v < _VARIANT_MAX; v++)
                        result_done(&jobs[i][v].res);
out:
        for (Variant v = 0; v < _VARIANT_MAX; v++)
                tls_client_ctx_free(s.tls_ctx[v]);
        return r == -ECANCELED ? 0 : r;
}
