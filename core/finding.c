/* Findings list and status helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finding.h"
#include "macro.h"
#include "termsafe.h"

static const char *const status_names[_STATUS_MAX] = {
        [STATUS_OK] = "ok",
        [STATUS_WARNING] = "warning",
        [STATUS_CRITICAL] = "critical",
        [STATUS_UNKNOWN] = "unknown",
};

static const char *const status_nagios[_STATUS_MAX] = {
        [STATUS_OK] = "OK",
        [STATUS_WARNING] = "WARNING",
        [STATUS_CRITICAL] = "CRITICAL",
        [STATUS_UNKNOWN] = "UNKNOWN",
};

/* Rank for "worst": critical > warning > unknown > ok. */
static const int status_rank[_STATUS_MAX] = {
        [STATUS_OK] = 0,
        [STATUS_UNKNOWN] = 1,
        [STATUS_WARNING] = 2,
        [STATUS_CRITICAL] = 3,
};

const char *status_to_string(Status s) {
        return s >= 0 && s < _STATUS_MAX ? status_names[s] : NULL;
}

const char *status_to_nagios(Status s) {
        return s >= 0 && s < _STATUS_MAX ? status_nagios[s] : NULL;
}

Status status_from_string(const char *s) {
        for (Status i = 0; i < _STATUS_MAX; i++)
                if (s && streq(s, status_names[i]))
                        return i;
        return _STATUS_INVALID;
}

Status status_worst(Status a, Status b) {
        return status_rank[a] >= status_rank[b] ? a : b;
}

static bool id_is_valid(const char *id) {
        bool dot = false;

        if (!id || !*id || *id == '.')
                return false;
        for (const char *p = id; *p; p++) {
                if (*p == '.')
                        dot = true;
                else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                           *p == '_'))
                        return false;
        }
        return dot && id[strlen(id) - 1] != '.';
}

static void metric_done(Metric *m) {
        free(m->name);
}

static void finding_done(Finding *f) {
        free(f->id);
        free(f->group);
        free(f->target);
        free(f->summary);
        free(f->detail);
        free(f->remedy);
        finding_clear_commands(f);
        free(f->depends_on);
        free(f->not_run_reason);
        for (size_t i = 0; i < f->n_metrics; i++)
                metric_done(&f->metrics[i]);
        free(f->metrics);
}

int findings_add(FindingList *l, const char *id, const char *target, Status status, Finding **ret) {
        if (!id_is_valid(id) || status < 0 || status >= _STATUS_MAX)
                return -EINVAL;

        if (l->n == l->allocated) {
                size_t n = l->allocated ? l->allocated * 2 : 16;
                Finding *p = reallocarray(l->items, n, sizeof(Finding));
                if (!p)
                        return -ENOMEM;
                l->items = p;
                l->allocated = n;
        }

        Finding f = { .status = status };
        f.id = strdup(id);
        f.group = strndup(id, strcspn(id, "."));
        f.target = termsafe_strdup(target, 0);
        f.summary = strdup("");
        if (!f.id || !f.group || !f.target || !f.summary) {
                finding_done(&f);
                return -ENOMEM;
        }
        l->items[l->n] = f;
        if (ret)
                *ret = &l->items[l->n];
        l->n++;
        return 0;
}

_printf_(4, 0) static int set_text(char **field, TermsafeFlags flags, bool append, const char *fmt, va_list ap) {
        _cleanup_free_ char *raw = NULL;
        char *safe;

        if (vasprintf(&raw, fmt, ap) < 0)
                return -ENOMEM;
        if (append && *field && **field) {
                char *joined;
                if (asprintf(&joined, "%s\n%s", *field, raw) < 0)
                        return -ENOMEM;
                safe = termsafe_strdup(joined, flags);
                free(joined);
        } else
                safe = termsafe_strdup(raw, flags);
        if (!safe)
                return -ENOMEM;
        free(*field);
        *field = safe;
        return 0;
}

Finding *findings_addf(FindingList *l, const char *id, const char *target, Status status,
                       const char *fmt, ...) {
        Finding *f;
        va_list ap;
        int r;

        if (findings_add(l, id, target, status, &f) < 0)
                return NULL;
        va_start(ap, fmt);
        r = set_text(&f->summary, 0, false, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : f;
}

#define DEFINE_SETTER(fn, field, flags, append)                         \
        int fn(Finding *f, const char *fmt, ...) {                      \
                va_list ap;                                             \
                va_start(ap, fmt);                                      \
                int r = set_text(&f->field, flags, append, fmt, ap);    \
                va_end(ap);                                             \
                return r;                                               \
        }

DEFINE_SETTER(finding_set_summary, summary, 0, false)
DEFINE_SETTER(finding_set_detail, detail, TERMSAFE_KEEP_NEWLINE, false)
DEFINE_SETTER(finding_set_remedy, remedy, TERMSAFE_KEEP_NEWLINE, false)
DEFINE_SETTER(finding_append_detail, detail, TERMSAFE_KEEP_NEWLINE, true)
DEFINE_SETTER(finding_append_remedy, remedy, TERMSAFE_KEEP_NEWLINE, true)

void finding_clear_commands(Finding *f) {
        for (size_t i = 0; i < f->n_commands; i++)
                free(f->commands[i]);
        free(f->commands);
        f->commands = NULL;
        f->n_commands = 0;
}

int finding_add_command(Finding *f, const char *fmt, ...) {
        _cleanup_free_ char *raw = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&raw, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (!*raw || strchr(raw, '\n'))
                return -EINVAL;
        char **p = reallocarray(f->commands, f->n_commands + 1, sizeof(char *));
        if (!p)
                return -ENOMEM;
        f->commands = p;
        char *safe = termsafe_strdup(raw, 0);
        if (!safe)
                return -ENOMEM;
        f->commands[f->n_commands++] = safe;
        return 0;
}

int finding_set_detail_raw(Finding *f, const char *data, size_t size, size_t max) {
        char *safe;
        int r;

        /* Cut at a line end when possible so the evidence stays readable. */
        if (size > max) {
                size_t cut = max;
                while (cut > max / 2 && data[cut - 1] != '\n')
                        cut--;
                if (cut <= max / 2)
                        cut = max;
                r = termsafe_dup(data, cut, TERMSAFE_KEEP_NEWLINE, &safe);
        } else
                r = termsafe_dup(data, size, TERMSAFE_KEEP_NEWLINE, &safe);
        if (r < 0)
                return r;
        /* Trailing newlines carry no evidence. */
        size_t n = strlen(safe);
        while (n > 0 && safe[n - 1] == '\n')
                safe[--n] = 0;
        if (size > max) {
                char *t;
                if (asprintf(&t, "%s\n%s", safe, _("[output truncated]")) < 0) {
                        free(safe);
                        return -ENOMEM;
                }
                free(safe);
                safe = t;
        }
        free(f->detail);
        f->detail = safe;
        return 0;
}

Metric *finding_add_metric(Finding *f, const char *name, double value, const char *unit) {
        Metric *p = reallocarray(f->metrics, f->n_metrics + 1, sizeof(Metric));
        if (!p)
                return NULL;
        f->metrics = p;
        Metric *m = &f->metrics[f->n_metrics];
        *m = (Metric) { .value = value, .unit = unit ? unit : "" };
        m->name = strdup(name);
        if (!m->name)
                return NULL;
        f->n_metrics++;
        return m;
}

void metric_set_thresholds(Metric *m, bool has_warn, double warn, bool has_crit, double crit) {
        m->has_warn = has_warn;
        m->warn = warn;
        m->has_crit = has_crit;
        m->crit = crit;
}

void metric_set_floors(Metric *m, bool has_warn, double warn, bool has_crit, double crit) {
        metric_set_thresholds(m, has_warn, warn, has_crit, crit);
        m->alert_below = true;
}

void metric_set_range(Metric *m, bool has_min, double min, bool has_max, double max) {
        m->has_min = has_min;
        m->min = min;
        m->has_max = has_max;
        m->max = max;
}

int finding_set_depends_on(Finding *f, const char *id, const char *reason) {
        if (!id_is_valid(id) || !reason)
                return -EINVAL;
        _cleanup_free_ char *i = strdup(id), *why = termsafe_strdup(reason, 0);
        if (!i || !why)
                return -ENOMEM;
        free(f->depends_on);
        free(f->not_run_reason);
        f->depends_on = TAKE_PTR(i);
        f->not_run_reason = TAKE_PTR(why);
        return 0;
}

int findings_move(FindingList *dst, FindingList *src) {
        if (src->n == 0)
                return 0;
        if (dst->n + src->n > dst->allocated) {
                size_t n = MAX(dst->n + src->n, dst->allocated * 2);
                Finding *p = reallocarray(dst->items, n, sizeof(Finding));
                if (!p)
                        return -ENOMEM;
                dst->items = p;
                dst->allocated = n;
        }
        memcpy(dst->items + dst->n, src->items, src->n * sizeof(Finding));
        dst->n += src->n;
        free(src->items);
        *src = (FindingList) {};
        return 0;
}

void findings_done(FindingList *l) {
        for (size_t i = 0; i < l->n; i++)
                finding_done(&l->items[i]);
        free(l->items);
        *l = (FindingList) {};
}

Status findings_worst(const FindingList *l) {
        Status w = STATUS_OK;
        for (size_t i = 0; i < l->n; i++)
                w = status_worst(w, l->items[i].status);
        return w;
}

void findings_count(const FindingList *l, unsigned counts[_STATUS_MAX]) {
        memset(counts, 0, sizeof(unsigned) * _STATUS_MAX);
        for (size_t i = 0; i < l->n; i++)
                counts[l->items[i].status]++;
}
