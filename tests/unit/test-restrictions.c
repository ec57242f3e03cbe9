/* Relay-restriction walk and mynetworks breadth (config.relay's judgement). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "postconf.h"
#include "restrictions.h"
#include "mailconf.h"
#include "finding.h"

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

/* Words before the guard that may let strangers through make the configuration undecided. */
static void test_uncertain(void **state) {
        static const struct {
                const char *list;
                const char *uncertain;
        } cases[] = {
                { "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", NULL },
                { "reject_unauth_pipelining, permit_mynetworks, reject_unauth_destination", NULL },
                { "permit_mynetworks, check_client_access cidr:/etc/postfix/x, reject_unauth_destination",
                  "check_client_access" },
                { "check_policy_service inet:127.0.0.1:10023, reject_unauth_destination", "check_policy_service" },
                { "permit_auth_destination, reject", NULL },
                { "permit_mynetworks, reject_unauth_destination, check_client_access hash:/x", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **tokens = NULL;
                assert_int_equal(postfix_list_split(cases[i].list, &tokens), 0);
                RelayWalk w = relay_walk(tokens);
                if (cases[i].uncertain)
                        assert_string_equal(w.uncertain, cases[i].uncertain);
                else if (w.uncertain)
                        fail_msg("case '%s': uncertain '%s'", cases[i].list, w.uncertain);
        }
}

static void test_known_restrictions(void **state) {
        char *classes[] = { "my_class", NULL };
        static const struct {
                const char *word;
                bool known;
                const char *nearest;
        } cases[] = {
                { "reject_unknown_sender_domain", true, "reject_unknown_sender_domain" },
                { "reject_unknwon_sender_domain", false, "reject_unknown_sender_domain" },
                { "permit_mynetwork", false, "permit_mynetworks" },
                { "hash:/etc/postfix/access", true, NULL },
                { "zen.spamhaus.org", true, NULL },
                { "my_class", true, NULL },
                { "completely_bogus_restriction_word", false, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(restriction_is_known(cases[i].word, classes), cases[i].known);
                if (!cases[i].known) {
                        const char *n = restriction_nearest(cases[i].word);
                        if (cases[i].nearest)
                                assert_string_equal(n, cases[i].nearest);
                        else
                                assert_null(n);
                }
        }
}

/* A cidr: table and a "/file" in mynetworks are read; a table wide open is then seen. */
static void test_mynetworks_expand(void **state) {
        char dir[] = "/tmp/mxdeck-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char cidr[128], file[128], spec[160];
        snprintf(cidr, sizeof(cidr), "%s/mynetworks.cidr", dir);
        snprintf(file, sizeof(file), "%s/nets", dir);
        FILE *f = fopen(cidr, "we");
        assert_non_null(f);
        fputs("# trusted\n127.0.0.0/8 OK\n\n0.0.0.0/0   OK\n", f);
        fclose(f);
        f = fopen(file, "we");
        assert_non_null(f);
        fputs("10.0.0.0/8 192.168.0.0/16\n", f);
        fclose(f);

        snprintf(spec, sizeof(spec), "cidr:%s", cidr);
        char *words[] = { "[::1]/128", spec, file, NULL };
        _cleanup_strv_free_ char **entries = NULL;
        _cleanup_free_ char *sources = NULL, *unread = NULL;
        assert_int_equal(mynetworks_expand(NULL, words, &entries, &sources, &unread), 0);
        assert_string_equal(entries[0], "[::1]/128");
        assert_string_equal(entries[1], "127.0.0.0/8");
        assert_string_equal(entries[2], "0.0.0.0/0");
        assert_string_equal(entries[3], "10.0.0.0/8");
        assert_string_equal(entries[4], "192.168.0.0/16");
        assert_null(entries[5]);
        assert_null(unread);
        assert_non_null(strstr(sources, "127.0.0.0/8 0.0.0.0/0"));
        const char *wide = NULL;
        assert_true(mynetworks_is_open(entries, &wide));
        assert_string_equal(wide, "0.0.0.0/0");
        assert_int_equal(mynetworks_contains(NULL, words + 2, "192.168.7.1"), 1);
        assert_int_equal(mynetworks_contains(NULL, words + 2, "172.16.0.1"), 0);
        assert_int_equal(mynetworks_contains(NULL, words, "::1"), 1);

        char *missing[] = { "cidr:/nonexistent/x.cidr", NULL };
        _cleanup_strv_free_ char **e2 = NULL;
        _cleanup_free_ char *s2 = NULL, *u2 = NULL;
        assert_int_equal(mynetworks_expand(NULL, missing, &e2, &s2, &u2), 0);
        assert_non_null(u2);
        unlink(cidr);
        unlink(file);
        rmdir(dir);
}

/* A cidr: table of many lines (a real one had 56,662) is read whole, every network in
 * order, and listed once in the sources. Joining it word by word was quadratic. */
static void test_mynetworks_large_table(void **state) {
        enum { LINES = 50000 }; /* under the 1 MiB a table may have */
        char dir[] = "/tmp/mxdeck-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char cidr[128], spec[160];
        snprintf(cidr, sizeof(cidr), "%s/big.cidr", dir);
        FILE *f = fopen(cidr, "we");
        assert_non_null(f);
        for (unsigned i = 0; i < LINES; i++)
                fprintf(f, "%s10.%u.%u.0/24\tOK\n", i % 1000 == 0 ? "# block\n" : "", i / 256 % 256, i % 256);
        fclose(f);

        snprintf(spec, sizeof(spec), "cidr:%s", cidr);
        char *words[] = { "127.0.0.0/8", spec, NULL };
        _cleanup_strv_free_ char **entries = NULL;
        _cleanup_free_ char *sources = NULL, *unread = NULL;
        assert_int_equal(mynetworks_expand(NULL, words, &entries, &sources, &unread), 0);
        assert_null(unread);
        assert_string_equal(entries[0], "127.0.0.0/8");
        size_t n = 1;
        char want[32];
        for (; entries[n]; n++) {
                unsigned i = (unsigned) n - 1;
                snprintf(want, sizeof(want), "10.%u.%u.0/24", i / 256 % 256, i % 256);
                assert_string_equal(entries[n], want);
        }
        assert_int_equal(n, LINES + 1);
        /* "cidr:PATH: 10.0.0.0/24 10.0.1.0/24 ... 10.106.95.0/24": every word, one space apart. */
        size_t spaces = 0;
        for (const char *p = strchr(sources, ' '); p; p = strchr(p + 1, ' '))
                spaces++;
        assert_int_equal(spaces, LINES);
        assert_non_null(strstr(sources, ": 10.0.0.0/24 10.0.1.0/24 "));
        snprintf(want, sizeof(want), " 10.%u.%u.0/24", (LINES - 1) / 256 % 256, (LINES - 1) % 256);
        assert_string_equal(sources + strlen(sources) - strlen(want), want);
        const char *wide = NULL;
        assert_false(mynetworks_is_open(entries, &wide));
        unlink(cidr);
        rmdir(dir);
}

/* The Dovecot line in force is found (last file wins, not inside sections) and the
 * remedy's sed changes exactly it. */
static void test_dovecot_setting(void **state) {
        char root[] = "/tmp/mxdeck-root-XXXXXX";
        char path[256];
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/etc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/dovecot", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/dovecot/conf.d", root);
        assert_int_equal(mkdir(path, 0755), 0);
        static const struct {
                const char *name, *text;
        } files[] = {
                { "dovecot.conf", "!include conf.d/*.conf\n" },
                { "conf.d/10-auth.conf", "#disable_plaintext_auth = yes\ndisable_plaintext_auth = yes\n" },
                { "conf.d/20-imap.conf", "protocol imap {\n  disable_plaintext_auth = no\n}\n" },
                { "local.conf", "  disable_plaintext_auth = no # for the old client\nssl = yes\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/etc/dovecot/%s", root, files[i].name);
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fputs(files[i].text, f);
                fclose(f);
        }
        _cleanup_free_ char *file = NULL, *line = NULL;
        assert_int_equal(dovecot_setting_find(root, "disable_plaintext_auth", &file, &line), 0);
        assert_non_null(strstr(file, "/etc/dovecot/local.conf"));
        assert_string_equal(line, "  disable_plaintext_auth = no # for the old client");
        assert_int_equal(dovecot_setting_find(root, "ssl_min_protocol", &file, &line), -ENOENT);

        FindingList l = {};
        Finding *f = findings_addf(&l, "imap.plaintext-auth", "", STATUS_CRITICAL, "x");
        assert_non_null(f);
        assert_int_equal(remedy_dovecot_set(f, root, "disable_plaintext_auth", "yes", "10-auth.conf"), 0);
        assert_string_equal(f->commands[0], "sed -i 's|^  disable_plaintext_auth = no # for the old client$|  "
                                            "disable_plaintext_auth = yes|' /etc/dovecot/local.conf");
        /* Nobody sets it: appended to local.conf. */
        assert_int_equal(remedy_dovecot_set(f, root, "ssl_min_protocol", "TLSv1.2", "10-ssl.conf"), 0);
        assert_string_equal(f->commands[1], "sed -i '$a ssl_min_protocol = TLSv1.2' /etc/dovecot/local.conf");
        /* A value a sed expression cannot carry safely: no command, the prose says it. */
        assert_int_equal(remedy_dovecot_set(f, root, "ssl_cert", "</a|b", "10-ssl.conf"), -ENOENT);
        findings_done(&l);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/etc/dovecot/%s", root, files[i].name);
                unlink(path);
        }
        snprintf(path, sizeof(path), "%s/etc/dovecot/conf.d", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc/dovecot", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc", root);
        rmdir(path);
        rmdir(root);
}

/* A Dovecot line with an escape sequence, or of a megabyte, reaches findings only through
 * termsafe and cut; no sed command is made from a line that had to be changed. */
static void test_dovecot_setting_hostile(void **state) {
        char root[] = "/tmp/mxdeck-root-XXXXXX";
        char path[256];
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/etc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/dovecot", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/etc/dovecot/local.conf", root);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs("ssl_min_protocol = TLSv1 \x1b]0;owned\x07\x1b[2J\x9b" "1m\n", f);
        fputs("mail_plugins = ", f);
        for (int i = 0; i < 100000; i++)
                fputs("quota ", f);
        fputs("\n", f);
        fclose(f);

        _cleanup_free_ char *file = NULL, *line = NULL, *file2 = NULL, *line2 = NULL;
        assert_int_equal(dovecot_setting_find(root, "ssl_min_protocol", &file, &line), 1);
        assert_null(strpbrk(line, "\x1b\x07"));
        assert_true(strncmp(line, "ssl_min_protocol = TLSv1 ", 25) == 0);
        assert_int_equal(dovecot_setting_find(root, "mail_plugins", &file2, &line2), 1);
        assert_true(strlen(line2) <= DOVECOT_LINE_SHOWN + strlen("…"));
        assert_true(strncmp(line2, "mail_plugins = quota quota ", 27) == 0);

        FindingList l = {};
        Finding *fd = findings_addf(&l, "imap.tls", "", STATUS_CRITICAL, "x");
        assert_non_null(fd);
        assert_int_equal(remedy_dovecot_set(fd, root, "ssl_min_protocol", "TLSv1.2", "10-ssl.conf"), -ENOENT);
        assert_int_equal(remedy_dovecot_set(fd, root, "mail_plugins", "quota", "10-mail.conf"), -ENOENT);
        assert_null(fd->commands);
        findings_done(&l);
        unlink(path);
        snprintf(path, sizeof(path), "%s/etc/dovecot", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc", root);
        rmdir(path);
        rmdir(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_mynetworks),
                cmocka_unit_test(test_split),
                cmocka_unit_test(test_uncertain),
                cmocka_unit_test(test_known_restrictions),
                cmocka_unit_test(test_mynetworks_expand),
                cmocka_unit_test(test_mynetworks_large_table),
                cmocka_unit_test(test_dovecot_setting),
                cmocka_unit_test(test_dovecot_setting_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
