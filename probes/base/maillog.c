/* Looking up Postfix's and Dovecot's own diagnostics in the journal or the mail log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "macro.h"
#include "maillog.h"
#include "offload.h"
#include "termsafe.h"

#define MAX_ENTRIES 20000u
#define FILE_TAIL (256 * 1024)
#define LINE_MAX_SHOWN 400

static bool mail_identifier(const char *id, size_t len) {
        return (len >= 7 && strncmp(id, "postfix", 7) == 0) || (len >= 7 && strncmp(id, "dovecot", 7) == 0);
}

/* "FIELD=value" of the current entry, value and its length. */
static bool entry_field(sd_journal *j, const char *field, const char **ret, size_t *ret_len) {
        const void *data;
        size_t len, fl = strlen(field);
        if (sd_journal_get_data(j, field, &data, &len) < 0 || len <= fl + 1)
                return false;
        *ret = (const char *) data + fl + 1;
        *ret_len = len - fl - 1;
        return true;
}

/* The index of the first needle in msg, n when none. */
static size_t first_needle(const void *msg, size_t len, const char *const *needles, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (memmem(msg, len, needles[i], strlen(needles[i])))
                        return i;
        return n;
}

static uint64_t wall_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* The newest entry at or after since that holds the first needle any entry holds (the
 * needles come most telling first), scanning back from the tail. */
static int journal_scan(sd_journal *j, const char *const *needles, size_t n, uint64_t since, char **ret) {
        _cleanup_free_ char *best = NULL;
        size_t best_rank = n;
        int r = sd_journal_seek_tail(j);
        for (unsigned k = 0; r >= 0 && k < MAX_ENTRIES && best_rank > 0; k++) {
                r = sd_journal_previous(j);
                if (r <= 0)
                        break;
                uint64_t when;
                if (sd_journal_get_realtime_usec(j, &when) >= 0 && when < since)
                        break;
                const char *id, *msg;
                size_t id_len, msg_len;
                if (!entry_field(j, "SYSLOG_IDENTIFIER", &id, &id_len) || !mail_identifier(id, id_len) ||
                    !entry_field(j, "MESSAGE", &msg, &msg_len))
                        continue;
                size_t rank = first_needle(msg, msg_len, needles, best_rank);
                if (rank >= best_rank)
                        continue;
                char *line = NULL;
                if (asprintf(&line, "%.*s: %.*s", (int) MIN(id_len, (size_t) 64), id,
                             (int) MIN(msg_len, (size_t) LINE_MAX_SHOWN), msg) < 0)
                        return -ENOMEM;
                free(best);
                best = termsafe_strdup(line, 0);
                free(line);
                if (!best)
                        return -ENOMEM;
                best_rank = rank;
        }
        *ret = TAKE_PTR(best);
        return *ret ? 1 : 0;
}

/* journald writes what it receives a moment later: when the event asked about has just
 * happened (since is recent) and nothing is there yet, wait a bounded while for the
 * journal to change and look again, rather than answer with nothing. */
#define SETTLE_WINDOW_USEC (10 * 1000000u)
#define SETTLE_TOTAL_USEC (1500 * 1000u)

static int from_journal(const char *const *needles, size_t n, uint64_t since, char **ret) {
        sd_journal *j = NULL;
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        (void) sd_journal_set_data_threshold(j, 4096);
        r = journal_scan(j, needles, n, since, ret);
        uint64_t start = wall_usec();
        if (r == 0 && since + SETTLE_WINDOW_USEC > start) {
                for (;;) {
                        uint64_t spent = wall_usec() - start;
                        if (spent >= SETTLE_TOTAL_USEC)
                                break;
                        int w = sd_journal_wait(j, SETTLE_TOTAL_USEC - spent);
                        if (w < 0)
                                break;
                        if (w == SD_JOURNAL_NOP)
                                continue;
                        r = journal_scan(j, needles, n, since, ret);
                        if (r != 0)
                                break;
                }
        }
        sd_journal_close(j);
        return r;
}

/* The last line of the file's tail that names a mail daemon and contains needle. The
 * classic log has no year in its time stamps: the age is judged by the file's mtime. */
static int from_file(const char *path, const char *const *needles, size_t n, uint64_t since, char **ret) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return 0;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_mtime * 1000000u + 1000000u < since) {
                close(fd);
                return 0;
        }
        off_t start = st.st_size > FILE_TAIL ? st.st_size - FILE_TAIL : 0;
        char *buf = malloc(FILE_TAIL + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        ssize_t got = pread(fd, buf, FILE_TAIL, start);
        close(fd);
        if (got <= 0) {
                free(buf);
                return 0;
        }
        buf[got] = 0;
        const char *best = NULL;
        size_t best_len = 0, best_rank = n;
        for (const char *line = buf; *line;) {
                size_t len = strcspn(line, "\n");
                size_t rank = first_needle(line, len, needles, n);
                if (rank <= best_rank && rank < n &&
                    (memmem(line, len, " postfix", 8) || memmem(line, len, " dovecot", 8))) {
                        best = line;
                        best_len = len;
                        best_rank = rank;
                }
                line += len + (line[len] == '\n');
        }
        int r = 0;
        if (best) {
                r = termsafe_dup(best, MIN(best_len, (size_t) LINE_MAX_SHOWN), 0, ret);
                r = r < 0 ? r : 1;
        }
        free(buf);
        return r;
}

int maillog_find_newest(const char *const *needles, size_t n, uint64_t since_usec, char **ret) {
        *ret = NULL;
        int r = from_journal(needles, n, since_usec, ret);
        if (r != 0)
                return r == -ENOMEM ? r : 0;
        static const char *const files[] = { "/var/log/mail.log", "/var/log/maillog" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = from_file(files[i], needles, n, since_usec, ret);
                if (r != 0)
                        return r == -ENOMEM ? r : 0;
        }
        return 0;
}

int maillog_find_recent(const char *needle, unsigned max_age_sec, char **ret) {
        uint64_t now = wall_usec(), age = (uint64_t) max_age_sec * 1000000u;
        return maillog_find_newest(&needle, 1, now > age ? now - age : 0, ret);
}

typedef struct Lookup {
        const char *const *needles; /* static tables only: the work may outlive the caller */
        size_t n;
        uint64_t since;
        char *line;
} Lookup;

static int lookup_work(void *data) {
        Lookup *l = data;
        return maillog_find_newest(l->needles, l->n, l->since, &l->line);
}

static void lookup_free(void *data) {
        Lookup *l = data;
        free(l->line);
        free(l);
}

int maillog_find_newest_async(const char *const *needles, size_t n, uint64_t since_usec, Deadline deadline,
                              char **ret) {
        *ret = NULL;
        Lookup *l = calloc(1, sizeof(Lookup));
        if (!l)
                return -ENOMEM;
        *l = (Lookup) { .needles = needles, .n = n, .since = since_usec };
        int result = 0;
        int r = offload_run(lookup_work, l, lookup_free, deadline, &result);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        *ret = TAKE_PTR(l->line);
        free(l);
        return result == -ENOMEM ? result : 0;
}
