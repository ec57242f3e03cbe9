/* INI files checked against a schema table (answers files, mxdeck.conf).
 *
 * Why not inih: the design names inih, and it was tried first, but the build every
 * supported distribution ships cannot meet this module's contract. Debian's libinih
 * (r55) is built with INI_MAX_LINE 200 and fixed 50-byte section/name buffers:
 *  - a line of more than 197 bytes is cut and the rest is parsed as the next line, so a
 *    long value (an Argon2 hash, a list of domains) is silently truncated and the error,
 *    if any, names the wrong line;
 *  - section names are silently cut to 49 bytes, so [user a-long-address@example.org]
 *    can become another user's section;
 *  - a line starting with whitespace continues the previous value (INI_ALLOW_MULTILINE),
 *    "key: value" is accepted, NUL bytes end a line early, and handlers get no line number.
 * A reader callback can count lines but cannot hand inih a line longer than its buffer,
 * so working around it would mean parsing each line ourselves first anyway. The options
 * are also compile-time (or, in Debian's patch, process-global variables), so they cannot
 * be raised safely from a library. So this is a small parser for the same syntax:
 *
 *   [section]            or [prefix name] for named sections
 *   key = value          value trimmed; empty is allowed and means "not set"
 *   ; comment, # comment at the start of a line (after optional blanks)
 *   key = value ; note   a ';' after a blank starts an inline comment
 *
 * No continuation lines, no quoting, keys are case-sensitive. CRLF line ends and a UTF-8
 * byte order mark are accepted. The file must be UTF-8 text without NUL bytes or control
 * characters other than tab; each line is at most CONF_LINE_MAX bytes. The first problem
 * stops the parse and is reported as "FILE:LINE: what" (or "FILE: what" when no line is
 * to blame). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "fileio.h"
#include "macro.h"
#include "termsafe.h"

#define CONF_LINE_MAX 4096
#define CONF_FILE_MAX (1024 * 1024)
#define QUOTE_COLUMNS 60

static const char *const type_names[_CONF_TYPE_MAX] = {
        [CONF_STRING]   = N_("text"),
        [CONF_BOOL]     = N_("boolean"),
        [CONF_UINT]     = N_("number"),
        [CONF_SIZE]     = N_("size"),
        [CONF_ENUM]     = N_("choice"),
        [CONF_LIST]     = N_("list"),
        [CONF_PATH]     = N_("path"),
        [CONF_HOSTNAME] = N_("host name"),
};

static const char *const type_expected[_CONF_TYPE_MAX] = {
        [CONF_STRING]   = N_("any text"),
        [CONF_BOOL]     = N_("yes or no"),
        [CONF_UINT]     = N_("a whole number such as 100, at most 18446744073709551615"),
        [CONF_SIZE]     = N_("a number of bytes with an optional K, M, G or T suffix, such as 512M"),
        [CONF_ENUM]     = NULL, /* the choices are listed */
        [CONF_LIST]     = N_("words separated by commas or spaces"),
        [CONF_PATH]     = N_("an absolute path starting with '/'"),
        [CONF_HOSTNAME] = N_("a DNS name such as mail.example.com"),
};

/* --- value parsers --- */

int parse_bool(const char *s, bool *ret) {
        static const struct {
                const char *word;
                bool value;
        } words[] = {
                { "yes", true },   { "no", false },
                { "true", true },  { "false", false },
                { "on", true },    { "off", false },
                { "1", true },     { "0", false },
        };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcasecmp(s, words[i].word) == 0) {
                        if (ret)
                                *ret = words[i].value;
                        return 0;
                }
        return -EINVAL;
}

/* Parses leading decimal digits; *end points after them. */
static int parse_digits(const char *s, uint64_t *ret, const char **end) {
        uint64_t v = 0;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        *end = p;
        return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
        const char *end;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(s, &v, &end);
        if (r < 0)
                return r;
        if (*end)
                return -EINVAL;
        if (ret)
                *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = {
                { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
        };
        const char *end;
        unsigned shift = 0;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(s, &v, &end);
        if (r < 0)
                return r;
        if (*end) {
                char c = *end >= 'a' && *end <= 'z' ? (char) (*end - 'a' + 'A') : *end;
                size_t i;

                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (units[i].suffix == c)
                                break;
                if (i < ELEMENTSOF(units)) {
                        shift = units[i].shift;
                        end++;
                        /* "512M", "512MB" and "512MiB" all mean 512 * 1024 * 1024 */
                        if (*end == 'i')
                                end++;
                        if (*end == 'B' || *end == 'b')
                                end++;
                } else if (c == 'B')
                        end++;
                if (*end)
                        return -EINVAL;
        }
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        if (ret)
                *ret = v << shift;
        return 0;
}

bool hostname_is_valid(const char *s) {
        size_t label = 0, total = 0;
        char prev = '.';

        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++, total++) {
                char c = *p;

                if (c == '.') {
                        if (label == 0 || prev == '-')
                                return false;
                        label = 0;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-') {
                        if (c == '-' && label == 0)
                                return false;
                        if (++label > 63)
                                return false;
                } else
                        return false;
                prev = c;
        }
        /* a trailing dot (an absolute name) is not accepted: Postfix and Dovecot settings
         * want the plain form */
        return label > 0 && prev != '-' && total <= 253;
}

bool hostname_is_fqdn(const char *s) {
        /* Names that are fully qualified only in form: they never resolve for others. */
        static const char *const local_suffixes[] = {
                ".localhost", ".localdomain", ".local", ".internal", ".lan", ".home",
        };
        const char *dot;

        if (!hostname_is_valid(s))
                return false;
        dot = strrchr(s, '.');
        if (!dot)
                return false;
        if (strspn(dot + 1, "0123456789") == strlen(dot + 1))
                return false;
        size_t n = strlen(s);
        for (size_t i = 0; i < ELEMENTSOF(local_suffixes); i++) {
                size_t l = strlen(local_suffixes[i]);
                if (n >= l && strcasecmp(s + n - l, local_suffixes[i]) == 0)
                        return false;
        }
        return strncasecmp(s, "localhost.", strlen("localhost.")) != 0;
}

static bool path_is_valid(const char *s) {
        return s[0] == '/' && strlen(s) < PATH_MAX;
}

/* --- Conf object --- */

Conf *conf_free(Conf *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_values; i++) {
                free(c->values[i].section);
                free(c->values[i].key);
                free(c->values[i].value);
        }
        free(c->values);
        for (size_t i = 0; i < c->n_sections; i++)
                free(c->sections[i]);
        free(c->sections);
        free(c->section_lines);
        free(c->path);
        free(c);
        return NULL;
}

const ConfValue *conf_get(const Conf *c, const char *section, const char *key) {
        if (!c || !section || !key)
                return NULL;
        for (size_t i = 0; i < c->n_values; i++)
                if (streq(c->values[i].section, section) && streq(c->values[i].key, key))
                        return &c->values[i];
        return NULL;
}

const char *conf_get_string(const Conf *c, const char *section, const char *key) {
        const ConfValue *v = conf_get(c, section, key);
        return v ? v->value : NULL;
}

/* An empty value means "not set" for every typed getter. */
static const char *get_set_value(const Conf *c, const char *section, const char *key) {
        const char *s = conf_get_string(c, section, key);
        return s && *s ? s : NULL;
}

int conf_get_bool(const Conf *c, const char *section, const char *key, bool *ret) {
        const char *s = get_set_value(c, section, key);
        return s ? parse_bool(s, ret) : -ENOENT;
}

int conf_get_uint(const Conf *c, const char *section, const char *key, uint64_t *ret) {
        const char *s = get_set_value(c, section, key);
        return s ? parse_uint64(s, ret) : -ENOENT;
}

int conf_get_size(const Conf *c, const char *section, const char *key, uint64_t *ret) {
        const char *s = get_set_value(c, section, key);
        return s ? parse_size(s, ret) : -ENOENT;
}

static bool is_list_separator(char c) {
        return c == ',' || c == ' ' || c == '\t';
}

int conf_split_list(const char *s, char ***ret) {
        size_t n = 0, i = 0;
        char **v;

        for (const char *p = s; *p;) {
                while (is_list_separator(*p))
                        p++;
                if (!*p)
                        break;
                n++;
                while (*p && !is_list_separator(*p))
                        p++;
        }
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                const char *start;

                while (is_list_separator(*p))
                        p++;
                if (!*p)
                        break;
                start = p;
                while (*p && !is_list_separator(*p))
                        p++;
                v[i] = strndup(start, (size_t) (p - start));
                if (!v[i]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                i++;
        }
        *ret = v;
        return 0;
}

int conf_get_list(const Conf *c, const char *section, const char *key, char ***ret) {
        const char *s = conf_get_string(c, section, key);
        return s ? conf_split_list(s, ret) : -ENOENT;
}

/* --- messages --- */

char *conf_quote(const char *s) {
        return termsafe_fit(s, QUOTE_COLUMNS, false);
}

int conf_error(char **ret_error, const char *prefix, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(ret_error, "%s: %s", prefix, msg) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

char *conf_where(const char *name, unsigned line) {
        _cleanup_free_ char *safe = termsafe_strdup(name, 0);
        char *s;

        if (!safe)
                return NULL;
        if (line == 0)
                return TAKE_PTR(safe);
        if (asprintf(&s, "%s:%u", safe, line) < 0)
                return NULL;
        return s;
}

/* --- parser --- */

typedef struct SectionSet {
        size_t *slots;  /* index into Conf.sections + 1; 0 = empty */
        size_t n_slots; /* power of two */
} SectionSet;

typedef struct Parser {
        const char *name;
        const ConfSchema *schema;
        Conf *conf;
        unsigned line;
        const ConfSection *section; /* schema entry of the current section */
        size_t first_value;         /* first value of the current section */
        size_t sections_cap;        /* room in conf->sections and ->section_lines */
        size_t values_cap;          /* room in conf->values */
        SectionSet set;
        char **error;
} Parser;

static uint64_t hash_string(const char *s) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ull;
        return h;
}

/* Returns the index of an existing section with that name, or SIZE_MAX. */
static size_t section_set_find(const Parser *p, const char *name) {
        const SectionSet *set = &p->set;

        if (set->n_slots == 0)
                return SIZE_MAX;
        for (size_t i = hash_string(name) & (set->n_slots - 1);; i = (i + 1) & (set->n_slots - 1)) {
                if (set->slots[i] == 0)
                        return SIZE_MAX;
                if (streq(p->conf->sections[set->slots[i] - 1], name))
                        return set->slots[i] - 1;
        }
}

static int section_set_add(Parser *p, size_t index) {
        SectionSet *set = &p->set;

        /* keep the load factor at most 1/2 */
        if ((index + 1) * 2 > set->n_slots) {
                size_t n = set->n_slots ? set->n_slots * 2 : 16;
                size_t *slots = calloc(n, sizeof(size_t));

                if (!slots)
                        return -ENOMEM;
                free(set->slots);
                set->slots = slots;
                set->n_slots = n;
                /* rehash all, including the new one */
                for (size_t k = 0; k <= index; k++) {
                        size_t i = hash_string(p->conf->sections[k]) & (n - 1);
                        while (slots[i] != 0)
                                i = (i + 1) & (n - 1);
                        slots[i] = k + 1;
                }
                return 0;
        }
        size_t i = hash_string(p->conf->sections[index]) & (set->n_slots - 1);
        while (set->slots[i] != 0)
                i = (i + 1) & (set->n_slots - 1);
        set->slots[i] = index + 1;
        return 0;
}

_printf_(2, 3)
static int fail(Parser *p, const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *where = NULL;
        va_list ap;
        int r;

        if (!p->error)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        where = conf_where(p->name, p->line);
        if (!where)
                return -ENOMEM;
        if (asprintf(p->error, "%s: %s", where, msg) < 0) {
                *p->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static const ConfSection *schema_find_section(const ConfSchema *schema, const char *name,
                                              bool *ret_missing_name) {
        *ret_missing_name = false;
        for (const ConfSection *s = schema->sections; s->name; s++) {
                size_t l = strlen(s->name);

                if (l > 0 && s->name[l - 1] == ' ') {
                        /* named section: "user alice" */
                        if (strncmp(name, s->name, l) == 0 && name[l])
                                return s;
                        /* "[user]" alone */
                        if (strncmp(name, s->name, l - 1) == 0 && name[l - 1] == '\0') {
                                *ret_missing_name = true;
                                return s;
                        }
                } else if (streq(name, s->name))
                        return s;
        }
        return NULL;
}

static const ConfKey *section_find_key(const ConfSection *s, const char *key) {
        for (const ConfKey *k = s->keys; k && k->name; k++)
                if (streq(k->name, key))
                        return k;
        return NULL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Trims blanks on both ends in place; returns the new start. */
static char *trim(char *s) {
        char *e;

        while (is_blank(*s))
                s++;
        e = s + strlen(s);
        while (e > s && is_blank(e[-1]))
                e--;
        *e = '\0';
        return s;
}

/* Cuts an inline comment: a ';' after a blank. */
static void strip_inline_comment(char *s) {
        for (char *p = s; *p; p++)
                if (*p == ';' && p > s && is_blank(p[-1])) {
                        *p = '\0';
                        return;
                }
}

static int check_line_bytes(Parser *p, const char *line, size_t len) {
        if (memchr(line, '\0', len))
                return fail(p, _("NUL byte in the file (is it a text file?)"));
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = utf8_decode(line + i, len - i, &cp);

                if (cp == UTF8_INVALID)
                        return fail(p, _("invalid UTF-8 (the file must be UTF-8 text)"));
                if (cp != '\t' && !termsafe_codepoint_is_safe(cp))
                        return fail(p, _("control or invisible formatting character U+%04X"),
                                    (unsigned) cp);
                i += n;
        }
        return 0;
}

static const char *const *enum_choices(const ConfKey *k) {
        static const char *const none[] = { NULL };
        return k->choices ? k->choices : none;
}

static int check_value(Parser *p, const char *section, const ConfKey *k, const char *value) {
        _cleanup_free_ char *qkey = NULL, *qvalue = NULL, *qsection = NULL;
        uint64_t u;
        int r = 0;

        if (!*value)
                return 0; /* not set; required keys are checked at the end */

        switch (k->type) {
        case CONF_STRING:
        case CONF_LIST:
                return 0;
        case CONF_BOOL:
                r = parse_bool(value, NULL);
                break;
        case CONF_UINT:
                r = parse_uint64(value, &u);
                break;
        case CONF_SIZE:
                r = parse_size(value, &u);
                break;
        case CONF_ENUM:
                r = -EINVAL;
                for (const char *const *c = enum_choices(k); *c; c++)
                        if (streq(*c, value))
                                r = 0;
                break;
        case CONF_PATH:
                r = path_is_valid(value) ? 0 : -EINVAL;
                break;
        case CONF_HOSTNAME:
                r = hostname_is_valid(value) ? 0 : -EINVAL;
                break;
        default:
                return -EINVAL;
        }
        if (r == 0)
                return 0;

        qkey = conf_quote(k->name);
        qvalue = conf_quote(value);
        qsection = conf_quote(section);
        if (!qkey || !qvalue || !qsection)
                return -ENOMEM;

        if (k->type == CONF_ENUM) {
                _cleanup_free_ char *list = NULL;
                size_t l = 0;

                for (const char *const *c = enum_choices(k); *c; c++)
                        l += strlen(*c) + 2;
                list = calloc(l + 1, 1);
                if (!list)
                        return -ENOMEM;
                for (const char *const *c = enum_choices(k); *c; c++) {
                        if (c != enum_choices(k))
                                strcat(list, ", ");
                        strcat(list, *c);
                }
                return fail(p, _("key '%s' in [%s]: '%s' is not a valid %s (expected one of: %s)"),
                            qkey, qsection, qvalue, _(type_names[k->type]), list);
        }
        if (r == -ERANGE)
                return fail(p, _("key '%s' in [%s]: '%s' is not a valid %s (out of range; expected %s)"),
                            qkey, qsection, qvalue, _(type_names[k->type]),
                            _(type_expected[k->type]));
        return fail(p, _("key '%s' in [%s]: '%s' is not a valid %s (expected %s)"),
                    qkey, qsection, qvalue, _(type_names[k->type]), _(type_expected[k->type]));
}

static int parse_section_line(Parser *p, char *start) {
        _cleanup_free_ char *name = NULL, *q = NULL;
        const ConfSection *s;
        bool missing_name;
        char *close, *rest, *n;
        Conf *c = p->conf;
        size_t found;

        close = strchr(start, ']');
        if (!close)
                return fail(p, _("section header without closing ']'"));
        *close = '\0';
        rest = trim(close + 1);
        if (*rest && *rest != ';' && *rest != '#') {
                q = conf_quote(rest);
                return q ? fail(p, _("unexpected text after the section header: '%s'"), q) : -ENOMEM;
        }

        n = trim(start + 1);
        if (!*n)
                return fail(p, _("empty section name []"));

        s = schema_find_section(p->schema, n, &missing_name);
        q = conf_quote(n);
        if (!q)
                return -ENOMEM;
        if (!s)
                return fail(p, _("unknown section [%s]"), q);
        if (missing_name)
                return fail(p, _("section [%s] needs a name, as in [%sNAME]"), q, s->name);

        if (s->name[strlen(s->name) - 1] == ' ') {
                /* normalise "[user   alice ]" to "user alice" */
                size_t l = strlen(s->name);
                const char *rest_name = n + l;

                while (is_blank(*rest_name))
                        rest_name++;
                if (asprintf(&name, "%s%s", s->name, rest_name) < 0)
                        return -ENOMEM;
        } else {
                name = strdup(n);
                if (!name)
                        return -ENOMEM;
        }

        found = section_set_find(p, name);
        if (found != SIZE_MAX) {
                free(q);
                q = conf_quote(name);
                if (!q)
                        return -ENOMEM;
                return fail(p, _("duplicate section [%s] (first on line %u)"),
                            q, c->section_lines[found]);
        }

        if (c->n_sections == p->sections_cap) {
                /* Grown geometrically: one realloc per section copied the whole array
                 * each time (quadratic under ASan's allocator, which never grows in place). */
                size_t cap = p->sections_cap ? p->sections_cap * 2 : 16;
                char **sections = reallocarray(c->sections, cap, sizeof(char *));
                if (!sections)
                        return -ENOMEM;
                c->sections = sections;
                unsigned *lines = reallocarray(c->section_lines, cap, sizeof(unsigned));
                if (!lines)
                        return -ENOMEM;
                c->section_lines = lines;
                p->sections_cap = cap;
        }
        c->sections[c->n_sections] = TAKE_PTR(name);
        c->section_lines[c->n_sections] = p->line;
        c->n_sections++;
        if (section_set_add(p, c->n_sections - 1) < 0)
                return -ENOMEM;

        p->section = s;
        p->first_value = c->n_values;
        return 0;
}

static int parse_key_line(Parser *p, char *start) {
        _cleanup_free_ char *qkey = NULL, *qsection = NULL;
        Conf *c = p->conf;
        const char *section;
        const ConfKey *k;
        char *eq, *key, *value;
        int r;

        eq = strchr(start, '=');
        /* the line is not quoted back: it may be a password pasted on a line of its own */
        if (!eq)
                return fail(p, _("expected '[section]' or 'key = value'"));
        *eq = '\0';
        key = trim(start);
        value = eq + 1;
        strip_inline_comment(value);
        value = trim(value);

        if (!*key)
                return fail(p, _("missing key name before '='"));
        qkey = conf_quote(key);
        if (!qkey)
                return -ENOMEM;
        if (!p->section)
                return fail(p, _("key '%s' is outside of any section (add a [section] line above it)"),
                            qkey);

        section = c->sections[c->n_sections - 1];
        qsection = conf_quote(section);
        if (!qsection)
                return -ENOMEM;

        k = section_find_key(p->section, key);
        if (!k) {
                /* keys are lower-case; say so when that is the whole problem */
                _cleanup_free_ char *lower = strdup(key);
                if (!lower)
                        return -ENOMEM;
                for (char *i = lower; *i; i++)
                        if (*i >= 'A' && *i <= 'Z')
                                *i = (char) (*i - 'A' + 'a');
                if (!streq(lower, key) && section_find_key(p->section, lower))
                        return fail(p, _("unknown key '%s' in section [%s] (keys are lower-case: '%s')"),
                                    qkey, qsection, lower);
                return fail(p, _("unknown key '%s' in section [%s]"), qkey, qsection);
        }

        /* values of one section are contiguous, since a section cannot repeat */
        for (size_t i = p->first_value; i < c->n_values; i++)
                if (streq(c->values[i].key, key))
                        return fail(p, _("duplicate key '%s' in section [%s] (first set on line %u)"),
                                    qkey, qsection, c->values[i].line);

        r = check_value(p, section, k, value);
        if (r < 0)
                return r;

        if (c->n_values == p->values_cap) {
                size_t cap = p->values_cap ? p->values_cap * 2 : 16;
                ConfValue *values = reallocarray(c->values, cap, sizeof(ConfValue));
                if (!values)
                        return -ENOMEM;
                c->values = values;
                p->values_cap = cap;
        }
        ConfValue *v = &c->values[c->n_values];
        *v = (ConfValue) {
                .section = strdup(section),
                .key = strdup(key),
                .value = strdup(value),
                .line = p->line,
        };
        c->n_values++; /* counted even when a strdup failed, so conf_free frees the rest */
        if (!v->section || !v->key || !v->value)
                return -ENOMEM;
        return 0;
}

static int parse_line(Parser *p, char *line) {
        char *start = line;

        while (is_blank(*start))
                start++;
        if (*start == '\0' || *start == ';' || *start == '#')
                return 0;
        if (*start == '[')
                return parse_section_line(p, start);
        return parse_key_line(p, start);
}

/* The value of KEY among values[from, to), or NULL. */
static const ConfValue *range_get(const Conf *c, size_t from, size_t to, const char *key) {
        for (size_t i = from; i < to; i++)
                if (streq(c->values[i].key, key))
                        return &c->values[i];
        return NULL;
}

static int check_required(Parser *p) {
        const Conf *c = p->conf;
        _cleanup_free_ size_t *first = NULL;

        /* A section's values are one run right after its header (sections are unique), in
         * the order of the sections: values[first[i], first[i + 1]) belong to section i.
         * Looking keys up there keeps this linear in the file, not sections x values. */
        first = calloc(c->n_sections + 1, sizeof(size_t));
        if (!first)
                return -ENOMEM;
        for (size_t i = 0, j = 0; i < c->n_sections; i++) {
                first[i] = j;
                while (j < c->n_values && streq(c->values[j].section, c->sections[i]))
                        j++;
                first[i + 1] = j;
        }

        p->line = 0; /* these name no line */
        for (const ConfSection *s = p->schema->sections; s->name; s++) {
                size_t l = strlen(s->name);
                bool named = l > 0 && s->name[l - 1] == ' ';
                bool seen = false;

                for (size_t i = 0; i < c->n_sections; i++) {
                        bool mine = named ? strncmp(c->sections[i], s->name, l) == 0
                                          : streq(c->sections[i], s->name);
                        if (!mine)
                                continue;
                        seen = true;
                        for (const ConfKey *k = s->keys; k && k->name; k++) {
                                const ConfValue *cv;
                                const char *v;

                                if (!k->required)
                                        continue;
                                cv = range_get(c, first[i], first[i + 1], k->name);
                                v = cv ? cv->value : NULL;
                                if (!v || !*v) {
                                        _cleanup_free_ char *q = conf_quote(c->sections[i]);
                                        if (!q)
                                                return -ENOMEM;
                                        if (!v)
                                                return fail(p, _("missing required key '%s' in section [%s]"),
                                                            k->name, q);
                                        /* an empty value names its line */
                                        p->line = cv->line;
                                        return fail(p, _("required key '%s' in section [%s] is empty"),
                                                    k->name, q);
                                }
                        }
                }
                if (s->required && !seen) {
                        if (named)
                                return fail(p, _("missing section [%sNAME]"), s->name);
                        return fail(p, _("missing section [%s]"), s->name);
                }
        }
        return 0;
}

int conf_load_buffer(const char *name, const char *data, size_t size, const ConfSchema *schema,
                     Conf **ret, char **ret_error) {
        _cleanup_(conf_freep) Conf *c = NULL;
        char line[CONF_LINE_MAX + 1];
        Parser p = {
                .name = name ? name : "-",
                .schema = schema,
                .error = ret_error,
        };
        size_t pos = 0;
        int r = 0;

        if (!schema || !ret || (!data && size > 0))
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;

        c = calloc(1, sizeof(Conf));
        if (!c)
                return -ENOMEM;
        c->path = strdup(p.name);
        if (!c->path)
                return -ENOMEM;
        p.conf = c;

        /* a byte order mark from a Windows editor */
        if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
                pos = 3;

        while (pos < size) {
                const char *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - (data + pos)) : size - pos;
                size_t next = pos + len + (nl ? 1 : 0);

                p.line++;
                if (p.line == UINT_MAX) {
                        r = fail(&p, _("too many lines"));
                        break;
                }
                if (len > 0 && data[pos + len - 1] == '\r')
                        len--; /* CRLF */
                if (len > CONF_LINE_MAX) {
                        r = fail(&p, _("line too long (more than %d bytes)"), CONF_LINE_MAX);
                        break;
                }
                r = check_line_bytes(&p, data + pos, len);
                if (r < 0)
                        break;
                memcpy(line, data + pos, len);
                line[len] = '\0';
                r = parse_line(&p, line);
                if (r < 0)
                        break;
                pos = next;
        }
        if (r >= 0)
                r = check_required(&p);
        free(p.set.slots);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int conf_load_string(const char *name, const char *text, const ConfSchema *schema,
                     Conf **ret, char **ret_error) {
        return conf_load_buffer(name, text, text ? strlen(text) : 0, schema, ret, ret_error);
}

int conf_load(const char *path, const ConfSchema *schema, Conf **ret, char **ret_error) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (!path)
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;
        r = read_file_bounded(path, CONF_FILE_MAX, &data, &size);
        if (r < 0) {
                _cleanup_free_ char *where = conf_where(path, 0);

                if (ret_error && where) {
                        if (r == -EFBIG)
                                (void) conf_error(ret_error, where, _("file too large (more than %d KiB)"),
                                                  CONF_FILE_MAX / 1024);
                        else
                                (void) conf_error(ret_error, where, "%s", strerror(-r));
                }
                return r;
        }
        return conf_load_buffer(path, data, size, schema, ret, ret_error);
}
