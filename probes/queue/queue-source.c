/* Queue snapshot sources: direct queue-file reading (a walk like qshape's, records parsed
 * like showq), postqueue -j through spawn, or a saved dump. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "postconf.h"
#include "queue-file.h"
#include "queue-json.h"
#include "queue-source.h"
#include "queue-text.h"
#include "subprocess.h"
#include "termsafe.h"

static const char *const source_names[_QUEUE_SOURCE_MAX] = {
        [QUEUE_SOURCE_AUTO] = "auto",
        [QUEUE_SOURCE_FILES] = "files",
        [QUEUE_SOURCE_POSTQUEUE] = "postqueue",
        [QUEUE_SOURCE_INPUT] = "input",
        [QUEUE_SOURCE_POSTQUEUE_TEXT] = "postqueue-p",
};

const char *queue_source_describe(QueueSourceKind k) {
        switch (k) {
        case QUEUE_SOURCE_FILES:
                return "queue files";
        case QUEUE_SOURCE_POSTQUEUE:
                return "postqueue -j";
        case QUEUE_SOURCE_POSTQUEUE_TEXT:
                return "postqueue -p";
        case QUEUE_SOURCE_INPUT:
                return "a saved listing";
        default:
                return "?";
        }
}

const char *queue_source_to_string(QueueSourceKind k) {
        return k >= 0 && k < _QUEUE_SOURCE_MAX ? source_names[k] : NULL;
}

QueueSourceKind queue_source_from_string(const char *s) {
        for (int i = 0; i < _QUEUE_SOURCE_MAX; i++)
                if (streq(s, source_names[i]))
                        return (QueueSourceKind) i;
        return _QUEUE_SOURCE_INVALID;
}

static int set_error(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        *ret_error = s ? termsafe_strdup(s, 0) : NULL;
        free(s);
        return 0;
}

/* The first line of a tool's complaint. */
static char *first_line(const char *s, size_t size) {
        size_t n = 0;
        while (n < size && s[n] != '\n')
                n++;
        char *out = NULL;
        return termsafe_dup(s, MIN(n, (size_t) 400), 0, &out) < 0 ? NULL : out;
}

static int queue_directory_get_by(unsigned timeout_ms, Deadline deadline, char **ret, char **ret_error);

int queue_directory_get(unsigned timeout_ms, char **ret, char **ret_error) {
        return queue_directory_get_by(timeout_ms, DEADLINE_NONE, ret, ret_error);
}

static int queue_directory_get_by(unsigned timeout_ms, Deadline deadline, char **ret, char **ret_error) {
        static const char *const argv[] = { "postconf", "-h", "queue_directory", NULL };
        SpawnOptions o = { .argv = argv, .timeout_ms = timeout_ms, .deadline = deadline, .max_output = 64 * 1024 };
        SpawnResult res = {};
        int r;

        r = probe_spawn(&o, &res);
        if (r < 0) {
                set_error(ret_error, _("cannot run postconf: %s"), strerror(-r));
                return r;
        }
        if (!spawn_result_ok(&res)) {
                _cleanup_free_ char *why = first_line(res.err_size ? res.err : res.out,
                                                      res.err_size ? res.err_size : res.out_size);
                set_error(ret_error, _("postconf -h queue_directory failed: %s"), why ? why : "");
                spawn_result_done(&res);
                return -EINVAL;
        }
        size_t n = strcspn(res.out, "\n");
        if (n == 0 || res.out[0] != '/') {
                set_error(ret_error, _("postconf says queue_directory is '%.*s', not an absolute path"),
                          (int) MIN(n, (size_t) 200), res.out);
                spawn_result_done(&res);
                return -EINVAL;
        }
        *ret = strndup(res.out, n);
        spawn_result_done(&res);
        return *ret ? 0 : -ENOMEM;
}

/* The value of queue_directory in CONFIG/main.cf: 1 and *ret when set literally, 0 when
 * not set, -EINVAL when it needs expansion ($name) or the file cannot be read. */
static int main_cf_queue_directory(const char *config_directory, char **ret) {
        char path[4096], line[4096];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *value = NULL;
        bool in_value = false;

        snprintf(path, sizeof(path), "%s/main.cf", config_directory);
        f = fopen(path, "re");
        if (!f)
                return -EINVAL;
        while (fgets(line, sizeof(line), f)) {
                size_t n = strlen(line);
                if (n == sizeof(line) - 1 && line[n - 1] != '\n')
                        return -EINVAL; /* a line this long: let postconf read it */
                if (line[0] == ' ' || line[0] == '\t') {
                        /* a continuation: of queue_directory, it would need joining */
                        if (in_value && line[strspn(line, " \t\r\n")] && line[strspn(line, " \t\r\n")] != '#')
                                return -EINVAL;
                        continue;
                }
                in_value = false;
                const char *p = startswith(line, "queue_directory");
                if (!p)
                        continue;
                p += strspn(p, " \t");
                if (*p != '=')
                        continue;
                p++;
                p += strspn(p, " \t");
                size_t len = strcspn(p, "\r\n");
                while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
                        len--;
                free(value);
                value = strndup(p, len);
                if (!value)
                        return -ENOMEM;
                in_value = true; /* the last setting wins, as in Postfix */
        }
        if (!value)
                return 0;
        if (value[0] != '/' || strpbrk(value, "${}()"))
                return -EINVAL;
        *ret = TAKE_PTR(value);
        return 1;
}

/* Like a queue directory: has the queues, is not a symlink trap. */
static bool looks_like_queue_directory(const char *dir) {
        static const char *const subdirs[] = { "active", "deferred", "incoming", "hold", "maildrop", "pid" };
        char path[4096];
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
                if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                        return false;
        }
        return true;
}

/* queue_directory without running postconf (it costs 100-200 ms, as much as reading a
 * large queue): a literal setting in main.cf, else the default every distribution builds
 * Postfix with, when it looks like a queue directory. NULL when unsure. */
static char *queue_directory_fast(void) {
        const char *config = secure_getenv("MAIL_CONFIG");
        _cleanup_free_ char *dir = NULL;
        int r;

        if (config && strcmp(config, "/etc/postfix") != 0)
                return NULL; /* another instance: ask postconf */
        r = main_cf_queue_directory("/etc/postfix", &dir);
        if (r < 0)
                return NULL;
        if (r == 0 && !(dir = strdup("/var/spool/postfix")))
                return NULL;
        return looks_like_queue_directory(dir) ? TAKE_PTR(dir) : NULL;
}

bool queue_files_readable(const char *queue_directory) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/deferred", queue_directory);
        return faccessat(AT_FDCWD, path, R_OK | X_OK, AT_EACCESS) == 0;
}

/* --- direct reading --- */

/* Queue ids: short (hex) or long (base-52 with a 'z'); qshape accepts [A-Za-z0-9]{6,}. */
static bool name_is_queue_id(const char *s) {
        size_t n = strlen(s);
        return n >= 6 && n <= 64 &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

typedef struct DeferLogs {
        char **ids;   /* "ID\0relative/path" pairs, sorted by id */
        size_t n, allocated;
} DeferLogs;

static void defer_logs_done(DeferLogs *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->ids[i]);
        free(d->ids);
        *d = (DeferLogs) {};
}

typedef int (*WalkFunc)(int dirfd, const char *name, const char *relpath, void *userdata);

#define WALK_MAX_DEPTH 4

/* Calls f for every regular-looking entry with a queue-id name below dirfd; subdirectories
 * (the hash forest) are entered up to WALK_MAX_DEPTH levels. */
static int walk(int dirfd, const char *rel, unsigned depth, WalkFunc f, void *userdata) {
        int fd = dup(dirfd);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                char relpath[512];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(relpath, sizeof(relpath), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
                if (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN && strlen(de->d_name) == 1)) {
                        if (depth >= WALK_MAX_DEPTH)
                                continue;
                        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                continue; /* a file, or gone */
                        r = walk(sub, relpath, depth + 1, f, userdata);
                        close(sub);
                        if (r < 0)
                                break;
                        continue;
                }
                if (!name_is_queue_id(de->d_name))
                        continue;
                r = f(dirfd, de->d_name, relpath, userdata);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int collect_defer(int dirfd, const char *name, const char *relpath, void *userdata) {
        DeferLogs *d = userdata;
        if (d->n == d->allocated) {
                size_t na = d->allocated ? d->allocated * 2 : 256;
                char **v = reallocarray(d->ids, na, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                d->ids = v;
                d->allocated = na;
        }
        size_t ln = strlen(name), lp = strlen(relpath);
        char *e = malloc(ln + lp + 2);
        if (!e)
                return -ENOMEM;
        memcpy(e, name, ln + 1);
        memcpy(e + ln + 1, relpath, lp + 1);
        d->ids[d->n++] = e;
        return 0;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *defer_log_path(const DeferLogs *d, const char *id) {
        char *const *hit = d->n ? bsearch(&id, d->ids, d->n, sizeof(char *), cmp_strp) : NULL;
        return hit ? *hit + strlen(*hit) + 1 : NULL;
}

typedef struct FileWalk {
        QueueSnapshot *snapshot;
        QueueName queue;
        const char *queue_directory;
        int defer_fd;
        const DeferLogs *defer;
        uint8_t *window;
} FileWalk;

/* Reads up to QFILE_WINDOW bytes at off; *ret_eof when the file ends within them. */
static ssize_t read_at(int fd, uint8_t *buf, uint64_t off, uint64_t file_size, bool *ret_eof) {
        size_t got = 0;
        while (got < QFILE_WINDOW && off + got < file_size) {
                ssize_t n = pread(fd, buf + got, QFILE_WINDOW - got, (off_t) (off + got));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        /* the size from fstat: a file that grows meanwhile is read as it was */
        *ret_eof = off + got >= file_size;
        return (ssize_t) got;
}

#define DEFER_LOG_MAX ((size_t) 4 * 1024 * 1024)

static int read_small_file(int dirfd, const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, cap = 0;

        if (fd < 0)
                return negative_errno();
        for (;;) {
                if (size + 4096 > cap) {
                        if (cap >= DEFER_LOG_MAX)
                                break; /* bounded: the rest is not read */
                        cap = cap ? cap * 2 : 8192;
                        char *p = realloc(buf, cap + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                ssize_t n = read(fd, buf + size, MIN(cap, DEFER_LOG_MAX) - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static int one_queue_file(int dirfd, const char *name, const char *relpath, void *userdata) {
        FileWalk *w = userdata;
        _cleanup_(qfile_parser_done) QfileParser p = {};
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *log = NULL;
        size_t log_size = 0;
        QueueMessage m = {};
        struct stat st;
        char where[600];
        int r;

        snprintf(where, sizeof(where), "%s/%s/%s", w->queue_directory, queue_name_to_string(w->queue), relpath);
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0; /* gone meanwhile: delivered */
        if (!S_ISREG(st.st_mode))
                return 0;
        if (w->queue == QUEUE_CORRUPT) {
                w->snapshot->corrupt_count++;
                w->snapshot->corrupt_bytes += (uint64_t) st.st_size;
                return 0;
        }
        /* owner rwx marks a complete file (MAIL_QUEUE_STAT_READY), as showq checks */
        if ((st.st_mode & S_IRWXU) != S_IRWXU)
                return 0;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : queue_snapshot_issue(w->snapshot, where, "%s", strerror(errno));

        qfile_parser_init(&p, w->queue == QUEUE_MAILDROP);
        for (unsigned rounds = 0;; rounds++) {
                bool eof = false;
                uint64_t off = p.want;
                ssize_t n = read_at(fd, w->window, off, (uint64_t) st.st_size, &eof);
                if (n < 0)
                        return queue_snapshot_issue(w->snapshot, where, "%s", strerror((int) -n));
                r = qfile_feed(&p, w->window, (size_t) n, off, eof);
                if (r != 0)
                        break;
                if (p.want == off && !eof) {
                        r = -E2BIG; /* no progress: cannot happen with a full window */
                        break;
                }
                if (rounds > 1000000) {
                        r = -ELOOP;
                        break;
                }
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0 && !p.sender)
                return queue_snapshot_issue(w->snapshot, where, _("not a readable queue file: %s"),
                                            r == -EBADMSG ? _("malformed or truncated") : strerror(-r));

        if (w->defer && w->defer_fd >= 0) {
                const char *lp = defer_log_path(w->defer, name);
                if (lp && read_small_file(w->defer_fd, lp, &log, &log_size) == -ENOMEM)
                        return -ENOMEM;
        }
        r = qfile_to_message(&p, name, w->queue, (int64_t) st.st_mtime, (uint64_t) st.st_size, log, log_size, &m);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* no sender: showq does not list it either */
        m.forced_expire = (st.st_mode & S_IXGRP) != 0; /* MAIL_QUEUE_STAT_EXPIRE */
        return queue_snapshot_add(w->snapshot, &m);
}

static int load_files(const QueueSourceOptions *o, const char *qdir, QueueSnapshot *s, char **ret_error) {
        _cleanup_close_ int root = -1, defer_fd = -1;
        _cleanup_free_ uint8_t *window = NULL;
        DeferLogs defer = {};
        uint32_t queues = o->queues ? o->queues : (1u << _QUEUE_MAX) - 1;
        int r = 0;

        root = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                r = negative_errno();
                set_error(ret_error, _("cannot open the queue directory %s: %s"), qdir, strerror(-r));
                return r;
        }
        window = malloc(QFILE_WINDOW);
        if (!window)
                return -ENOMEM;
        if (o->reasons) {
                defer_fd = openat(root, "defer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (defer_fd >= 0) {
                        r = walk(defer_fd, "", 0, collect_defer, &defer);
                        if (r < 0)
                                goto out;
                        qsort(defer.ids, defer.n, sizeof(char *), cmp_strp);
                }
        }
        for (int q = 0; q < _QUEUE_MAX; q++) {
                if (!(queues & (1u << q)))
                        continue;
                _cleanup_close_ int qfd = openat(root, queue_name_to_string((QueueName) q),
                                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (qfd < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = negative_errno();
                        set_error(ret_error, _("cannot read %s/%s: %s"), qdir, queue_name_to_string((QueueName) q),
                                  strerror(-r));
                        goto out;
                }
                FileWalk w = {
                        .snapshot = s,
                        .queue = (QueueName) q,
                        .queue_directory = qdir,
                        .defer_fd = defer_fd,
                        .defer = o->reasons ? &defer : NULL,
                        .window = window,
                };
                /* maildrop is flat; the others may be hashed */
                r = walk(qfd, "", q == QUEUE_MAILDROP ? WALK_MAX_DEPTH : 0, one_queue_file, &w);
                if (r < 0) {
                        set_error(ret_error, _("cannot read %s/%s: %s"), qdir, queue_name_to_string((QueueName) q),
                                  strerror(-r));
                        goto out;
                }
        }
out:
        defer_logs_done(&defer);
        return r;
}

/* --- postqueue -j and saved dumps --- */

#define POSTQUEUE_MAX_OUTPUT ((size_t) 512 * 1024 * 1024)

/* Postfix before 3.1 has no -j: its postqueue complains about the option (getopt's
 * "invalid option -- 'j'", or a usage line) and exits non-zero. */
static bool refused_j(const SpawnResult *res) {
        if (spawn_result_ok(res) || res->timed_out || !res->err)
                return false;
        return strstr(res->err, "invalid option") || strstr(res->err, "illegal option") ||
               strstr(res->err, "unrecognized option") || strstr(res->err, "usage:");
}

/* postqueue's listing, parsed as it arrives (bounded memory: no copy of the whole
 * listing); stderr is kept (small) for the complaint. */
typedef struct PostqueueStream {
        bool text;
        PqjsonReader json;
        PqtextReader plain;
        uint64_t bytes;
} PostqueueStream;

static int postqueue_output(const char *data, size_t size, void *userdata) {
        PostqueueStream *st = userdata;
        st->bytes += size;
        if (st->bytes > POSTQUEUE_MAX_OUTPUT)
                return -EFBIG;
        return st->text ? pqtext_feed(&st->plain, data, size) : pqjson_feed(&st->json, data, size);
}

static int load_postqueue(const QueueSourceOptions *o, bool text, QueueSnapshot *s, QueueSourceKind *ret_used,
                          char **ret_error) {
        const char *argv[] = { "postqueue", text ? "-p" : "-j", NULL };
        PostqueueStream st = { .text = text };
        SpawnOptions so = { .argv = argv, .timeout_ms = o->timeout_ms, .deadline = o->deadline,
                            .max_output = 64 * 1024, .on_output = postqueue_output, .userdata = &st };
        SpawnResult res = {};
        int r;

        pqjson_init(&st.json, s, "postqueue -j");
        pqtext_init(&st.plain, s, "postqueue -p", (int64_t) time(NULL));
        r = probe_spawn(&so, &res);
        if (r >= 0 && !text && refused_j(&res)) {
                /* start over: anything it printed on stdout was no listing */
                queue_snapshot_done(s);
                pqjson_done(&st.json);
                pqtext_done(&st.plain);
                spawn_result_done(&res);
                return load_postqueue(o, true, s, ret_used, ret_error);
        }
        if (r < 0) {
                if (r == -EFBIG)
                        set_error(ret_error, _("postqueue %s printed more than %zu MiB"), argv[1],
                                  POSTQUEUE_MAX_OUTPUT >> 20);
                else if (r != -ENOMEM)
                        set_error(ret_error, _("cannot run postqueue: %s"), strerror(-r));
                goto out;
        }
        if (res.timed_out || !spawn_result_ok(&res)) {
                _cleanup_free_ char *why = first_line(res.err ? res.err : "", res.err_size);
                if (res.timed_out)
                        set_error(ret_error, _("postqueue %s did not finish in time"), argv[1]);
                else
                        set_error(ret_error, _("postqueue %s failed: %s"), argv[1],
                                  why && *why ? why : _("no message"));
                r = -EIO;
                goto out;
        }
        r = text ? pqtext_finish(&st.plain) : pqjson_finish(&st.json);
        if (r >= 0 && ret_used)
                *ret_used = text ? QUEUE_SOURCE_POSTQUEUE_TEXT : QUEUE_SOURCE_POSTQUEUE;
out:
        pqjson_done(&st.json);
        pqtext_done(&st.plain);
        spawn_result_done(&res);
        return r;
}

static int load_input(const char *path, QueueSnapshot *s, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        PqjsonReader rd;
        PqtextReader td;
        bool first = true, text = false;
        char buf[65536];
        int r = 0;

        if (streq(path, "-"))
                f = fdopen(dup(STDIN_FILENO), "re");
        else
                f = fopen(path, "re");
        if (!f) {
                r = negative_errno();
                set_error(ret_error, _("cannot open %s: %s"), path, strerror(-r));
                return r;
        }
        pqjson_init(&rd, s, streq(path, "-") ? "stdin" : path);
        pqtext_init(&td, s, streq(path, "-") ? "stdin" : path, (int64_t) time(NULL));
        for (;;) {
                size_t n = fread(buf, 1, sizeof(buf), f);
                if (first && n > 0) {
                        /* a saved postqueue -p listing (an older Postfix) or -j */
                        text = pqtext_looks_like(buf, n);
                        first = false;
                }
                if (n > 0 && (r = text ? pqtext_feed(&td, buf, n) : pqjson_feed(&rd, buf, n)) < 0)
                        break;
                if (n < sizeof(buf)) {
                        if (ferror(f)) {
                                r = -EIO;
                                set_error(ret_error, _("cannot read %s: %s"), path, strerror(EIO));
                        }
                        break;
                }
        }
        if (r >= 0)
                r = text ? pqtext_finish(&td) : pqjson_finish(&rd);
        pqjson_done(&rd);
        pqtext_done(&td);
        return r;
}

int queue_load(const QueueSourceOptions *o, QueueSnapshot *ret, QueueSourceKind *ret_used, char **ret_error) {
        QueueSnapshot s = {};
        _cleanup_free_ char *qdir = NULL;
        QueueSourceKind kind = o->kind;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (kind == QUEUE_SOURCE_INPUT) {
                r = load_input(o->input, &s, ret_error);
        } else {
                if (kind == QUEUE_SOURCE_AUTO || kind == QUEUE_SOURCE_FILES) {
                        if (o->queue_directory)
                                qdir = strdup(o->queue_directory);
                        else if ((qdir = queue_directory_fast()))
                                ;
                        else if ((r = queue_directory_get_by(o->timeout_ms, o->deadline, &qdir, kind == QUEUE_SOURCE_FILES ? ret_error : NULL)) < 0) {
                                if (kind == QUEUE_SOURCE_FILES)
                                        return r;
                        }
                        if (kind == QUEUE_SOURCE_AUTO)
                                kind = qdir && queue_files_readable(qdir) ? QUEUE_SOURCE_FILES : QUEUE_SOURCE_POSTQUEUE;
                        if (kind == QUEUE_SOURCE_FILES && !qdir)
                                return -ENOMEM;
                }
                if (kind == QUEUE_SOURCE_FILES)
                        r = load_files(o, qdir, &s, ret_error);
                else
                        r = load_postqueue(o, kind == QUEUE_SOURCE_POSTQUEUE_TEXT, &s, &kind, ret_error);
        }
        if (r >= 0)
                r = queue_snapshot_finish(&s);
        if (r < 0) {
                if (r == -ENOMEM && ret_error && !*ret_error)
                        set_error(ret_error, "%s", strerror(ENOMEM));
                queue_snapshot_done(&s);
                return r;
        }
        if (ret_used)
                *ret_used = kind;
        *ret = s;
        return 0;
}
