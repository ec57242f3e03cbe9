/* Fuzzes terminal-safe text: whatever comes in, what goes out is valid UTF-8 with no
 * control characters (C0, DEL, C1) other than the '\n' and '\t' the flags keep, is a fixed
 * point, and fits the columns asked for. Input: byte 0 = columns, byte 1 bit 0 = pad,
 * the rest = text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "termsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_safe(const char *s, TermsafeFlags flags) {
        size_t len = strlen(s);

        if (!utf8_is_valid(s, len))
                abort();
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                i += utf8_decode(s + i, len - i, &cp);
                if (cp == '\n' && (flags & TERMSAFE_KEEP_NEWLINE))
                        continue;
                if (cp == '\t' && (flags & TERMSAFE_KEEP_TAB))
                        continue;
                if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || !termsafe_codepoint_is_safe(cp))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t columns;
        bool pad;
        const char *text;

        if (size < 2 || size > 64 * 1024)
                return 0;
        columns = data[0];
        pad = data[1] & 1;
        text = (const char *) data + 2;
        size -= 2;

        for (unsigned flags = 0; flags < 4; flags++) {
                _cleanup_free_ char *out = NULL, *again = NULL, *fit = NULL;

                if (termsafe_dup(text, size, flags, &out) < 0)
                        return 0;
                check_safe(out, flags);
                /* sanitising twice changes nothing */
                if (termsafe_dup(out, strlen(out), flags, &again) < 0)
                        return 0;
                if (!streq(out, again))
                        abort();

                size_t width = termsafe_width(out);
                fit = termsafe_fit(out, columns, pad);
                if (!fit)
                        return 0;
                check_safe(fit, 0);
                size_t fw = termsafe_width(fit);
                if (fw > columns || (pad && fw != columns))
                        abort();
                /* nothing is cut when it fits */
                if (width <= columns && !(flags & (TERMSAFE_KEEP_NEWLINE | TERMSAFE_KEEP_TAB)) &&
                    strncmp(fit, out, strlen(out)) != 0)
                        abort();
        }

        /* the NUL-terminated entry points accept raw bytes too */
        _cleanup_free_ char *copy = strndup(text, size), *s = NULL, *f = NULL;
        if (!copy)
                return 0;
        s = termsafe_strdup(copy, TERMSAFE_KEEP_NEWLINE | TERMSAFE_KEEP_TAB);
        if (s)
                check_safe(s, TERMSAFE_KEEP_NEWLINE | TERMSAFE_KEEP_TAB);
        (void) termsafe_width(copy);
        f = termsafe_fit(copy, columns, pad);
        if (f)
                check_safe(f, 0);
        return 0;
}
