/* The transaction journal (see journal.h): write-ahead manifest, byte-exact backups,
 * rollback and history. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <systemd/sd-journal.h>

#include "fileio.h"
#include "journal.h"
#include "deadline.h"
#include "fiber.h"
#include "macro.h"
#include "units.h"

#define UNIT_UNDO_TIMEOUT_MS 60000
#define INFLIGHT_WAIT_MS 60000

#define MAX_BACKUP_SIZE ((size_t) 64 * 1024 * 1024)
#define MAX_MANIFEST_SIZE ((size_t) 64 * 1024 * 1024)

struct Journal {
        char *root;
        char *id;
        char *dir;        /* ROOT/var/lib/mxdeck/transactions/ID */
        int manifest_fd;
        int lock_fd;
        unsigned seq;
        unsigned n_backups;
        char **backed_up; /* paths already backed up in this transaction */
        size_t n_backed_up;
};

static char *join(const char *root, const char *path) {
        char *p;

        if (!root || streq(root, "/"))
                return strdup(path);
        if (asprintf(&p, "%s%s", root, path) < 0)
                return NULL;
        return p;
}

static int fsync_file(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -1;
        return fsync(fd);
}

static int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int journal_lock(const char *root) {
        _cleanup_free_ char *dir = join(root, JOURNAL_DIR), *path = NULL;
        int fd, r;

        if (!dir || asprintf(&path, "%s/lock", dir) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
                close(fd);
                return r;
        }
        return fd;
}

/* Appends one entry and makes it durable before returning: the change it announces may
 * happen right after. */
static int append(Journal *j, json_t *entry) {
        _cleanup_free_ char *s = NULL;
        size_t len;

        if (!entry)
                return -ENOMEM;
        json_object_set_new(entry, "seq", json_integer(++j->seq));
        s = json_dumps(entry, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(entry);
        if (!s)
                return -ENOMEM;
        len = strlen(s);
        s[len] = '\n'; /* replaces the NUL; written with its length */
        for (size_t done = 0; done < len + 1;) {
                ssize_t w = write(j->manifest_fd, s + done, len + 1 - done);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += (size_t) w;
        }
        return fdatasync(j->manifest_fd) < 0 ? negative_errno() : 0;
}

Journal *journal_free(Journal *j) {
        if (!j)
                return NULL;
        if (j->manifest_fd >= 0)
                close(j->manifest_fd);
        if (j->lock_fd >= 0)
                close(j->lock_fd);
        for (size_t i = 0; i < j->n_backed_up; i++)
                free(j->backed_up[i]);
        free(j->backed_up);
        free(j->root);
        free(j->id);
        free(j->dir);
        free(j);
        return NULL;
}

const char *journal_id(const Journal *j) {
        return j->id;
}

int journal_begin(const char *root, int64_t now, const char *answers_path, Journal **ret) {
        _cleanup_(journal_freep) Journal *j = NULL;
        _cleanup_free_ char *tdir = NULL, *mpath = NULL, *bdir = NULL;
        struct tm tm;
        time_t t = (time_t) now;
        uint16_t rnd = 0;
        char stamp[32];
        int r;

        j = calloc(1, sizeof(Journal));
        if (!j)
                return -ENOMEM;
        j->manifest_fd = j->lock_fd = -1;
        j->root = strdup(root ? root : "/");
        if (!j->root)
                return -ENOMEM;
        r = journal_lock(root);
        if (r < 0)
                return r;
        j->lock_fd = r;

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm) == 0)
                return -EINVAL;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                rnd = (uint16_t) getpid();
        rnd &= 0x7fff;
        tdir = join(root, JOURNAL_TRANSACTIONS);
        if (!tdir)
                return -ENOMEM;
        /* Ids sort by time, and "rollback" without an id takes the newest: transactions begun
         * in the same second (dkim rotate's stages) must sort in the order they began, so the
         * suffix follows the highest one of that second (the journal lock is held). */
        DIR *d = opendir(tdir);
        if (d) {
                struct dirent *de;
                size_t sl = strlen(stamp);
                long high = -1;
                while ((de = readdir(d)))
                        if (strncmp(de->d_name, stamp, sl) == 0 && de->d_name[sl] == '-') {
                                char *end;
                                long v = strtol(de->d_name + sl + 1, &end, 16);
                                if (*end == '\0' && end == de->d_name + sl + 5 && v > high)
                                        high = v;
                        }
                closedir(d);
                if (high >= 0xffff)
                        return -EBUSY; /* 64K transactions in one second */
                if (high >= 0)
                        rnd = (uint16_t) (high + 1);
        }
        if (asprintf(&j->id, "%s-%04x", stamp, rnd) < 0 || asprintf(&j->dir, "%s/%s", tdir, j->id) < 0)
                return -ENOMEM;
        r = mkdir_p(tdir, 0700);
        if (r < 0)
                return r;
        if (mkdir(j->dir, 0700) < 0)
                return negative_errno();
        if (asprintf(&bdir, "%s/backups", j->dir) < 0 || asprintf(&mpath, "%s/manifest.jsonl", j->dir) < 0)
                return -ENOMEM;
        if (mkdir(bdir, 0700) < 0)
                return negative_errno();
        j->manifest_fd = open(mpath, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        if (j->manifest_fd < 0)
                return negative_errno();
        r = fsync_dir(tdir);
        if (r < 0)
                return r;
        r = append(j, json_pack("{s:s, s:s, s:I, s:s}", "type", "begin", "id", j->id,
                                "time", (json_int_t) now, "answers", strempty(answers_path)));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

static int sha256_hex(const void *data, size_t size, char ret[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_Digest(data, size, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        for (unsigned i = 0; i < len; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

static int write_all_fd(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t w = write(fd, p, size);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += w;
                size -= (size_t) w;
        }
        return 0;
}

int journal_backup(Journal *j, const char *step, const char *path) {
        _cleanup_free_ char *full = join(j->root, path), *data = NULL, *bname = NULL, *bpath = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t size = 0;
        char sha[65] = "";
        char **nb;
        int r;

        if (!full)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_backed_up; i++)
                if (streq(j->backed_up[i], path))
                        return 0;

        if (lstat(full, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                r = append(j, json_pack("{s:s, s:s, s:s, s:b}", "type", "backup", "step", step,
                                        "path", path, "existed", 0));
                if (r < 0)
                        return r;
                goto remember;
        }
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        r = read_file_bounded(full, MAX_BACKUP_SIZE, &data, &size);
        if (r < 0)
                return r;
        r = sha256_hex(data, size, sha);
        if (r < 0)
                return r;
        if (asprintf(&bname, "backups/%u", ++j->n_backups) < 0 ||
            asprintf(&bpath, "%s/%s", j->dir, bname) < 0)
                return -ENOMEM;
        fd = open(bpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        r = write_all_fd(fd, data, size);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return negative_errno();
        r = append(j, json_pack("{s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:s, s:s, s:I}",
                                "type", "backup", "step", step, "path", path, "existed", 1,
                                "mode", (int) (st.st_mode & 07777), "uid", (int) st.st_uid,
                                "gid", (int) st.st_gid, "sha256", sha, "file", bname,
                                "size", (json_int_t) size));
        if (r < 0)
                return r;
remember:
        nb = realloc(j->backed_up, (j->n_backed_up + 1) * sizeof(char *));
        if (!nb)
                return -ENOMEM;
        j->backed_up = nb;
        j->backed_up[j->n_backed_up] = strdup(path);
        if (!j->backed_up[j->n_backed_up])
                return -ENOMEM;
        j->n_backed_up++;
        return 0;
}

int journal_mkdir(Journal *j, const char *step, const char *path) {
        return append(j, json_pack("{s:s, s:s, s:s}", "type", "mkdir", "step", step, "path", path));
}

static json_t *argv_json(const char *const *argv) {
        json_t *a = json_array();

        for (size_t i = 0; a && argv && argv[i]; i++)
                json_array_append_new(a, json_string(argv[i]));
        return a;
}

int journal_run(Journal *j, const char *step, const char *const *argv,
                const char *const *undo_argv, bool late, unsigned *ret_seq) {
        json_t *e = json_pack("{s:s, s:s, s:o}", "type", "run", "step", step, "argv", argv_json(argv));
        int r;

        if (e && undo_argv) {
                json_object_set_new(e, "undo", argv_json(undo_argv));
                json_object_set_new(e, "late", json_boolean(late));
        }
        r = append(j, e);
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = j->seq;
        return 0;
}

int journal_unit(Journal *j, const char *step, const char *op, const char *unit,
                 const char *undo_op, bool late, unsigned *ret_seq) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "type", "unit", "step", step, "op", op, "unit", unit);
        int r;

        if (e && undo_op) {
                json_object_set_new(e, "undo", json_string(undo_op));
                json_object_set_new(e, "late", json_boolean(late));
        }
        r = append(j, e);
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = j->seq;
        return 0;
}

int journal_report(Journal *j, const char *step, const char *text) {
        return append(j, json_pack("{s:s, s:s, s:s}", "type", "report", "step", step, "text", text));
}

int journal_ran(Journal *j, unsigned seq, int status) {
        return append(j, json_pack("{s:s, s:i, s:i}", "type", "ran", "of", (int) seq, "status", status));
}

int journal_call(Journal *j, const char *step, const char *what, const char *data, unsigned *ret_seq) {
        json_t *d = json_loads(data, 0, NULL);
        int r;

        if (!d || !json_is_object(d)) {
                json_decref(d);
                return -EINVAL;
        }
        r = append(j, json_pack("{s:s, s:s, s:s, s:o}", "type", "call", "step", step, "what", what,
                                "data", d));
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = j->seq;
        return 0;
}

int journal_step(Journal *j, const char *step, const char *what) {
        return append(j, json_pack("{s:s, s:s, s:s}", "type", "step", "step", step, "what", what));
}

int journal_commit(Journal *j, bool ok, const char *step, const char *error) {
        json_t *e = json_pack("{s:s, s:s}", "type", "end", "status", ok ? "ok" : "failed");

        if (e && step)
                json_object_set_new(e, "step", json_string(step));
        if (e && error)
                json_object_set_new(e, "error", json_string(error));
        return append(j, e);
}

void journal_audit(const char *transaction, const char *step, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return;
        (void) sd_journal_send("MESSAGE=%s", msg,
                               "SYSLOG_IDENTIFIER=mxdeck",
                               "PRIORITY=%i", 6,
                               "MXDECK_TRANSACTION=%s", strempty(transaction),
                               "MXDECK_STEP=%s", strempty(step),
                               NULL);
}

/* --- reading transactions --- */

static const char *const status_names[_TRANSACTION_STATUS_MAX] = {
        [TRANSACTION_OK] = "ok",
        [TRANSACTION_FAILED] = "failed",
        [TRANSACTION_INCOMPLETE] = "incomplete",
        [TRANSACTION_ROLLED_BACK] = "rolled back",
        [TRANSACTION_DAMAGED] = "damaged",
};

const char *transaction_status_to_string(TransactionStatus s) {
        return s >= 0 && s < _TRANSACTION_STATUS_MAX ? status_names[s] : NULL;
}

static const char *jstr(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* --- checking a manifest --- */

/* A path as the journal records it: absolute, no empty, "." or ".." component, no NUL
 * (len is the JSON string's length). Rollback joins it to the root and removes or writes
 * it: anything else could reach outside the root. */
static bool journal_path_ok(const char *p, size_t len) {
        if (!p || len == 0 || len >= PATH_MAX || strlen(p) != len || p[0] != '/')
                return false;
        for (const char *c = p; *c;) {
                const char *s = c + 1, *e = strchrnul(s, '/');
                size_t n = (size_t) (e - s);
                if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                c = e;
        }
        return true;
}

static bool field_str(json_t *e, const char *key, bool required) {
        json_t *v = json_object_get(e, key);

        if (!v)
                return !required;
        return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static bool field_int(json_t *e, const char *key, json_int_t min, json_int_t max) {
        json_t *v = json_object_get(e, key);

        return json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max;
}

static bool field_bool(json_t *e, const char *key, bool required) {
        json_t *v = json_object_get(e, key);

        return v ? json_is_boolean(v) : !required;
}

static bool field_argv(json_t *e, const char *key) {
        json_t *a = json_object_get(e, key), *w;
        size_t i;

        if (!json_is_array(a) || json_array_size(a) == 0)
                return false;
        json_array_foreach(a, i, w)
                if (!json_is_string(w) || strlen(json_string_value(w)) != json_string_length(w))
                        return false;
        return true;
}

static bool sha256_ok(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool backup_name_ok(const char *s) {
        size_t n;

        if (!s || !startswith(s, "backups/"))
                return false;
        s += strlen("backups/");
        n = strlen(s);
        if (n == 0 || n > 10 || s[0] == '0')
                return false;
        return strspn(s, "0123456789") == n;
}

enum { KIND_OTHER, KIND_COMMAND }; /* what a seq was, for "ran" */

/* One entry against what its type needs: every field the rollback uses has its type and
 * range, never a default. Returns NULL when it is fine, else the reason. */
static const char *check_entry(json_t *e, size_t seq, const unsigned char *kinds, const char *id,
                               bool *ret_rolled_back, char buf[static 160]) {
        const char *type = jstr(e, "type");
        json_t *pv;

#define BAD(fmt, ...) (snprintf(buf, 160, fmt, __VA_ARGS__), buf)
        if (!field_str(e, "type", true))
                return BAD(_("\"%s\" is missing or not a string"), "type");
        if (!field_int(e, "seq", 1, UINT_MAX) || (size_t) json_integer_value(json_object_get(e, "seq")) != seq)
                return BAD(_("\"seq\" is not %zu (a line is missing or out of place)"), seq);
        if (*ret_rolled_back)
                return _("a record after the rollback mark");
        /* (a rollback of a run killed before its begin record was whole comes first) */
        if (streq(type, "begin") ? seq != 1 : seq == 1 && !streq(type, "rollback"))
                return _("the first record is not \"begin\", or \"begin\" is not the first");
        if (streq(type, "begin")) {
                if (!field_str(e, "id", true) || (id && !streq(jstr(e, "id"), id)))
                        return BAD(_("\"%s\" does not match the transaction's directory"), "id");
                if (!field_int(e, "time", INT64_MIN, INT64_MAX))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "time");
                if (!field_str(e, "answers", true))
                        return BAD(_("\"%s\" is missing or not a string"), "answers");
                return NULL;
        }
        if (streq(type, "ran")) {
                if (!field_int(e, "of", 1, (json_int_t) seq - 1) ||
                    kinds[json_integer_value(json_object_get(e, "of"))] != KIND_COMMAND)
                        return _("\"of\" names no earlier command");
                if (!field_int(e, "status", INT_MIN + 1, INT_MAX))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "status");
                return NULL;
        }
        if (streq(type, "end")) {
                if (!field_str(e, "status", true) ||
                    !(streq(jstr(e, "status"), "ok") || streq(jstr(e, "status"), "failed")))
                        return BAD(_("\"%s\" is missing or not a known value"), "status");
                if (!field_str(e, "step", false))
                        return BAD(_("\"%s\" is missing or not a string"), "step");
                if (!field_str(e, "error", false))
                        return BAD(_("\"%s\" is missing or not a string"), "error");
                return NULL;
        }
        if (streq(type, "rollback")) {
                if (!field_bool(e, "complete", true))
                        return BAD(_("\"%s\" is missing or not true/false"), "complete");
                *ret_rolled_back = true;
                return NULL;
        }
        /* the rest belong to a step */
        if (!field_str(e, "step", true))
                return BAD(_("\"%s\" is missing or not a string"), "step");
        if (streq(type, "backup") || streq(type, "mkdir")) {
                pv = json_object_get(e, "path");
                if (!json_is_string(pv) || !journal_path_ok(json_string_value(pv), json_string_length(pv)))
                        return BAD(_("\"%s\" is not an absolute path without \"..\", \".\" or empty parts"), "path");
                if (streq(type, "mkdir"))
                        return NULL;
                if (!field_bool(e, "existed", true))
                        return BAD(_("\"%s\" is missing or not true/false"), "existed");
                if (!json_is_true(json_object_get(e, "existed")))
                        return NULL;
                if (!field_int(e, "mode", 0, 07777))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "mode");
                if (!field_int(e, "uid", 0, (json_int_t) UINT32_MAX - 1))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "uid");
                if (!field_int(e, "gid", 0, (json_int_t) UINT32_MAX - 1))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "gid");
                if (!field_int(e, "size", 0, (json_int_t) MAX_BACKUP_SIZE))
                        return BAD(_("\"%s\" is missing or not an integer in range"), "size");
                if (!field_str(e, "sha256", true) || !sha256_ok(jstr(e, "sha256")))
                        return BAD(_("\"%s\" is not 64 hexadecimal digits"), "sha256");
                if (!field_str(e, "file", true) || !backup_name_ok(jstr(e, "file")))
                        return BAD(_("\"%s\" is not a backup of this transaction"), "file");
                return NULL;
        }
        if (streq(type, "run")) {
                if (!field_argv(e, "argv"))
                        return BAD(_("\"%s\" is missing or not a list of strings"), "argv");
                if (json_object_get(e, "undo") && !field_argv(e, "undo"))
                        return BAD(_("\"%s\" is missing or not a list of strings"), "undo");
                if (!field_bool(e, "late", false))
                        return BAD(_("\"%s\" is missing or not true/false"), "late");
                return NULL;
        }
        if (streq(type, "unit")) {
                if (!field_str(e, "unit", true))
                        return BAD(_("\"%s\" is missing or not a string"), "unit");
                if (!field_str(e, "op", true) || unit_op_from_string(jstr(e, "op")) < 0)
                        return BAD(_("\"%s\" is missing or not a known value"), "op");
                if (json_object_get(e, "undo") &&
                    (!field_str(e, "undo", true) || unit_op_from_string(jstr(e, "undo")) < 0))
                        return BAD(_("\"%s\" is missing or not a known value"), "undo");
                if (!field_bool(e, "late", false))
                        return BAD(_("\"%s\" is missing or not true/false"), "late");
                return NULL;
        }
        if (streq(type, "call")) {
                if (!field_str(e, "what", true))
                        return BAD(_("\"%s\" is missing or not a string"), "what");
                if (!json_is_object(json_object_get(e, "data")))
                        return BAD(_("\"%s\" is missing or not an object"), "data");
                return NULL;
        }
        if (streq(type, "report")) {
                if (!field_str(e, "text", true))
                        return BAD(_("\"%s\" is missing or not a string"), "text");
                return NULL;
        }
        if (streq(type, "step")) {
                if (!field_str(e, "what", true))
                        return BAD(_("\"%s\" is missing or not a string"), "what");
                return NULL;
        }
        return _("an unknown kind of record");
#undef BAD
}

int journal_check_manifest(const char *data, size_t size, const char *id, json_t **ret_entries,
                           JournalCheck *ret) {
        _cleanup_free_ unsigned char *kinds = NULL;
        size_t n_lines = 0, seq = 0;
        bool rolled_back = false;
        json_t *a;

        *ret = (JournalCheck) {};
        /* one line is at least 2 bytes: the kinds table is indexed by seq */
        for (size_t i = 0; i < size; i++)
                n_lines += data[i] == '\n';
        kinds = calloc(n_lines + 2, 1);
        a = json_array();
        if (!kinds || !a) {
                json_decref(a);
                return -ENOMEM;
        }
        for (const char *line = data, *nl; line < data + size; line = nl + 1) {
                char buf[160];
                const char *why = NULL;
                json_error_t err;
                json_t *e;
                size_t len;

                nl = memchr(line, '\n', (size_t) (data + size - line));
                if (!nl) {
                        /* unterminated: an append the kill cut short. The entry is written
                         * and synced before its change is made, so that change had not
                         * begun: nothing to undo for it */
                        ret->torn = true;
                        break;
                }
                len = (size_t) (nl - line);
                seq++;
                if (memchr(line, '\0', len))
                        why = _("a NUL byte in the line");
                else {
                        e = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
                        if (!json_is_object(e))
                                why = _("not a JSON object");
                        else
                                why = check_entry(e, seq, kinds, id, &rolled_back, buf);
                        if (!why) {
                                const char *t = jstr(e, "type");
                                kinds[seq] = streq(t, "run") || streq(t, "unit") || streq(t, "call") ? KIND_COMMAND : KIND_OTHER;
                                if (json_array_append_new(a, e) < 0) {
                                        json_decref(a);
                                        return -ENOMEM;
                                }
                        } else
                                json_decref(e);
                }
                if (why) {
                        ret->line = (unsigned) seq;
                        ret->reason = strdup(why);
                        *ret_entries = a; /* what came before, for history */
                        return ret->reason ? -EBADMSG : -ENOMEM;
                }
                ret->whole = (size_t) (nl + 1 - data);
        }
        if (seq == 0) {
                /* not even the begin record: a run killed in journal_begin */
                ret->torn = ret->torn || size > 0;
        }
        *ret_entries = a;
        return 0;
}

void journal_check_done(JournalCheck *c) {
        free(c->reason);
        *c = (JournalCheck) {};
}

/* The manifest's entries in order, checked (journal_check_manifest); a torn last line (a
 * kill during append) is left out, and ret_check says so. On -EBADMSG, *ret holds the
 * entries before the damaged line and ret_check where and why. */
static int read_manifest(const char *tdir, const char *id, json_t **ret, JournalCheck *ret_check) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        *ret = NULL;
        *ret_check = (JournalCheck) {};
        if (asprintf(&path, "%s/manifest.jsonl", tdir) < 0)
                return -ENOMEM;
        r = read_file_bounded(path, MAX_MANIFEST_SIZE, &data, &size);
        if (r < 0)
                return r;
        return journal_check_manifest(data, size, id, ret, ret_check);
}

static int strv_push_unique(char ***v, size_t *n, const char *s) {
        char **nv;

        for (size_t i = 0; i < *n; i++)
                if (streq((*v)[i], s))
                        return 0;
        nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(s);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

static char *argv_line(json_t *argv) {
        size_t i;
        json_t *w;
        char *s = NULL, *n;
        size_t len = 0;

        json_array_foreach(argv, i, w) {
                const char *t = json_string_value(w);
                size_t tl = t ? strlen(t) : 0;
                n = realloc(s, len + tl + 2);
                if (!n) {
                        free(s);
                        return NULL;
                }
                s = n;
                if (len > 0)
                        s[len++] = ' ';
                memcpy(s + len, t ? t : "", tl);
                len += tl;
                s[len] = '\0';
        }
        return s ? s : strdup("");
}

void transaction_info_done(TransactionInfo *t) {
        free(t->id);
        free(t->answers);
        free(t->failed_step);
        free(t->error);
        strv_free(t->files);
        strv_free(t->commands);
        strv_free(t->steps);
        free(t->damaged_file);
        free(t->damaged_reason);
        *t = (TransactionInfo) {};
}

void transaction_infos_free(TransactionInfo *t, size_t n) {
        for (size_t i = 0; t && i < n; i++)
                transaction_info_done(&t[i]);
        free(t);
}

static int transaction_info(const char *tdir, const char *id, TransactionInfo *ret) {
        json_t *m = NULL;
        TransactionInfo t = { .status = TRANSACTION_INCOMPLETE };
        JournalCheck c;
        size_t i, nf = 0, nc = 0, ns = 0;
        json_t *e;
        int r;

        r = read_manifest(tdir, id, &m, &c);
        if (r == -EBADMSG) {
                t.damaged_line = c.line;
                t.damaged_reason = TAKE_PTR(c.reason);
                if (asprintf(&t.damaged_file, "%s/manifest.jsonl", tdir) < 0)
                        t.damaged_file = NULL;
                if (!t.damaged_reason || !t.damaged_file) {
                        r = -ENOMEM;
                        goto fail;
                }
        } else if (r < 0)
                return r;
        journal_check_done(&c);
        r = 0;
        t.id = strdup(id);
        t.files = calloc(1, sizeof(char *));
        t.commands = calloc(1, sizeof(char *));
        t.steps = calloc(1, sizeof(char *));
        if (!t.id || !t.files || !t.commands || !t.steps) {
                r = -ENOMEM;
                goto fail;
        }
        json_array_foreach(m, i, e) {
                const char *type = jstr(e, "type");
                if (!type)
                        continue;
                if (streq(type, "begin")) {
                        t.started = json_integer_value(json_object_get(e, "time"));
                        free(t.answers);
                        t.answers = strdup(strempty(jstr(e, "answers")));
                        if (!t.answers)
                                r = -ENOMEM;
                } else if (streq(type, "backup")) {
                        r = strv_push_unique(&t.files, &nf, strempty(jstr(e, "path")));
                        if (r >= 0)
                                r = strv_push_unique(&t.steps, &ns, strempty(jstr(e, "step")));
                } else if (streq(type, "run")) {
                        _cleanup_free_ char *l = argv_line(json_object_get(e, "argv"));
                        r = l ? strv_push_unique(&t.commands, &nc, l) : -ENOMEM;
                        if (r >= 0)
                                r = strv_push_unique(&t.steps, &ns, strempty(jstr(e, "step")));
                } else if (streq(type, "call")) {
                        r = strv_push_unique(&t.commands, &nc, strempty(jstr(e, "what")));
                        if (r >= 0)
                                r = strv_push_unique(&t.steps, &ns, strempty(jstr(e, "step")));
                } else if (streq(type, "unit")) {
                        _cleanup_free_ char *l = NULL;
                        r = asprintf(&l, "systemctl %s %s", strempty(jstr(e, "op")), strempty(jstr(e, "unit"))) < 0
                                    ? -ENOMEM : strv_push_unique(&t.commands, &nc, l);
                        if (r >= 0)
                                r = strv_push_unique(&t.steps, &ns, strempty(jstr(e, "step")));
                } else if (streq(type, "end")) {
                        t.status = streq_ptr(jstr(e, "status"), "ok") ? TRANSACTION_OK : TRANSACTION_FAILED;
                        if (jstr(e, "step") && !(t.failed_step = strdup(jstr(e, "step"))))
                                r = -ENOMEM;
                        if (jstr(e, "error") && !(t.error = strdup(jstr(e, "error"))))
                                r = -ENOMEM;
                } else if (streq(type, "rollback"))
                        t.status = TRANSACTION_ROLLED_BACK;
                if (r < 0)
                        goto fail;
        }
        if (t.damaged_reason)
                t.status = TRANSACTION_DAMAGED;
        json_decref(m);
        *ret = t;
        return 0;
fail:
        json_decref(m);
        journal_check_done(&c);
        transaction_info_done(&t);
        return r;
}

static int id_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Transaction ids under root, sorted (= by time). */
static int list_ids(const char *root, char ***ret, size_t *ret_n, char **ret_tdir) {
        _cleanup_free_ char *tdir = join(root, JOURNAL_TRANSACTIONS);
        _cleanup_strv_free_ char **ids = calloc(1, sizeof(char *));
        DIR *d;
        struct dirent *de;
        size_t n = 0;
        int r = 0;

        if (!tdir || !ids)
                return -ENOMEM;
        d = opendir(tdir);
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
        } else {
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        r = strv_push_unique(&ids, &n, de->d_name);
                        if (r < 0)
                                break;
                }
                closedir(d);
                if (r < 0)
                        return r;
        }
        qsort(ids, n, sizeof(char *), id_compare);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        *ret_tdir = TAKE_PTR(tdir);
        return 0;
}

int journal_list(const char *root, TransactionInfo **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ char *tdir = NULL;
        TransactionInfo *v;
        size_t n, k = 0;
        int r;

        r = list_ids(root, &ids, &n, &tdir);
        if (r < 0)
                return r;
        v = calloc(n + 1, sizeof(TransactionInfo));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = NULL;
                if (asprintf(&d, "%s/%s", tdir, ids[i]) < 0) {
                        transaction_infos_free(v, k);
                        return -ENOMEM;
                }
                r = transaction_info(d, ids[i], &v[k]);
                if (r == -ENOENT)
                        continue; /* a directory without a manifest: not ours */
                if (r < 0) {
                        transaction_infos_free(v, k);
                        return r;
                }
                k++;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

/* --- rollback --- */

_printf_(3, 4)
static void note(JournalNote fn, void *userdata, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s && fn)
                fn(s, userdata);
}

static int restore_backup(const char *root, const char *tdir, json_t *e, JournalNote fn, void *ud) {
        const char *path = jstr(e, "path");
        _cleanup_free_ char *full = NULL, *bpath = NULL, *data = NULL;
        size_t size;
        int r;

        /* (journal_check_manifest checked every field; again here, as this writes) */
        if (!path || !journal_path_ok(path, json_string_length(json_object_get(e, "path"))))
                return -EINVAL;
        full = join(root, path);
        if (!full)
                return -ENOMEM;
        if (!json_is_true(json_object_get(e, "existed"))) {
                if (unlink(full) < 0 && errno != ENOENT)
                        return negative_errno();
                note(fn, ud, _("removed %s (it did not exist before)"), path);
                return 0;
        }
        const char *bname = jstr(e, "file");
        if (!backup_name_ok(bname))
                return -EINVAL;
        if (asprintf(&bpath, "%s/%s", tdir, bname) < 0)
                return -ENOMEM;
        r = read_file_bounded(bpath, MAX_BACKUP_SIZE, &data, &size);
        if (r < 0)
                return r;
        char sha[65];
        r = sha256_hex(data, size, sha);
        if (r < 0)
                return r;
        if (!json_is_integer(json_object_get(e, "size")) ||
            json_integer_value(json_object_get(e, "size")) != (json_int_t) size ||
            !streq_ptr(sha, jstr(e, "sha256")))
                return -EBADMSG; /* the backup itself was damaged: do not write it */
        AtomicWriteOptions o = {
                .set_mode = true,
                .mode = (mode_t) json_integer_value(json_object_get(e, "mode")),
                .set_owner = true,
                .uid = (uid_t) json_integer_value(json_object_get(e, "uid")),
                .gid = (gid_t) json_integer_value(json_object_get(e, "gid")),
        };
        r = atomic_write_file(full, data, size, &o, NULL);
        if (r < 0)
                return r;
        /* atomic_write_file creates with the mode through the umask-free path; set it
         * explicitly so setgid and similar bits come back too */
        if (chmod(full, o.mode) < 0)
                return negative_errno();
        note(fn, ud, _("restored %s"), path);
        return 0;
}

static int run_undo(json_t *undo, JournalSpawn spawn, void *spawn_ud, JournalNote fn, void *ud) {
        size_t n = json_array_size(undo);
        _cleanup_free_ const char **argv = calloc(n + 1, sizeof(char *));
        _cleanup_free_ char *line = argv_line(undo);
        SpawnResult res = {};
        int r;

        if (!argv || !line)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                argv[i] = json_string_value(json_array_get(undo, i));
        if (n == 0 || !argv[0])
                return -EINVAL;
        SpawnOptions o = { .argv = argv, .merge_stderr = true, .timeout_ms = 60000 };
        r = spawn ? spawn(&o, &res, spawn_ud) : spawn_run(&o, &res);
        if (r < 0) {
                note(fn, ud, _("could not run %s: %s"), line, strerror(-r));
                return r;
        }
        if (!spawn_result_ok(&res)) {
                /* Stopping or reloading a daemon that is not running (the administrator
                 * stopped it, or it died) needs nothing: "postfix stop|reload" and "doveadm
                 * stop|reload" exit 1 then. Failing the rollback there would leave every older
                 * change in place. */
                bool stopped = false, ctl = n == 2 && (streq(argv[1], "stop") || streq(argv[1], "reload"));
                if (ctl && streq(argv[0], "doveadm"))
                        stopped = res.out && memmem(res.out, res.out_size, "not running", strlen("not running"));
                else if (ctl && streq(argv[0], "postfix")) {
                        /* postfix(1) says why only on a terminal: ask it whether it runs */
                        const char *st[] = { "postfix", "status", NULL };
                        SpawnOptions so = { .argv = st, .merge_stderr = true, .timeout_ms = 30000 };
                        SpawnResult sr = {};
                        stopped = (spawn ? spawn(&so, &sr, spawn_ud) : spawn_run(&so, &sr)) >= 0 && sr.exited &&
                                  sr.exit_status == 1;
                        spawn_result_done(&sr);
                }
                if (stopped) {
                        note(fn, ud, _("%s: it was not running"), line);
                        spawn_result_done(&res);
                        return 0;
                }
                note(fn, ud, _("%s failed (exit status %d)"), line, res.exited ? res.exit_status : -1);
                spawn_result_done(&res);
                return -EIO;
        }
        spawn_result_done(&res);
        note(fn, ud, _("ran %s"), line);
        return 0;
}

/* --- commands that outlived a killed run --- */

/* A run killed with SIGKILL leaves the command it was running alive (posix_spawn gives the
 * child no parent-death signal): a `postconf -e` that renames main.cf into place after
 * rollback removed it, a `postfix start` still starting. Before rollback or a new run
 * touches the same files, wait until every command of the transaction with no recorded end
 * has exited: found by its exact command line in /proc/PID/cmdline. Bounded. */
static bool cmdline_running(const char *want, size_t want_size) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        bool found = false;

        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                char path[300];
                _cleanup_free_ char *data = NULL;
                size_t size;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
                if (read_file_bounded(path, 65536, &data, &size) < 0)
                        continue;
                found = size == want_size && memcmp(data, want, size) == 0;
        }
        closedir(d);
        return found;
}

static void wait_inflight(json_t *m, const int *ran, size_t n, JournalNote fn, void *ud) {
        Deadline d = deadline_in_ms(INFLIGHT_WAIT_MS);

        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(m, i), *argv = json_object_get(e, "argv");
                json_int_t seq = json_integer_value(json_object_get(e, "seq"));
                _cleanup_free_ char *want = NULL;
                size_t len = 0;
                bool noted = false;

                if (!streq_ptr(jstr(e, "type"), "run") || !json_is_array(argv) || seq <= 0 ||
                    (size_t) seq > n + 1 || ran[seq] != INT_MIN)
                        continue;
                /* argv as the kernel shows it: each argument NUL-terminated */
                for (size_t k = 0; k < json_array_size(argv); k++)
                        len += strlen(strempty(json_string_value(json_array_get(argv, k)))) + 1;
                want = malloc(len + 1);
                if (!want)
                        return;
                char *p = want;
                for (size_t k = 0; k < json_array_size(argv); k++)
                        p = stpcpy(p, strempty(json_string_value(json_array_get(argv, k)))) + 1;
                while (cmdline_running(want, len)) {
                        if (!noted) {
                                _cleanup_free_ char *line = argv_line(argv);
                                note(fn, ud, _("waiting for %s (left running by the killed run) to end"),
                                     line ? line : "?");
                                noted = true;
                        }
                        if (deadline_passed(d) || fiber_sleep(deadline_within(d, 100)) < 0) {
                                note(fn, ud, _("it is still running: going on"));
                                return;
                        }
                }
        }
}

/* The ran[] table of a manifest: the end status of each run entry by seq, INT_MIN when
 * none was recorded. */
static int *ran_table(json_t *m, size_t n) {
        int *ran = calloc(n + 2, sizeof(int));

        if (!ran)
                return NULL;
        for (size_t i = 0; i < n + 2; i++)
                ran[i] = INT_MIN;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(m, i);
                json_int_t of = json_integer_value(json_object_get(e, "of"));
                if (streq_ptr(jstr(e, "type"), "ran") && of > 0 && (size_t) of <= n + 1)
                        ran[of] = (int) json_integer_value(json_object_get(e, "status"));
        }
        return ran;
}

int journal_wait_unfinished(const char *root, JournalNote fn, void *ud) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ char *tdir = NULL, *d = NULL;
        json_t *m = NULL;
        size_t n;
        int r;

        if (!streq(root, "/"))
                return 0; /* /proc shows the processes of the live system only */
        r = list_ids(root, &ids, &n, &tdir);
        if (r < 0 || n == 0)
                return r;
        /* the newest: only the last run can have been killed without a later run noticing */
        if (asprintf(&d, "%s/%s", tdir, ids[n - 1]) < 0)
                return -ENOMEM;
        JournalCheck c;
        r = read_manifest(d, ids[n - 1], &m, &c);
        journal_check_done(&c);
        if (r < 0) {
                json_decref(m);
                /* a damaged manifest: rollback refuses it anyway, and a new run does not
                 * need it */
                return r == -ENOENT || r == -EBADMSG ? 0 : r;
        }
        size_t me = json_array_size(m);
        bool ended = false;
        for (size_t i = 0; i < me; i++) {
                const char *t = jstr(json_array_get(m, i), "type");
                ended = ended || streq_ptr(t, "end") || streq_ptr(t, "rollback");
        }
        if (!ended) {
                _cleanup_free_ int *ran = ran_table(m, me);
                if (ran)
                        wait_inflight(m, ran, me, fn, ud);
        }
        json_decref(m);
        return 0;
}

/* The reverse of a unit operation, over sd-bus: only on the live system (a unit entry is
 * only ever written there). */
static int unit_undo(const char *root, json_t *e, JournalNote fn, void *ud) {
        const char *unit = jstr(e, "unit");
        UnitOp op = unit_op_from_string(jstr(e, "undo"));
        _cleanup_free_ char *err = NULL;
        int r;

        if (!unit || op < 0)
                return -EINVAL;
        if (!streq(root, "/")) {
                note(fn, ud, _("not reversed under %s: systemctl %s %s"), root, unit_op_to_string(op), unit);
                return 0;
        }
        r = unit_run(op, unit, deadline_in_ms(UNIT_UNDO_TIMEOUT_MS), NULL, &err);
        if (r < 0) {
                note(fn, ud, _("systemctl %s %s failed: %s"), unit_op_to_string(op), unit,
                     err ? err : strerror(-r));
                return r == -ENOMEM ? r : -EIO;
        }
        note(fn, ud, _("%s %s (over D-Bus)"), unit_op_to_string(op), unit);
        return 0;
}

int journal_rollback(const char *root, const char *id, JournalSpawn spawn, void *spawn_userdata,
                     JournalNote fn, void *ud) {
        _cleanup_free_ char *tdir = NULL, *d = NULL;
        _cleanup_close_ int lock = -1, mfd = -1;
        json_t *m = NULL;
        bool problems = false;
        size_t n;
        int r;

        if (!id || !*id || strchr(id, '/') || id[0] == '.')
                return -EINVAL;
        tdir = join(root, JOURNAL_TRANSACTIONS);
        if (!tdir || asprintf(&d, "%s/%s", tdir, id) < 0)
                return -ENOMEM;
        lock = journal_lock(root);
        if (lock < 0)
                return lock;
        JournalCheck c;
        r = read_manifest(d, id, &m, &c);
        if (r == -EBADMSG) {
                note(fn, ud, _("%s/manifest.jsonl:%u: %s: the transaction is damaged and is not rolled back "
                               "(nothing was changed)"), d, c.line, c.reason);
                journal_check_done(&c);
                json_decref(m);
                return r;
        }
        if (r < 0)
                return r;
        n = json_array_size(m);
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(jstr(json_array_get(m, i), "type"), "rollback")) {
                        json_decref(m);
                        return -EALREADY;
                }

        /* mark it first, so that a rollback killed half-way is not mistaken for an intact
         * transaction; running it again is safe (restoring is idempotent) */
        _cleanup_free_ char *mpath = NULL;
        if (asprintf(&mpath, "%s/manifest.jsonl", d) < 0) {
                json_decref(m);
                return -ENOMEM;
        }
        /* a torn last line (a kill during an append; its change had not begun): cut off
         * before anything else, so that the mark appended below is a line of its own */
        if (c.torn) {
                r = truncate(mpath, (off_t) c.whole);
                if (r >= 0)
                        r = fsync_file(mpath);
                if (r < 0) {
                        r = negative_errno();
                        json_decref(m);
                        return r;
                }
                note(fn, ud, _("left out the half-written last line of %s (a killed run's; what it announced "
                               "had not begun)"), mpath);
        }

        /* what each command's end was: a command that failed changed nothing to reverse;
         * one without an end (the run was killed while it ran) may have, so its undo is
         * tried, and its failure is only a note */
        _cleanup_free_ int *ran = calloc(n + 2, sizeof(int));
        if (!ran) {
                json_decref(m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n + 2; i++)
                ran[i] = INT_MIN;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(m, i);
                json_int_t of = json_integer_value(json_object_get(e, "of"));
                if (streq_ptr(jstr(e, "type"), "ran") && of > 0 && (size_t) of <= n + 1)
                        ran[of] = (int) json_integer_value(json_object_get(e, "status"));
        }

        /* (under another root nothing the transaction ran matches a process of this
         * system's /proc, short of the same command running by chance: a bounded wait) */
        wait_inflight(m, ran, n, fn, ud);

        /* reverse order: the newest change is undone first */
        for (size_t i = n; i-- > 0;) {
                json_t *e = json_array_get(m, i);
                const char *type = jstr(e, "type");

                if (!type)
                        continue;
                if (streq(type, "backup"))
                        r = restore_backup(root, d, e, fn, ud);
                else if (streq(type, "mkdir")) {
                        const char *path = jstr(e, "path");
                        _cleanup_free_ char *full = NULL;
                        if (!path || !journal_path_ok(path, json_string_length(json_object_get(e, "path"))))
                                r = -EINVAL;
                        else
                                r = (full = join(root, path)) ? 0 : -ENOMEM;
                        if (full && rmdir(full) < 0 && errno != ENOENT) {
                                if (errno == ENOTEMPTY || errno == EEXIST)
                                        note(fn, ud, _("kept %s: it is not empty"), jstr(e, "path"));
                                else
                                        r = negative_errno();
                        }
                } else if (streq(type, "run") && json_object_get(e, "undo") &&
                           !json_is_true(json_object_get(e, "late"))) {
                        json_int_t seq = json_integer_value(json_object_get(e, "seq"));
                        int st = seq > 0 && (size_t) seq <= n + 1 ? ran[seq] : INT_MIN;
                        if (st != INT_MIN && st != 0)
                                continue;
                        r = run_undo(json_object_get(e, "undo"), spawn, spawn_userdata, fn, ud);
                        if (r < 0 && r != -ENOMEM && st == INT_MIN)
                                r = 0; /* it may never have started */
                } else if (streq(type, "call")) {
                        json_int_t seq = json_integer_value(json_object_get(e, "seq"));
                        int st = seq > 0 && (size_t) seq <= n + 1 ? ran[seq] : INT_MIN;
                        _cleanup_free_ char *data = json_dumps(json_object_get(e, "data"), JSON_COMPACT);
                        _cleanup_free_ char *err = NULL;
                        if (st != INT_MIN && st != 0)
                                continue; /* it failed: nothing to reverse */
                        r = data ? journal_undo_call(root, strempty(jstr(e, "step")), data, &err) : -ENOMEM;
                        if (r >= 0)
                                note(fn, ud, _("undid: %s"), strempty(jstr(e, "what")));
                        else if (r != -ENOMEM && st == INT_MIN)
                                r = 0; /* it may never have been made */
                        else if (r != -ENOMEM)
                                note(fn, ud, _("could not undo %s: %s"), strempty(jstr(e, "what")),
                                     err ? err : strerror(-r));
                } else if (streq(type, "unit") && json_object_get(e, "undo") &&
                           !json_is_true(json_object_get(e, "late"))) {
                        json_int_t seq = json_integer_value(json_object_get(e, "seq"));
                        int st = seq > 0 && (size_t) seq <= n + 1 ? ran[seq] : INT_MIN;
                        if (st != INT_MIN && st != 0)
                                continue;
                        r = unit_undo(root, e, fn, ud);
                        if (r < 0 && r != -ENOMEM && st == INT_MIN)
                                r = 0;
                } else if (streq(type, "report")) {
                        note(fn, ud, "%s", strempty(jstr(e, "text")));
                        continue;
                } else
                        continue;
                if (r == -ENOMEM) {
                        json_decref(m);
                        return r;
                }
                if (r < 0) {
                        problems = true;
                        if (streq(type, "backup") || streq(type, "mkdir"))
                                note(fn, ud, _("could not restore %s: %s"),
                                     strempty(jstr(e, "path")), strerror(-r));
                }
        }
        /* reloads: after the files are back, so the daemons read the old configuration */
        for (size_t i = n; i-- > 0;) {
                json_t *e = json_array_get(m, i);
                if ((streq_ptr(jstr(e, "type"), "run") || streq_ptr(jstr(e, "type"), "unit")) &&
                    json_object_get(e, "undo") && json_is_true(json_object_get(e, "late"))) {
                        if (streq(jstr(e, "type"), "unit"))
                                r = unit_undo(root, e, fn, ud);
                        else
                                r = run_undo(json_object_get(e, "undo"), spawn, spawn_userdata, fn, ud);
                        if (r == -ENOMEM) {
                                json_decref(m);
                                return r;
                        }
                        problems = problems || r < 0;
                }
        }
        json_decref(m);

        mfd = open(mpath, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (mfd < 0)
                return negative_errno();
        Journal tmp = { .manifest_fd = mfd, .lock_fd = -1, .seq = (unsigned) n };
        r = append(&tmp, json_pack("{s:s, s:b}", "type", "rollback", "complete", !problems));
        if (r < 0)
                return r;
        journal_audit(id, "rollback", "mxdeck: transaction %s rolled back%s", id,
                      problems ? " with problems" : "");
        return problems ? -EIO : 0;
}
