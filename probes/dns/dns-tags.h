/* The tag=value; lists of DKIM key records (RFC 6376 3.2), DMARC (RFC 7489 6.4),
 * MTA-STS and TLS-RPT TXT records. */
#pragma once

#include <stddef.h>

#define TAGS_MAX 64

typedef struct Tag {
        char *name;
        char *value;  /* folding whitespace removed at both ends; inner WSP kept */
} Tag;

typedef struct TagList {
        Tag *tags;
        size_t n;
} TagList;

/* Parses text[0..len). Tag names are ALPHA *(ALPHA / DIGIT / "_"); values are
 * %x21-3A / %x3C-7E with inner whitespace. A duplicate tag, a missing '=', a NUL or any
 * other byte outside the grammar is -EINVAL with *ret_error (when non-NULL); more than
 * TAGS_MAX tags is -E2BIG. */
int tags_parse(const char *text, size_t len, TagList *ret, char **ret_error);

/* tags_parse for a record that must start with v=VERSION (DMARC1, STSv1, TLSRPTv1), at
 * most max_len bytes (-E2BIG beyond). */
int tags_parse_record(const char *text, size_t len, size_t max_len, const char *version, TagList *ret,
                      char **ret_error);

/* The record parsers' error convention: replaces *ret_error (when non-NULL) with the
 * message and returns -EINVAL. */
int record_error(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *tags_get(const TagList *l, const char *name);
void tags_done(TagList *l);
