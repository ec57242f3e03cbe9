/* Unit tests for the installer against a temporary root, for the Debian and the RHEL
 * profile: the plan (golden files), apply, idempotence, conflicts, rollback byte for byte,
 * an interrupted transaction, bad input.
 *
 * Recorded commands: the installer's spawn hook records every command. This is the only
 * place where recorded commands stand in for real ones: a temporary root has no daemons to
 * start and no accounts database to change (useradd, chpasswd, postfix, dovecot, doveconf
 * are recorded and answered "exit 0"). postconf is the exception: it is run for real with
 * -c ROOT/etc/postfix when installed, because the main.cf/master.cf previews must match what
 * the real postconf writes; without it those tests are skipped, saying so. */
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
#include "diff.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "postfixcf.h"

#define NOW INT64_C(1795000000) /* 2026-11-18, pinned for golden files */

typedef struct Recorder {
        char *log;          /* one command per line */
        size_t n;
        bool saw_secret;    /* a password appeared in argv */
        char *input;        /* the last stdin fed to a command */
} Recorder;

static const char *const secret_password = "Sup3r-secret-pw";

static int recorder_spawn(const SpawnOptions *o, SpawnResult *ret, void *userdata) {
        Recorder *rec = userdata;
        _cleanup_free_ char *line = strdup("");
        char *n;

        for (size_t i = 0; o->argv[i]; i++) {
                if (strstr(o->argv[i], secret_password))
                        rec->saw_secret = true;
                assert_true(asprintf(&n, "%s%s%s", line, i ? " " : "", o->argv[i]) > 0);
                free(line);
                line = n;
        }
        assert_true(asprintf(&n, "%s%s\n", rec->log ? rec->log : "", line) > 0);
        free(rec->log);
        rec->log = n;
        rec->n++;
        if (o->input) {
                free(rec->input);
                rec->input = strndup(o->input, o->input_size);
        }
        /* the real postconf (see the top of the file) */
        if (streq(o->argv[0], "postconf"))
                return spawn_run(o, ret);
        *ret = (SpawnResult) { .exited = true, .exit_status = 0, .out = strdup(""), .err = strdup("") };
        return 0;
}

typedef struct Fixture {
        char root[64];
        Recorder rec;
        Answers *answers;
        const DistroProfile *profile;
} Fixture;

static char *path_in(const Fixture *f, const char *p) {
        char *s;
        assert_true(asprintf(&s, "%s%s", f->root, p) > 0);
        return s;
}

static void mkdirs(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void) mkdir(p, 0755);
                        *s = '/';
                }
}

static void put(const Fixture *f, const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *full = path_in(f, path);
        AtomicWriteOptions o = { .set_mode = true, .mode = mode };
        mkdirs(full);
        assert_int_equal(atomic_write_file(full, content, strlen(content), &o, NULL), 0);
        assert_int_equal(chmod(full, mode), 0);
}

static char *get(const Fixture *f, const char *path) {
        _cleanup_free_ char *full = path_in(f, path);
        char *data = NULL;
        size_t size;
        if (read_file_bounded(full, 1 << 24, &data, &size) < 0)
                return NULL;
        return data;
}

static bool have_postconf(void) {
        _cleanup_free_ char *p = spawn_find_program("postconf");
        return p != NULL;
}

static const char answers_virtual[] =
        "[server]\nhostname = mail.example.test\ndomain = example.test\n"
        "[users]\nmode = virtual\n"
        "[user alice]\npassword_file = /root/alice.pw\naliases = info\n";
static const char answers_system[] =
        "[server]\nhostname = mail.example.test\ndomain = example.test\n"
        "[users]\nmode = system\n"
        "[user bob]\npassword_file = /root/bob.pw\n";

static void make_root(Fixture *f, const char *profile, const char *answers) {
        const char *data = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *mpath = NULL, *master = NULL, *err = NULL;
        size_t size;

        snprintf(f->root, sizeof(f->root), "/tmp/test-installer-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->profile = distro_profile_by_name(profile);
        assert_non_null(f->profile);
        assert_non_null(data);
        assert_true(asprintf(&mpath, "%s/installer/master.cf", data) > 0);
        assert_int_equal(read_file_bounded(mpath, 1 << 20, &master, &size), 0);

        put(f, "/etc/os-release", streq(profile, "debian") ? "ID=debian\nVERSION_ID=\"12\"\n"
                                                           : "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n", 0644);
        put(f, "/etc/postfix/master.cf", master, 0644);
        put(f, "/etc/dovecot/dovecot.conf", "!include conf.d/*.conf\n", 0644);
        put(f, "/etc/dovecot/conf.d/10-ssl.conf",
            "ssl = yes\nssl_cert = </etc/dovecot/private/dovecot.pem\nssl_key = </etc/dovecot/private/dovecot.key\n", 0644);
        put(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nvmail:x:998:998::/var/vmail:/usr/sbin/nologin\n"
                              "dovecot:x:997:997::/usr/lib/dovecot:/usr/sbin/nologin\n", 0644);
        put(f, "/etc/group", "root:x:0:\nvmail:x:998:\ndovecot:x:997:\n", 0644);
        put(f, "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
        put(f, "/usr/sbin/postconf", "", 0755);
        put(f, "/usr/sbin/dovecot", "", 0755);
        put(f, "/root/alice.pw", "Sup3r-secret-pw\n", 0600);
        put(f, "/root/bob.pw", "Sup3r-secret-pw\n", 0600);
        _cleanup_free_ char *vx = path_in(f, "/var/vmail/x");
        mkdirs(vx);
        _cleanup_free_ char *vm = path_in(f, "/var/vmail");
        assert_int_equal(chmod(vm, 0750), 0);
        if (geteuid() == 0)
                assert_int_equal(chown(vm, 998, 998), 0);
        assert_int_equal(answers_load_buffer("answers.ini", answers, strlen(answers), &f->answers, &err), 0);
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
        free(f->rec.log);
        free(f->rec.input);
        free(f);
        return 0;
}

static Installer *installer_for(Fixture *f, ConflictPolicy policy) {
        Installer *ins = NULL;
        _cleanup_free_ char *err = NULL;
        InstallerOptions o = {
                .root = f->root,
                .answers = f->answers,
                .profile = f->profile,
                .conflicts = policy,
                .no_live_checks = true,
                .spawn = recorder_spawn,
                .spawn_userdata = &f->rec,
                .now = NOW,
        };
        assert_int_equal(installer_new(&o, &ins, &err), 0);
        return ins;
}

/* the temporary root replaced by ROOT, so golden files are stable */
static char *normalize(const Fixture *f, const char *s) {
        size_t rl = strlen(f->root);
        char *out = calloc(1, strlen(s) + 1), *o = out;
        assert_non_null(out);
        while (*s) {
                if (strncmp(s, f->root, rl) == 0) {
                        o = stpcpy(o, "ROOT");
                        s += rl;
                } else
                        *o++ = *s++;
        }
        return out;
}

static void compare_golden(const char *name, const char *got) {
        const char *dir = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *path = NULL, *want = NULL;
        size_t size;

        assert_true(asprintf(&path, "%s/installer/%s", dir, name) > 0);
        if (getenv("MXDECK_UPDATE_GOLDEN")) {
                FILE *fp = fopen(path, "we");
                assert_non_null(fp);
                fputs(got, fp);
                fclose(fp);
        }
        assert_int_equal(read_file_bounded(path, 1 << 20, &want, &size), 0);
        if (!streq(want, got)) {
                fprintf(stderr, "golden mismatch for %s\n--- want\n%s\n--- got\n%s\n", name, want, got);
                fail();
        }
}

static Fixture *fixture(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        assert_non_null(f);
        *state = f;
        return f;
}

static void plan_golden(void **state, const char *profile, const char *answers, const char *golden) {
        Fixture *f = fixture(state);
        _cleanup_(installer_freep) Installer *ins = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_free_ char *text = NULL, *norm = NULL;

        make_root(f, profile, answers);
        ins = installer_for(f, CONFLICT_KEEP_THEIRS);
        assert_int_equal(installer_plan(ins, &p), 0);
        assert_false(plan_has_errors(p));
        assert_true(plan_has_changes(p));
        assert_int_equal(plan_render_text(p, false, &text), 0);
        assert_null(strstr(text, secret_password));
        norm = normalize(f, text);
        compare_golden(golden, norm);
        /* planning ran nothing and wrote nothing */
        assert_int_equal(f->rec.n, 0);
        _cleanup_free_ char *maincf = get(f, "/etc/postfix/main.cf");
        assert_null(maincf);
}

static void test_plan_debian_virtual(void **state) {
        plan_golden(state, "debian", answers_virtual, "plan-debian-virtual.ref");
}

static void test_plan_rhel_system(void **state) {
        plan_golden(state, "rhel", answers_system, "plan-rhel-system.ref");
}

static bool file_has_mode(const Fixture *f, const char *path, mode_t mode) {
        _cleanup_free_ char *full = path_in(f, path);
        struct stat st;
        return stat(full, &st) == 0 && (st.st_mode & 07777) == mode;
}

static void apply_all(Fixture *f, ConflictPolicy policy, bool want_changes, char **ret_tx) {
        _cleanup_(installer_freep) Installer *ins = installer_for(f, policy);
        _cleanup_(plan_freep) Plan *p = NULL;
        ApplyResult res = {};

        assert_int_equal(installer_plan(ins, &p), 0);
        assert_int_equal(plan_has_changes(p), want_changes);
        assert_int_equal(installer_apply(ins, p, &res), 0);
        assert_null(res.failed_step);
        if (ret_tx)
                *ret_tx = res.transaction ? strdup(res.transaction) : NULL;
        apply_result_done(&res);
}

static void test_apply_idempotent_rollback(void **state, const char *profile, const char *answers) {
        Fixture *f = fixture(state);
        _cleanup_free_ char *tx = NULL, *tx2 = NULL, *maincf = NULL, *users = NULL, *hostname = NULL;
        _cleanup_free_ char *ssl_before = NULL, *ssl_after = NULL, *master_before = NULL, *master_after = NULL;

        if (!have_postconf() || geteuid() != 0)
                skip(); /* needs the real postconf, and root for chown (see the top) */
        make_root(f, profile, answers);
        /* an administrator's main.cf with a setting mxdeck does not manage, mode 0640, and
         * no newline at its end (postconf -e would glue the next parameter onto it) */
        put(f, "/etc/postfix/main.cf", "# mine\nmyhostname = old.example.test\ndelay_warning_time = 4h", 0640);
        ssl_before = get(f, "/etc/dovecot/conf.d/10-ssl.conf");
        master_before = get(f, "/etc/postfix/master.cf");

        apply_all(f, CONFLICT_KEEP_THEIRS, true, &tx);
        assert_non_null(tx);
        assert_false(f->rec.saw_secret);
        maincf = get(f, "/etc/postfix/main.cf");
        assert_non_null(strstr(maincf, "# mine\nmyhostname = mail.example.test\ndelay_warning_time = 4h\n"));
        assert_non_null(strstr(maincf, "smtpd_tls_auth_only = yes\n"));
        assert_true(file_has_mode(f, f->profile->family == DISTRO_DEBIAN ? "/etc/ssl/private/mxdeck.key"
                                                                         : "/etc/pki/tls/private/mxdeck.key", 0600));
        hostname = get(f, "/etc/hostname");
        assert_string_equal(hostname, "mail.example.test\n");
        if (f->answers->users_mode == ANSWERS_USERS_VIRTUAL) {
                users = get(f, "/etc/dovecot/users");
                assert_non_null(users);
                assert_true(startswith(users, "alice@example.test:{SHA512-CRYPT}$6$"));
                assert_true(file_has_mode(f, "/etc/dovecot/users", 0640));
                assert_non_null(strstr(f->rec.log, "doveconf") ? f->rec.log : "doveconf missing");
        } else {
                /* system mode: the account through useradd --root, the hash on stdin only */
                assert_non_null(strstr(f->rec.log, "useradd --root "));
                assert_non_null(strstr(f->rec.log, "--shell /sbin/nologin bob\n"));
                assert_non_null(strstr(f->rec.log, "chpasswd --root "));
                assert_non_null(f->rec.input);
                assert_true(startswith(f->rec.input, "bob:$6$"));
        }
        assert_non_null(strstr(f->rec.log, "postfix start\n"));
        assert_non_null(strstr(f->rec.log, "dovecot\n"));
        if (f->answers->users_mode == ANSWERS_USERS_SYSTEM) {
                /* what the recorded useradd and chpasswd would have done (the recorder stands
                 * in for them): the account and the hash chpasswd was fed. A re-run must find
                 * the password still matching and leave it alone. */
                _cleanup_free_ char *pw = get(f, "/etc/passwd"), *sh = get(f, "/etc/shadow");
                _cleanup_free_ char *npw = NULL, *nsh = NULL;
                size_t hl = strcspn(f->rec.input + 4, "\n");
                assert_true(asprintf(&npw, "%sbob:x:1000:1000::/home/bob:/sbin/nologin\n", pw) > 0);
                assert_true(asprintf(&nsh, "%sbob:%.*s:19000:0:99999:7:::\n", sh, (int) hl, f->rec.input + 4) > 0);
                put(f, "/etc/passwd", npw, 0644);
                put(f, "/etc/shadow", nsh, 0640);
        }

        /* the second run plans nothing (the daemons were "started": the recorder cannot
         * create their pid files, so the services step is left out by going offline) */
        {
                _cleanup_(installer_freep) Installer *ins = NULL;
                _cleanup_(plan_freep) Plan *p = NULL;
                _cleanup_free_ char *err = NULL;
                InstallerOptions o = { .root = f->root, .answers = f->answers, .profile = f->profile,
                                       .offline = true, .spawn = recorder_spawn,
                                       .spawn_userdata = &f->rec, .now = NOW };
                assert_int_equal(installer_new(&o, &ins, &err), 0);
                assert_int_equal(installer_plan(ins, &p), 0);
                if (plan_has_changes(p)) {
                        _cleanup_free_ char *t = NULL;
                        plan_render_text(p, false, &t);
                        fprintf(stderr, "second plan:\n%s", t);
                }
                assert_false(plan_has_changes(p));
        }

        /* the administrator changes a managed setting: a conflict, kept, then taken */
        {
                const char *argv[] = { "postconf", "-c", NULL, "-e", "smtpd_tls_auth_only=no", NULL };
                _cleanup_free_ char *dir = path_in(f, "/etc/postfix");
                SpawnResult r = {};
                argv[2] = dir;
                assert_int_equal(spawn_run(&(SpawnOptions) { .argv = argv }, &r), 0);
                assert_true(spawn_result_ok(&r));
                spawn_result_done(&r);

                _cleanup_(installer_freep) Installer *ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                assert_int_equal(plan_count_conflicts(p), 1);
                bool found = false;
                for (size_t i = 0; i < p->n_steps; i++)
                        for (size_t j = 0; j < p->steps[i].n_conflicts; j++) {
                                const Conflict *c = &p->steps[i].conflicts[j];
                                assert_string_equal(c->what, "main.cf smtpd_tls_auth_only");
                                assert_string_equal(c->theirs, "no");
                                assert_string_equal(c->ours, "yes");
                                assert_false(c->taken);
                                found = true;
                        }
                assert_true(found);
        }
        apply_all(f, CONFLICT_TAKE_OURS, true, &tx2);
        free(maincf);
        maincf = get(f, "/etc/postfix/main.cf");
        assert_non_null(strstr(maincf, "smtpd_tls_auth_only = yes\n"));

        /* rollback of both, newest first: everything back byte for byte, mode included */
        assert_int_equal(journal_rollback(f->root, tx2, recorder_spawn, &f->rec, NULL, NULL), 0);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), -EALREADY);
        free(maincf);
        maincf = get(f, "/etc/postfix/main.cf");
        assert_string_equal(maincf, "# mine\nmyhostname = old.example.test\ndelay_warning_time = 4h");
        assert_true(file_has_mode(f, "/etc/postfix/main.cf", 0640));
        ssl_after = get(f, "/etc/dovecot/conf.d/10-ssl.conf");
        assert_string_equal(ssl_before, ssl_after);
        master_after = get(f, "/etc/postfix/master.cf");
        assert_string_equal(master_before, master_after);
        _cleanup_free_ char *h = get(f, "/etc/hostname"), *u = get(f, "/etc/dovecot/users"),
                            *managed = get(f, JOURNAL_MANAGED);
        assert_null(h);
        assert_null(u);
        assert_null(managed);
        assert_non_null(strstr(f->rec.log, "postfix stop\n"));

        /* history: both, rolled back */
        TransactionInfo *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(f->root, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].status, TRANSACTION_ROLLED_BACK);
        assert_int_equal(list[1].status, TRANSACTION_ROLLED_BACK);
        transaction_infos_free(list, n);
}

static void test_debian_virtual(void **state) {
        test_apply_idempotent_rollback(state, "debian", answers_virtual);
}

static void test_rhel_system(void **state) {
        test_apply_idempotent_rollback(state, "rhel", answers_system);
}

/* A run killed after its backups and before its end: history says incomplete, and
 * rollback restores what it had changed. */
static void test_interrupted_transaction(void **state) {
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *data = NULL, *tx = NULL;

        make_root(f, "debian", answers_virtual);
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0600);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        assert_int_equal(journal_backup(j, "hostname", "/etc/hostname"), 0);
        /* a second backup of the same path keeps the first (the original) */
        put(f, "/etc/postfix/main.cf", "a = 2\n", 0644);
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        put(f, "/etc/hostname", "new\n", 0644);
        /* "killed": no end entry; the lock goes with the process */
        journal_free(j);

        TransactionInfo *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(f->root, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(list[0].status, TRANSACTION_INCOMPLETE);
        transaction_infos_free(list, n);

        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        data = get(f, "/etc/postfix/main.cf");
        assert_string_equal(data, "a = 1\n");
        assert_true(file_has_mode(f, "/etc/postfix/main.cf", 0600));
        _cleanup_free_ char *h = get(f, "/etc/hostname");
        assert_null(h);
}

/* A damaged backup is never written back. */
static void test_damaged_backup(void **state) {
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *tx = NULL, *bpath = NULL, *data = NULL;

        make_root(f, "debian", answers_virtual);
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0644);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        assert_int_equal(journal_commit(j, true, NULL, NULL), 0);
        journal_free(j);
        put(f, "/etc/postfix/main.cf", "a = 2\n", 0644);
        assert_true(asprintf(&bpath, "%s" JOURNAL_TRANSACTIONS "/%s/backups/1", f->root, tx) > 0);
        FILE *fp = fopen(bpath, "we");
        assert_non_null(fp);
        fputs("tampered\n", fp);
        fclose(fp);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), -EIO);
        data = get(f, "/etc/postfix/main.cf");
        assert_string_equal(data, "a = 2\n");
}

static void test_bad_password_file(void **state) {
        Fixture *f = fixture(state);
        _cleanup_(installer_freep) Installer *ins = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_free_ char *text = NULL;

        make_root(f, "debian", answers_virtual);
        _cleanup_free_ char *pw = path_in(f, "/root/alice.pw");
        assert_int_equal(chmod(pw, 0644), 0);
        ins = installer_for(f, CONFLICT_KEEP_THEIRS);
        assert_int_equal(installer_plan(ins, &p), 0);
        assert_true(plan_has_errors(p));
        assert_int_equal(plan_render_text(p, false, &text), 0);
        if (!strstr(text, "answers.ini:6: [user alice@example.test] password_file /root/alice.pw "
                          "has mode 0644: it must be readable by its owner only (chmod 600 /root/alice.pw)"))
                fprintf(stderr, "%s", text);
        assert_non_null(strstr(text, "answers.ini:6: [user alice@example.test] password_file /root/alice.pw "
                                     "has mode 0644: it must be readable by its owner only (chmod 600 /root/alice.pw)"));
        ApplyResult res = {};
        assert_int_equal(installer_apply(ins, p, &res), -EINVAL);
        assert_null(res.transaction);
}

static void test_files_certificate_mismatch(void **state) {
        Fixture *f = fixture(state);
        _cleanup_(installer_freep) Installer *ins = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        static const char ans[] =
                "[server]\nhostname = mail.example.test\ndomain = example.test\n"
                "[users]\nmode = virtual\n[user alice]\npassword_file = /root/alice.pw\n"
                "[tls]\nsource = files\ncert_file = /etc/ssl/a.pem\nkey_file = /etc/ssl/b.key\n";
        const char *data = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *cpath = NULL, *kpath = NULL, *cert = NULL, *key = NULL;
        size_t size;

        make_root(f, "debian", answers_virtual);
        answers_free(f->answers);
        assert_int_equal(answers_load_buffer("answers.ini", ans, strlen(ans), &f->answers, &err), 0);
        /* a certificate for mail.example.test and the key of another one */
        assert_true(asprintf(&cpath, "%s/installer/cert-a.pem", data) > 0);
        assert_true(asprintf(&kpath, "%s/installer/key-b.pem", data) > 0);
        assert_int_equal(read_file_bounded(cpath, 1 << 20, &cert, &size), 0);
        assert_int_equal(read_file_bounded(kpath, 1 << 20, &key, &size), 0);
        put(f, "/etc/ssl/a.pem", cert, 0644);
        put(f, "/etc/ssl/b.key", key, 0600);
        ins = installer_for(f, CONFLICT_KEEP_THEIRS);
        assert_int_equal(installer_plan(ins, &p), 0);
        assert_true(plan_has_errors(p));
        assert_int_equal(plan_render_text(p, false, &text), 0);
        assert_non_null(strstr(text, "the private key does not belong to the certificate"));
}

/* The previews of postconf -e/-M/-P against the real postconf. */
static void test_postconf_previews(void **state) {
        static const struct {
                const char *main_cf;
                const char *names[3], *values[3];
        } mcases[] = {
                { "", { "a", "b" }, { "1", " 2  " } },
                { "a = 1\nb = 2\na = 3\n  cont\n# x\n\nc = 4\n", { "a" }, { "9" } },
                { "x = 1\n  y\n\tz\nw = 2\n", { "x", "new" }, { "k", "v" } },
                { "x = 1", { "y" }, { "2" } },
                /* existing names after the first edited one (adopting a hand-made main.cf) */
                { "a = 1\nb = 2\nc = 3\n", { "b", "c", "a" }, { "x", "9", "8" } },
                { "a = 1\nb = 2\nc = \n", { "new", "c", "a" }, { "x", "9", "8" } },
        };
        char dir[] = "/tmp/test-postconf-XXXXXX";
        *state = NULL;
        if (!have_postconf())
                skip(); /* see the top of the file */
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *mpath = NULL, *cpath = NULL;
        assert_true(asprintf(&mpath, "%s/main.cf", dir) > 0);
        assert_true(asprintf(&cpath, "%s/master.cf", dir) > 0);

        for (size_t i = 0; i < ELEMENTSOF(mcases); i++) {
                _cleanup_free_ char *want = NULL, *got = NULL;
                size_t n = 0, size, gsize;
                while (n < 3 && mcases[i].names[n])
                        n++;
                FILE *fp = fopen(mpath, "we");
                fputs(mcases[i].main_cf, fp);
                fclose(fp);
                /* one postconf -e per parameter, as the installer runs them */
                for (size_t k = 0; k < n; k++) {
                        _cleanup_free_ char *e = NULL;
                        assert_true(asprintf(&e, "%s=%s", mcases[i].names[k], mcases[i].values[k]) > 0);
                        const char *argv[] = { "postconf", "-c", dir, "-e", e, NULL };
                        SpawnResult r = {};
                        assert_int_equal(spawn_run(&(SpawnOptions) { .argv = argv }, &r), 0);
                        spawn_result_done(&r);
                }
                assert_int_equal(read_file_bounded(mpath, 1 << 20, &want, &size), 0);
                assert_int_equal(maincf_set(mcases[i].main_cf, strlen(mcases[i].main_cf),
                                            (char *const *) mcases[i].names, (char *const *) mcases[i].values,
                                            n, &got, &gsize), 0);
                if (!streq(want, got))
                        fprintf(stderr, "case %zu\n--- postconf\n%s--- preview\n%s", i, want, got);
                assert_string_equal(want, got);
        }

        /* master.cf: -M then -P on the Debian file */
        const char *data = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *src = NULL, *orig = NULL, *want = NULL, *got = NULL, *g2 = NULL;
        size_t size, gsize;
        assert_true(asprintf(&src, "%s/installer/master.cf", data) > 0);
        assert_int_equal(read_file_bounded(src, 1 << 20, &orig, &size), 0);
        FILE *fp = fopen(cpath, "we");
        fputs(orig, fp);
        fclose(fp);
        fp = fopen(mpath, "we");
        fclose(fp);
        const char *m[] = { "postconf", "-c", dir, "-M", "submission/inet=submission inet n - y - - smtpd",
                            "longservicename12/inet=longservicename12 inet n - n - 10 smtpd", NULL };
        const char *pp[] = { "postconf", "-c", dir, "-P", "submission/inet/syslog_name=postfix/submission",
                             "submission/inet/smtpd_tls_security_level=encrypt", "smtp/inet/x=y", NULL };
        SpawnResult r = {};
        assert_int_equal(spawn_run(&(SpawnOptions) { .argv = m }, &r), 0);
        spawn_result_done(&r);
        assert_int_equal(spawn_run(&(SpawnOptions) { .argv = pp }, &r), 0);
        spawn_result_done(&r);
        assert_int_equal(read_file_bounded(cpath, 1 << 20, &want, &size), 0);
        assert_int_equal(mastercf_set_entry(orig, strlen(orig), "submission inet n - y - - smtpd", &got, &gsize), 0);
        assert_int_equal(mastercf_set_entry(got, gsize, "longservicename12 inet n - n - 10 smtpd", &g2, &gsize), 0);
        free(got);
        got = g2;
        g2 = NULL;
        const char *opts[][3] = { { "submission", "syslog_name", "postfix/submission" },
                                  { "submission", "smtpd_tls_security_level", "encrypt" },
                                  { "smtp", "x", "y" } };
        for (size_t i = 0; i < ELEMENTSOF(opts); i++) {
                assert_int_equal(mastercf_set_option(got, gsize, opts[i][0], "inet", opts[i][1], opts[i][2],
                                                     &g2, &gsize), 0);
                free(got);
                got = g2;
                g2 = NULL;
        }
        if (!streq(want, got)) {
                _cleanup_free_ char *d = NULL;
                diff_unified("/master.cf", want, strlen(want), got, strlen(got), &d);
                fprintf(stderr, "master.cf preview differs from postconf:\n%s", d);
        }
        assert_string_equal(want, got);
        unlink(mpath);
        unlink(cpath);
        rmdir(dir);
}

/* Unified diff: the hunks diff -u prints. */
static void test_diff(void **state) {
        static const struct {
                const char *old, *new, *want;
        } cases[] = {
                { "a\nb\nc\n", "a\nb\nc\n", "" },
                { NULL, "x\n", "--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+x\n" },
                { "a\nb\nc\n", "a\nB\nc\n", "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n" },
                { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n",
                  "--- a/f\n+++ b/f\n@@ -10,3 +10,4 @@\n 10\n 11\n 12\n+13\n" },
                { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n",
                  "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n",
                  "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n@@ -13,4 +14,3 @@\n 13\n 14\n 15\n-16\n" },
                { "a", "a\n", "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n" },
        };
        *state = NULL;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *d = NULL;
                assert_int_equal(diff_unified("/f", cases[i].old, cases[i].old ? strlen(cases[i].old) : 0,
                                              cases[i].new, strlen(cases[i].new), &d), 0);
                if (!streq(d ? d : "", cases[i].want))
                        fprintf(stderr, "case %zu:\n%s", i, d ? d : "(none)\n");
                assert_string_equal(d ? d : "", cases[i].want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff),
                cmocka_unit_test(test_postconf_previews),
                cmocka_unit_test_teardown(test_plan_debian_virtual, teardown),
                cmocka_unit_test_teardown(test_plan_rhel_system, teardown),
                cmocka_unit_test_teardown(test_debian_virtual, teardown),
                cmocka_unit_test_teardown(test_rhel_system, teardown),
                cmocka_unit_test_teardown(test_interrupted_transaction, teardown),
                cmocka_unit_test_teardown(test_damaged_backup, teardown),
                cmocka_unit_test_teardown(test_bad_password_file, teardown),
                cmocka_unit_test_teardown(test_files_certificate_mismatch, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
