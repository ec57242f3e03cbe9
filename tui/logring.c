/* The log panel's lines: a ring of 32-byte records, their text appended to 256 KiB blocks
 * in arrival order. The ring drops its oldest line first, so a block is freed when the
 * last of its lines has left: no allocation and no allocator overhead per line, and no
 * holes. 100,000 lines took 26 MiB as one malloc'd string each in a 64-byte record (with
 * termsafe's worst-case buffers cut down after the fact), and take about 14 MiB here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logring.h"
#include "macro.h"
#include "termsafe.h"

#define TEXT_BLOCK_SIZE (256u * 1024u)
#define QUEUE_ID_MAX 24
#define IDENT_MAX 256

typedef struct TextBlock {
        struct TextBlock *next; /* newer */
        size_t size, used;
        size_t lines;           /* lines in the ring whose text is here */
        char data[];
} TextBlock;

struct LogRing {
        RingLine *lines;
        size_t cap, start, n; /* oldest at start */
        uint64_t dropped;
        TextBlock *oldest, *newest;
        char *scratch;        /* a line being made terminal-safe */
        size_t scratch_size;
};

_Static_assert(sizeof(RingLine) == 32, "RingLine grew");
_Static_assert(_LOG_KIND_MAX <= 256 && _LOG_STATUS_MAX <= 256, "kind or status do not fit a byte");

uint64_t ring_id_hash(const char *p, size_t n) {
        if (!p || n == 0)
                return 0;
        uint64_t h = UINT64_C(14695981039346656037);
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char) p[i]) * UINT64_C(1099511628211);
        return h ? h : 1;
}

int log_ring_new(size_t capacity, LogRing **ret) {
        if (capacity == 0 || capacity > UINT32_MAX)
                return -EINVAL;
        LogRing *r = calloc(1, sizeof(LogRing));
        if (!r)
                return -ENOMEM;
        r->cap = capacity;
        r->lines = calloc(capacity, sizeof(RingLine));
        if (!r->lines) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

LogRing *log_ring_free(LogRing *r) {
        if (!r)
                return NULL;
        while (r->oldest) {
                TextBlock *b = r->oldest;
                r->oldest = b->next;
                free(b);
        }
        free(r->scratch);
        free(r->lines);
        free(r);
        return NULL;
}

size_t log_ring_size(const LogRing *r) {
        return r->n;
}

uint64_t log_ring_seen(const LogRing *r) {
        return r->n + r->dropped;
}

size_t log_ring_text_bytes(const LogRing *r) {
        size_t t = 0;
        for (const TextBlock *b = r->oldest; b; b = b->next)
                t += b->size;
        return t;
}

const RingLine *log_ring_at(const LogRing *r, size_t i) {
        return &r->lines[(r->start + i) % r->cap];
}

const char *ring_line_qid(const RingLine *ln) {
        return ln->extras & RING_QID ? ln->text + ln->len + 1 : "";
}

uint64_t ring_line_hash(const RingLine *ln, unsigned which) {
        if (!(ln->extras & which))
                return 0;
        const char *p = ln->text + ln->len + 1;
        if (ln->extras & RING_QID)
                p += strlen(p) + 1;
        if (which == RING_MSGID && (ln->extras & RING_NEW_QID))
                p += sizeof(uint64_t);
        uint64_t h;
        memcpy(&h, p, sizeof(h)); /* unaligned */
        return h;
}

/* Room for size bytes at the end of the newest block (a new block when it is full). */
static char *text_reserve(LogRing *r, size_t size) {
        TextBlock *b = r->newest;
        if (b && b->size - b->used >= size)
                return b->data + b->used;
        if (b && b->lines == 0) {
                /* empty, so the only one (older blocks hold older lines): a bigger one */
                free(b);
                r->oldest = r->newest = b = NULL;
        }
        size_t bs = MAX((size_t) TEXT_BLOCK_SIZE, size);
        TextBlock *nb = malloc(sizeof(TextBlock) + bs);
        if (!nb)
                return NULL;
        *nb = (TextBlock) { .size = bs };
        if (b)
                b->next = nb;
        else
                r->oldest = nb;
        r->newest = nb;
        return nb->data;
}

/* The oldest line leaves: its block goes with its last line. */
static void drop_oldest(LogRing *r) {
        TextBlock *b = r->oldest;
        r->start = (r->start + 1) % r->cap;
        r->n--;
        r->dropped++;
        if (--b->lines > 0)
                return;
        if (b == r->newest && b->size == TEXT_BLOCK_SIZE) {
                b->used = 0; /* the only block: filled again from the start */
                return;
        }
        r->oldest = b->next;
        if (b == r->newest)
                r->newest = NULL; /* one that took a line bigger than a block: not kept */
        free(b);
}

/* Appends a terminal-safe copy of s (n bytes) to the scratch buffer at *len (the buffer
 * has room for the worst case). Printable ASCII, nearly every log line, is copied as it
 * is; the rest goes through termsafe. */
static int safe_append(LogRing *r, size_t *len, const char *s, size_t n) {
        if (n == 0)
                return 0; /* (s may be NULL then) */
        size_t i = 0;
        while (i < n && s[i] >= 0x20 && s[i] < 0x7f)
                i++;
        if (i == n) {
                memcpy(r->scratch + *len, s, n);
                *len += n;
                return 0;
        }
        _cleanup_free_ char *t = NULL;
        int k = termsafe_dup(s, n, 0, &t);
        if (k < 0)
                return k;
        size_t tl = strlen(t);
        if (tl > r->scratch_size - 1 - *len)
                return -ENOBUFS; /* not with termsafe's 3 bytes per byte at most */
        memcpy(r->scratch + *len, t, tl);
        *len += tl;
        return 0;
}

int log_ring_push(LogRing *r, const LogEvent *ev, const char *raw, size_t raw_len) {
        size_t ident_n = MIN(ev->ident.n, (size_t) IDENT_MAX), msg_n = MIN(ev->message.n, (size_t) LOGLINE_MAX);
        size_t in = raw ? raw_len : ident_n + 16 + msg_n;
        size_t want = 3 * in + 1; /* termsafe's worst case: U+FFFD for every byte */
        if (r->scratch_size < want) {
                char *ns = realloc(r->scratch, want);
                if (!ns)
                        return -ENOMEM;
                r->scratch = ns;
                r->scratch_size = want;
        }
        size_t len = 0;
        int k;
        if (raw)
                k = safe_append(r, &len, raw, raw_len);
        else {
                char pid[16];
                int pl = snprintf(pid, sizeof(pid), "[%u]: ", ev->pid);
                k = safe_append(r, &len, ev->ident.p, ident_n);
                if (k >= 0)
                        k = safe_append(r, &len, pid, (size_t) pl);
                if (k >= 0)
                        k = safe_append(r, &len, ev->message.p, msg_n);
        }
        if (k < 0)
                return k;
        r->scratch[len] = 0;

        uint8_t extras = 0;
        size_t size = len + 1;
        bool qid = ev->queue_id.n && ev->queue_id.n < QUEUE_ID_MAX;
        uint64_t new_qid = ring_id_hash(ev->new_queue_id.p, ev->new_queue_id.n);
        uint64_t msgid = ring_id_hash(ev->message_id.p, ev->message_id.n);
        if (qid) {
                extras |= RING_QID;
                size += ev->queue_id.n + 1;
        }
        if (new_qid) {
                extras |= RING_NEW_QID;
                size += sizeof(uint64_t);
        }
        if (msgid) {
                extras |= RING_MSGID;
                size += sizeof(uint64_t);
        }

        if (r->n == r->cap)
                drop_oldest(r); /* first: its block may be the one to reuse */
        char *t = text_reserve(r, size);
        if (!t)
                return -ENOMEM;
        char *p = mempcpy(t, r->scratch, len + 1);
        if (qid) {
                p = mempcpy(p, ev->queue_id.p, ev->queue_id.n);
                *p++ = 0;
        }
        if (new_qid)
                p = mempcpy(p, &new_qid, sizeof(new_qid));
        if (msgid)
                memcpy(p, &msgid, sizeof(msgid));
        r->newest->used += size;
        r->newest->lines++;

        r->lines[(r->start + r->n++) % r->cap] = (RingLine) {
                .usec = ev->usec,
                .text = t,
                .qid_hash = qid ? ring_id_hash(ev->queue_id.p, ev->queue_id.n) : 0,
                .len = (uint32_t) len,
                .kind = (uint8_t) ev->kind,
                .status = (uint8_t) ev->status,
                .extras = extras,
        };
        return 0;
}
