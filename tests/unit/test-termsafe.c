/* Terminal-safe text: hostile strings in, harmless text out; widths and cutting for CJK. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "osrelease.h"
#include "termsafe.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

typedef struct Case {
        const char *name;
        const char *in;
        size_t len;             /* 0: strlen(in) */
        TermsafeFlags flags;
        const char *out;
} Case;

static const Case cases[] = {
        { "clear screen", "\x1b[2Jgone", 0, 0, R "[2Jgone" },
        { "colour then reset", "\x1b[31mred\x1b[0m", 0, 0, R "[31mred" R "[0m" },
        { "OSC 52 clipboard write", "\x1b]52;c;cm0gLXJmIH4=\a", 0, 0, R "]52;c;cm0gLXJmIH4=" R },
        { "OSC 8 hyperlink", "\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\", 0, 0,
          R "]8;;http://evil" R "\\x" R "]8;;" R "\\" },
        { "8-bit CSI as UTF-8", "\xc2\x9b" "2J", 0, 0, R "2J" },
        { "bare 8-bit CSI byte", "\x9b" "2J", 0, 0, R "2J" },
        { "C1 NEL and OSC", "\xc2\x85\xc2\x9d", 0, 0, R R },
        { "NUL inside", "a\0b", 3, 0, "a" R "b" },
        { "carriage return overwrite", "Delivered\rFAILED!!!", 0, 0, "DeliveredFAILED!!!" },
        { "CRLF line", "250 OK\r\n", 0, 0, "250 OK " },
        { "backspaces", "evil\b\b\b\bgood", 0, 0, "evil" R R R R "good" },
        { "DEL", "a\x7f" "b", 0, 0, "a" R "b" },
        { "bell and vertical tab", "\a\v\f", 0, 0, R R R },
        { "RLO reverses filenames", "invoice\xe2\x80\xaegpj.exe", 0, 0, "invoice" R "gpj.exe" },
        { "bidi isolates", "\xe2\x81\xa6x\xe2\x81\xa9", 0, 0, R "x" R },
        { "LRM and zero width space", "a\xe2\x80\x8e" "b\xe2\x80\x8b" "c", 0, 0, "a" R "b" R "c" },
        { "BOM", "\xef\xbb\xbfhi", 0, 0, R "hi" },
        { "tag characters", "hi\xf3\xa0\x81\x81", 0, 0, "hi" R },
        { "line separator", "a\xe2\x80\xa8" "b", 0, 0, "a" R "b" },
        { "overlong slash", "\xc0\xaf", 0, 0, R R },
        { "overlong 3-byte", "\xe0\x80\xaf", 0, 0, R R R },
        { "overlong 4-byte", "\xf0\x80\x80\xaf", 0, 0, R R R R },
        { "surrogate", "\xed\xa0\x80", 0, 0, R R R },
        { "above U+10FFFF", "\xf4\x90\x80\x80", 0, 0, R R R R },
        { "F5 lead", "\xf5\x80", 0, 0, R R },
        { "stray continuation", "\x80x", 0, 0, R "x" },
        { "truncated 2-byte at end", "ab\xc3", 0, 0, "ab" R },
        { "truncated 3-byte at end", "ab\xe4\xb8", 0, 0, "ab" R },
        { "truncated 4-byte at end", "\xf0\x9f\x98", 0, 0, R },
        { "truncated then ASCII", "\xe4\xb8x", 0, 0, R "x" },
        { "Chinese unchanged", "邮件服务器", 0, 0, "邮件服务器" },
        { "emoji unchanged", "📬 ok", 0, 0, "📬 ok" },
        { "ZWJ emoji sequence kept", "👩\xe2\x80\x8d💻", 0, 0, "👩\xe2\x80\x8d💻" },
        { "combining accent unchanged", "e\xcc\x81t\xc3\xa9", 0, 0, "e\xcc\x81t\xc3\xa9" },
        { "U+FFFD itself", R, 0, 0, R },
        { "newline becomes space", "a\nb", 0, 0, "a b" },
        { "newline kept", "a\nb", 0, TERMSAFE_KEEP_NEWLINE, "a\nb" },
        { "tab becomes space", "a\tb", 0, 0, "a b" },
        { "tab kept", "a\tb", 0, TERMSAFE_KEEP_TAB, "a\tb" },
        { "mixed", "来自 <a@example.org>: \x1b[5m紧急\x1b[0m\r\n", 0, TERMSAFE_KEEP_NEWLINE,
          "来自 <a@example.org>: " R "[5m紧急" R "[0m\n" },
        { "empty", "", 0, 0, "" },
};

static void test_dup(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_free_ char *out = NULL;
                size_t len = c->len ? c->len : strlen(c->in);

                assert_int_equal(termsafe_dup(c->in, len, c->flags, &out), 0);
                if (!streq(out, c->out))
                        fail_msg("%s: got '%s', expected '%s'", c->name, out, c->out);
                /* the output is a fixed point */
                _cleanup_free_ char *again = NULL;
                assert_int_equal(termsafe_dup(out, strlen(out), c->flags, &again), 0);
                assert_string_equal(again, out);
                assert_true(utf8_is_valid(out, strlen(out)));
        }
}

static void test_strdup(void **state) {
        _cleanup_free_ char *a = termsafe_strdup(NULL, 0), *b = termsafe_strdup("x\x1by", 0);

        assert_string_equal(a, "");
        assert_string_equal(b, "x" R "y");
}

static void test_decode(void **state) {
        uint32_t cp;

        assert_int_equal(utf8_decode("A", 1, &cp), 1);
        assert_int_equal(cp, 'A');
        assert_int_equal(utf8_decode("\xc3\xa9", 2, &cp), 2);
        assert_int_equal(cp, 0xE9);
        assert_int_equal(utf8_decode("\xe9\x82\xae", 3, &cp), 3);
        assert_int_equal(cp, 0x90AE);
        assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
        assert_int_equal(cp, 0x10FFFF);
        assert_int_equal(utf8_decode("\xed\x9f\xbf", 3, &cp), 3); /* U+D7FF, last before surrogates */
        assert_int_equal(cp, 0xD7FF);
        /* maximal subparts */
        assert_int_equal(utf8_decode("\xe9\x82", 2, &cp), 2);
        assert_int_equal(cp, UTF8_INVALID);
        assert_int_equal(utf8_decode("\xe9\x82\x41", 3, &cp), 2);
        assert_int_equal(cp, UTF8_INVALID);
        assert_int_equal(utf8_decode("\xed\xa0\x80", 3, &cp), 1);
        assert_int_equal(cp, UTF8_INVALID);
        assert_int_equal(utf8_decode("\xc1\xbf", 2, &cp), 1);
        assert_int_equal(cp, UTF8_INVALID);
        assert_false(utf8_is_valid("\xff", 1));
        assert_true(utf8_is_valid("", 0));
}

static void test_width(void **state) {
        static const struct {
                const char *s;
                size_t width;
        } widths[] = {
                { "", 0 },
                { "mail", 4 },
                { "邮件服务器", 10 },
                { "📬", 2 },
                { "😀", 2 },
                { "e\xcc\x81", 1 },        /* e + combining acute */
                { "\xcc\x81", 0 },         /* a lone combining mark */
                { "한국어", 6 },
                { "ｍａｉｌ", 8 },          /* fullwidth forms */
                { "café 邮件 📬", 12 },
                { R, 1 },
        };

        /* the result must not depend on the process locale */
        const char *locales[] = { "C", "C.UTF-8", "POSIX" };
        for (size_t l = 0; l < ELEMENTSOF(locales); l++) {
                setlocale(LC_ALL, locales[l]);
                for (size_t i = 0; i < ELEMENTSOF(widths); i++)
                        if (termsafe_width(widths[i].s) != widths[i].width)
                                fail_msg("locale %s: width('%s') = %zu, expected %zu", locales[l],
                                         widths[i].s, termsafe_width(widths[i].s), widths[i].width);
        }
        setlocale(LC_ALL, "C");
        assert_int_equal(termsafe_width(NULL), 0);
        assert_int_equal(termsafe_codepoint_width(0x301), 0);
        assert_int_equal(termsafe_codepoint_width(0x90AE), 2);
}

static void test_width_fallback(void **state) {
        static const struct {
                uint32_t cp;
                unsigned width;
        } table[] = {
                { 'a', 1 }, { ' ', 1 }, { 0x1F, 0 }, { 0xE9, 1 }, { 0x301, 0 }, { 0x1100, 2 },
                { 0x1160, 0 }, { 0x3042, 2 }, { 0x3099, 0 }, { 0x90AE, 2 }, { 0xAC00, 2 },
                { 0xD7A4, 1 }, { 0xFF21, 2 }, { 0xFF61, 1 }, { 0x1F4EC, 2 }, { 0x1F600, 2 },
                { 0x1F680, 1 }, { 0x1F92F, 2 }, { 0x20000, 2 }, { 0x200D, 0 }, { 0xFE0F, 0 },
                { 0xFFFD, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (termsafe_codepoint_width_fallback(table[i].cp) != table[i].width)
                        fail_msg("fallback width U+%04X = %u, expected %u", (unsigned) table[i].cp,
                                 termsafe_codepoint_width_fallback(table[i].cp), table[i].width);
}

static void test_fit(void **state) {
        static const struct {
                const char *s;
                size_t columns;
                bool pad;
                const char *out;
        } fits[] = {
                { "邮件服务器", 10, false, "邮件服务器" },
                { "邮件服务器", 12, true, "邮件服务器  " },
                { "邮件服务器", 9, false, "邮件服务…" },
                { "邮件服务器", 8, false, "邮件服…" },    /* 服 ends at 6, 务 would need 8 */
                { "邮件服务器", 8, true, "邮件服… " },    /* padded to exactly 8 */
                { "邮件", 3, true, "邮…" },
                { "邮件", 2, true, "… " },
                { "邮件", 1, true, "…" },
                { "邮件", 0, true, "" },
                { "abc", 5, true, "abc  " },
                { "abc", 3, true, "abc" },
                { "abcdef", 4, false, "abc…" },
                { "abcdef", 1, false, "…" },
                { "abcdef", 0, false, "" },
                { "e\xcc\x81tude", 3, false, "e\xcc\x81t…" }, /* the mark stays with its letter */
                { "a📬b", 2, true, "a…" },
                { "a📬b", 3, true, "a… " },           /* the wide char never splits */
                { "\x1b[31mred", 20, false, R "[31mred" },
                { "two\nlines", 20, false, "two lines" },
                { "", 3, true, "   " },
        };

        for (size_t i = 0; i < ELEMENTSOF(fits); i++) {
                _cleanup_free_ char *out = termsafe_fit(fits[i].s, fits[i].columns, fits[i].pad);

                assert_non_null(out);
                if (!streq(out, fits[i].out))
                        fail_msg("fit('%s', %zu, %d) = '%s', expected '%s'", fits[i].s,
                                 fits[i].columns, fits[i].pad, out, fits[i].out);
                if (fits[i].pad)
                        assert_int_equal(termsafe_width(out), fits[i].columns);
                else
                        assert_true(termsafe_width(out) <= fits[i].columns);
        }
}

/* Columns padded by display width, as the CLI's tables use it for translated headers. */
static void test_fputs_padded(void **state) {
        static const struct {
                const char *s;
                int columns;
                const char *want;
        } pads[] = {
                { "QUEUE", -10, "QUEUE     " },
                { "QUEUE", 10, "     QUEUE" },
                { "\xe9\x98\x9f\xe5\x88\x97", -10, "\xe9\x98\x9f\xe5\x88\x97      " }, /* 队列: 4 columns */
                { "\xe9\x98\x9f\xe5\x88\x97", 10, "      \xe9\x98\x9f\xe5\x88\x97" },
                { "e\xcc\x81", -3, "e\xcc\x81  " },                  /* a combining accent: 1 column */
                { "\xe9\x98\x9f\xe5\x88\x97", 3, "\xe9\x98\x9f\xe5\x88\x97" }, /* wider: whole, never cut */
                { "MESSAGES", -4, "MESSAGES" },
                { "", 2, "  " },
                { NULL, -2, "  " },
        };
        for (size_t i = 0; i < ELEMENTSOF(pads); i++) {
                char *buf = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&buf, &size);
                assert_non_null(f);
                termsafe_fputs_padded(f, pads[i].s, pads[i].columns);
                assert_int_equal(fclose(f), 0);
                assert_string_equal(buf, pads[i].want);
                free(buf);
        }
}

/* os-release is outside text: a PRETTY_NAME that sets the terminal's title (OSC 0 ... BEL)
 * or clears the screen reaches no terminal; plain values are kept as they are. */
static void test_osrelease_hostile(void **state) {
        char root[] = "/tmp/mxdeck-osrel-XXXXXX", path[128];
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/etc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/os-release", root);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs("PRETTY_NAME=\"Debian \x1b]0;owned\a GNU/Linux \x1b[2J\x9b" "31m\"\nID=debian\n"
              "VERSION_ID=\"12\x1b[8m\"\nID_LIKE='\r\x07'\n", f);
        fclose(f);
        OsRelease os = {};
        assert_int_equal(osrelease_load(root, &os), 0);
        assert_string_equal(os.id, "debian");
        assert_int_equal(os.family, DISTRO_DEBIAN);
        const char *vals[] = { os.pretty_name, os.version_id, os.id_like };
        for (size_t i = 0; i < ELEMENTSOF(vals); i++) {
                assert_non_null(vals[i]);
                assert_null(strpbrk(vals[i], "\x1b\a\r"));
                assert_null(strstr(vals[i], "\xc2\x9b")); /* the 8-bit CSI */
        }
        assert_true(strncmp(os.pretty_name, "Debian ", 7) == 0);
        assert_non_null(strstr(os.pretty_name, "]0;owned"));
        osrelease_done(&os);
        unlink(path);
        snprintf(path, sizeof(path), "%s/etc", root);
        rmdir(path);
        rmdir(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dup),
                cmocka_unit_test(test_strdup),
                cmocka_unit_test(test_decode),
                cmocka_unit_test(test_width),
                cmocka_unit_test(test_width_fallback),
                cmocka_unit_test(test_fit),
                cmocka_unit_test(test_fputs_padded),
                cmocka_unit_test(test_osrelease_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
