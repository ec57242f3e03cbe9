/* mxdeck users against a temporary root: the mode from the managed record, name checks,
 * add / passwd / del in virtual mode applied under a transaction (files, modes, the
 * managed record moved along, no password anywhere), refusals that change nothing, and
 * rollback byte for byte. System mode plans useradd / chpasswd / userdel; those commands
 * are recorded here, not run (a temporary root has no accounts database to change: the
 * lab test tests/integration/users.sh runs them for real). */
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

#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "users.h"

#define NOW INT64_C(1795000000)
static const char password[] = "Sup3r-secret-pw";

static char root_dir[64];
static char *recorded;

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

static int recorder(const SpawnOptions *o, SpawnResult *ret, void *userdata) {
        char *n;
        (void) userdata;

        fake_useradd(o);
        for (size_t i = 0; o->argv[i]; i++) {
                assert_null(strstr(o->argv[i], password));
                assert_true(asprintf(&n, "%s%s%s", recorded ? recorded : "", i ? " " : "", o->argv[i]) > 0);
                free(recorded);
                recorded = n;
        }
        if (o->input) {
                assert_null(memmem(o->input, o->input_size, password, strlen(password)));
                assert_true(asprintf(&n, "%s <stdin:%zu bytes>", recorded, o->input_size) > 0);
                free(recorded);
                recorded = n;
        }
        assert_true(asprintf(&n, "%s\n", recorded) > 0);
        free(recorded);
        recorded = n;
        *ret = (SpawnResult) { .exited = true, .exit_status = 0, .out = strdup(""), .err = strdup("") };
        return 0;
}

static char *path_in(const char *p) {
        char *s;
        assert_true(asprintf(&s, "%s%s", root_dir, p) > 0);
        return s;
}

static void put(const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *full = path_in(path);
        for (char *s = full + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void) mkdir(full, 0755);
                        *s = '/';
                }
        AtomicWriteOptions o = { .set_mode = true, .mode = mode };
        assert_int_equal(atomic_write_file(full, content, strlen(content), &o, NULL), 0);
        assert_int_equal(chmod(full, mode), 0);
}

static char *get(const char *path) {
        _cleanup_free_ char *full = path_in(path);
        char *data = NULL;
        size_t size;
        if (read_file_bounded(full, 1 << 20, &data, &size) < 0)
                return NULL;
        return data;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static int teardown(void **state) {
        (void) state;
        (void) nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(recorded);
        recorded = NULL;
        return 0;
}

static const char users_file[] = "alice@example.test:{SHA512-CRYPT}$6$abc$def::::::\n";
static const char mailboxes[] = "alice@example.test OK\n";

static void make_root(const char *managed) {
        snprintf(root_dir, sizeof(root_dir), "/tmp/test-users-XXXXXX");
        assert_non_null(mkdtemp(root_dir));
        put("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644);
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\npostfix:x:105:107::/var/spool/postfix:/usr/sbin/nologin\n"
                           "dave:x:1001:1001::/home/dave:/usr/sbin/nologin\n", 0644);
        put("/etc/group", "root:x:0:\ndovecot:x:997:\n", 0644);
        put("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
        put("/etc/postfix/main.cf", "mydomain = example.test\nvirtual_mailbox_domains = example.test, other.test\n"
                                    "virtual_mailbox_maps = texthash:/etc/postfix/mxdeck-mailboxes\n", 0644);
        put("/etc/dovecot/users", users_file, 0640);
        put("/etc/postfix/mxdeck-mailboxes", mailboxes, 0644);
        put("/etc/postfix/mxdeck-aliases", "info@example.test alice@example.test\n", 0644);
        if (managed)
                put(JOURNAL_MANAGED, managed, 0600);
}

static UsersAdmin *admin(int mode) {
        UsersAdmin *u = NULL;
        _cleanup_free_ char *err = NULL;
        UsersAdminOptions o = {
                .root = root_dir, .mode = mode, .label = "mxdeck users test",
                .spawn = recorder, .now = NOW,
        };
        int r = users_admin_new(&o, &u, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", strempty(err));
        assert_int_equal(r, 0);
        return u;
}

static UsersAdmin *admin(int mode);

/* An Installer applies one plan (it holds the transaction's lock until freed): a fresh
 * one per change, as each `mxdeck users` command is. */
static char *apply(UsersOp op, const char *name, const char *pw) {
        _cleanup_(users_admin_freep) UsersAdmin *u = admin(-1);
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_free_ char *err = NULL, *norm = NULL, *text = NULL;
        ApplyResult res = {};
        char *tx;

        assert_int_equal(users_admin_normalize(u, name, &norm, &err), 0);
        assert_int_equal(users_admin_plan(u, op, norm, pw, &p, &err), 0);
        assert_int_equal(plan_render_text(p, false, &text), 0);
        assert_null(strstr(text, password));
        assert_int_equal(installer_apply(users_admin_installer(u), p, &res), 0);
        assert_non_null(res.transaction);
        tx = strdup(res.transaction);
        apply_result_done(&res);
        return tx;
}

static void test_virtual(void **state) {
        (void) state;
        make_root("{\"postfix:main:virtual_mailbox_maps\": \"texthash:/etc/postfix/mxdeck-mailboxes\"}");
        _cleanup_(users_admin_freep) UsersAdmin *u = admin(-1);
        _cleanup_free_ char *tx1 = NULL, *tx2 = NULL, *tx3 = NULL, *f = NULL, *m = NULL, *managed = NULL;
        _cleanup_free_ char *after_add = NULL;
        assert_int_equal(users_admin_mode(u), ANSWERS_USERS_VIRTUAL);

        /* names */
        static const struct {
                const char *name, *want, *error;
        } names[] = {
                { "carol", "carol@example.test", NULL },
                { "carol@other.test", "carol@other.test", NULL },
                { "Carol", NULL, "'Carol' must be lower-case" },
                { "carol@elsewhere.test", NULL, "not in a mail domain of this server (example.test, other.test)" },
                { "ca:rol", NULL, "does not have a valid local part" },
                { ".carol", NULL, "does not have a valid local part" },
                { "", NULL, "does not have a valid local part" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *got = NULL, *err = NULL;
                int r = users_admin_normalize(u, names[i].name, &got, &err);
                if (names[i].want) {
                        assert_int_equal(r, 0);
                        assert_string_equal(got, names[i].want);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(strstr(err, names[i].error));
                }
        }

        /* refusals change nothing and begin no transaction */
        {
                _cleanup_(plan_freep) Plan *p = NULL;
                _cleanup_free_ char *err = NULL;
                assert_int_equal(users_admin_plan(u, USERS_ADD, "alice@example.test", password, &p, &err), -EINVAL);
                assert_non_null(strstr(err, "exists already"));
                free(err);
                err = NULL;
                assert_int_equal(users_admin_plan(u, USERS_DEL, "nobody@example.test", NULL, &p, &err), -EINVAL);
                assert_non_null(strstr(err, "no user nobody@example.test"));
                free(err);
                err = NULL;
                assert_int_equal(users_admin_plan(u, USERS_PASSWD, "alice@example.test", "", &p, &err), -EINVAL);
                _cleanup_free_ char *tdir = path_in(JOURNAL_TRANSACTIONS);
                assert_int_equal(access(tdir, F_OK), -1);
        }

        tx1 = apply(USERS_ADD, "carol", password);
        f = get("/etc/dovecot/users");
        m = get("/etc/postfix/mxdeck-mailboxes");
        assert_true(startswith(f, users_file));
        assert_non_null(strstr(f, "\ncarol@example.test:{SHA512-CRYPT}$6$"));
        assert_null(strstr(f, password));
        assert_string_equal(m, "alice@example.test OK\ncarol@example.test OK\n");
        _cleanup_free_ char *full = path_in("/etc/dovecot/users");
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        /* the managed record moved along: setup will not take this for an edit of theirs */
        managed = get(JOURNAL_MANAGED);
        assert_non_null(strstr(managed, "file:/etc/dovecot/users"));
        assert_non_null(strstr(managed, "file:/etc/postfix/mxdeck-mailboxes"));
        /* Postfix is not running in a temporary root: no reload planned */
        assert_null(recorded);
        after_add = strdup(f);

        /* list */
        UserEntry *e = NULL;
        size_t n = 0;
        assert_int_equal(users_admin_list(u, &e, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(e[0].name, "alice@example.test");
        assert_string_equal(e[0].aliases[0], "info@example.test");
        assert_true(e[1].mailbox);
        user_entries_free(e, n);

        tx2 = apply(USERS_PASSWD, "carol@example.test", "An0ther-password");
        free(f);
        f = get("/etc/dovecot/users");
        assert_string_not_equal(f, after_add);
        assert_true(startswith(f, users_file));

        tx3 = apply(USERS_DEL, "carol", NULL);
        free(f);
        free(m);
        f = get("/etc/dovecot/users");
        m = get("/etc/postfix/mxdeck-mailboxes");
        assert_string_equal(f, users_file);
        assert_string_equal(m, mailboxes);

        /* rollback of the add and everything after it, newest first */
        const char *txs[] = { tx3, tx2, tx1 };
        for (size_t i = 0; i < ELEMENTSOF(txs); i++)
                assert_int_equal(journal_rollback(root_dir, txs[i], recorder, NULL, NULL, NULL), 0);
        free(f);
        free(m);
        f = get("/etc/dovecot/users");
        m = get("/etc/postfix/mxdeck-mailboxes");
        assert_string_equal(f, users_file);
        assert_string_equal(m, mailboxes);
        free(managed);
        managed = get(JOURNAL_MANAGED);
        assert_null(strstr(managed, "file:/etc/dovecot/users"));
}

static void test_system(void **state) {
        (void) state;
        make_root("{\"postfix:main:home_mailbox\": \"Maildir/\"}");
        _cleanup_(users_admin_freep) UsersAdmin *u = admin(-1);
        _cleanup_free_ char *tx = NULL, *norm = NULL, *err = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        assert_int_equal(users_admin_mode(u), ANSWERS_USERS_SYSTEM);

        assert_int_equal(users_admin_normalize(u, "postfix", &norm, &err), -EINVAL);
        free(err);
        err = NULL;
        assert_int_equal(users_admin_normalize(u, "carol@example.test", &norm, &err), -EINVAL);
        free(err);
        err = NULL;
        /* an account outside the login range is not a mailbox mxdeck changes */
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nsvc:x:500:500::/:/usr/sbin/nologin\n", 0644);
        assert_int_equal(users_admin_plan(u, USERS_DEL, "svc", NULL, &p, &err), -EINVAL);
        assert_non_null(strstr(err, "not a mailbox account"));
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);

        tx = apply(USERS_ADD, "carol", password);
        _cleanup_free_ char *want = NULL;
        assert_true(asprintf(&want, "useradd --root %s --no-create-home --home-dir /home/carol --shell /usr/sbin/nologin carol\n"
                                    "chpasswd --root %s --encrypted <stdin:", root_dir, root_dir) > 0);
        if (!startswith(recorded, want))
                fprintf(stderr, "recorded:\n%s", recorded);
        assert_true(startswith(recorded, want));
}

static void test_no_setup(void **state) {
        (void) state;
        make_root(NULL);
        put("/etc/postfix/main.cf", "myhostname = x.example.test\n", 0644);
        UsersAdmin *u = NULL;
        _cleanup_free_ char *err = NULL;
        UsersAdminOptions o = { .root = root_dir, .mode = -1 };
        assert_int_equal(users_admin_new(&o, &u, &err), -ENOENT);
        assert_non_null(strstr(err, "run 'mxdeck setup' first"));
        assert_null(u);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_virtual, teardown),
                cmocka_unit_test_teardown(test_system, teardown),
                cmocka_unit_test_teardown(test_no_setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
