/* SMTP, IMAP and POP3 dialogues with untrusted servers: bounded line reading with deadlines
 * over a non-blocking socket (plain or TLS), and the reply parsers (pure, fuzzed). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what a server may send us. A reply beyond them ends the dialogue with an
 * error; nothing grows without limit. */
#define MAILPROTO_LINE_MAX 2048u        /* bytes of one line, CRLF included (RFC 5321: 512) */
#define MAILPROTO_REPLY_LINES_MAX 256u  /* lines of one multi-line reply / CAPA / CAPABILITY */
#define MAILPROTO_REPLY_BYTES_MAX 65536u

/* Error codes beyond errno, returned negated like errno values. */
#define MAILPROTO_E_LINE_TOO_LONG EMSGSIZE /* a line longer than MAILPROTO_LINE_MAX */
#define MAILPROTO_E_TOO_MANY_LINES E2BIG   /* a reply longer than the line/byte caps */
#define MAILPROTO_E_MALFORMED EBADMSG      /* not this protocol's syntax */

/* ---- Line splitting (pure) ---- */

typedef struct LineBuf {
        char data[MAILPROTO_LINE_MAX + 1];
        size_t start, end;
} LineBuf;

/* Where to append bytes (*ret_size of room; 0 means a line is already too long). */
char *linebuf_space(LineBuf *b, size_t *ret_size);
void linebuf_advance(LineBuf *b, size_t n);
/* Takes one complete line out: returns 1 with *ret_line (NUL-terminated, CR LF removed,
 * valid until the next call) and *ret_len; 0 when more bytes are needed;
 * -MAILPROTO_E_LINE_TOO_LONG when the buffered line has no end within the cap. */
int linebuf_next(LineBuf *b, const char **ret_line, size_t *ret_len);
/* Bytes buffered beyond the lines taken (a server speaking before its turn). */
size_t linebuf_pending(const LineBuf *b);

/* ---- SMTP replies (RFC 5321 4.2) ---- */

typedef struct SmtpReply {
        int code;          /* 3 digits; 0 until the first line */
        char **lines;      /* text after "NNN-"/"NNN ", NULL-terminated */
        size_t n_lines;
        size_t bytes;
        bool complete;
} SmtpReply;

void smtp_reply_done(SmtpReply *r);
/* Feeds one line: 0 more lines follow, 1 the reply is complete, -MAILPROTO_E_MALFORMED
 * (no code, code changed mid-reply, bad separator), -MAILPROTO_E_TOO_MANY_LINES, -ENOMEM. */
int smtp_reply_feed(SmtpReply *r, const char *line, size_t len);
/* The EHLO keyword (case-insensitive) among lines 1.. of an EHLO reply; returns its
 * parameters (after the keyword and a space, "" when none) or NULL. */
const char *smtp_ehlo_has(const SmtpReply *r, const char *keyword);
/* The whole reply as "NNN text\nNNN text", bounded; caller frees. NULL on ENOMEM. */
char *smtp_reply_text(const SmtpReply *r);

/* ---- IMAP (RFC 9051 / 3501) ---- */

typedef enum ImapKind {
        IMAP_UNTAGGED,     /* "* ..." */
        IMAP_TAGGED,       /* "TAG ..." */
        IMAP_CONTINUATION, /* "+ ..." */
        _IMAP_KIND_MAX,
        _IMAP_KIND_INVALID = -EINVAL,
} ImapKind;

typedef enum ImapStatus {
        IMAP_OK,
        IMAP_NO,
        IMAP_BAD,
        IMAP_BYE,
        IMAP_PREAUTH,
        IMAP_OTHER,        /* untagged data: CAPABILITY, FLAGS, ... */
        _IMAP_STATUS_MAX,
        _IMAP_STATUS_INVALID = -EINVAL,
} ImapStatus;

typedef struct ImapLine {
        ImapKind kind;
        const char *tag;     /* points into the line; not NUL-terminated: tag_len */
        size_t tag_len;
        ImapStatus status;
        const char *rest;    /* text after the status word (or after "* " for OTHER) */
} ImapLine;

/* Parses one line (NUL-terminated). 0 or -MAILPROTO_E_MALFORMED. */
int imap_parse_line(const char *line, ImapLine *ret);
/* True when the capability list in text contains cap (case-insensitive, whole word). The
 * list is either "CAPABILITY a b c" (untagged data) or a "[CAPABILITY a b c] ..." response
 * code. */
bool imap_capability_has(const char *text, const char *cap);

/* ---- POP3 (RFC 1939, 2449) ---- */

typedef enum Pop3Status {
        POP3_OK,
        POP3_ERR,
        _POP3_STATUS_MAX,
        _POP3_STATUS_INVALID = -EINVAL,
} Pop3Status;

/* "+OK ..." / "-ERR ..." (case-insensitive); -MAILPROTO_E_MALFORMED otherwise. */
Pop3Status pop3_parse_status(const char *line);

/* A CAPA answer's lines after +OK, up to the "." terminator. */
typedef struct Pop3Capa {
        char **lines;
        size_t n_lines;
        size_t bytes;
        bool complete;
} Pop3Capa;

void pop3_capa_done(Pop3Capa *c);
/* 0 more, 1 complete ("."), -MAILPROTO_E_TOO_MANY_LINES, -ENOMEM. Dot-stuffing undone. */
int pop3_capa_feed(Pop3Capa *c, const char *line, size_t len);
/* The capability's parameters ("" when none) or NULL when absent (case-insensitive). */
const char *pop3_capa_has(const Pop3Capa *c, const char *cap);

/* True when a SASL mechanism list (space separated) names one that sends the password
 * itself: PLAIN or LOGIN. */
bool sasl_list_has_plaintext(const char *mechs);

/* ---- The connection ---- */

typedef struct ssl_st SSL;

typedef struct MailConn {
        int fd;                 /* non-blocking, owned */
        SSL *ssl;               /* NULL: plain; else owned, reads and writes go through it */
        uint64_t deadline_usec; /* CLOCK_MONOTONIC; every wait ends by then */
        LineBuf buf;
        uint64_t bytes_read;
} MailConn;


/* Connects a new non-blocking SOCK_CLOEXEC socket to addr (from bind_addr when non-NULL:
 * a bind failure is ignored), waiting until the deadline. -ECONNREFUSED, -ETIMEDOUT, ... */
int mailconn_connect(MailConn *c, const void *sockaddr, unsigned socklen, const void *bind_addr,
                     unsigned bind_len, uint64_t deadline_usec);
void mailconn_close(MailConn *c);

/* One line (CR LF removed, NUL-terminated, valid until the next read). Returns the length;
 * -ETIMEDOUT at the deadline, -ECONNRESET when the peer closed (also before a line ended),
 * -MAILPROTO_E_LINE_TOO_LONG, -EIO for a TLS error. */
int mailconn_read_line(MailConn *c, const char **ret_line);
/* Writes all of data by the deadline. */
int mailconn_write(MailConn *c, const char *data, size_t len);
int mailconn_writef(MailConn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One complete SMTP reply (fills *ret, which must be zeroed or done). */
int mailconn_read_smtp_reply(MailConn *c, SmtpReply *ret);
/* Reads lines until the tagged response for tag (untagged lines pass through cb when
 * non-NULL; at most MAILPROTO_REPLY_LINES_MAX of them). Returns the tagged status. */
int mailconn_read_imap_tagged(MailConn *c, const char *tag,
                              void (*cb)(const ImapLine *l, void *userdata), void *userdata);

/* Waits until fd is readable (POLLIN) or writable (POLLOUT) or the deadline passes:
 * 0 ready, -ETIMEDOUT. For the TLS layer driving a handshake on the same socket. */
int mailconn_wait(MailConn *c, short events);

/* Describes a negative error of the functions above in words (static, translated). */
const char *mailproto_strerror(int r);
