/* Unit tests for the wizard's table (tui/wizard.c) without a terminal: every key of the
 * answers schema has a field; what is typed is validated by the answers file's own code,
 * with its very words, and the problem lands on the field it is about; a typed password
 * never appears in the answers text, only its hash, and that text loads again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answers.h"
#include "macro.h"
#include "term.h"
#include "ui.h"
#include "wizard.h"

static char root[] = "/tmp/mxdeck-test-wizard.XXXXXX";

static int setup_root(void **state) {
        return mkdtemp(root) ? 0 : -1;
}

static int teardown_root(void **state) {
        return rmdir(root);
}

/* The sequences terminals send for keys their TERM's database may not list (PuTTY and
 * rxvt Home/End, VT220 function keys, xterm's modified keys): each is one key, and what
 * is not a key is 0 (dropped whole by ui_get_key, never typed into a field). */
static void test_key_sequences(void **state) {
        (void) state;
        static const struct {
                const char *seq;
                int key;
        } cases[] = {
                { "[1~", KEY_HOME }, { "[4~", KEY_END }, { "[7~", KEY_HOME }, { "[8~", KEY_END },
                { "[H", KEY_HOME }, { "[F", KEY_END }, { "OH", KEY_HOME }, { "OF", KEY_END },
                { "[2~", KEY_IC }, { "[3~", KEY_DC }, { "[5~", KEY_PPAGE }, { "[6~", KEY_NPAGE },
                { "[11~", KEY_F(1) }, { "[15~", KEY_F(5) }, { "[17~", KEY_F(6) }, { "[21~", KEY_F(10) },
                { "[24~", KEY_F(12) }, { "OP", KEY_F(1) }, { "OS", KEY_F(4) }, { "[1;2P", KEY_F(1) },
                { "[A", KEY_UP }, { "[1;5C", KEY_RIGHT }, { "OD", KEY_LEFT }, { "[Z", KEY_BTAB },
                { "[3;5~", KEY_DC },
                /* not keys */
                { "[99~", 0 }, { "[~", 0 }, { "[4x~", 0 }, { "[200~", 0 }, { "[?25h", 0 }, { "[0m", 0 },
                { "[P", 0 }, { "OZ", 0 }, { "[", 0 }, { "x4~", 0 }, { "[99999999999~", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int got = ui_key_from_sequence(cases[i].seq, strlen(cases[i].seq));
                if (got != cases[i].key)
                        fail_msg("ESC %s: got %d, want %d", cases[i].seq, got, cases[i].key);
        }
}

static void test_schema_covered(void **state) {
        char **missing = NULL;
        assert_int_equal(wizard_uncovered_keys(&missing), 0);
        for (char **m = missing; *m; m++)
                fprintf(stderr, "no wizard field for [%s]\n", *m);
        assert_null(missing[0]);
        strv_free(missing);
}

/* The message answers_load_buffer gives for text, without its "NAME:LINE: " prefix. */
static char *answers_message(const char *text) {
        Answers *a = NULL;
        char *err = NULL;
        assert_int_equal(answers_load_buffer("x", text, strlen(text), &a, &err), -EINVAL);
        assert_non_null(err);
        const char *m = strchr(err, ' ') + 1; /* "x:3: message" */
        char *r = strdup(m);
        free(err);
        return r;
}

static void test_errors_on_their_field(void **state) {
        static const struct {
                const char *typed[8];
                const char *field;
                const char *message;      /* a part of it */
                const char *same_as;      /* an answers file that must give the same words */
        } cases[] = {
                { { "server hostname=mail", "server domain=example.com" }, "server hostname",
                  "[server] hostname 'mail' is not a fully qualified domain name",
                  "[server]\nhostname = mail\ndomain = example.com\n" },
                { { "server hostname=mail.example.com", "server domain=example.com",
                    "postfix relayhost=[smtp.example.net" }, "postfix relayhost",
                  "[postfix] relayhost '[smtp.example.net' is not valid",
                  "[server]\nhostname = mail.example.com\ndomain = example.com\n[postfix]\nrelayhost = [smtp.example.net\n" },
                { { "server hostname=mail.example.com", "server domain=example.com",
                    "postfix message_size_limit=20M", "postfix mailbox_size_limit=10M" }, "postfix mailbox_size_limit",
                  "is smaller than message_size_limit", NULL },
                { { "server hostname=mail.example.com", "server domain=example.com", "dovecot protocols=imap nntp" },
                  "dovecot protocols", "[dovecot] protocols: unknown protocol 'nntp'", NULL },
                { { "server hostname=mail.example.com", "server domain=example.com", "user  name=alice",
                    "user  password=Correct-horse-9", "user  confirm=Correct-horse-8" },
                  "user  confirm", "the two passwords differ", NULL },
                { { "server hostname=mail.example.com", "server domain=example.com", "user  name=alice" },
                  "user  password", "[user alice] needs a password", NULL },
                { { "server hostname=mail.example.com", "server domain=example.com", "users mode=system",
                    "user  name=Alice", "user  password=Correct-horse-9", "user  confirm=Correct-horse-9" },
                  "user  name", "must be lower-case", NULL },
                { { "server hostname=mail.example.com", "server domain=example.com", "postfix relayhost=a ;b" },
                  "postfix relayhost", "starts a comment", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *field = NULL, *msg = NULL, *text = NULL;
                assert_int_equal(wizard_check(root, cases[i].typed, &field, &msg, &text), 0);
                if (!msg || !strstr(msg, cases[i].message))
                        fail_msg("case %zu: message '%s'", i, msg ? msg : "(none)");
                assert_non_null(field);
                assert_string_equal(field, cases[i].field);
                if (cases[i].same_as) {
                        char *want = answers_message(cases[i].same_as);
                        assert_string_equal(msg, want);
                        free(want);
                }
                free(field);
                free(msg);
                free(text);
        }
}

static void test_password_only_as_hash(void **state) {
        const char *typed[] = { "server hostname=mail.example.com", "server domain=example.com", "users mode=virtual",
                                "user  name=alice", "user  password=Tr0ub4dor&3-long", "user  confirm=Tr0ub4dor&3-long",
                                "user  aliases=info", "postfix message_size_limit=20M", NULL };
        char *field = NULL, *msg = NULL, *text = NULL, *err = NULL;
        Answers *a = NULL;

        assert_int_equal(wizard_check(root, typed, &field, &msg, &text), 0);
        if (msg)
                fail_msg("unexpected problem: %s", msg);
        assert_null(strstr(text, "Tr0ub4dor"));
        assert_non_null(strstr(text, "password_hash = {SHA512-CRYPT}$6$"));
        assert_int_equal(answers_load_buffer("saved", text, strlen(text), &a, &err), 0);
        assert_int_equal(a->n_users, 1);
        assert_string_equal(a->users[0].name, "alice@example.com");
        assert_string_equal(a->users[0].aliases[0], "info@example.com");
        assert_int_equal(a->message_size_limit, 20 << 20);
        assert_int_equal(a->users_mode, ANSWERS_USERS_VIRTUAL);
        answers_free(a);
        free(text);
}

/* The wizard's default host name from /etc/hosts: the first name of the line listing the
 * host, but never a name with control characters or escape sequences in it. */
static void test_fqdn_from_hosts(void **state) {
        char *fqdn = NULL;
        assert_int_equal(wizard_fqdn_from_hosts("127.0.0.1 localhost\n# c\n203.0.113.5 mail.example.com mail\n",
                                                "mail", &fqdn), 1);
        assert_string_equal(fqdn, "mail.example.com");
        free(fqdn);
        static const char *const hostile[] = {
                "203.0.113.5 \x1b]0;owned\a" ".example.com mail\n",
                "203.0.113.5 mail.exa\x1b[2Jmple.com mail\n",
                "203.0.113.5 mail.example.com\x07\x08 mail\n",
                "203.0.113.5 mail.\xc2\x9b" "31m.com mail\n",
                "203.0.113.5 mail.example.com\r\v mail\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                fqdn = NULL;
                assert_int_equal(wizard_fqdn_from_hosts(hostile[i], "mail", &fqdn), 0);
                assert_null(fqdn);
        }
        /* a hostile line does not hide a good one after it */
        assert_int_equal(wizard_fqdn_from_hosts("203.0.113.5 a\x1b" ".example.com mail\n203.0.113.6 mx.example.org mail\n",
                                                "mail", &fqdn), 1);
        assert_string_equal(fqdn, "mx.example.org");
        free(fqdn);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_schema_covered),
                cmocka_unit_test(test_errors_on_their_field),
                cmocka_unit_test(test_password_only_as_hash),
                cmocka_unit_test(test_key_sequences),
                cmocka_unit_test(test_fqdn_from_hosts),
        };
        return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
