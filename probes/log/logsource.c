/* Mail log sources: files (zlib reads plain and gzip alike) and the journal; follow mode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fiber.h"
#include "logsource.h"
#include "macro.h"

#define READ_CHUNK (64u * 1024u)

/* journald's "Suppressed N messages from UNIT" (SD_MESSAGE_JOURNAL_DROPPED) */
#define MESSAGE_ID_JOURNAL_DROPPED "a596d6fe7bfa4994828e72309e95d61e"

static const char *const default_files[] = { "/var/log/maillog", "/var/log/mail.log" };
static const char *const mail_units[] = {
        "postfix.service", "postfix@-.service", "dovecot.service", "opendkim.service",
};

static int64_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A reader in a fiber lets the loop run at least this often (wall clock), so a key
 * pressed meanwhile waits no longer. A count of entries was not enough: 8192 journal
 * entries took 300 ms on a loaded machine, and the dashboard's keys waited that long. */
#define PAUSE_EVERY_USEC (4 * USEC_PER_MSEC)

/* Between pieces of work: past the deadline? In a fiber, when PAUSE_EVERY_USEC have passed
 * since *last (the last pause), let the loop run (a 1 ms sleep through it) and notice
 * cancellation. */
static int pause_point(const LogSourceOptions *o, uint64_t *last) {
        if (deadline_passed(o->deadline))
                return -ETIME;
        if (!fiber_current())
                return 0;
        uint64_t now = now_usec();
        if (*last == 0)
                *last = now;
        if (now - *last < PAUSE_EVERY_USEC)
                return 0;
        int r = fiber_sleep(deadline_in_ms(1));
        *last = now_usec();
        return r < 0 ? r : 0;
}

void log_source_info_done(LogSourceInfo *i) {
        free(i->description);
        *i = (LogSourceInfo) {};
}

static bool in_window(const LogSourceOptions *o, const LogEvent *ev) {
        if (ev->usec == 0)
                return true; /* unparsed: no time to judge by */
        if (o->since_usec && ev->usec < o->since_usec)
                return false;
        if (o->until_usec && ev->usec >= o->until_usec)
                return false;
        return true;
}

/* ---- rotated siblings ---- */

typedef struct Sibling {
        char *path;
        struct timespec mtime;
        unsigned long number; /* NAME.N: N (bigger is older), for equal mtimes */
} Sibling;

static int sibling_cmp(const void *a, const void *b) {
        const Sibling *x = a, *y = b;
        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
        if (x->mtime.tv_nsec != y->mtime.tv_nsec)
                return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
        if (x->number != y->number)
                return x->number > y->number ? -1 : 1;
        return strcmp(x->path, y->path);
}

/* NAME.N, NAME.N.gz, NAME-YYYYMMDD, NAME-YYYYMMDD.gz */
static bool is_sibling(const char *name, const char *base, unsigned long *ret_number) {
        size_t bl = strlen(base);
        if (strncmp(name, base, bl) != 0 || (name[bl] != '.' && name[bl] != '-'))
                return false;
        const char *p = name + bl + 1;
        size_t d = strspn(p, "0123456789");
        if (d == 0 || d > 10)
                return false;
        if (!streq(p + d, "") && !streq(p + d, ".gz"))
                return false;
        *ret_number = name[bl] == '.' ? strtoul(p, NULL, 10) : 0;
        return true;
}

int log_rotated_files(const char *path, char ***ret) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        Sibling *sib = NULL;
        size_t n = 0;
        int r = 0;

        dir = slash ? strndup(path, (size_t) (slash - path) + (slash == path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        DIR *d = opendir(dir);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        unsigned long num;
                        if (!is_sibling(de->d_name, base, &num))
                                continue;
                        Sibling *ns = realloc(sib, (n + 1) * sizeof(Sibling));
                        if (!ns) {
                                r = -ENOMEM;
                                break;
                        }
                        sib = ns;
                        struct stat st;
                        if (asprintf(&sib[n].path, "%s/%s", dir, de->d_name) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        if (stat(sib[n].path, &st) < 0 || !S_ISREG(st.st_mode)) {
                                free(sib[n].path);
                                continue;
                        }
                        sib[n].mtime = st.st_mtim;
                        sib[n].number = num;
                        n++;
                        if (n >= 1000)
                                break; /* bounded */
                }
                closedir(d);
        }
        char **v = NULL;
        if (r == 0) {
                if (n > 0) /* qsort wants a non-NULL array even for 0 elements */
                        qsort(sib, n, sizeof(Sibling), sibling_cmp);
                v = calloc(n + 2, sizeof(char *));
                if (!v)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (v)
                        v[i] = sib[i].path;
                else
                        free(sib[i].path);
        }
        free(sib);
        if (r < 0) {
                strv_free(v);
                return r;
        }
        v[n] = strdup(path);
        if (!v[n]) {
                strv_free(v);
                return -ENOMEM;
        }
        *ret = v;
        return 0;
}

/* ---- files ---- */

typedef struct FileReader {
        const LogSourceOptions *o;
        LogRecordFunc f;
        void *userdata;
        LogClock clock;
        int stop;          /* what the callback asked for */
        uint64_t last_pause;
} FileReader;

static void file_line(const char *line, size_t len, bool too_long, void *userdata) {
        FileReader *fr = userdata;
        LogEvent ev;
        if (fr->stop)
                return;
        if (too_long) {
                ev = (LogEvent) { .kind = LOG_KIND_UNPARSED };
        } else
                (void) logline_parse_syslog(line, len, &fr->clock, &ev);
        if (!in_window(fr->o, &ev))
                return;
        int r = fr->f(&ev, line, len, fr->userdata);
        if (r != 0)
                fr->stop = r;
}

/* One chunk from a source: bytes read, 0 at the end, or -errno. */
typedef ssize_t (*ChunkFunc)(void *source, char *buf, size_t size);

static ssize_t chunk_plain(void *source, char *buf, size_t size) {
        for (;;) {
                ssize_t n = read(*(int *) source, buf, size);
                if (n >= 0 || errno != EINTR)
                        return n < 0 ? -errno : n;
        }
}

static ssize_t chunk_gzip(void *source, char *buf, size_t size) {
        int n = gzread(source, buf, (unsigned) size), e;
        if (n >= 0)
                return n;
        (void) gzerror(source, &e);
        return e == Z_ERRNO ? -errno : -EBADMSG;
}

/* Feeds a source to its end through the splitter, chunk by chunk. */
static int read_chunks(ChunkFunc chunk, void *source, FileReader *fr, LogSplitter *sp, bool finish) {
        _cleanup_free_ char *buf = malloc(READ_CHUNK);
        int r = 0;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = chunk(source, buf, READ_CHUNK);
                if (n <= 0) {
                        r = (int) n;
                        break;
                }
                log_splitter_feed(sp, buf, (size_t) n, file_line, fr);
                if (fr->stop)
                        break;
                r = pause_point(fr->o, &fr->last_pause);
                if (r < 0)
                        break;
        }
        if (finish)
                log_splitter_finish(sp, file_line, fr);
        return r;
}

/* Reads fd (plain or gzip) from its current offset to the end through the splitter. A
 * plain file is read(2) straight into the buffer (zlib would copy once more). */
static int read_fd(int fd, FileReader *fr, LogSplitter *sp, bool finish) {
        unsigned char magic[2] = {};
        off_t at = lseek(fd, 0, SEEK_CUR);
        if (at >= 0 && !(pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b))
                return read_chunks(chunk_plain, &fd, fr, sp, finish);
        int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dupfd < 0)
                return -errno;
        gzFile gz = gzdopen(dupfd, "rb");
        if (!gz) {
                close(dupfd);
                return -ENOMEM;
        }
        gzbuffer(gz, READ_CHUNK);
        int r = read_chunks(chunk_gzip, gz, fr, sp, finish);
        gzclose(gz);
        return r;
}

static int read_file(const char *path, FileReader *fr) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
                return -EINVAL;
        bool skip_first = false;
        if (fr->o->tail_bytes && S_ISREG(st.st_mode) && (uint64_t) st.st_size > fr->o->tail_bytes) {
                /* Only for plain files: a gzip file cannot be entered in the middle. */
                unsigned char magic[2] = {};
                if (pread(fd, magic, 2, 0) == 2 && !(magic[0] == 0x1f && magic[1] == 0x8b)) {
                        if (lseek(fd, st.st_size - (off_t) fr->o->tail_bytes, SEEK_SET) < 0)
                                return -errno;
                        skip_first = true;
                }
        }
        LogSplitter sp;
        int r = log_splitter_init(&sp);
        if (r < 0)
                return r;
        if (skip_first)
                sp.skipping = true; /* the partial line we landed in */
        r = read_fd(fd, fr, &sp, true);
        log_splitter_done(&sp);
        return r;
}

static int read_files(const LogSourceOptions *o, char **files, LogRecordFunc f, void *userdata,
                      LogSourceInfo *info) {
        FileReader fr = { .o = o, .f = f, .userdata = userdata };
        _cleanup_free_ char *desc = NULL;
        size_t n_rot = 0;

        log_clock_init(&fr.clock, o->now_usec ? o->now_usec : now_realtime());
        info->kind = LOG_SOURCE_FILES;
        for (char **p = files; *p; p++) {
                _cleanup_strv_free_ char **list = NULL;
                int r;
                if (o->no_rotated) {
                        list = calloc(2, sizeof(char *));
                        if (!list || !(list[0] = strdup(*p)))
                                return -ENOMEM;
                } else {
                        r = log_rotated_files(*p, &list);
                        if (r < 0)
                                return r;
                }
                for (char **q = list; *q; q++) {
                        if (q[1])
                                n_rot++;
                        info->n_files++;
                        r = read_file(*q, &fr);
                        if (r == -ETIME)
                                info->truncated = true;
                        if (r < 0) {
                                free(info->description);
                                info->description = strdup(*q); /* names the file that failed */
                                return r;
                        }
                        if (fr.stop)
                                return fr.stop < 0 ? fr.stop : 0;
                }
                char *nd;
                if (asprintf(&nd, "%s%s%s", desc ? desc : "", desc ? ", " : "", *p) < 0)
                        return -ENOMEM;
                free(desc);
                desc = nd;
        }
        free(info->description);
        if (n_rot > 0) {
                if (asprintf(&info->description, "%s (+%zu rotated)", strempty(desc), n_rot) < 0)
                        info->description = NULL;
        } else
                info->description = TAKE_PTR(desc);
        return 0;
}

/* ---- journal ---- */

static bool unit_is_mail(const char *u, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(mail_units); i++)
                if (strlen(mail_units[i]) == n && memcmp(u, mail_units[i], n) == 0)
                        return true;
        /* postfix@INSTANCE.service: multi-instance Postfix (postfix@-.service is the default) */
        return n > 16 && memcmp(u, "postfix@", 8) == 0 && memcmp(u + n - 8, ".service", 8) == 0;
}

#define UNITS_MAX 32

/* Does the journal hold FIELD=VALUE (in any file)? Through the field's unique values: a
 * handful for the fields asked about. */
static bool journal_has(sd_journal *j, const char *field, const char *value) {
        const void *d;
        size_t l, fl = strlen(field), vl = strlen(value);
        bool found = false;
        if (sd_journal_query_unique(j, field) < 0)
                return true; /* cannot tell: keep the term */
        SD_JOURNAL_FOREACH_UNIQUE(j, d, l)
                if (l == fl + 1 + vl && memcmp((const char *) d + fl + 1, value, vl) == 0) {
                        found = true;
                        break;
                }
        return found;
}

/* Matches: the mail facility (Postfix, Dovecot and OpenDKIM log there by default), OR the
 * mail units (what they write to stdout: postfix.service, postfix@*.service,
 * dovecot.service, opendkim.service), OR journald's notices of dropped messages.
 * sd-journal looks every term up in every file for every entry it steps to, so a term for
 * something the journal does not hold costs as much as one that matches (a journal of mail
 * only took 1.5x as long with the six terms as with the one that matched): unless
 * `follow` (where a unit may start logging later), only the terms the journal holds are
 * added (and the units are told apart by their identifier, not one term each). */
static int journal_add_matches(sd_journal *j, bool follow) {
        char *units[UNITS_MAX + ELEMENTSOF(mail_units)];
        size_t n_units = 0;
        const void *d;
        size_t l;
        int r = 0;

        if (follow)
                for (size_t i = 0; i < ELEMENTSOF(mail_units); i++)
                        units[n_units++] = (char *) mail_units[i];
        size_t fixed = n_units;
        if (sd_journal_query_unique(j, "_SYSTEMD_UNIT") >= 0)
                SD_JOURNAL_FOREACH_UNIQUE(j, d, l) {
                        const char *u = (const char *) d + 14;
                        size_t ul = l - 14;
                        if (l <= 14 || !unit_is_mail(u, ul))
                                continue;
                        bool dup = false;
                        for (size_t i = 0; i < fixed && !dup; i++)
                                dup = strlen(units[i]) == ul && memcmp(units[i], u, ul) == 0;
                        if (dup || n_units >= ELEMENTSOF(units))
                                continue;
                        units[n_units] = strndup(u, ul);
                        if (!units[n_units]) {
                                r = -ENOMEM;
                                goto out;
                        }
                        n_units++;
                }
        bool dropped = follow || journal_has(j, "MESSAGE_ID", MESSAGE_ID_JOURNAL_DROPPED);
        /* the facility term also when nothing else is there: no term at all would match all */
        if (follow || journal_has(j, "SYSLOG_FACILITY", "2") || (n_units == 0 && !dropped)) {
                r = sd_journal_add_match(j, "SYSLOG_FACILITY=2", 0);
                if (r >= 0)
                        r = sd_journal_add_disjunction(j);
        }
        for (size_t i = 0; r >= 0 && i < n_units; i++) {
                char buf[300];
                int k = snprintf(buf, sizeof(buf), "_SYSTEMD_UNIT=%s", units[i]);
                if (k > 0 && (size_t) k < sizeof(buf))
                        r = sd_journal_add_match(j, buf, (size_t) k);
        }
        if (r >= 0 && n_units > 0)
                r = sd_journal_add_disjunction(j);
        if (r >= 0 && dropped)
                r = sd_journal_add_match(j, "MESSAGE_ID=" MESSAGE_ID_JOURNAL_DROPPED, 0);
out:
        for (size_t i = fixed; i < n_units; i++)
                free(units[i]);
        return r < 0 ? r : 0;
}

/* Opens the journal the options name, else the local system journal: -ENODATA when that
 * has no entries at all (Debian 12 without rsyslog: the journal is the log; a machine
 * with rsyslog and a volatile journal still has one; without entries, the log files are
 * the source). Matches and the data threshold are set; the position is undefined. */
static int journal_open(const LogSourceOptions *o, bool follow, sd_journal **ret, char **ret_desc) {
        sd_journal *j = NULL;
        int r;
        *ret_desc = NULL;
        if (o->journal_file) {
                const char *paths[] = { o->journal_file, NULL };
                r = sd_journal_open_files(&j, paths, 0);
                if (r >= 0 && asprintf(ret_desc, "journal file %s", o->journal_file) < 0)
                        *ret_desc = NULL;
        } else if (o->journal_dir) {
                r = sd_journal_open_directory(&j, o->journal_dir, 0);
                if (r >= 0 && asprintf(ret_desc, "journal directory %s", o->journal_dir) < 0)
                        *ret_desc = NULL;
        } else {
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
                if (r >= 0) {
                        r = sd_journal_seek_head(j);
                        if (r >= 0)
                                r = sd_journal_next(j);
                        if (r == 0)
                                r = -ENODATA;
                        if (r >= 0)
                                *ret_desc = strdup("journal");
                }
        }
        if (r >= 0)
                r = journal_add_matches(j, follow);
        if (r < 0) {
                free(*ret_desc);
                *ret_desc = NULL;
                sd_journal_close(j);
                return r;
        }
        (void) sd_journal_set_data_threshold(j, LOGLINE_MAX + 64);
        *ret = j;
        return 0;
}

static uint32_t parse_pid(const char *p, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n && i < 10; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return 0;
                v = v * 10 + (uint64_t) (p[i] - '0');
        }
        return v > UINT32_MAX ? 0 : (uint32_t) v;
}

/* The current entry's text fields, copied: sd-journal's pointers are valid only until the
 * next call. */
typedef struct EntryBuf {
        char ident[256];
        char *message;       /* LOGLINE_MAX */
} EntryBuf;

static bool field_is(const char *d, size_t l, const char *name, size_t nl, const char **ret, size_t *ret_len) {
        if (l <= nl || d[nl] != '=' || memcmp(d, name, nl) != 0)
                return false;
        *ret = d + nl + 1;
        *ret_len = l - nl - 1;
        return true;
}
#define FIELD_IS(d, l, name, ret, ret_len) field_is((d), (l), (name), sizeof(name) - 1, (ret), (ret_len))

static void journal_entry(sd_journal *j, EntryBuf *b, LogClock *clock, LogEvent *ev) {
        const void *data;
        const char *v, *comm = NULL;
        size_t l, il = 0, ml = 0, cl = 0;
        uint32_t pid = 0, trusted_pid = 0;
        uint64_t usec = 0;
        bool have_msg = false, have_ident = false, too_long = false, dropped = false;

        (void) sd_journal_get_realtime_usec(j, &usec);
        /* One pass over the entry's fields (a get_data per field would walk them each time).
         * sd-journal's pointers are valid only until the next call: copy what is kept. */
        SD_JOURNAL_FOREACH_DATA(j, data, l) {
                const char *d = data;
                if (l < 5)
                        continue;
                switch (d[0]) {
                case 'M':
                        if (FIELD_IS(d, l, "MESSAGE", &v, &l)) {
                                have_msg = true;
                                too_long = l > LOGLINE_MAX;
                                ml = MIN(l, (size_t) LOGLINE_MAX);
                                memcpy(b->message, v, ml);
                        } else if (FIELD_IS(d, l, "MESSAGE_ID", &v, &l))
                                dropped = l == 32 && memcmp(v, MESSAGE_ID_JOURNAL_DROPPED, 32) == 0;
                        break;
                case 'S':
                        if (FIELD_IS(d, l, "SYSLOG_IDENTIFIER", &v, &l)) {
                                il = MIN(l, sizeof(b->ident));
                                memcpy(b->ident, v, il);
                                have_ident = true;
                        } else if (FIELD_IS(d, l, "SYSLOG_PID", &v, &l))
                                pid = parse_pid(v, l);
                        break;
                case '_':
                        if (FIELD_IS(d, l, "_PID", &v, &l))
                                trusted_pid = parse_pid(v, l);
                        else if (!have_ident && FIELD_IS(d, l, "_COMM", &v, &l)) {
                                cl = MIN(l, sizeof(b->ident));
                                memcpy(b->ident, v, cl);
                                comm = b->ident;
                        }
                        break;
                default:
                        break;
                }
        }
        if (!have_ident && comm)
                il = cl;
        if (!pid)
                pid = trusted_pid;
        /* journald keeps a trailing newline of some senders */
        while (ml > 0 && b->message[ml - 1] == '\n')
                ml--;
        if (!have_ident && dropped) {
                memcpy(b->ident, "systemd-journald", 16);
                il = 16;
        }
        (void) logline_parse_entry(b->ident, il, pid, have_msg && !too_long ? b->message : NULL, ml,
                                   (int64_t) usec, clock, ev);
}

/* sd-journal maps the journal files and keeps its mappings while it is open, and every
 * page a read touches counts in the reader's resident memory from then on: reading an hour
 * of a busy journal made the dashboard's peak RSS grow by most of the files' size (23 MiB
 * for 100,000 mail lines), and a dashboard following the journal for days would grow with
 * it. Every so many entries, the pages of those mappings are given back: MADV_DONTNEED on a
 * read-only shared file mapping only drops them from this process's page tables (the data
 * stays in the page cache, and sd-journal's pointers stay valid: a later access faults the
 * page in again). Opening the journal anew at the cursor instead did the same through the
 * API, but cost 50-80 ms per reopen with 41 journal files (the seek and the matches). */
#define JOURNAL_RELEASE_ENTRIES 8192u

static bool is_journal_path(const char *p, size_t n) {
        return (n > 8 && memcmp(p + n - 8, ".journal", 8) == 0) || (n > 9 && memcmp(p + n - 9, ".journal~", 9) == 0);
}

void log_journal_release_pages(void) {
        FILE *f = fopen("/proc/self/maps", "re");
        if (!f)
                return;
        char line[PATH_MAX + 128];
        while (fgets(line, sizeof(line), f)) {
                unsigned long start, end;
                char perms[8];
                int path_at = 0;
                /* start-end perms offset dev inode path */
                if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3 || path_at == 0)
                        continue;
                if (!streq(perms, "r--s")) /* read-only and shared: nothing of ours to lose */
                        continue;
                size_t n = strcspn(line + path_at, "\n");
                if (is_journal_path(line + path_at, n) && end > start)
                        (void) madvise((void *) start, end - start, MADV_DONTNEED);
        }
        fclose(f);
}

/* Reads the open journal j in the options' window, and closes it. */
static int read_journal(const LogSourceOptions *o, sd_journal *j, LogRecordFunc f, void *userdata, LogSourceInfo *info) {
        EntryBuf b = {};
        LogClock clock;
        uint64_t last_pause = 0;
        int r;

        info->kind = LOG_SOURCE_JOURNAL;
        b.message = malloc(LOGLINE_MAX);
        if (!b.message) {
                sd_journal_close(j);
                return -ENOMEM;
        }
        log_clock_init(&clock, o->now_usec ? o->now_usec : now_realtime());
        if (o->since_usec)
                r = sd_journal_seek_realtime_usec(j, (uint64_t) o->since_usec);
        else
                r = sd_journal_seek_head(j);
        if (r < 0)
                goto out;
        for (unsigned long count = 0;; count++) {
                r = sd_journal_next(j);
                if (r < 0)
                        goto out;
                if (r == 0)
                        break;
                LogEvent ev;
                journal_entry(j, &b, &clock, &ev);
                if (o->until_usec && ev.usec >= o->until_usec)
                        break;
                if (!in_window(o, &ev))
                        continue;
                r = f(&ev, NULL, 0, userdata);
                if (r != 0) {
                        r = r < 0 ? r : 0;
                        goto out;
                }
                if ((count & 63) == 63) {
                        r = pause_point(o, &last_pause);
                        if (r < 0) {
                                info->truncated = r == -ETIME;
                                goto out;
                        }
                }
                if (count % JOURNAL_RELEASE_ENTRIES == JOURNAL_RELEASE_ENTRIES - 1)
                        log_journal_release_pages();
        }
        r = 0;
out:
        free(b.message);
        sd_journal_close(j);
        return r;
}

/* The source the options choose: their files; else the journal they name, or the system
 * journal when it has entries (*ret_j, open); else the first default file that is there
 * (*ret_file). -ENOENT when there is none of these. */
static int source_pick(const LogSourceOptions *o, bool follow, sd_journal **ret_j, char **ret_desc,
                       const char **ret_file) {
        *ret_j = NULL;
        *ret_file = NULL;
        *ret_desc = NULL;
        if (o->files && o->files[0])
                return 0;
        int r = journal_open(o, follow, ret_j, ret_desc);
        if (r >= 0 || o->journal_dir || o->journal_file)
                return r; /* opened, or a named journal that failed */
        for (size_t i = 0; i < ELEMENTSOF(default_files); i++)
                if (access(default_files[i], R_OK) == 0) {
                        *ret_file = default_files[i];
                        return 0;
                }
        *ret_desc = strdup("journal, /var/log/maillog, /var/log/mail.log");
        return -ENOENT;
}

int log_source_read(const LogSourceOptions *o, LogRecordFunc f, void *userdata, LogSourceInfo *ret_info) {
        sd_journal *j;
        const char *file;
        *ret_info = (LogSourceInfo) {};
        int r = source_pick(o, false, &j, &ret_info->description, &file);
        if (r < 0)
                return r;
        if (j)
                return read_journal(o, j, f, userdata, ret_info);
        if (file) {
                char *v[] = { (char *) file, NULL };
                return read_files(o, v, f, userdata, ret_info);
        }
        return read_files(o, o->files, f, userdata, ret_info);
}

/* ---- follow ---- */

typedef struct FollowFile {
        char *path;
        int fd;
        dev_t dev;
        ino_t ino;
        off_t offset;
        LogSplitter sp;
} FollowFile;

struct LogFollow {
        LogSourceOptions o;
        LogRecordFunc f;
        void *userdata;
        char *description;
        /* journal */
        sd_journal *j;
        EntryBuf b;
        unsigned since_release; /* entries read since log_journal_release_pages */
        /* files */
        int inotify_fd;
        FollowFile *files;
        size_t n_files;
        LogClock clock;
};

LogFollow *log_follow_free(LogFollow *l) {
        if (!l)
                return NULL;
        if (l->j)
                sd_journal_close(l->j);
        free(l->b.message);
        for (size_t i = 0; i < l->n_files; i++) {
                if (l->files[i].fd >= 0)
                        close(l->files[i].fd);
                free(l->files[i].path);
                log_splitter_done(&l->files[i].sp);
        }
        free(l->files);
        if (l->inotify_fd >= 0)
                close(l->inotify_fd);
        free(l->description);
        free(l);
        return NULL;
}

int log_follow_get_fd(LogFollow *l) {
        return l->j ? sd_journal_get_fd(l->j) : l->inotify_fd;
}

const char *log_follow_description(LogFollow *l) {
        return l->description;
}

static int journal_drain(LogFollow *l) {
        for (;;) {
                int r = sd_journal_next(l->j);
                if (r <= 0)
                        return r;
                if (++l->since_release >= JOURNAL_RELEASE_ENTRIES) {
                        l->since_release = 0;
                        log_journal_release_pages();
                }
                LogEvent ev;
                journal_entry(l->j, &l->b, &l->clock, &ev);
                if (!in_window(&l->o, &ev))
                        continue;
                r = l->f(&ev, NULL, 0, l->userdata);
                if (r < 0)
                        return r;
        }
}

static int follow_file_open(LogFollow *l, FollowFile *ff, bool at_end) {
        int fd = open(ff->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        if (ff->fd >= 0)
                close(ff->fd);
        ff->fd = fd;
        ff->dev = st.st_dev;
        ff->ino = st.st_ino;
        ff->offset = at_end ? st.st_size : 0;
        return 0;
}

/* Reads new bytes of one file (plain only: a file being written is not gzip). */
static int follow_file_read(LogFollow *l, FollowFile *ff) {
        FileReader fr = { .o = &l->o, .f = l->f, .userdata = l->userdata, .clock = l->clock };
        char buf[65536];
        struct stat st;

        if (ff->fd < 0)
                return 0;
        if (fstat(ff->fd, &st) == 0 && st.st_size < ff->offset)
                ff->offset = 0; /* truncated (copytruncate rotation) */
        for (;;) {
                ssize_t n = pread(ff->fd, buf, sizeof(buf), ff->offset);
                if (n < 0)
                        return errno == EINTR ? 0 : -errno;
                if (n == 0)
                        break;
                ff->offset += n;
                log_splitter_feed(&ff->sp, buf, (size_t) n, file_line, &fr);
                if (fr.stop < 0)
                        return fr.stop;
        }
        l->clock = fr.clock;
        return 0;
}

int log_follow_process(LogFollow *l) {
        if (l->j) {
                int r = sd_journal_process(l->j);
                if (r < 0)
                        return r;
                return journal_drain(l);
        }
        /* drain inotify; what happened does not matter: look at every file */
        char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(l->inotify_fd, ev, sizeof(ev)) > 0)
                ;
        for (size_t i = 0; i < l->n_files; i++) {
                FollowFile *ff = &l->files[i];
                int r = follow_file_read(l, ff);
                if (r < 0)
                        return r;
                /* rotated away (renamed, a new file in its place)? finish the old, open the new */
                struct stat st;
                if (stat(ff->path, &st) == 0 && (st.st_ino != ff->ino || st.st_dev != ff->dev)) {
                        FileReader fr = { .o = &l->o, .f = l->f, .userdata = l->userdata, .clock = l->clock };
                        log_splitter_finish(&ff->sp, file_line, &fr);
                        if (follow_file_open(l, ff, false) >= 0) {
                                r = follow_file_read(l, ff);
                                if (r < 0)
                                        return r;
                        }
                } else if (ff->fd < 0 && follow_file_open(l, ff, false) >= 0) {
                        r = follow_file_read(l, ff);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int log_follow_new(const LogSourceOptions *o, LogRecordFunc f, void *userdata, LogFollow **ret) {
        LogFollow *l = calloc(1, sizeof(LogFollow));
        int r;
        if (!l)
                return -ENOMEM;
        l->o = *o;
        l->o.deadline = DEADLINE_NONE;
        l->f = f;
        l->userdata = userdata;
        l->inotify_fd = -1;
        log_clock_init(&l->clock, now_realtime());

        const char *const *files = (const char *const *) o->files;
        const char *fallback[2] = {};
        r = source_pick(o, true, &l->j, &l->description, &fallback[0]);
        if (r < 0) {
                log_follow_free(l);
                return r;
        }
        if (fallback[0])
                files = fallback;

        if (l->j) {
                l->b.message = malloc(LOGLINE_MAX);
                r = 0;
                if (r >= 0 && !l->b.message)
                        r = -ENOMEM;
                if (r >= 0) {
                        /* at the end: the last entry, so that next() gives what comes */
                        r = sd_journal_seek_tail(l->j);
                        if (r >= 0)
                                r = sd_journal_previous(l->j);
                }
                if (r >= 0)
                        r = sd_journal_get_fd(l->j); /* sets up inotify before reading */
                if (r >= 0)
                        r = journal_drain(l);
                if (r < 0) {
                        log_follow_free(l);
                        return r;
                }
                *ret = l;
                return 0;
        }

        l->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (l->inotify_fd < 0) {
                r = -errno;
                log_follow_free(l);
                return r;
        }
        for (const char *const *p = files; *p; p++) {
                FollowFile *nf = realloc(l->files, (l->n_files + 1) * sizeof(FollowFile));
                if (!nf) {
                        log_follow_free(l);
                        return -ENOMEM;
                }
                l->files = nf;
                FollowFile *ff = &l->files[l->n_files];
                *ff = (FollowFile) { .fd = -1, .path = strdup(*p) };
                if (!ff->path || log_splitter_init(&ff->sp) < 0) {
                        free(ff->path);
                        log_follow_free(l);
                        return -ENOMEM;
                }
                l->n_files++;
                /* Watch the directory: rotation renames and recreates the file. */
                _cleanup_free_ char *dir = NULL;
                const char *slash = strrchr(*p, '/');
                dir = slash ? strndup(*p, (size_t) (slash - *p) + (slash == *p)) : strdup(".");
                if (!dir || inotify_add_watch(l->inotify_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
                                                                          IN_MOVED_FROM | IN_CLOSE_WRITE) < 0) {
                        r = dir ? -errno : -ENOMEM;
                        log_follow_free(l);
                        return r;
                }
                r = follow_file_open(l, ff, true);
                if (r < 0 && r != -ENOENT) {
                        log_follow_free(l);
                        return r;
                }
        }
        if (asprintf(&l->description, "%s%s", files[0], files[1] ? " ..." : "") < 0)
                l->description = NULL;
        *ret = l;
        return 0;
}
