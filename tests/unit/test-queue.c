/* The queue readers and model: postqueue -j lines, queue-file records (real files captured
 * from Postfix 3.7 in tests/data/queue, and built ones for the corners), defer logs, the
 * summary, the qshape view, filters and the queue.* findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "queue-checks.h"
#include "queue-file.h"
#include "queue-json.h"
#include "queue-model.h"
#include "queue-text.h"

/* --- postqueue -j --- */

static void feed_all(QueueSnapshot *s, const char *text, size_t chunk) {
        PqjsonReader r;
        size_t len = strlen(text);

        pqjson_init(&r, s, "dump");
        for (size_t i = 0; i < len; i += chunk)
                assert_int_equal(pqjson_feed(&r, text + i, MIN(chunk, len - i)), 0);
        assert_int_equal(pqjson_finish(&r), 0);
        pqjson_done(&r);
        assert_int_equal(queue_snapshot_finish(s), 0);
}

static const char dump[] =
        "{\"queue_name\": \"deferred\", \"queue_id\": \"4F2A1B3C9D\", \"arrival_time\": 1000, \"message_size\": 10, "
        "\"forced_expire\": false, \"sender\": \"a@x.test\", \"recipients\": [{\"address\": \"b@y.test\", "
        "\"delay_reason\": \"connect to 192.0.2.1[192.0.2.1]:25: Connection refused\", \"orig_address\": \"q\"}], "
        "\"something_new\": {\"nested\": [1, 2]}}\n"
        "this is not json\n"
        "\n"
        "{\"queue_name\": \"hold\", \"queue_id\": \"5F2A1B3C9E\", \"sender\": \"c@z.test\"}\n"
        "{\"queue_name\": \"deferred\", \"sender\": \"no id\"}\n"
        "[1, 2]\n"
        "{\"queue_name\": \"nowhere\", \"queue_id\": \"6F2A1B3C9E\"}\n"
        "{\"queue_name\": \"active\", \"queue_id\": \"4F2A1B3C9D\", \"arrival_time\": 1000, \"message_size\": 10, "
        "\"sender\": \"a@x.test\", \"recipients\": [{\"address\": \"b@y.test\"}]}\n"
        "{\"queue_name\": \"deferred\", \"queue_id\": \"7F2A1B3C9E\", \"arrival_time\": \"soon\"}\n"
        "{\"queue_name\": \"incoming\", \"queue_id\": \"8F2A1B3C9E\", \"arrival_time\": 5, \"recipients\": [{}]}\n"
        "{\"queue_name\": \"incoming\", \"queue_id\": \"9F2A1B3C9E\", \"arrival_time\": 7, \"message_size\": 3, "
        "\"sender\": \"d@w.test\", \"recipients\": []}"; /* no final newline */

static void test_pqjson_dump(void **state) {
        /* whole, line by line and byte by byte: the same result */
        static const size_t chunks[] = { sizeof(dump), 1, 7, 64 };

        for (size_t c = 0; c < ELEMENTSOF(chunks); c++) {
                QueueSnapshot s = {};
                feed_all(&s, dump, chunks[c]);

                /* 4F2A1B3C9D twice (moved from deferred to active while listed): the last wins */
                assert_int_equal(s.n, 3);
                assert_string_equal(s.messages[0].queue_id, "9F2A1B3C9E");
                assert_int_equal(s.messages[0].queue, QUEUE_INCOMING);
                assert_int_equal(s.messages[0].message_size, 3);
                assert_string_equal(s.messages[1].queue_id, "4F2A1B3C9D");
                assert_int_equal(s.messages[1].queue, QUEUE_ACTIVE);
                assert_null(s.messages[1].recipients[0].delay_reason);
                /* missing optional members: zero time and size, no recipients */
                assert_string_equal(s.messages[2].queue_id, "5F2A1B3C9E");
                assert_int_equal(s.messages[2].arrival_time, 0);
                assert_int_equal(s.messages[2].n_recipients, 0);

                /* each malformed line reported with its number */
                static const struct {
                        const char *where, *what;
                } want[] = {
                        { "dump:2", "not valid JSON" },
                        { "dump:5", "no queue_id" },
                        { "dump:6", "not a JSON object" },
                        { "dump:7", "no known queue_name" },
                        { "dump:9", "arrival_time is not a number" },
                        { "dump:10", "a recipient without an address" },
                };
                assert_int_equal(s.n_issues, ELEMENTSOF(want));
                for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                        assert_string_equal(s.issues[i].where, want[i].where);
                        assert_string_equal(s.issues[i].what, want[i].what);
                }
                queue_snapshot_done(&s);
        }
}

static void test_pqjson_long_line(void **state) {
        QueueSnapshot s = {};
        PqjsonReader r;
        char *big = malloc(PQJSON_MAX_LINE + 10);
        const char *good = "{\"queue_name\": \"hold\", \"queue_id\": \"5F2A1B3C9E\", \"sender\": \"c@z.test\"}\n";

        assert_non_null(big);
        memset(big, 'x', PQJSON_MAX_LINE + 10);
        pqjson_init(&r, &s, "big");
        assert_int_equal(pqjson_feed(&r, big, PQJSON_MAX_LINE + 10), 0);
        assert_int_equal(pqjson_feed(&r, big, 100), 0);
        assert_int_equal(pqjson_feed(&r, "\n", 1), 0);
        assert_int_equal(pqjson_feed(&r, good, strlen(good)), 0);
        assert_int_equal(pqjson_finish(&r), 0);
        pqjson_done(&r);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.n_issues, 1);
        assert_string_equal(s.issues[0].where, "big:1");
        queue_snapshot_done(&s);
        free(big);
}

static char *read_data(const char *name, size_t *ret_size) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/queue/%s", getenv("MXDECK_TEST_DATA"), name);
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
        buf[n] = 0;
        *ret_size = n;
        return buf;
}

/* --- postqueue -p (the text listing of Postfix before 3.1) --- */

static void text_all(QueueSnapshot *s, const char *text, size_t len, size_t chunk, int64_t now) {
        PqtextReader r;

        pqtext_init(&r, s, "pq", now);
        for (size_t i = 0; i < len; i += chunk)
                assert_int_equal(pqtext_feed(&r, text + i, MIN(chunk, len - i)), 0);
        assert_int_equal(pqtext_finish(&r), 0);
        pqtext_done(&r);
        assert_int_equal(queue_snapshot_finish(s), 0);
}

static void assert_same_message(const QueueMessage *a, const QueueMessage *b) {
        assert_string_equal(a->queue_id, b->queue_id);
        assert_int_equal(a->queue, b->queue);
        assert_int_equal(a->arrival_time, b->arrival_time);
        assert_int_equal(a->message_size, b->message_size);
        assert_int_equal(a->forced_expire, b->forced_expire);
        assert_string_equal(a->sender, b->sender);
        assert_int_equal(a->n_recipients, b->n_recipients);
        for (size_t k = 0; k < a->n_recipients; k++) {
                assert_string_equal(a->recipients[k].address, b->recipients[k].address);
                if (!a->recipients[k].delay_reason || !b->recipients[k].delay_reason)
                        assert_ptr_equal(a->recipients[k].delay_reason, b->recipients[k].delay_reason);
                else
                        assert_string_equal(a->recipients[k].delay_reason, b->recipients[k].delay_reason);
        }
}

/* A real capture: Postfix 3.7 in a lab host, `postqueue -p` and `postqueue -j` one after
 * the other on the same queue (deferred with a long reason at column 0, the null sender,
 * three recipients under one reason, a held message): the same model from both. */
static void test_pqtext_real(void **state) {
        size_t psize, jsize;
        _cleanup_free_ char *p = read_data("postqueue-p-3.7.txt", &psize);
        _cleanup_free_ char *j = read_data("postqueue-j-3.7.json", &jsize);
        static const size_t chunks[] = { 1 << 20, 1, 13 };

        assert_non_null(p);
        assert_non_null(j);
        assert_true(pqtext_looks_like(p, psize));
        assert_false(pqtext_looks_like(j, jsize));
        setenv("TZ", "UTC", 1); /* the lab's clock */
        tzset();
        QueueSnapshot want = {};
        feed_all(&want, j, 1 << 20);
        assert_int_equal(want.n, 5);
        for (size_t c = 0; c < ELEMENTSOF(chunks); c++) {
                QueueSnapshot s = {};
                text_all(&s, p, psize, chunks[c], 1796209100);
                assert_int_equal(s.n_issues, 0);
                assert_int_equal(s.n, want.n);
                for (size_t i = 0; i < s.n; i++)
                        assert_same_message(&s.messages[i], &want.messages[i]);
                queue_snapshot_done(&s);
        }
        queue_snapshot_done(&want);
}

static const char listing[] =
        "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        "4dMn3Yk1Xq5z2bc*12345678 Thu Feb 29 23:59:59  alice@lab.test\n"
        "                                         a@b.example\n"
        "\n"
        "ABCDEFGHIJ#     100 Thu Jan  1 00:00:00  (MAILER-DAEMON)\n"
        "                    (host mx[192.0.2.1] said: 451 try (again) later)\n"
        "                                         one@b.example\n"
        "                                         two@b.example\n"
        "                    (connect to mx.c.example[192.0.2.2]:25: Connection timed out)\n"
        "                                         three@c.example\n"
        "\n"
        "1A2B3C4D5E      500                   ??  (maildrop queue, sender UID 1000)\n"
        "                                         x@d.example\n"
        "\n"
        "!BAD LINE\n"
        "                                         lost@e.example\n"
        "\n"
        "  (stray)\n"
        "DEF456!  9999 Sun Dec 31 12:00:00  MAILER-DAEMON\n"
        "C0FFEE1     10 Foo Bar 31 12:00:00  x@y\n"
        "-- 12 Kbytes in 9 Requests.\n";

static void test_pqtext_corners(void **state) {
        /* 2026-03-01 12:00 UTC: Feb 29 is 2024's, Dec 31 and Jan 1 are 2025's and 2026's */
        const int64_t now = 1772366400;
        static const size_t chunks[] = { sizeof(listing), 1, 5 };

        setenv("TZ", "UTC", 1);
        tzset();
        for (size_t c = 0; c < ELEMENTSOF(chunks); c++) {
                QueueSnapshot s = {};
                text_all(&s, listing, strlen(listing), chunks[c], now);
                /* sorted: maildrop, active, deferred, hold */
                assert_int_equal(s.n, 4);
                const QueueMessage *m = &s.messages[0];
                assert_string_equal(m->queue_id, "1A2B3C4D5E");
                assert_int_equal(m->queue, QUEUE_MAILDROP);
                assert_string_equal(m->sender, "");
                assert_int_equal(m->arrival_time, 0);
                m = &s.messages[1];
                assert_string_equal(m->queue_id, "4dMn3Yk1Xq5z2bc");
                assert_int_equal(m->queue, QUEUE_ACTIVE);
                assert_int_equal(m->message_size, 12345678); /* no space after the marker */
                assert_int_equal(m->arrival_time, 1709251199); /* 2024-02-29 23:59:59 */
                assert_null(m->recipients[0].delay_reason);
                m = &s.messages[2];
                assert_string_equal(m->queue_id, "ABCDEFGHIJ");
                assert_int_equal(m->queue, QUEUE_DEFERRED);
                assert_true(m->forced_expire);
                assert_string_equal(m->sender, "MAILER-DAEMON");
                assert_int_equal(m->arrival_time, 1767225600); /* 2026-01-01 */
                assert_int_equal(m->n_recipients, 3);
                assert_string_equal(m->recipients[0].delay_reason, "host mx[192.0.2.1] said: 451 try (again) later");
                assert_string_equal(m->recipients[1].delay_reason, m->recipients[0].delay_reason);
                assert_string_equal(m->recipients[2].address, "three@c.example");
                assert_string_equal(m->recipients[2].delay_reason,
                                    "connect to mx.c.example[192.0.2.2]:25: Connection timed out");
                m = &s.messages[3];
                assert_string_equal(m->queue_id, "DEF456");
                assert_int_equal(m->queue, QUEUE_HOLD);
                assert_int_equal(m->arrival_time, 1767182400); /* 2025-12-31 12:00 */
                assert_int_equal(m->n_recipients, 0);

                /* each problem named by its line; the trailer's count is checked */
                static const struct {
                        const char *where, *what;
                } want[] = {
                        { "pq:15", "not a queue id" },
                        { "pq:18", "a delay reason outside a message" },
                        { "pq:20", "no arrival time" },
                        { "pq:21", "the listing counts 9 messages, 4 were read" },
                };
                assert_int_equal(s.n_issues, ELEMENTSOF(want));
                for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                        assert_string_equal(s.issues[i].where, want[i].where);
                        assert_string_equal(s.issues[i].what, want[i].what);
                }
                queue_snapshot_done(&s);
        }

        /* an empty queue; a line too long loses its message only */
        QueueSnapshot s = {};
        text_all(&s, "Mail queue is empty\n", 20, 3, now);
        assert_int_equal(s.n, 0);
        assert_int_equal(s.n_issues, 0);
        queue_snapshot_done(&s);

        size_t big = PQTEXT_MAX_LINE + 100;
        char *t = malloc(big + 512);
        assert_non_null(t);
        int n = sprintf(t, "AAAAAA1   10 Mon Mar  1 10:00:00  a@b\n%*s", 41, "");
        memset(t + n, 'x', big);
        n += (int) big;
        n += sprintf(t + n, "\n\nBBBBBB2   20 Mon Mar  1 10:00:00  c@d\n%41sr@s\n", "");
        text_all(&s, t, (size_t) n, 4096, now);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.messages[0].queue_id, "BBBBBB2");
        assert_string_equal(s.messages[0].recipients[0].address, "r@s");
        assert_int_equal(s.n_issues, 1);
        assert_string_equal(s.issues[0].what, "line too long");
        queue_snapshot_done(&s);
        free(t);
}

/* --- queue files --- */

typedef struct Buf {
        uint8_t data[65536];
        size_t len;
} Buf;

static void rec(Buf *b, char type, const char *data, size_t len) {
        b->data[b->len++] = (uint8_t) type;
        size_t l = len;
        do {
                uint8_t byte = l & 0x7f;
                l >>= 7;
                if (l)
                        byte |= 0x80;
                b->data[b->len++] = byte;
        } while (l);
        memcpy(b->data + b->len, data, len);
        b->len += len;
}

static void recs(Buf *b, char type, const char *s) {
        rec(b, type, s, strlen(s));
}

/* Reads the "file" the way the source does, with a window of `window` bytes. */
static int parse_buf(const uint8_t *data, size_t size, size_t window, bool maildrop, QfileParser *p) {
        qfile_parser_init(p, maildrop);
        for (unsigned rounds = 0; rounds < 100000; rounds++) {
                uint64_t off = p->want;
                size_t n = off >= size ? 0 : MIN(window, size - (size_t) off);
                bool eof = off + n >= size;
                int r = qfile_feed(p, data + (off < size ? off : size), n, off, eof);
                if (r != 0)
                        return r;
                if (p->want == off && !eof)
                        return -E2BIG;
        }
        return -ELOOP;
}


/* Real deferred queue files + defer logs from Postfix 3.7 against its own postqueue -j. */
static void test_qfile_real(void **state) {
        size_t size;
        _cleanup_free_ char *pq = read_data("postqueue.json", &size);
        QueueSnapshot want = {};
        static const size_t windows[] = { QFILE_WINDOW, 200, 97 };

        assert_non_null(pq);
        feed_all(&want, pq, size);
        assert_int_equal(want.n, 3);
        assert_int_equal(want.n_issues, 0);

        for (size_t i = 0; i < want.n; i++) {
                const QueueMessage *w = &want.messages[i];
                char name[64];
                size_t qsize, lsize;

                snprintf(name, sizeof(name), "qf-%s", w->queue_id);
                _cleanup_free_ char *qf = read_data(name, &qsize);
                snprintf(name, sizeof(name), "defer-%s", w->queue_id);
                _cleanup_free_ char *log = read_data(name, &lsize);
                assert_non_null(qf);
                assert_non_null(log);

                for (size_t k = 0; k < ELEMENTSOF(windows); k++) {
                        QfileParser p;
                        QueueMessage m = {};

                        assert_int_equal(parse_buf((const uint8_t *) qf, qsize, windows[k], false, &p), 1);
                        assert_true(p.ended);
                        assert_int_equal(qfile_to_message(&p, w->queue_id, QUEUE_DEFERRED, 1, qsize, log, lsize, &m), 0);
                        assert_string_equal(m.queue_id, w->queue_id);
                        assert_int_equal(m.arrival_time, w->arrival_time);
                        assert_int_equal(m.message_size, w->message_size);
                        assert_string_equal(m.sender, w->sender);
                        assert_int_equal(m.n_recipients, w->n_recipients);
                        for (size_t j = 0; j < m.n_recipients; j++) {
                                assert_string_equal(m.recipients[j].address, w->recipients[j].address);
                                assert_string_equal(strempty(m.recipients[j].delay_reason),
                                                    strempty(w->recipients[j].delay_reason));
                        }
                        /* without the defer log: the R records, no reasons */
                        queue_message_done(&m);
                        assert_int_equal(qfile_to_message(&p, w->queue_id, QUEUE_DEFERRED, 1, qsize, NULL, 0, &m), 0);
                        assert_int_equal(m.n_recipients, w->n_recipients);
                        assert_null(m.recipients[0].delay_reason);
                        queue_message_done(&m);
                        qfile_parser_done(&p);
                }
        }
        queue_snapshot_done(&want);
}

/* Built files: content skipped by the size record, pointers followed, done recipients left
 * out, recipients appended past the content (as cleanup does for extracted ones). */
static void test_qfile_built(void **state) {
        Buf b = {};
        char ptr[32];
        QfileParser p;

        recs(&b, 'C', "             11             100               2");
        recs(&b, 'T', "1700000000 123");
        recs(&b, 'S', "from@x.test");
        recs(&b, 'D', "done@y.test");
        recs(&b, 'R', "one@y.test");
        size_t ptr_at = b.len;
        recs(&b, 'p', "             0"); /* patched below */
        size_t m_at = b.len;
        recs(&b, 'M', "");
        recs(&b, 'N', "R\x05" "fake!!!"); /* content that looks like a record: skipped by size */
        recs(&b, 'X', "");
        recs(&b, 'R', "after@z.test");
        recs(&b, 'E', "");
        size_t tail = b.len;
        recs(&b, 'R', "pointed@w.test");
        snprintf(ptr, sizeof(ptr), "%14zu", m_at);
        recs(&b, 'p', ptr); /* back to the M record */
        /* the placeholder now jumps to the tail */
        snprintf(ptr, sizeof(ptr), "%14zu", tail);
        memcpy(b.data + ptr_at + 2, ptr, 14);

        static const size_t windows[] = { 65536, 64, 52 }; /* >= the longest needed record */
        for (size_t k = 0; k < ELEMENTSOF(windows); k++) {
                assert_int_equal(parse_buf(b.data, b.len, windows[k], false, &p), 1);
                assert_int_equal(p.arrival_time, 1700000000);
                assert_true(p.size_ok);
                assert_int_equal(p.content_size, 11);
                assert_string_equal(p.sender, "from@x.test");
                assert_int_equal(p.n_recipients, 3);
                assert_string_equal(p.recipients[0], "one@y.test");
                assert_string_equal(p.recipients[1], "pointed@w.test");
                assert_string_equal(p.recipients[2], "after@z.test");
                qfile_parser_done(&p);
        }
}

static void test_qfile_bad(void **state) {
        QfileParser p;
        Buf b = {};

        /* truncated in the middle of a record */
        recs(&b, 'C', "             11             100               2");
        recs(&b, 'T', "1700000000 123");
        recs(&b, 'S', "from@x.test");
        assert_int_equal(parse_buf(b.data, b.len - 3, 65536, false, &p), -EBADMSG);
        assert_null(p.sender);
        qfile_parser_done(&p);
        /* no end record: the sender is known, the file is still called malformed */
        assert_int_equal(parse_buf(b.data, b.len, 65536, false, &p), -EBADMSG);
        assert_string_equal(p.sender, "from@x.test");
        qfile_parser_done(&p);

        /* a length with too many bits */
        Buf c = {};
        memcpy(c.data, "S\xff\xff\xff\xff\x7f", 6);
        c.len = 6;
        assert_int_equal(parse_buf(c.data, c.len, 65536, false, &p), -EBADMSG);
        qfile_parser_done(&p);

        /* a pointer loop */
        Buf d = {};
        recs(&d, 'S', "from@x.test");
        recs(&d, 'p', "             0");
        memcpy(d.data + d.len - 14, "            13", 14); /* to itself */
        assert_int_equal(parse_buf(d.data, d.len, 65536, false, &p), -EBADMSG);
        qfile_parser_done(&p);

        /* a malformed pointer */
        Buf e = {};
        recs(&e, 'S', "from@x.test");
        recs(&e, 'p', "12x");
        assert_int_equal(parse_buf(e.data, e.len, 65536, false, &p), -EBADMSG);
        qfile_parser_done(&p);

        /* a needed record longer than the limit */
        Buf *f = calloc(1, sizeof(Buf) + QFILE_MAX_RECORD);
        static char big[QFILE_MAX_RECORD + 1];
        memset(big, 'a', sizeof(big));
        rec(f, 'S', big, sizeof(big));
        qfile_parser_init(&p, false);
        assert_int_equal(qfile_feed(&p, f->data, 8, 0, false), -E2BIG);
        qfile_parser_done(&p);
        free(f);

        /* a second sender: showq stops there, keeping what it has */
        Buf g = {};
        recs(&g, 'S', "one@x.test");
        recs(&g, 'R', "r@y.test");
        recs(&g, 'S', "two@x.test");
        recs(&g, 'R', "s@y.test");
        recs(&g, 'E', "");
        assert_int_equal(parse_buf(g.data, g.len, 65536, false, &p), 1);
        assert_true(p.duplicate_sender);
        assert_int_equal(p.n_recipients, 1);
        qfile_parser_done(&p);

        /* a recipient before any sender: nothing to list */
        Buf h = {};
        recs(&h, 'R', "r@y.test");
        recs(&h, 'S', "one@x.test");
        recs(&h, 'E', "");
        assert_int_equal(parse_buf(h.data, h.len, 65536, false, &p), 1);
        QueueMessage m = {};
        assert_int_equal(qfile_to_message(&p, "ABCDEF1", QUEUE_DEFERRED, 1, 1, NULL, 0, &m), -EBADMSG);
        qfile_parser_done(&p);
}

static void test_printable_address(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "a@b.test", "a@b.test" },
                { "first.last@b.test", "first.last@b.test" },
                { "a b@c.test", "\"a b\"@c.test" },
                { "a\"b@c.test", "\"a\\\"b\"@c.test" },
                { ".a@c.test", "\".a\"@c.test" },
                { "a..b@c.test", "\"a..b\"@c.test" },
                { "a\033[31m@c.test", "\"a?[31m\"@c.test" },
                { "@route:a@c.test", "@route:a@c.test" },
                { "ünï@c.test", "ünï@c.test" },
                { "a\xff@c.test", "a?@c.test" },
                { "MAILER-DAEMON", "MAILER-DAEMON" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = postfix_printable_address(cases[i].in);
                assert_string_equal(s, cases[i].out);
        }
}

typedef struct Seen {
        char out[2048];
} Seen;

static int seen_cb(const char *address, const char *reason, void *userdata) {
        Seen *s = userdata;
        size_t l = strlen(s->out);
        snprintf(s->out + l, sizeof(s->out) - l, "%s|%s\n", address, reason);
        return 0;
}

static void test_bouncelog(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "recipient=a@b.test\nreason=full\n\n", "a@b.test|full\n" },
                /* both formats in one entry, as Postfix writes them */
                { "\n<a@b.test>: old text\nrecipient=a@b.test\nreason= new text \n\n", "a@b.test|new text\n" },
                { "<a@b.test>: old only\n\n", "a@b.test|old only\n" },
                { "recipient=\nreason=x\n\n", "(MAILER-DAEMON)|x\n" },
                { "status=4.0.0\n\n", "(recipient address unavailable)|(description unavailable)\n" },
                /* the last entry has no closing blank line: Postfix does not read it */
                { "recipient=a@b.test\nreason=one\n\nrecipient=c@d.test\nreason=two\n", "a@b.test|one\n" },
                { "garbage line\n=novalue\nrecipient=a@b.test\nreason=r\x1b[2J\n\n", "a@b.test|r?[2J\n" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Seen s = {};
                assert_int_equal(bouncelog_parse(cases[i].in, strlen(cases[i].in), seen_cb, &s), 0);
                assert_string_equal(s.out, cases[i].out);
        }
}

/* --- model --- */

static void add(QueueSnapshot *s, const char *id, QueueName q, int64_t t, const char *sender, const char *rcpts,
                const char *reason) {
        QueueMessage m = { .queue = q, .arrival_time = t, .message_size = 100 };
        m.queue_id = strdup(id);
        m.sender = strdup(sender);
        for (const char *p = rcpts; *p;) {
                size_t n = strcspn(p, " ");
                _cleanup_free_ char *a = strndup(p, n);
                assert_int_equal(queue_message_add_recipient(&m, a, reason), 0);
                p += n;
                p += strspn(p, " ");
        }
        assert_int_equal(queue_snapshot_add(s, &m), 0);
}

static void test_reason_normalise(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "connect to 192.0.2.1[192.0.2.1]:25: Connection refused",
                  "connect to N.N.N.N[N.N.N.N]:N: Connection refused" },
                { "host mx.example.com[198.51.100.7] said: 452 4.2.2 <bob@example.com>: Mailbox full (in reply to RCPT TO command)",
                  "host mx.example.com[N.N.N.N] said: N N.N.N <ADDRESS>: Mailbox full (in reply to RCPT TO command)" },
                { "queue id 4F2A1B3C9D deferred", "queue id QUEUEID deferred" },
                { "long id 4bWqFb3kHqzJ9Dx here", "long id QUEUEID here" },
                { "DEFACE is a word", "DEFACE is a word" },
                { "authorization required", "authorization required" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = queue_reason_normalise(cases[i].in);
                assert_string_equal(s, cases[i].out);
        }
}

static void test_summary(void **state) {
        QueueSnapshot s = {};
        QueueSummary sum = {};

        add(&s, "AAAAAA1", QUEUE_DEFERRED, 100, "a@x.test", "1@d.test 2@d.test 3@e.test", "connect to 1.2.3.4: refused");
        add(&s, "AAAAAA2", QUEUE_DEFERRED, 50, "a@x.test", "1@d.test", "connect to 5.6.7.8: refused");
        add(&s, "AAAAAA3", QUEUE_HOLD, 200, "b@y.test", "9@f.test", NULL);
        add(&s, "AAAAAA4", QUEUE_ACTIVE, 300, "MAILER-DAEMON", "9@F.TEST", "other");
        assert_int_equal(queue_snapshot_finish(&s), 0);
        assert_int_equal(queue_summary_build(&s, &sum), 0);
        assert_int_equal(sum.total, 4);
        assert_int_equal(sum.bytes, 400);
        assert_int_equal(sum.oldest_arrival, 50);
        assert_string_equal(sum.oldest->queue_id, "AAAAAA2");
        assert_int_equal(sum.queues[QUEUE_DEFERRED].count, 2);
        assert_int_equal(sum.queues[QUEUE_DEFERRED].oldest_arrival, 50);
        assert_int_equal(sum.queues[QUEUE_HOLD].bytes, 100);
        /* domains count messages, once per message */
        assert_string_equal(sum.domains[0].key, "d.test");
        assert_int_equal(sum.domains[0].count, 2);
        assert_string_equal(sum.domains[1].key, "f.test");
        assert_int_equal(sum.domains[1].count, 2);
        assert_string_equal(sum.senders[0].key, "a@x.test");
        assert_int_equal(sum.senders[0].count, 2);
        assert_string_equal(sum.sender_domains[0].key, "x.test");
        /* reasons count recipients, with one original example */
        assert_int_equal(sum.n_reasons, 2);
        assert_string_equal(sum.reasons[0].key, "connect to N.N.N.N: refused");
        assert_int_equal(sum.reasons[0].count, 4);
        /* the example is the first in listing order: the oldest message */
        assert_string_equal(sum.reasons[0].example, "connect to 5.6.7.8: refused");
        queue_summary_done(&sum);
        queue_snapshot_done(&s);
}

static void test_qshape(void **state) {
        const int64_t now = 1000000;
        static const struct {
                int64_t age_s;
                unsigned bucket, linear_bucket; /* 0-based, default 5-minute tick, 10 buckets */
        } ages[] = {
                { 0, 0, 0 }, { 299, 0, 0 }, { 300, 1, 1 }, { 599, 1, 1 }, { 600, 2, 2 }, { 1199, 2, 3 },
                { 1200, 3, 4 }, { 76799, 8, 9 }, { 76800, 9, 9 }, { 10000000, 9, 9 },
        };
        for (size_t i = 0; i < ELEMENTSOF(ages); i++) {
                for (int linear = 0; linear < 2; linear++) {
                        QueueSnapshot s = {};
                        QshapeOptions o;
                        Qshape q = {};

                        add(&s, "AAAAAA1", QUEUE_DEFERRED, now - ages[i].age_s, "a@x.test", "1@d.test", NULL);
                        qshape_options_init(&o, now);
                        o.linear = linear;
                        assert_int_equal(qshape_build(&s, &o, &q), 0);
                        unsigned want = linear ? ages[i].linear_bucket : ages[i].bucket;
                        for (unsigned b = 0; b < q.n_buckets; b++)
                                assert_int_equal(q.rows[0].counts[b], b == want ? 1 : 0);
                        qshape_done(&q);
                        queue_snapshot_done(&s);
                }
        }

        /* bucket edges as qshape prints them */
        QueueSnapshot s = {};
        QshapeOptions o;
        Qshape q = {};
        qshape_options_init(&o, now);
        assert_int_equal(qshape_build(&s, &o, &q), 0);
        static const unsigned edges[] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280, 1280 };
        assert_int_equal(q.n_buckets, 10);
        assert_memory_equal(q.limits, edges, sizeof(edges));
        assert_int_equal(q.n_rows, 1);
        assert_string_equal(q.rows[0].domain, "TOTAL");
        qshape_done(&q);

        /* rows: per recipient, busiest first, domains as qshape squeezes them; parents
         * shown with at least 5 subdomains */
        add(&s, "AAAAAA1", QUEUE_DEFERRED, now, "a@x.test", "1@a.d.test 2@b.d.test 3@c.d.test 4@d.d.test", NULL);
        add(&s, "AAAAAA2", QUEUE_DEFERRED, now, "a@x.test", "5@e.d.test 6@e.d.test 7@E.D.TEST. 8@..e.d.test", NULL);
        add(&s, "AAAAAA3", QUEUE_HOLD, now, "MAILER-DAEMON", "x@f.test", NULL);
        add(&s, "AAAAAA4", QUEUE_DEFERRED, now, "b@y.test", "", NULL); /* no recipients: skipped */
        assert_int_equal(queue_snapshot_finish(&s), 0);
        o.parent = true;
        assert_int_equal(qshape_build(&s, &o, &q), 0);
        static const struct {
                const char *domain;
                uint64_t total;
        } rows[] = {
                { "TOTAL", 9 }, { ".d.test", 8 }, { "e.d.test", 4 }, { "f.test", 1 }, { "a.d.test", 1 },
                { "b.d.test", 1 }, { "c.d.test", 1 }, { "d.d.test", 1 },
        };
        assert_int_equal(q.n_rows, ELEMENTSOF(rows));
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                assert_string_equal(q.rows[i].domain, rows[i].domain);
                assert_int_equal(q.rows[i].total, rows[i].total);
        }
        qshape_done(&q);
        o.min_subdomains = 6;
        assert_int_equal(qshape_build(&s, &o, &q), 0);
        assert_string_equal(q.rows[1].domain, "e.d.test"); /* .d.test has 5 subdomains only */
        qshape_done(&q);

        /* by sender, one queue */
        qshape_options_init(&o, now);
        o.sender = true;
        o.queues = 1u << QUEUE_HOLD;
        assert_int_equal(qshape_build(&s, &o, &q), 0);
        assert_int_equal(q.n_rows, 2);
        assert_string_equal(q.rows[1].domain, "MAILER-DAEMON");
        qshape_done(&q);
        queue_snapshot_done(&s);
}

static void test_filter(void **state) {
        QueueSnapshot s = {};
        add(&s, "AAAAAA1", QUEUE_DEFERRED, 1000, "alice@example.com", "1@d.test 2@sub.e.test", "Connection refused");
        add(&s, "AAAAAA2", QUEUE_HOLD, 5000, "xalice@example.com", "3@d.test", NULL);
        add(&s, "AAAAAA3", QUEUE_DEFERRED, 9000, "MAILER-DAEMON", "4@f.test", "Mailbox full");
        assert_int_equal(queue_snapshot_finish(&s), 0);

        static const struct {
                QueueFilter f;
                const char *reason;
                const char *want; /* matching ids, in order */
        } cases[] = {
                { { .sender = "alice@example.com" }, NULL, "AAAAAA1" },
                { { .sender = "ALICE@example.COM" }, NULL, "AAAAAA1" },
                { { .sender = "@example.com" }, NULL, "AAAAAA1 AAAAAA2" },
                { { .sender = "MAILER-DAEMON" }, NULL, "AAAAAA3" },
                { { .domain = "d.test" }, NULL, "AAAAAA1 AAAAAA2" },
                { { .domain = "e.test" }, NULL, "" },
                { { .domain = ".e.test" }, NULL, "AAAAAA1" },
                { { .recipient = "3@d.test" }, NULL, "AAAAAA2" },
                { { .queues = 1u << QUEUE_DEFERRED }, NULL, "AAAAAA1 AAAAAA3" },
                { { .older_than_s = 5000, .now = 10000 }, NULL, "AAAAAA1 AAAAAA2" },
                { {}, "refused|full", "AAAAAA1 AAAAAA3" },
                { { .domain = "d.test" }, "refused", "AAAAAA1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                QueueFilter f = cases[i].f;
                char got[256] = "";
                if (cases[i].reason) {
                        assert_int_equal(regcomp(&f.reason, cases[i].reason, REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
                        f.has_reason = true;
                }
                assert_false(queue_filter_is_empty(&f));
                for (size_t k = 0; k < s.n; k++)
                        if (queue_filter_match(&f, &s.messages[k])) {
                                if (*got)
                                        strcat(got, " ");
                                strcat(got, s.messages[k].queue_id);
                        }
                assert_string_equal(got, cases[i].want);
                if (f.has_reason)
                        regfree(&f.reason);
        }
        QueueFilter empty = { .now = 5 };
        assert_true(queue_filter_is_empty(&empty));
        queue_snapshot_done(&s);
}

static void test_duration(void **state) {
        static const struct {
                const char *in;
                int r;
                int64_t s;
        } cases[] = {
                { "90", 0, 90 }, { "90s", 0, 90 }, { "30m", 0, 1800 }, { "30min", 0, 1800 }, { "2h", 0, 7200 },
                { "3d", 0, 259200 }, { "1w", 0, 604800 }, { "", -EINVAL, 0 }, { "h", -EINVAL, 0 },
                { "-5m", -EINVAL, 0 }, { "5x", -EINVAL, 0 }, { "99999999999999999999", -ERANGE, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int64_t v = -1;
                assert_int_equal(parse_duration(cases[i].in, &v), cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(v, cases[i].s);
        }
}

/* --- findings --- */

static const Finding *find(const FindingList *l, const char *id) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].id, id))
                        return &l->items[i];
        return NULL;
}

static void test_findings(void **state) {
        Settings st;
        QueueSnapshot s = {};
        FindingList out = {};
        const int64_t now = 100000;
        char id[16];

        assert_int_equal(settings_init(&st), 0);
        st.queue_sender_burst_messages = 10;
        /* 12 messages, 9 from one sender; the oldest deferred one 2 h old */
        for (int i = 0; i < 12; i++) {
                snprintf(id, sizeof(id), "ABCDE%02d", i);
                add(&s, id, i < 10 ? QUEUE_DEFERRED : QUEUE_ACTIVE, now - (i == 0 ? 7200 : 60),
                    i < 9 ? "spam'er@x.test" : "ok@y.test", "r@z.test", i < 10 ? "connect to 1.2.3.4: refused" : NULL);
        }
        assert_int_equal(queue_snapshot_finish(&s), 0);
        assert_int_equal(queue_findings(&st, &s, now, "test", &out), 0);
        assert_int_equal(find(&out, "queue.size")->status, STATUS_OK);
        assert_int_equal(find(&out, "queue.oldest")->status, STATUS_WARNING);
        assert_int_equal(find(&out, "queue.deferred")->status, STATUS_OK);
        assert_non_null(strstr(find(&out, "queue.deferred")->detail, "10 x connect to 1.2.3.4: refused"));
        const Finding *b = find(&out, "queue.sender-burst");
        assert_int_equal(b->status, STATUS_WARNING);
        assert_non_null(strstr(b->remedy, "mxdeck queue delete --sender 'spam'\\''er@x.test' --dry-run"));
        findings_done(&out);

        /* below the size that counts as large: no burst */
        st.queue_sender_burst_messages = 13;
        st.queue_oldest_critical_minutes = 100;
        assert_int_equal(queue_findings(&st, &s, now, "test", &out), 0);
        assert_int_equal(find(&out, "queue.sender-burst")->status, STATUS_OK);
        assert_int_equal(find(&out, "queue.oldest")->status, STATUS_CRITICAL);
        findings_done(&out);

        queue_snapshot_done(&s);
        settings_done(&st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pqjson_dump),
                cmocka_unit_test(test_pqjson_long_line),
                cmocka_unit_test(test_pqtext_real),
                cmocka_unit_test(test_pqtext_corners),
                cmocka_unit_test(test_qfile_real),
                cmocka_unit_test(test_qfile_built),
                cmocka_unit_test(test_qfile_bad),
                cmocka_unit_test(test_printable_address),
                cmocka_unit_test(test_bouncelog),
                cmocka_unit_test(test_reason_normalise),
                cmocka_unit_test(test_summary),
                cmocka_unit_test(test_qshape),
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_findings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
