/* Unit tests for the DKIM step and `dkim rotate` against a temporary root, Debian and RHEL
 * profiles: opendkim.conf editing (table-driven), the tables, the default selector, the
 * plan/apply/idempotence/rollback of the step, and the rotation stages' refusals.
 *
 * Recorded commands: as in test-installer, the spawn hook records every command (a
 * temporary root has no daemons to start: opendkim, systemctl, pkill are recorded and
 * answered "exit 0"); postconf runs for real with -c ROOT/etc/postfix. The lab test
 * tests/integration/setup-dkim.sh runs the real OpenDKIM, Postfix and nsd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answers.h"
#include "dkim-rotate.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "opendkim.h"
#include "steps.h"

#define NOW INT64_C(1795000000) /* 2026-11-18 */
#define HASH "{SHA512-CRYPT}$6$p1lSdtRmEqdHJ4rQ$6uNwAK42TrFhT5fy6jfzq64A4PftdnIi9WIRuv.hGyB1gp8cweZ4sbLmuORy3yzbkJpsAmUsAiXyWRDg7LGsi/"

static void test_conf_edit(void **state) {
        static const struct {
                const char *in;
                const char *want;
        } cases[] = {
                /* replaced in place, the rest kept byte for byte */
                { "# comment\nSyslog yes\nSocket local:/run/opendkim/opendkim.sock\nUMask 007\n",
                  "# comment\nSyslog yes\nSocket\tlocal:/x.sock\nUMask 007\n\n# Set by mxdeck (DKIM signing for "
                  "Postfix; see mxdeck(1)).\nMode\tsv\n" },
                /* keywords are case-insensitive; a later duplicate is commented out, not lost */
                { "SOCKET inet:8891@localhost\n  socket\tlocal:/y\nmode v", "Socket\tlocal:/x.sock\n#mxdeck:   socket\tlocal:/y\nMode\tsv\n" },
                /* commented lines are not settings */
                { "#Socket local:/z\n", "#Socket local:/z\n\n# Set by mxdeck (DKIM signing for Postfix; see mxdeck(1)).\n"
                                        "Socket\tlocal:/x.sock\nMode\tsv\n" },
                /* an empty file, and one without its last newline */
                { "", "\n# Set by mxdeck (DKIM signing for Postfix; see mxdeck(1)).\nSocket\tlocal:/x.sock\nMode\tsv\n" },
                { "Syslog yes", "Syslog yes\n\n# Set by mxdeck (DKIM signing for Postfix; see mxdeck(1)).\n"
                                "Socket\tlocal:/x.sock\nMode\tsv\n" },
        };
        const char *keys[] = { "Socket", "Mode" }, *values[] = { "local:/x.sock", "sv" };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL, *v = NULL;
                size_t size;
                assert_int_equal(opendkim_conf_set(cases[i].in, strlen(cases[i].in), keys, values, 2, &out, &size), 0);
                if (!streq(out, cases[i].want))
                        fail_msg("case %zu: got\n%s\nwant\n%s", i, out, cases[i].want);
                assert_int_equal(size, strlen(out));
                assert_int_equal(opendkim_conf_get(out, size, "socket", &v), 0);
                assert_string_equal(v, "local:/x.sock");
        }
        _cleanup_free_ char *v = NULL, *out = NULL;
        size_t size;
        assert_int_equal(opendkim_conf_get("# Mode v\nMode   sv  \r\n", 22, "Mode", &v), 0);
        assert_string_equal(v, "sv");
        assert_int_equal(opendkim_conf_get("Modes v\n", 8, "Mode", &out), -ENOENT);
        /* a value with a newline would inject a setting: refused */
        const char *bad[] = { "local:/x\nKeyFile /etc/shadow" };
        assert_int_equal(opendkim_conf_set("", 0, keys, bad, 1, &out, &size), -EINVAL);
}

static void test_tables_and_selector(void **state) {
        char *domains[] = { (char *) "a.test", (char *) "b.test", NULL };
        DkimState s = { .domains = domains, .selector = (char *) "202611", .next = (char *) "202705" };
        _cleanup_free_ char *kt = NULL, *st = NULL, *sel = NULL, *sel2 = NULL;

        assert_int_equal(opendkim_keytable(&s, &kt), 0);
        assert_string_equal(kt, "# Managed by mxdeck: KEYNAME DOMAIN:SELECTOR:KEYFILE (the signing key first)\n"
                                "202611._domainkey.a.test a.test:202611:/etc/opendkim/keys/a.test/202611.private\n"
                                "202611._domainkey.b.test b.test:202611:/etc/opendkim/keys/b.test/202611.private\n"
                                "202705._domainkey.a.test a.test:202705:/etc/opendkim/keys/a.test/202705.private\n"
                                "202705._domainkey.b.test b.test:202705:/etc/opendkim/keys/b.test/202705.private\n");
        assert_int_equal(opendkim_signingtable(&s, &st), 0);
        assert_string_equal(st, "# Managed by mxdeck: which key signs mail from which addresses\n"
                                "*@a.test 202611._domainkey.a.test\n*@b.test 202611._domainkey.b.test\n");
        assert_int_equal(dkim_selector_default(NOW, NULL, &sel), 0);
        assert_string_equal(sel, "202611");
        assert_int_equal(dkim_selector_default(NOW, &s, &sel2), 0);
        assert_string_equal(sel2, "202611b");
}

/* --- the step against a temporary root --- */

typedef struct Fixture {
        char root[64];
        char *log;
        Answers *answers;
        const DistroProfile *profile;
} Fixture;

static int recorder_spawn(const SpawnOptions *o, SpawnResult *ret, void *userdata) {
        Fixture *f = userdata;
        _cleanup_free_ char *line = strdup("");
        char *n;

        for (size_t i = 0; o->argv[i]; i++) {
                assert_true(asprintf(&n, "%s%s%s", line, i ? " " : "", o->argv[i]) > 0);
                free(line);
                line = n;
        }
        assert_true(asprintf(&n, "%s%s\n", f->log ? f->log : "", line) > 0);
        free(f->log);
        f->log = n;
        if (streq(o->argv[0], "postconf") || streq(o->argv[0], "rm"))
                return spawn_run(o, ret);
        *ret = (SpawnResult) { .exited = true, .exit_status = 0, .out = strdup(""), .err = strdup("") };
        return 0;
}

static char *path_in(const Fixture *f, const char *p) {
        char *s;
        assert_true(asprintf(&s, "%s%s", f->root, p) > 0);
        return s;
}

static void put(const Fixture *f, const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *full = path_in(f, path);
        AtomicWriteOptions o = { .set_mode = true, .mode = mode };
        for (char *s = full + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void) mkdir(full, 0755);
                        *s = '/';
                }
        assert_int_equal(atomic_write_file(full, content, strlen(content), &o, NULL), 0);
}

static char *get(const Fixture *f, const char *path) {
        _cleanup_free_ char *full = path_in(f, path);
        char *data = NULL;
        size_t size;
        return read_file_bounded(full, 1 << 24, &data, &size) < 0 ? NULL : data;
}

static const char debian_conf[] = "# This is a basic configuration\nSyslog\t\t\tyes\nUMask\t\t\t007\n"
                                  "Socket\t\t\tlocal:/run/opendkim/opendkim.sock\nPidFile\t\t\t/run/opendkim/opendkim.pid\n"
                                  "TrustAnchorFile\t\t/usr/share/dns/root.key\n";

static Fixture *make_root(void **state, const char *profile, const char *answers) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *err = NULL;

        assert_non_null(f);
        *state = f;
        snprintf(f->root, sizeof(f->root), "/tmp/test-dkim-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->profile = distro_profile_by_name(profile);
        put(f, "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644);
        put(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nopendkim:x:108:112::/run/opendkim:/usr/sbin/nologin\n"
                              "postfix:x:107:111::/var/spool/postfix:/usr/sbin/nologin\n", 0644);
        put(f, "/etc/group", "root:x:0:\nopendkim:x:112:\npostfix:x:111:\n", 0644);
        put(f, "/usr/sbin/opendkim", "", 0755);
        put(f, "/etc/opendkim.conf", debian_conf, 0644);
        put(f, "/etc/postfix/main.cf", "# mine\nsmtpd_milters = inet:localhost:11332\n", 0644);
        put(f, "/var/spool/postfix/x", "", 0644);
        assert_int_equal(answers_load_buffer("answers.ini", answers, strlen(answers), &f->answers, &err), 0);
        return f;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Fixture *f = *state;
        if (!f)
                return 0;
        (void) nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        answers_free(f->answers);
        free(f->log);
        free(f);
        return 0;
}

static Installer *installer_for(Fixture *f, const Answers *a, int64_t now) {
        Installer *ins = NULL;
        _cleanup_free_ char *err = NULL;
        InstallerOptions o = {
                .root = f->root,
                .answers = a,
                .profile = f->profile,
                .no_live_checks = true,
                .spawn = recorder_spawn,
                .spawn_userdata = f,
                .now = now,
        };
        assert_int_equal(installer_new(&o, &ins, &err), 0);
        return ins;
}

static bool have_postconf(void) {
        _cleanup_free_ char *p = spawn_find_program("postconf");
        return p != NULL;
}

static char *apply_dkim(Fixture *f, bool want_changes) {
        _cleanup_(installer_freep) Installer *ins = installer_for(f, f->answers, NOW);
        _cleanup_(plan_freep) Plan *p = NULL;
        const Step *steps[] = { &step_dkim };
        ApplyResult res = {};
        char *tx;

        assert_int_equal(installer_plan_steps(ins, steps, 1, &p), 0);
        assert_false(plan_has_errors(p));
        assert_int_equal(plan_has_changes(p), want_changes);
        assert_int_equal(installer_apply(ins, p, &res), 0);
        tx = res.transaction ? strdup(res.transaction) : NULL;
        apply_result_done(&res);
        return tx;
}

static const char answers_two[] = "[server]\nhostname = mail.a.test\ndomain = a.test\ndomains = b.test\n"
                                  "[users]\nmode = virtual\n[user alice]\npassword_hash = " HASH "\n"
                                  "[dkim]\nselector = s1\n";

static void step_round(void **state, const char *profile) {
        Fixture *f;
        _cleanup_free_ char *tx = NULL, *tx2 = NULL, *conf = NULL, *kt = NULL, *maincf = NULL;
        struct stat st;

        if (!have_postconf() || geteuid() != 0)
                skip(); /* the real postconf, and root for chown (see the top) */
        f = make_root(state, profile, answers_two);
        _cleanup_free_ char *maincf_before = get(f, "/etc/postfix/main.cf");

        tx = apply_dkim(f, true);
        assert_non_null(tx);
        _cleanup_free_ char *key = path_in(f, "/etc/opendkim/keys/b.test/s1.private");
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, 108);
        assert_int_equal(st.st_gid, 112);
        _cleanup_free_ char *sockdir = path_in(f, OPENDKIM_SOCKET_DIR);
        assert_int_equal(stat(sockdir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 02750);
        assert_int_equal(st.st_gid, 111);
        conf = get(f, "/etc/opendkim.conf");
        /* lines already as wanted are left byte for byte; others are replaced in place */
        assert_non_null(strstr(conf, "# This is a basic configuration\nSyslog\t\t\tyes\nUMask\t\t\t007\n"
                                     "Socket\tlocal:/var/spool/postfix/opendkim/opendkim.sock\n"));
        assert_non_null(strstr(conf, "TrustAnchorFile\t\t/usr/share/dns/root.key\n"));
        assert_non_null(strstr(conf, "KeyTable\t/etc/opendkim/KeyTable\n"));
        kt = get(f, "/etc/opendkim/KeyTable");
        assert_non_null(strstr(kt, "s1._domainkey.b.test b.test:s1:/etc/opendkim/keys/b.test/s1.private\n"));
        maincf = get(f, "/etc/postfix/main.cf");
        /* a milter already there stays, ours is added */
        assert_non_null(strstr(maincf, "smtpd_milters = inet:localhost:11332, local:opendkim/opendkim.sock\n"));
        assert_non_null(strstr(maincf, "milter_default_action = accept\n"));
        assert_non_null(strstr(f->log, "opendkim -x /etc/opendkim.conf\n"));

        /* a second run changes nothing, once opendkim runs (the recorded start did not
         * start it: a pid file naming this live process stands in) */
        _cleanup_free_ char *pid = NULL;
        assert_true(asprintf(&pid, "%d\n", (int) getpid()) > 0);
        put(f, OPENDKIM_PIDFILE, pid, 0644);
        tx2 = apply_dkim(f, false);
        assert_null(tx2);

        /* rotation: start, then switch refused while DNS does not answer, finish refused */
        Answers *none = calloc(1, sizeof(Answers));
        assert_non_null(none);
        none->path = strdup("mxdeck dkim rotate");
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, none, NOW + 3600);
                _cleanup_(plan_freep) Plan *p = NULL;
                DkimRotateOptions o = { .stage = DKIM_ROTATE_START, .grace_days = 7 };
                ApplyResult res = {};
                assert_int_equal(dkim_rotate_plan(ins, &o, &p), 0);
                assert_false(plan_has_errors(p));
                assert_int_equal(installer_apply(ins, p, &res), 0);
                apply_result_done(&res);
                _cleanup_free_ char *kt2 = get(f, "/etc/opendkim/KeyTable"), *st2 = get(f, "/etc/opendkim/SigningTable");
                assert_non_null(strstr(kt2, "202611._domainkey.a.test a.test:202611:"));
                assert_non_null(strstr(st2, "*@a.test s1._domainkey.a.test\n"));
        }
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, none, NOW + 7200);
                _cleanup_(plan_freep) Plan *p = NULL, *p2 = NULL, *p3 = NULL;
                _cleanup_free_ char *text = NULL, *text3 = NULL;
                /* nothing listens on the discard port: the resolver does not answer */
                DkimRotateOptions o = { .stage = DKIM_ROTATE_SWITCH, .resolver = "127.0.0.1:9", .timeout_ms = 300 };
                assert_int_equal(dkim_rotate_plan(ins, &o, &p), 0);
                assert_true(plan_has_errors(p));
                assert_int_equal(plan_render_text(p, false, &text), 0);
                assert_non_null(strstr(text, "not switching"));
                DkimRotateOptions fo = { .stage = DKIM_ROTATE_FINISH, .grace_days = 7 };
                assert_int_equal(dkim_rotate_plan(ins, &fo, &p2), 0);
                assert_true(plan_has_errors(p2));
                DkimRotateOptions again = { .stage = DKIM_ROTATE_START, .grace_days = 7 };
                assert_int_equal(dkim_rotate_plan(ins, &again, &p3), 0);
                assert_int_equal(plan_render_text(p3, false, &text3), 0);
                assert_non_null(strstr(text3, "a rotation is already under way"));
        }
        answers_free(none);

        /* rollback of the setup (and the rotation after it): main.cf and opendkim.conf as
         * before, byte for byte; the keys are gone */
        TransactionInfo *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(f->root, &list, &n), 0);
        assert_int_equal(n, 2);
        for (size_t i = n; i-- > 0;)
                assert_int_equal(journal_rollback(f->root, list[i].id, recorder_spawn, f, NULL, NULL), 0);
        transaction_infos_free(list, n);
        _cleanup_free_ char *conf_after = get(f, "/etc/opendkim.conf"), *maincf_after = get(f, "/etc/postfix/main.cf");
        assert_string_equal(conf_after, debian_conf);
        assert_string_equal(maincf_after, maincf_before);
        assert_int_equal(access(key, F_OK), -1);
        _cleanup_free_ char *dir = path_in(f, "/etc/opendkim");
        assert_int_equal(access(dir, F_OK), -1);
        if (streq(profile, "rhel"))
                assert_non_null(strstr(f->log, "pkill -F /run/opendkim/opendkim.pid\n"));
        else
                assert_non_null(strstr(f->log, "start-stop-daemon --stop"));
}

static void test_step_debian(void **state) {
        step_round(state, "debian");
}

static void test_step_rhel(void **state) {
        step_round(state, "rhel");
}

static void test_not_installed(void **state) {
        static const struct {
                const char *answers;
                NoteLevel level;
        } cases[] = {
                { "[server]\nhostname = mail.a.test\ndomain = a.test\n", NOTE_WARNING },
                { "[server]\nhostname = mail.a.test\ndomain = a.test\n[dkim]\nenabled = yes\n", NOTE_ERROR },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Fixture *f = make_root(state, "debian", cases[i].answers);
                _cleanup_free_ char *bin = path_in(f, "/usr/sbin/opendkim");
                assert_int_equal(unlink(bin), 0);
                _cleanup_(installer_freep) Installer *ins = installer_for(f, f->answers, NOW);
                _cleanup_(plan_freep) Plan *p = NULL;
                const Step *steps[] = { &step_dkim };
                assert_int_equal(installer_plan_steps(ins, steps, 1, &p), 0);
                assert_int_equal(p->steps[0].n_notes, 1);
                assert_int_equal(p->steps[0].notes[0].level, cases[i].level);
                assert_non_null(strstr(p->steps[0].notes[0].text, "opendkim opendkim-tools"));
                assert_false(plan_has_changes(p));
                teardown(state);
                *state = NULL;
        }
}

static void test_answers(void **state) {
        static const struct {
                const char *dkim;
                const char *error;   /* NULL: valid */
                const char *domains; /* joined, when valid */
        } cases[] = {
                { "", NULL, "a.test b.test" },
                { "[dkim]\ndomains = b.test\n", NULL, "b.test" },
                { "[dkim]\ndomains = b.test, B.test\n", "listed twice", NULL },
                { "[dkim]\ndomains = localhost\n", "is not a mail domain", NULL },
                { "[dkim]\ndomains = ,\n", "is empty", NULL },
                { "[dkim]\nselector = 2026/11\n", "not a valid DNS label", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *err = NULL;
                Answers *a = NULL;
                assert_true(asprintf(&text, "[server]\nhostname = mail.a.test\ndomain = a.test\ndomains = b.test\n"
                                            "[users]\nmode = virtual\n[user alice]\npassword_hash = " HASH "\n%s",
                                    cases[i].dkim) > 0);
                int r = answers_load_buffer("a.ini", text, strlen(text), &a, &err);
                if (cases[i].error) {
                        assert_int_equal(r, -EINVAL);
                        if (!err || !strstr(err, cases[i].error))
                                fail_msg("case %zu: error '%s', want '%s'", i, strempty(err), cases[i].error);
                        continue;
                }
                assert_int_equal(r, 0);
                _cleanup_free_ char *joined = strdup("");
                for (char **d = a->dkim_domains; *d; d++) {
                        char *x;
                        assert_true(asprintf(&x, "%s%s%s", joined, *joined ? " " : "", *d) > 0);
                        free(joined);
                        joined = x;
                }
                assert_string_equal(joined, cases[i].domains);
                answers_free(a);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_conf_edit),
                cmocka_unit_test(test_tables_and_selector),
                cmocka_unit_test(test_answers),
                cmocka_unit_test_teardown(test_not_installed, teardown),
                cmocka_unit_test_teardown(test_step_debian, teardown),
                cmocka_unit_test_teardown(test_step_rhel, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
