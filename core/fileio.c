/* File helpers: atomic replace (temp file, fsync, rename) with a prior backup, bounded reads. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define COPY_CHUNK ((size_t) 64 * 1024)
#define WRITE_CHUNK ((size_t) 1024 * 1024)
/* Attempts at a free temp or backup name before giving up. */
#define NAME_ATTEMPTS 100
#define BACKUP_SUFFIX_MAX 9999

static int write_all(int fd, const void *data, size_t size) {
        const uint8_t *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, MIN(size, WRITE_CHUNK));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int close_checked(int *fd) {
        int r = close(TAKE_FD(*fd));
        /* EINTR on close on Linux still closed the fd; the data is fsynced already. */
        if (r < 0 && errno != EINTR)
                return negative_errno();
        return 0;
}

/* Splits path into a directory (".", "/" or the part before the last '/') and a base name. */
static int split_path(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char *dir;

        if (!*base || streq(base, ".") || streq(base, ".."))
                return -EINVAL;
        if (strlen(base) > NAME_MAX)
                return -ENAMETOOLONG;
        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_base = base;
        return 0;
}

static uint64_t random_u64(void) {
        static _Atomic uint64_t counter;
        uint64_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t) sizeof(v))
                return v;
        /* Uniqueness is what matters here (O_EXCL catches collisions), not secrecy. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^ ((uint64_t) getpid() << 40) ^
               (++counter * 0x9e3779b97f4a7c15ull);
}

/*
 * Temp file: a named ".#BASE.XXXXXX" beside the target, made with openat(O_CREAT|O_EXCL)
 * relative to the directory fd we also rename in, rather than O_TMPFILE + linkat: that
 * needs /proc (or CAP_DAC_READ_SEARCH for AT_EMPTY_PATH) and filesystem support, and still
 * needs a temp name to rename over the target, so it would be a second code path for
 * little gain. It is created 0600 (and umask can only narrow that), owner and final mode
 * are set on the fd before the first byte is written, so data is never more readable than
 * the final file. If the process dies mid-write a ".#" file may remain; the target is
 * never touched until the rename.
 */
static int open_temp(int dir_fd, const char *base, char **ret_name) {
        static const char chars[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

        for (int attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
                char suffix[7];
                uint64_t v = random_u64();
                for (size_t i = 0; i < 6; i++) {
                        suffix[i] = chars[v % (sizeof(chars) - 1)];
                        v /= sizeof(chars) - 1;
                }
                suffix[6] = 0;

                _cleanup_free_ char *name = NULL;
                /* Keep the name within NAME_MAX for long base names. */
                if (asprintf(&name, ".#%.*s.%s", NAME_MAX - 9, base, suffix) < 0)
                        return -ENOMEM;

                int fd = openat(dir_fd, name,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                                0600);
                if (fd >= 0) {
                        *ret_name = TAKE_PTR(name);
                        return fd;
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (!path || !*path)
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        /* Create each missing component in turn; existing ones are left as they are. */
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char saved = *s;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = saved;
                if (!saved)
                        break;
        }
        /* EEXIST also comes from a file in the way. */
        if (stat(path, &st) < 0)
                return negative_errno();
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * Backup name from the absolute path of the file: '/' becomes '_' and every byte outside
 * [A-Za-z0-9.-] (including '_' itself) becomes %XX, so "/etc/postfix/main.cf" is
 * "etc_postfix_main.cf" and no two paths share a name; a leading '.' is escaped too so no
 * backup is hidden. Later backups of the same path get "~N", and '~' never occurs in an
 * encoded name.
 */
static int backup_name(const char *abs_path, char **ret) {
        const char *s = abs_path;
        size_t len = strlen(s);

        while (*s == '/')
                s++;
        if (len > (SIZE_MAX - 1) / 3)
                return -ENAMETOOLONG;
        char *out = malloc(len * 3 + 1), *o = out;
        if (!out)
                return -ENOMEM;

        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '/')
                        *o++ = '_';
                else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '-' || (c == '.' && o != out))
                        *o++ = (char) c;
                else {
                        static const char hex[] = "0123456789abcdef";
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = 0;
        /* Room for "~9999". */
        if (o == out || (size_t) (o - out) > NAME_MAX - 5) {
                free(out);
                return o == out ? -EINVAL : -ENAMETOOLONG;
        }
        *ret = out;
        return 0;
}

static int copy_fd(int from, int to) {
        _cleanup_free_ char *buf = malloc(COPY_CHUNK);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(from, buf, COPY_CHUNK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return 0;
                int r = write_all(to, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

/* Copies the open original into backup_dir; returns the backup's full path. */
static int make_backup(int src_fd, const struct stat *st, const char *dir, const char *base,
                       const char *backup_dir, char **ret_path) {
        _cleanup_free_ char *real_dir = NULL, *abs_path = NULL, *encoded = NULL, *name = NULL;
        _cleanup_close_ int bdir_fd = -1, fd = -1;
        int r;

        real_dir = realpath(dir, NULL);
        if (!real_dir)
                return negative_errno();
        if (asprintf(&abs_path, "%s/%s", streq(real_dir, "/") ? "" : real_dir, base) < 0)
                return -ENOMEM;
        r = backup_name(abs_path, &encoded);
        if (r < 0)
                return r;

        r = mkdir_p(backup_dir, 0700);
        if (r < 0)
                return r;
        bdir_fd = open(backup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bdir_fd < 0)
                return negative_errno();

        for (unsigned i = 0; fd < 0; i++) {
                if (i > BACKUP_SUFFIX_MAX)
                        return -EEXIST;
                free(name);
                name = NULL;
                if ((i == 0 ? asprintf(&name, "%s", encoded) : asprintf(&name, "%s~%u", encoded, i)) < 0)
                        return -ENOMEM;
                fd = openat(bdir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                            0600);
                if (fd < 0 && errno != EEXIST)
                        return negative_errno();
        }

        if (fchmod(fd, st->st_mode & 07777) < 0)
                r = negative_errno();
        else
                r = copy_fd(src_fd, fd);
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r == 0)
                r = close_checked(&fd);
        if (r == 0 && fsync(bdir_fd) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(bdir_fd, name, 0);
                return r;
        }

        if (asprintf(ret_path, "%s/%s", backup_dir, name) < 0) {
                (void) unlinkat(bdir_fd, name, 0);
                return -ENOMEM;
        }
        return 0;
}

int atomic_write_file(const char *path, const void *data, size_t size,
                      const AtomicWriteOptions *opts, char **ret_backup) {
        static const AtomicWriteOptions defaults = {};
        _cleanup_free_ char *dir = NULL, *tmp_name = NULL, *backup = NULL;
        _cleanup_close_ int dir_fd = -1, orig_fd = -1, fd = -1;
        const char *base;
        struct stat st = {};
        bool exists;
        int r;

        if (!path || (!data && size > 0))
                return -EINVAL;
        if (!opts)
                opts = &defaults;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();

        /* O_PATH: we only need to read the original for a backup, so an unreadable file can
         * still be replaced. With O_NOFOLLOW a symlink yields an fd for the link itself. */
        orig_fd = openat(dir_fd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (orig_fd < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                exists = false;
        } else {
                if (fstat(orig_fd, &st) < 0)
                        return negative_errno();
                if (S_ISLNK(st.st_mode))
                        return -ELOOP; /* see fileio.h */
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                exists = true;
        }

        mode_t mode = opts->set_mode ? opts->mode & 07777 : exists ? st.st_mode & 07777 : 0644;
        bool chown_needed = opts->set_owner || exists;
        uid_t uid = opts->set_owner ? opts->uid : exists ? st.st_uid : (uid_t) -1;
        gid_t gid = opts->set_owner ? opts->gid : exists ? st.st_gid : (gid_t) -1;

        closep(&orig_fd);
        orig_fd = -1;
        if (opts->backup_dir && exists) {
                struct stat rst;

                /* O_NONBLOCK: should a FIFO have been swapped in meanwhile, do not hang on it. */
                orig_fd = openat(dir_fd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                if (orig_fd < 0)
                        return negative_errno();
                if (fstat(orig_fd, &rst) < 0)
                        return negative_errno();
                /* Replaced between our looks: back up what we inspected, or nothing. */
                if (rst.st_dev != st.st_dev || rst.st_ino != st.st_ino)
                        return -EAGAIN;
                r = make_backup(orig_fd, &st, dir, base, opts->backup_dir, &backup);
                if (r < 0)
                        return r;
                closep(&orig_fd);
                orig_fd = -1;
        }

        fd = open_temp(dir_fd, base, &tmp_name);
        if (fd < 0) {
                r = fd;
                goto fail;
        }

        /* Owner before mode: chown clears set-id bits. Both before any data is written. */
        if (chown_needed) {
                struct stat tst;
                if (fstat(fd, &tst) < 0) {
                        r = negative_errno();
                        goto fail;
                }
                if ((tst.st_uid != uid || tst.st_gid != gid) && fchown(fd, uid, gid) < 0) {
                        r = negative_errno();
                        goto fail;
                }
        }
        if (fchmod(fd, mode) < 0) {
                r = negative_errno();
                goto fail;
        }

        r = write_all(fd, data, size);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = close_checked(&fd);
        if (r < 0)
                goto fail;

        if (renameat(dir_fd, tmp_name, dir_fd, base) < 0) {
                r = negative_errno();
                goto fail;
        }
        /* The file is replaced; a failure here only means the rename may not be durable yet. */
        if (fsync(dir_fd) < 0)
                return negative_errno();

        if (ret_backup)
                *ret_backup = TAKE_PTR(backup);
        return 0;

fail:
        if (tmp_name)
                (void) unlinkat(dir_fd, tmp_name, 0);
        /* Nothing changed, so the backup is not needed (and a retry would number its own). */
        if (backup)
                (void) unlink(backup);
        return r;
}

int read_file_bounded(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;
        struct stat st;

        if (!path || !ret)
                return -EINVAL;
        /* We read one byte past the limit to detect an overlong file, and add the NUL. */
        if (max_size > SIZE_MAX - 2)
                max_size = SIZE_MAX - 2;

        /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. */
        fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        /* Settings, answers, pid files, /proc entries: all regular. A FIFO, socket or device
         * could stall or feed us without end. */
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t) st.st_size > max_size)
                return -EFBIG;

        /* st_size is a hint only: /proc files say 0 and files can grow while we read. */
        allocated = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t) st.st_size + 2 : 4096;
        allocated = MIN(allocated, max_size + 2);
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                if (size + 1 >= allocated) {
                        size_t n = allocated > (max_size + 2) / 2 ? max_size + 2 : allocated * 2;
                        if (n <= allocated)
                                return -EFBIG;
                        char *b = realloc(buf, n);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = n;
                }
                ssize_t k = read(fd, buf + size, allocated - 1 - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max_size)
                        return -EFBIG;
        }

        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}
