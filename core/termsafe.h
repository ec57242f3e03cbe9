/* Terminal-safe text: what came from outside (logs, banners, DNS, command output) is made
 * harmless and measurable before any layer shows it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum TermsafeFlags {
        TERMSAFE_KEEP_NEWLINE = 1 << 0, /* keep '\n' (multi-line detail); else it becomes a space */
        TERMSAFE_KEEP_TAB     = 1 << 1, /* keep '\t'; else it becomes a space */
} TermsafeFlags;

/* Copies len bytes of s (need not be NUL-terminated, may hold NULs) into a new string where:
 * - invalid or overlong UTF-8, surrogates and code points > U+10FFFF become U+FFFD;
 * - C0 controls (incl. ESC, so no escape sequence survives), DEL, C1 controls
 *   (U+0080..U+009F, incl. the 8-bit CSI), bidirectional overrides/isolates
 *   (U+202A..U+202E, U+2066..U+2069) and other non-printing format characters become
 *   U+FFFD; '\r' is dropped; '\n' and '\t' per flags.
 * Returns 0 and *ret, or -ENOMEM. */
int termsafe_dup(const char *s, size_t len, TermsafeFlags flags, char **ret);

/* Same for a NUL-terminated string; returns NULL only on allocation failure (s NULL gives ""). */
char *termsafe_strdup(const char *s, TermsafeFlags flags);

/* Display width in terminal columns of a string that passed termsafe (valid UTF-8):
 * wide (CJK) characters count 2, combining marks 0. Independent of the process locale. */
size_t termsafe_width(const char *s);

/* A copy of s cut to at most `columns` display columns (never splitting a character;
 * when cut, the last column is "…" when it fits), padded with spaces to exactly
 * `columns` when pad is true. Returns NULL on allocation failure. */
char *termsafe_fit(const char *s, size_t columns, bool pad);

/* Writes s (trusted text such as a translated column header) to f padded with spaces to
 * `columns` display columns, like printf's %-*s (columns < 0: on the left) or %*s
 * (columns > 0: on the right), but counting columns, not bytes: a CJK character takes
 * two. Never cuts: wider text is written whole. Returns what fputs returns. */
int termsafe_fputs_padded(FILE *f, const char *s, int columns);

/* Lower-level pieces, shared with the INI reader and the tests. */
#include <stdint.h>

#define UTF8_INVALID UINT32_MAX

/* Decodes one character from s[0..len) (len > 0). Returns the bytes consumed (1..4) and the
 * code point in *ret_cp, or UTF8_INVALID there for an ill-formed sequence (overlong,
 * surrogate, > U+10FFFF, truncated, stray byte); then the bytes consumed are its maximal
 * subpart, so each ill-formed piece counts as one replacement character (Unicode ch. 3.9). */
size_t utf8_decode(const char *s, size_t len, uint32_t *ret_cp);
bool utf8_is_valid(const char *s, size_t len);

/* True when termsafe_dup keeps cp as it is ('\n' and '\t' are not: they depend on flags). */
bool termsafe_codepoint_is_safe(uint32_t cp);

/* Columns of one code point (0, 1 or 2) as termsafe_width counts it; the _fallback variant
 * is the built-in table used when the C.UTF-8 locale is missing (exposed for tests). */
unsigned termsafe_codepoint_width(uint32_t cp);
unsigned termsafe_codepoint_width_fallback(uint32_t cp);
