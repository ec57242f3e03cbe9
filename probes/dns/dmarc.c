/* DMARC policy record parser (RFC 7489 6.3, 6.4). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "dns-tags.h"
#include "macro.h"

static const char *const policy_names[_DMARC_POLICY_MAX] = {
        [DMARC_POLICY_NONE] = "none",
        [DMARC_POLICY_QUARANTINE] = "quarantine",
        [DMARC_POLICY_REJECT] = "reject",
};

const char *dmarc_policy_to_string(DmarcPolicy p) {
        return p >= 0 && p < _DMARC_POLICY_MAX ? policy_names[p] : "?";
}

DmarcPolicy dmarc_policy_from_string(const char *s) {
        for (int i = 0; i < _DMARC_POLICY_MAX; i++)
                if (strcasecmp(s, policy_names[i]) == 0)
                        return (DmarcPolicy) i;
        return _DMARC_POLICY_INVALID;
}

bool dmarc_is_record(const char *txt, size_t len) {
        size_t i = 0;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        if (len - i < 1 || (txt[i] != 'v'))
                return false;
        i++;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        if (i >= len || txt[i] != '=')
                return false;
        i++;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        if (len - i < 6 || strncmp(txt + i, "DMARC1", 6) != 0)
                return false;
        i += 6;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        return i == len || txt[i] == ';';
}

DmarcRecord *dmarc_record_free(DmarcRecord *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_rua; i++) {
                free(r->rua[i].uri);
                free(r->rua[i].domain);
        }
        for (size_t i = 0; i < r->n_ruf; i++) {
                free(r->ruf[i].uri);
                free(r->ruf[i].domain);
        }
        free(r->fo);
        free(r);
        return NULL;
}

static int parse_u32(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* dmarc-uri *(*WSP "," *WSP dmarc-uri); dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] */
static int parse_uris(const char *tag, const char *value, DmarcUri *out, size_t *n, char **ret_error) {
        for (const char *p = value; *p;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                size_t l = strcspn(p, ",");
                size_t e = l;
                while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                        e--;
                if (e == 0)
                        return record_error(ret_error, _("%s: empty URI"), tag);
                if (*n >= DMARC_MAX_URIS)
                        return record_error(ret_error, _("%s: more than %d URIs"), tag, DMARC_MAX_URIS);
                _cleanup_free_ char *item = strndup(p, e);
                if (!item)
                        return -ENOMEM;
                uint64_t limit = 0;
                char *bang = strrchr(item, '!');
                if (bang) {
                        size_t dl = strlen(bang + 1);
                        uint64_t mult = 1;
                        if (dl > 0 && strchr("kmgtKMGT", bang[dl])) {
                                switch (tolower((unsigned char) bang[dl])) {
                                case 'k': mult = 1ull << 10; break;
                                case 'm': mult = 1ull << 20; break;
                                case 'g': mult = 1ull << 30; break;
                                case 't': mult = 1ull << 40; break;
                                }
                                bang[dl] = 0;
                        }
                        if (parse_u32(bang + 1, UINT32_MAX, &limit) < 0)
                                return record_error(ret_error, _("%s: bad size limit in '%s'"), tag, item);
                        limit *= mult;
                        *bang = 0;
                }
                const char *colon = strchr(item, ':');
                if (!colon || colon == item)
                        return record_error(ret_error, _("%s: '%s' is not a URI"), tag, item);
                for (const char *c = item; c < colon; c++)
                        if (!isalnum((unsigned char) *c) && !strchr("+-.", *c))
                                return record_error(ret_error, _("%s: '%s' is not a URI"), tag, item);
                DmarcUri u = { .limit = limit };
                if (strncasecmp(item, "mailto:", 7) == 0) {
                        const char *at = strrchr(item + 7, '@');
                        if (!at || at == item + 7 || !at[1] || strchr(at + 1, '?'))
                                return record_error(ret_error, _("%s: '%s' is not a mailbox"), tag, item);
                        u.domain = strdup(at + 1);
                        if (!u.domain)
                                return -ENOMEM;
                        for (char *c = u.domain; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
                }
                u.uri = TAKE_PTR(item);
                out[(*n)++] = u;
                p += l;
                if (*p == ',')
                        p++;
        }
        return 0;
}

int dmarc_parse(const char *text, size_t len, DmarcRecord **ret, char **ret_error) {
        _cleanup_(tags_done) TagList tags = {};
        _cleanup_(dmarc_record_freep) DmarcRecord *rec = NULL;
        int r;

        r = tags_parse_record(text, len, 4096, "DMARC1", &tags, ret_error);
        if (r < 0)
                return r;
        rec = calloc(1, sizeof(DmarcRecord));
        if (!rec)
                return -ENOMEM;
        *rec = (DmarcRecord) { .adkim = 'r', .aspf = 'r', .pct = 100, .ri = 86400, .p_missing = true };

        for (size_t i = 1; i < tags.n; i++) {
                const char *n = tags.tags[i].name, *v = tags.tags[i].value;
                uint64_t u;
                if (streq(n, "p") || streq(n, "sp") || streq(n, "np")) {
                        DmarcPolicy p = dmarc_policy_from_string(v);
                        if (p < 0)
                                return record_error(ret_error, _("%s=%s: the policy must be none, quarantine or reject"), n, v);
                        if (streq(n, "p")) {
                                rec->p = p;
                                rec->p_missing = false;
                        } else if (streq(n, "sp")) {
                                rec->sp = p;
                                rec->sp_set = true;
                        }
                } else if (streq(n, "rua") || streq(n, "ruf")) {
                        bool rua = streq(n, "rua");
                        r = parse_uris(n, v, rua ? rec->rua : rec->ruf, rua ? &rec->n_rua : &rec->n_ruf, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(n, "adkim") || streq(n, "aspf")) {
                        if (strlen(v) != 1 || (v[0] != 'r' && v[0] != 's'))
                                return record_error(ret_error, _("%s=%s: must be r or s"), n, v);
                        *(streq(n, "adkim") ? &rec->adkim : &rec->aspf) = v[0];
                } else if (streq(n, "pct")) {
                        if (parse_u32(v, 100, &u) < 0)
                                return record_error(ret_error, _("pct=%s: must be 0 to 100"), v);
                        rec->pct = (unsigned) u;
                } else if (streq(n, "ri")) {
                        if (parse_u32(v, UINT32_MAX, &u) < 0)
                                return record_error(ret_error, _("ri=%s: must be a number of seconds"), v);
                        rec->ri = (uint32_t) u;
                } else if (streq(n, "fo")) {
                        for (const char *c = v; *c; c++)
                                if (!strchr("01ds:", *c) || (*c == ':' && (c == v || !c[1] || c[1] == ':')))
                                        return record_error(ret_error, _("fo=%s: must be 0, 1, d, s separated by ':'"), v);
                        if (!*v)
                                return record_error(ret_error, _("fo is empty"));
                        free(rec->fo);
                        rec->fo = strdup(v);
                        if (!rec->fo)
                                return -ENOMEM;
                } else if (streq(n, "rf")) {
                        if (strcasecmp(v, "afrf") != 0)
                                return record_error(ret_error, _("rf=%s: only afrf is defined"), v);
                } else if (streq(n, "v"))
                        return record_error(ret_error, _("'v' must be the first tag only"));
                else
                        rec->n_unknown_tags++;
        }
        if (rec->p_missing && rec->n_rua == 0)
                return record_error(ret_error, _("the required tag p= (none, quarantine or reject) is missing"));
        if (!rec->sp_set)
                rec->sp = rec->p;
        if (!rec->fo && !(rec->fo = strdup("0")))
                return -ENOMEM;
        *ret = TAKE_PTR(rec);
        return 0;
}

static bool name_is_under(const char *name, const char *parent) {
        size_t n = strlen(name), p = strlen(parent);
        if (n > 0 && name[n - 1] == '.')
                n--;
        if (p > 0 && parent[p - 1] == '.')
                p--;
        if (n == p)
                return strncasecmp(name, parent, n) == 0;
        return n > p && name[n - p - 1] == '.' && strncasecmp(name + n - p, parent, p) == 0;
}

bool dmarc_destination_is_external(const char *domain, const char *dest) {
        return !name_is_under(dest, domain) && !name_is_under(domain, dest);
}
