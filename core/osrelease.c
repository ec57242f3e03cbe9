/* os-release(5) reader and distribution families. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "osrelease.h"
#include "termsafe.h"
#include "words.h"

static char *unquote(const char *v, size_t n) {
        char *out = malloc(n + 1), *o = out;
        char quote = 0;

        if (!out)
                return NULL;
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                quote = v[0];
                v++;
                n -= 2;
        }
        for (size_t i = 0; i < n; i++) {
                if (quote == '"' && v[i] == '\\' && i + 1 < n)
                        i++;
                *o++ = v[i];
        }
        *o = 0;
        return out;
}

static DistroFamily family_of(const OsRelease *o) {
        static const struct {
                const char *word;
                DistroFamily family;
        } table[] = {
                { "debian", DISTRO_DEBIAN }, { "ubuntu", DISTRO_DEBIAN },
                { "rhel", DISTRO_RHEL },     { "fedora", DISTRO_RHEL },
                { "centos", DISTRO_RHEL },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq_ptr(o->id, table[i].word) || word_in(o->id_like, table[i].word))
                        return table[i].family;
        return DISTRO_UNKNOWN;
}

int osrelease_parse(const char *buf, OsRelease *ret) {
        OsRelease o = {};
        static const struct {
                const char *key;
                size_t offset;
        } keys[] = {
                { "ID=", offsetof(OsRelease, id) },
                { "ID_LIKE=", offsetof(OsRelease, id_like) },
                { "VERSION_ID=", offsetof(OsRelease, version_id) },
                { "PRETTY_NAME=", offsetof(OsRelease, pretty_name) },
        };
        for (const char *line = buf; line && *line;) {
                size_t n = strcspn(line, "\n");
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t kl = strlen(keys[k].key);
                        char **field = (char **) ((char *) &o + keys[k].offset);
                        if (n >= kl && strncmp(line, keys[k].key, kl) == 0 && !*field) {
                                /* The file is outside text that reaches the terminal (notes,
                                 * errors, the wizard): no escape sequence survives reading. */
                                _cleanup_free_ char *raw = unquote(line + kl, n - kl);
                                *field = raw ? termsafe_strdup(raw, 0) : NULL;
                                if (!*field) {
                                        osrelease_done(&o);
                                        return -ENOMEM;
                                }
                        }
                }
                line += n;
                if (*line)
                        line++;
        }
        o.family = family_of(&o);
        *ret = o;
        return 0;
}

int osrelease_load(const char *root, OsRelease *ret) {
        static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release" };
        _cleanup_free_ char *buf = NULL;
        int r = -ENOENT;

        for (size_t i = 0; i < ELEMENTSOF(files) && r < 0; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s%s", root && !streq(root, "/") ? root : "", files[i]) < 0)
                        return -ENOMEM;
                r = read_file_bounded(path, 64 * 1024, &buf, NULL);
        }
        if (r < 0)
                return r;
        return osrelease_parse(buf, ret);
}

void osrelease_done(OsRelease *o) {
        free(o->id);
        free(o->id_like);
        free(o->version_id);
        free(o->pretty_name);
        *o = (OsRelease) {};
}

const char *distro_install_command(DistroFamily f) {
        switch (f) {
        case DISTRO_RHEL:
                return "dnf install -y";
        case DISTRO_DEBIAN:
                return "apt-get install -y";
        default:
                return "apt-get install -y (Debian/Ubuntu) or dnf install -y (RHEL family)";
        }
}
