/* Terminal-safe text: UTF-8 decoding, replacement of anything a terminal would act on, and
 * display width that does not depend on the process locale. */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "macro.h"
#include "termsafe.h"

#define REPLACEMENT 0xFFFDu
#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */

typedef struct Range {
        uint32_t first, last;
} Range;

static bool in_ranges(uint32_t cp, const Range *r, size_t n) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cp < r[mid].first)
                        hi = mid;
                else if (cp > r[mid].last)
                        lo = mid + 1;
                else
                        return true;
        }
        return false;
}

size_t utf8_decode(const char *str, size_t len, uint32_t *ret_cp) {
        const unsigned char *s = (const unsigned char *) str;
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        size_t need;
        uint32_t cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
                cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                cp = c & 0x0F;
                if (c == 0xE0)
                        lo = 0xA0;      /* overlong */
                else if (c == 0xED)
                        hi = 0x9F;      /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                cp = c & 0x07;
                if (c == 0xF0)
                        lo = 0x90;      /* overlong */
                else if (c == 0xF4)
                        hi = 0x8F;      /* > U+10FFFF */
        } else {
                /* continuation byte without a lead, C0/C1 (always overlong), F5..FF */
                *ret_cp = UTF8_INVALID;
                return 1;
        }

        for (size_t i = 1; i <= need; i++) {
                if (i >= len || s[i] < lo || s[i] > hi) {
                        /* the maximal subpart seen so far is one ill-formed piece */
                        *ret_cp = UTF8_INVALID;
                        return i;
                }
                cp = (cp << 6) | (s[i] & 0x3F);
                lo = 0x80;
                hi = 0xBF;
        }
        *ret_cp = cp;
        return need + 1;
}

bool utf8_is_valid(const char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                i += utf8_decode(s + i, len - i, &cp);
                if (cp == UTF8_INVALID)
                        return false;
        }
        return true;
}

static size_t utf8_encode(uint32_t cp, char out[static 4]) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xC0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xE0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        return 4;
}

/* Invisible format characters (Unicode category Cf, plus the line/paragraph separators)
 * that can hide or reorder text. ZWNJ/ZWJ (U+200C, U+200D) stay: Persian, Indic scripts
 * and emoji sequences need them, and they cannot move other text. Sorted. */
static const Range unsafe_format[] = {
        { 0x00AD, 0x00AD },     /* soft hyphen: terminals disagree on its width */
        { 0x0600, 0x0605 },
        { 0x061C, 0x061C },     /* Arabic letter mark (bidi) */
        { 0x06DD, 0x06DD },
        { 0x070F, 0x070F },
        { 0x0890, 0x0891 },
        { 0x08E2, 0x08E2 },
        { 0x180E, 0x180E },
        { 0x200B, 0x200B },     /* zero width space */
        { 0x200E, 0x200F },     /* LRM, RLM */
        { 0x2028, 0x202E },     /* line/paragraph separator, bidi embeddings and overrides */
        { 0x2060, 0x206F },     /* word joiner .. invisible operators, bidi isolates, deprecated */
        { 0xFEFF, 0xFEFF },     /* BOM / zero width no-break space */
        { 0xFFF9, 0xFFFB },     /* interlinear annotation */
        { 0x110BD, 0x110BD },
        { 0x110CD, 0x110CD },
        { 0x13430, 0x1343F },
        { 0x1BCA0, 0x1BCA3 },
        { 0x1D173, 0x1D17A },
        { 0xE0001, 0xE0001 },   /* language tag */
        { 0xE0020, 0xE007F },   /* tag characters: invisible ASCII */
};

bool termsafe_codepoint_is_safe(uint32_t cp) {
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
                return false;
        if (cp >= 0xD800 && cp <= 0xDFFF)
                return false;
        if (cp > 0x10FFFF)
                return false;
        return !in_ranges(cp, unsafe_format, ELEMENTSOF(unsafe_format));
}

int termsafe_dup(const char *s, size_t len, TermsafeFlags flags, char **ret) {
        char *buf, *p;

        if (!s)
                len = 0;
        /* every input byte becomes at most one U+FFFD (3 bytes) */
        if (len > (SIZE_MAX - 1) / 3)
                return -ENOMEM;
        buf = malloc(len * 3 + 1);
        if (!buf)
                return -ENOMEM;

        p = buf;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = utf8_decode(s + i, len - i, &cp);

                if (cp == '\n')
                        *p++ = (flags & TERMSAFE_KEEP_NEWLINE) ? '\n' : ' ';
                else if (cp == '\t')
                        *p++ = (flags & TERMSAFE_KEEP_TAB) ? '\t' : ' ';
                else if (cp == '\r')
                        ; /* dropped: it only serves to overwrite what came before */
                else if (cp == UTF8_INVALID || !termsafe_codepoint_is_safe(cp))
                        p += utf8_encode(REPLACEMENT, p);
                else {
                        /* valid and safe: copy the original bytes */
                        memcpy(p, s + i, n);
                        p += n;
                }
                i += n;
        }
        *p = '\0';

        /* give back the slack of the worst-case estimate when it matters */
        if ((size_t) (p - buf) + 1 < len * 3 + 1 && len > 4096) {
                char *shrunk = realloc(buf, (size_t) (p - buf) + 1);
                if (shrunk)
                        buf = shrunk;
        }
        *ret = buf;
        return 0;
}

char *termsafe_strdup(const char *s, TermsafeFlags flags) {
        char *r;

        if (termsafe_dup(s, s ? strlen(s) : 0, flags, &r) < 0)
                return NULL;
        return r;
}

/* --- width --- */

/* East Asian wide and fullwidth blocks, and the emoji blocks that terminals draw wide. */
static const Range wide_fallback[] = {
        { 0x1100, 0x115F },     /* Hangul Jamo initial consonants */
        { 0x2E80, 0xA4CF },     /* CJK radicals .. Yi */
        { 0xAC00, 0xD7A3 },     /* Hangul syllables */
        { 0xF900, 0xFAFF },     /* CJK compatibility ideographs */
        { 0xFE30, 0xFE4F },     /* CJK compatibility forms */
        { 0xFF00, 0xFF60 },     /* fullwidth forms */
        { 0xFFE0, 0xFFE6 },
        { 0x1F300, 0x1F64F },   /* pictographs, emoticons */
        { 0x1F900, 0x1F9FF },   /* supplemental pictographs */
        { 0x20000, 0x3FFFD },   /* CJK extensions B.. */
};

/* Combining marks and other characters drawn over their neighbour. */
static const Range zero_fallback[] = {
        { 0x0300, 0x036F },     /* combining diacritical marks */
        { 0x0483, 0x0489 },
        { 0x0591, 0x05BD },
        { 0x0610, 0x061A },
        { 0x064B, 0x065F },
        { 0x0E31, 0x0E31 },
        { 0x0E34, 0x0E3A },
        { 0x0E47, 0x0E4E },
        { 0x1160, 0x11FF },     /* Hangul Jamo medial vowels and final consonants */
        { 0x1AB0, 0x1AFF },
        { 0x1DC0, 0x1DFF },
        { 0x200C, 0x200D },     /* ZWNJ, ZWJ */
        { 0x20D0, 0x20FF },
        { 0x302A, 0x302F },
        { 0x3099, 0x309A },
        { 0xFE00, 0xFE0F },     /* variation selectors */
        { 0xFE20, 0xFE2F },
        { 0xE0100, 0xE01EF },
};

unsigned termsafe_codepoint_width_fallback(uint32_t cp) {
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
                return 0;
        if (cp < 0x7F)
                return 1;
        if (in_ranges(cp, zero_fallback, ELEMENTSOF(zero_fallback)))
                return 0;
        /* checked after the zero table: 302A..302F and 3099..309A sit inside 2E80..A4CF */
        if (in_ranges(cp, wide_fallback, ELEMENTSOF(wide_fallback)))
                return 2;
        return 1;
}

static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale = (locale_t) 0;

static void utf8_locale_init(void) {
        /* Never freed: it lives as long as the process, like the global locale. */
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
}

static unsigned width_in(locale_t loc, uint32_t cp) {
        if (cp >= 0x20 && cp < 0x7F)
                return 1;
        /* controls do not reach here after termsafe; count them like the fallback does */
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
                return 0;
        if (!loc)
                return termsafe_codepoint_width_fallback(cp);

        /* wcwidth() reads the thread's current locale; switch only this thread, briefly. */
        locale_t old = uselocale(loc);
        int w = wcwidth((wchar_t) cp);
        uselocale(old);

        /* unassigned or non-printing: the terminal still advances, count one column */
        if (w < 0)
                return 1;
        return (unsigned) MIN(w, 2);
}

static locale_t width_locale(void) {
        pthread_once(&utf8_locale_once, utf8_locale_init);
        return utf8_locale;
}

unsigned termsafe_codepoint_width(uint32_t cp) {
        return width_in(width_locale(), cp);
}

size_t termsafe_width(const char *s) {
        locale_t loc;
        size_t len, width = 0;

        if (!s)
                return 0;
        loc = width_locale();
        len = strlen(s);
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                i += utf8_decode(s + i, len - i, &cp);
                width += cp == UTF8_INVALID ? 1 : width_in(loc, cp);
        }
        return width;
}

int termsafe_fputs_padded(FILE *f, const char *s, int columns) {
        size_t want = columns < 0 ? (size_t) -(long) columns : (size_t) columns;
        size_t w = termsafe_width(s);
        size_t pad = w < want ? want - w : 0;

        if (columns > 0)
                for (size_t i = 0; i < pad; i++)
                        fputc(' ', f);
        int r = fputs(s ? s : "", f);
        if (columns < 0)
                for (size_t i = 0; i < pad; i++)
                        fputc(' ', f);
        return r;
}

char *termsafe_fit(const char *s, size_t columns, bool pad) {
        _cleanup_free_ char *safe = NULL;
        char *out;
        size_t len, cut, width = 0, total;
        locale_t loc;

        /* Re-sanitising is idempotent for termsafe output and turns '\n' and '\t' into
         * spaces, which is what a one-line cell needs anyway. */
        safe = termsafe_strdup(s, 0);
        if (!safe)
                return NULL;
        len = strlen(safe);
        loc = width_locale();

        total = termsafe_width(safe);
        if (total <= columns)
                cut = len;
        else {
                /* keep what fits in columns - 1, then the ellipsis */
                size_t room = columns > 0 ? columns - 1 : 0;

                cut = 0;
                while (cut < len) {
                        uint32_t cp;
                        size_t n = utf8_decode(safe + cut, len - cut, &cp);
                        unsigned w = width_in(loc, cp);

                        if (width + w > room)
                                break;
                        width += w;
                        cut += n;
                }
        }

        size_t extra_bytes = cut < len && columns > 0 ? strlen(ELLIPSIS) : 0;
        size_t shown = cut < len ? width + (columns > 0) : total;
        size_t padding = pad && shown < columns ? columns - shown : 0;

        out = malloc(cut + extra_bytes + padding + 1);
        if (!out)
                return NULL;
        memcpy(out, safe, cut);
        memcpy(out + cut, ELLIPSIS, extra_bytes);
        memset(out + cut + extra_bytes, ' ', padding);
        out[cut + extra_bytes + padding] = '\0';
        return out;
}
