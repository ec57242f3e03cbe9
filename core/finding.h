/* Findings: the one result model every check produces and every front end shows. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Numbered as the Nagios plugin states, which is also the Prometheus gauge value. */
typedef enum Status {
        STATUS_OK = 0,
        STATUS_WARNING = 1,
        STATUS_CRITICAL = 2,
        STATUS_UNKNOWN = 3,
        _STATUS_MAX,
        _STATUS_INVALID = -EINVAL,
} Status;

const char *status_to_string(Status s);      /* "ok", "warning", ... */
Status status_from_string(const char *s);    /* _STATUS_INVALID when unknown */
const char *status_to_nagios(Status s);      /* "OK", "WARNING", ... */
/* Worst of two: critical > warning > unknown > ok (monitoring-plugins' max_state). */
Status status_worst(Status a, Status b);

/* Where a metric is shown: a quantity may have a readable form (days_left, for JSON and
 * Nagios perfdata) and a base-unit form for Prometheus (seconds). */
typedef enum MetricScope {
        METRIC_EVERYWHERE = 0,
        METRIC_NOT_PROMETHEUS,
        METRIC_PROMETHEUS_ONLY,
} MetricScope;

typedef struct Metric {
        char *name;     /* [a-z0-9_]+, e.g. "days_left", "latency_ms" */
        double value;
        const char *unit; /* static: "", "ms", "s", "%", "B", "c" (Nagios UOMs) */
        bool has_warn, has_crit, has_min, has_max;
        double warn, crit, min, max;
        /* Lower values are worse (days left, free space): the thresholds are floors, and
         * Nagios perfdata writes them as ranges "21:" (alert below 21). */
        bool alert_below;
        MetricScope scope;
} Metric;

typedef struct Finding {
        char *id;       /* catalog id, e.g. "tls.submission.expiry" */
        char *group;    /* first dotted part of id */
        char *target;   /* what was looked at */
        Status status;
        char *summary;  /* one line */
        char *detail;   /* evidence, may be multi-line, terminal-safe */
        char *remedy;   /* what to do, in words; may be multi-line */
        /* The remedy's exact commands, in order: each one line a shell runs as printed
         * (words, single quotes; no pipes, redirections, ';' or '&&'), so a front end can
         * show them apart, copy them or run them. */
        char **commands;
        size_t n_commands;
        Metric *metrics;
        size_t n_metrics;
        /* Set when this finding could not be judged because another one failed, e.g. a
         * TLS check on port 465 when port.smtps found nothing listening: that finding's id
         * (same target) and the reason in words ("port 465 refused the connection"). The
         * text renderer folds such findings into one line under the one they depend on;
         * JSON, Nagios and Prometheus list each of them. */
        char *depends_on;
        char *not_run_reason;
} Finding;

typedef struct FindingList {
        Finding *items;
        size_t n, allocated;
} FindingList;

/* Appends a finding and returns it through ret (owned by the list). Strings are copied and
 * made terminal-safe (summary and target on one line; detail and remedy keep newlines).
 * Returns 0 or -ENOMEM / -EINVAL (bad id). */
int findings_add(FindingList *l, const char *id, const char *target, Status status,
                 Finding **ret);

/* Convenience: add with a printf-style summary. Returns the new finding or NULL on ENOMEM. */
Finding *findings_addf(FindingList *l, const char *id, const char *target, Status status,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

int finding_set_summary(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int finding_set_detail(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int finding_set_remedy(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a line to detail / remedy (newline separated). */
int finding_append_detail(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int finding_append_remedy(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends one command to the remedy's command list (one line, terminal-safe). Returns 0,
 * -ENOMEM, or -EINVAL for an empty command or one with a newline. */
int finding_add_command(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the commands (e.g. when the remedy becomes "see the other finding"). */
void finding_clear_commands(Finding *f);
/* Marks f as not judged because the finding `id` (same target) failed, for `reason`.
 * Returns 0, -EINVAL (bad id) or -ENOMEM. */
int finding_set_depends_on(Finding *f, const char *id, const char *reason);
/* Raw bytes (e.g. command output) as detail: bounded to max bytes, made terminal-safe. */
int finding_set_detail_raw(Finding *f, const char *data, size_t size, size_t max);

/* Adds a metric; returns it for optional thresholds, NULL on ENOMEM. */
Metric *finding_add_metric(Finding *f, const char *name, double value, const char *unit);
/* Thresholds that alert when the value rises above them (counts, latency, ages). */
void metric_set_thresholds(Metric *m, bool has_warn, double warn, bool has_crit, double crit);
/* Thresholds that alert when the value falls below them (days left, free space). */
void metric_set_floors(Metric *m, bool has_warn, double warn, bool has_crit, double crit);
void metric_set_range(Metric *m, bool has_min, double min, bool has_max, double max);

/* Moves all findings of src to the end of dst (src is left empty). */
int findings_move(FindingList *dst, FindingList *src);
void findings_done(FindingList *l);
Status findings_worst(const FindingList *l);
void findings_count(const FindingList *l, unsigned counts[_STATUS_MAX]);

/* A finished run: what the renderers print. */
typedef struct Report {
        const char *host;     /* may be NULL */
        const char *domain;   /* may be NULL */
        int64_t started_usec; /* CLOCK_REALTIME, microseconds */
        uint64_t duration_ms;
        const FindingList *findings;
} Report;
