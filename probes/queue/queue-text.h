/* A streaming reader for `postqueue -p` (the Sendmail-style listing, for Postfix before
 * 3.1 which has no -j): a pure push parser, no I/O.
 *
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   DDA2180*        245 Wed Dec  2 10:57:05  alice@lab.test
 *                       (connect to 127.0.0.1[127.0.0.1]:2525: Connection refused)
 *                                            u1@a.example
 *
 *   -- 1 Kbytes in 1 Request.
 *
 * The character after the id: '*' active, '!' hold, '#' forced to expire (Postfix 3.5+),
 * ' ' otherwise. The listing cannot tell deferred from incoming mail: those are read as
 * deferred; a maildrop message shows "(maildrop queue, sender UID N)" instead of its
 * sender (read as maildrop, sender ""). A "(reason)" line applies to the recipients after
 * it, up to the next reason. The arrival time has no year: the year is inferred as the log
 * engine does (the latest that puts the time no more than a day after now). */
#pragma once

#include "linesplit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue-model.h"

/* Longest line accepted; a longer one is reported and its message skipped. */
#define PQTEXT_MAX_LINE ((size_t) 64 * 1024)

typedef struct PqtextReader {
        QueueSnapshot *snapshot;
        const char *name;        /* for issues: "NAME:LINE" */
        int64_t now;             /* for the year of arrival times (seconds since the epoch) */
        LineSplitter split;
        unsigned long line;
        bool bad;                /* the current message is malformed: skip to the blank line */
        bool have;               /* cur holds a message being read */
        QueueMessage cur;
        char *reason;            /* for the recipients that follow */
        size_t read;             /* messages read */
        bool empty;              /* "Mail queue is empty" */
        bool trailer;            /* "-- N Kbytes in M Requests." seen */
        uint64_t requests;       /* its M */
} PqtextReader;

void pqtext_init(PqtextReader *r, QueueSnapshot *s, const char *name, int64_t now);
void pqtext_done(PqtextReader *r);

/* Feeds bytes. Malformed lines become issues naming their line; the rest is still read.
 * Returns 0 or -ENOMEM. */
int pqtext_feed(PqtextReader *r, const char *data, size_t size);
/* End of input: the last message is added; a trailer whose count differs from the
 * messages read is reported. Returns 0 or -ENOMEM. */
int pqtext_finish(PqtextReader *r);

/* True when data starts like a postqueue -p listing (for --input: text or JSON). */
bool pqtext_looks_like(const char *data, size_t size);

/* The arrival time of "Mmm dd HH:MM:SS" local time (month 0..11), the year inferred from
 * now. */
int64_t pqtext_arrival(int month, int day, int hour, int minute, int second, int64_t now);
