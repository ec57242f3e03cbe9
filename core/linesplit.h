/* Splitting a byte stream into lines for readers of other programs' output (postqueue -j,
 * postqueue -p): whole lines in a chunk are passed without a copy, a line split across
 * chunks is gathered, and a line longer than the limit is reported once and skipped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A complete line without its newline; a negative return stops the feed with it. */
typedef int (*LineFunc)(const char *line, size_t len, void *userdata);
/* A line went over the limit: it is skipped up to its newline. Negative stops the feed. */
typedef int (*LineTooLongFunc)(void *userdata);

typedef struct LineSplitter {
        size_t max;           /* longest line accepted, in bytes */
        char *buf;            /* a line gathered across chunks */
        size_t len, allocated;
        bool skipping;        /* inside an overlong line */
} LineSplitter;

#define LINE_SPLITTER_INIT(m) ((LineSplitter) { .max = (m) })

int line_split_feed(LineSplitter *s, const char *data, size_t size, LineFunc on_line, LineTooLongFunc on_too_long,
                    void *userdata);
/* End of input: a last line without a newline is passed too. */
int line_split_finish(LineSplitter *s, LineFunc on_line, void *userdata);
void line_splitter_done(LineSplitter *s);
