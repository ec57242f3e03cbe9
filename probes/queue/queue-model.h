/* The mail queue as data: messages, a summary, the qshape view and filters. No I/O here:
 * sources (queue files, postqueue -j, a saved dump) fill a QueueSnapshot. */
#pragma once

#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum QueueName {
        QUEUE_MAILDROP,
        QUEUE_INCOMING,
        QUEUE_ACTIVE,
        QUEUE_DEFERRED,
        QUEUE_HOLD,
        QUEUE_CORRUPT,
        _QUEUE_MAX,
        _QUEUE_INVALID = -EINVAL,
} QueueName;

const char *queue_name_to_string(QueueName q);
QueueName queue_name_from_string(const char *s);

typedef struct QueueRecipient {
        char *address;
        char *delay_reason; /* NULL when none */
} QueueRecipient;

typedef struct QueueMessage {
        char *queue_id;
        QueueName queue;
        int64_t arrival_time;   /* seconds since the epoch */
        uint64_t message_size;
        bool forced_expire;
        char *sender;           /* "" for the null sender (postqueue says MAILER-DAEMON) */
        QueueRecipient *recipients;
        size_t n_recipients, allocated_recipients;
        size_t seq;             /* order of arrival in the snapshot (repeats: last wins) */
} QueueMessage;

/* A problem met while reading (a malformed line, an unreadable file): reported, never fatal. */
typedef struct QueueIssue {
        char *where;  /* "FILE:LINE" or a queue file path */
        char *what;
} QueueIssue;

#define QUEUE_MAX_ISSUES 100  /* kept; the rest are only counted */

typedef struct QueueSnapshot {
        QueueMessage *messages;
        size_t n, allocated;
        size_t next_seq;
        /* corrupt/ holds files Postfix could not read: counted, never parsed. */
        uint64_t corrupt_count, corrupt_bytes;
        QueueIssue *issues;
        size_t n_issues, n_issues_total;
} QueueSnapshot;

void queue_message_done(QueueMessage *m);
void queue_snapshot_done(QueueSnapshot *s);

/* Takes over *m (it is left zeroed). Returns 0 or -ENOMEM (then *m is released). */
int queue_snapshot_add(QueueSnapshot *s, QueueMessage *m);
/* Records a problem (copied; kept up to QUEUE_MAX_ISSUES). */
int queue_snapshot_issue(QueueSnapshot *s, const char *where, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Drops repeated ids (a listing taken while the queue changes can show a message twice:
 * the last one wins) and sorts: queue order, then arrival time, then id. */
int queue_snapshot_finish(QueueSnapshot *s);

/* Adds a recipient to m (strings copied; reason may be NULL or ""). */
int queue_message_add_recipient(QueueMessage *m, const char *address, const char *reason);

/* The domain part of an address, lower-cased into buf (bounded); "" has none. */
const char *address_domain(const char *address, char *buf, size_t size);

/* --- summary --- */

typedef struct QueueCount {
        char *key;
        uint64_t count;
        char *example;  /* reasons: one original text */
} QueueCount;

typedef struct QueueSummary {
        uint64_t total, bytes;
        int64_t oldest_arrival;  /* 0 when the queue is empty */
        const QueueMessage *oldest;
        struct {
                uint64_t count, bytes;
                int64_t oldest_arrival;
        } queues[_QUEUE_MAX];
        /* Busiest first (ties: alphabetical). Domains count messages with at least one
         * recipient there; senders and sender domains count messages; reasons count
         * recipients. */
        QueueCount *domains, *senders, *sender_domains, *reasons;
        size_t n_domains, n_senders, n_sender_domains, n_reasons;
} QueueSummary;

int queue_summary_build(const QueueSnapshot *s, QueueSummary *ret);
void queue_summary_done(QueueSummary *sum);

/* Masks what varies between otherwise equal reasons: queue ids -> "QUEUEID", words with
 * '@' -> "ADDRESS", digit runs -> "N". Returns a new string or NULL (ENOMEM). */
char *queue_reason_normalise(const char *reason);

/* --- the qshape view --- */

#define QSHAPE_MAX_BUCKETS 64

typedef struct QshapeOptions {
        bool sender;          /* rows by sender domain instead of recipient domain */
        bool parent;          /* also rows for parent domains (".example.com") */
        unsigned min_subdomains; /* parent rows shown with at least this many (default 5) */
        bool linear;          /* buckets tick, 2*tick, 3*tick... instead of doubling */
        unsigned tick_minutes;   /* default 5 */
        unsigned n_buckets;      /* default 10 */
        uint32_t queues;      /* bit set of QueueName; 0 = all but corrupt */
        int64_t now;          /* reference time */
} QshapeOptions;

void qshape_options_init(QshapeOptions *o, int64_t now);

typedef struct QshapeRow {
        char *domain;        /* "TOTAL" first */
        uint64_t total;
        uint64_t counts[QSHAPE_MAX_BUCKETS];
} QshapeRow;

typedef struct Qshape {
        unsigned n_buckets;
        unsigned limits[QSHAPE_MAX_BUCKETS]; /* upper edge of each bucket in minutes; the
                                                 last is open ("N+") */
        QshapeRow *rows;
        size_t n_rows;
} Qshape;

int qshape_build(const QueueSnapshot *s, const QshapeOptions *o, Qshape *ret);
void qshape_done(Qshape *q);

/* --- filters (list and actions) --- */

typedef struct QueueFilter {
        uint32_t queues;       /* bit set; 0 = any */
        const char *domain;    /* a recipient at this domain (or a subdomain with a leading '.') */
        const char *sender;    /* exact address, or "@domain" for any sender there */
        const char *recipient; /* exact address */
        int64_t older_than_s;  /* > 0: arrived at least this long before now */
        int64_t now;
        bool has_reason;
        regex_t reason;        /* extended, case-insensitive, on delay reasons */
} QueueFilter;

/* True when the filter selects nothing at all (no criterion given). */
bool queue_filter_is_empty(const QueueFilter *f);
bool queue_filter_match(const QueueFilter *f, const QueueMessage *m);

/* "90s", "30m", "2h", "3d", "1w" (a bare number is seconds). */
int parse_duration(const char *s, int64_t *ret_seconds);
