/* Unit tests for the installer against a temporary root, for the Debian and the RHEL
 * profile: the plan (golden files), apply, idempotence, conflicts, rollback byte for byte,
 * an interrupted transaction, bad input.
 *
 * Recorded commands: the installer's spawn hook records every command. This is the only
 * place where recorded commands stand in for real ones: a temporary root has no daemons to
 * start and no accounts database to change (useradd, chpasswd, postfix, dovecot, doveconf
 * are recorded and answered "exit 0"). postconf is the exception: it is run for real with
 * -c ROOT/etc/postfix when installed, because the main.cf/master.cf previews must match what
 * the real postconf writes; without it those tests are skipped, saying so. The package
 * queries: dpkg-query runs for real against ROOT/var/lib/dpkg/status (the Debian fixture
 * writes one); `rpm -q` is recorded (this Debian machine has no RPM database), answered
 * from Recorder.rpm_installed the way rpm answers; "installing" with the recorded
 * apt-get/dnf adds the packages to that status/list, as the real ones would. */
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
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "answers.h"
#include "diff.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "listeners.h"
#include "macro.h"
#include "postfixcf.h"

#define NOW INT64_C(1795000000) /* 2026-11-18, pinned for golden files */

typedef struct Recorder {
        char *log;          /* one command per line */
        size_t n;
        bool saw_secret;    /* a password appeared in argv */
        char *input;        /* the last stdin fed to a command */
        char *rpm_installed;  /* " postfix dovecot ": what the recorded rpm -q answers */
        char *dpkg_status;    /* ROOT/var/lib/dpkg/status, appended to by a recorded apt-get install */
        char *env;            /* the last explicit environment given to a command */
} Recorder;

static const char *const secret_password = "Sup3r-secret-pw";

static void collect_note(const char *line, void *userdata);

/* Stands in for useradd --root ROOT ... NAME: the account and its group, so that what
 * the plan does next as that owner (its home) finds them. */
static void fake_useradd(const SpawnOptions *o) {
        const char *root = NULL, *name = NULL, *home = "/";
        if (!streq(o->argv[0], "useradd"))
                return;
        for (size_t i = 1; o->argv[i]; i++) {
                if (streq(o->argv[i], "--root") && o->argv[i + 1])
                        root = o->argv[++i];
                else if (streq(o->argv[i], "--home-dir") && o->argv[i + 1])
                        home = o->argv[++i];
                name = o->argv[i];
        }
        if (!root || !name)
                return;
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s%s", root, i == 0 ? "/etc/passwd" : "/etc/group") > 0);
                FILE *f = fopen(p, "ae");
                assert_non_null(f);
                if (i == 0)
                        fprintf(f, "%s:x:1000:1000::%s:/sbin/nologin\n", name, home);
                else
                        fprintf(f, "%s:x:1000:\n", name);
                fclose(f);
        }
}

static int recorder_spawn(const SpawnOptions *o, SpawnResult *ret, void *userdata) {
        Recorder *rec = userdata;
        _cleanup_free_ char *line = strdup("");
        char *n;

        fake_useradd(o);

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
        if (o->envp) {
                free(rec->env);
                rec->env = strdup("");
                for (size_t i = 0; o->envp[i]; i++) {
                        assert_true(asprintf(&n, "%s%s\n", rec->env, o->envp[i]) > 0);
                        free(rec->env);
                        rec->env = n;
                }
        }
        /* the real postconf and dpkg-query (see the top of the file) */
        if (streq(o->argv[0], "postconf") || streq(o->argv[0], "dpkg-query"))
                return spawn_run(o, ret);
        if (streq(o->argv[0], "rpm")) {
                _cleanup_free_ char *out = strdup("");
                int missing = 0;
                size_t i = 0;
                while (o->argv[i] && !streq(o->argv[i], "%{NAME}\\n"))
                        i++;
                assert_non_null(o->argv[i]);
                for (i++; o->argv[i]; i++) {
                        _cleanup_free_ char *w = NULL;
                        assert_true(asprintf(&w, " %s ", o->argv[i]) > 0);
                        bool have = rec->rpm_installed && strstr(rec->rpm_installed, w);
                        missing += !have;
                        assert_true(asprintf(&n, have ? "%s%s\n" : "%spackage %s is not installed\n", out,
                                             o->argv[i]) > 0);
                        free(out);
                        out = n;
                }
                *ret = (SpawnResult) { .exited = true, .exit_status = missing, .out = strdup(out),
                                       .out_size = strlen(out), .err = strdup("") };
                return 0;
        }
        /* a recorded install: the packages are there afterwards */
        for (size_t i = 0; o->argv[i]; i++) {
                if (!streq(o->argv[i], "install"))
                        continue;
                for (size_t k = i + 1; o->argv[k]; k++) {
                        if (o->argv[k][0] == '-')
                                continue;
                        if (rec->rpm_installed) {
                                assert_true(asprintf(&n, "%s%s ", rec->rpm_installed, o->argv[k]) > 0);
                                free(rec->rpm_installed);
                                rec->rpm_installed = n;
                        }
                        if (rec->dpkg_status) {
                                /* the package's stanza replaced (an "rc" one included) */
                                _cleanup_free_ char *old = NULL, *head = NULL;
                                size_t size;
                                assert_int_equal(read_file_bounded(rec->dpkg_status, 1 << 20, &old, &size), 0);
                                assert_true(asprintf(&head, "Package: %s\n", o->argv[k]) > 0);
                                FILE *fp = fopen(rec->dpkg_status, "we");
                                assert_non_null(fp);
                                for (char *st = old, *e; st && *st; st = e ? e + 2 : NULL) {
                                        e = strstr(st, "\n\n");
                                        if (e)
                                                *e = '\0';
                                        if (!startswith(st, head))
                                                fprintf(fp, "%s\n\n", st);
                                }
                                fprintf(fp, "Package: %s\nStatus: install ok installed\nMaintainer: x\n"
                                            "Architecture: all\nVersion: 1\nDescription: x\n\n", o->argv[k]);
                                fclose(fp);
                        }
                }
                break;
        }
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
        if (streq(profile, "debian")) {
                _cleanup_free_ char *st = strdup("");
                static const char *const pk[] = { "postfix", "dovecot-core", "dovecot-imapd",
                                                  "dovecot-pop3d", "dovecot-lmtpd", NULL };
                for (size_t i = 0; pk[i]; i++) {
                        char *n;
                        assert_true(asprintf(&n, "%sPackage: %s\nStatus: install ok installed\nMaintainer: x\n"
                                                 "Architecture: all\nVersion: 1\nDescription: x\n\n", st, pk[i]) > 0);
                        free(st);
                        st = n;
                }
                put(f, "/var/lib/dpkg/status", st, 0644);
                f->rec.dpkg_status = path_in(f, "/var/lib/dpkg/status");
        } else {
                f->rec.rpm_installed = strdup(" postfix dovecot ");
                put(f, "/sys/fs/selinux/enforce", "1", 0644);
        }
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
        free(f->rec.rpm_installed);
        free(f->rec.dpkg_status);
        free(f->rec.env);
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
        /* planning ran nothing but the package queries, and wrote nothing */
        for (const char *l = f->rec.log; l && *l; l = strchr(l, '\n') + 1)
                assert_true(startswith(l, "dpkg-query ") || startswith(l, "rpm "));
        if (streq(profile, "rhel"))
                assert_non_null(strstr(text, "SELinux is enforcing"));
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
                _cleanup_free_ char *nsh = NULL;
                size_t hl = strcspn(f->rec.input + 4, "\n");
                assert_non_null(strstr(pw, "\nbob:x:1000:1000::/home/bob:/sbin/nologin\n"));
                assert_true(asprintf(&nsh, "%sbob:%.*s:19000:0:99999:7:::\n", sh, (int) hl, f->rec.input + 4) > 0);
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

/* The setup-kill flake: a run killed while a command ran leaves that command running
 * (nothing kills a posix_spawn'ed child when its parent dies); rollback must wait until it
 * has ended before restoring, or the orphan writes its file after the restore. Here the
 * orphan is a real `sleep` with the recorded command line; rollback returns only after it
 * exited (checked without timing: the child must be reapable at once afterwards). */
static void test_rollback_waits_for_orphan(void **state) {
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *tx = NULL, *notes = NULL;
        const char *argv[] = { "sleep", "1.7", NULL };
        int st;

        make_root(f, "debian", answers_virtual);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_run(j, "postfix", argv, NULL, false, NULL), 0);
        journal_free(j); /* "killed": no end; the lock goes with it */
        pid_t pid = fork(); /* the command, still running */
        assert_true(pid >= 0);
        if (pid == 0) {
                execvp("sleep", (char *const *) argv);
                _exit(127);
        }
        /* until it has become `sleep` (bounded: 10 s) */
        _cleanup_free_ char *cl = NULL;
        assert_true(asprintf(&cl, "/proc/%d/cmdline", (int) pid) > 0);
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *c = NULL;
                size_t cs;
                if (read_file_bounded(cl, 4096, &c, &cs) >= 0 && cs > 6 && memcmp(c, "sleep", 6) == 0)
                        break;
                (void) poll(NULL, 0, 10);
        }
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, collect_note, &notes), 0);
        assert_int_equal(waitpid(pid, &st, WNOHANG), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_non_null(notes);
        assert_non_null(strstr(notes, "waiting for sleep 1.7 (left running by the killed run) to end"));
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

/* --- damaged journals --- */

static char *manifest_path(const Fixture *f, const char *tx) {
        char *p;
        assert_true(asprintf(&p, "%s" JOURNAL_TRANSACTIONS "/%s/manifest.jsonl", f->root, tx) > 0);
        return p;
}

__attribute__((noinline)) static char *read_all(const char *path) {
        char *data = NULL;
        size_t size;
        if (read_file_bounded(path, 1 << 24, &data, &size) < 0)
                fail_msg("cannot read %s", path);
        return data;
}

static void write_all(const char *path, const char *data) {
        FILE *fp = fopen(path, "we");
        assert_non_null(fp);
        assert_int_equal(fputs(data, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

/* Replaces the first occurrence of `from` in the manifest by `to`. */
static void edit_manifest(const Fixture *f, const char *tx, const char *from, const char *to) {
        _cleanup_free_ char *path = manifest_path(f, tx), *data = read_all(path), *out = NULL;
        char *at = strstr(data, from);
        assert_non_null(at);
        *at = '\0';
        assert_true(asprintf(&out, "%s%s%s", data, to, at + strlen(from)) > 0);
        write_all(path, out);
}

static TransactionStatus status_of(const Fixture *f, const char *tx, unsigned *ret_line) {
        TransactionInfo *list = NULL;
        size_t n = 0;
        TransactionStatus s = _TRANSACTION_STATUS_MAX;
        assert_int_equal(journal_list(f->root, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (streq(list[i].id, tx)) {
                        s = list[i].status;
                        if (ret_line)
                                *ret_line = list[i].damaged_line;
                }
        transaction_infos_free(list, n);
        return s;
}

/* A run killed while it wrote a journal line leaves a half-written last line. That line's
 * change had not begun (an entry is synced before its change): rollback undoes the rest,
 * cuts the torn line off, and its mark is a whole line, so history says rolled back. */
static void test_torn_last_line(void **state) {
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *tx = NULL, *mpath = NULL, *m = NULL, *data = NULL, *torn = NULL;

        make_root(f, "debian", answers_virtual);
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0640);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        journal_free(j);
        put(f, "/etc/postfix/main.cf", "a = 2\n", 0644);
        mpath = manifest_path(f, tx);
        m = read_all(mpath);
        assert_true(asprintf(&torn, "%s{\"type\":\"run\",\"step\":\"postfix\",\"argv\":[\"postconf\",\"-e", m) > 0);
        write_all(mpath, torn);

        assert_int_equal(status_of(f, tx, NULL), TRANSACTION_INCOMPLETE);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        data = get(f, "/etc/postfix/main.cf");
        assert_string_equal(data, "a = 1\n");
        assert_true(file_has_mode(f, "/etc/postfix/main.cf", 0640));
        assert_null(f->rec.log); /* the torn run entry's command had not started: no undo */
        assert_int_equal(status_of(f, tx, NULL), TRANSACTION_ROLLED_BACK);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), -EALREADY);
        /* the manifest: the old lines, then the mark as a whole line of its own */
        free(data);
        data = read_all(mpath);
        assert_true(startswith(data, m));
        assert_non_null(strstr(data + strlen(m), "{\"type\":\"rollback\""));
        assert_null(strstr(data, "postconf"));
        assert_int_equal(data[strlen(data) - 1], '\n');
}

/* A damaged line in the middle: the whole transaction is refused (file and line named),
 * nothing is restored, and history says damaged. */
static void test_damaged_middle_line(void **state) {
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *tx = NULL, *notes = NULL, *want = NULL, *a = NULL, *h = NULL;
        unsigned line = 0;

        make_root(f, "debian", answers_virtual);
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0644);
        put(f, "/etc/hostname", "old\n", 0644);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        assert_int_equal(journal_backup(j, "hostname", "/etc/hostname"), 0);
        assert_int_equal(journal_commit(j, true, NULL, NULL), 0);
        journal_free(j);
        put(f, "/etc/postfix/main.cf", "a = 2\n", 0644);
        put(f, "/etc/hostname", "new\n", 0644);
        /* line 2, the backup of main.cf, loses its end (a disk error, a hand edit) */
        edit_manifest(f, tx, "\"path\":\"/etc/postfix/main.cf\"", "\"pa");

        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, collect_note, &notes), -EBADMSG);
        assert_true(asprintf(&want, "%s" JOURNAL_TRANSACTIONS "/%s/manifest.jsonl:2: ", f->root, tx) > 0);
        assert_non_null(notes);
        assert_non_null(strstr(notes, want));
        a = get(f, "/etc/postfix/main.cf");
        h = get(f, "/etc/hostname");
        assert_string_equal(a, "a = 2\n");
        assert_string_equal(h, "new\n"); /* line 3 was intact: not restored either */
        assert_int_equal(status_of(f, tx, &line), TRANSACTION_DAMAGED);
        assert_int_equal(line, 2);

        /* a line taken out of the middle is damage too: seq says so */
        _cleanup_free_ char *mpath = manifest_path(f, tx), *m = NULL;
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0644);
        edit_manifest(f, tx, "\"pa", "\"path\":\"/etc/postfix/main.cf\"");
        assert_int_equal(status_of(f, tx, NULL), TRANSACTION_OK);
        m = read_all(mpath);
        char *l2 = strchr(m, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
        memmove(l2, l3, strlen(l3) + 1);
        write_all(mpath, m);
        assert_int_equal(status_of(f, tx, &line), TRANSACTION_DAMAGED);
        assert_int_equal(line, 2);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), -EBADMSG);
        free(h);
        h = get(f, "/etc/hostname");
        assert_string_equal(h, "new\n");
}

/* Records that would reach outside the root, or fields of the wrong type: the transaction
 * is refused as damaged, and nothing is touched, inside the root or out. */
static void test_damaged_fields(void **state) {
        static const struct {
                const char *from, *to;
        } cases[] = {
                /* a created directory "/.." + the name of a directory beside the root */
                { "\"type\":\"mkdir\",\"step\":\"dovecot\",\"path\":\"/var/mail/vhosts\"",
                  "\"type\":\"mkdir\",\"step\":\"dovecot\",\"path\":\"/../OUTSIDE\"" },
                { "\"path\":\"/var/mail/vhosts\"", "\"path\":\"/var/mail/vhosts/..\"" },
                { "\"path\":\"/var/mail/vhosts\"", "\"path\":\"var/mail/vhosts\"" },
                { "\"path\":\"/var/mail/vhosts\"", "\"path\":\"/var//mail\"" },
                { "\"path\":\"/var/mail/vhosts\"", "\"path\":\"/var/mail\\u0000/x\"" },
                { "\"path\":\"/var/mail/vhosts\"", "\"path\":\"/\"" },
                { "\"path\":\"/etc/postfix/main.cf\"", "\"path\":\"/etc/postfix/../../OUTSIDE-f/f\"" },
                { "\"mode\":416", "\"mode\":\"416\"" },
                { "\"mode\":416", "\"mode\":416.0" },
                { "\"mode\":416", "\"mode\":65536" },
                { "\"mode\":416,", "" },
                { "\"uid\":", "\"uid\":-1,\"x\":" },
                { "\"gid\":", "\"gid\":\"0\",\"x\":" },
                { "\"existed\":true", "\"existed\":1" },
                { "\"sha256\":\"", "\"sha256\":\"g" },
                { "\"file\":\"backups/1\"", "\"file\":\"backups/../1\"" },
                { "\"type\":\"mkdir\"", "\"type\":\"rmdir\"" },
                { "\"type\":\"mkdir\"", "\"type\":\"mkdir\",\"type\":\"mkdir\"" },
        };
        Fixture *f = fixture(state);
        Journal *j = NULL;
        _cleanup_free_ char *tx = NULL, *mpath = NULL, *orig = NULL, *outside = NULL, *base = NULL;
        struct stat st;

        make_root(f, "debian", answers_virtual);
        put(f, "/etc/postfix/main.cf", "a = 1\n", 0640);
        assert_int_equal(journal_begin(f->root, NOW, "answers.ini", &j), 0);
        tx = strdup(journal_id(j));
        assert_int_equal(journal_backup(j, "postfix", "/etc/postfix/main.cf"), 0);
        assert_int_equal(journal_mkdir(j, "dovecot", "/var/mail/vhosts"), 0);
        assert_int_equal(journal_commit(j, true, NULL, NULL), 0);
        journal_free(j);
        mpath = manifest_path(f, tx);
        orig = read_all(mpath);
        assert_int_equal(status_of(f, tx, NULL), TRANSACTION_OK);
        /* an empty directory and a file beside the root, where "/.." leads */
        base = strdup(strrchr(f->root, '/') + 1);
        assert_true(asprintf(&outside, "%s-outside", f->root) > 0);
        assert_int_equal(mkdir(outside, 0755), 0);
        _cleanup_free_ char *outfile = NULL, *outfdir = NULL;
        assert_true(asprintf(&outfdir, "%s-outside-f", f->root) > 0);
        assert_int_equal(mkdir(outfdir, 0755), 0);
        assert_true(asprintf(&outfile, "%s/f", outfdir) > 0);
        write_all(outfile, "mine\n");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *to = NULL, *notes = NULL, *data = NULL;
                const char *out = strstr(cases[i].to, "OUTSIDE");
                if (out)
                        assert_true(asprintf(&to, "%.*s%s-outside%s", (int) (out - cases[i].to), cases[i].to,
                                             base, out + strlen("OUTSIDE")) > 0);
                write_all(mpath, orig);
                put(f, "/etc/postfix/main.cf", "a = 2\n", 0644);
                _cleanup_free_ char *vh = path_in(f, "/var/mail/vhosts");
                mkdirs(vh);
                (void) mkdir(vh, 0755);
                edit_manifest(f, tx, cases[i].from, to ? to : cases[i].to);
                print_message("case %zu: %s\n", i, to ? to : cases[i].to);
                assert_int_equal(status_of(f, tx, NULL), TRANSACTION_DAMAGED);
                assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, collect_note, &notes),
                                 -EBADMSG);
                assert_non_null(strstr(notes, "manifest.jsonl:"));
                data = get(f, "/etc/postfix/main.cf");
                assert_string_equal(data, "a = 2\n");
                assert_true(file_has_mode(f, "/etc/postfix/main.cf", 0644));
                assert_int_equal(stat(vh, &st), 0);
                assert_int_equal(stat(outside, &st), 0);
                free(data);
                assert_int_equal(read_file_bounded(outfile, 1024, &data, &(size_t) {0}), 0);
                assert_string_equal(data, "mine\n");
        }
        /* the intact manifest rolls back (the cases were not refused for another reason) */
        write_all(mpath, orig);
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        _cleanup_free_ char *data = get(f, "/etc/postfix/main.cf");
        assert_string_equal(data, "a = 1\n");
        assert_true(file_has_mode(f, "/etc/postfix/main.cf", 0640));
        assert_int_equal(unlink(outfile), 0);
        assert_int_equal(rmdir(outfdir), 0);
        assert_int_equal(rmdir(outside), 0);
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

/* Preflight's list of systems (issue 11): older than supported is refused before any
 * change, naming the system and the floor; a system not on the list, or newer than tested,
 * is a warning and the plan goes on; os-release text never reaches the plan raw. */
static void test_preflight_os(void **state) {
        Fixture *f = fixture(state);
        static const struct {
                const char *os_release;
                bool error;
                const char *says;
        } cases[] = {
                { "ID=debian\nVERSION_ID=\"10\"\nPRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\n", true,
                  "Debian GNU/Linux 10 (buster) is older than mxdeck supports (debian 12+): upgrade the system first" },
                { "ID=ubuntu\nVERSION_ID=\"20.04\"\nPRETTY_NAME=\"Ubuntu 20.04.6 LTS\"\n", true,
                  "Ubuntu 20.04.6 LTS is older than mxdeck supports (ubuntu 22.04+)" },
                { "ID=centos\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n", true,
                  "CentOS Linux 7 (Core) is older than mxdeck supports (centos 8+)" },
                { "ID=rocky\nVERSION_ID=\"11.0\"\nPRETTY_NAME=\"Rocky Linux 11.0\"\n", false,
                  "Rocky Linux 11.0 is newer than mxdeck was tested with (up to 10)" },
                { "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"21\"\nPRETTY_NAME=\"Linux Mint 21\"\n", false,
                  "Linux Mint 21 is not on mxdeck's list of supported systems" },
                { "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n", false,
                  "Debian GNU/Linux trixie/sid: no version in os-release (VERSION_ID=): a testing release?" },
                { "ID=debian\nVERSION_ID=\"9\"\nPRETTY_NAME=\"Debian \033]0;owned\007 9\"\n", true,
                  "is older than mxdeck supports (debian 12+)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                {
                _cleanup_(installer_freep) Installer *ins = NULL;
                _cleanup_(plan_freep) Plan *p = NULL;
                _cleanup_free_ char *text = NULL;

                make_root(f, "debian", answers_virtual);
                put(f, "/etc/os-release", cases[i].os_release, 0644);
                ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                assert_int_equal(installer_plan(ins, &p), 0);
                assert_int_equal(plan_render_text(p, false, &text), 0);
                if (!strstr(text, cases[i].says) || plan_has_errors(p) != cases[i].error)
                        fail_msg("case %zu: want %s \"%s\" in:\n%s", i, cases[i].error ? "an error" : "a warning",
                                 cases[i].says, text);
                assert_null(strchr(text, '\033'));
                if (cases[i].error) {
                        ApplyResult res = {};
                        assert_int_equal(installer_apply(ins, p, &res), -EINVAL);
                        assert_null(res.transaction);
                        apply_result_done(&res);
                }
                } /* the installer goes before its fixture */
                teardown(state);
                *state = NULL;
                f = fixture(state);
        }
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


static void collect_note(const char *line, void *userdata) {
        char **s = userdata, *n;
        assert_true(asprintf(&n, "%s%s\n", *s ? *s : "", line) > 0);
        free(*s);
        *s = n;
}

static const StepPlan *find_step(const Plan *p, const char *name) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].step->name, name))
                        return &p->steps[i];
        return NULL;
}

/* RHEL profile, recorded rpm/dnf (see the top): dovecot missing and sendmail present with
 * [packages] remove_other_mta = yes. The plan stops after the packages step (nothing to plan
 * Dovecot against yet), apply installs, plans the rest and finishes in one transaction;
 * rollback reports the packages instead of removing them. */
static void test_packages_rhel(void **state) {
        Fixture *f = fixture(state);
        _cleanup_free_ char *text = NULL, *notes = NULL, *tx = NULL;
        const char answers[] = "[server]\nhostname = mail.example.test\ndomain = example.test\n"
                               "[users]\nmode = system\n[user bob]\npassword_file = /root/bob.pw\n"
                               "[postfix]\nsmtp_address_preference = ipv4\n"
                               "[packages]\nremove_other_mta = yes\n";

        if (!have_postconf() || geteuid() != 0)
                skip(); /* the rest of the plan needs the real postconf (see the top) */
        make_root(f, "rhel", answers);
        free(f->rec.rpm_installed);
        f->rec.rpm_installed = strdup(" postfix sendmail ");
        put(f, "/usr/sbin/sendmail.sendmail", "", 0755);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                _cleanup_(plan_freep) Plan *p = NULL;
                ApplyResult res = {};

                assert_int_equal(installer_plan(ins, &p), 0);
                assert_false(plan_has_errors(p));
                assert_true(plan_is_partial(p));
                assert_int_equal(plan_render_text(p, false, &text), 0);
                assert_non_null(strstr(text, "another mail server is installed (/usr/sbin/sendmail.sendmail)"));
                assert_non_null(strstr(text, "to install: dovecot;"));
                assert_non_null(strstr(text, "$ chroot "));
                assert_non_null(strstr(text, " dnf remove -y sendmail\n"));
                assert_non_null(strstr(text, " dnf install -y dovecot\n"));
                assert_null(strstr(text, "postfix: "));  /* not planned yet */
                assert_null(strstr(f->rec.log, "dnf")); /* planning installs nothing */

                assert_int_equal(installer_apply(ins, p, &res), 0);
                assert_null(res.failed_step);
                /* what changed spans both parts of the plan, not only the part shown
                 * before the packages were installed (setup --format json: changed_steps) */
                {
                        _cleanup_free_ char *steps = strdup("");
                        for (char **s = res.changed_steps; s && *s; s++) {
                                char *n;
                                assert_true(asprintf(&n, "%s%s ", steps, *s) > 0);
                                free(steps);
                                steps = n;
                        }
                        assert_string_equal(steps, "packages hostname tls users postfix dovecot hardening services ");
                }
                tx = strdup(res.transaction);
                apply_result_done(&res);
        }
        assert_non_null(strstr(f->rec.log, " dnf remove -y sendmail\n"));
        assert_non_null(strstr(f->rec.log, " dnf install -y dovecot\n"));
        assert_non_null(f->rec.env);
        assert_null(strstr(f->rec.env, "DEBIAN_FRONTEND"));
        /* the rest was planned and applied after the install, in the same transaction */
        _cleanup_free_ char *maincf = get(f, "/etc/postfix/main.cf");
        assert_non_null(maincf);
        assert_non_null(strstr(maincf, "smtpd_tls_cert_file = /etc/pki/tls/certs/"));
        /* IPv6 without a PTR: the answers make Postfix send over IPv4 first */
        assert_non_null(strstr(maincf, "\nsmtp_address_preference = ipv4\n"));

        /* rollback: the files come back, the packages are reported, not removed */
        size_t before = f->rec.n;
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, collect_note, &notes), 0);
        assert_non_null(notes);
        assert_non_null(strstr(notes, "packages: mxdeck installed dovecot; rollback leaves them installed "
                                      "(remove them with: dnf remove dovecot)"));
        assert_non_null(strstr(notes, "packages: mxdeck removed sendmail"));
        for (const char *l = f->rec.log; l && *l; l = strchr(l, '\n') + 1)
                if (before-- == 0)
                        before = 0, assert_null(strstr(l, "dnf"));
        _cleanup_free_ char *gone = get(f, "/etc/postfix/main.cf");
        assert_null(gone);
}

/* Debian profile, real dpkg-query: postfix missing -> debconf preseeded ("No
 * configuration") through stdin first, apt-get with DEBIAN_FRONTEND=noninteractive in its
 * environment (not a shell); exim4 present without remove_other_mta -> refused before any
 * change, naming it; everything installed -> nothing to do. */
static void test_packages_debian(void **state) {
        Fixture *f = fixture(state);
        _cleanup_free_ char *text = NULL;

        _cleanup_free_ char *dq = spawn_find_program("dpkg-query");
        if (!dq)
                skip(); /* the Debian path asks the real dpkg-query (see the top) */
        make_root(f, "debian", answers_virtual);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                const StepPlan *sp = find_step(p, "packages");
                assert_non_null(sp);
                assert_false(step_has_changes(sp));
                assert_false(plan_is_partial(p));
        }
        /* postfix and dovecot-lmtpd gone (virtual mode needs LMTP) */
        put(f, "/var/lib/dpkg/status",
            "Package: dovecot-core\nStatus: install ok installed\nMaintainer: x\nArchitecture: all\nVersion: 1\nDescription: x\n\n"
            "Package: dovecot-imapd\nStatus: install ok installed\nMaintainer: x\nArchitecture: all\nVersion: 1\nDescription: x\n\n"
            "Package: dovecot-pop3d\nStatus: install ok installed\nMaintainer: x\nArchitecture: all\nVersion: 1\nDescription: x\n\n"
            "Package: dovecot-lmtpd\nStatus: deinstall ok config-files\nMaintainer: x\nArchitecture: all\nVersion: 1\nDescription: x\n\n"
            "Package: exim4-base\nStatus: install ok installed\nMaintainer: x\nArchitecture: all\nVersion: 1\nDescription: x\n\n",
            0644);
        put(f, "/usr/sbin/exim4", "", 0755);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                assert_true(plan_has_errors(p));
                assert_int_equal(plan_render_text(p, false, &text), 0);
                assert_non_null(strstr(text, "another mail server is installed (/usr/sbin/exim4)"));
                assert_non_null(strstr(text, "remove_other_mta = yes"));
        }
        _cleanup_free_ char *exim = path_in(f, "/usr/sbin/exim4");
        assert_int_equal(unlink(exim), 0);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f, CONFLICT_KEEP_THEIRS);
                _cleanup_(plan_freep) Plan *p = NULL;
                ApplyResult res = {};
                free(text);
                text = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                assert_false(plan_has_errors(p));
                assert_int_equal(plan_render_text(p, false, &text), 0);
                assert_non_null(strstr(text, "to install: postfix dovecot-lmtpd;"));
                assert_non_null(strstr(text, "$ debconf-set-selections: postfix postfix/main_mailer_type select No configuration\n"));
                assert_non_null(strstr(text, "apt-get install -y --no-install-recommends postfix dovecot-lmtpd\n"));
                /* only what the plan says: the preseed and the install, not the rest yet */
                const StepPlan *sp = find_step(p, "packages");
                assert_int_equal(sp->n_actions, 2);
                assert_int_equal(sp->actions[0].kind, ACTION_RUN);
                assert_string_equal(sp->actions[0].input, "postfix postfix/main_mailer_type select No configuration\n");
                /* apply only the packages step: rest needs the real daemons' files */
                Plan only = { .steps = (StepPlan *) sp, .n_steps = 1 };
                sp = NULL;
                only.steps[0].replan_after = false;
                assert_int_equal(installer_apply(ins, &only, &res), 0);
                apply_result_done(&res);
        }
        assert_non_null(strstr(f->rec.log, "debconf-set-selections\n"));
        assert_non_null(strstr(f->rec.log, "apt-get install -y --no-install-recommends postfix dovecot-lmtpd\n"));
        assert_non_null(f->rec.env);
        assert_non_null(strstr(f->rec.env, "DEBIAN_FRONTEND=noninteractive\n"));
        assert_non_null(strstr(f->rec.env, "PATH=/"));
        assert_string_equal(f->rec.input, "postfix postfix/main_mailer_type select No configuration\n");
}

/* /proc/net/tcp: LISTEN (0A) sockets on the port, by inode; other states, ports and
 * malformed lines are not. */
static void test_listeners_parse(void **state) {
        static const char tcp[] =
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                "   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0\n"
                "   1: 0100007F:024B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0\n"
                "   2: 0100007F:0019 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0\n"
                "   3: 0100007F:0019 00000000:0000 0A 00000000:00000000\n"
                "   4: 00000000000000000000000000000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4444 1\n";
        uint64_t inodes[4];
        size_t n;

        listeners_parse(tcp, sizeof(tcp) - 1, 25, inodes, 4, &n);
        assert_int_equal(n, 2);
        assert_int_equal(inodes[0], 1111);
        assert_int_equal(inodes[1], 4444);
        listeners_parse(tcp, sizeof(tcp) - 1, 587, inodes, 4, &n);
        assert_int_equal(n, 1);
        assert_int_equal(inodes[0], 2222);
        listeners_parse(tcp, sizeof(tcp) - 1, 25, inodes, 1, &n);
        assert_int_equal(n, 1);
        listeners_parse("", 0, 25, inodes, 4, &n);
        assert_int_equal(n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff),
                cmocka_unit_test(test_listeners_parse),
                cmocka_unit_test(test_postconf_previews),
                cmocka_unit_test_teardown(test_plan_debian_virtual, teardown),
                cmocka_unit_test_teardown(test_plan_rhel_system, teardown),
                cmocka_unit_test_teardown(test_debian_virtual, teardown),
                cmocka_unit_test_teardown(test_rhel_system, teardown),
                cmocka_unit_test_teardown(test_interrupted_transaction, teardown),
                cmocka_unit_test_teardown(test_damaged_backup, teardown),
                cmocka_unit_test_teardown(test_torn_last_line, teardown),
                cmocka_unit_test_teardown(test_damaged_middle_line, teardown),
                cmocka_unit_test_teardown(test_damaged_fields, teardown),
                cmocka_unit_test_teardown(test_rollback_waits_for_orphan, teardown),
                cmocka_unit_test_teardown(test_bad_password_file, teardown),
                cmocka_unit_test_teardown(test_files_certificate_mismatch, teardown),
                cmocka_unit_test_teardown(test_preflight_os, teardown),
                cmocka_unit_test_teardown(test_packages_rhel, teardown),
                cmocka_unit_test_teardown(test_packages_debian, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
