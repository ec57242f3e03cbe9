/* main.cf / master.cf reading and the postconf edit previews (see postfixcf.h). The
 * formatting rules were taken from what postconf 3.7 writes: "name = value" lines in
 * main.cf; in master.cf the fields aligned on columns 0, 11, 17, 25, 33, 41, 49, 57 (at
 * least one space apart) and each "-o name=value" on a line of its own indented by four. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "postfixcf.h"

typedef enum LineKind { LINE_START, LINE_CONT, LINE_OTHER } LineKind;

typedef struct Line {
        const char *s;
        size_t len;     /* including the newline, if any */
        LineKind kind;
} Line;

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int split(const char *text, size_t size, Line **ret, size_t *ret_n) {
        size_t n = 0, k = 0;
        Line *v;

        for (size_t i = 0; i < size; i++)
                n += text[i] == '\n';
        v = calloc(n + 2, sizeof(Line));
        if (!v)
                return -ENOMEM;
        for (size_t start = 0; start < size;) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t end = nl ? (size_t) (nl - text) + 1 : size;
                Line *l = &v[k++];
                size_t j = start;

                l->s = text + start;
                l->len = end - start;
                while (j < end && is_blank(text[j]))
                        j++;
                if (j == end || text[j] == '#')
                        l->kind = LINE_OTHER;
                else
                        l->kind = j == start ? LINE_START : LINE_CONT;
                start = end;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

typedef struct Out {
        char *s;
        size_t len, allocated;
} Out;

static int out_add(Out *o, const char *s, size_t n) {
        if (o->len + n + 1 > o->allocated) {
                size_t a = MAX(o->allocated * 2, o->len + n + 1);
                char *p = realloc(o->s, MAX(a, (size_t) 64));
                if (!p)
                        return -ENOMEM;
                o->s = p;
                o->allocated = MAX(a, (size_t) 64);
        }
        memcpy(o->s + o->len, s, n);
        o->len += n;
        o->s[o->len] = '\0';
        return 0;
}

static int out_str(Out *o, const char *s) {
        return out_add(o, s, strlen(s));
}

/* The logical line starting at v[i] (a START line) joined with its continuation lines by
 * single spaces, surrounding blanks trimmed; *ret_next is the index after it. */
static int logical(const Line *v, size_t n, size_t i, char **ret, size_t *ret_next) {
        Out o = {};
        size_t j = i;

        do {
                const char *s = v[j].s;
                size_t len = v[j].len;
                while (len > 0 && is_blank(s[0]))
                        s++, len--;
                while (len > 0 && is_blank(s[len - 1]))
                        len--;
                if ((o.len > 0 && out_add(&o, " ", 1) < 0) || out_add(&o, s, len) < 0) {
                        free(o.s);
                        return -ENOMEM;
                }
                j++;
        } while (j < n && v[j].kind == LINE_CONT);
        if (!o.s && !(o.s = strdup("")))
                return -ENOMEM;
        *ret = o.s;
        *ret_next = j;
        return 0;
}

/* "name = value" -> name, value (pointers into s, which is modified). false when s is not
 * a parameter definition. */
static bool split_definition(char *s, char **ret_name, char **ret_value) {
        size_t nl = strcspn(s, " \t=");
        char *p = s + nl;

        if (nl == 0)
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p != '=')
                return false;
        s[nl] = '\0';
        p++;
        while (*p == ' ' || *p == '\t')
                p++;
        *ret_name = s;
        *ret_value = p;
        return true;
}

int maincf_get(const char *text, size_t size, const char *name, char **ret) {
        _cleanup_free_ Line *v = NULL;
        _cleanup_free_ char *found = NULL;
        size_t n;
        int r;

        r = split(text, size, &v, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n;) {
                _cleanup_free_ char *l = NULL;
                char *k, *val;

                if (v[i].kind != LINE_START) {
                        i++;
                        continue;
                }
                r = logical(v, n, i, &l, &i);
                if (r < 0)
                        return r;
                if (split_definition(l, &k, &val) && streq(k, name)) {
                        free(found);
                        found = strdup(val);
                        if (!found)
                                return -ENOMEM;
                }
        }
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        return 0;
}

static char *trim_dup(const char *s) {
        size_t len;

        while (*s && is_blank(*s))
                s++;
        len = strlen(s);
        while (len > 0 && is_blank(s[len - 1]))
                len--;
        return strndup(s, len);
}

int maincf_set(const char *text, size_t size, char *const *names, char *const *values,
               size_t n_edits, char **ret, size_t *ret_size) {
        _cleanup_free_ Line *v = NULL;
        _cleanup_free_ bool *used = calloc(n_edits + 1, sizeof(bool));
        Out o = {};
        size_t n;
        int r;

        if (!used)
                return -ENOMEM;
        r = split(text ? text : "", text ? size : 0, &v, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n;) {
                _cleanup_free_ char *l = NULL;
                char *k, *val;
                size_t next, e;

                if (v[i].kind != LINE_START) {
                        r = out_add(&o, v[i].s, v[i].len);
                        i++;
                        goto check;
                }
                r = logical(v, n, i, &l, &next);
                if (r < 0)
                        goto fail;
                /* split once: it cuts l at the end of the name */
                e = n_edits;
                if (split_definition(l, &k, &val))
                        for (e = 0; e < n_edits; e++)
                                if (streq(k, names[e]))
                                        break;
                if (e == n_edits) {
                        for (size_t j = i; j < next && r >= 0; j++)
                                r = out_add(&o, v[j].s, v[j].len);
                } else {
                        _cleanup_free_ char *t = trim_dup(values[e]);
                        used[e] = true;
                        r = t ? 0 : -ENOMEM;
                        if (r >= 0)
                                r = out_str(&o, names[e]);
                        if (r >= 0)
                                r = out_str(&o, " = ");
                        if (r >= 0)
                                r = out_str(&o, t);
                        if (r >= 0)
                                r = out_str(&o, "\n");
                }
                i = next;
        check:
                if (r < 0)
                        goto fail;
        }
        for (size_t e = 0; e < n_edits; e++) {
                _cleanup_free_ char *t = NULL;
                bool dup = false;

                if (used[e])
                        continue;
                for (size_t f = e + 1; f < n_edits; f++)
                        dup = dup || streq(names[f], names[e]);
                if (dup)
                        continue; /* the last of repeated edits wins */
                t = trim_dup(values[e]);
                if (!t || out_str(&o, names[e]) < 0 || out_str(&o, " = ") < 0 ||
                    out_str(&o, t) < 0 || out_str(&o, "\n") < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (!o.s && !(o.s = strdup("")))
                return -ENOMEM;
        *ret = o.s;
        *ret_size = o.len;
        return 0;
fail:
        free(o.s);
        return r;
}

/* --- master.cf --- */

void master_entry_done(MasterEntry *e) {
        for (size_t i = 0; i < MASTER_FIELDS; i++) {
                free(e->fields[i]);
                e->fields[i] = NULL;
        }
        strv_free(e->args);
        e->args = NULL;
}

static int split_words(const char *s, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;

        for (;;) {
                while (*s && is_blank(*s))
                        s++;
                if (!*s)
                        break;
                size_t len = strcspn(s, " \t\r\n");
                char **nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv)
                        goto oom;
                v = nv;
                v[n] = strndup(s, len);
                if (!v[n])
                        goto oom;
                v[++n] = NULL;
                s += len;
        }
        if (!v && !(v = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        if (v)
                v[n] = NULL;
        strv_free(v);
        return -ENOMEM;
}

static int parse_entry(const char *logical_line, MasterEntry *ret) {
        _cleanup_strv_free_ char **w = NULL;
        MasterEntry e = {};
        size_t n;
        int r;

        r = split_words(logical_line, &w, &n);
        if (r < 0)
                return r;
        if (n < MASTER_FIELDS)
                return -EINVAL;
        for (size_t i = 0; i < MASTER_FIELDS; i++)
                e.fields[i] = TAKE_PTR(w[i]);
        e.args = calloc(n - MASTER_FIELDS + 1, sizeof(char *));
        if (!e.args) {
                master_entry_done(&e);
                return -ENOMEM;
        }
        for (size_t i = MASTER_FIELDS; i < n; i++)
                e.args[i - MASTER_FIELDS] = TAKE_PTR(w[i]);
        *ret = e;
        return 0;
}

/* A master.cf entry as postconf sees it: its first line up to the next entry's first
 * line. Continuation lines in between belong to it even after a comment; the comments and
 * blank lines in between are kept, and postconf writes them before the entry it rewrites. */
static size_t entry_end(const Line *v, size_t n, size_t i) {
        size_t j = i + 1;

        while (j < n && v[j].kind != LINE_START)
                j++;
        return j;
}

/* The entry's words: its START and CONT lines joined. */
static int entry_logical(const Line *v, size_t start, size_t end, char **ret) {
        Out o = {};

        for (size_t j = start; j < end; j++) {
                if (v[j].kind == LINE_OTHER)
                        continue;
                if ((o.len > 0 && out_add(&o, " ", 1) < 0) || out_add(&o, v[j].s, v[j].len) < 0) {
                        free(o.s);
                        return -ENOMEM;
                }
        }
        if (!o.s && !(o.s = strdup("")))
                return -ENOMEM;
        *ret = o.s;
        return 0;
}

/* Finds "service/type": its first line index and the index after it. */
static int find_entry(const Line *v, size_t n, const char *service, const char *type,
                      size_t *ret_start, size_t *ret_next, MasterEntry *ret_entry) {
        for (size_t i = 0; i < n;) {
                _cleanup_free_ char *l = NULL;
                MasterEntry e = {};
                size_t next;
                int r;

                if (v[i].kind != LINE_START) {
                        i++;
                        continue;
                }
                next = entry_end(v, n, i);
                r = entry_logical(v, i, next, &l);
                if (r < 0)
                        return r;
                r = parse_entry(l, &e);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && streq(e.fields[0], service) && streq(e.fields[1], type)) {
                        *ret_start = i;
                        *ret_next = next;
                        if (ret_entry)
                                *ret_entry = e;
                        else
                                master_entry_done(&e);
                        return 0;
                }
                if (r >= 0)
                        master_entry_done(&e);
                i = next;
        }
        return -ENOENT;
}

int mastercf_get(const char *text, size_t size, const char *service, const char *type,
                 MasterEntry *ret) {
        _cleanup_free_ Line *v = NULL;
        size_t n, s, e;
        int r;

        r = split(text ? text : "", text ? size : 0, &v, &n);
        if (r < 0)
                return r;
        return find_entry(v, n, service, type, &s, &e, ret);
}

char *master_entry_fields(const MasterEntry *e) {
        Out o = {};

        for (size_t i = 0; i < MASTER_FIELDS; i++)
                if ((i > 0 && out_str(&o, " ") < 0) || out_str(&o, e->fields[i]) < 0) {
                        free(o.s);
                        return NULL;
                }
        return o.s;
}

const char *master_entry_option(const MasterEntry *e, const char *name) {
        for (size_t i = 0; e->args && e->args[i]; i++)
                if (streq(e->args[i], "-o") && e->args[i + 1]) {
                        const char *v = startswith(e->args[i + 1], name);
                        if (v && *v == '=')
                                return v + 1;
                }
        return NULL;
}

static int render_entry(Out *o, const MasterEntry *e) {
        static const size_t stops[MASTER_FIELDS] = { 0, 11, 17, 25, 33, 41, 49, 57 };
        size_t pos = 0;
        int r;

        for (size_t i = 0; i < MASTER_FIELDS; i++) {
                size_t target = i == 0 ? 0 : MAX(stops[i], pos + 1);
                for (; pos < target; pos++)
                        if ((r = out_add(o, " ", 1)) < 0)
                                return r;
                if ((r = out_str(o, e->fields[i])) < 0)
                        return r;
                pos += strlen(e->fields[i]);
        }
        if ((r = out_str(o, "\n")) < 0)
                return r;
        for (size_t i = 0; e->args && e->args[i]; i++) {
                if ((r = out_str(o, "    ")) < 0)
                        return r;
                if (streq(e->args[i], "-o") && e->args[i + 1]) {
                        if ((r = out_str(o, "-o ")) < 0)
                                return r;
                        i++;
                }
                if ((r = out_str(o, e->args[i])) < 0 || (r = out_str(o, "\n")) < 0)
                        return r;
        }
        return 0;
}

/* Copies v[0..start), the rendered entry, v[next..n). start == n: appended. */
static int splice(const Line *v, size_t n, size_t start, size_t next, const MasterEntry *e,
                  char **ret, size_t *ret_size) {
        Out o = {};
        int r = 0;

        for (size_t i = 0; i < start && r >= 0; i++)
                r = out_add(&o, v[i].s, v[i].len);
        /* the comments inside the replaced entry's span come first */
        for (size_t i = start; i < next && r >= 0; i++)
                if (v[i].kind == LINE_OTHER)
                        r = out_add(&o, v[i].s, v[i].len);
        if (r >= 0 && o.len > 0 && o.s[o.len - 1] != '\n')
                r = out_str(&o, "\n");
        if (r >= 0)
                r = render_entry(&o, e);
        for (size_t i = next; i < n && r >= 0; i++)
                r = out_add(&o, v[i].s, v[i].len);
        if (r < 0) {
                free(o.s);
                return r;
        }
        *ret = o.s;
        *ret_size = o.len;
        return 0;
}

int mastercf_set_entry(const char *text, size_t size, const char *fields, char **ret,
                       size_t *ret_size) {
        _cleanup_free_ Line *v = NULL;
        _cleanup_(master_entry_done) MasterEntry e = {};
        size_t n, start, next;
        int r;

        r = parse_entry(fields, &e);
        if (r < 0)
                return r;
        if (e.args[0])
                return -EINVAL;
        r = split(text ? text : "", text ? size : 0, &v, &n);
        if (r < 0)
                return r;
        r = find_entry(v, n, e.fields[0], e.fields[1], &start, &next, NULL);
        if (r == -ENOENT)
                start = next = n;
        else if (r < 0)
                return r;
        return splice(v, n, start, next, &e, ret, ret_size);
}

int mastercf_set_option(const char *text, size_t size, const char *service, const char *type,
                        const char *name, const char *value, char **ret, size_t *ret_size) {
        _cleanup_free_ Line *v = NULL;
        _cleanup_(master_entry_done) MasterEntry e = {};
        _cleanup_free_ char *opt = NULL;
        size_t n, start, next, k = 0;
        int r;

        if (asprintf(&opt, "%s=%s", name, value) < 0)
                return -ENOMEM;
        r = split(text ? text : "", text ? size : 0, &v, &n);
        if (r < 0)
                return r;
        r = find_entry(v, n, service, type, &start, &next, &e);
        if (r < 0)
                return r;
        for (; e.args[k]; k++)
                if (streq(e.args[k], "-o") && e.args[k + 1]) {
                        const char *p = startswith(e.args[k + 1], name);
                        if (p && *p == '=') {
                                free(e.args[k + 1]);
                                e.args[k + 1] = TAKE_PTR(opt);
                                break;
                        }
                }
        if (opt) {
                char **na = realloc(e.args, (k + 3) * sizeof(char *));
                if (!na)
                        return -ENOMEM;
                e.args = na;
                e.args[k] = strdup("-o");
                e.args[k + 1] = TAKE_PTR(opt);
                e.args[k + 2] = NULL;
                if (!e.args[k])
                        return -ENOMEM;
        }
        return splice(v, n, start, next, &e, ret, ret_size);
}
