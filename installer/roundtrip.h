/* A real round trip through the mail server on loopback: submit on 587 (STARTTLS + AUTH),
 * find the message over IMAPS, delete it. */
#pragma once

#include <stddef.h>

typedef struct RoundTrip {
        const char *host;      /* SNI and the name the certificate must cover */
        const char *ca_file;   /* trust anchor, NULL = the system store */
        const char *login;     /* as the user logs in (the address in virtual mode) */
        const char *password;
        const char *address;   /* the mailbox's address: sender and recipient */
} RoundTrip;

/* 0, or a negative errno with a one-line reason in *ret_error (never the password). With
 * ret_message, the delivered message as the mailbox holds it (CRLF line ends, at most
 * ROUNDTRIP_MESSAGE_MAX bytes) is fetched before it is deleted, for the DKIM check. */
#define ROUNDTRIP_MESSAGE_MAX (256u << 10)
int roundtrip_run(const RoundTrip *rt, char **ret_message, size_t *ret_size, char **ret_error);

/* The reply readers of the round trip, on a connection's MailConn (public for the unit
 * tests that feed them hostile servers). An SMTP reply's code or a negative errno; an IMAP
 * tagged reply's 0 (OK), -EPERM (NO, BAD) or a negative errno. Both are bounded by
 * mailproto's caps (line length, lines and bytes of a reply) and the connection's deadline. */
typedef struct MailConn MailConn;
typedef struct ImapLine ImapLine;
int roundtrip_smtp_reply(MailConn *m);
int roundtrip_imap_reply(MailConn *m, const char *tag, void (*see)(const ImapLine *l, void *ud), void *ud);
