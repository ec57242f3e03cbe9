/* Statistics over mail log events: pflogsumm's Grand Totals (same counting rules), the
 * per-hour table, top domains and reasons, authentication failures, logins. Memory grows
 * with distinct addresses and domains only; the in-flight queue-id table is bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logline.h"

/* A string -> counters map: an open-addressing index over a dense array of entries in
 * insertion order, strings in an arena. An entry pointer stays valid until the next
 * log_map_get on the same map. */
typedef struct LogMapEntry {
        uint64_t hash;
        uint32_t chunk, off, len; /* where the key lives in the arena */
        uint64_t v[3];
} LogMapEntry;

typedef struct LogMap {
        uint64_t *index;          /* 0 = empty, else hash's top half | entry number + 1 */
        size_t n_index;
        LogMapEntry *entries;     /* n used of n_alloc */
        size_t n, n_alloc;
        char **chunks;
        size_t n_chunks, chunk_used;
        size_t max_entries; /* 0 = unbounded; else further keys go to `dropped` */
        uint64_t dropped;
} LogMap;

void log_map_done(LogMap *m);
/* Finds or adds key (lowercased from the first '@' on when fold_domain); NULL on ENOMEM
 * or when the map is full. *ret_new tells whether it was added. */
LogMapEntry *log_map_get(LogMap *m, const char *key, size_t len, bool fold_domain, bool *ret_new);
LogMapEntry *log_map_find(const LogMap *m, const char *key, size_t len, bool fold);
const char *log_map_key(const LogMap *m, const LogMapEntry *e);
/* How many entries have v[index] > 0. */
size_t log_map_count(const LogMap *m, unsigned index);
/* The n biggest entries by v[index] (ties by key), into ret (caller's array of n). */
size_t log_map_top(const LogMap *m, unsigned index, LogMapEntry **ret, size_t n);

/* In-flight messages: what a queue id carries between its lines. 32 bytes, two to a
 * cache line: the table is looked up several times per message at random places. */
typedef struct LogMessage {
        uint64_t key[2];     /* the queue id packed (log_qid_pack); {0, 0}: a free slot */
        uint64_t size : 56;  /* saturates (2^56 bytes) */
        uint64_t has_size : 1;      /* pflogsumm's msgSizes{qid} */
        uint64_t received : 1;      /* pflogsumm's rcvdMsg{qid}: smtpd client= or pickup seen */
        uint64_t pickup : 1;
        uint64_t deferred_once : 1; /* pflogsumm's msgDfrdFlgs{qid} */
        uint32_t seq;        /* insertion order (low 32 bits), for eviction */
        uint32_t client_domain; /* gimme_domain(client), for senders without a domain: its
                                 * entry number + 1 in LogStats.client_domains; 0: none */
} LogMessage;

#define LOG_INFLIGHT_MAX 65536u
/* Queue ids (and pflogsumm's other first words) the table can hold: up to this many
 * letters, digits and '_' (Postfix's ids are shorter: 10-12 short, 12-17 long). Other
 * words are not followed from line to line. */
#define LOG_QID_PACK_MAX 20u

/* Packs qid into key (6 bits a byte, bijective: different words, different keys).
 * Returns false when it does not fit (see LOG_QID_PACK_MAX). */
bool log_qid_pack(const char *qid, size_t n, uint64_t key[2]);

typedef struct LogInflight {
        LogMessage *slots;   /* open addressing by the key's hash, at most half full */
        size_t n_slots, n;
        uint64_t seq, evicted;
} LogInflight;

/* Whether the message with this queue id is in flight (for tests). */
bool log_inflight_contains(const LogInflight *f, const char *qid, size_t n);

enum {
        LOG_HOUR_RECEIVED,
        LOG_HOUR_DELIVERED,
        LOG_HOUR_DEFERRED,
        LOG_HOUR_BOUNCED,
        LOG_HOUR_REJECTED,
        _LOG_HOUR_MAX,
};

typedef struct LogStats {
        /* pflogsumm's Grand Totals */
        uint64_t received, delivered, forwarded, deferred, deferrals, bounced, rejected, reject_warnings, held,
                discarded, bytes_received, bytes_delivered;
        LogMap senders;            /* v[0] messages, v[1] bytes */
        LogMap sending_domains;    /* v[0] messages, v[1] bytes */
        LogMap recipients;         /* v[0] messages, v[1] bytes */
        LogMap recipient_domains;  /* v[0] delivered, v[1] bytes, v[2] deferrals */
        uint64_t per_hour[24][_LOG_HOUR_MAX];
        unsigned days;             /* pflogsumm's day count: day changes seen */
        int last_day;

        /* Beyond pflogsumm */
        LogMap reject_reasons;     /* "class: reason" -> v[0] */
        LogMap deferral_reasons;
        LogMap bounce_reasons;
        LogMap sasl_failures;      /* Postfix SASL failures by client IP: v[0] */
        LogMap login_failures;     /* Dovecot failed logins by remote IP */
        LogMap logins;             /* Dovecot logins by user: v[0] logins, v[1] with TLS */
        LogMap warnings;           /* warning/fatal/panic text: v[0] count, v[1] 0/1/2 = warning/fatal/panic */
        uint64_t sasl_failure_count, login_count, login_failure_count, lmtp_saved, dkim_signed, dkim_other;
        uint64_t warning_count, fatal_count, panic_count;
        uint64_t lines, unparsed, other, mail_lines;
        uint64_t suppressed, suppressed_notices; /* journald rate limiting */
        int64_t first_usec, last_usec;

        LogInflight inflight;
        LogMap client_domains;     /* interned client domains of messages in flight */
} LogStats;

int log_stats_init(LogStats *s);
void log_stats_done(LogStats *s);
/* Adds one event; returns 0 or -ENOMEM. */
int log_stats_add(LogStats *s, const LogEvent *ev);

/* pflogsumm's rejected percentage: rejected / (delivered + rejected + discarded), floored. */
unsigned log_stats_rejected_percent(const LogStats *s);
unsigned log_stats_discarded_percent(const LogStats *s);

/* pflogsumm's gimme_domain(): the domain of a "host[ip]" client (exposed for tests). */
size_t log_client_domain(const char *client, size_t len, char *buf, size_t size);
