/* The verify step's round trip: a message submitted on 587 with STARTTLS and AUTH as a real
 * user, delivered, found over IMAPS and deleted, all on loopback. Non-blocking sockets
 * (blocking only for the TLS handshake, with send/receive time limits) read and written
 * through mailproto's bounded reader, each connection with an overall deadline; the
 * password only ever goes into the TLS-protected AUTH lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "deadline.h"
#include "macro.h"
#include "mailproto.h"
#include "roundtrip.h"

#define IO_TIMEOUT_S 10
#define DELIVERY_WAIT_MS 30000
#define CONN_BUDGET_MS (DELIVERY_WAIT_MS + 60000) /* everything one connection may take */

/* The socket (non-blocking but for the TLS handshake) and the reader of
 * the server's replies: the bounded line reader and parsers of mailproto (caps on line
 * length, lines and bytes of a reply; the connection's deadline before every read). */
typedef struct Conn {
        int fd;
        SSL_CTX *ctx;
        SSL *ssl;
        MailConn m; /* m.fd and m.ssl are borrowed from fd and ssl above */
} Conn;

static void conn_done(Conn *c) {
        if (c->ssl) {
                SSL_shutdown(c->ssl);
                SSL_free(c->ssl);
        }
        SSL_CTX_free(c->ctx);
        if (c->fd >= 0)
                close(c->fd);
        *c = (Conn) { .fd = -1 };
}

static int set_nonblock(int fd, bool on) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

static int conn_open(Conn *c, unsigned port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

        *c = (Conn) { .fd = -1, .m = { .fd = -1, .deadline_usec = deadline_in_ms(CONN_BUDGET_MS).usec } };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return negative_errno();
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        c->m.fd = c->fd;
        /* Reads and writes go through mailproto, which waits by poll() up to the deadline. */
        return set_nonblock(c->fd, true);
}

static int conn_tls(Conn *c, const char *host, const char *ca_file) {
        c->ctx = SSL_CTX_new(TLS_client_method());
        if (!c->ctx)
                return -ENOMEM;
        SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
        if (ca_file) {
                if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1)
                        return -EIO;
        } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
                return -EIO;
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        c->ssl = SSL_new(c->ctx);
        if (!c->ssl)
                return -ENOMEM;
        SSL_set_tlsext_host_name(c->ssl, host);
        X509_VERIFY_PARAM_set1_host(SSL_get0_param(c->ssl), host, 0);
        SSL_set_fd(c->ssl, c->fd);
        /* Bytes the server sent before the handshake would be read as if protected. */
        if (linebuf_pending(&c->m.buf) > 0)
                return -EPROTO;
        /* The handshake blocks, bounded by the socket's send and receive time limits. */
        int r = set_nonblock(c->fd, false);
        if (r < 0)
                return r;
        if (SSL_connect(c->ssl) != 1) {
                ERR_clear_error();
                return -EPROTO;
        }
        c->m.ssl = c->ssl;
        r = set_nonblock(c->fd, true);
        if (r < 0)
                return r;
        return 0;
}

static int conn_write(Conn *c, const char *s, size_t len) {
        return mailconn_write(&c->m, s, len);
}

_printf_(2, 3)
static int conn_printf(Conn *c, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = conn_write(c, s, (size_t) r);
        explicit_bzero(s, strlen(s));
        return r;
}

/* An SMTP reply's code, or a negative errno (-ETIMEDOUT, -EMSGSIZE for a line beyond
 * MAILPROTO_LINE_MAX, -E2BIG for a reply of too many lines or bytes, -EBADMSG). */
int roundtrip_smtp_reply(MailConn *m) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        int r = mailconn_read_smtp_reply(m, &reply);
        return r < 0 ? r : reply.code;
}

/* An IMAP tagged reply: 0 when tag OK, -EPERM for NO/BAD, a negative errno when the
 * reply is malformed, too long or late. Untagged lines are handed to see(). */
int roundtrip_imap_reply(MailConn *m, const char *tag, void (*see)(const ImapLine *l, void *ud), void *ud) {
        int r = mailconn_read_imap_tagged(m, tag, see, ud);
        if (r < 0)
                return r;
        return r == IMAP_OK ? 0 : -EPERM;
}

static char *b64_plain(const char *user, const char *password) {
        size_t ul = strlen(user), pl = strlen(password), n = ul + pl + 2;
        _cleanup_free_ unsigned char *raw = malloc(n);
        char *out = malloc(4 * ((n + 2) / 3) + 1);

        if (!raw || !out) {
                free(out);
                return NULL;
        }
        raw[0] = '\0';
        memcpy(raw + 1, user, ul);
        raw[1 + ul] = '\0';
        memcpy(raw + 2 + ul, password, pl);
        EVP_EncodeBlock((unsigned char *) out, raw, (int) n);
        explicit_bzero(raw, n);
        return out;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_printf_(2, 3)
static int fail_with(char **ret_error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EPROTO;
}

static int submit(const RoundTrip *rt, const char *tag, char **ret_error) {
        _cleanup_(conn_done) Conn c = { .fd = -1 };
        _cleanup_free_ char *auth = NULL;
        int r;

        if ((r = conn_open(&c, 587)) < 0)
                return fail_with(ret_error, _("cannot connect to port 587: %s"), strerror(-r));
        if (roundtrip_smtp_reply(&c.m) != 220)
                return fail_with(ret_error, _("port 587 did not greet with 220"));
        if (conn_printf(&c, "EHLO mxdeck.invalid\r\n") < 0 || roundtrip_smtp_reply(&c.m) != 250 ||
            conn_printf(&c, "STARTTLS\r\n") < 0 || roundtrip_smtp_reply(&c.m) != 220)
                return fail_with(ret_error, _("port 587: STARTTLS refused"));
        if ((r = conn_tls(&c, rt->host, rt->ca_file)) < 0)
                return fail_with(ret_error, _("port 587: the TLS handshake failed or the certificate "
                                              "does not verify for %s"), rt->host);
        auth = b64_plain(rt->login, rt->password);
        if (!auth)
                return -ENOMEM;
        if (conn_printf(&c, "EHLO mxdeck.invalid\r\n") < 0 || roundtrip_smtp_reply(&c.m) != 250)
                return fail_with(ret_error, _("port 587: EHLO after STARTTLS failed"));
        r = conn_printf(&c, "AUTH PLAIN %s\r\n", auth);
        explicit_bzero(auth, strlen(auth));
        if (r < 0 || roundtrip_smtp_reply(&c.m) != 235)
                return fail_with(ret_error, _("port 587: AUTH as %s was refused"), rt->login);
        if (conn_printf(&c, "MAIL FROM:<%s>\r\n", rt->address) < 0 || roundtrip_smtp_reply(&c.m) != 250 ||
            conn_printf(&c, "RCPT TO:<%s>\r\n", rt->address) < 0 || roundtrip_smtp_reply(&c.m) != 250)
                return fail_with(ret_error, _("port 587: the server refused mail to %s"), rt->address);
        if (conn_printf(&c, "DATA\r\n") < 0 || roundtrip_smtp_reply(&c.m) != 354 ||
            conn_printf(&c, "From: <%s>\r\nTo: <%s>\r\nSubject: mxdeck round trip %s\r\n"
                            "Message-ID: <%s@mxdeck.invalid>\r\n\r\n"
                            "A test message from mxdeck setup; it deletes it again.\r\n.\r\n",
                        rt->address, rt->address, tag, tag) < 0 ||
            roundtrip_smtp_reply(&c.m) != 250)
                return fail_with(ret_error, _("port 587: the message was not accepted"));
        (void) conn_printf(&c, "QUIT\r\n");
        return 0;
}

static void see_search(const ImapLine *l, void *ud) {
        long *found = ud;
        const char *p = l->kind == IMAP_UNTAGGED && l->status == IMAP_OTHER ? startswith(l->rest, "SEARCH") : NULL;
        if (p && *p == ' ') {
                char *end;
                long n = strtol(p + 1, &end, 10);
                if (n > 0 && end != p + 1)
                        *found = n;
        }
}

/* FETCH n BODY.PEEK[]: the literal is read line by line through the bounded reader (the
 * message's lines are ours and opendkim's, folded well below MAILPROTO_LINE_MAX), at most
 * ROUNDTRIP_MESSAGE_MAX bytes; then the tagged reply. */
static int fetch_message(Conn *c, long n, char **ret, size_t *ret_size) {
        _cleanup_free_ char *msg = NULL;
        const char *line;
        unsigned long size = 0;
        size_t got = 0;
        int r;

        if (conn_printf(c, "m1 FETCH %ld BODY.PEEK[]\r\n", n) < 0)
                return -EIO;
        for (unsigned i = 0;; i++) {
                if (i >= MAILPROTO_REPLY_LINES_MAX)
                        return -E2BIG;
                if ((r = mailconn_read_line(&c->m, &line)) < 0)
                        return r;
                if (startswith(line, "m1 "))
                        return -EBADMSG; /* the reply ended without the message */
                const char *open = strrchr(line, '{');
                char *end;
                if (line[0] != '*' || !strstr(line, "FETCH") || !open)
                        continue;
                errno = 0;
                size = strtoul(open + 1, &end, 10);
                if (errno != 0 || end == open + 1 || !streq(end, "}"))
                        return -EBADMSG;
                break;
        }
        if (size > ROUNDTRIP_MESSAGE_MAX)
                return -E2BIG;
        msg = malloc(size + 1);
        if (!msg)
                return -ENOMEM;
        while (got < size) {
                r = mailconn_read_line(&c->m, &line);
                if (r < 0)
                        return r;
                size_t len = (size_t) r, take = MIN(len, size - got);
                memcpy(msg + got, line, take);
                got += take;
                if (got < size) { /* the line's CRLF belongs to the literal */
                        size_t crlf = MIN((size_t) 2, size - got);
                        memcpy(msg + got, "\r\n", crlf);
                        got += crlf;
                }
        }
        msg[size] = '\0';
        /* the rest of the FETCH response (")"), then m1's status */
        for (unsigned i = 0;; i++) {
                if (i >= MAILPROTO_REPLY_LINES_MAX)
                        return -E2BIG;
                if ((r = mailconn_read_line(&c->m, &line)) < 0)
                        return r;
                if (startswith(line, "m1 ")) {
                        if (!startswith(line, "m1 OK"))
                                return -EPERM;
                        break;
                }
        }
        *ret = TAKE_PTR(msg);
        *ret_size = size;
        return 0;
}

static int fetch_and_delete(const RoundTrip *rt, const char *tag, char **ret_message, size_t *ret_size,
                            char **ret_error) {
        _cleanup_(conn_done) Conn c = { .fd = -1 };
        _cleanup_free_ char *auth = NULL;
        int64_t deadline = now_ms() + DELIVERY_WAIT_MS;
        long found = 0;
        int r;

        if ((r = conn_open(&c, 993)) < 0)
                return fail_with(ret_error, _("cannot connect to port 993: %s"), strerror(-r));
        if (conn_tls(&c, rt->host, rt->ca_file) < 0)
                return fail_with(ret_error, _("port 993: the TLS handshake failed or the certificate "
                                              "does not verify for %s"), rt->host);
        const char *greeting;
        ImapLine g;
        if (mailconn_read_line(&c.m, &greeting) < 0 || imap_parse_line(greeting, &g) < 0 || g.kind != IMAP_UNTAGGED ||
            g.status != IMAP_OK)
                return fail_with(ret_error, _("port 993 did not greet with * OK"));
        auth = b64_plain(rt->login, rt->password);
        if (!auth)
                return -ENOMEM;
        r = conn_printf(&c, "a1 AUTHENTICATE PLAIN %s\r\n", auth);
        explicit_bzero(auth, strlen(auth));
        if (r < 0 || roundtrip_imap_reply(&c.m, "a1", NULL, NULL) < 0)
                return fail_with(ret_error, _("IMAPS login as %s was refused"), rt->login);
        for (unsigned i = 0; !found; i++) {
                if (conn_printf(&c, "s%u SELECT INBOX\r\n", i) < 0)
                        return -EIO;
                char t[16];
                snprintf(t, sizeof(t), "s%u", i);
                if (roundtrip_imap_reply(&c.m, t, NULL, NULL) < 0)
                        return fail_with(ret_error, _("IMAPS: cannot open the INBOX"));
                if (conn_printf(&c, "f%u SEARCH HEADER Subject \"mxdeck round trip %s\"\r\n", i, tag) < 0)
                        return -EIO;
                snprintf(t, sizeof(t), "f%u", i);
                if (roundtrip_imap_reply(&c.m, t, see_search, &found) < 0)
                        return fail_with(ret_error, _("IMAPS: SEARCH failed"));
                if (found)
                        break;
                if (now_ms() >= deadline)
                        return fail_with(ret_error, _("the message was accepted on 587 but not delivered "
                                                      "to the mailbox within %d s"), DELIVERY_WAIT_MS / 1000);
                (void) poll(NULL, 0, 200); /* bounded by the deadline above */
        }
        /* fetched before the delete, judged after it: a failed fetch leaves no test mail */
        int fetched = ret_message ? fetch_message(&c, found, ret_message, ret_size) : 0;
        if (conn_printf(&c, "d1 STORE %ld +FLAGS.SILENT (\\Deleted)\r\n", found) < 0 ||
            roundtrip_imap_reply(&c.m, "d1", NULL, NULL) < 0 ||
            conn_printf(&c, "d2 EXPUNGE\r\n") < 0 || roundtrip_imap_reply(&c.m, "d2", NULL, NULL) < 0)
                return fail_with(ret_error, _("IMAPS: could not delete the test message"));
        (void) conn_printf(&c, "d3 LOGOUT\r\n");
        if (fetched < 0)
                return fail_with(ret_error, _("IMAPS: could not fetch the test message: %s"),
                                 fetched == -E2BIG ? _("too large") : mailproto_strerror(fetched));
        return 0;
}

int roundtrip_run(const RoundTrip *rt, char **ret_message, size_t *ret_size, char **ret_error) {
        unsigned char rnd[8];
        char tag[17];
        int r;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
        r = submit(rt, tag, ret_error);
        if (r < 0)
                return r;
        return fetch_and_delete(rt, tag, ret_message, ret_size, ret_error);
}
