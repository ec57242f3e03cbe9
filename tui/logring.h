/* The log panel's lines: a bounded ring of small records, their text in blocks (see
 * logring.c). No curses here: the unit tests fill it directly. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "logline.h"

/* One line: 32 bytes. What few lines have (a queue id, "queued as", a Message-ID) is
 * stored after the text, in its block: ring_line_qid, ring_line_hash. */
typedef struct RingLine {
        int64_t usec;
        const char *text;  /* terminal-safe, NUL-terminated; valid while the line is in the ring */
        uint64_t qid_hash; /* ring_id_hash of the queue id (0: none) */
        uint32_t len;      /* strlen(text) */
        uint8_t kind;      /* LogKind */
        uint8_t status;    /* LogStatus */
        uint8_t extras;    /* RING_* */
} RingLine;

enum {
        RING_QID = 1 << 0,
        RING_NEW_QID = 1 << 1, /* "queued as X", a bounce's notification id */
        RING_MSGID = 1 << 2,   /* Message-ID */
};

typedef struct LogRing LogRing;

int log_ring_new(size_t capacity, LogRing **ret);
LogRing *log_ring_free(LogRing *r);

/* Adds a line made of ev (a journal entry: "ident[pid]: message", as journalctl shows it)
 * or of raw (a file's line as read), terminal-safe; when full, the oldest line leaves
 * first (its text with it). 0, or -ENOMEM: the line is not added. */
int log_ring_push(LogRing *r, const LogEvent *ev, const char *raw, size_t raw_len);

/* Lines kept, oldest first (index 0). */
size_t log_ring_size(const LogRing *r);
const RingLine *log_ring_at(const LogRing *r, size_t i);
/* Lines ever added (kept and dropped): changes whenever a line is added. */
uint64_t log_ring_seen(const LogRing *r);
/* Bytes allocated for the text (whole blocks), for the tests and the benchmark. */
size_t log_ring_text_bytes(const LogRing *r);

/* The line's queue id ("" when none). */
const char *ring_line_qid(const RingLine *ln);
/* The hash of RING_NEW_QID or RING_MSGID (0 when the line has none). */
uint64_t ring_line_hash(const RingLine *ln, unsigned which);
/* FNV-1a of an id; 0 is kept for "none" (NULL or empty). */
uint64_t ring_id_hash(const char *p, size_t n);
