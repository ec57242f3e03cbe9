/* The queue model: snapshot bookkeeping, summary, qshape view, reason masking, filters. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "macro.h"
#include "queue-model.h"

static const char *const queue_names[_QUEUE_MAX] = {
        [QUEUE_MAILDROP] = "maildrop",
        [QUEUE_INCOMING] = "incoming",
        [QUEUE_ACTIVE] = "active",
        [QUEUE_DEFERRED] = "deferred",
        [QUEUE_HOLD] = "hold",
        [QUEUE_CORRUPT] = "corrupt",
};

const char *queue_name_to_string(QueueName q) {
        return q >= 0 && q < _QUEUE_MAX ? queue_names[q] : NULL;
}

QueueName queue_name_from_string(const char *s) {
        for (int i = 0; i < _QUEUE_MAX; i++)
                if (s && streq(s, queue_names[i]))
                        return (QueueName) i;
        return _QUEUE_INVALID;
}

void queue_message_done(QueueMessage *m) {
        if (!m)
                return;
        free(m->queue_id);
        free(m->sender);
        for (size_t i = 0; i < m->n_recipients; i++) {
                free(m->recipients[i].address);
                free(m->recipients[i].delay_reason);
        }
        free(m->recipients);
        *m = (QueueMessage) {};
}

void queue_snapshot_done(QueueSnapshot *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                queue_message_done(&s->messages[i]);
        free(s->messages);
        for (size_t i = 0; i < s->n_issues; i++) {
                free(s->issues[i].where);
                free(s->issues[i].what);
        }
        free(s->issues);
        *s = (QueueSnapshot) {};
}

int queue_snapshot_add(QueueSnapshot *s, QueueMessage *m) {
        if (s->n == s->allocated) {
                size_t na = s->allocated ? s->allocated * 2 : 64;
                QueueMessage *p = reallocarray(s->messages, na, sizeof(*p));
                if (!p) {
                        queue_message_done(m);
                        return -ENOMEM;
                }
                s->messages = p;
                s->allocated = na;
        }
        m->seq = s->next_seq++;
        s->messages[s->n++] = *m;
        *m = (QueueMessage) {};
        return 0;
}

int queue_snapshot_issue(QueueSnapshot *s, const char *where, const char *fmt, ...) {
        va_list ap;
        char *what = NULL;

        s->n_issues_total++;
        if (s->n_issues >= QUEUE_MAX_ISSUES)
                return 0;
        if (!s->issues) {
                s->issues = calloc(QUEUE_MAX_ISSUES, sizeof(QueueIssue));
                if (!s->issues)
                        return -ENOMEM;
        }
        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        char *w = strdup(strempty(where));
        if (!what || !w) {
                free(what);
                free(w);
                return -ENOMEM;
        }
        s->issues[s->n_issues++] = (QueueIssue) { .where = w, .what = what };
        return 0;
}

static int cmp_id_seq(const void *a, const void *b) {
        const QueueMessage *x = a, *y = b;
        int c = strcmp(x->queue_id, y->queue_id);
        if (c)
                return c;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_display(const void *a, const void *b) {
        const QueueMessage *x = a, *y = b;
        if (x->queue != y->queue)
                return x->queue < y->queue ? -1 : 1;
        if (x->arrival_time != y->arrival_time)
                return x->arrival_time < y->arrival_time ? -1 : 1;
        return strcmp(x->queue_id, y->queue_id);
}

int queue_snapshot_finish(QueueSnapshot *s) {
        size_t j = 0;

        if (s->n == 0)
                return 0;
        qsort(s->messages, s->n, sizeof(QueueMessage), cmp_id_seq);
        for (size_t i = 0; i < s->n; i++) {
                if (i + 1 < s->n && streq(s->messages[i].queue_id, s->messages[i + 1].queue_id)) {
                        queue_message_done(&s->messages[i]); /* a later copy follows */
                        continue;
                }
                s->messages[j++] = s->messages[i];
        }
        s->n = j;
        qsort(s->messages, s->n, sizeof(QueueMessage), cmp_display);
        return 0;
}

int queue_message_add_recipient(QueueMessage *m, const char *address, const char *reason) {
        if (m->n_recipients == m->allocated_recipients) {
                size_t na = m->allocated_recipients ? m->allocated_recipients * 2 : 2;
                QueueRecipient *p = reallocarray(m->recipients, na, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                m->recipients = p;
                m->allocated_recipients = na;
        }
        QueueRecipient *r = &m->recipients[m->n_recipients];
        *r = (QueueRecipient) {};
        r->address = strdup(strempty(address));
        if (reason && *reason)
                r->delay_reason = strdup(reason);
        if (!r->address || (reason && *reason && !r->delay_reason)) {
                free(r->address);
                free(r->delay_reason);
                return -ENOMEM;
        }
        m->n_recipients++;
        return 0;
}

const char *address_domain(const char *address, char *buf, size_t size) {
        const char *at = strrchr(address, '@');
        size_t i = 0;

        if (size == 0)
                return "";
        if (at)
                for (const char *p = at + 1; *p && i + 1 < size; p++)
                        buf[i++] = (char) tolower((unsigned char) *p);
        buf[i] = 0;
        return buf;
}

/* --- a small string -> count map (open addressing, FNV-1a) --- */

typedef struct CountMap {
        QueueCount *slots;
        size_t size, used;
} CountMap;

static uint64_t hash_str(const char *s) {
        uint64_t h = UINT64_C(1469598103934665603);
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

static void countmap_done(CountMap *m) {
        for (size_t i = 0; i < m->size; i++) {
                free(m->slots[i].key);
                free(m->slots[i].example);
        }
        free(m->slots);
        *m = (CountMap) {};
}

static int countmap_grow(CountMap *m) {
        size_t ns = m->size ? m->size * 2 : 64;
        QueueCount *n = calloc(ns, sizeof(QueueCount));
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < m->size; i++) {
                if (!m->slots[i].key)
                        continue;
                size_t k = hash_str(m->slots[i].key) & (ns - 1);
                while (n[k].key)
                        k = (k + 1) & (ns - 1);
                n[k] = m->slots[i];
        }
        free(m->slots);
        m->slots = n;
        m->size = ns;
        return 0;
}

/* Returns the entry for key (created with count 0), or NULL on ENOMEM. */
static QueueCount *countmap_get(CountMap *m, const char *key) {
        if ((m->used + 1) * 2 > m->size && countmap_grow(m) < 0)
                return NULL;
        size_t k = hash_str(key) & (m->size - 1);
        while (m->slots[k].key) {
                if (streq(m->slots[k].key, key))
                        return &m->slots[k];
                k = (k + 1) & (m->size - 1);
        }
        m->slots[k].key = strdup(key);
        if (!m->slots[k].key)
                return NULL;
        m->used++;
        return &m->slots[k];
}

static int cmp_count(const void *a, const void *b) {
        const QueueCount *x = a, *y = b;
        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return strcmp(x->key, y->key);
}

/* Moves the entries into a sorted array; the map is left empty. */
static int countmap_take_sorted(CountMap *m, QueueCount **ret, size_t *ret_n) {
        QueueCount *v = calloc(m->used ? m->used : 1, sizeof(QueueCount));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < m->size; i++)
                if (m->slots[i].key)
                        v[n++] = m->slots[i];
        free(m->slots);
        *m = (CountMap) {};
        qsort(v, n, sizeof(QueueCount), cmp_count);
        *ret = v;
        *ret_n = n;
        return 0;
}

static void counts_free(QueueCount *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].key);
                free(v[i].example);
        }
        free(v);
}

/* --- reasons --- */

static bool is_queue_id(const char *s, size_t n) {
        /* short ids: hex, 6+ characters, with a digit; long ids: base-52ish with a 'z' */
        bool digit = false, upper_hex = true;
        if (n < 6)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (isdigit(c))
                        digit = true;
                else if (!(c >= 'A' && c <= 'F'))
                        upper_hex = false;
        }
        if (upper_hex && digit)
                return true;
        /* long queue id: 10 characters of time in base 52 ([0-9A-Za-y]), 'z', the inode */
        if (n >= 12 && s[10] == 'z') {
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char) s[i]) || (i < 10 && s[i] == 'z'))
                                return false;
                return true;
        }
        return false;
}

#define REASON_SEPARATORS " \t<>()[],;:\"'="

char *queue_reason_normalise(const char *reason) {
        size_t len = strlen(reason);
        /* the longest replacement ("ADDRESS", "QUEUEID") is 7 bytes for a token of 1+ bytes */
        char *out = malloc(len * 7 + 1), *o = out;

        if (!out)
                return NULL;
        for (const char *p = reason; *p;) {
                size_t sep = strspn(p, REASON_SEPARATORS);
                memcpy(o, p, sep);
                o += sep;
                p += sep;
                size_t n = strcspn(p, REASON_SEPARATORS);
                if (n == 0)
                        continue;
                if (memchr(p, '@', n)) {
                        memcpy(o, "ADDRESS", 7);
                        o += 7;
                } else if (is_queue_id(p, n)) {
                        memcpy(o, "QUEUEID", 7);
                        o += 7;
                } else {
                        for (size_t i = 0; i < n;) {
                                if (isdigit((unsigned char) p[i])) {
                                        *o++ = 'N';
                                        while (i < n && isdigit((unsigned char) p[i]))
                                                i++;
                                } else
                                        *o++ = p[i++];
                        }
                }
                p += n;
        }
        *o = 0;
        return out;
}

/* --- summary --- */

void queue_summary_done(QueueSummary *sum) {
        if (!sum)
                return;
        counts_free(sum->domains, sum->n_domains);
        counts_free(sum->senders, sum->n_senders);
        counts_free(sum->sender_domains, sum->n_sender_domains);
        counts_free(sum->reasons, sum->n_reasons);
        *sum = (QueueSummary) {};
}

int queue_summary_build(const QueueSnapshot *s, QueueSummary *ret) {
        CountMap domains = {}, senders = {}, sdomains = {}, reasons = {};
        QueueSummary sum = {};
        char buf[256];
        int r = -ENOMEM;

        for (size_t i = 0; i < s->n; i++) {
                const QueueMessage *m = &s->messages[i];
                QueueCount *c;

                sum.total++;
                sum.bytes += m->message_size;
                if (m->queue >= 0 && m->queue < _QUEUE_MAX) {
                        sum.queues[m->queue].count++;
                        sum.queues[m->queue].bytes += m->message_size;
                        if (!sum.queues[m->queue].oldest_arrival ||
                            m->arrival_time < sum.queues[m->queue].oldest_arrival)
                                sum.queues[m->queue].oldest_arrival = m->arrival_time;
                }
                if (!sum.oldest || m->arrival_time < sum.oldest->arrival_time)
                        sum.oldest = m;

                const char *sender = *m->sender ? m->sender : "MAILER-DAEMON";
                if (!(c = countmap_get(&senders, sender)))
                        goto fail;
                c->count++;
                /* the null sender ("", or MAILER-DAEMON as postqueue writes it) has no domain */
                bool null_sender = !*m->sender || streq(m->sender, "MAILER-DAEMON");
                if (!(c = countmap_get(&sdomains, null_sender ? "MAILER-DAEMON" : address_domain(m->sender, buf, sizeof(buf)))))
                        goto fail;
                c->count++;

                for (size_t k = 0; k < m->n_recipients; k++) {
                        const char *d = address_domain(m->recipients[k].address, buf, sizeof(buf));
                        bool seen = false;
                        char other[256];

                        /* a message counts once per domain */
                        for (size_t j = 0; j < k && !seen; j++)
                                seen = streq(address_domain(m->recipients[j].address, other, sizeof(other)), d);
                        if (!seen) {
                                if (!(c = countmap_get(&domains, d)))
                                        goto fail;
                                c->count++;
                        }
                        if (m->recipients[k].delay_reason) {
                                _cleanup_free_ char *norm = queue_reason_normalise(m->recipients[k].delay_reason);
                                if (!norm || !(c = countmap_get(&reasons, norm)))
                                        goto fail;
                                c->count++;
                                if (!c->example && !(c->example = strdup(m->recipients[k].delay_reason)))
                                        goto fail;
                        }
                }
        }
        if (sum.oldest)
                sum.oldest_arrival = sum.oldest->arrival_time;
        if ((r = countmap_take_sorted(&domains, &sum.domains, &sum.n_domains)) < 0 ||
            (r = countmap_take_sorted(&senders, &sum.senders, &sum.n_senders)) < 0 ||
            (r = countmap_take_sorted(&sdomains, &sum.sender_domains, &sum.n_sender_domains)) < 0 ||
            (r = countmap_take_sorted(&reasons, &sum.reasons, &sum.n_reasons)) < 0)
                goto fail;
        *ret = sum;
        return 0;
fail:
        countmap_done(&domains);
        countmap_done(&senders);
        countmap_done(&sdomains);
        countmap_done(&reasons);
        queue_summary_done(&sum);
        return r;
}

/* --- qshape --- */

void qshape_options_init(QshapeOptions *o, int64_t now) {
        *o = (QshapeOptions) {
                .min_subdomains = 5,
                .tick_minutes = 5,
                .n_buckets = 10,
                .now = now,
        };
}

void qshape_done(Qshape *q) {
        if (!q)
                return;
        for (size_t i = 0; i < q->n_rows; i++)
                free(q->rows[i].domain);
        free(q->rows);
        *q = (Qshape) {};
}

/* qshape.pl's bucket(): index 0 is [0, tick) minutes; doubling (or linear) after that;
 * the last bucket is open. Returns 0..n_buckets-1. */
static unsigned qshape_bucket(const QshapeOptions *o, int64_t arrival) {
        double m = (double) (o->now - arrival) / (60.0 * o->tick_minutes);
        long b;

        if (m < 1)
                return 0;
        b = o->linear ? (long) (m + 1) : 2 + (long) (log(m) / log(2));
        if (b > (long) o->n_buckets)
                b = (long) o->n_buckets;
        return (unsigned) (b - 1);
}

/* qshape.pl's domain of an address: lower-cased, after the last '@', ".." squeezed, one
 * leading and one trailing dot dropped; the null address is MAILER-DAEMON. */
static void qshape_domain(const char *address, char *buf, size_t size) {
        const char *at = strrchr(address, '@');
        const char *p = at ? at + 1 : address;
        size_t n = 0;

        /* showq (and so postqueue -j) already says MAILER-DAEMON for the null address */
        if (!*address || streq(address, "MAILER-DAEMON")) {
                snprintf(buf, size, "MAILER-DAEMON");
                return;
        }
        for (; *p && n + 1 < size; p++) {
                char c = (char) tolower((unsigned char) *p);
                if (c == '.' && n > 0 && buf[n - 1] == '.')
                        continue;
                buf[n++] = c;
        }
        buf[n] = 0;
        /* s/\.?(.+?)\.?$/$1/: needs at least one character between the dots */
        if (n >= 2 && buf[0] == '.') {
                memmove(buf, buf + 1, n);
                n--;
        }
        if (n >= 2 && buf[n - 1] == '.')
                buf[--n] = 0;
}

typedef struct ShapeEntry {
        uint64_t counts[QSHAPE_MAX_BUCKETS + 1]; /* [0] = total */
        uint64_t subdomains;
} ShapeEntry;

/* Parent of ".a.b.c" or "a.b.c" as qshape's s/^(?:\.)?[^.]+\.(.*\.)/.$1/: drop the first
 * label while at least two labels remain after it. Returns false when there is none. */
static bool qshape_parent(char *d) {
        char *p = d[0] == '.' ? d + 1 : d;
        char *dot = strchr(p, '.');
        if (!dot || !dot[1] || !strchr(dot + 1, '.'))
                return false;
        memmove(d + 1, dot + 1, strlen(dot + 1) + 1);
        d[0] = '.';
        return true;
}

typedef struct ShapeMap {
        CountMap keys;        /* key -> index into entries (stored in count) */
        ShapeEntry *entries;
        size_t n, allocated;
} ShapeMap;

static ShapeEntry *shapemap_get(ShapeMap *m, const char *key, bool *ret_new) {
        QueueCount *c = countmap_get(&m->keys, key);
        if (!c)
                return NULL;
        if (c->count == 0) {
                if (m->n == m->allocated) {
                        size_t na = m->allocated ? m->allocated * 2 : 64;
                        ShapeEntry *p = reallocarray(m->entries, na, sizeof(*p));
                        if (!p)
                                return NULL;
                        m->entries = p;
                        m->allocated = na;
                }
                m->entries[m->n] = (ShapeEntry) {};
                c->count = ++m->n; /* index + 1 */
                *ret_new = true;
        } else
                *ret_new = false;
        return &m->entries[c->count - 1];
}

static int cmp_rows(const void *a, const void *b) {
        const QshapeRow *x = a, *y = b;
        bool tx = streq(x->domain, "TOTAL"), ty = streq(y->domain, "TOTAL");
        if (tx != ty)
                return tx ? -1 : 1;
        if (x->total != y->total)
                return x->total > y->total ? -1 : 1;
        size_t lx = strlen(x->domain), ly = strlen(y->domain);
        if (lx != ly)
                return lx < ly ? -1 : 1;
        return strcmp(x->domain, y->domain);
}

int qshape_build(const QueueSnapshot *s, const QshapeOptions *o, Qshape *ret) {
        ShapeMap map = {};
        Qshape q = {};
        uint32_t queues = o->queues ? o->queues : ((1u << _QUEUE_MAX) - 1) & ~(1u << QUEUE_CORRUPT);
        unsigned nb = o->n_buckets;
        int r = -ENOMEM;

        if (nb < 1 || nb > QSHAPE_MAX_BUCKETS || o->tick_minutes < 1)
                return -EINVAL;
        q.n_buckets = nb;
        for (unsigned i = 0, t = o->tick_minutes; i < nb; i++) {
                q.limits[i] = t;
                if (i + 2 < nb)
                        t = o->linear ? t + o->tick_minutes : t * 2;
        }

        ShapeEntry total = {};
        for (size_t i = 0; i < s->n; i++) {
                const QueueMessage *m = &s->messages[i];
                if (m->queue < 0 || !(queues & (1u << m->queue)))
                        continue;
                if (m->n_recipients == 0)
                        continue; /* qshape skips a message with no recipient left */
                unsigned b = qshape_bucket(o, m->arrival_time);
                size_t n_addr = o->sender ? 1 : m->n_recipients;
                for (size_t k = 0; k < n_addr; k++) {
                        char d[512];
                        bool is_new = false;

                        qshape_domain(o->sender ? m->sender : m->recipients[k].address, d, sizeof(d));
                        total.counts[0]++;
                        total.counts[b + 1]++;
                        for (;;) {
                                bool child_new = is_new;
                                ShapeEntry *e = shapemap_get(&map, d, &is_new);
                                if (!e)
                                        goto fail;
                                e->counts[0]++;
                                e->counts[b + 1]++;
                                if (child_new)
                                        e->subdomains++;
                                if (!o->parent || !qshape_parent(d))
                                        break;
                        }
                }
        }

        q.rows = calloc(map.n + 1, sizeof(QshapeRow));
        if (!q.rows)
                goto fail;
        q.rows[0].domain = strdup("TOTAL");
        if (!q.rows[0].domain)
                goto fail;
        q.rows[0].total = total.counts[0];
        memcpy(q.rows[0].counts, total.counts + 1, nb * sizeof(uint64_t));
        q.n_rows = 1;
        for (size_t i = 0; i < map.keys.size; i++) {
                const QueueCount *c = &map.keys.slots[i];
                if (!c->key)
                        continue;
                const ShapeEntry *e = &map.entries[c->count - 1];
                if (c->key[0] == '.' && e->subdomains < o->min_subdomains)
                        continue;
                QshapeRow *row = &q.rows[q.n_rows];
                row->domain = strdup(c->key);
                if (!row->domain)
                        goto fail;
                row->total = e->counts[0];
                memcpy(row->counts, e->counts + 1, nb * sizeof(uint64_t));
                q.n_rows++;
        }
        qsort(q.rows, q.n_rows, sizeof(QshapeRow), cmp_rows);
        countmap_done(&map.keys);
        free(map.entries);
        *ret = q;
        return 0;
fail:
        countmap_done(&map.keys);
        free(map.entries);
        qshape_done(&q);
        return r;
}

/* --- filters --- */

bool queue_filter_is_empty(const QueueFilter *f) {
        return !f->queues && !f->domain && !f->sender && !f->recipient && f->older_than_s <= 0 &&
               !f->has_reason;
}

static bool domain_matches(const char *want, const char *domain) {
        if (want[0] == '.') {
                /* ".example.com": example.com and every subdomain */
                size_t lw = strlen(want), ld = strlen(domain);
                if (strcasecmp(want + 1, domain) == 0)
                        return true;
                return ld > lw && strcasecmp(domain + ld - lw, want) == 0;
        }
        return strcasecmp(want, domain) == 0;
}

bool queue_filter_match(const QueueFilter *f, const QueueMessage *m) {
        char buf[256];

        if (f->queues && (m->queue < 0 || !(f->queues & (1u << m->queue))))
                return false;
        if (f->older_than_s > 0 && f->now - m->arrival_time < f->older_than_s)
                return false;
        if (f->sender) {
                if (f->sender[0] == '@') {
                        if (!*m->sender || !domain_matches(f->sender + 1, address_domain(m->sender, buf, sizeof(buf))))
                                return false;
                } else if (strcasecmp(f->sender, m->sender) != 0 &&
                           !(streq(f->sender, "MAILER-DAEMON") && !*m->sender))
                        return false;
        }
        if (f->domain || f->recipient || f->has_reason) {
                bool dom = !f->domain, rcpt = !f->recipient, why = !f->has_reason;
                for (size_t i = 0; i < m->n_recipients; i++) {
                        const QueueRecipient *r = &m->recipients[i];
                        if (!dom)
                                dom = domain_matches(f->domain, address_domain(r->address, buf, sizeof(buf)));
                        if (!rcpt)
                                rcpt = strcasecmp(f->recipient, r->address) == 0;
                        if (!why)
                                why = r->delay_reason && regexec(&f->reason, r->delay_reason, 0, NULL, 0) == 0;
                }
                if (!dom || !rcpt || !why)
                        return false;
        }
        return true;
}

int parse_duration(const char *s, int64_t *ret_seconds) {
        static const struct {
                const char *suffix;
                int64_t factor;
        } units[] = {
                { "", 1 }, { "s", 1 }, { "m", 60 }, { "min", 60 }, { "h", 3600 }, { "d", 86400 }, { "w", 604800 },
        };
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || v > (unsigned long long) INT64_MAX / 604800)
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(end, units[i].suffix)) {
                        *ret_seconds = (int64_t) v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}
