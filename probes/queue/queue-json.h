/* A streaming reader for `postqueue -j`: one JSON object per line, read as bytes arrive. */
#pragma once

#include "linesplit.h"

#include <stddef.h>

#include "queue-model.h"

/* Longest line accepted (one message with all its recipients); a longer line is reported
 * and skipped, the rest is still read. */
#define PQJSON_MAX_LINE ((size_t) 16 * 1024 * 1024)

typedef struct PqjsonReader {
        QueueSnapshot *snapshot; /* messages and issues go here */
        const char *name;        /* for issues: "FILE:LINE" */
        LineSplitter split;
        unsigned long line;
} PqjsonReader;

void pqjson_init(PqjsonReader *r, QueueSnapshot *s, const char *name);
void pqjson_done(PqjsonReader *r);

/* Feeds bytes; every complete line becomes a message (or an issue naming its line number).
 * Returns 0, or -ENOMEM (the only error: malformed input is an issue, not a failure). */
int pqjson_feed(PqjsonReader *r, const char *data, size_t size);
/* End of input: a last line without a newline is read too. */
int pqjson_finish(PqjsonReader *r);

/* Parses one line (no newline) into *ret. Returns 0, 1 for a blank line (nothing), -EINVAL
 * with *ret_error (static text) for a malformed one, -ENOMEM. */
int pqjson_parse_line(const char *line, size_t len, QueueMessage *ret, const char **ret_error);
