/* Unit tests for core/words: word_in over the list forms mxdeck meets (catalog groups,
 * os-release ID_LIKE, Dovecot's protocols). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include "macro.h"
#include "words.h"

static void test_word_in(void **state) {
        static const struct {
                const char *list, *word;
                bool found;
        } cases[] = {
                { "port tls smtp imap pop3", "port", true },      /* first */
                { "port tls smtp imap pop3", "pop3", true },      /* last */
                { "port tls smtp imap pop3", "smtp", true },
                { "port tls smtp imap pop3", "pop", false },      /* a prefix is not the word */
                { "port tls smtp imap pop3", "pop33", false },
                { "port tls smtp imap pop3", "mtp", false },      /* nor a suffix */
                { "port tls smtp imap pop3", "tls smtp", false }, /* one word only */
                { "imap, pop3,lmtp", "pop3", true },              /* Dovecot writes commas */
                { "imap, pop3,lmtp", "lmtp", true },
                { "debian\tubuntu", "ubuntu", true },             /* tabs */
                { "  rhel  fedora  ", "fedora", true },           /* runs of separators */
                { "  rhel  fedora  ", "", false },
                { "", "imap", false },
                { " , ", "imap", false },
                { NULL, "imap", false },
                { "imap", NULL, false },
                { "IMAP", "imap", false },                        /* exact case */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (word_in(cases[i].list, cases[i].word) != cases[i].found)
                        fail_msg("word_in(\"%s\", \"%s\") should be %s", strempty(cases[i].list),
                                 strempty(cases[i].word), cases[i].found ? "true" : "false");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_word_in),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
