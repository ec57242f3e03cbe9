/* SMTP, IMAP and POP3 dialogues with untrusted servers: bounded lines, deadlines, parsers. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "deadline.h"
#include "fiber.h"
#include "macro.h"
#include "mailproto.h"

/* ---- Line splitting ---- */

char *linebuf_space(LineBuf *b, size_t *ret_size) {
        if (b->start > 0) {
                memmove(b->data, b->data + b->start, b->end - b->start);
                b->end -= b->start;
                b->start = 0;
        }
        *ret_size = MAILPROTO_LINE_MAX - b->end;
        return b->data + b->end;
}

void linebuf_advance(LineBuf *b, size_t n) {
        b->end = MIN(b->end + n, (size_t) MAILPROTO_LINE_MAX);
}

size_t linebuf_pending(const LineBuf *b) {
        return b->end - b->start;
}

int linebuf_next(LineBuf *b, const char **ret_line, size_t *ret_len) {
        char *s = b->data + b->start;
        size_t avail = b->end - b->start;
        char *nl = memchr(s, '\n', avail);

        if (!nl)
                return avail >= MAILPROTO_LINE_MAX ? -MAILPROTO_E_LINE_TOO_LONG : 0;

        size_t len = (size_t) (nl - s);
        *nl = '\0';
        if (len > 0 && s[len - 1] == '\r')
                s[--len] = '\0';
        b->start += (size_t) (nl - s) + 1;
        *ret_line = s;
        *ret_len = len;
        return 1;
}

/* ---- Bounded string lists ---- */

static int lines_append(char ***lines, size_t *n, size_t *bytes, const char *s, size_t len) {
        if (*n >= MAILPROTO_REPLY_LINES_MAX || *bytes + len > MAILPROTO_REPLY_BYTES_MAX)
                return -MAILPROTO_E_TOO_MANY_LINES;
        char **v = realloc(*lines, (*n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        *lines = v;
        v[*n] = strndup(s, len);
        if (!v[*n])
                return -ENOMEM;
        v[++*n] = NULL;
        *bytes += len;
        return 0;
}

static void lines_free(char ***lines, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free((*lines)[i]);
        free(*lines);
        *lines = NULL;
        *n = 0;
}

/* The parameters after keyword at the start of s (case-insensitive, followed by a space,
 * '=' for old-style "AUTH=LOGIN", or the end), else NULL. */
static const char *keyword_params(const char *s, const char *keyword) {
        size_t l = strlen(keyword);
        if (strncasecmp(s, keyword, l) != 0)
                return NULL;
        if (s[l] == '\0')
                return s + l;
        if (s[l] == ' ' || s[l] == '=')
                return s + l + 1;
        return NULL;
}

/* ---- SMTP ---- */

void smtp_reply_done(SmtpReply *r) {
        lines_free(&r->lines, &r->n_lines);
        *r = (SmtpReply) {};
}

int smtp_reply_feed(SmtpReply *r, const char *line, size_t len) {
        if (r->complete)
                return -MAILPROTO_E_MALFORMED;
        if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
            line[2] > '9')
                return -MAILPROTO_E_MALFORMED;
        if (len > 3 && line[3] != ' ' && line[3] != '-')
                return -MAILPROTO_E_MALFORMED;

        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (r->code != 0 && r->code != code)
                return -MAILPROTO_E_MALFORMED;
        r->code = code;

        const char *text = len > 4 ? line + 4 : "";
        size_t text_len = len > 4 ? len - 4 : 0;
        int k = lines_append(&r->lines, &r->n_lines, &r->bytes, text, text_len);
        if (k < 0)
                return k;
        if (len == 3 || line[3] == ' ') {
                r->complete = true;
                return 1;
        }
        return 0;
}

const char *smtp_ehlo_has(const SmtpReply *r, const char *keyword) {
        for (size_t i = 1; i < r->n_lines; i++) {
                const char *p = keyword_params(r->lines[i], keyword);
                if (p)
                        return p;
        }
        return NULL;
}

char *smtp_reply_text(const SmtpReply *r) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < r->n_lines; i++)
                fprintf(f, "%s%03d %s", i > 0 ? "\n" : "", r->code, r->lines[i]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- IMAP ---- */

static const char *const imap_status_words[_IMAP_STATUS_MAX] = {
        [IMAP_OK] = "OK", [IMAP_NO] = "NO", [IMAP_BAD] = "BAD", [IMAP_BYE] = "BYE", [IMAP_PREAUTH] = "PREAUTH",
};

static ImapStatus imap_status_word(const char *s, const char **ret_rest) {
        for (ImapStatus st = 0; st < IMAP_OTHER; st++) {
                const char *w = imap_status_words[st];
                size_t l = strlen(w);
                if (strncasecmp(s, w, l) == 0 && (s[l] == ' ' || s[l] == '\0')) {
                        *ret_rest = s[l] ? s + l + 1 : s + l;
                        return st;
                }
        }
        *ret_rest = s;
        return IMAP_OTHER;
}

int imap_parse_line(const char *line, ImapLine *ret) {
        ImapLine l = {};

        if (line[0] == '+' && (line[1] == ' ' || line[1] == '\0')) {
                l.kind = IMAP_CONTINUATION;
                l.status = IMAP_OTHER;
                l.rest = line[1] ? line + 2 : line + 1;
                *ret = l;
                return 0;
        }
        if (line[0] == '*' && line[1] == ' ') {
                l.kind = IMAP_UNTAGGED;
                l.status = imap_status_word(line + 2, &l.rest);
                *ret = l;
                return 0;
        }

        /* A tag: astring characters up to the first space (RFC 9051 "tag"). */
        size_t n = 0;
        while (line[n] && line[n] != ' ') {
                unsigned char ch = (unsigned char) line[n];
                if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\+", ch))
                        return -MAILPROTO_E_MALFORMED;
                n++;
        }
        if (n == 0 || line[n] != ' ')
                return -MAILPROTO_E_MALFORMED;
        l.kind = IMAP_TAGGED;
        l.tag = line;
        l.tag_len = n;
        l.status = imap_status_word(line + n + 1, &l.rest);
        if (l.status != IMAP_OK && l.status != IMAP_NO && l.status != IMAP_BAD)
                return -MAILPROTO_E_MALFORMED;
        *ret = l;
        return 0;
}

bool imap_capability_has(const char *text, const char *cap) {
        const char *p = text;
        size_t l = strlen(cap);

        if (*p == '[')
                p++;
        if (strncasecmp(p, "CAPABILITY", 10) != 0 || (p[10] != ' ' && p[10] != '\0' && p[10] != ']'))
                return false;
        p += 10;
        for (;;) {
                p += strspn(p, " ");
                if (*p == '\0' || *p == ']')
                        return false;
                size_t n = strcspn(p, " ]");
                if (n == l && strncasecmp(p, cap, l) == 0)
                        return true;
                p += n;
        }
}

/* ---- POP3 ---- */

Pop3Status pop3_parse_status(const char *line) {
        if (strncasecmp(line, "+OK", 3) == 0 && (line[3] == ' ' || line[3] == '\0'))
                return POP3_OK;
        if (strncasecmp(line, "-ERR", 4) == 0 && (line[4] == ' ' || line[4] == '\0'))
                return POP3_ERR;
        return -MAILPROTO_E_MALFORMED;
}

void pop3_capa_done(Pop3Capa *c) {
        lines_free(&c->lines, &c->n_lines);
        *c = (Pop3Capa) {};
}

int pop3_capa_feed(Pop3Capa *c, const char *line, size_t len) {
        if (c->complete)
                return -MAILPROTO_E_MALFORMED;
        if (len == 1 && line[0] == '.') {
                c->complete = true;
                return 1;
        }
        if (len > 0 && line[0] == '.') {
                line++;
                len--;
        }
        return lines_append(&c->lines, &c->n_lines, &c->bytes, line, len);
}

const char *pop3_capa_has(const Pop3Capa *c, const char *cap) {
        for (size_t i = 0; i < c->n_lines; i++) {
                const char *p = keyword_params(c->lines[i], cap);
                if (p)
                        return p;
        }
        return NULL;
}

bool sasl_list_has_plaintext(const char *mechs) {
        for (const char *p = mechs; *p;) {
                p += strspn(p, " ");
                size_t n = strcspn(p, " ");
                if ((n == 5 && strncasecmp(p, "PLAIN", 5) == 0) || (n == 5 && strncasecmp(p, "LOGIN", 5) == 0))
                        return true;
                p += n;
        }
        return false;
}

/* ---- The connection ---- */

int mailconn_wait(MailConn *c, short events) {
        Deadline d = { c->deadline_usec };
        if (deadline_passed(d))
                return -ETIMEDOUT;
        struct pollfd p = { .fd = c->fd, .events = events };
        /* Through the fiber's loop when in one: the other probes run meanwhile. */
        int r = fiber_poll(&p, 1, d);
        if (r < 0)
                return r;
        return r > 0 ? 0 : -ETIMEDOUT; /* ready: readable, writable, or an error the next call reports */
}

int mailconn_connect(MailConn *c, const void *sockaddr, unsigned socklen, const void *bind_addr,
                     unsigned bind_len, uint64_t deadline_usec) {
        const struct sockaddr *sa = sockaddr;

        *c = (MailConn) { .fd = -1, .deadline_usec = deadline_usec };
        c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
                return -errno;
        if (bind_addr)
                (void) bind(c->fd, bind_addr, (socklen_t) bind_len);
        if (connect(c->fd, sa, (socklen_t) socklen) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        int r = mailconn_wait(c, POLLOUT);
        if (r < 0)
                return r;
        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                return -errno;
        return err ? -err : 0;
}

void mailconn_close(MailConn *c) {
        if (c->ssl) {
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
        }
}

/* One read of at most size bytes: > 0 bytes, -EAGAIN (waited already: try again),
 * -ECONNRESET on end of stream, other negative errors. */
static int conn_read_some(MailConn *c, char *p, size_t size) {
        if (c->ssl) {
                ERR_clear_error();
                int n = SSL_read(c->ssl, p, (int) MIN(size, (size_t) INT32_MAX));
                if (n > 0)
                        return n;
                switch (SSL_get_error(c->ssl, n)) {
                case SSL_ERROR_WANT_READ: {
                        int r = mailconn_wait(c, POLLIN);
                        return r < 0 ? r : -EAGAIN;
                }
                case SSL_ERROR_WANT_WRITE: {
                        int r = mailconn_wait(c, POLLOUT);
                        return r < 0 ? r : -EAGAIN;
                }
                case SSL_ERROR_ZERO_RETURN:
                        return -ECONNRESET;
                case SSL_ERROR_SYSCALL:
                        ERR_clear_error();
                        return errno != 0 && errno != EAGAIN ? -errno : -ECONNRESET;
                default:
                        ERR_clear_error();
                        return -EIO;
                }
        }
        ssize_t n = recv(c->fd, p, size, 0);
        if (n > 0)
                return (int) n;
        if (n == 0)
                return -ECONNRESET;
        if (errno == EAGAIN || errno == EINTR) {
                int r = mailconn_wait(c, POLLIN);
                return r < 0 ? r : -EAGAIN;
        }
        return -errno;
}

int mailconn_read_line(MailConn *c, const char **ret_line) {
        for (;;) {
                const char *line;
                size_t len;
                int r = linebuf_next(&c->buf, &line, &len);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_line = line;
                        return (int) len;
                }
                size_t room;
                char *p = linebuf_space(&c->buf, &room);
                if (room == 0)
                        return -MAILPROTO_E_LINE_TOO_LONG;
                /* A peer trickling bytes never makes a read wait: the deadline is checked
                 * before every read, not only when one would block. */
                if (deadline_passed((Deadline) { c->deadline_usec }))
                        return -ETIMEDOUT;
                r = conn_read_some(c, p, room);
                if (r == -EAGAIN)
                        continue;
                if (r < 0)
                        return r;
                linebuf_advance(&c->buf, (size_t) r);
                c->bytes_read += (uint64_t) r;
        }
}

int mailconn_write(MailConn *c, const char *data, size_t len) {
        while (len > 0) {
                if (c->ssl) {
                        ERR_clear_error();
                        int n = SSL_write(c->ssl, data, (int) MIN(len, (size_t) INT32_MAX));
                        if (n > 0) {
                                data += n;
                                len -= (size_t) n;
                                continue;
                        }
                        int r;
                        switch (SSL_get_error(c->ssl, n)) {
                        case SSL_ERROR_WANT_READ:
                                r = mailconn_wait(c, POLLIN);
                                break;
                        case SSL_ERROR_WANT_WRITE:
                                r = mailconn_wait(c, POLLOUT);
                                break;
                        default:
                                ERR_clear_error();
                                r = -EPIPE;
                        }
                        if (r < 0)
                                return r;
                        continue;
                }
                ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
                if (n >= 0) {
                        data += n;
                        len -= (size_t) n;
                        continue;
                }
                if (errno == EAGAIN || errno == EINTR) {
                        int r = mailconn_wait(c, POLLOUT);
                        if (r < 0)
                                return r;
                        continue;
                }
                return -errno;
        }
        return 0;
}

int mailconn_writef(MailConn *c, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(buf))
                return -EINVAL;
        return mailconn_write(c, buf, (size_t) n);
}

int mailconn_read_smtp_reply(MailConn *c, SmtpReply *ret) {
        for (;;) {
                const char *line;
                int n = mailconn_read_line(c, &line);
                if (n < 0)
                        return n;
                int r = smtp_reply_feed(ret, line, (size_t) n);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}

int mailconn_read_imap_tagged(MailConn *c, const char *tag,
                              void (*cb)(const ImapLine *l, void *userdata), void *userdata) {
        for (unsigned i = 0; i <= MAILPROTO_REPLY_LINES_MAX; i++) {
                const char *line;
                ImapLine l;
                int n = mailconn_read_line(c, &line);
                if (n < 0)
                        return n;
                if ((size_t) n != strlen(line) || imap_parse_line(line, &l) < 0)
                        return -MAILPROTO_E_MALFORMED;
                if (l.kind == IMAP_TAGGED) {
                        if (l.tag_len != strlen(tag) || strncmp(l.tag, tag, l.tag_len) != 0)
                                return -MAILPROTO_E_MALFORMED;
                        return l.status;
                }
                if (l.kind == IMAP_CONTINUATION)
                        return -MAILPROTO_E_MALFORMED;
                if (cb)
                        cb(&l, userdata);
        }
        return -MAILPROTO_E_TOO_MANY_LINES;
}

const char *mailproto_strerror(int r) {
        switch (-r) {
        case ETIMEDOUT:
                return _("no answer within the time limit");
        case ECONNRESET:
                return _("the server closed the connection");
        case MAILPROTO_E_LINE_TOO_LONG:
                return _("the server sent a line longer than 2048 bytes");
        case MAILPROTO_E_TOO_MANY_LINES:
                return _("the server sent a reply of more than 256 lines or 64 KiB");
        case MAILPROTO_E_MALFORMED:
                return _("the server's reply is not valid for this protocol");
        case EIO:
                return _("TLS error while reading");
        default:
                return strerror(-r);
        }
}
