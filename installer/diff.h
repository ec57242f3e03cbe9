/* Unified diffs of two texts, as `diff -u` prints them. */
#pragma once

#include <stddef.h>

/* Appends to *buf (a growing string, may be NULL at first) the unified diff of old and new
 * with 3 lines of context, headed "--- a/PATH" / "+++ b/PATH" (old NULL: "/dev/null").
 * Nothing is appended when the texts are equal. Returns 0 or -ENOMEM. */
int diff_unified(const char *path, const char *old, size_t old_size,
                 const char *new, size_t new_size, char **buf);
