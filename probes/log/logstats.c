/* Statistics over mail log events, counted by pflogsumm 1.1.5's rules (see the comments
 * naming its variables), with hash maps over an arena: no allocation per line once the
 * distinct keys are known. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logstats.h"
#include "macro.h"

#define ARENA_CHUNK (256u * 1024u)

/* ---- LogMap ---- */

static inline char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
}

/* Eight bytes at a time (keys are addresses and domains: 10 to 40 bytes), then a final
 * mix; never 0 (0 marks an empty index slot). */
static uint64_t hash_bytes(const char *p, size_t n) {
        const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
        uint64_t h = (uint64_t) n * k;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                h = (h ^ w) * k;
                h ^= h >> 31;
        }
        if (i < n) {
                uint64_t w = 0;
                memcpy(&w, p + i, n - i);
                h = (h ^ w) * k;
        }
        h ^= h >> 29;
        h *= UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 32;
        return h ? h : 1;
}

/* ASCII upper case to lower case in eight bytes at once, other bytes (UTF-8 too) as
 * they are. */
static inline uint64_t lower8(uint64_t x) {
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones * 0x80;
        uint64_t low7 = x & ~highs;
        uint64_t ge_a = low7 + ones * (0x80 - 'A'); /* high bit: byte >= 'A' */
        uint64_t gt_z = low7 + ones * (0x7f - 'Z'); /* high bit: byte > 'Z' */
        uint64_t upper = (ge_a ^ gt_z) & ~x & highs;
        return x | (upper >> 2);                    /* 0x80 >> 2 = 0x20 */
}

static uint64_t hash_key(const char *p, size_t n, bool fold, size_t at) {
        if (!fold || at >= n)
                return hash_bytes(p, n);
        char buf[4096];
        n = MIN(n, sizeof(buf));
        memcpy(buf, p, n);
        size_t i = at;
        for (; i + 8 <= n; i += 8) {
                uint64_t w;
                memcpy(&w, buf + i, 8);
                w = lower8(w);
                memcpy(buf + i, &w, 8);
        }
        for (; i < n; i++)
                buf[i] = lower(buf[i]);
        return hash_bytes(buf, n);
}

void log_map_done(LogMap *m) {
        for (size_t i = 0; i < m->n_chunks; i++)
                free(m->chunks[i]);
        free(m->chunks);
        free(m->index);
        free(m->entries);
        *m = (LogMap) {};
}

const char *log_map_key(const LogMap *m, const LogMapEntry *e) {
        return m->chunks[e->chunk] + e->off;
}

/* The index holds (hash's top 32 bits << 32 | entry number + 1): a lookup compares the
 * hash there and touches an entry only on a likely match. */
#define SLOT(h, i) (((h) & UINT64_C(0xffffffff00000000)) | (uint64_t) ((i) + 1))

static int map_grow(LogMap *m) {
        size_t ns = m->n_index ? m->n_index * 2 : 256;
        uint64_t *x = calloc(ns, sizeof(uint64_t));
        if (!x)
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++) {
                uint64_t h = m->entries[i].hash;
                size_t j = h & (ns - 1);
                while (x[j])
                        j = (j + 1) & (ns - 1);
                x[j] = SLOT(h, i);
        }
        free(m->index);
        m->index = x;
        m->n_index = ns;
        return 0;
}

static char *arena_put(LogMap *m, const char *p, size_t n, bool fold, size_t at, uint32_t *ret_chunk,
                       uint32_t *ret_off) {
        if (n + 1 > ARENA_CHUNK)
                return NULL;
        if (m->n_chunks == 0 || m->chunk_used + n + 1 > ARENA_CHUNK) {
                char **c = realloc(m->chunks, (m->n_chunks + 1) * sizeof(char *));
                if (!c)
                        return NULL;
                m->chunks = c;
                c[m->n_chunks] = malloc(ARENA_CHUNK);
                if (!c[m->n_chunks])
                        return NULL;
                m->n_chunks++;
                m->chunk_used = 0;
        }
        char *d = m->chunks[m->n_chunks - 1] + m->chunk_used;
        if (fold && at < n) {
                memcpy(d, p, at);
                for (size_t i = at; i < n; i++)
                        d[i] = lower(p[i]);
        } else if (n)
                memcpy(d, p, n);
        d[n] = 0;
        *ret_chunk = (uint32_t) (m->n_chunks - 1);
        *ret_off = (uint32_t) m->chunk_used;
        m->chunk_used += n + 1;
        return d;
}

static bool key_equal(const char *k, const char *key, size_t len, bool fold, size_t at) {
        if (!fold || at >= len)
                return memcmp(k, key, len) == 0;
        if (memcmp(k, key, at) != 0)
                return false;
        size_t j = at;
        for (; j + 8 <= len; j += 8) {
                uint64_t a, b;
                memcpy(&a, k + j, 8);
                memcpy(&b, key + j, 8);
                if (a != lower8(b))
                        return false;
        }
        for (; j < len; j++)
                if (k[j] != lower(key[j]))
                        return false;
        return true;
}

static LogMapEntry *map_lookup(LogMap *m, const char *key, size_t len, bool fold, bool insert, bool *ret_new) {
        size_t at = len;
        if (len > 4096)
                len = 4096; /* a bounded key */
        if (fold) {
                const char *a = len ? memchr(key, '@', len) : NULL;
                at = a ? (size_t) (a - key) : len;
        }
        uint64_t h = hash_key(key, len, fold, at);
        if (m->n_index == 0 && (!insert || map_grow(m) < 0))
                return NULL;
        size_t i = h & (m->n_index - 1);
        for (;;) {
                uint64_t x = m->index[i];
                if (x == 0)
                        break;
                if ((x ^ h) >> 32 == 0) {
                        LogMapEntry *e = &m->entries[(uint32_t) x - 1];
                        if (e->hash == h && e->len == len && key_equal(m->chunks[e->chunk] + e->off, key, len, fold, at)) {
                                if (ret_new)
                                        *ret_new = false;
                                return e;
                        }
                }
                i = (i + 1) & (m->n_index - 1);
        }
        if (!insert)
                return NULL;
        if (m->max_entries && m->n >= m->max_entries) {
                m->dropped++;
                return NULL;
        }
        if ((m->n + 1) * 4 > m->n_index * 3) {
                if (map_grow(m) < 0)
                        return NULL;
                return map_lookup(m, key, len, fold, true, ret_new);
        }
        if (m->n == m->n_alloc) {
                /* realloc: a big array moves by mremap, its pages are not touched again */
                size_t na = m->n_alloc ? m->n_alloc * 2 : 64;
                LogMapEntry *ne = realloc(m->entries, na * sizeof(LogMapEntry));
                if (!ne)
                        return NULL;
                m->entries = ne;
                m->n_alloc = na;
        }
        uint32_t chunk, off;
        if (!arena_put(m, key, len, fold, at, &chunk, &off))
                return NULL;
        LogMapEntry *e = &m->entries[m->n];
        *e = (LogMapEntry) { .hash = h, .chunk = chunk, .off = off, .len = (uint32_t) len };
        m->index[i] = SLOT(h, m->n);
        m->n++;
        if (ret_new)
                *ret_new = true;
        return e;
}

LogMapEntry *log_map_get(LogMap *m, const char *key, size_t len, bool fold, bool *ret_new) {
        return map_lookup(m, key, len, fold, true, ret_new);
}

LogMapEntry *log_map_find(const LogMap *m, const char *key, size_t len, bool fold) {
        return map_lookup((LogMap *) m, key, len, fold, false, NULL);
}

size_t log_map_count(const LogMap *m, unsigned index) {
        size_t n = 0;
        for (size_t i = 0; i < m->n; i++)
                n += m->entries[i].v[index] > 0;
        return n;
}

size_t log_map_top(const LogMap *m, unsigned index, LogMapEntry **ret, size_t n) {
        size_t k = 0;
        for (size_t i = 0; i < m->n && n > 0; i++) {
                LogMapEntry *e = &m->entries[i];
                if (e->v[index] == 0)
                        continue;
                /* insertion into the sorted top list */
                size_t pos = k;
                while (pos > 0) {
                        LogMapEntry *o = ret[pos - 1];
                        if (o->v[index] > e->v[index] ||
                            (o->v[index] == e->v[index] && strcmp(log_map_key(m, o), log_map_key(m, e)) <= 0))
                                break;
                        pos--;
                }
                if (pos >= n)
                        continue;
                size_t last = k < n ? k : n - 1;
                memmove(&ret[pos + 1], &ret[pos], (last - pos) * sizeof(ret[0]));
                ret[pos] = e;
                if (k < n)
                        k++;
        }
        return k;
}

/* ---- in-flight queue ids ---- */

/* Open addressing by the packed key's hash, at most half full (short probe sequences:
 * each probe may be a cache miss). When LOG_INFLIGHT_MAX messages are in flight, one
 * sweep drops every message older than the newest LOG_INFLIGHT_MAX / 2 (by insertion
 * order): at least half of them, so the sweeps cost O(1) per message, and no order list
 * is kept (it was as big as the table, and memory touched costs page faults). */

/* 1..63 for the bytes a queue id is made of, 0 for the rest. No byte maps to 0, so the
 * packing is bijective numeration in base 64: no length needs storing. */
static const uint8_t qid_code[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9,
        ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17,
        ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21, ['L'] = 22, ['M'] = 23, ['N'] = 24, ['O'] = 25,
        ['P'] = 26, ['Q'] = 27, ['R'] = 28, ['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32, ['W'] = 33,
        ['X'] = 34, ['Y'] = 35, ['Z'] = 36, ['a'] = 37, ['b'] = 38, ['c'] = 39, ['d'] = 40, ['e'] = 41,
        ['f'] = 42, ['g'] = 43, ['h'] = 44, ['i'] = 45, ['j'] = 46, ['k'] = 47, ['l'] = 48, ['m'] = 49,
        ['n'] = 50, ['o'] = 51, ['p'] = 52, ['q'] = 53, ['r'] = 54, ['s'] = 55, ['t'] = 56, ['u'] = 57,
        ['v'] = 58, ['w'] = 59, ['x'] = 60, ['y'] = 61, ['z'] = 62, ['_'] = 63,
};

bool log_qid_pack(const char *qid, size_t n, uint64_t key[2]) {
        /* bytes 0..9 into key[0], 10..19 into key[1], six bits each */
        uint64_t k0 = 0, k1 = 0;
        unsigned all = 63;
        if (n == 0 || n > LOG_QID_PACK_MAX)
                return false;
        size_t i = 0;
        for (; i < n && i < 10; i++) {
                unsigned c = qid_code[(unsigned char) qid[i]];
                all = c ? all : 0; /* one test at the end, not one a byte */
                k0 = k0 << 6 | c;
        }
        for (; i < n; i++) {
                unsigned c = qid_code[(unsigned char) qid[i]];
                all = c ? all : 0;
                k1 = k1 << 6 | c;
        }
        if (!all)
                return false;
        key[0] = k0;
        key[1] = k1;
        return true;
}

static inline uint64_t key_hash(const uint64_t k[2]) {
        uint64_t h = (k[0] ^ (k[1] * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xbf58476d1ce4e5b9);
        return h ^ (h >> 31);
}

static inline bool slot_used(const LogMessage *m) {
        return (m->key[0] | m->key[1]) != 0;
}

#define INFLIGHT_SLOTS_MIN 65536u
#define INFLIGHT_SLOTS_MAX ((size_t) LOG_INFLIGHT_MAX * 2)

static int inflight_init(LogInflight *f) {
        *f = (LogInflight) {};
        /* Room for 32768 messages in flight before it grows: 2 MiB of address space, of
         * which a small log touches a few pages only (growing from small would fault in
         * every intermediate table too, and a day of a busy server's log, where messages
         * never removed pile up, grew it once). */
        f->n_slots = INFLIGHT_SLOTS_MIN;
        f->slots = calloc(f->n_slots, sizeof(LogMessage));
        return f->slots ? 0 : -ENOMEM;
}

/* Moves the messages into a table of ns slots, leaving out those older than min_seq. */
static int inflight_rebuild(LogInflight *f, size_t ns, uint64_t min_seq) {
        LogMessage *s = calloc(ns, sizeof(LogMessage));
        if (!s)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < f->n_slots; i++) {
                const LogMessage *m = &f->slots[i];
                if (!slot_used(m))
                        continue;
                /* seq keeps the low 32 bits: the age is what wraps around right */
                if (min_seq && (int32_t) (m->seq - (uint32_t) min_seq) < 0) {
                        f->evicted++;
                        continue;
                }
                size_t j = key_hash(m->key) & (ns - 1);
                while (slot_used(&s[j]))
                        j = (j + 1) & (ns - 1);
                s[j] = *m;
                n++;
        }
        free(f->slots);
        f->slots = s;
        f->n_slots = ns;
        f->n = n;
        return 0;
}

static void inflight_done(LogInflight *f) {
        free(f->slots);
        *f = (LogInflight) {};
}

/* The message with this key, or NULL; *ret_slot: where it is or would go. */
static LogMessage *inflight_find_key(const LogInflight *f, const uint64_t key[2], size_t *ret_slot) {
        size_t mask = f->n_slots - 1, i = key_hash(key) & mask;
        for (;;) {
                LogMessage *m = &f->slots[i];
                if (m->key[0] == key[0] && m->key[1] == key[1]) {
                        *ret_slot = i;
                        return m;
                }
                if (!slot_used(m)) {
                        *ret_slot = i;
                        return NULL;
                }
                i = (i + 1) & mask;
        }
}

static LogMessage *inflight_find(LogInflight *f, const char *qid, size_t n) {
        uint64_t key[2];
        size_t slot;
        if (!log_qid_pack(qid, n, key))
                return NULL;
        return inflight_find_key(f, key, &slot);
}

bool log_inflight_contains(const LogInflight *f, const char *qid, size_t n) {
        uint64_t key[2];
        size_t slot;
        return log_qid_pack(qid, n, key) && inflight_find_key(f, key, &slot);
}

/* Linear probing deletion by backward shift (no tombstones). */
static void inflight_delete_slot(LogInflight *f, size_t i) {
        size_t j = i, mask = f->n_slots - 1;
        f->slots[i] = (LogMessage) {};
        f->n--;
        for (;;) {
                j = (j + 1) & mask;
                LogMessage *m = &f->slots[j];
                if (!slot_used(m))
                        return;
                size_t home = key_hash(m->key) & mask;
                /* m may move into the hole at i unless its home lies cyclically in (i, j] */
                bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!between) {
                        f->slots[i] = *m;
                        *m = (LogMessage) {};
                        i = j;
                }
        }
}

static void inflight_remove(LogInflight *f, const char *qid, size_t n) {
        uint64_t key[2];
        size_t slot;
        if (log_qid_pack(qid, n, key) && inflight_find_key(f, key, &slot))
                inflight_delete_slot(f, slot);
}

static LogMessage *inflight_get(LogInflight *f, const char *qid, size_t n) {
        uint64_t key[2];
        size_t slot;
        if (!log_qid_pack(qid, n, key))
                return NULL;
        LogMessage *m = inflight_find_key(f, key, &slot);
        if (m)
                return m;
        bool moved = false;
        if (f->n >= LOG_INFLIGHT_MAX) {
                /* seq numbers the messages 1, 2, ...: keep the newest half of the bound */
                if (inflight_rebuild(f, f->n_slots, f->seq - LOG_INFLIGHT_MAX / 2 + 1) < 0)
                        return NULL;
                moved = true;
        }
        if ((f->n + 1) * 2 > f->n_slots && f->n_slots < INFLIGHT_SLOTS_MAX) {
                if (inflight_rebuild(f, f->n_slots * 2, 0) < 0)
                        return NULL;
                moved = true;
        }
        if (moved)
                (void) inflight_find_key(f, key, &slot);
        m = &f->slots[slot];
        *m = (LogMessage) { .key = { key[0], key[1] }, .seq = (uint32_t) ++f->seq };
        f->n++;
        return m;
}

/* ---- pflogsumm's helpers ---- */

static bool is_d(char c) {
        return c >= '0' && c <= '9';
}

/* (?:\d{1,3}\.){3}\d{1,3} exactly */
static bool is_ipv4(const char *p, size_t n) {
        size_t i = 0;
        for (int part = 0; part < 4; part++) {
                size_t s = i;
                while (i < n && is_d(p[i]) && i - s < 3)
                        i++;
                if (i == s)
                        return false;
                if (part < 3) {
                        if (i >= n || p[i] != '.')
                                return false;
                        i++;
                }
        }
        return i == n;
}

size_t log_client_domain(const char *c, size_t len, char *buf, size_t size) {
        const char *dom = NULL, *ip = NULL;
        size_t dl = 0, il = 0;
        const char *b = memchr(c, '[', len);
        const char *e = b ? memchr(b, ']', (size_t) (c + len - b)) : NULL;
        if (b && e && is_ipv4(b + 1, (size_t) (e - b - 1))) {
                dom = c, dl = (size_t) (b - c), ip = b + 1, il = (size_t) (e - b - 1);
        } else {
                /* "host/ip" (old Postfix) or the general "host[ip]" / "host(ip)" */
                const char *o = NULL;
                for (size_t i = 0; i < len; i++)
                        if (c[i] == '[' || c[i] == '(' || c[i] == '/') {
                                o = c + i;
                                break;
                        }
                if (o) {
                        const char *cl = o + 1;
                        while (cl < c + len && *cl != ']' && *cl != ')')
                                cl++;
                        dom = c, dl = (size_t) (o - c), ip = o + 1, il = (size_t) (cl - o - 1);
                } else
                        dom = c, dl = len;
        }
        if (dl == 0 || (dl == 7 && memcmp(dom, "unknown", 7) == 0)) {
                dom = ip, dl = ip ? il : 0;
        } else {
                /* s/^(.*)\.([^\.]+)\.([^\.]{3}|[^\.]{2,3}\.[^\.]{2})$/\L$2.$3/ */
                const char *d1 = memrchr(dom, '.', dl);
                if (d1) {
                        size_t tail = (size_t) (dom + dl - d1 - 1);
                        const char *start = NULL;
                        if (tail == 3) {
                                const char *d2 = memrchr(dom, '.', (size_t) (d1 - dom));
                                if (d2 && d2 + 1 < d1)
                                        start = d2 + 1;
                        }
                        if (!start && tail == 2) {
                                const char *d2 = memrchr(dom, '.', (size_t) (d1 - dom));
                                if (d2 && (d1 - d2 - 1 == 2 || d1 - d2 - 1 == 3)) {
                                        const char *d3 = memrchr(dom, '.', (size_t) (d2 - dom));
                                        if (d3 && d3 + 1 < d2)
                                                start = d3 + 1;
                                }
                        }
                        if (start) {
                                size_t n = MIN((size_t) (dom + dl - start), size - 1);
                                for (size_t i = 0; i < n; i++)
                                        buf[i] = lower(start[i]);
                                buf[n] = 0;
                                return n;
                        }
                }
        }
        size_t n = MIN(dl, size - 1);
        if (n)
                memcpy(buf, dom, n);
        buf[n] = 0;
        return n;
}

/* ---- the model ---- */

int log_stats_init(LogStats *s) {
        *s = (LogStats) { .last_day = -1 };
        /* Reason tables keep the first distinct keys only: a flood of unique texts must not
         * grow memory without limit. */
        s->reject_reasons.max_entries = 10000;
        s->deferral_reasons.max_entries = 10000;
        s->bounce_reasons.max_entries = 10000;
        s->warnings.max_entries = 10000;
        s->client_domains.max_entries = 100000;
        return inflight_init(&s->inflight);
}

void log_stats_done(LogStats *s) {
        LogMap *maps[] = { &s->senders, &s->sending_domains, &s->recipients, &s->recipient_domains,
                           &s->reject_reasons, &s->deferral_reasons, &s->bounce_reasons, &s->sasl_failures,
                           &s->login_failures, &s->logins, &s->warnings, &s->client_domains };
        for (size_t i = 0; i < ELEMENTSOF(maps); i++)
                log_map_done(maps[i]);
        inflight_done(&s->inflight);
}

unsigned log_stats_rejected_percent(const LogStats *s) {
        uint64_t t = s->delivered + s->rejected + s->discarded;
        return t ? (unsigned) (s->rejected * 100 / t) : 0;
}

unsigned log_stats_discarded_percent(const LogStats *s) {
        uint64_t t = s->delivered + s->rejected + s->discarded;
        return t ? (unsigned) (s->discarded * 100 / t) : 0;
}

/* A short reason for a table: no reply code or DSN, no leading "<address>: ", up to ';'. */
static LogStr short_reason(LogStr r) {
        if (!r.p)
                return r;
        const char *p = r.p, *e = r.p + r.n;
        if (e - p >= 4 && is_d(p[0]) && is_d(p[1]) && is_d(p[2]) && p[3] == ' ')
                p += 4;
        if (e - p >= 6 && is_d(p[0]) && p[1] == '.') {
                const char *sp = memchr(p, ' ', (size_t) (e - p));
                if (sp)
                        p = sp + 1;
        }
        if (p < e && *p == '<') {
                const char *g = memchr(p, '>', (size_t) (e - p));
                if (g && g + 2 <= e && g[1] == ':')
                        p = g + 2 + (g + 2 < e && g[2] == ' ');
        }
        if (e - p > 11 && memcmp(p, "connect to ", 11) == 0)
                p += 11;
        const char *semi = memchr(p, ';', (size_t) (e - p));
        if (semi)
                e = semi;
        if (e - p > 100)
                e = p + 100;
        return (LogStr) { p, (size_t) (e - p) };
}

static int count_reason(LogMap *m, const char *prefix, LogStr r) {
        char buf[160];
        size_t pl = strlen(prefix);
        LogStr s = short_reason(r);
        if (pl + s.n > sizeof(buf))
                s.n = sizeof(buf) - pl;
        memcpy(buf, prefix, pl);
        if (s.n)
                memcpy(buf + pl, s.p, s.n);
        LogMapEntry *e = log_map_get(m, buf, pl + s.n, false, NULL);
        if (e)
                e->v[0]++;
        else if (!m->max_entries || m->n < m->max_entries)
                return -ENOMEM;
        return 0;
}

static int count_key(LogMap *m, LogStr k, unsigned index, uint64_t add) {
        LogMapEntry *e = log_map_get(m, k.p ? k.p : "", k.n, false, NULL);
        if (!e)
                return m->max_entries && m->n >= m->max_entries ? 0 : -ENOMEM;
        e->v[index] += add;
        return 0;
}

static int add_postfix(LogStats *s, const LogEvent *ev) {
        LogStr qid = ev->token;
        int r = 0;

        /* pflogsumm's day count: the day changed since the previous Postfix line */
        if (ev->yday_key != s->last_day) {
                s->last_day = ev->yday_key;
                s->days++;
        }
        uint64_t *hour = s->per_hour[ev->hour >= 0 && ev->hour < 24 ? ev->hour : 0];

        switch (ev->kind) {
        case LOG_KIND_REJECT:
        case LOG_KIND_REJECT_WARNING:
        case LOG_KIND_HOLD:
        case LOG_KIND_DISCARD: {
                hour[LOG_HOUR_REJECTED]++;
                if (ev->kind == LOG_KIND_REJECT)
                        s->rejected++;
                else if (ev->kind == LOG_KIND_REJECT_WARNING)
                        s->reject_warnings++;
                else if (ev->kind == LOG_KIND_HOLD)
                        s->held++;
                else
                        s->discarded++;
                /* refused or discarded in cleanup: never queued, no "removed" will come */
                if ((ev->kind == LOG_KIND_REJECT || ev->kind == LOG_KIND_DISCARD) && ev->queue_id.n &&
                    LOGSTR_IS(ev->service, "cleanup"))
                        inflight_remove(&s->inflight, ev->queue_id.p, ev->queue_id.n);
                if (ev->kind == LOG_KIND_REJECT || ev->kind == LOG_KIND_REJECT_WARNING) {
                        char prefix[48];
                        const char *w = ev->kind == LOG_KIND_REJECT_WARNING ? "warning " : "",
                                   *c = log_reject_class_to_string(ev->reject_class);
                        size_t wl = strlen(w), cl = MIN(strlen(c), sizeof(prefix) - wl - 3);
                        memcpy(prefix, w, wl); /* no snprintf on a line's way */
                        memcpy(prefix + wl, c, cl);
                        memcpy(prefix + wl + cl, ": ", 3);
                        r = count_reason(&s->reject_reasons, prefix, ev->reason);
                }
                break;
        }
        case LOG_KIND_CLIENT:
        case LOG_KIND_PICKUP: {
                s->received++;
                hour[LOG_HOUR_RECEIVED]++;
                LogMessage *m = inflight_get(&s->inflight, qid.p, qid.n);
                if (m) {
                        m->received = true;
                        m->pickup = ev->kind == LOG_KIND_PICKUP;
                        if (!m->pickup) {
                                char buf[256];
                                size_t n = log_client_domain(ev->client.p ? ev->client.p : "", ev->client.n, buf,
                                                             sizeof(buf));
                                LogMapEntry *e = log_map_get(&s->client_domains, buf, n, false, NULL);
                                m->client_domain = e ? (uint32_t) (e - s->client_domains.entries) + 1 : 0;
                        }
                }
                break;
        }
        case LOG_KIND_QUEUED: {
                LogMessage *m = inflight_get(&s->inflight, qid.p, qid.n);
                if (!m)
                        break;
                if (m->has_size && m->size != 0)
                        break; /* pflogsumm: "avoid double-counting!" */
                m->has_size = true;
                m->size = MIN(ev->size, (UINT64_C(1) << 56) - 1);
                if (!m->received)
                        break;
                m->received = false;
                /* addr: domain part lowercased; the null sender is "from=<>" */
                LogStr addr = ev->from.n ? ev->from : (LogStr) { "from=<>", 7 };
                LogStr dom;
                const char *at = ev->from.n ? memchr(addr.p, '@', addr.n) : NULL;
                bool fold_dom = false;
                if (at && at > addr.p && at + 1 < addr.p + addr.n) {
                        dom = (LogStr) { at + 1, (size_t) (addr.p + addr.n - at - 1) };
                        fold_dom = true;
                } else if (m->pickup)
                        dom = addr;
                else if (m->client_domain) {
                        const LogMapEntry *e = &s->client_domains.entries[m->client_domain - 1];
                        dom = (LogStr) { log_map_key(&s->client_domains, e), e->len };
                } else
                        dom = (LogStr) { "", 0 };
                /* fold_dom: the whole domain lowercased (hash "@"-less key with fold at 0) */
                LogMapEntry *d;
                if (fold_dom) {
                        char buf[256];
                        size_t n = MIN(dom.n, sizeof(buf));
                        for (size_t i = 0; i < n; i++)
                                buf[i] = lower(dom.p[i]);
                        d = log_map_get(&s->sending_domains, buf, n, false, NULL);
                } else
                        d = log_map_get(&s->sending_domains, dom.p, dom.n, false, NULL);
                LogMapEntry *u = log_map_get(&s->senders, addr.p, addr.n, true, NULL);
                if (!d || !u)
                        return -ENOMEM;
                d->v[0]++;
                d->v[1] += ev->size;
                u->v[0]++;
                u->v[1] += ev->size;
                s->bytes_received += ev->size;
                break;
        }
        case LOG_KIND_DELIVERY: {
                LogStr addr = ev->to;
                const char *at = addr.n ? memchr(addr.p, '@', addr.n) : NULL;
                char dbuf[256];
                LogStr dom = addr;
                if (at && at > addr.p) {
                        size_t n = MIN((size_t) (addr.p + addr.n - at - 1), sizeof(dbuf));
                        for (size_t i = 0; i < n; i++)
                                dbuf[i] = lower(at[1 + i]);
                        dom = (LogStr) { dbuf, n };
                } else if (at) {
                        /* "@x": no local part; pflogsumm keeps the address, lowercased from '@' */
                        size_t n = MIN(addr.n, sizeof(dbuf));
                        for (size_t i = 0; i < n; i++)
                                dbuf[i] = lower(addr.p[i]);
                        dom = (LogStr) { dbuf, n };
                }
                if (ev->status == LOG_STATUS_SENT) {
                        if (ev->forwarded) {
                                s->forwarded++;
                                break;
                        }
                        LogMapEntry *d = log_map_get(&s->recipient_domains, dom.p ? dom.p : "", dom.n, false, NULL);
                        LogMapEntry *u = log_map_get(&s->recipients, addr.p ? addr.p : "", addr.n, true, NULL);
                        if (!d || !u)
                                return -ENOMEM;
                        d->v[0]++;
                        u->v[0]++;
                        hour[LOG_HOUR_DELIVERED]++;
                        s->delivered++;
                        LogMessage *m = inflight_find(&s->inflight, qid.p, qid.n);
                        if (m && m->has_size && m->size) {
                                d->v[1] += m->size;
                                u->v[1] += m->size;
                                s->bytes_delivered += m->size;
                        }
                } else if (ev->status == LOG_STATUS_DEFERRED) {
                        hour[LOG_HOUR_DEFERRED]++;
                        s->deferrals++;
                        LogMessage *m = inflight_get(&s->inflight, qid.p, qid.n);
                        if (!m || !m->deferred_once) {
                                s->deferred++;
                                if (m)
                                        m->deferred_once = true;
                        }
                        LogMapEntry *d = log_map_get(&s->recipient_domains, dom.p ? dom.p : "", dom.n, false, NULL);
                        if (!d)
                                return -ENOMEM;
                        d->v[2]++;
                        r = count_reason(&s->deferral_reasons, "", ev->reason);
                } else if (ev->status == LOG_STATUS_BOUNCED) {
                        hour[LOG_HOUR_BOUNCED]++;
                        s->bounced++;
                        r = count_reason(&s->bounce_reasons, "", ev->reason);
                }
                break;
        }
        case LOG_KIND_REMOVED:
                inflight_remove(&s->inflight, qid.p, qid.n);
                break;
        case LOG_KIND_SASL_FAILURE:
                s->sasl_failure_count++;
                r = count_key(&s->sasl_failures, ev->client_ip.n ? ev->client_ip : ev->client, 0, 1);
                __attribute__((fallthrough));
        case LOG_KIND_WARNING:
        case LOG_KIND_FATAL:
        case LOG_KIND_PANIC: {
                unsigned level = ev->kind == LOG_KIND_FATAL ? 1 : ev->kind == LOG_KIND_PANIC ? 2 : 0;
                if (level == 0)
                        s->warning_count++;
                else if (level == 1)
                        s->fatal_count++;
                else
                        s->panic_count++;
                if (r == 0 && ev->kind != LOG_KIND_SASL_FAILURE) {
                        LogStr t = ev->text;
                        if (t.n > 120)
                                t.n = 120;
                        LogMapEntry *e = log_map_get(&s->warnings, t.p ? t.p : "", t.n, false, NULL);
                        if (e) {
                                e->v[0]++;
                                e->v[1] = level;
                        }
                }
                break;
        }
        default:
                break;
        }
        return r;
}

int log_stats_add(LogStats *s, const LogEvent *ev) {
        s->lines++;
        if (ev->kind == LOG_KIND_UNPARSED) {
                s->unparsed++;
                return 0;
        }
        if (ev->family == LOG_FAMILY_OTHER)
                return 0; /* another program's line in a shared syslog file */
        s->mail_lines++;
        if (ev->usec) {
                if (!s->first_usec || ev->usec < s->first_usec)
                        s->first_usec = ev->usec;
                if (ev->usec > s->last_usec)
                        s->last_usec = ev->usec;
        }
        if (ev->kind == LOG_KIND_OTHER)
                s->other++;
        switch (ev->family) {
        case LOG_FAMILY_POSTFIX:
                return add_postfix(s, ev);
        case LOG_FAMILY_DOVECOT:
                if (ev->kind == LOG_KIND_LOGIN) {
                        s->login_count++;
                        int r = count_key(&s->logins, ev->user, 0, 1);
                        if (r == 0 && ev->tls)
                                r = count_key(&s->logins, ev->user, 1, 1);
                        return r;
                }
                if (ev->kind == LOG_KIND_LOGIN_FAILED) {
                        s->login_failure_count++;
                        return count_key(&s->login_failures, ev->client_ip, 0, 1);
                }
                if (ev->kind == LOG_KIND_LMTP_SAVED)
                        s->lmtp_saved++;
                if (ev->kind == LOG_KIND_WARNING)
                        s->warning_count++;
                if (ev->kind == LOG_KIND_FATAL)
                        s->fatal_count++;
                return 0;
        case LOG_FAMILY_OPENDKIM:
                if (ev->kind == LOG_KIND_DKIM) {
                        if (ev->dkim_signed)
                                s->dkim_signed++;
                        else
                                s->dkim_other++;
                }
                return 0;
        case LOG_FAMILY_JOURNALD:
                if (ev->kind == LOG_KIND_SUPPRESSED) {
                        s->suppressed += ev->suppressed;
                        s->suppressed_notices++;
                }
                return 0;
        default:
                return 0;
        }
}
