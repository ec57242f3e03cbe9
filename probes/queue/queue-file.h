/* Postfix queue files, read the way showq and qshape read them, with no I/O inside: the
 * caller hands in bytes at the offset the parser asks for (it may skip the message content
 * and follow pointer records). Also the defer logfile (defer/ID) reader. See postcat(1)
 * and Postfix's src/global/rec_type.h, record.c, bounce_log.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue-model.h"

/* Longest record whose data the parser needs (sender, recipient, size, time, pointer);
 * content records are skipped without reading them, whatever their length. */
#define QFILE_MAX_RECORD ((size_t) 60 * 1024)
/* Callers should offer windows of at least this many bytes. */
#define QFILE_WINDOW ((size_t) 64 * 1024)
#define QFILE_REVERSE_JUMP_LIMIT 10000u

typedef struct QfileParser {
        bool maildrop;          /* maildrop files: no final size record, no C/T start */
        uint64_t want;          /* next file offset the parser wants */
        unsigned n_records;
        unsigned reverse_jumps;
        unsigned jumps;
        uint64_t last_jump;
        /* what was found */
        int64_t arrival_time;   /* 0: none (showq then uses the file's mtime) */
        bool size_ok;
        uint64_t content_size;  /* first field of the size record */
        bool first_is_size;     /* record 1 was C and record 2 T (qshape's test) */
        char *sender;           /* first S record, NULL until seen */
        bool duplicate_sender;  /* showq stops at a second S record */
        char **recipients;      /* R records, in file order */
        size_t n_recipients, allocated;
        bool in_content;        /* after M without a usable size: scanning N/L/p to X */
        bool ended;             /* E record seen */
} QfileParser;

void qfile_parser_init(QfileParser *p, bool maildrop);
void qfile_parser_done(QfileParser *p);

/* Feeds buf[0..len), the file's bytes from `offset` (== p->want). Returns 1 when the parse
 * is complete (E record, or where showq stops), 0 when it wants bytes from p->want (which
 * may be anywhere: it skips content and follows pointers), -EBADMSG for a malformed file
 * (with eof: truncated), -E2BIG for a record longer than QFILE_MAX_RECORD, -ENOMEM. With
 * eof set, buf ends at the end of the file. */
int qfile_feed(QfileParser *p, const uint8_t *buf, size_t len, uint64_t offset, bool eof);

/* Postfix's quote_822_local() (quote a local part that is not a dot-atom) followed by
 * printable() with UTF-8 kept: how showq presents envelope addresses. New string or NULL. */
char *postfix_printable_address(const char *address);

/* The defer logfile: entries of "name=value" lines (or old "<addr>: text") separated by
 * blank lines. Calls cb for every complete entry, as Postfix's bounce_log_read() would.
 * Returns 0 or the first negative value cb returned. */
typedef int (*BouncelogCallback)(const char *address, const char *reason, void *userdata);
int bouncelog_parse(const char *data, size_t size, BouncelogCallback cb, void *userdata);

/* Turns a parsed queue file (+ its defer log, may be NULL) into a message the way showq
 * does: recipients from the defer log first, with their reasons, then the R records that
 * the log did not name. mtime and file_size stand in for a missing time or size record. */
int qfile_to_message(const QfileParser *p, const char *id, QueueName queue, int64_t mtime,
                     uint64_t file_size, const char *defer_log, size_t defer_log_size,
                     QueueMessage *ret);
