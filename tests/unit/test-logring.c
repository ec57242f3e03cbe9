/* Unit tests for the log panel's line store (tui/logring.c): what a line keeps (its
 * terminal-safe text, queue id, the "queued as" and Message-ID hashes, kind, status, time)
 * for a journal entry and a file line; hostile bytes made inert; the ring keeping the
 * newest lines across hundreds of thousands, the text blocks of dropped lines freed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logring.h"
#include "macro.h"

#define S(x) ((LogStr) { .p = (x), .n = (x) ? strlen(x) : 0 })

static LogEvent event(const char *ident, uint32_t pid, const char *msg, const char *qid, const char *new_qid,
                      const char *msgid) {
        return (LogEvent) {
                .kind = LOG_KIND_DELIVERY,
                .status = LOG_STATUS_SENT,
                .usec = 1700000000123456,
                .ident = S(ident),
                .pid = pid,
                .message = S(msg),
                .queue_id = S(qid),
                .new_queue_id = S(new_qid),
                .message_id = S(msgid),
        };
}

static void test_fields(void **state) {
        static const struct {
                const char *raw; /* NULL: a journal entry */
                const char *ident, *msg, *qid, *new_qid, *msgid;
                const char *text, *want_qid;
        } cases[] = {
                { NULL, "postfix/smtp", "4F1A2B3C4D: to=<a@b.example>, status=sent (250 ok queued as 9ABCDEF012)",
                  "4F1A2B3C4D", "9ABCDEF012", NULL,
                  "postfix/smtp[42]: 4F1A2B3C4D: to=<a@b.example>, status=sent (250 ok queued as 9ABCDEF012)",
                  "4F1A2B3C4D" },
                { NULL, "postfix/cleanup", "4F1A2B3C4D: message-id=<x@y>", "4F1A2B3C4D", NULL, "<x@y>",
                  "postfix/cleanup[42]: 4F1A2B3C4D: message-id=<x@y>", "4F1A2B3C4D" },
                { NULL, "dovecot", "lmtp(bob): saved mail to INBOX", NULL, NULL, "<x@y>",
                  "dovecot[42]: lmtp(bob): saved mail to INBOX", "" },
                { NULL, "postfix/qmgr", "4F1A2B3C4D: removed", "4F1A2B3C4D", "1111111111", "<m@n>",
                  "postfix/qmgr[42]: 4F1A2B3C4D: removed", "4F1A2B3C4D" },
                { NULL, "postfix/smtpd", "connect from x[1.2.3.4]", NULL, NULL, NULL,
                  "postfix/smtpd[42]: connect from x[1.2.3.4]", "" },
                /* a queue id too long to be one is not kept */
                { NULL, "postfix/smtpd", "m", "0123456789012345678901234", NULL, NULL, "postfix/smtpd[42]: m", "" },
                /* a file line is kept as read */
                { "Nov 25 10:00:00 mail postfix/smtp[7]: 4F1A: x", NULL, NULL, "4F1A", NULL, NULL,
                  "Nov 25 10:00:00 mail postfix/smtp[7]: 4F1A: x", "4F1A" },
                /* hostile bytes: escape sequences and C1 controls become U+FFFD, \r goes */
                { "a\x1b]2;PWNED\x07 b\xc2\x9b" "31m\r", NULL, NULL, NULL, NULL, NULL,
                  "a\xef\xbf\xbd]2;PWNED\xef\xbf\xbd b\xef\xbf\xbd" "31m", "" },
                { NULL, "evil\x1b[2J", "x\x1b" "c\xff", NULL, NULL, NULL,
                  "evil\xef\xbf\xbd[2J[42]: x\xef\xbf\xbd" "c\xef\xbf\xbd", "" },
                /* an entry without identifier and message (NULL pieces) */
                { NULL, NULL, NULL, NULL, NULL, NULL, "[42]: ", "" },
        };
        LogRing *r = NULL;
        assert_int_equal(log_ring_new(ELEMENTSOF(cases), &r), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LogEvent ev = event(cases[i].ident, 42, cases[i].msg, cases[i].qid, cases[i].new_qid, cases[i].msgid);
                assert_int_equal(log_ring_push(r, &ev, cases[i].raw, cases[i].raw ? strlen(cases[i].raw) : 0), 0);
        }
        assert_int_equal(log_ring_size(r), ELEMENTSOF(cases));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const RingLine *ln = log_ring_at(r, i);
                assert_string_equal(ln->text, cases[i].text);
                assert_int_equal(ln->len, strlen(cases[i].text));
                assert_string_equal(ring_line_qid(ln), cases[i].want_qid);
                const char *q = cases[i].want_qid;
                assert_true(ln->qid_hash == (q[0] ? ring_id_hash(q, strlen(q)) : 0));
                assert_true(ring_line_hash(ln, RING_NEW_QID) == ring_id_hash(cases[i].new_qid, S(cases[i].new_qid).n));
                assert_true(ring_line_hash(ln, RING_MSGID) == ring_id_hash(cases[i].msgid, S(cases[i].msgid).n));
                assert_int_equal(ln->kind, LOG_KIND_DELIVERY);
                assert_int_equal(ln->status, LOG_STATUS_SENT);
                assert_true(ln->usec == 1700000000123456);
                assert_null(strchr(ln->text, '\x1b'));
        }
        log_ring_free(r);
}

/* Line i of the long run: its length varies from a few bytes to 60 KiB now and then (text
 * blocks end at different places); every third has a queue id, every fifth the hashes. */
static size_t long_line(size_t i, char *buf, size_t size, char qid[static 16]) {
        size_t len = i % 997 == 0 ? 60000 : 20 + (i * 7919) % 300;
        int k = snprintf(buf, size, "line %zu ", i);
        for (size_t j = (size_t) k; j < len && j < size - 1; j++)
                buf[j] = (char) ('a' + (i + j) % 26);
        buf[MIN(len, size - 1)] = 0;
        snprintf(qid, 16, "Q%zX", i);
        return MIN(len, size - 1);
}

static void test_long_run(void **state) {
        enum { CAP = 1000, TOTAL = 300000 };
        static char buf[70000];
        char qid[16];
        LogRing *r = NULL;
        assert_int_equal(log_ring_new(CAP, &r), 0);
        size_t most = 0;
        for (size_t i = 0; i < TOTAL; i++) {
                size_t n = long_line(i, buf, sizeof(buf), qid);
                LogEvent ev = event("x", 1, NULL, i % 3 == 0 ? qid : NULL, i % 5 == 0 ? "N" : NULL, i % 5 == 0 ? "<m>" : NULL);
                ev.usec = (int64_t) i;
                assert_int_equal(log_ring_push(r, &ev, buf, n), 0);
                most = MAX(most, log_ring_text_bytes(r));
        }
        assert_int_equal(log_ring_size(r), CAP);
        assert_true(log_ring_seen(r) == TOTAL);
        for (size_t k = 0; k < CAP; k++) {
                size_t i = TOTAL - CAP + k;
                const RingLine *ln = log_ring_at(r, k);
                long_line(i, buf, sizeof(buf), qid);
                assert_true(ln->usec == (int64_t) i);
                assert_string_equal(ln->text, buf);
                assert_string_equal(ring_line_qid(ln), i % 3 == 0 ? qid : "");
                assert_true(ring_line_hash(ln, RING_MSGID) == (i % 5 == 0 ? ring_id_hash("<m>", 3) : 0));
                assert_true(ring_line_hash(ln, RING_NEW_QID) == (i % 5 == 0 ? ring_id_hash("N", 1) : 0));
        }
        /* The blocks of dropped lines are freed: at most what 1000 lines need (about 1.2 MiB
         * with the 60 KiB ones), plus the block being filled and one partly dropped. */
        fprintf(stderr, "text blocks: at most %zu KiB for %d lines\n", most / 1024, CAP);
        assert_true(most <= (size_t) 2 * 1024 * 1024 + 2 * 256 * 1024);
        log_ring_free(r);
}

/* Lines bigger than a block (termsafe's worst case: 3 bytes for each byte), and a ring of
 * one line where every line frees the block of the one before. */
static void test_big_lines(void **state) {
        size_t n = 200000;
        char *big = malloc(n);
        assert_non_null(big);
        memset(big, '\x01', n);
        LogRing *r = NULL;
        assert_int_equal(log_ring_new(1, &r), 0);
        for (int round = 0; round < 4; round++) {
                LogEvent ev = event("x", 1, NULL, "ABC", NULL, NULL);
                assert_int_equal(log_ring_push(r, &ev, big, round % 2 ? 10 : n), 0);
                const RingLine *ln = log_ring_at(r, 0);
                size_t want = (round % 2 ? 10 : n) * 3; /* each control byte is U+FFFD */
                assert_int_equal(ln->len, want);
                assert_int_equal(strlen(ln->text), want);
                assert_memory_equal(ln->text, "\xef\xbf\xbd", 3);
                assert_string_equal(ring_line_qid(ln), "ABC");
                assert_int_equal(log_ring_size(r), 1);
                assert_true(log_ring_text_bytes(r) <= MAX(want + 64, (size_t) 256 * 1024) + 256 * 1024);
        }
        /* a journal message of LOGLINE_MAX invalid bytes: the ident and pid, then 3 bytes each */
        char *msg = malloc(LOGLINE_MAX + 1);
        assert_non_null(msg);
        memset(msg, '\xff', LOGLINE_MAX);
        msg[LOGLINE_MAX] = 0;
        LogEvent ev = event("x", 1, msg, NULL, NULL, NULL);
        assert_int_equal(log_ring_push(r, &ev, NULL, 0), 0);
        assert_int_equal(log_ring_at(r, 0)->len, strlen("x[1]: ") + 3 * LOGLINE_MAX);
        free(msg);
        free(big);
        log_ring_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_long_run),
                cmocka_unit_test(test_big_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
