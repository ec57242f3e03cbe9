/* Where Postfix and Dovecot keep what a remedy must change, and the commands that change it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "termsafe.h"
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "mailconf.h"
#include "postconf.h"

#define CONF_MAX (1024 * 1024)

static int strv_push(char ***v, size_t *n, char *s) {
        if (!s)
                return -ENOMEM;
        char **p = reallocarray(*v, *n + 2, sizeof(char *));
        if (!p) {
                free(s);
                return -ENOMEM;
        }
        p[(*n)++] = s;
        p[*n] = NULL;
        *v = p;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int dovecot_conf_files(const char *root, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        char *p = NULL;
        size_t n = 0;
        const char *r = root && *root ? root : "";

        if (asprintf(&p, "%s/etc/dovecot/dovecot.conf", r) < 0 || strv_push(&v, &n, p) < 0)
                return -ENOMEM;
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/etc/dovecot/conf.d", r) < 0)
                return -ENOMEM;
        DIR *d = opendir(dir);
        if (d) {
                size_t first = n;
                struct dirent *e;
                while ((e = readdir(d)) && n < 256) {
                        size_t l = strlen(e->d_name);
                        if (l < 6 || !streq(e->d_name + l - 5, ".conf") || e->d_name[0] == '.')
                                continue;
                        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0 || strv_push(&v, &n, p) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                }
                closedir(d);
                qsort(v + first, n - first, sizeof(char *), cmp_str);
        }
        if (asprintf(&p, "%s/etc/dovecot/local.conf", r) < 0 || strv_push(&v, &n, p) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

/* Does line set name at the top level? depth is the section nesting before the line. */
static bool line_sets(const char *line, const char *name, int depth) {
        if (depth > 0)
                return false;
        line += strspn(line, " \t");
        size_t l = strlen(name);
        if (strncmp(line, name, l) != 0)
                return false;
        line += l;
        line += strspn(line, " \t");
        return *line == '=';
}

/* The line as it may be shown: through termsafe, at most DOVECOT_LINE_SHOWN bytes of it.
 * 0 when that is the line exactly, 1 when it had to be changed. */
static int shown_line(const char *line, char **ret) {
        size_t len = strlen(line), cut = MIN(len, (size_t) DOVECOT_LINE_SHOWN);
        /* never cut inside a UTF-8 character */
        while (cut < len && cut > 0 && ((unsigned char) line[cut] & 0xC0) == 0x80)
                cut--;
        _cleanup_free_ char *safe = NULL;
        if (termsafe_dup(line, cut, 0, &safe) < 0)
                return -ENOMEM;
        bool exact = cut == len && streq(safe, line);
        if (cut < len) {
                char *more = NULL;
                if (asprintf(&more, "%s…", safe) < 0)
                        return -ENOMEM;
                free(safe);
                safe = more;
        }
        *ret = TAKE_PTR(safe);
        return exact ? 0 : 1;
}

int dovecot_setting_find(const char *root, const char *name, char **ret_file, char **ret_line) {
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *best_file = NULL, *best_line = NULL, *shown = NULL;
        int r = dovecot_conf_files(root, &files);
        if (r < 0)
                return r;
        /* dovecot.conf includes conf.d/ early and local.conf last: files in that order, the
         * last assignment seen wins. */
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *text = NULL;
                size_t size;
                if (read_file_bounded(*f, CONF_MAX, &text, &size) < 0)
                        continue;
                int depth = 0;
                for (char *line = text; *line;) {
                        size_t len = strcspn(line, "\n");
                        char saved = line[len];
                        line[len] = 0;
                        const char *t = line + strspn(line, " \t");
                        if (*t != '#') {
                                if (line_sets(line, name, depth)) {
                                        free(best_file);
                                        free(best_line);
                                        best_file = strdup(*f);
                                        best_line = strdup(line);
                                        if (!best_file || !best_line)
                                                return -ENOMEM;
                                }
                                for (const char *c = t; *c && *c != '#'; c++)
                                        depth += *c == '{' ? 1 : *c == '}' ? -1 : 0;
                                if (depth < 0)
                                        depth = 0;
                        }
                        line[len] = saved;
                        line += len + (saved == '\n');
                }
        }
        if (!best_file)
                return -ENOENT;
        /* The line goes into findings and commands: no escape sequence, no megabyte. */
        r = shown_line(best_line, &shown);
        if (r < 0)
                return r;
        *ret_file = TAKE_PTR(best_file);
        *ret_line = TAKE_PTR(shown);
        return r;
}

/* Characters that make a sed expression (between single quotes) ambiguous. */
static bool sed_safe(const char *s) {
        return !strpbrk(s, "|'\\\n&");
}

/* s with the regular-expression characters escaped for sed's basic syntax. */
static char *sed_pattern(const char *s) {
        char *out = malloc(strlen(s) * 2 + 1), *o = out;
        if (!out)
                return NULL;
        for (; *s; s++) {
                if (strchr(".[]*^$", *s))
                        *o++ = '\\';
                *o++ = *s;
        }
        *o = 0;
        return out;
}

int remedy_dovecot_set(Finding *f, const char *root, const char *name, const char *value, const char *fallback) {
        _cleanup_free_ char *file = NULL, *line = NULL;
        int r = dovecot_setting_find(root, name, &file, &line);
        if (r == -ENOMEM)
                return r;
        if (!sed_safe(name) || !sed_safe(value))
                return -ENOENT;
        if (r >= 0) {
                /* A line shown changed (controls replaced, cut) cannot be matched by sed. */
                if (r > 0 || !sed_safe(line))
                        return -ENOENT;
                _cleanup_free_ char *pat = sed_pattern(line);
                if (!pat)
                        return -ENOMEM;
                /* Keep the line's indentation. */
                size_t indent = strspn(line, " \t");
                return finding_add_command(f, "sed -i 's|^%s$|%.*s%s = %s|' %s", pat, (int) indent, line, name, value,
                                           file + (root ? strlen(root) : 0));
        }
        /* Nobody sets it: append where Dovecot reads it last. */
        const char *r0 = root ? root : "";
        _cleanup_free_ char *local = NULL, *conf = NULL;
        if (asprintf(&local, "%s/etc/dovecot/local.conf", r0) < 0 || asprintf(&conf, "%s/etc/dovecot/conf.d/%s", r0, fallback) < 0)
                return -ENOMEM;
        const char *target = access(local, F_OK) == 0 ? local : access(conf, F_OK) == 0 ? conf : NULL;
        if (!target)
                return -ENOENT;
        return finding_add_command(f, "sed -i '$a %s = %s' %s", name, value, target + strlen(r0));
}

const char *reload_cmd_postfix(const CheckContext *ctx) {
        return ctx && ctx->systemd ? "systemctl reload postfix" : "postfix reload";
}
const char *reload_cmd_dovecot(const CheckContext *ctx) {
        return ctx && ctx->systemd ? "systemctl reload dovecot" : "doveadm reload";
}
const char *start_cmd_postfix(const CheckContext *ctx) {
        return ctx && ctx->systemd ? "systemctl start postfix" : "postfix start";
}
const char *start_cmd_dovecot(const CheckContext *ctx) {
        return ctx && ctx->systemd ? "systemctl start dovecot" : "dovecot";
}

int remedy_reload(Finding *f, const CheckContext *ctx, bool postfix, bool dovecot) {
        int r = 0;
        if (postfix)
                r = finding_add_command(f, "%s", reload_cmd_postfix(ctx));
        if (r >= 0 && dovecot)
                r = finding_add_command(f, "%s", reload_cmd_dovecot(ctx));
        return r;
}

int remedy_start(Finding *f, const CheckContext *ctx, bool postfix, bool dovecot) {
        int r = 0;
        if (postfix)
                r = finding_add_command(f, "%s", start_cmd_postfix(ctx));
        if (r >= 0 && dovecot)
                r = finding_add_command(f, "%s", start_cmd_dovecot(ctx));
        return r;
}

static bool is_yes(const char *v) {
        v += strspn(v, " \t");
        return strncasecmp(v, "yes", 3) == 0 || strncasecmp(v, "true", 4) == 0 || streq(v, "1");
}

int postfix_sasl_socket(const CheckContext *ctx, char **ret_path, bool *ret_enabled) {
        static const char *const names[] = { "smtpd_sasl_type", "smtpd_sasl_path", "smtpd_sasl_auth_enable",
                                             "queue_directory", NULL };
        _cleanup_strv_free_ char **v = NULL, **overrides = NULL;
        int r = postconf_get(ctx, names, &v, NULL);
        if (r < 0)
                return r;
        bool enabled = is_yes(v[2]);
        if (postconf_overrides(ctx, &overrides, NULL) >= 0)
                for (char **o = overrides; o && *o; o++) {
                        const char *eq = strstr(*o, "/smtpd_sasl_auth_enable = ");
                        if (eq && is_yes(eq + strlen("/smtpd_sasl_auth_enable = ")))
                                enabled = true;
                }
        if (!streq(v[0], "dovecot") || strncmp(v[1], "inet:", 5) == 0 || !*v[1])
                return -ENODATA;
        const char *path = strncmp(v[1], "unix:", 5) == 0 ? v[1] + 5 : v[1];
        char *p;
        if (*path == '/')
                p = strdup(path);
        else if (asprintf(&p, "%s/%s", v[3], path) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;
        *ret_path = p;
        *ret_enabled = enabled;
        return 0;
}

int unix_socket_state(const char *path) {
        struct stat st;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A non-blocking connect to a Unix socket never waits: it is accepted into the
         * backlog at once, or refused (nobody listens), or EAGAIN (backlog full: alive). */
        int r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        close(fd);
        if (r == 0 || e == EAGAIN)
                return 1;
        return e == ECONNREFUSED ? 0 : -e;
}
