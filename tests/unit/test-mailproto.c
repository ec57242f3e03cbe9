/* SMTP/IMAP/POP3 reply parsers and the bounded, deadline-driven line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "macro.h"
#include "mailproto.h"

/* Feeds text (lines separated by '\n') into an SmtpReply: the last feed result. */
static int smtp_feed_text(SmtpReply *r, const char *text) {
        int k = 0;
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");
                k = smtp_reply_feed(r, p, n);
                if (k != 0)
                        return k;
                p += n;
                if (*p)
                        p++;
        }
        return k;
}

static void test_smtp_reply(void **state) {
        static const struct {
                const char *text;
                int result, code;
                size_t n_lines;
                const char *first;
        } cases[] = {
                { "220 mail.example.org ESMTP Postfix", 1, 220, 1, "mail.example.org ESMTP Postfix" },
                { "220", 1, 220, 1, "" },
                { "250-mail.example.org\n250-PIPELINING\n250-STARTTLS\n250 8BITMIME", 1, 250, 4, "mail.example.org" },
                { "250-a\n250-b", 0, 250, 2, "a" },
                { "250-a\n251 b", -EBADMSG, 250, 1, "a" },  /* code changes mid-reply */
                { "25", -EBADMSG, 0, 0, NULL },
                { "abc hello", -EBADMSG, 0, 0, NULL },
                { "220xhello", -EBADMSG, 0, 0, NULL },
                { "620 six hundred", -EBADMSG, 0, 0, NULL },
                { "554 5.7.1 no SMTP service here", 1, 554, 1, "5.7.1 no SMTP service here" },
                { "HTTP/1.1 400 Bad Request", -EBADMSG, 0, 0, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(smtp_reply_done) SmtpReply r = {};
                int k = smtp_feed_text(&r, cases[i].text);
                if (k != cases[i].result)
                        fail_msg("case %zu '%s': result %d, want %d", i, cases[i].text, k, cases[i].result);
                assert_int_equal(r.code, cases[i].code);
                assert_int_equal(r.n_lines, cases[i].n_lines);
                if (cases[i].first)
                        assert_string_equal(r.lines[0], cases[i].first);
        }
}

static void test_smtp_caps(void **state) {
        _cleanup_(smtp_reply_done) SmtpReply r = {};
        _cleanup_free_ char *text = NULL;

        assert_int_equal(smtp_feed_text(&r, "250-mail.example.org\n250-starttls\n250-AUTH PLAIN LOGIN\n"
                                            "250-AUTH=LOGIN\n250 SIZE 1024"),
                         1);
        assert_non_null(smtp_ehlo_has(&r, "STARTTLS"));
        assert_string_equal(smtp_ehlo_has(&r, "STARTTLS"), "");
        assert_string_equal(smtp_ehlo_has(&r, "AUTH"), "PLAIN LOGIN");
        assert_string_equal(smtp_ehlo_has(&r, "size"), "1024");
        assert_null(smtp_ehlo_has(&r, "mail.example.org")); /* line 0 is the greeting name */
        assert_null(smtp_ehlo_has(&r, "SIZ"));
        assert_null(smtp_ehlo_has(&r, "CHUNKING"));
        text = smtp_reply_text(&r);
        assert_non_null(text);
        assert_string_equal(text, "250 mail.example.org\n250 starttls\n250 AUTH PLAIN LOGIN\n250 AUTH=LOGIN\n250 SIZE 1024");
}

/* A 10,000-line reply stops at the cap with a clear error, not with memory growth. */
static void test_smtp_flood(void **state) {
        _cleanup_(smtp_reply_done) SmtpReply r = {};
        int k = 0;
        unsigned i;

        for (i = 0; i < 10000 && k == 0; i++)
                k = smtp_reply_feed(&r, "220-more of the same", 20);
        assert_int_equal(k, -E2BIG);
        assert_int_equal(i, MAILPROTO_REPLY_LINES_MAX + 1);
        assert_int_equal(r.n_lines, MAILPROTO_REPLY_LINES_MAX);
}

static void test_imap(void **state) {
        static const struct {
                const char *line;
                int result;
                ImapKind kind;
                ImapStatus status;
                const char *tag, *rest;
        } cases[] = {
                { "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", 0, IMAP_UNTAGGED, IMAP_OK, NULL,
                  "[CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready." },
                { "* PREAUTH hi", 0, IMAP_UNTAGGED, IMAP_PREAUTH, NULL, "hi" },
                { "* BYE shutting down", 0, IMAP_UNTAGGED, IMAP_BYE, NULL, "shutting down" },
                { "* CAPABILITY IMAP4rev1 LOGINDISABLED", 0, IMAP_UNTAGGED, IMAP_OTHER, NULL,
                  "CAPABILITY IMAP4rev1 LOGINDISABLED" },
                { "* ok lower case", 0, IMAP_UNTAGGED, IMAP_OK, NULL, "lower case" },
                { "* OKAY", 0, IMAP_UNTAGGED, IMAP_OTHER, NULL, "OKAY" },
                { "m1 OK done", 0, IMAP_TAGGED, IMAP_OK, "m1", "done" },
                { "m1 NO", 0, IMAP_TAGGED, IMAP_NO, "m1", "" },
                { "a.b BAD syntax", 0, IMAP_TAGGED, IMAP_BAD, "a.b", "syntax" },
                { "+ go ahead", 0, IMAP_CONTINUATION, IMAP_OTHER, NULL, "go ahead" },
                { "m1 BYE", -EBADMSG, 0, 0, NULL, NULL },
                { "m1 hello", -EBADMSG, 0, 0, NULL, NULL },
                { "m1", -EBADMSG, 0, 0, NULL, NULL },
                { "", -EBADMSG, 0, 0, NULL, NULL },
                { " OK", -EBADMSG, 0, 0, NULL, NULL },
                { "(x OK", -EBADMSG, 0, 0, NULL, NULL },
                { "\x1b[2J OK", -EBADMSG, 0, 0, NULL, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ImapLine l = {};
                int k = imap_parse_line(cases[i].line, &l);
                if (k != cases[i].result)
                        fail_msg("case %zu '%s': result %d, want %d", i, cases[i].line, k, cases[i].result);
                if (k < 0)
                        continue;
                assert_int_equal(l.kind, cases[i].kind);
                assert_int_equal(l.status, cases[i].status);
                assert_string_equal(l.rest, cases[i].rest);
                if (cases[i].tag) {
                        assert_int_equal(l.tag_len, strlen(cases[i].tag));
                        assert_memory_equal(l.tag, cases[i].tag, l.tag_len);
                }
        }
}

static void test_imap_capability(void **state) {
        static const struct {
                const char *text, *cap;
                bool has;
        } cases[] = {
                { "CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED", "LOGINDISABLED", true },
                { "CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED", "logindisabled", true },
                { "CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN", "AUTH=PLAIN", true },
                { "CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAINX", "AUTH=PLAIN", false },
                { "[CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", "STARTTLS", true },
                { "[CAPABILITY IMAP4rev1] STARTTLS ready.", "STARTTLS", false },
                { "IMAP4rev1 STARTTLS", "STARTTLS", false },
                { "CAPABILITYX STARTTLS", "STARTTLS", false },
                { "CAPABILITY", "STARTTLS", false },
                { "", "STARTTLS", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (imap_capability_has(cases[i].text, cases[i].cap) != cases[i].has)
                        fail_msg("case %zu '%s' has '%s': want %d", i, cases[i].text, cases[i].cap, cases[i].has);
}

static void test_pop3(void **state) {
        _cleanup_(pop3_capa_done) Pop3Capa c = {};

        assert_int_equal(pop3_parse_status("+OK Dovecot ready."), POP3_OK);
        assert_int_equal(pop3_parse_status("+OK"), POP3_OK);
        assert_int_equal(pop3_parse_status("+ok lower"), POP3_OK);
        assert_int_equal(pop3_parse_status("-ERR no"), POP3_ERR);
        assert_int_equal(pop3_parse_status("+OKAY"), -EBADMSG);
        assert_int_equal(pop3_parse_status("* OK imap"), -EBADMSG);
        assert_int_equal(pop3_parse_status(""), -EBADMSG);

        static const char *const lines[] = { "CAPA", "TOP", "USER", "SASL PLAIN LOGIN", "STLS", "..dot", "." };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                assert_int_equal(pop3_capa_feed(&c, lines[i], strlen(lines[i])), i + 1 == ELEMENTSOF(lines) ? 1 : 0);
        assert_non_null(pop3_capa_has(&c, "USER"));
        assert_non_null(pop3_capa_has(&c, "stls"));
        assert_string_equal(pop3_capa_has(&c, "SASL"), "PLAIN LOGIN");
        assert_non_null(pop3_capa_has(&c, ".dot"));
        assert_null(pop3_capa_has(&c, "UIDL"));
        assert_int_equal(pop3_capa_feed(&c, "late", 4), -EBADMSG);

        assert_true(sasl_list_has_plaintext("PLAIN"));
        assert_true(sasl_list_has_plaintext("CRAM-MD5 login"));
        assert_false(sasl_list_has_plaintext("CRAM-MD5 SCRAM-SHA-1 PLAINX"));
        assert_false(sasl_list_has_plaintext(""));
}

static void test_linebuf(void **state) {
        LineBuf b = {};
        const char *line;
        size_t len, room;
        char *p;

        p = linebuf_space(&b, &room);
        assert_int_equal(room, MAILPROTO_LINE_MAX);
        memcpy(p, "220 a\r\n250 b\nhalf", 17);
        linebuf_advance(&b, 17);
        assert_int_equal(linebuf_next(&b, &line, &len), 1);
        assert_string_equal(line, "220 a");
        assert_int_equal(len, 5);
        assert_int_equal(linebuf_next(&b, &line, &len), 1);
        assert_string_equal(line, "250 b");
        assert_int_equal(linebuf_next(&b, &line, &len), 0);
        assert_int_equal(linebuf_pending(&b), 4);

        /* The rest of "half" arrives, then a line that never ends. */
        p = linebuf_space(&b, &room);
        memcpy(p, "way\n", 4);
        linebuf_advance(&b, 4);
        assert_int_equal(linebuf_next(&b, &line, &len), 1);
        assert_string_equal(line, "halfway");
        for (;;) {
                p = linebuf_space(&b, &room);
                if (room == 0)
                        break;
                memset(p, 'A', room);
                linebuf_advance(&b, room);
        }
        assert_int_equal(linebuf_next(&b, &line, &len), -EMSGSIZE);
}

/* The reader over a real socket: a silent peer times out, an endless line is cut, a
 * closed peer is reported, and all of it within the deadline. */
static void test_conn(void **state) {
        int sv[2];
        MailConn c;
        const char *line;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        c = (MailConn) { .fd = sv[0], .deadline_usec = now_usec() + 200000 };

        /* silent */
        uint64_t t0 = now_usec();
        assert_int_equal(mailconn_read_line(&c, &line), -ETIMEDOUT);
        uint64_t waited = now_usec() - t0;
        assert_true(waited >= 150000 && waited < 2000000);

        /* a reply in pieces */
        c.deadline_usec = now_usec() + 2000000;
        assert_int_equal(write(sv[1], "250-a\r\n250", 10), 10);
        assert_int_equal(write(sv[1], " b\r\n", 4), 4);
        {
                _cleanup_(smtp_reply_done) SmtpReply r = {};
                assert_int_equal(mailconn_read_smtp_reply(&c, &r), 0);
                assert_int_equal(r.code, 250);
                assert_int_equal(r.n_lines, 2);
        }

        /* an endless line */
        char junk[4096];
        memset(junk, 'x', sizeof(junk));
        assert_int_equal(write(sv[1], junk, sizeof(junk)), (ssize_t) sizeof(junk));
        assert_int_equal(mailconn_read_line(&c, &line), -EMSGSIZE);

        /* writes, then the peer goes away (a fresh pair: the rest of the junk is unread) */
        mailconn_close(&c);
        close(sv[1]);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        c = (MailConn) { .fd = sv[0], .deadline_usec = now_usec() + 2000000 };
        assert_int_equal(mailconn_writef(&c, "EHLO %s\r\n", "x"), 0);
        char got[16] = {};
        assert_int_equal(read(sv[1], got, sizeof(got) - 1), 8);
        assert_string_equal(got, "EHLO x\r\n");
        assert_int_equal(write(sv[1], "220 half", 8), 8);
        close(sv[1]);
        assert_int_equal(mailconn_read_line(&c, &line), -ECONNRESET);
        mailconn_close(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_smtp_reply),
                cmocka_unit_test(test_smtp_caps),
                cmocka_unit_test(test_smtp_flood),
                cmocka_unit_test(test_imap),
                cmocka_unit_test(test_imap_capability),
                cmocka_unit_test(test_pop3),
                cmocka_unit_test(test_linebuf),
                cmocka_unit_test(test_conn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
