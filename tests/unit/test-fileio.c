/* Unit tests for core/fileio: atomic replace (mode, owner, backups, failures), bounded reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

typedef struct Fixture {
        char dir[64];
        char *real; /* dir with symlinks resolved, as backup names see it */
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-fileio-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->real = realpath(f->dir, NULL);
        if (!f->real)
                return -1;
        *state = f;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Fixture *f = *state;
        int r = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f->real);
        free(f);
        return r;
}

static char *path_in(const Fixture *f, const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
        return p;
}

static void write_plain(const char *path, const void *data, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static void assert_content(const char *path, const void *data, size_t size) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        assert_int_equal(read_file_bounded(path, size + 16, &buf, &n), 0);
        assert_int_equal(n, size);
        assert_memory_equal(buf, data, size);
}

static mode_t mode_of(const char *path) {
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        return st.st_mode & 07777;
}

/* Number of ".#" temp files left in dir. */
static unsigned count_temps(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".#", 2) == 0)
                        n++;
        closedir(d);
        return n;
}

static void test_new_file_mode(void **state) {
        Fixture *f = *state;
        static const struct {
                bool set_mode;
                mode_t mode;
                mode_t umask;
                mode_t expect;
        } cases[] = {
                { false, 0, 022, 0644 },
                { false, 0, 077, 0644 }, /* umask does not narrow the documented default */
                { true, 0600, 022, 0600 },
                { true, 0640, 077, 0640 },
                { true, 0400, 022, 0400 },
                { true, 0755, 0, 0755 },
                { true, 0, 022, 0 },
                { true, 0100644, 022, 0644 }, /* file type bits are ignored */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char name[32];
                snprintf(name, sizeof(name), "new-%zu", i);
                _cleanup_free_ char *p = path_in(f, name);
                AtomicWriteOptions o = { .set_mode = cases[i].set_mode, .mode = cases[i].mode };
                char *backup = NULL;

                mode_t old = umask(cases[i].umask);
                assert_int_equal(atomic_write_file(p, "secret\n", 7, &o, &backup), 0);
                umask(old);
                assert_null(backup);
                assert_int_equal(mode_of(p), cases[i].expect);
                if (geteuid() == 0 || (cases[i].expect & 0400))
                        assert_content(p, "secret\n", 7);
        }
        assert_int_equal(count_temps(f->dir), 0);
}

static void test_replace_keeps_mode_and_owner(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "main.cf");
        struct stat st;

        write_plain(p, "old\n", 4, 0640);
        bool root = geteuid() == 0;
        if (root)
                assert_int_equal(chown(p, 4242, 4343), 0);

        assert_int_equal(atomic_write_file(p, "new contents\n", 13, NULL, NULL), 0);
        assert_content(p, "new contents\n", 13);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        if (root) {
                assert_int_equal(st.st_uid, 4242);
                assert_int_equal(st.st_gid, 4343);
        } else {
                assert_int_equal(st.st_uid, geteuid());
                print_message("not root: owner preservation for other users not checked\n");
        }

        /* set_mode wins over the existing mode. */
        AtomicWriteOptions o = { .set_mode = true, .mode = 0600 };
        assert_int_equal(atomic_write_file(p, "x", 1, &o, NULL), 0);
        assert_int_equal(mode_of(p), 0600);

        /* An existing file we may not read can still be replaced (no backup asked for). */
        _cleanup_free_ char *wo = path_in(f, "write-only");
        write_plain(wo, "old", 3, 0200);
        assert_int_equal(atomic_write_file(wo, "new", 3, NULL, NULL), 0);
        assert_int_equal(mode_of(wo), 0200);
        if (root)
                assert_content(wo, "new", 3);
        assert_int_equal(count_temps(f->dir), 0);
}

static void test_set_owner(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "owned");
        struct stat st;

        if (geteuid() != 0) {
                /* To ourselves it must work without privileges. */
                AtomicWriteOptions o = { .set_owner = true, .uid = geteuid(), .gid = getegid() };
                assert_int_equal(atomic_write_file(p, "a", 1, &o, NULL), 0);
                /* To someone else it must fail cleanly. */
                AtomicWriteOptions other = { .set_owner = true, .uid = 0, .gid = 0 };
                assert_int_equal(atomic_write_file(p, "b", 1, &other, NULL), -EPERM);
                assert_content(p, "a", 1);
                assert_int_equal(count_temps(f->dir), 0);
                skip();
        }

        /* Owner is set before the mode, so chown does not strip the set-gid bit. */
        AtomicWriteOptions o = { .set_mode = true, .mode = 02750, .set_owner = true, .uid = 1234, .gid = 5678 };
        assert_int_equal(atomic_write_file(p, "#!/bin/sh\n", 10, &o, NULL), 0);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
        assert_int_equal(st.st_mode & 07777, 02750);
}

static void test_backup(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "main.cf"), *bdir = path_in(f, "backups/tx-1");
        _cleanup_free_ char *expect1 = NULL, *expect2 = NULL;
        static const char orig[] = "myhostname = a\0with NUL\n";
        char *backup = NULL;
        struct stat st;

        write_plain(p, orig, sizeof(orig), 0640);
        AtomicWriteOptions o = { .backup_dir = bdir };

        assert_int_equal(atomic_write_file(p, "v2\n", 3, &o, &backup), 0);
        assert_non_null(backup);
        /* "/tmp/test-fileio-Ab12Cd/main.cf" -> "tmp_test-fileio-Ab12Cd_main.cf" */
        assert_true(asprintf(&expect1, "%s/%s/main.cf", bdir, f->real + 1) > 0);
        for (char *c = expect1 + strlen(bdir) + 1; *c; c++)
                if (*c == '/')
                        *c = '_';
        assert_string_equal(backup, expect1);
        assert_content(backup, orig, sizeof(orig));
        assert_int_equal(mode_of(backup), 0640);
        assert_int_equal(lstat(bdir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_content(p, "v2\n", 3);
        free(backup);
        backup = NULL;

        /* The same path again: the first backup is kept, the second gets "~1". */
        assert_int_equal(atomic_write_file(p, "v3\n", 3, &o, &backup), 0);
        assert_true(asprintf(&expect2, "%s~1", expect1) > 0);
        assert_string_equal(backup, expect2);
        assert_content(backup, "v2\n", 3);
        assert_content(expect1, orig, sizeof(orig));
        free(backup);
        backup = NULL;

        /* Without ret_backup the backup is still made. */
        assert_int_equal(atomic_write_file(p, "v4\n", 3, &o, NULL), 0);
        _cleanup_free_ char *expect3 = NULL;
        assert_true(asprintf(&expect3, "%s~2", expect1) > 0);
        assert_content(expect3, "v3\n", 3);

        /* A new file has nothing to back up. */
        _cleanup_free_ char *fresh = path_in(f, "fresh");
        assert_int_equal(atomic_write_file(fresh, "n", 1, &o, &backup), 0);
        assert_null(backup);
        assert_int_equal(count_temps(f->dir), 0);
}

static void test_backup_names_do_not_collide(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *sub = path_in(f, "a"), *bdir = path_in(f, "bk");
        /* Paths that a naive '/' -> '_' mapping would all turn into "..._a_b". */
        const char *names[] = { "a_b", "a/b", "a%5fb", "a~1" };
        char *backups[ELEMENTSOF(names)] = {};

        assert_int_equal(mkdir(sub, 0755), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = path_in(f, names[i]);
                write_plain(p, names[i], strlen(names[i]), 0644);
                AtomicWriteOptions o = { .backup_dir = bdir };
                assert_int_equal(atomic_write_file(p, "new", 3, &o, &backups[i]), 0);
                assert_non_null(backups[i]);
                /* No numeric suffix was needed: each path has a name of its own. */
                assert_null(strchr(backups[i] + strlen(bdir), '~'));
                assert_content(backups[i], names[i], strlen(names[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                for (size_t j = i + 1; j < ELEMENTSOF(names); j++)
                        assert_string_not_equal(backups[i], backups[j]);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                free(backups[i]);
}

static void test_relative_path(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *bdir = path_in(f, "bk"), *expect = NULL;
        char old_cwd[PATH_MAX];
        char *backup = NULL;

        assert_non_null(getcwd(old_cwd, sizeof(old_cwd)));
        assert_int_equal(chdir(f->dir), 0);
        write_plain("rel.conf", "1", 1, 0644);
        AtomicWriteOptions o = { .backup_dir = bdir };
        int r = atomic_write_file("rel.conf", "2", 1, &o, &backup);
        assert_int_equal(chdir(old_cwd), 0);
        assert_int_equal(r, 0);

        /* The backup is named after the absolute path. */
        assert_true(asprintf(&expect, "%s/%s_rel.conf", bdir, f->real + 1) > 0);
        for (char *c = expect + strlen(bdir) + 1; *c; c++)
                if (*c == '/')
                        *c = '_';
        assert_string_equal(backup, expect);
        free(backup);
}

static void test_refused_targets(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *target = path_in(f, "real.cf"), *link = path_in(f, "link.cf");
        _cleanup_free_ char *dir = path_in(f, "adir"), *fifo = path_in(f, "fifo");
        char buf[64];
        char *backup = NULL;

        write_plain(target, "real", 4, 0644);
        assert_int_equal(symlink("real.cf", link), 0);
        AtomicWriteOptions o = { .backup_dir = "/nonexistent-mxdeck-should-not-be-created" };

        /* A symlink at the target is refused, neither it nor what it points to changes. */
        assert_int_equal(atomic_write_file(link, "new", 3, &o, &backup), -ELOOP);
        assert_null(backup);
        assert_content(target, "real", 4);
        ssize_t n = readlink(link, buf, sizeof(buf));
        assert_int_equal(n, 7);
        assert_memory_equal(buf, "real.cf", 7);
        assert_int_equal(access(o.backup_dir, F_OK), -1);

        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(atomic_write_file(dir, "x", 1, NULL, NULL), -EISDIR);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        assert_int_equal(atomic_write_file(fifo, "x", 1, NULL, NULL), -EINVAL);

        assert_int_equal(atomic_write_file("/nonexistent-mxdeck/x", "x", 1, NULL, NULL), -ENOENT);
        _cleanup_free_ char *trailing = path_in(f, "adir/");
        assert_int_equal(atomic_write_file(trailing, "x", 1, NULL, NULL), -EINVAL);
        assert_int_equal(atomic_write_file(NULL, "x", 1, NULL, NULL), -EINVAL);
        assert_int_equal(count_temps(f->dir), 0);
}

static void test_empty_data(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "empty");

        write_plain(p, "something", 9, 0644);
        assert_int_equal(atomic_write_file(p, NULL, 0, NULL, NULL), 0);
        assert_content(p, "", 0);
}

/* Runs atomic_write_file in a child whose file size limit is below the data size. */
static int write_with_fsize_limit(const char *path, bool ignore_sigxfsz) {
        static char data[256 * 1024];
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };
                memset(data, 'N', sizeof(data));
                signal(SIGXFSZ, ignore_sigxfsz ? SIG_IGN : SIG_DFL);
                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        _exit(2);
                int r = atomic_write_file(path, data, sizeof(data), NULL, NULL);
                _exit(r == -EFBIG ? 0 : 1);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                assert_int_equal(errno, EINTR);
        return status;
}

static void test_interrupted_write_efbig(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "main.cf");

        write_plain(p, "original\n", 9, 0640);
        int status = write_with_fsize_limit(p, true);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0); /* returned -EFBIG */
        assert_content(p, "original\n", 9);
        assert_int_equal(mode_of(p), 0640);
        assert_int_equal(count_temps(f->dir), 0);
}

static void test_interrupted_write_killed(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = path_in(f, "main.cf");

        write_plain(p, "original\n", 9, 0640);
        int status = write_with_fsize_limit(p, false);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGXFSZ);
        /* Killed mid-write: nobody was left to remove the temp file, so a ".#main.cf.XXXXXX"
         * may remain (documented); what matters is that the original is intact. */
        assert_content(p, "original\n", 9);
        assert_int_equal(mode_of(p), 0640);
        assert_true(count_temps(f->dir) <= 1);
}

/* A FIFO would block open() until a writer came, and then feed us forever: refused. */
static void test_read_not_regular(void **state) {
        char dir[] = "/tmp/mxdeck-fifo.XXXXXX";
        _cleanup_free_ char *fifo = NULL, *buf = NULL;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(read_file_bounded(fifo, 4096, &buf, NULL), -EBADFD);
        assert_null(buf);
        assert_int_equal(read_file_bounded("/dev/zero", 4096, &buf, NULL), -EBADFD);
        assert_int_equal(read_file_bounded(dir, 4096, &buf, NULL), -EISDIR);
        unlink(fifo);
        rmdir(dir);
}

static void test_read_file_bounded(void **state) {
        Fixture *f = *state;
        static const char nuls[] = { 'a', 0, 'b', 0, 0, 'c' };
        static const struct {
                const char *name;
                const char *data;
                size_t size;
                size_t limit;
                int ret;
        } cases[] = {
                { "empty", "", 0, 10, 0 },
                { "empty0", "", 0, 0, 0 },
                { "exact", "hello", 5, 5, 0 },
                { "over", "hello", 5, 4, -EFBIG },
                { "over0", "h", 1, 0, -EFBIG },
                { "nuls", nuls, sizeof(nuls), 100, 0 },
                { "nuls-over", nuls, sizeof(nuls), 5, -EFBIG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = path_in(f, cases[i].name);
                char *buf = (char *) 0x1;
                size_t n = 4242;

                write_plain(p, cases[i].data, cases[i].size, 0644);
                assert_int_equal(read_file_bounded(p, cases[i].limit, &buf, &n), cases[i].ret);
                if (cases[i].ret < 0) {
                        /* Output untouched on failure. */
                        assert_ptr_equal(buf, (char *) 0x1);
                        assert_int_equal(n, 4242);
                        continue;
                }
                assert_int_equal(n, cases[i].size);
                assert_memory_equal(buf, cases[i].data, n);
                assert_int_equal(buf[n], 0);
                free(buf);
        }

        /* Large: exactly at the limit and one byte over. */
        const size_t big = 3 * 1024 * 1024 + 7;
        _cleanup_free_ char *data = malloc(big), *p = path_in(f, "big");
        assert_non_null(data);
        for (size_t i = 0; i < big; i++)
                data[i] = (char) (i * 31 + (i >> 8));
        write_plain(p, data, big, 0644);
        char *buf;
        size_t n;
        assert_int_equal(read_file_bounded(p, big, &buf, &n), 0);
        assert_int_equal(n, big);
        assert_memory_equal(buf, data, big);
        free(buf);
        assert_int_equal(read_file_bounded(p, big - 1, &buf, &n), -EFBIG);

        /* Files whose size stat cannot tell (procfs says 0). */
        assert_int_equal(read_file_bounded("/proc/self/status", 1024 * 1024, &buf, &n), 0);
        assert_true(n > 0);
        assert_int_equal(strlen(buf), n);
        assert_non_null(strstr(buf, "Pid:"));
        free(buf);
        assert_int_equal(read_file_bounded("/proc/self/status", 10, &buf, &n), -EFBIG);

        assert_int_equal(read_file_bounded(f->dir, 100, &buf, &n), -EISDIR);
        _cleanup_free_ char *missing = path_in(f, "missing");
        assert_int_equal(read_file_bounded(missing, 100, &buf, &n), -ENOENT);
}

static void test_mkdir_p(void **state) {
        Fixture *f = *state;
        struct stat st;

        /* several missing levels, with the mode asked for (umask aside) */
        mode_t old = umask(0);
        _cleanup_free_ char *deep = path_in(f, "a/b/c");
        assert_int_equal(mkdir_p(deep, 0750), 0);
        assert_int_equal(stat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        _cleanup_free_ char *mid = path_in(f, "a/b");
        assert_int_equal(stat(mid, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);

        /* existing directories are fine and keep their mode; a trailing slash too */
        assert_int_equal(chmod(mid, 0700), 0);
        _cleanup_free_ char *more = path_in(f, "a/b/d/");
        assert_int_equal(mkdir_p(more, 0755), 0);
        assert_int_equal(stat(mid, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(mkdir_p(deep, 0755), 0);
        umask(old);

        /* a file in the way, as the target or as a parent */
        _cleanup_free_ char *file = path_in(f, "file");
        assert_int_equal(atomic_write_file(file, "x", 1, NULL, NULL), 0);
        assert_int_equal(mkdir_p(file, 0755), -ENOTDIR);
        _cleanup_free_ char *under = path_in(f, "file/sub");
        assert_int_equal(mkdir_p(under, 0755), -ENOTDIR);

        assert_int_equal(mkdir_p("", 0755), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_file_mode, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace_keeps_mode_and_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backup_names_do_not_collide, setup, teardown),
                cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_targets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_write_efbig, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_write_killed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_file_bounded, setup, teardown),
                cmocka_unit_test(test_read_not_regular),
                cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
