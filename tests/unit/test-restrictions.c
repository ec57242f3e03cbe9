/* Relay-restriction walk and mynetworks breadth (config.relay's judgement). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "macro.h"
#include "postconf.h"
#include "restrictions.h"

static void test_walk(void **state) {
        static const struct {
                const char *list;
                RelayVerdict verdict;
                const char *culprit;
                bool mynetworks, sasl;
        } cases[] = {
                { "", RELAY_EMPTY, NULL, false, false },
                { "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", RELAY_GUARDED,
                  "defer_unauth_destination", true, true },
                { "permit_mynetworks permit_sasl_authenticated reject_unauth_destination", RELAY_GUARDED,
                  "reject_unauth_destination", true, true },
                { "permit_sasl_authenticated,reject", RELAY_GUARDED, "reject", false, true },
                { "permit_mynetworks, permit", RELAY_OPEN, "permit", true, false },
                { "permit, reject_unauth_destination", RELAY_OPEN, "permit", false, false },
                { "permit_mynetworks, check_client_access hash:/etc/postfix/access", RELAY_UNGUARDED, NULL, true, false },
                { "check_recipient_access hash:/etc/postfix/permit, reject_unauth_destination", RELAY_GUARDED,
                  "reject_unauth_destination", false, false },
                { "permit_auth_destination, reject", RELAY_GUARDED, "reject", false, false },
                { "reject_unauth_pipelining\n\tpermit_sasl_authenticated\n\treject_unauth_destination", RELAY_GUARDED,
                  "reject_unauth_destination", false, true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **tokens = NULL;
                assert_int_equal(postfix_list_split(cases[i].list, &tokens), 0);
                RelayWalk w = relay_walk(tokens);
                if (w.verdict != cases[i].verdict)
                        fail_msg("case %zu '%s': verdict %d, want %d", i, cases[i].list, w.verdict, cases[i].verdict);
                if (cases[i].culprit)
                        assert_string_equal(w.culprit, cases[i].culprit);
                else
                        assert_null(w.culprit);
                assert_int_equal(w.permits_mynetworks, cases[i].mynetworks);
                assert_int_equal(w.permits_sasl, cases[i].sasl);
        }
}

static void test_mynetworks(void **state) {
        static const struct {
                const char *value;
                bool open;
                const char *entry;
        } cases[] = {
                { "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", false, NULL },
                { "127.0.0.0/8 0.0.0.0/0", true, "0.0.0.0/0" },
                { "10.0.0.0/8", false, NULL },
                { "1.0.0.0/1", true, "1.0.0.0/1" },
                { "[::]/0", true, "[::]/0" },
                { "[2001:db8::]/32", false, NULL },
                { "hash:/etc/postfix/network_table", false, NULL },
                { "cidr:/etc/postfix/0", false, NULL },
                { "192.0.2.1", false, NULL },
                { "", false, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **tokens = NULL;
                const char *entry = NULL;
                assert_int_equal(postfix_list_split(cases[i].value, &tokens), 0);
                bool open = mynetworks_is_open(tokens, &entry);
                if (open != cases[i].open)
                        fail_msg("case '%s': open=%d", cases[i].value, open);
                if (cases[i].entry)
                        assert_string_equal(entry, cases[i].entry);
        }
}

static void test_split(void **state) {
        _cleanup_strv_free_ char **v = NULL;
        assert_int_equal(postfix_list_split(" a,b ,, c\n\td ", &v), 0);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[1], "b");
        assert_string_equal(v[2], "c");
        assert_string_equal(v[3], "d");
        assert_null(v[4]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_mynetworks),
                cmocka_unit_test(test_split),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
