/* INI files (answers files and mxdeck.conf) checked against a schema table: every
 * section and key must be known, every value must parse, errors name file, line, key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ConfType {
        CONF_STRING,    /* any text (trimmed) */
        CONF_BOOL,      /* yes/no/true/false/on/off/1/0 */
        CONF_UINT,      /* decimal unsigned 64-bit, checked */
        CONF_SIZE,      /* bytes, with optional K/M/G/T suffix (powers of 1024) */
        CONF_ENUM,      /* one of ConfKey.choices */
        CONF_LIST,      /* comma and/or space separated words */
        CONF_PATH,      /* absolute path */
        CONF_HOSTNAME,  /* DNS name, letters/digits/hyphen labels, <= 253 */
        _CONF_TYPE_MAX,
} ConfType;

typedef struct ConfKey {
        const char *name;
        ConfType type;
        const char *const *choices; /* CONF_ENUM: NULL-terminated */
        bool required;
} ConfKey;

typedef struct ConfSection {
        /* Exact section name, or a prefix ending in a space for named sections:
         * "user " matches [user alice] (the part after the prefix must be non-empty). */
        const char *name;
        const ConfKey *keys; /* terminated by an entry with name NULL */
        bool required;
        bool multiple;       /* named sections may repeat with different names */
} ConfSection;

typedef struct ConfSchema {
        const ConfSection *sections; /* terminated by an entry with name NULL */
} ConfSchema;

typedef struct ConfValue {
        char *section;  /* full section name as written, e.g. "user alice" */
        char *key;
        char *value;    /* trimmed raw text */
        unsigned line;
} ConfValue;

typedef struct Conf {
        char *path;
        ConfValue *values;
        size_t n_values;
        /* sections as they appeared, with their line */
        char **sections;
        unsigned *section_lines;
        size_t n_sections;
} Conf;

/* Parses and validates. On a problem returns -EINVAL (or -ENOENT, -EACCES... for the file
 * itself) and, when ret_error is non-NULL, a message like
 *   "/root/answers.ini:12: unknown key 'hostnme' in section [server]"
 * (caller frees). Lines longer than 4096 bytes, duplicate keys and duplicate sections are
 * errors too. */
int conf_load(const char *path, const ConfSchema *schema, Conf **ret, char **ret_error);
int conf_load_string(const char *name, const char *text, const ConfSchema *schema,
                     Conf **ret, char **ret_error);
/* Same for size bytes that may hold NULs (rejected with an error, like a file would be). */
int conf_load_buffer(const char *name, const char *data, size_t size, const ConfSchema *schema,
                     Conf **ret, char **ret_error);
Conf *conf_free(Conf *c);
static inline void conf_freep(Conf **c) { if (*c) conf_free(*c); }

/* Lookups return NULL / -ENOENT when the key is absent; the typed getters (bool, uint,
 * size) also return -ENOENT for an empty value ("key =" means not set). */
const ConfValue *conf_get(const Conf *c, const char *section, const char *key);
const char *conf_get_string(const Conf *c, const char *section, const char *key);
int conf_get_bool(const Conf *c, const char *section, const char *key, bool *ret);
int conf_get_uint(const Conf *c, const char *section, const char *key, uint64_t *ret);
int conf_get_size(const Conf *c, const char *section, const char *key, uint64_t *ret);
/* Splits a CONF_LIST value into a NULL-terminated array (caller frees with strv_free). */
int conf_get_list(const Conf *c, const char *section, const char *key, char ***ret);
int conf_split_list(const char *s, char ***ret);

/* For callers that check values further (answers, settings) and report in the same form:
 * conf_where() gives "FILE:LINE" or "FILE" when line is 0 (terminal-safe; NULL on ENOMEM);
 * conf_quote() makes a terminal-safe excerpt of untrusted text for a message;
 * conf_error() sets *ret_error to "PREFIX: message" and returns -EINVAL (or -ENOMEM). */
char *conf_where(const char *name, unsigned line);
char *conf_quote(const char *s);
int conf_error(char **ret_error, const char *prefix, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Value parsers, shared with flag parsing. Return 0 or -EINVAL / -ERANGE. */
int parse_bool(const char *s, bool *ret);
int parse_uint64(const char *s, uint64_t *ret);
int parse_size(const char *s, uint64_t *ret);
bool hostname_is_valid(const char *s);
/* A name the world can resolve and mail can be addressed to: hostname_is_valid, at least
 * two labels, the last not all digits (not an IPv4 address), and not a name that is
 * fully qualified only in form (localhost, *.localhost, *.localdomain, *.local, *.internal,
 * *.lan, *.home). Shared by the installer's answers, the host-name check and the verbs. */
bool hostname_is_fqdn(const char *s);
