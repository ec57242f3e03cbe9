/* The rehearsal's traffic (mxdeck lab --rehearse): after the wizard has set up the lab
 * host, a little of everything the dashboard shows: deliveries, a deferral (the lab has no
 * network, so mail for another domain waits), a relay attempt from an address outside
 * mynetworks (refused), and failed IMAP logins. Only ever inside a lab (MXDECK_LAB=1):
 * the relay attempt adds an address to the lab's own loopback. Every wait is bounded: the
 * connect is polled, SMTP goes through mailproto's bounded reader with a deadline, the
 * IMAPS socket has send and receive timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "deadline.h"
#include "macro.h"
#include "mailproto.h"
#include "rehearse.h"
#include "termsafe.h"
#include "subprocess.h"

#define IO_TIMEOUT_MS 10000
#define REPLY_MAX 8192 /* the IMAP login's answer */
#define RELAY_SOURCE "192.0.2.25" /* TEST-NET-1: outside any mynetworks mxdeck writes */

static int tcp_connect(const char *addr, int port, bool blocking) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };
        struct pollfd p;
        int fd, r, err = 0;
        socklen_t len = sizeof(err);

        if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
                return -EINVAL;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                r = -errno;
                close(fd);
                return r;
        }
        p = (struct pollfd) { .fd = fd, .events = POLLOUT };
        r = poll(&p, 1, IO_TIMEOUT_MS);
        if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
                close(fd);
                return r == 0 ? -ETIMEDOUT : err ? -err : -errno;
        }
        if (!blocking)
                return fd; /* read and written through mailproto, which polls up to a deadline */
        /* blocking from here, each send and receive bounded */
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        return fd;
}

/* Reads one SMTP reply (all its lines) with mailproto's bounded reader; returns its code,
 * or a negative errno (a line too long, too many lines, garbage, the dialogue's deadline). */
static int smtp_reply(MailConn *m) {
        _cleanup_(smtp_reply_done) SmtpReply reply = {};
        int r = mailconn_read_smtp_reply(m, &reply);
        return r < 0 ? r : reply.code;
}

static int smtp_cmd(MailConn *m, const char *line) {
        int r = mailconn_write(m, line, strlen(line));
        if (r < 0)
                return r;
        return smtp_reply(m);
}

/* One SMTP dialogue; returns the RCPT reply code (or the first failing one), or -errno. */
static int smtp_message(const char *server, const char *from, const char *to, const char *subject) {
        _cleanup_close_ int fd = tcp_connect(server, 25, false);
        char line[512];
        int r;

        if (fd < 0)
                return fd;
        /* The whole dialogue has a deadline; each send and receive its own time limit. */
        MailConn m = { .fd = fd, .deadline_usec = deadline_in_ms(6 * IO_TIMEOUT_MS).usec };
        if ((r = smtp_reply(&m)) != 220)
                return r < 0 ? r : -EPROTO;
        if ((r = smtp_cmd(&m, "EHLO rehearsal.example\r\n")) != 250)
                return r < 0 ? r : -EPROTO;
        snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", from);
        if ((r = smtp_cmd(&m, line)) != 250)
                return r;
        snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", to);
        int rcpt = smtp_cmd(&m, line);
        if (rcpt == 250 || rcpt == 251) {
                if ((r = smtp_cmd(&m, "DATA\r\n")) != 354)
                        return r;
                snprintf(line, sizeof(line),
                         "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nA message of the mxdeck rehearsal.\r\n.\r\n",
                         from, to, subject);
                if ((r = smtp_cmd(&m, line)) != 250)
                        return r;
        }
        (void) smtp_cmd(&m, "QUIT\r\n");
        return rcpt;
}

/* An IMAPS login with a wrong password; 0 when the server said NO. */
static int imap_failed_login(const char *user) {
        _cleanup_close_ int fd = tcp_connect("127.0.0.1", 993, true);
        SSL_CTX *ctx = NULL;
        SSL *ssl = NULL;
        char buf[REPLY_MAX], cmd[512];
        int r = -EPROTO;

        if (fd < 0)
                return fd;
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        /* the lab's own self-signed certificate: this talks to ourselves */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
                goto out;
        int n = SSL_read(ssl, buf, sizeof(buf) - 1);
        if (n <= 0 || strncmp(buf, "* OK", 4) != 0)
                goto out;
        snprintf(cmd, sizeof(cmd), "a LOGIN \"%s\" \"not-the-password\"\r\n", user);
        if (SSL_write(ssl, cmd, (int) strlen(cmd)) <= 0)
                goto out;
        for (size_t have = 0; have < sizeof(buf) - 1;) {
                n = SSL_read(ssl, buf + have, (int) (sizeof(buf) - 1 - have));
                if (n <= 0)
                        break;
                have += (size_t) n;
                buf[have] = 0;
                if (strstr(buf, "a NO") || strstr(buf, "a BAD")) {
                        r = strstr(buf, "a NO") ? 0 : -EPROTO;
                        break;
                }
                if (strstr(buf, "a OK"))
                        break; /* cannot happen with this password */
        }
        (void) SSL_write(ssl, "b LOGOUT\r\n", 10);
out:
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return r;
}

static void report(FILE *f, const char *what, int r, bool good) {
        /* what is translated: padded by display width, not bytes */
        fputs("  ", f);
        termsafe_fputs_padded(f, what, -46);
        fprintf(f, " %s", good ? _("done") : _("did not work"));
        if (!good && r < 0)
                fprintf(f, " (%s)", strerror(-r));
        else if (!good)
                fprintf(f, " (%s %d)", _("reply"), r);
        fputc('\n', f);
}

int rehearse_traffic(const char *address, FILE *f) {
        int r, failed = 0;

        if (!getenv("MXDECK_LAB") || !streq(getenv("MXDECK_LAB"), "1"))
                return -EPERM;
        if (!address || !strchr(address, '@'))
                return -EINVAL;
        fputs(_("Generating traffic for the dashboard:\n"), f);

        for (int i = 1; i <= 2; i++) {
                char subject[64];
                snprintf(subject, sizeof(subject), "Rehearsal delivery %d", i);
                r = smtp_message("127.0.0.1", "friend@example.org", address, subject);
                report(f, _("a delivery to the first mailbox"), r, r == 250);
                failed += r != 250;
        }
        r = smtp_message("127.0.0.1", address, "someone@example.net", "Rehearsal deferral");
        report(f, _("a message the lab cannot deliver (deferred)"), r, r == 250);
        failed += r != 250;

        const char *ip_argv[] = { "ip", "addr", "add", RELAY_SOURCE "/32", "dev", "lo", NULL };
        SpawnOptions so = { .argv = ip_argv, .timeout_ms = IO_TIMEOUT_MS, .max_output = 4096 };
        SpawnResult sr = {};
        r = spawn_run(&so, &sr);
        bool added = r >= 0 && (spawn_result_ok(&sr) || (sr.err && strstr(sr.err, "File exists")));
        spawn_result_done(&sr);
        r = added ? smtp_message(RELAY_SOURCE, "spammer@example.com", "victim@example.net", "Rehearsal relay attempt")
                  : -ENETUNREACH;
        report(f, _("a relay attempt from outside (refused)"), r, r >= 500 && r < 600);
        failed += !(r >= 500 && r < 600);

        for (int i = 0; i < 2; i++) {
                r = imap_failed_login(address);
                report(f, _("an IMAP login with a wrong password"), r, r == 0);
                failed += r != 0;
        }
        return failed ? -EIO : 0;
}
