/* MTA-STS and TLS-RPT: TXT records and the policy file. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns-tags.h"
#include "macro.h"
#include "mtasts.h"

static const char *const mode_names[_MTASTS_MODE_MAX] = {
        [MTASTS_MODE_ENFORCE] = "enforce",
        [MTASTS_MODE_TESTING] = "testing",
        [MTASTS_MODE_NONE] = "none",
};

const char *mtasts_mode_to_string(MtaStsMode m) {
        return m >= 0 && m < _MTASTS_MODE_MAX ? mode_names[m] : "?";
}

static bool first_tag_is(const char *txt, size_t len, const char *want) {
        size_t i = 0, l = strlen(want);
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        if (len - i < l || strncmp(txt + i, want, l) != 0)
                return false;
        i += l;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        return i == len || txt[i] == ';';
}

bool mtasts_is_record(const char *txt, size_t len) {
        return first_tag_is(txt, len, "v=STSv1");
}

bool tlsrpt_is_record(const char *txt, size_t len) {
        return first_tag_is(txt, len, "v=TLSRPTv1");
}

int mtasts_txt_parse(const char *text, size_t len, char **ret_id, char **ret_error) {
        _cleanup_(tags_done) TagList tags = {};
        int r;

        r = tags_parse_record(text, len, 1024, "STSv1", &tags, ret_error);
        if (r < 0)
                return r;
        const char *id = tags_get(&tags, "id");
        if (!id)
                return record_error(ret_error, _("the required tag id= is missing"));
        size_t n = strlen(id);
        if (n == 0 || n > 32)
                return record_error(ret_error, _("id= must be 1 to 32 letters and digits"));
        for (const char *c = id; *c; c++)
                if (!isalnum((unsigned char) *c))
                        return record_error(ret_error, _("id= must be 1 to 32 letters and digits"));
        char *copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        *ret_id = copy;
        return 0;
}

int tlsrpt_txt_parse(const char *text, size_t len, char ***ret_rua, char **ret_error) {
        _cleanup_(tags_done) TagList tags = {};
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;
        int r;

        r = tags_parse_record(text, len, 4096, "TLSRPTv1", &tags, ret_error);
        if (r < 0)
                return r;
        const char *rua = tags_get(&tags, "rua");
        if (!rua || !*rua)
                return record_error(ret_error, _("the required tag rua= is missing"));
        v = calloc(17, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = rua; *p;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                size_t l = strcspn(p, ",");
                size_t e = l;
                while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                        e--;
                if (n >= 16)
                        return record_error(ret_error, _("rua= has more than 16 URIs"));
                if (!((e > 7 && strncasecmp(p, "mailto:", 7) == 0 && memchr(p + 7, '@', e - 7)) ||
                      (e > 8 && strncasecmp(p, "https://", 8) == 0)))
                        return record_error(ret_error, _("rua= '%.*s' is neither mailto:ADDRESS nor https://URL"),
                                      (int) MIN(e, (size_t) 200), p);
                if (!(v[n++] = strndup(p, e)))
                        return -ENOMEM;
                p += l;
                if (*p == ',')
                        p++;
        }
        *ret_rua = TAKE_PTR(v);
        return (int) n;
}

MtaStsPolicy *mtasts_policy_free(MtaStsPolicy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_mx; i++)
                free(p->mx[i]);
        free(p);
        return NULL;
}

static bool mx_pattern_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 253)
                return false;
        if (s[0] == '*') {
                if (s[1] != '.' || !s[2])
                        return false;
                s += 2;
        }
        for (const char *c = s; *c; c++)
                if (!isalnum((unsigned char) *c) && *c != '-' && *c != '.' && *c != '_')
                        return false;
        return strchr(s, '.') != NULL;
}

int mtasts_policy_parse(const char *text, size_t len, MtaStsPolicy **ret, char **ret_error) {
        _cleanup_(mtasts_policy_freep) MtaStsPolicy *p = NULL;
        bool have_version = false, have_mode = false, have_age = false;
        unsigned line = 0;

        if (len > MTASTS_POLICY_MAX)
                return record_error(ret_error, _("the policy is larger than 64 KiB"));
        if (memchr(text, 0, len))
                return record_error(ret_error, _("the policy contains a NUL byte"));
        p = calloc(1, sizeof(MtaStsPolicy));
        if (!p)
                return -ENOMEM;

        for (size_t i = 0; i < len;) {
                const char *s = text + i;
                const char *nl = memchr(s, '\n', len - i);
                size_t l = nl ? (size_t) (nl - s) : len - i;
                i += l + (nl ? 1 : 0);
                line++;
                if (l > 0 && s[l - 1] == '\r')
                        l--;
                while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
                        l--;
                if (l == 0)
                        continue;
                const char *colon = memchr(s, ':', l);
                if (!colon)
                        return record_error(ret_error, _("line %u: no ':'"), line);
                size_t kl = (size_t) (colon - s);
                for (size_t k = 0; k < kl; k++)
                        if (!isalnum((unsigned char) s[k]) && s[k] != '_')
                                return record_error(ret_error, _("line %u: bad field name"), line);
                const char *v = colon + 1;
                size_t vl = l - kl - 1;
                while (vl > 0 && (*v == ' ' || *v == '\t')) {
                        v++;
                        vl--;
                }
                for (size_t k = 0; k < vl; k++)
                        if ((unsigned char) v[k] < 0x20 && v[k] != '\t')
                                return record_error(ret_error, _("line %u: control character in the value"), line);
                _cleanup_free_ char *val = strndup(v, vl);
                if (!val)
                        return -ENOMEM;
#define KEY_IS(k) (kl == strlen(k) && strncmp(s, k, kl) == 0)
                if (KEY_IS("version")) {
                        if (have_version)
                                continue; /* the first occurrence counts */
                        if (!streq(val, "STSv1"))
                                return record_error(ret_error, _("line %u: version must be STSv1"), line);
                        have_version = true;
                } else if (KEY_IS("mode")) {
                        if (have_mode)
                                continue;
                        p->mode = _MTASTS_MODE_INVALID;
                        for (int m = 0; m < _MTASTS_MODE_MAX; m++)
                                if (streq(val, mode_names[m]))
                                        p->mode = (MtaStsMode) m;
                        if (p->mode < 0)
                                return record_error(ret_error, _("line %u: mode must be enforce, testing or none"), line);
                        have_mode = true;
                } else if (KEY_IS("max_age")) {
                        if (have_age)
                                continue;
                        uint64_t a = 0;
                        if (vl == 0 || vl > 10)
                                return record_error(ret_error, _("line %u: bad max_age"), line);
                        for (size_t k = 0; k < vl; k++) {
                                if (!isdigit((unsigned char) val[k]))
                                        return record_error(ret_error, _("line %u: bad max_age"), line);
                                a = a * 10 + (uint64_t) (val[k] - '0');
                        }
                        if (a > MTASTS_MAX_AGE)
                                return record_error(ret_error, _("line %u: max_age above %u"), line, MTASTS_MAX_AGE);
                        p->max_age = a;
                        have_age = true;
                } else if (KEY_IS("mx")) {
                        if (!mx_pattern_valid(val))
                                return record_error(ret_error, _("line %u: bad mx pattern"), line);
                        if (p->n_mx >= MTASTS_MAX_MX)
                                return record_error(ret_error, _("more than %d mx lines"), MTASTS_MAX_MX);
                        p->mx[p->n_mx++] = TAKE_PTR(val);
                }
#undef KEY_IS
                /* other fields: ignored (RFC 8461 3.2 extension) */
        }
        if (!have_version)
                return record_error(ret_error, _("the field version: STSv1 is missing"));
        if (!have_mode)
                return record_error(ret_error, _("the field mode is missing"));
        if (!have_age)
                return record_error(ret_error, _("the field max_age is missing"));
        if (p->mode != MTASTS_MODE_NONE && p->n_mx == 0)
                return record_error(ret_error, _("no mx lines (required unless mode is none)"));
        *ret = TAKE_PTR(p);
        return 0;
}

bool mtasts_mx_matches(const char *pattern, const char *host) {
        size_t pl = strlen(pattern), hl = strlen(host);
        if (pl > 0 && pattern[pl - 1] == '.')
                pl--;
        if (hl > 0 && host[hl - 1] == '.')
                hl--;
        if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
                const char *dot = memchr(host, '.', hl);
                if (!dot || dot == host)
                        return false;
                size_t rest = hl - (size_t) (dot - host);
                return rest == pl - 1 && strncasecmp(dot, pattern + 1, rest) == 0;
        }
        return pl == hl && strncasecmp(pattern, host, hl) == 0;
}

bool mtasts_policy_covers(const MtaStsPolicy *p, const char *host) {
        for (size_t i = 0; i < p->n_mx; i++)
                if (mtasts_mx_matches(p->mx[i], host))
                        return true;
        return false;
}
