/* mxdeck's own settings: one table maps each [section] key to its field, type and range;
 * the INI schema is built from that table, so a setting is added in one place. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "i18n.h"
#include "macro.h"
#include "settings.h"

/* Default DNSBL zones for the "listed on a blocklist" check: widely used lists that answer
 * queries from small servers without registration (Spamhaus blocks queries through large
 * public resolvers: use a local resolver). zen = SBL+XBL+PBL for the server's addresses;
 * dbl.spamhaus.org lists domains (checked against the mail domains). */
static const char *const default_dnsbl_zones[] = {
        "zen.spamhaus.org",
        "bl.spamcop.net",
        "b.barracudacentral.org",
        "dbl.spamhaus.org",
        NULL,
};

typedef enum FieldKind {
        FIELD_UNSIGNED, /* unsigned, from CONF_UINT */
        FIELD_UINT64,   /* uint64_t, from CONF_SIZE */
        FIELD_BOOL,
        FIELD_STRING,   /* char *, empty = NULL */
        FIELD_STRV,     /* char **, from CONF_LIST */
} FieldKind;

typedef struct SettingsField {
        const char *section;
        const char *key;
        ConfType type;
        FieldKind kind;
        size_t offset;
        uint64_t min, max; /* numbers */
        uint64_t def;      /* numbers and bools */
} SettingsField;

#define NUM(s, k, field, d, lo, hi)                                     \
        { .section = (s), .key = (k), .type = CONF_UINT, .kind = FIELD_UNSIGNED, \
          .offset = offsetof(Settings, field), .def = (d), .min = (lo), .max = (hi) }
#define SIZE(s, k, field, d)                                            \
        { .section = (s), .key = (k), .type = CONF_SIZE, .kind = FIELD_UINT64, \
          .offset = offsetof(Settings, field), .def = (d), .min = 0, .max = UINT64_MAX }
#define BOOL(s, k, field, d)                                            \
        { .section = (s), .key = (k), .type = CONF_BOOL, .kind = FIELD_BOOL, \
          .offset = offsetof(Settings, field), .def = (d) }
#define STR(s, k, t, field)                                             \
        { .section = (s), .key = (k), .type = (t), .kind = FIELD_STRING, \
          .offset = offsetof(Settings, field) }
#define LIST(s, k, field)                                               \
        { .section = (s), .key = (k), .type = CONF_LIST, .kind = FIELD_STRV, \
          .offset = offsetof(Settings, field) }

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

/* The documented defaults (settings.h, mxdeck(1)). Sections in the order of the file. */
static const SettingsField fields[] = {
        STR("general", "language", CONF_STRING, language),

        NUM("check", "timeout_seconds", timeout_seconds, 10, 1, 3600),

        NUM("tls", "expiry_warning_days", tls_expiry_warning_days, 21, 0, 3650),
        NUM("tls", "expiry_critical_days", tls_expiry_critical_days, 7, 0, 3650),

        NUM("disk", "warning_percent", disk_warning_percent, 15, 0, 100),
        NUM("disk", "critical_percent", disk_critical_percent, 5, 0, 100),
        SIZE("disk", "warning_bytes", disk_warning_bytes, 2 * GiB),
        SIZE("disk", "critical_bytes", disk_critical_bytes, 512 * MiB),

        NUM("queue", "size_warning", queue_size_warning, 100, 0, UINT_MAX),
        NUM("queue", "size_critical", queue_size_critical, 1000, 0, UINT_MAX),
        NUM("queue", "oldest_warning_minutes", queue_oldest_warning_minutes, 60, 0, UINT_MAX),
        NUM("queue", "oldest_critical_minutes", queue_oldest_critical_minutes, 1440, 0, UINT_MAX),
        NUM("queue", "deferred_warning", queue_deferred_warning, 20, 0, UINT_MAX),
        NUM("queue", "deferred_critical", queue_deferred_critical, 200, 0, UINT_MAX),
        NUM("queue", "sender_burst_messages", queue_sender_burst_messages, 100, 1, UINT_MAX),
        NUM("queue", "sender_burst_percent", queue_sender_burst_percent, 50, 1, 100),
        BOOL("queue", "read_only", queue_read_only, false),

        NUM("log", "window_minutes", log_window_minutes, 60, 1, 7 * 24 * 60),
        NUM("log", "sasl_failures_warning", log_sasl_failures_warning, 20, 0, UINT_MAX),
        NUM("log", "sasl_failures_critical", log_sasl_failures_critical, 200, 0, UINT_MAX),
        NUM("log", "file_tail_mib", log_file_tail_mib, 16, 1, 4096),

        STR("dns", "resolver", CONF_STRING, resolver),
        STR("dns", "trust_anchor", CONF_PATH, trust_anchor),
        LIST("dns", "dnsbl_zones", dnsbl_zones),

        NUM("dkim", "grace_days", dkim_grace_days, 7, 0, 365),

        NUM("dashboard", "refresh_seconds", refresh_seconds, 5, 1, 3600),
        BOOL("dashboard", "color", color, true),
        BOOL("dashboard", "mouse", mouse, true),
};

/* Threshold pairs: for "lower is worse" (days left, free space) the warning level must be
 * above the critical one; for counts and ages it must be below. */
static const struct {
        const char *section, *warning, *critical;
        bool lower_is_worse;
} pairs[] = {
        { "tls", "expiry_warning_days", "expiry_critical_days", true },
        { "disk", "warning_percent", "critical_percent", true },
        { "disk", "warning_bytes", "critical_bytes", true },
        { "queue", "size_warning", "size_critical", false },
        { "queue", "oldest_warning_minutes", "oldest_critical_minutes", false },
        { "queue", "deferred_warning", "deferred_critical", false },
        { "log", "sasl_failures_warning", "sasl_failures_critical", false },
};

static const char *const section_names[] = {
        "general", "check", "tls", "disk", "queue", "log", "dns", "dkim", "dashboard",
};

/* --- schema, built once from the table --- */

static ConfKey schema_keys[ELEMENTSOF(fields) + ELEMENTSOF(section_names)];
static ConfSection schema_sections[ELEMENTSOF(section_names) + 1];
static ConfSchema schema;
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void schema_build(void) {
        size_t k = 0;

        for (size_t s = 0; s < ELEMENTSOF(section_names); s++) {
                schema_sections[s] = (ConfSection) {
                        .name = section_names[s],
                        .keys = &schema_keys[k],
                };
                for (size_t f = 0; f < ELEMENTSOF(fields); f++)
                        if (streq(fields[f].section, section_names[s]))
                                schema_keys[k++] = (ConfKey) {
                                        .name = fields[f].key,
                                        .type = fields[f].type,
                                };
                schema_keys[k++] = (ConfKey) {}; /* terminator */
        }
        schema_sections[ELEMENTSOF(section_names)] = (ConfSection) {};
        schema.sections = schema_sections;
}

const ConfSchema *settings_schema(void) {
        pthread_once(&schema_once, schema_build);
        return &schema;
}

/* --- field access --- */

static void *field_ptr(Settings *s, const SettingsField *f) {
        return (uint8_t *) s + f->offset;
}

static uint64_t field_number(const Settings *s, const SettingsField *f) {
        const void *p = (const uint8_t *) s + f->offset;

        switch (f->kind) {
        case FIELD_UNSIGNED:
                return *(const unsigned *) p;
        case FIELD_UINT64:
                return *(const uint64_t *) p;
        case FIELD_BOOL:
                return *(const bool *) p;
        default:
                return 0;
        }
}

static const SettingsField *field_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(fields[i].section, section) && streq(fields[i].key, key))
                        return &fields[i];
        return NULL;
}

static char **strv_copy(const char *const *v) {
        size_t n = 0;
        char **c;

        while (v && v[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

void settings_done(Settings *s) {
        if (!s)
                return;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                void *p = field_ptr(s, &fields[i]);

                if (fields[i].kind == FIELD_STRING) {
                        free(*(char **) p);
                        *(char **) p = NULL;
                } else if (fields[i].kind == FIELD_STRV) {
                        strv_free(*(char ***) p);
                        *(char ***) p = NULL;
                }
        }
}

static void settings_donep(Settings *s) {
        settings_done(s);
}

int settings_init(Settings *s) {
        *s = (Settings) {};
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const SettingsField *f = &fields[i];
                void *p = field_ptr(s, f);

                switch (f->kind) {
                case FIELD_UNSIGNED:
                        *(unsigned *) p = (unsigned) f->def;
                        break;
                case FIELD_UINT64:
                        *(uint64_t *) p = f->def;
                        break;
                case FIELD_BOOL:
                        *(bool *) p = f->def != 0;
                        break;
                case FIELD_STRING:
                        break; /* NULL = the system's choice */
                case FIELD_STRV:
                        break;
                }
        }
        s->dnsbl_zones = strv_copy(default_dnsbl_zones);
        if (!s->dnsbl_zones)
                return -ENOMEM;
        return 0;
}

static int settings_copy(const Settings *from, Settings *to) {
        *to = *from;
        /* clear the pointers first, so a failure below leaves a freeable copy */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].kind == FIELD_STRING || fields[i].kind == FIELD_STRV)
                        *(void **) field_ptr(to, &fields[i]) = NULL;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const void *src = (const uint8_t *) from + fields[i].offset;
                void *dst = field_ptr(to, &fields[i]);

                if (fields[i].kind == FIELD_STRING && *(char *const *) src) {
                        *(char **) dst = strdup(*(char *const *) src);
                        if (!*(char **) dst)
                                return -ENOMEM;
                } else if (fields[i].kind == FIELD_STRV && *(char **const *) src) {
                        *(char ***) dst = strv_copy((const char *const *) *(char **const *) src);
                        if (!*(char ***) dst)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* --- loading --- */

/* ADDR or ADDR:PORT, IPv6 as [ADDR]:PORT or bare. */
static bool resolver_is_valid(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        _cleanup_free_ char *host = NULL;
        const char *port = NULL;
        uint64_t p;

        if (inet_pton(AF_INET6, s, buf) == 1)
                return true;
        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || (end[1] && end[1] != ':'))
                        return false;
                host = strndup(s + 1, (size_t) (end - s - 1));
                if (!host || inet_pton(AF_INET6, host, buf) != 1)
                        return false;
                port = end[1] ? end + 2 : NULL;
        } else {
                const char *colon = strchr(s, ':');
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
                if (!host || inet_pton(AF_INET, host, buf) != 1)
                        return false;
                port = colon ? colon + 1 : NULL;
        }
        return !port || (parse_uint64(port, &p) >= 0 && p >= 1 && p <= 65535);
}

static int apply_value(Settings *s, const Conf *c, const ConfValue *v, char **ret_error) {
        const SettingsField *f = field_find(v->section, v->key);
        _cleanup_free_ char *where = conf_where(c->path, v->line), *q = NULL;
        void *p;
        uint64_t n;
        bool b;
        int r;

        if (!where)
                return -ENOMEM;
        if (!f)
                return -EINVAL; /* the schema has no other keys */
        p = field_ptr(s, f);

        switch (f->kind) {
        case FIELD_UNSIGNED:
        case FIELD_UINT64:
                r = f->kind == FIELD_UNSIGNED ? parse_uint64(v->value, &n) : parse_size(v->value, &n);
                if (r == -EINVAL && !*v->value)
                        return conf_error(ret_error, where,
                                          _("key '%s' in [%s] is empty (remove the line to keep "
                                            "the default %" PRIu64 ")"), v->key, v->section, f->def);
                if (r < 0 || n < f->min || n > f->max)
                        return conf_error(ret_error, where,
                                          _("key '%s' in [%s]: '%s' is out of range (expected "
                                            "%" PRIu64 " to %" PRIu64 ")"),
                                          v->key, v->section, v->value, f->min, f->max);
                if (f->kind == FIELD_UNSIGNED)
                        *(unsigned *) p = (unsigned) n;
                else
                        *(uint64_t *) p = n;
                return 0;
        case FIELD_BOOL:
                r = parse_bool(v->value, &b);
                if (r < 0)
                        return conf_error(ret_error, where,
                                          _("key '%s' in [%s] is empty (expected yes or no)"),
                                          v->key, v->section);
                *(bool *) p = b;
                return 0;
        case FIELD_STRING:
                if (streq(f->key, "resolver") && *v->value && !resolver_is_valid(v->value)) {
                        q = conf_quote(v->value);
                        if (!q)
                                return -ENOMEM;
                        return conf_error(ret_error, where,
                                          _("key 'resolver' in [dns]: '%s' is not a valid address "
                                            "(expected ADDR or ADDR:PORT, such as 127.0.0.1:53 or "
                                            "[::1]:53)"), q);
                }
                if (streq(f->key, "language") && *v->value && !i18n_lang_is_valid(v->value)) {
                        q = conf_quote(v->value);
                        if (!q)
                                return -ENOMEM;
                        return conf_error(ret_error, where,
                                          _("key 'language' in [general]: '%s' is not a language (expected "
                                            "a locale name such as zh_CN, or C for English)"), q);
                }
                free(*(char **) p);
                *(char **) p = NULL;
                if (*v->value) {
                        *(char **) p = strdup(v->value);
                        if (!*(char **) p)
                                return -ENOMEM;
                }
                return 0;
        case FIELD_STRV: {
                /* an empty list is meaningful here: no DNSBL checks */
                char **list;

                r = conf_split_list(v->value, &list);
                if (r < 0)
                        return r;
                for (char **z = list; *z; z++)
                        if (!hostname_is_valid(*z)) {
                                q = conf_quote(*z);
                                strv_free(list);
                                if (!q)
                                        return -ENOMEM;
                                return conf_error(ret_error, where,
                                                  _("key '%s' in [%s]: '%s' is not a DNS zone "
                                                    "(expected names such as zen.spamhaus.org)"),
                                                  v->key, v->section, q);
                        }
                strv_free(*(char ***) p);
                *(char ***) p = list;
                return 0;
        }
        }
        return -EINVAL;
}

static int check_pairs(const Settings *s, const Conf *c, char **ret_error) {
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                const SettingsField *w = field_find(pairs[i].section, pairs[i].warning);
                const SettingsField *k = field_find(pairs[i].section, pairs[i].critical);
                uint64_t wv = field_number(s, w), kv = field_number(s, k);
                bool ok = pairs[i].lower_is_worse ? wv > kv : wv < kv;
                const ConfValue *v;
                _cleanup_free_ char *where = NULL;

                if (ok)
                        continue;
                /* blame the line of this file that set one of them */
                v = conf_get(c, pairs[i].section, pairs[i].warning);
                if (!v)
                        v = conf_get(c, pairs[i].section, pairs[i].critical);
                where = conf_where(c->path, v ? v->line : 0);
                if (!where)
                        return -ENOMEM;
                if (pairs[i].lower_is_worse)
                        return conf_error(ret_error, where,
                                          _("[%s] %s (%" PRIu64 ") must be greater than %s (%" PRIu64 "): "
                                            "the warning comes before the critical state"),
                                          pairs[i].section, pairs[i].warning, wv,
                                          pairs[i].critical, kv);
                return conf_error(ret_error, where,
                                  _("[%s] %s (%" PRIu64 ") must be less than %s (%" PRIu64 "): "
                                    "the warning comes before the critical state"),
                                  pairs[i].section, pairs[i].warning, wv, pairs[i].critical, kv);
        }
        return 0;
}

int settings_load_file(Settings *s, const char *path, char **ret_error) {
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_(settings_donep) Settings next = {};
        char *error = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = conf_load(path, settings_schema(), &c, &error);
        if (r == -ENOENT) {
                free(error);
                return 0;
        }
        if (r < 0)
                goto fail;

        /* work on a copy: *s is untouched unless the whole file applies */
        r = settings_copy(s, &next);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < c->n_values; i++) {
                r = apply_value(&next, c, &c->values[i], &error);
                if (r < 0)
                        goto fail;
        }
        r = check_pairs(&next, c, &error);
        if (r < 0)
                goto fail;

        settings_done(s);
        *s = next;
        next = (Settings) {};
        return 0;

fail:
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return r;
}

static int user_config_path(char **ret) {
        const char *xdg = secure_getenv("XDG_CONFIG_HOME");
        const char *home = secure_getenv("HOME");

        *ret = NULL;
        /* the XDG spec: a relative $XDG_CONFIG_HOME is invalid and ignored */
        if (xdg && xdg[0] == '/')
                return asprintf(ret, "%s/mxdeck/mxdeck.conf", xdg) < 0 ? -ENOMEM : 0;
        if (!home || home[0] != '/') {
                struct passwd pw, *result = NULL;
                char buf[4096];

                if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &result) != 0 || !result ||
                    !pw.pw_dir || pw.pw_dir[0] != '/')
                        return 0; /* no home: no user file */
                return asprintf(ret, "%s/.config/mxdeck/mxdeck.conf", pw.pw_dir) < 0 ? -ENOMEM : 0;
        }
        return asprintf(ret, "%s/.config/mxdeck/mxdeck.conf", home) < 0 ? -ENOMEM : 0;
}

int settings_load_default(Settings *s, char **ret_error) {
        _cleanup_free_ char *user = NULL;
        int r;

        r = settings_load_file(s, SYSCONFDIR "/mxdeck/mxdeck.conf", ret_error);
        if (r < 0)
                return r;
        r = user_config_path(&user);
        if (r < 0)
                return r;
        if (!user)
                return 0;
        return settings_load_file(s, user, ret_error);
}
