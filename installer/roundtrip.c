/* The verify step's round trip: a message submitted on 587 with STARTTLS and AUTH as a real
 * user, delivered, found over IMAPS and deleted, all on loopback. Plain blocking sockets
 * with receive/send time limits and an overall deadline; the password only ever goes into
 * the TLS-protected AUTH lines. */
#include <arpa/inet.h>
#include <errno.h>
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

#include "macro.h"
#include "roundtrip.h"

#define IO_TIMEOUT_S 10
#define DELIVERY_WAIT_MS 30000
#define MAX_LINE 2048

typedef struct Conn {
        int fd;
        SSL_CTX *ctx;
        SSL *ssl;
        char buf[MAX_LINE];
        size_t have;
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

static int conn_open(Conn *c, unsigned port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

        *c = (Conn) { .fd = -1 };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return negative_errno();
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        return 0;
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
        if (SSL_connect(c->ssl) != 1) {
                ERR_clear_error();
                return -EPROTO;
        }
        return 0;
}

static int conn_write(Conn *c, const char *s, size_t len) {
        while (len > 0) {
                ssize_t w;
                if (c->ssl) {
                        int n = SSL_write(c->ssl, s, (int) len);
                        if (n <= 0)
                                return -EIO;
                        w = n;
                } else {
                        w = write(c->fd, s, len);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                }
                s += w;
                len -= (size_t) w;
        }
        return 0;
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

/* One line without CRLF into line (at most MAX_LINE - 1 bytes: longer lines are cut). */
static int conn_line(Conn *c, char line[MAX_LINE]) {
        for (;;) {
                char *nl = memchr(c->buf, '\n', c->have);
                if (nl || c->have == sizeof(c->buf)) {
                        size_t len = nl ? (size_t) (nl - c->buf) : c->have;
                        size_t keep = MIN(len, (size_t) MAX_LINE - 1);
                        memcpy(line, c->buf, keep);
                        line[keep] = '\0';
                        if (keep > 0 && line[keep - 1] == '\r')
                                line[keep - 1] = '\0';
                        size_t used = nl ? len + 1 : len;
                        memmove(c->buf, c->buf + used, c->have - used);
                        c->have -= used;
                        return 0;
                }
                ssize_t n;
                if (c->ssl) {
                        int k = SSL_read(c->ssl, c->buf + c->have, (int) (sizeof(c->buf) - c->have));
                        n = k;
                } else
                        n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
                if (n <= 0)
                        return n == 0 || c->ssl ? -ECONNRESET : negative_errno();
                c->have += (size_t) n;
        }
}

/* An SMTP reply; its code, the last line in last. */
static int smtp_reply(Conn *c, char last[MAX_LINE]) {
        for (;;) {
                int r = conn_line(c, last);
                if (r < 0)
                        return r;
                if (strlen(last) < 4 || last[3] != '-')
                        return atoi(last);
        }
}

/* An IMAP tagged reply: true when tag OK; untagged lines are handed to see(). */
static int imap_reply(Conn *c, const char *tag, char last[MAX_LINE],
                      void (*see)(const char *line, void *ud), void *ud) {
        size_t tl = strlen(tag);

        for (;;) {
                int r = conn_line(c, last);
                if (r < 0)
                        return r;
                if (strncmp(last, tag, tl) == 0 && last[tl] == ' ')
                        return startswith(last + tl + 1, "OK") ? 0 : -EPERM;
                if (see)
                        see(last, ud);
        }
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
        char line[MAX_LINE];
        int r;

        if ((r = conn_open(&c, 587)) < 0)
                return fail_with(ret_error, _("cannot connect to port 587: %s"), strerror(-r));
        if (smtp_reply(&c, line) != 220)
                return fail_with(ret_error, _("port 587 did not greet with 220"));
        if (conn_printf(&c, "EHLO mxdeck.invalid\r\n") < 0 || smtp_reply(&c, line) != 250 ||
            conn_printf(&c, "STARTTLS\r\n") < 0 || smtp_reply(&c, line) != 220)
                return fail_with(ret_error, _("port 587: STARTTLS refused"));
        if ((r = conn_tls(&c, rt->host, rt->ca_file)) < 0)
                return fail_with(ret_error, _("port 587: the TLS handshake failed or the certificate "
                                              "does not verify for %s"), rt->host);
        auth = b64_plain(rt->login, rt->password);
        if (!auth)
                return -ENOMEM;
        if (conn_printf(&c, "EHLO mxdeck.invalid\r\n") < 0 || smtp_reply(&c, line) != 250)
                return fail_with(ret_error, _("port 587: EHLO after STARTTLS failed"));
        r = conn_printf(&c, "AUTH PLAIN %s\r\n", auth);
        explicit_bzero(auth, strlen(auth));
        if (r < 0 || smtp_reply(&c, line) != 235)
                return fail_with(ret_error, _("port 587: AUTH as %s was refused"), rt->login);
        if (conn_printf(&c, "MAIL FROM:<%s>\r\n", rt->address) < 0 || smtp_reply(&c, line) != 250 ||
            conn_printf(&c, "RCPT TO:<%s>\r\n", rt->address) < 0 || smtp_reply(&c, line) != 250)
                return fail_with(ret_error, _("port 587: the server refused mail to %s"), rt->address);
        if (conn_printf(&c, "DATA\r\n") < 0 || smtp_reply(&c, line) != 354 ||
            conn_printf(&c, "From: <%s>\r\nTo: <%s>\r\nSubject: mxdeck round trip %s\r\n"
                            "Message-ID: <%s@mxdeck.invalid>\r\n\r\n"
                            "A test message from mxdeck setup; it deletes it again.\r\n.\r\n",
                        rt->address, rt->address, tag, tag) < 0 ||
            smtp_reply(&c, line) != 250)
                return fail_with(ret_error, _("port 587: the message was not accepted"));
        (void) conn_printf(&c, "QUIT\r\n");
        return 0;
}

static void see_search(const char *line, void *ud) {
        long *found = ud;
        const char *p = startswith(line, "* SEARCH");
        if (p && *p == ' ')
                *found = strtol(p + 1, NULL, 10);
}

static int fetch_and_delete(const RoundTrip *rt, const char *tag, char **ret_error) {
        _cleanup_(conn_done) Conn c = { .fd = -1 };
        _cleanup_free_ char *auth = NULL;
        char line[MAX_LINE];
        int64_t deadline = now_ms() + DELIVERY_WAIT_MS;
        long found = 0;
        int r;

        if ((r = conn_open(&c, 993)) < 0)
                return fail_with(ret_error, _("cannot connect to port 993: %s"), strerror(-r));
        if (conn_tls(&c, rt->host, rt->ca_file) < 0)
                return fail_with(ret_error, _("port 993: the TLS handshake failed or the certificate "
                                              "does not verify for %s"), rt->host);
        if (conn_line(&c, line) < 0 || !startswith(line, "* OK"))
                return fail_with(ret_error, _("port 993 did not greet with * OK"));
        auth = b64_plain(rt->login, rt->password);
        if (!auth)
                return -ENOMEM;
        r = conn_printf(&c, "a1 AUTHENTICATE PLAIN %s\r\n", auth);
        explicit_bzero(auth, strlen(auth));
        if (r < 0 || imap_reply(&c, "a1", line, NULL, NULL) < 0)
                return fail_with(ret_error, _("IMAPS login as %s was refused"), rt->login);
        for (unsigned i = 0; !found; i++) {
                if (conn_printf(&c, "s%u SELECT INBOX\r\n", i) < 0)
                        return -EIO;
                char t[16];
                snprintf(t, sizeof(t), "s%u", i);
                if (imap_reply(&c, t, line, NULL, NULL) < 0)
                        return fail_with(ret_error, _("IMAPS: cannot open the INBOX"));
                if (conn_printf(&c, "f%u SEARCH HEADER Subject \"mxdeck round trip %s\"\r\n", i, tag) < 0)
                        return -EIO;
                snprintf(t, sizeof(t), "f%u", i);
                if (imap_reply(&c, t, line, see_search, &found) < 0)
                        return fail_with(ret_error, _("IMAPS: SEARCH failed"));
                if (found)
                        break;
                if (now_ms() >= deadline)
                        return fail_with(ret_error, _("the message was accepted on 587 but not delivered "
                                                      "to the mailbox within %d s"), DELIVERY_WAIT_MS / 1000);
                (void) poll(NULL, 0, 200); /* bounded by the deadline above */
        }
        if (conn_printf(&c, "d1 STORE %ld +FLAGS.SILENT (\\Deleted)\r\n", found) < 0 ||
            imap_reply(&c, "d1", line, NULL, NULL) < 0 ||
            conn_printf(&c, "d2 EXPUNGE\r\n") < 0 || imap_reply(&c, "d2", line, NULL, NULL) < 0)
                return fail_with(ret_error, _("IMAPS: could not delete the test message"));
        (void) conn_printf(&c, "d3 LOGOUT\r\n");
        return 0;
}

int roundtrip_run(const RoundTrip *rt, char **ret_error) {
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
        return fetch_and_delete(rt, tag, ret_error);
}
