/* Who listens on a TCP port: /proc/net/tcp{,6} and /proc/PID/fd. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "listeners.h"
#include "macro.h"
#include "termsafe.h"

#define TCP_LISTEN 0x0A

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)
#define MAX_PROC_NET ((size_t) 8 * 1024 * 1024)

/* Next whitespace-separated field of [*p, end); false at the end of the line. */
static bool field(const char **p, const char *end, const char **ret, size_t *ret_len) {
        const char *s = *p;

        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        if (s >= end || *s == '\n')
                return false;
        *ret = s;
        while (s < end && *s != ' ' && *s != '\t' && *s != '\n')
                s++;
        *ret_len = (size_t) (s - *ret);
        *p = s;
        return true;
}

static bool hex_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 16)
                return false;
        for (size_t i = 0; i < len; i++) {
                int c = (unsigned char) s[i], d;
                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (c >= 'A' && c <= 'F')
                        d = c - 'A' + 10;
                else if (c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else
                        return false;
                v = v << 4 | (uint64_t) d;
        }
        *ret = v;
        return true;
}

static bool dec_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 19)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* "  0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ..."
 *   sl  local        remote        st tx:rx             tr:when     retrnsmt    uid  timeout inode */
void listeners_parse(const char *data, size_t size, uint16_t port, uint64_t *inodes, size_t max,
                     size_t *ret_n) {
        const char *p = data, *end = data + size;
        size_t n = 0;
        bool header = true;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end, *q = p, *f;
                size_t fl;
                uint64_t v, st, inode;
                bool ok = true;

                if (header) {
                        header = false;
                        p = nl ? nl + 1 : end;
                        continue;
                }
                /* sl, local address:port, remote, state */
                ok = field(&q, le, &f, &fl); /* sl */
                if (ok)
                        ok = field(&q, le, &f, &fl);
                if (ok) {
                        const char *colon = memchr(f, ':', fl);
                        ok = colon && hex_u64(colon + 1, fl - (size_t) (colon + 1 - f), &v) && v == port;
                }
                if (ok)
                        ok = field(&q, le, &f, &fl); /* remote */
                if (ok)
                        ok = field(&q, le, &f, &fl) && hex_u64(f, fl, &st) && st == TCP_LISTEN;
                /* tx:rx, tr:when, retrnsmt, uid, timeout, inode */
                for (int i = 0; ok && i < 5; i++)
                        ok = field(&q, le, &f, &fl);
                if (ok)
                        ok = field(&q, le, &f, &fl) && dec_u64(f, fl, &inode) && inode != 0;
                if (ok && n < max)
                        inodes[n++] = inode;
                p = nl ? nl + 1 : end;
        }
        *ret_n = n;
}

/* The process with an fd on socket:[inode], by scanning /proc/PID/fd (bounded by what
 * /proc lists). */
static pid_t socket_owner(uint64_t inode) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        char want[40];
        struct dirent *de;

        if (!d)
                return 0;
        snprintf(want, sizeof(want), "socket:[%" PRIu64 "]", inode);
        while ((de = readdir(d))) {
                char path[300];
                _cleanup_closedir_ DIR *fds = NULL;
                struct dirent *fe;

                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
                fds = opendir(path);
                if (!fds)
                        continue;
                while ((fe = readdir(fds))) {
                        char link[600], target[64];
                        ssize_t l;
                        if (fe->d_name[0] == '.')
                                continue;
                        snprintf(link, sizeof(link), "/proc/%s/fd/%s", de->d_name, fe->d_name);
                        l = readlink(link, target, sizeof(target) - 1);
                        if (l <= 0)
                                continue;
                        target[l] = '\0';
                        if (streq(target, want))
                                return (pid_t) atol(de->d_name);
                }
        }
        return 0;
}

int listeners_on_port(uint16_t port, Listener *ret, size_t max) {
        static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *data = NULL;
                uint64_t inodes[LISTENERS_MAX];
                size_t size, k;

                r = read_file_bounded(files[i], MAX_PROC_NET, &data, &size);
                if (r == -ENOENT && i == 1)
                        continue; /* no IPv6 */
                if (r < 0)
                        return r;
                listeners_parse(data, size, port, inodes, ELEMENTSOF(inodes), &k);
                for (size_t j = 0; j < k && n < max; j++) {
                        Listener *l = &ret[n++];
                        *l = (Listener) { .inode = inodes[j], .pid = socket_owner(inodes[j]) };
                        if (l->pid > 0) {
                                char path[64];
                                _cleanup_free_ char *comm = NULL, *safe = NULL;
                                size_t cs;
                                snprintf(path, sizeof(path), "/proc/%d/comm", (int) l->pid);
                                if (read_file_bounded(path, 64, &comm, &cs) >= 0) {
                                        while (cs > 0 && comm[cs - 1] == '\n')
                                                cs--;
                                        if (termsafe_dup(comm, cs, 0, &safe) >= 0)
                                                snprintf(l->comm, sizeof(l->comm), "%s", safe);
                                }
                        }
                }
        }
        return (int) n;
}
