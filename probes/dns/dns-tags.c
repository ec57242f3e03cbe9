/* tag=value; lists (RFC 6376 3.2 grammar, shared by DKIM, DMARC, MTA-STS and TLS-RPT). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns-tags.h"
#include "macro.h"

static bool is_wsp(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_valchar(unsigned char c) {
        return c >= 0x21 && c <= 0x7e && c != ';';
}

void tags_done(TagList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->tags[i].name);
                free(l->tags[i].value);
        }
        free(l->tags);
        *l = (TagList) {};
}

const char *tags_get(const TagList *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->tags[i].name, name))
                        return l->tags[i].value;
        return NULL;
}

int tags_parse(const char *text, size_t len, TagList *ret, char **ret_error) {
        _cleanup_(tags_done) TagList l = {};
        size_t i = 0;

        if (memchr(text, 0, len))
                return record_error(ret_error, _("the record contains a NUL byte"));
        while (i < len) {
                while (i < len && is_wsp(text[i]))
                        i++;
                if (i >= len)
                        break;
                if (text[i] == ';') { /* empty tag-spec ("a=1;;b=2" and a trailing ';') */
                        i++;
                        continue;
                }
                size_t ns = i;
                if (!is_alpha(text[i]))
                        return record_error(ret_error, _("bad tag name at byte %zu"), i + 1);
                while (i < len && (is_alpha(text[i]) || (text[i] >= '0' && text[i] <= '9') || text[i] == '_'))
                        i++;
                size_t ne = i;
                while (i < len && is_wsp(text[i]))
                        i++;
                if (i >= len || text[i] != '=')
                        return record_error(ret_error, _("tag '%.*s' has no '='"), (int) MIN(ne - ns, (size_t) 64), text + ns);
                i++;
                while (i < len && is_wsp(text[i]))
                        i++;
                size_t vs = i, ve = i;
                while (i < len && text[i] != ';') {
                        if (!is_wsp(text[i])) {
                                if (!is_valchar((unsigned char) text[i]))
                                        return record_error(ret_error, _("byte 0x%02x not allowed in the value of '%.*s'"),
                                                         (unsigned char) text[i], (int) MIN(ne - ns, (size_t) 64),
                                                         text + ns);
                                ve = i + 1;
                        }
                        i++;
                }
                for (size_t k = 0; k < l.n; k++)
                        if (strlen(l.tags[k].name) == ne - ns && strncmp(l.tags[k].name, text + ns, ne - ns) == 0)
                                return record_error(ret_error, _("tag '%s' appears twice"), l.tags[k].name);
                if (l.n >= TAGS_MAX)
                        return -E2BIG;
                Tag *t = realloc(l.tags, (l.n + 1) * sizeof(Tag));
                if (!t)
                        return -ENOMEM;
                l.tags = t;
                t[l.n] = (Tag) { strndup(text + ns, ne - ns), strndup(text + vs, ve - vs) };
                if (!t[l.n].name || !t[l.n].value) {
                        free(t[l.n].name);
                        free(t[l.n].value);
                        return -ENOMEM;
                }
                l.n++;
                if (i < len)
                        i++; /* ';' */
        }
        *ret = l;
        l = (TagList) {};
        return 0;
}

int record_error(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (!ret_error)
                return -EINVAL;
        free(*ret_error);
        *ret_error = NULL;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

int tags_parse_record(const char *text, size_t len, size_t max_len, const char *version, TagList *ret,
                      char **ret_error) {
        _cleanup_(tags_done) TagList tags = {};
        int r;

        if (len > max_len)
                return -E2BIG;
        r = tags_parse(text, len, &tags, ret_error);
        if (r < 0)
                return r;
        if (tags.n == 0 || !streq(tags.tags[0].name, "v") || !streq(tags.tags[0].value, version))
                return record_error(ret_error, _("the record does not start with 'v=%s'"), version);
        *ret = tags;
        tags = (TagList) {};
        return 0;
}
