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

static int from_journal(const char *needle, unsigned max_age_sec, char **ret) {
        sd_journal *j = NULL;
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        uint64_t cutoff = 0;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        if (now > (uint64_t) max_age_sec * 1000000u)
                cutoff = now - (uint64_t) max_age_sec * 1000000u;
        (void) sd_journal_set_data_threshold(j, 4096);
        r = sd_journal_seek_tail(j);
        for (unsigned n = 0; r >= 0 && n < MAX_ENTRIES; n++) {
                r = sd_journal_previous(j);
                if (r <= 0)
                        break;
                uint64_t when;
                if (sd_journal_get_realtime_usec(j, &when) >= 0 && when < cutoff)
                        break;
                const char *id, *msg;
                size_t id_len, msg_len;
                if (!entry_field(j, "SYSLOG_IDENTIFIER", &id, &id_len) || !mail_identifier(id, id_len) ||
                    !entry_field(j, "MESSAGE", &msg, &msg_len) || !memmem(msg, msg_len, needle, strlen(needle)))
                        continue;
                char *line = NULL;
                if (asprintf(&line, "%.*s: %.*s", (int) MIN(id_len, (size_t) 64), id,
                             (int) MIN(msg_len, (size_t) LINE_MAX_SHOWN), msg) < 0) {
                        sd_journal_close(j);
                        return -ENOMEM;
                }
                *ret = termsafe_strdup(line, 0);
                free(line);
                sd_journal_close(j);
                return *ret ? 1 : -ENOMEM;
        }
        sd_journal_close(j);
        return 0;
}

/* The last line of the file's tail that names a mail daemon and contains needle. The
 * classic log has no year in its time stamps: the age is judged by the file's mtime. */
static int from_file(const char *path, const char *needle, unsigned max_age_sec, char **ret) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return 0;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || time(NULL) - st.st_mtime > (time_t) max_age_sec) {
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
        size_t best_len = 0;
        for (const char *line = buf; *line;) {
                size_t len = strcspn(line, "\n");
                if (memmem(line, len, needle, strlen(needle)) &&
                    (memmem(line, len, " postfix", 8) || memmem(line, len, " dovecot", 8))) {
                        best = line;
                        best_len = len;
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

int maillog_find_recent(const char *needle, unsigned max_age_sec, char **ret) {
        *ret = NULL;
        int r = from_journal(needle, max_age_sec, ret);
        if (r != 0)
                return r == -ENOMEM ? r : 0;
        static const char *const files[] = { "/var/log/mail.log", "/var/log/maillog" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = from_file(files[i], needle, max_age_sec, ret);
                if (r != 0)
                        return r == -ENOMEM ? r : 0;
        }
        return 0;
}
