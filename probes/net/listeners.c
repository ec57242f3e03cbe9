/* port.*, tls.*, smtp.*, imap.*, pop3.*: every mail listener probed at once, each with a deadline. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "listeners.h"
#include "deadline.h"
#include "fiber.h"
#include "listeners-remedy.h"
#include "mailconf.h"
#include "maillog.h"
#include "macro.h"
#include "mailproto.h"
#include "resolve.h"
#include "restrictions.h"
#include "postconf.h"
#include "tlsprobe.h"
#include "words.h"

#define MAX_ADDRS 4
#define GREETING_MAX 1024u /* bytes of a greeting kept as evidence */
#define EHLO_NAME "mxdeck-probe.invalid"
/* A domain that is certainly not ours: RFC 2606 reserves it. */
#define RELAY_RCPT "mxdeck-relay-test@example.net"
/* A local part no one has: what a sender to a mistyped or departed user meets. */
#define UNKNOWN_USER "mxdeck-no-such-user-7f3a"

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
/* The main probe, and one connection per old protocol that offers only that one, so the
 * finding can name each old protocol the server still accepts. */
typedef enum Variant { VARIANT_MAIN, VARIANT_TLS10, VARIANT_TLS11, _VARIANT_MAX } Variant;

static const int variant_version[_VARIANT_MAX] = {
        [VARIANT_TLS10] = TLS1_VERSION,
        [VARIANT_TLS11] = TLS1_1_VERSION,
};

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
        int local_rcpt;             /* reply code to RCPT TO:<postmaster@domain>, 0 not run, <0 error */
        char *local_rcpt_text;
        int unknown_rcpt;           /* reply code to RCPT for a user that does not exist, 0 not run */
        uint64_t rcpt_at_usec;      /* CLOCK_REALTIME when the RCPT test began (log evidence after it) */
        char *unknown_rcpt_text;
        bool tls_ehlo_ok;           /* EHLO answered inside TLS (submission, smtps) */
        char *tls_ehlo;
        char *auth_mechs;           /* AUTH line after TLS, NULL when none */
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
        char *local_rcpt;                 /* postmaster@DOMAIN, a recipient that must be accepted */
        /* Postfix's SASL socket (Dovecot's auth): when SASL is on and the socket is dead,
         * smtpd dies at EHLO, and that is the cause of what fails on 25/587/465. */
        char *sasl_socket;
        bool sasl_enabled;
        int sasl_state;                   /* unix_socket_state(); 2 when not Dovecot's */
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
        free(r->local_rcpt_text);
        free(r->unknown_rcpt_text);
        free(r->tls_ehlo);
        free(r->auth_mechs);
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

/* True when addr is one of this host's own addresses (a bind to it succeeds). */
static bool address_is_local(const struct sockaddr_storage *addr, socklen_t len) {
        struct sockaddr_storage a = *addr;
        if (a.ss_family == AF_INET)
                ((struct sockaddr_in *) &a)->sin_port = 0;
        else if (a.ss_family == AF_INET6)
                ((struct sockaddr_in6 *) &a)->sin6_port = 0;
        else
                return false;
        int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        bool local = bind(fd, (struct sockaddr *) &a, len) == 0;
        close(fd);
        return local;
}

/* Tries the addresses in order until one accepts. A server on this very host is reached
 * from another address of it (127.0.0.2, or ::1 for a global IPv6 address): servers treat
 * "client address = server address" as a trusted local connection (Dovecot allows
 * plaintext login then), which would hide the very problems these probes look for. This
 * is the normal VPS case too, where the host name resolves to the machine's own public
 * address. */
static int connect_any(Job *j, MailConn *c) {
        const Shared *s = j->shared;
        int r = -EADDRNOTAVAIL;

        for (size_t i = 0; i < s->n_addrs; i++) {
                struct sockaddr_storage ss = s->addrs[i], src = {};
                struct sockaddr_in *src4 = (struct sockaddr_in *) &src;
                struct sockaddr_in6 *src6 = (struct sockaddr_in6 *) &src;
                bool bind_it = false;
                socklen_t src_len = sizeof(struct sockaddr_in);

                if (ss.ss_family == AF_INET)
                        ((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) j->port);
                else
                        ((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) j->port);
                format_target(&ss, j->port, j->res.target, sizeof(j->res.target));
                if (ss.ss_family == AF_INET && (ipv4_loopback(&ss) || address_is_local(&ss, s->addr_lens[i]))) {
                        in_addr_t dst = ntohl(((struct sockaddr_in *) &ss)->sin_addr.s_addr);
                        src4->sin_family = AF_INET;
                        src4->sin_addr.s_addr = htonl(dst == 0x7f000002 ? 0x7f000003 : 0x7f000002);
                        bind_it = true;
                } else if (ss.ss_family == AF_INET6 &&
                           !IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) &ss)->sin6_addr) &&
                           !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *) &ss)->sin6_addr) &&
                           address_is_local(&ss, s->addr_lens[i])) {
                        src6->sin6_family = AF_INET6;
                        src6->sin6_addr = in6addr_loopback;
                        src_len = sizeof(struct sockaddr_in6);
                        bind_it = true;
                }
                r = mailconn_connect(c, &ss, s->addr_lens[i], bind_it ? &src : NULL, src_len, s->deadline_usec);
                if (r < 0 && bind_it && r != -ETIMEDOUT && r != -ECONNREFUSED) {
                        /* Some hosts refuse the other source address (no ::1, a filter): the
                         * plain connection still tells everything but plaintext login, which
                         * is then judged from Dovecot's configuration. */
                        mailconn_close(c);
                        r = mailconn_connect(c, &ss, s->addr_lens[i], NULL, 0, s->deadline_usec);
                }
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

/* What a sender meets: mail to postmaster (which every mail domain must accept, RFC 5321)
 * must get 250. Broken tables and restriction lists answer 451 here, while the relay test
 * is refused as it should be. */
static void local_rcpt_test(Job *j, MailConn *c) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        _cleanup_free_ char *cmd = NULL;
        Result *res = &j->res;
        int r;

        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        res->rcpt_at_usec = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        r = smtp_command(c, "MAIL FROM:<>", &reply);
        if (r < 0 || reply.code / 100 != 2) {
                res->local_rcpt = r < 0 ? r : -EPROTO;
                res->local_rcpt_text = r < 0 ? strdup(mailproto_strerror(r)) : reply_text_or(&reply, "");
                return;
        }
        if (asprintf(&cmd, "RCPT TO:<%s>", j->shared->local_rcpt) < 0)
                return;
        r = smtp_command(c, cmd, &reply);
        if (r < 0) {
                res->local_rcpt = r;
                res->local_rcpt_text = strdup(mailproto_strerror(r));
                return;
        }
        res->local_rcpt = reply.code;
        res->local_rcpt_text = reply_text_or(&reply, "");
        /* Postfix accepts postmaster without asking its tables (RFC 5321 wants it to), so a
         * user that does not exist shows what every other recipient meets: a clean 550
         * from a server that knows its users, 451 when a lookup table fails. */
        free(cmd);
        cmd = NULL;
        const char *at = strchr(j->shared->local_rcpt, '@');
        if (at && asprintf(&cmd, "RCPT TO:<" UNKNOWN_USER "%s>", at) >= 0 && smtp_command(c, cmd, &reply) >= 0) {
                res->unknown_rcpt = reply.code;
                res->unknown_rcpt_text = reply_text_or(&reply, "");
        }
        (void) smtp_command(c, "RSET", &reply);
}

/* Inside TLS on submission and smtps: EHLO again, and what AUTH offers. */
static void smtp_ehlo_in_tls(Job *j, MailConn *c) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        Result *res = &j->res;
        if (smtp_command(c, "EHLO " EHLO_NAME, &reply) < 0)
                return;
        res->tls_ehlo = reply_text_or(&reply, "");
        if (reply.code != 250)
                return;
        res->tls_ehlo_ok = true;
        const char *auth = smtp_ehlo_has(&reply, "AUTH");
        if (auth)
                res->auth_mechs = strndup(auth, 200);
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

        if (main_probe && j->shared->want_relay && j->svc->port == 25) {
                relay_test(j, c);
                if (j->shared->local_rcpt)
                        local_rcpt_test(j, c);
        }

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
        c->deadline_usec = MIN(c->deadline_usec, now_usec() + 100000u);
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
        uint64_t t0 = now_usec();
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
        res->latency_ms = (now_usec() - t0) / 1000;
        if (j->svc->implicit_tls && j->svc->proto == PROTO_SMTP && main_probe)
                smtp_ehlo_in_tls(j, &c);

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
                if (main_probe && j->svc->proto == PROTO_SMTP && !streq(j->svc->name, "smtp"))
                        smtp_ehlo_in_tls(j, &c);
        }
done:
        res->stage = STAGE_DONE;
        say_goodbye(j, &c);
finish:
        mailconn_close(&c);
        res->duration_ms = (now_usec() - t0) / 1000;
}

static int job_fiber(void *userdata) {
        run_job(userdata);
        return 0;
}

/* ---- Findings ---- */

/* What we learnt about a service beyond the probe: is it configured at all, and does its
 * daemon run? */
typedef struct SvcState {
        int configured;   /* 1 yes, 0 no, -1 unknown (the tool could not be run) */
        char *why_off;    /* configured == 0: "pop3 is not enabled (Dovecot protocols = imap)" */
        bool disabled;    /* not configured, not listening, not asked for: port.SVC ok, nothing else */
        bool daemon_down; /* every probed port of its daemon refused connections */
} SvcState;

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

/* An unknown finding for a check the probe could not get to. When j (may be NULL) never
 * reached the server (the name did not resolve, the port refused or did not answer), the
 * finding depends on port.SVC, which says why: the text output folds it there. */
static int add_not_tested(FindingList *out, const char *id, const char *target, const char *reason, const Job *j) {
        Finding *f = findings_addf(out, id, target, STATUS_UNKNOWN, _("not tested: %s"), reason);
        if (!f)
                return -ENOMEM;
        if (j && (j->res.stage == STAGE_NONE || j->res.stage == STAGE_CONNECT)) {
                char port_id[32];
                snprintf(port_id, sizeof(port_id), "port.%s", j->svc->name);
                return finding_set_depends_on(f, port_id, reason);
        }
        return 0;
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
                if (!f)
                        return -ENOMEM;
                return remedy_listen(f, ctx, svc, j->port, st ? st->configured : -1, st && st->daemon_down);
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
                return remedy_tls_setting(f, ctx, svc, NULL);
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
                return remedy_greeting(f, ctx, svc, j->port);
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
                          const char *reason, const Job *j) {
        char id[64];
        for (size_t i = from; i < to && i < ELEMENTSOF(tls_checks); i++) {
                snprintf(id, sizeof(id), "tls.%s.%s", svc->name, tls_checks[i]);
                int r = add_not_tested(out, id, target, reason, j);
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
                        finding_clear_commands(f);
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
        /* the main handshake's version, and which of TLS 1.0 and 1.1, each offered alone, work */
        bool weak = t->version < TLS1_2_VERSION;
        _cleanup_free_ char *accepted = NULL, *how = NULL;
        bool tested = true;
        for (Variant v = VARIANT_TLS10; v < _VARIANT_MAX; v++) {
                const Result *old = &jobs[v].res;
                const char *name = version_name(variant_version[v]);
                const char *outcome;
                char *n;
                if (old->tls_ok) {
                        if (asprintf(&n, "%s%s%s", strempty(accepted), accepted ? _(" and ") : "", name) < 0)
                                return -ENOMEM;
                        free(accepted);
                        accepted = n;
                        outcome = _("accepted");
                } else if (old->stage != STAGE_NONE && (old->error == -EPROTO || old->error == -ECONNRESET))
                        outcome = _("refused");
                else {
                        tested = false;
                        outcome = old->stage == STAGE_NONE ? _("not tested")
                                  : old->error_text          ? old->error_text
                                                             : mailproto_strerror(old->error);
                }
                if (asprintf(&n, _("%s%s%s offered alone: %s"), strempty(how), how ? "\n" : "", name, outcome) < 0)
                        return -ENOMEM;
                free(how);
                how = n;
        }
        if (weak || accepted) {
                if (weak)
                        f = findings_addf(out, id, res->target, STATUS_WARNING, _("%s negotiates %s, older than TLS 1.2"),
                                          svc->name, t->protocol);
                else
                        f = findings_addf(out, id, res->target, STATUS_WARNING,
                                          _("%s still accepts %s (retired by RFC 8996); by "
                                            "default it negotiates %s"),
                                          svc->name, accepted, t->protocol);
                if (!f)
                        return -ENOMEM;
                r = remedy_old_protocols(f, ctx, svc);
                if (r < 0)
                        return r;
        } else
                f = findings_addf(out, id, res->target, STATUS_OK,
                                  tested ? _("%s with %s; TLS 1.0 and 1.1 refused") : _("%s with %s; TLS 1.0/1.1 not tested"),
                                  t->protocol, t->cipher);
        if (!f)
                return -ENOMEM;
        return finding_set_detail(f, _("negotiated: %s, %s\n%s"), t->protocol, t->cipher, strempty(how));
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
                return tls_not_tested(out, svc, res->target, 0, ELEMENTSOF(tls_checks), resolve_error, j);

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
                r = remedy_tls_setting(f, ctx, svc, NULL);
                if (r < 0)
                        return r;
                return tls_not_tested(out, svc, res->target, 1, ELEMENTSOF(tls_checks),
                                      _("the TLS handshake failed (see the handshake finding)"), j);
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
                r = remedy_no_starttls(f, ctx, svc);
                if (r < 0)
                        return r;
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, offered ? _("the server refuses %s") : _("the server does not offer %s"), verb) < 0)
                        return -ENOMEM;
                return tls_not_tested(out, svc, res->target, 1, ELEMENTSOF(tls_checks), why, j);
        }
        if (!res->tls_ok || !res->tls.protocol) {
                _cleanup_free_ char *why = not_tested_reason(ctx, j, NULL);
                if (!why)
                        return -ENOMEM;
                return tls_not_tested(out, svc, res->target, 0, ELEMENTSOF(tls_checks), why, j);
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
                r = tls_not_tested(out, svc, res->target, 1, 4, _("the server sent no certificate"), j);
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
        } else if (!t->expiry_known) {
                /* A date OpenSSL cannot compare is not "expires in 0 days". */
                s = STATUS_UNKNOWN;
                f = findings_addf(out, ID("expiry"), res->target, s,
                                  _("cannot tell when the certificate expires: its notAfter date '%s' could not be "
                                    "compared with the current time"), strempty(t->not_after));
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
        if (t->expiry_known) {
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
        }
        if (s != STATUS_OK && s != STATUS_UNKNOWN) {
                if (remedy_expiry(f, ctx, svc, t, host) < 0)
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
                _cleanup_free_ char *prefix = NULL;
                if (asprintf(&prefix, _("Use a certificate whose subjectAltName includes %s (clients connect to "
                                        "that name). "), host) < 0 ||
                    remedy_real_certificate(f, ctx, host, prefix) < 0)
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
                if (remedy_real_certificate(f, ctx, host, NULL) < 0)
                        return -ENOMEM;
        } else if (t->chain == TLS_CHAIN_UNTRUSTED) {
                if (remedy_untrusted_chain(f, ctx, svc) < 0)
                        return -ENOMEM;
        }
        if (point_to_earlier(out, f, j, earlier, n_earlier, "chain") < 0)
                return -ENOMEM;

        return tls_protocol_finding(ctx, jobs, out);
#undef ID
}

/* Is addr inside one of mynetworks' address/prefix entries? Names and tables are skipped.
 * An entry wider than a /8 (IPv4) or a /32 (IPv6) does not count: "mynetworks =
 * 0.0.0.0/0" is the classic open relay, not a trusted network. A /8 itself does count,
 * so that Postfix's default 127.0.0.0/8 trusts the loopback. */
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

/* A Postfix listener that broke off (no greeting, a closed connection, a failed TLS
 * start) while SASL is on and Dovecot's auth socket is dead: that is the cause. */
static bool sasl_is_cause(const Job *j) {
        const Shared *s = j->shared;
        const Result *res = &j->res;
        return s && svc_postfix(j->svc) && s->sasl_enabled && s->sasl_state <= 0 && s->sasl_socket &&
               (res->stage == STAGE_GREETING || res->stage == STAGE_TLS_FIRST || res->stage == STAGE_DIALOGUE ||
                (res->stage == STAGE_DONE && !res->tls_ehlo_ok && !streq(j->svc->name, "smtp")));
}

static char *sasl_cause_text(const Job *j) {
        char *s = NULL;
        if (asprintf(&s, _("%s fails because Dovecot's auth socket %s is %s (see config.sasl): smtpd dies when it "
                           "looks for SASL mechanisms; start Dovecot, Postfix retries in up to 60 s"),
                     j->svc->name, j->shared->sasl_socket,
                     j->shared->sasl_state == -ENOENT ? _("missing") : _("dead")) < 0)
                return NULL;
        return s;
}

/* Makes f say the root cause and its remedy instead of the symptom. */
static int blame_sasl(const CheckContext *ctx, const Job *j, Finding *f) {
        _cleanup_free_ char *why = sasl_cause_text(j);
        if (!why)
                return -ENOMEM;
        if (finding_append_detail(f, _("symptom: %s"), f->summary) < 0 || finding_set_summary(f, "%s", why) < 0)
                return -ENOMEM;
        finding_clear_commands(f);
        return remedy_no_auth(f, ctx, j->svc, j->shared->sasl_socket, j->shared->sasl_state);
}

/* smtp.auth on submission and smtps: inside TLS, EHLO offers AUTH, or clients cannot log
 * in to send mail. */
static int auth_finding(const CheckContext *ctx, const Job *j, const char *resolve_error, FindingList *out) {
        const Result *res = &j->res;
        Finding *f;

        if (!check_group_selected(ctx, "smtp"))
                return 0;
        if (resolve_error || !res->tls_ehlo_ok) {
                if (!resolve_error && sasl_is_cause(j)) {
                        f = findings_addf(out, "smtp.auth", res->target, STATUS_CRITICAL, "%s", "");
                        if (!f)
                                return -ENOMEM;
                        if (finding_set_detail(f, "%s", strempty(res->tls_ehlo ? res->tls_ehlo : res->greeting)) < 0)
                                return -ENOMEM;
                        return blame_sasl(ctx, j, f);
                }
                _cleanup_free_ char *why = NULL;
                if (!resolve_error && res->stage == STAGE_DONE && res->tls_ok)
                        why = strdup(_("EHLO inside TLS got no answer"));
                else if (!resolve_error && res->stage == STAGE_DONE)
                        why = strdup(_("no TLS, so no AUTH (see the handshake finding)"));
                else
                        why = not_tested_reason(ctx, j, resolve_error);
                if (!why)
                        return -ENOMEM;
                return add_not_tested(out, "smtp.auth", res->target, why, resolve_error ? NULL : j);
        }
        bool ok = res->auth_mechs && *res->auth_mechs;
        f = findings_addf(out, "smtp.auth", res->target, ok ? STATUS_OK : STATUS_CRITICAL,
                          ok ? _("%s offers AUTH %s inside TLS") : _("%s offers no AUTH inside TLS: mail clients cannot "
                                                                     "log in to send mail"),
                          j->svc->name, strempty(res->auth_mechs));
        if (!f || finding_set_detail(f, _("EHLO after TLS: %s"), strempty(res->tls_ehlo)) < 0)
                return -ENOMEM;
        if (!ok) {
                int state = j->shared->sasl_socket ? j->shared->sasl_state : 2;
                if (!j->shared->sasl_enabled)
                        state = 2;
                return remedy_no_auth(f, ctx, j->svc, j->shared->sasl_socket, state);
        }
        return 0;
}

/* The restriction list holding a word Postfix does not know, for 451 4.3.5. */
static int unknown_restriction(const CheckContext *ctx, char **ret_param, char **ret_word, char **ret_fixed) {
        static const char *const names[] = {
                "smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
                "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
                "smtpd_end_of_data_restrictions", "smtpd_restriction_classes", NULL,
        };
        _cleanup_strv_free_ char **v = NULL, **classes = NULL;
        if (postconf_get(ctx, names, &v, NULL) < 0)
                return -ENOENT;
        if (postfix_list_split(v[7], &classes) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < 7; i++) {
                _cleanup_strv_free_ char **words = NULL;
                if (postfix_list_split(v[i], &words) < 0)
                        return -ENOMEM;
                for (char **w = words; *w; w++) {
                        if (restriction_is_known(*w, classes))
                                continue;
                        /* The list without the word, or with the word it nearly is. */
                        const char *near = restriction_nearest(*w);
                        _cleanup_free_ char *fixed = NULL;
                        for (char **x = words; *x; x++) {
                                const char *use = x == w ? near : *x;
                                if (!use)
                                        continue;
                                char *n;
                                if (asprintf(&n, "%s%s%s", strempty(fixed), fixed ? ", " : "", use) < 0)
                                        return -ENOMEM;
                                free(fixed);
                                fixed = n;
                        }
                        *ret_param = strdup(names[i]);
                        *ret_word = strdup(*w);
                        *ret_fixed = fixed ? TAKE_PTR(fixed) : strdup("");
                        return *ret_param && *ret_word && *ret_fixed ? 0 : -ENOMEM;
                }
        }
        return -ENOENT;
}

/* smtp.local-recipient: what a sender meets when writing to postmaster here. */
static int local_rcpt_finding(const CheckContext *ctx, const Job *j, FindingList *out) {
        const Result *res = &j->res;
        const char *rcpt = j->shared->local_rcpt;
        Finding *f;

        if (!rcpt)
                return findings_addf(out, "smtp.local-recipient", res->target, STATUS_UNKNOWN,
                                     _("not tested: Postfix names no local mail domain (mydestination, virtual_*_domains)"))
                               ? 0 : -ENOMEM;
        if (res->local_rcpt == 0)
                return add_not_tested(out, "smtp.local-recipient", res->target, _("the dialogue did not get that far"), NULL);
        if (res->local_rcpt < 0) {
                f = findings_addf(out, "smtp.local-recipient", res->target, STATUS_UNKNOWN,
                                  _("not tested: MAIL FROM:<> was not accepted: %s"), strempty(res->local_rcpt_text));
                return f ? 0 : -ENOMEM;
        }
        const char *at = strchr(rcpt, '@');
        bool unknown_temp = res->unknown_rcpt / 100 == 4;
        if (res->local_rcpt / 100 == 2 && !unknown_temp) {
                f = findings_addf(out, "smtp.local-recipient", res->target, STATUS_OK,
                                  res->unknown_rcpt / 100 == 5 ? _("mail to %s is accepted, to unknown users refused")
                                                                : _("mail to %s is accepted"),
                                  rcpt);
                if (!f || finding_set_detail(f, "RCPT TO:<%s> -> %s\nRCPT TO:<" UNKNOWN_USER "%s> -> %s", rcpt,
                                             strempty(res->local_rcpt_text), strempty(at),
                                             res->unknown_rcpt ? strempty(res->unknown_rcpt_text) : _("(not asked)")) < 0)
                        return -ENOMEM;
                return 0;
        }
        /* postmaster refused, or a lookup for other users failing: the worse reply speaks. */
        bool pm_ok = res->local_rcpt / 100 == 2;
        const char *text = pm_ok ? strempty(res->unknown_rcpt_text) : strempty(res->local_rcpt_text);
        bool temp = pm_ok || res->local_rcpt / 100 == 4;
        _cleanup_free_ char *any_user = NULL;
        if (pm_ok && asprintf(&any_user, _("any local user but postmaster (asked: %s%s)"), UNKNOWN_USER, strempty(at)) < 0)
                return -ENOMEM;
        if (pm_ok)
                rcpt = any_user;
        f = findings_addf(out, "smtp.local-recipient", res->target, STATUS_CRITICAL,
                          temp ? _("mail to %s is deferred: %.120s") : _("mail to %s is rejected: %.120s"), rcpt, text);
        if (!f || finding_set_detail(f, "MAIL FROM:<>\nRCPT TO:<%s> -> %s\nRCPT TO:<" UNKNOWN_USER "%s> -> %s",
                                     j->shared->local_rcpt, strempty(res->local_rcpt_text), strempty(at),
                                     res->unknown_rcpt ? strempty(res->unknown_rcpt_text) : _("(not asked)")) < 0)
                return -ENOMEM;
        /* What Postfix itself wrote about it, when it did (the log says which table or word):
         * the newest such line since this dialogue began, not an older one about another
         * fault that has been mended since. */
        static const char *const needles[] = { "unknown smtpd restriction", "is unavailable", "open database",
                                               "Server configuration error", "lookup error" };
        _cleanup_free_ char *line = NULL;
        uint64_t since = res->rcpt_at_usec > 1000000u ? res->rcpt_at_usec - 1000000u : 0;
        Deadline deadline = deadline_is_set(ctx->deadline) ? ctx->deadline : deadline_in_ms(5000);
        if (maillog_find_newest_async(needles, ELEMENTSOF(needles), since, deadline, &line) == -ENOMEM)
                return -ENOMEM;
        if (line && finding_append_detail(f, _("Postfix's log: %s"), line) < 0)
                return -ENOMEM;
        if (strstr(text, "4.3.5") || strstr(text, "configuration error")) {
                _cleanup_free_ char *param = NULL, *word = NULL, *fixed = NULL;
                int r = unknown_restriction(ctx, &param, &word, &fixed);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finding_set_remedy(f, "%s", _("Postfix calls its own configuration broken: the mail log "
                                                             "says why (\"warning: unknown smtpd restriction\" or the "
                                                             "like); fix that setting and reload Postfix.")) < 0
                                       ? -ENOMEM : 0;
                const char *near = restriction_nearest(word);
                if (finding_append_detail(f, _("%s holds '%s', which Postfix does not know: it answers 451 to every "
                                               "client at that list"), param, word) < 0)
                        return -ENOMEM;
                if ((near ? finding_set_remedy(f, _("'%s' in %s is not a Postfix restriction; it looks like '%s'."),
                                               word, param, near)
                          : finding_set_remedy(f, _("'%s' in %s is not a Postfix restriction: remove it (or write the "
                                                    "one you meant, see postconf(5))."), word, param)) < 0 ||
                    finding_add_command(f, "postconf -e '%s = %s'", param, fixed) < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, true, false);
        }
        if (temp && (strstr(text, "4.3.0") || strstr(text, "lookup failure")))
                return finding_set_remedy(f, "%s", _("A lookup table Postfix needs for this address fails (a missing "
                                                     "or unreadable database): see config.tables, whose commands "
                                                     "rebuild it.")) < 0 ? -ENOMEM : 0;
        return finding_set_remedy(f, _("Every mail domain must accept postmaster (RFC 5321): alias it to a real "
                                       "mailbox (/etc/aliases: 'postmaster: root', then newaliases), and read the "
                                       "mail log for why %s was refused."), rcpt) < 0 ? -ENOMEM : 0;
}

/* The source address of the probe, as text. */
static void local_address(const Result *res, char buf[static INET6_ADDRSTRLEN]) {
        strcpy(buf, "?");
        if (res->local_len > 0)
                inet_ntop(res->local.ss_family,
                          res->local.ss_family == AF_INET ? (const void *) &((const struct sockaddr_in *) &res->local)->sin_addr
                                                          : (const void *) &((const struct sockaddr_in6 *) &res->local)->sin6_addr,
                          buf, INET6_ADDRSTRLEN);
}

/* When the probe may relay because it is in mynetworks, it cannot tell what a stranger
 * gets; the configuration can: the restrictions must end in a guard with nothing before it
 * that lets strangers through, and mynetworks (its tables included) must be narrow. */
typedef struct RelayConfig {
        Status status;
        const char *summary;
        char *why;
} RelayConfig;

static int relay_by_config(const CheckContext *ctx, const char *src, RelayConfig *ret) {
        static const char *const names[] = { "mynetworks", "smtpd_relay_restrictions", "smtpd_recipient_restrictions", NULL };
        _cleanup_strv_free_ char **v = NULL, **nets = NULL, **relay = NULL, **rcpt = NULL, **entries = NULL;
        _cleanup_free_ char *sources = NULL, *unread = NULL;
        const char *wide = NULL;

        *ret = (RelayConfig) { .status = STATUS_UNKNOWN };
        if (postconf_get(ctx, names, &v, NULL) < 0) {
                ret->summary = _("relaying accepted for this client; cannot read Postfix's settings to tell whether "
                                 "strangers may relay too");
                return 0;
        }
        if (postfix_list_split(v[0], &nets) < 0 || postfix_list_split(v[1], &relay) < 0 ||
            postfix_list_split(v[2], &rcpt) < 0)
                return -ENOMEM;
        int in = mynetworks_contains(ctx, nets, src);
        if (in == 0) {
                ret->status = STATUS_CRITICAL;
                ret->summary = _("OPEN RELAY: the server accepts mail for a foreign domain from a client outside mynetworks");
                return asprintf(&ret->why, _("the probe came from %s, which is not in mynetworks = %s"), src, v[0]) < 0
                               ? -ENOMEM : 0;
        }
        if (in < 0) {
                ret->summary = _("relaying accepted for this client; a mynetworks table cannot be asked whether it "
                                 "is a trusted client");
                return asprintf(&ret->why, "mynetworks = %s", v[0]) < 0 ? -ENOMEM : 0;
        }
        RelayWalk a = relay_walk(relay), b = relay_walk(rcpt);
        const RelayWalk *g = a.verdict == RELAY_GUARDED ? &a : b.verdict == RELAY_GUARDED ? &b : NULL;
        int k = mynetworks_expand(ctx, nets, &entries, &sources, &unread);
        if (k < 0)
                return k;
        bool is_wide = mynetworks_is_open(entries, &wide);
        if (!g) {
                ret->status = STATUS_CRITICAL;
                ret->summary = _("OPEN RELAY: relaying was accepted, and the restrictions have no "
                                 "reject_unauth_destination, so strangers may relay too");
        } else if (is_wide) {
                ret->status = STATUS_CRITICAL;
                ret->summary = _("OPEN RELAY: relaying was accepted through mynetworks, and mynetworks spans the "
                                 "whole Internet");
        } else if (g->uncertain) {
                ret->summary = _("relaying accepted for this client (it is in mynetworks); whether strangers may "
                                 "relay depends on an access check the configuration alone cannot answer");
        } else if (unread) {
                ret->summary = _("relaying accepted for this client (it is in mynetworks); a mynetworks table cannot "
                                 "be read to tell how wide it is");
        } else {
                ret->status = STATUS_OK;
                ret->summary = _("strangers cannot relay: only mynetworks and authenticated clients may, and this "
                                 "probe is in mynetworks (judged from the configuration)");
        }
        return asprintf(&ret->why,
                        _("the probe came from %s, which is in mynetworks = %s%s%s\n"
                          "smtpd_relay_restrictions = %s\nsmtpd_recipient_restrictions = %s%s%s%s%s"),
                        src, v[0], sources ? "\n" : "", strempty(sources), v[1], v[2],
                        is_wide ? _("\nmynetworks contains ") : "", is_wide ? wide : "",
                        g && g->uncertain ? _("\nbefore the guard, this may permit anyone: ") : "",
                        g && g->uncertain ? g->uncertain : "") < 0 ? -ENOMEM : 0;
}

static int relay_finding(const CheckContext *ctx, const Result *res, FindingList *out) {
        char src[INET6_ADDRSTRLEN];
        _cleanup_free_ char *why = NULL;
        const char *summary;
        Status s;
        Finding *f;

        local_address(res, src);
        switch (res->relay) {
        case RELAY_REFUSED:
                s = STATUS_OK;
                summary = _("relaying to a foreign domain is refused");
                break;
        case RELAY_ACCEPTED: {
                RelayConfig rc;
                int r = relay_by_config(ctx, src, &rc);
                if (r < 0)
                        return r;
                s = rc.status;
                summary = rc.summary;
                why = rc.why;
                break;
        }
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
        if (finding_set_detail(f, _("from %s: MAIL FROM:<> RCPT TO:<%s> (never DATA) -> %s"), src, RELAY_RCPT,
                               strempty(res->relay_text)) < 0)
                return -ENOMEM;
        if (why && finding_append_detail(f, "%s", why) < 0)
                return -ENOMEM;
        if (s == STATUS_CRITICAL && remedy_open_relay(f, ctx) < 0)
                return -ENOMEM;
        if (s == STATUS_UNKNOWN && res->relay == RELAY_ACCEPTED &&
            finding_set_remedy(f, "%s", _("Run the check from a host outside mynetworks (mxdeck check --only smtp "
                                          "--host NAME there), or read the access tables named in the restrictions.")) < 0)
                return -ENOMEM;
        return 0;
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
                static const char *const ids25[] = { "smtp.open-relay", "smtp.local-recipient", "smtp.starttls",
                                                     "smtp.auth-before-tls" };
                _cleanup_free_ char *why = !resolve_error && sasl_is_cause(j) ? sasl_cause_text(j)
                                                                              : not_tested_reason(ctx, j, resolve_error);
                if (!why)
                        return -ENOMEM;
                for (size_t i = port25 ? 0 : 3; i < ELEMENTSOF(ids25); i++) {
                        int r = add_not_tested(out, ids25[i], res->target, why, j);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        if (port25) {
                int r = relay_finding(ctx, res, out);
                if (r >= 0)
                        r = local_rcpt_finding(ctx, j, out);
                if (r < 0)
                        return r;

                /* STARTTLS offered on 25 */
                f = findings_addf(out, "smtp.starttls", res->target, res->has_starttls ? STATUS_OK : STATUS_CRITICAL,
                                  res->has_starttls ? _("port 25 offers STARTTLS")
                                                    : _("port 25 does not offer STARTTLS: mail arrives in clear text"));
                if (!f || finding_set_detail(f, "%s", strempty(res->ehlo)) < 0)
                        return -ENOMEM;
                if (!res->has_starttls && remedy_starttls_25(f, ctx) < 0)
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
        if (s != STATUS_OK && remedy_auth_before_tls(f, ctx, port25) < 0)
                return -ENOMEM;
        return 0;
}

static bool in_networks(const char *const *words, const struct sockaddr_storage *addr);

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
                return add_not_tested(out, id, res->target, why, j);
        }
        /* Dovecot lets a client log in without TLS when it counts the connection as secure:
         * same address at both ends, or a client in login_trusted_networks. A stranger is
         * neither; when the probe was one of them, the answer is the configuration's. */
        char src[INET6_ADDRSTRLEN] = "?";
        if (res->local_len > 0)
                inet_ntop(res->local.ss_family,
                          res->local.ss_family == AF_INET ? (const void *) &((const struct sockaddr_in *) &res->local)->sin_addr
                                                          : (const void *) &((const struct sockaddr_in6 *) &res->local)->sin6_addr,
                          src, sizeof(src));
        _cleanup_free_ char *trusted = NULL, *dpa = NULL;
        bool in_trusted = false;
        if (res->plaintext_allowed && doveconf_get(ctx, "login_trusted_networks", &trusted, NULL) >= 0 && trusted) {
                _cleanup_strv_free_ char **words = NULL;
                if (postfix_list_split(trusted, &words) >= 0)
                        in_trusted = in_networks((const char *const *) words, &res->local);
        }
        bool allowed = res->plaintext_allowed;
        bool by_config = allowed && (res->same_address || in_trusted);
        if (by_config) {
                /* Dovecot 2.3: disable_plaintext_auth; 2.4: auth_allow_cleartext. */
                int k = doveconf_get(ctx, "disable_plaintext_auth", &dpa, NULL);
                if (k >= 0 && dpa) {
                        const char *v = dpa + strspn(dpa, " \t");
                        allowed = strncmp(v, "no", 2) == 0;
                } else if (doveconf_get(ctx, "auth_allow_cleartext", &dpa, NULL) >= 0 && dpa) {
                        const char *v = dpa + strspn(dpa, " \t");
                        allowed = strncmp(v, "yes", 3) == 0;
                } else {
                        f = findings_addf(out, id, res->target, STATUS_UNKNOWN,
                                          _("not tested: Dovecot counted this probe from %s as a secure connection, "
                                            "and its configuration cannot be read"), src);
                        return f ? 0 : -ENOMEM;
                }
        }
        f = findings_addf(out, id, res->target, allowed ? STATUS_CRITICAL : STATUS_OK,
                          allowed ? _("%s accepts password login without TLS")
                                  : _("%s refuses password login before TLS"),
                          j->svc->name);
        if (!f || finding_set_detail(f, _("capabilities before TLS (probe from %s): %s"), src, strempty(res->caps)) < 0)
                return -ENOMEM;
        if (by_config &&
            finding_append_detail(f, _("judged from Dovecot's configuration: Dovecot counts this probe's connection as "
                                       "secure (%s), so it offers login to it, while a client from another address "
                                       "%s (disable_plaintext_auth = %s)"),
                                  res->same_address ? _("client and server share an address")
                                                    : _("the client is in login_trusted_networks"),
                                  allowed ? _("may log in without TLS too") : _("is refused"),
                                  dpa ? dpa + strspn(dpa, " \t") : "?") < 0)
                return -ENOMEM;
        if (allowed && remedy_plaintext_auth(f, ctx) < 0)
                return -ENOMEM;
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
        int dovecot_r;
        char *protocols;
} ConfCache;

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

/* One listener's "is it configured at all?" question, run in its own fiber. */
typedef struct ConfQuery {
        const CheckContext *ctx;
        const Service *svc;
        ConfCache *cache;
        SvcState *state;
} ConfQuery;

static int conf_query_fiber(void *userdata) {
        ConfQuery *q = userdata;
        q->state->configured = service_configured(q->ctx, q->svc, q->cache, &q->state->why_off);
        return 0;
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
        if (svc->proto == PROTO_SMTP)
                /* smtps too: smtp.auth asks it whether clients can log in. */
                return check_group_selected(ctx, "smtp");
        if (svc->implicit_tls)
                return false;
        return check_group_selected(ctx, svc->proto == PROTO_IMAP ? "imap" : "pop3");
}

/* An asynchronous lookup's state: on the heap, because a lookup that cannot be cancelled
 * still writes into it after we gave up. */
static int resolve(Shared *s, const char *name, Deadline deadline, char **ret_error) {
        struct addrinfo *ai = NULL;
        int r = resolve_bounded(name, 0, deadline, &ai);
        if (r == EAI_SYSTEM && errno == ECANCELED)
                return -ECANCELED;
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

/* What Postfix's configuration says before any probe runs: a recipient that must be
 * accepted (postmaster at the first local or virtual domain), and the SASL socket. */
static int shared_postfix_facts(const CheckContext *ctx, Shared *s) {
        static const char *const names[] = { "mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
                                             "myhostname", NULL };
        _cleanup_strv_free_ char **v = NULL;
        if (postconf_get(ctx, names, &v, NULL) >= 0) {
                for (size_t i = 0; i < 3 && !s->local_rcpt; i++) {
                        _cleanup_strv_free_ char **words = NULL;
                        if (postfix_list_split(v[i], &words) < 0)
                                return -ENOMEM;
                        for (char **w = words; *w && !s->local_rcpt; w++)
                                if (!strchr(*w, ':') && !strchr(*w, '/') && !strchr(*w, '$') && strchr(*w, '.') &&
                                    asprintf(&s->local_rcpt, "postmaster@%s", *w) < 0)
                                        return -ENOMEM;
                }
        }
        int r = postfix_sasl_socket(ctx, &s->sasl_socket, &s->sasl_enabled);
        if (r == -ENOMEM)
                return r;
        s->sasl_state = r >= 0 ? unix_socket_state(s->sasl_socket) : 2;
        return 0;
}

int check_mail_listeners(const CheckContext *ctx, FindingList *out) {
        Shared s = { .ctx = ctx, .host = ctx->host };
        Job jobs[N_SERVICES][_VARIANT_MAX] = {};
        void *run[N_SERVICES * _VARIANT_MAX];
        size_t n_run = 0;
        _cleanup_free_ char *resolve_error = NULL, *tls_error = NULL;
        bool want_legacy = check_group_selected(ctx, "tls");
        int r = 0;

        /* One time limit for the whole suite, name lookup included: the run's deadline
         * bounds the check, not each of its steps. */
        Deadline deadline = deadline_is_set(ctx->deadline) ? ctx->deadline
                                                           : deadline_in_ms((uint64_t) ctx->settings->timeout_seconds * 1000u);

        /* Connect to --connect, else the host's addresses, else (no name at all) loopback. */
        const char *name = ctx->connect ? ctx->connect : ctx->host ? ctx->host : "127.0.0.1";
        r = resolve(&s, name, deadline, &resolve_error);
        if (r == -ENOMEM || r == -ECANCELED)
                return r;
        s.want_relay = check_group_selected(ctx, "smtp");
        if (s.want_relay || check_group_selected(ctx, "port")) {
                r = shared_postfix_facts(ctx, &s);
                if (r < 0)
                        goto out;
        }

        for (Variant v = 0; v < _VARIANT_MAX; v++) {
                r = tls_client_ctx_new_range(ctx->ca_file, variant_version[v], variant_version[v],
                                       &s.tls_ctx[v], v == VARIANT_MAIN ? &tls_error : NULL);
                if (r < 0 && v == VARIANT_MAIN) {
                        Finding *f = findings_addf(out, "tls.smtp.handshake", "", STATUS_UNKNOWN,
                                                   _("TLS probes cannot start: %s"), strempty(tls_error));
                        r = f ? -ECANCELED : -ENOMEM;
                        goto out;
                }
        }

        s.deadline_usec = deadline.usec;
        for (size_t i = 0; i < N_SERVICES && !resolve_error; i++) {
                if (!service_wanted(ctx, &services[i]))
                        continue;
                for (Variant v = 0; v < _VARIANT_MAX; v++) {
                        if (v != VARIANT_MAIN && (!want_legacy || !s.tls_ctx[v]))
                                continue;
                        Job *j = &jobs[i][v];
                        *j = (Job) { .shared = &s, .svc = &services[i], .port = service_port(ctx, &services[i]), .variant = v };
                        run[n_run++] = j;
                }
        }
        /* Every dialogue at once, each in its own fiber on the caller's loop. */
        r = fiber_run_all(job_fiber, run, n_run, NULL);
        if (r < 0) {
                for (size_t i = 0; i < N_SERVICES; i++)
                        for (Variant v = 0; v < _VARIANT_MAX; v++)
                                result_done(&jobs[i][v].res);
                goto out;
        }

        /* What the configuration says about the services that do not listen, and whether a
         * daemon is down altogether (every probed port of it refused). */
        SvcState state[N_SERVICES] = {};
        ConfCache conf = {};
        unsigned probed[2] = {}, refused[2] = {}; /* [0] Postfix, [1] Dovecot */
        /* Ask the configuration about every listener that refused, all at once (Dovecot's
         * protocols first, once, since each Dovecot query needs them). */
        ConfQuery queries[N_SERVICES];
        void *qargs[N_SERVICES];
        size_t n_queries = 0;
        bool dovecot_refused = false;
        for (size_t i = 0; i < N_SERVICES && !resolve_error; i++) {
                state[i].configured = 1;
                if (!service_wanted(ctx, &services[i]) || jobs[i][VARIANT_MAIN].res.stage != STAGE_CONNECT)
                        continue;
                dovecot_refused = dovecot_refused || !svc_postfix(&services[i]);
                queries[n_queries] = (ConfQuery) { .ctx = ctx, .svc = &services[i], .cache = &conf, .state = &state[i] };
                qargs[n_queries] = &queries[n_queries];
                n_queries++;
        }
        if (dovecot_refused)
                conf.dovecot_r = doveconf_get(ctx, "protocols", &conf.protocols, NULL);
        r = fiber_run_all(conf_query_fiber, qargs, n_queries, NULL);
        if (r < 0) {
                for (size_t i = 0; i < N_SERVICES; i++) {
                        free(state[i].why_off);
                        for (Variant v = 0; v < _VARIANT_MAX; v++)
                                result_done(&jobs[i][v].res);
                }
                free(conf.protocols);
                goto out;
        }
        for (size_t i = 0; i < N_SERVICES && !resolve_error; i++) {
                const Service *svc = &services[i];
                const Result *res = &jobs[i][VARIANT_MAIN].res;
                SvcState *st = &state[i];
                if (!service_wanted(ctx, svc))
                        continue;
                if (res->stage == STAGE_CONNECT)
                        st->disabled = st->configured == 0 && st->why_off && !port_overridden(ctx, svc);
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
                if (r >= 0 && svc->proto == PROTO_SMTP && !streq(svc->name, "smtp"))
                        r = auth_finding(ctx, j, resolve_error, out);
                /* A Postfix port that broke off because Dovecot's auth socket is dead: say
                 * the cause on port.SVC instead of its symptom. */
                if (r >= 0 && !resolve_error && sasl_is_cause(j) && j->res.stage != STAGE_DONE) {
                        _cleanup_free_ char *why = sasl_cause_text(j);
                        if (!why)
                                r = -ENOMEM;
                        for (size_t k = from; k < out->n && r >= 0; k++) {
                                Finding *pf = &out->items[k];
                                if (pf->status == STATUS_OK || strstr(pf->summary, why))
                                        continue; /* fine, or already says the cause */
                                if (pf->status != STATUS_UNKNOWN) {
                                        r = blame_sasl(ctx, j, pf);
                                        continue;
                                }
                                /* tls.SVC.* that could not be judged: not tested, and why. */
                                if (finding_set_summary(pf, _("not tested: %s"), why) < 0 ||
                                    finding_set_remedy(pf, "%s", _("See config.sasl.")) < 0)
                                        r = -ENOMEM;
                                finding_clear_commands(pf);
                        }
                }
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
        free(s.local_rcpt);
        free(s.sasl_socket);
        return r == -ECANCELED ? 0 : r;
}
