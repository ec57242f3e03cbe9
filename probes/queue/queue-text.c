/* postqueue -p reader (see queue-text.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "queue-text.h"

void pqtext_init(PqtextReader *r, QueueSnapshot *s, const char *name, int64_t now) {
        *r = (PqtextReader) { .snapshot = s, .name = name ? name : "postqueue -p", .now = now,
                              .split = LINE_SPLITTER_INIT(PQTEXT_MAX_LINE) };
}

void pqtext_done(PqtextReader *r) {
        line_splitter_done(&r->split);
        free(r->reason);
        queue_message_done(&r->cur);
        *r = (PqtextReader) {};
}

bool pqtext_looks_like(const char *data, size_t size) {
        static const char *const starts[] = { "-Queue ID-", "Mail queue is empty" };
        for (size_t i = 0; i < ELEMENTSOF(starts); i++) {
                size_t n = strlen(starts[i]);
                if (size >= n && memcmp(data, starts[i], n) == 0)
                        return true;
        }
        return false;
}

static int64_t local_time(int year, int month, int day, int hour, int minute, int second) {
        struct tm tm = { .tm_year = year - 1900, .tm_mon = month, .tm_mday = day, .tm_hour = hour,
                         .tm_min = minute, .tm_sec = second, .tm_isdst = -1 };
        time_t t = mktime(&tm);
        /* Feb 29 of a year without one comes back as Mar 1: not this year */
        if (t == (time_t) -1 || tm.tm_mon != month || tm.tm_mday != day)
                return 0;
        return (int64_t) t;
}

int64_t pqtext_arrival(int month, int day, int hour, int minute, int second, int64_t now) {
        time_t n = (time_t) now;
        struct tm tm;

        if (!localtime_r(&n, &tm))
                return 0;
        /* as the log engine: the latest year that puts it no more than a day after now
         * (Feb 29: the latest leap year that does) */
        for (int year = tm.tm_year + 1900 + 1, tries = 0; tries < 9; year--, tries++) {
                int64_t t = local_time(year, month, day, hour, minute, second);
                if (t != 0 && t <= now + 86400)
                        return t;
        }
        return 0;
}

static int issue(PqtextReader *r, const char *what) {
        char where[512];
        snprintf(where, sizeof(where), "%s:%lu", r->name, r->line);
        return queue_snapshot_issue(r->snapshot, where, "%s", what);
}

/* The message read so far goes to the snapshot. */
static int flush(PqtextReader *r) {
        int k = 0;
        if (r->have && !r->bad) {
                k = queue_snapshot_add(r->snapshot, &r->cur);
                r->read++;
        }
        queue_message_done(&r->cur);
        free(r->reason);
        r->reason = NULL;
        r->have = r->bad = false;
        return k;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Up to max digits at *p: the number, or -1. */
static long digits(const char **p, const char *end, int max) {
        long v = 0;
        int n = 0;
        while (*p < end && is_digit(**p) && n < max) {
                v = v * 10 + (**p - '0');
                (*p)++;
                n++;
        }
        return n ? v : -1;
}

static const char *skip_spaces(const char *p, const char *end) {
        while (p < end && *p == ' ')
                p++;
        return p;
}

/* "Www Mmm dd HH:MM:SS" (or "??" when Postfix did not know): the arrival time, or -1. */
static int64_t parse_date(PqtextReader *r, const char **pp, const char *end) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        const char *p = *pp;

        if (end - p >= 2 && p[0] == '?' && p[1] == '?') {
                *pp = p + 2;
                return 0;
        }
        if (end - p < 8 || p[3] != ' ' || p[7] != ' ')
                return -1;
        int month = -1;
        for (int i = 0; i < 12; i++)
                if (memcmp(p + 4, months + 3 * i, 3) == 0)
                        month = i;
        if (month < 0)
                return -1;
        p = skip_spaces(p + 8, end);
        long day = digits(&p, end, 2), h, mi, s;
        if (day < 1 || day > 31 || p >= end || *p != ' ')
                return -1;
        p++;
        h = digits(&p, end, 2);
        if (h < 0 || h > 23 || p >= end || *p++ != ':')
                return -1;
        mi = digits(&p, end, 2);
        if (mi < 0 || mi > 59 || p >= end || *p++ != ':')
                return -1;
        s = digits(&p, end, 2);
        if (s < 0 || s > 60)
                return -1;
        *pp = p;
        return pqtext_arrival(month, (int) day, (int) h, (int) mi, (int) s, r->now);
}

/* "ID[*!# ] SIZE DATE  SENDER": a message's first line. */
static int head_line(PqtextReader *r, const char *p, const char *end) {
        QueueMessage m = { .queue = QUEUE_DEFERRED };
        const char *id = p, *why = NULL;
        int k;

        while (p < end && is_alnum(*p))
                p++;
        size_t id_len = (size_t) (p - id);
        if (id_len == 0 || id_len > 64) {
                why = _("not a queue id");
                goto bad;
        }
        if (p < end && (*p == '*' || *p == '!' || *p == '#')) {
                m.queue = *p == '*' ? QUEUE_ACTIVE : *p == '!' ? QUEUE_HOLD : QUEUE_DEFERRED;
                m.forced_expire = *p == '#';
                p++;
        } else if (p >= end || *p != ' ') {
                why = _("not a queue id");
                goto bad;
        }
        p = skip_spaces(p, end);
        const char *size_start = p;
        uint64_t size = 0;
        while (p < end && is_digit(*p) && p - size_start < 19)
                size = size * 10 + (uint64_t) (*p++ - '0');
        if (p == size_start || p >= end || *p != ' ') {
                why = _("no message size");
                goto bad;
        }
        m.message_size = size;
        p = skip_spaces(p, end);
        int64_t t = parse_date(r, &p, end);
        if (t < 0 || p >= end || *p != ' ') {
                why = _("no arrival time");
                goto bad;
        }
        m.arrival_time = t;
        p = skip_spaces(p, end);
        const char *sender = p;
        size_t sender_len = (size_t) (end - p);
        static const char drop[] = "(maildrop queue, sender UID ";
        if (sender_len >= sizeof(drop) - 1 && memcmp(sender, drop, sizeof(drop) - 1) == 0) {
                m.queue = QUEUE_MAILDROP;
                sender_len = 0;
        } else if (sender_len == 15 && memcmp(sender, "(MAILER-DAEMON)", 15) == 0) {
                sender++; /* older showq: the null sender in parentheses */
                sender_len -= 2;
        }
        m.queue_id = strndup(id, id_len);
        m.sender = strndup(sender, sender_len);
        if (!m.queue_id || !m.sender) {
                queue_message_done(&m);
                return -ENOMEM;
        }
        r->cur = m;
        r->have = true;
        return 0;
bad:
        r->bad = true;
        r->have = false;
        k = issue(r, why);
        return k;
}

static int one_line(PqtextReader *r, const char *line, size_t len) {
        const char *end = line + len, *p;
        int k;

        r->line++;
        while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (end == line)
                return flush(r); /* a blank line ends a message */
        if (line[0] == '-') {
                if ((k = flush(r)) < 0)
                        return k;
                if (len >= 10 && memcmp(line, "-Queue ID-", 10) == 0)
                        return 0;
                /* "-- 12 Kbytes in 3 Requests." */
                p = line + 2;
                if (len > 3 && line[1] == '-' && line[2] == ' ') {
                        p = skip_spaces(p, end);
                        if (digits(&p, end, 19) >= 0 && end - p > 11 && memcmp(p, " Kbytes in ", 11) == 0) {
                                p += 11;
                                const char *n = p;
                                uint64_t v = 0;
                                while (p < end && is_digit(*p) && p - n < 19)
                                        v = v * 10 + (uint64_t) (*p++ - '0');
                                if (p > n && p < end && *p == ' ') {
                                        r->trailer = true;
                                        r->requests = v;
                                        return 0;
                                }
                        }
                }
                return issue(r, _("not a line of postqueue -p"));
        }
        if ((size_t) (end - line) >= 19 && memcmp(line, "Mail queue is empty", 19) == 0) {
                if ((k = flush(r)) < 0)
                        return k;
                r->empty = true;
                return 0;
        }
        p = skip_spaces(line, end);
        if (*p == '(') {
                /* "(reason)" for the recipients that follow */
                if (r->bad)
                        return 0;
                if (!r->have)
                        return issue(r, _("a delay reason outside a message"));
                size_t n = (size_t) (end - p) - 1;
                if (n > 0 && end[-1] == ')')
                        n--;
                char *why = strndup(p + 1, n);
                if (!why)
                        return -ENOMEM;
                free(r->reason);
                r->reason = why;
                return 0;
        }
        if (p > line) {
                /* an indented recipient */
                if (r->bad)
                        return 0;
                if (!r->have)
                        return issue(r, _("a recipient outside a message"));
                char *addr = strndup(p, (size_t) (end - p));
                if (!addr)
                        return -ENOMEM;
                k = queue_message_add_recipient(&r->cur, addr, r->reason);
                free(addr);
                return k;
        }
        /* a new message (the blank line before it may be missing) */
        if ((k = flush(r)) < 0)
                return k;
        return head_line(r, line, end);
}

static int on_line(const char *line, size_t len, void *userdata) {
        return one_line(userdata, line, len);
}

static int too_long(void *userdata) {
        PqtextReader *r = userdata;
        r->line++;
        /* the message it belongs to cannot be read whole */
        r->bad = true;
        return issue(r, _("line too long"));
}

int pqtext_feed(PqtextReader *r, const char *data, size_t size) {
        return line_split_feed(&r->split, data, size, on_line, too_long, r);
}

int pqtext_finish(PqtextReader *r) {
        int k = line_split_finish(&r->split, on_line, r);
        if (k >= 0)
                k = flush(r);
        if (k >= 0 && r->trailer && r->requests != r->read) {
                char what[128];
                snprintf(what, sizeof(what), _("the listing counts %llu messages, %zu were read"),
                         (unsigned long long) r->requests, r->read);
                k = issue(r, what);
        }
        return k;
}
