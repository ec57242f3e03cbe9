/* What to do about a listener finding: the words, and the exact commands (Finding.commands). */
#pragma once

#include "probe.h"
#include "tlsprobe.h"

typedef enum Proto { PROTO_SMTP, PROTO_IMAP, PROTO_POP3 } Proto;

typedef struct Service {
        const char *name;
        unsigned port;
        Proto proto;
        bool implicit_tls;
        const char *login; /* Dovecot: the login service owning its inet_listener */
} Service;

static inline bool svc_postfix(const Service *svc) {
        return svc->proto == PROTO_SMTP;
}

/* Each sets f's remedy (prose) and its commands; 0 or -ENOMEM. */
int remedy_open_relay(Finding *f, const CheckContext *ctx);
int remedy_plaintext_auth(Finding *f, const CheckContext *ctx);
int remedy_auth_before_tls(Finding *f, const CheckContext *ctx, bool port25);
int remedy_starttls_25(Finding *f, const CheckContext *ctx);
int remedy_no_starttls(Finding *f, const CheckContext *ctx, const Service *svc);
int remedy_tls_setting(Finding *f, const CheckContext *ctx, const Service *svc, const char *prefix);
int remedy_old_protocols(Finding *f, const CheckContext *ctx, const Service *svc);
/* A certificate from a public CA (self-signed, wrong name, private CA): prefix first. */
int remedy_real_certificate(Finding *f, const CheckContext *ctx, const char *host, const char *prefix);
int remedy_expiry(Finding *f, const CheckContext *ctx, const Service *svc, const TlsInfo *t, const char *host);
int remedy_untrusted_chain(Finding *f, const CheckContext *ctx, const Service *svc);
int remedy_greeting(Finding *f, const CheckContext *ctx, const Service *svc, unsigned port);
/* Nothing listens: configured 1 yes, 0 no, -1 unknown; daemon_down: none of its ports answers. */
int remedy_listen(Finding *f, const CheckContext *ctx, const Service *svc, unsigned port, int configured,
                  bool daemon_down);
/* AUTH missing after TLS on submission/smtps. sasl_state: unix_socket_state() of Postfix's
 * SASL socket (1 fine), or 2 when SASL is not Dovecot's. */
int remedy_no_auth(Finding *f, const CheckContext *ctx, const Service *svc, const char *socket, int sasl_state);

/* The certificate file a daemon is configured with (Postfix: the first of
 * smtpd_tls_chain_files, else smtpd_tls_cert_file; Dovecot: ssl_cert). NULL if none. */
char *configured_cert_file(const CheckContext *ctx, bool postfix);
