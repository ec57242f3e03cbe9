/* Renderers for findings. Output is deterministic for a given report (golden-tested). */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "render.h"
#include "termsafe.h"

static const char *const format_names[_RENDER_FORMAT_MAX] = {
        [RENDER_TEXT] = "text",
        [RENDER_JSON] = "json",
        [RENDER_NAGIOS] = "nagios",
        [RENDER_PROMETHEUS] = "prometheus",
};

RenderFormat render_format_from_string(const char *s) {
        for (RenderFormat i = 0; i < _RENDER_FORMAT_MAX; i++)
                if (s && streq(s, format_names[i]))
                        return i;
        return _RENDER_FORMAT_INVALID;
}

const char *render_format_to_string(RenderFormat f) {
        return f >= 0 && f < _RENDER_FORMAT_MAX ? format_names[f] : NULL;
}

int render_nagios_exit_code(Status s) {
        return s >= 0 && s < _STATUS_MAX ? (int) s : 3;
}

/* Groups in the order an administrator reads them: is it running, is it configured,
 * does it answer, is it trusted, then the world outside, then the machine. */
static const char *const group_order[] = {
        "service", "config", "port", "tls", "smtp", "imap", "pop3",
        "dns", "dnsbl", "queue", "log", "cert", "system",
};

static size_t group_rank(const char *g) {
        for (size_t i = 0; i < ELEMENTSOF(group_order); i++)
                if (streq(g, group_order[i]))
                        return i;
        return ELEMENTSOF(group_order);
}

static void format_time_utc(int64_t usec, char buf[static 32]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                strcpy(buf, "1970-01-01T00:00:00Z");
}

/* Plain decimal, never exponent notation (perfdata and Prometheus both accept it). */
static void format_number(double v, char buf[static 64]) {
        if (isnan(v))
                strcpy(buf, "NaN");
        else if (isinf(v))
                strcpy(buf, v > 0 ? "+Inf" : "-Inf");
        else if (v == floor(v) && fabs(v) < 1e15)
                snprintf(buf, 64, "%.0f", v);
        else {
                snprintf(buf, 64, "%.6f", v);
                char *e = buf + strlen(buf) - 1;
                while (*e == '0')
                        *e-- = 0;
                if (*e == '.')
                        *e = 0;
        }
}

/* ---- text ---- */

typedef struct Palette {
        const char *reset, *dim, *bold, *status[_STATUS_MAX];
} Palette;

static const Palette palette_color = {
        .reset = "\033[0m",
        .dim = "\033[2m",
        .bold = "\033[1m",
        .status = {
                [STATUS_OK] = "\033[32m",
                [STATUS_WARNING] = "\033[33m",
                [STATUS_CRITICAL] = "\033[1;31m",
                [STATUS_UNKNOWN] = "\033[35m",
        },
};

static const Palette palette_plain = {
        .reset = "", .dim = "", .bold = "", .status = { "", "", "", "" },
};

static const char *status_label(Status s) {
        static const char *const labels[_STATUS_MAX] = {
                [STATUS_OK] = N_("OK"),
                [STATUS_WARNING] = N_("WARNING"),
                [STATUS_CRITICAL] = N_("CRITICAL"),
                [STATUS_UNKNOWN] = N_("UNKNOWN"),
        };
        return _(labels[s]);
}

/* Prints each line of text after a hanging indent of `indent` columns. */
static void print_indented(FILE *f, size_t indent, const char *label, const char *text, const Palette *p) {
        const char *line = text;
        bool first = true;

        while (*line) {
                size_t n = strcspn(line, "\n");
                fprintf(f, "%*s%s%s%s%.*s\n", (int) indent, "", p->dim,
                        first ? label : "", p->reset, (int) n, line);
                if (first)
                        indent += termsafe_width(label);
                first = false;
                line += n;
                if (*line == '\n')
                        line++;
        }
}

/* The finding x folds under in the text output: the one it depends on (same id and
 * target, itself not folded, and a problem, so the cause is in sight), or SIZE_MAX. Only
 * unknown findings fold: a finding that was judged is shown whatever it depends on. */
static size_t fold_target(const FindingList *l, const Finding *x) {
        if (!x->depends_on || x->status != STATUS_UNKNOWN)
                return SIZE_MAX;
        for (size_t k = 0; k < l->n; k++) {
                const Finding *h = &l->items[k];
                if (h != x && !h->depends_on && h->status != STATUS_OK && streq(h->id, x->depends_on) &&
                    streq_ptr(h->target, x->target))
                        return k;
        }
        return SIZE_MAX;
}

/* "TLS" for tls: group names are ASCII ids. */
static void group_upper(const char *g, char buf[static 16]) {
        size_t i = 0;
        for (; g[i] && i < 15; i++)
                buf[i] = (char) toupper((unsigned char) g[i]);
        buf[i] = 0;
}

/* Under finding k: one line per group of the findings folded there, "5 TLS checks not run:
 * port 465 refused the connection". */
static void print_folded(FILE *f, const FindingList *l, const size_t *folded_under, size_t k, size_t indent,
                         const Palette *p) {
        for (size_t i = 0; i < l->n; i++) {
                const Finding *x = &l->items[i];
                bool first = folded_under[i] == k;
                /* the first of its group under k prints the line for the whole group */
                for (size_t e = 0; first && e < i; e++)
                        first = !(folded_under[e] == k && streq(l->items[e].group, x->group));
                if (!first)
                        continue;
                size_t n = 0;
                for (size_t e = i; e < l->n; e++)
                        n += folded_under[e] == k && streq(l->items[e].group, x->group);
                char g[16];
                group_upper(x->group, g);
                fprintf(f, "%*s%s", (int) indent, "", p->dim);
                fprintf(f, ngettext("%zu %s check not run: %s", "%zu %s checks not run: %s", n), n, g,
                        x->not_run_reason ? x->not_run_reason : x->summary);
                fprintf(f, "%s\n", p->reset);
        }
}

int render_text(FILE *f, const Report *r, const RenderOptions *o) {
        const Palette *p = o && o->color ? &palette_color : &palette_plain;
        const FindingList *l = r->findings;
        bool verbose = o && o->verbose;
        size_t id_width = 0, status_width = 0, n_folded = 0;
        _cleanup_free_ size_t *folded_under = NULL;
        unsigned counts[_STATUS_MAX];
        char when[32];

        /* Findings that could not run because another failed (a port that refused) go in one
         * line under it; -v lists each. */
        folded_under = calloc(MAX(l->n, (size_t) 1), sizeof(size_t));
        if (!folded_under)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                folded_under[i] = verbose ? SIZE_MAX : fold_target(l, &l->items[i]);
                n_folded += folded_under[i] != SIZE_MAX;
        }

        for (size_t i = 0; i < l->n; i++)
                if (folded_under[i] == SIZE_MAX)
                        id_width = MAX(id_width, termsafe_width(l->items[i].id));
        for (Status s = 0; s < _STATUS_MAX; s++)
                status_width = MAX(status_width, termsafe_width(status_label(s)));

        /* The detail labels, padded to one display width (a translation need not keep the
         * English alignment, and CJK characters are two columns wide). */
        const char *const label_text[4] = { _("target: "), _("detail: "), _("fix:    "), _("run:    ") };
        char labels[4][64];
        size_t label_width = 0;
        for (size_t k = 0; k < ELEMENTSOF(label_text); k++) {
                size_t n;
                snprintf(labels[k], sizeof(labels[k]), "%s", label_text[k]);
                /* trailing spaces are the English alignment: measure without them */
                for (n = strlen(labels[k]); n > 0 && labels[k][n - 1] == ' ';)
                        labels[k][--n] = 0;
                label_width = MAX(label_width, termsafe_width(labels[k]));
        }
        for (size_t k = 0; k < ELEMENTSOF(label_text); k++) {
                size_t w = termsafe_width(labels[k]), n = strlen(labels[k]);
                for (; w <= label_width && n + 1 < sizeof(labels[k]); w++)
                        labels[k][n++] = ' ';
                labels[k][n] = 0;
        }

        format_time_utc(r->started_usec, when);
        fprintf(f, "%smxdeck check%s", p->bold, p->reset);
        if (r->host)
                fprintf(f, "  %s", r->host);
        fprintf(f, "  %s  (%llu ms)\n", when, (unsigned long long) r->duration_ms);

        /* Stable order: by group rank, then as produced. */
        for (size_t g = 0; g <= ELEMENTSOF(group_order); g++) {
                const char *shown_group = NULL;

                for (size_t i = 0; i < l->n; i++) {
                        const Finding *x = &l->items[i];
                        if (group_rank(x->group) != g || folded_under[i] != SIZE_MAX)
                                continue;
                        if (!shown_group || !streq(shown_group, x->group)) {
                                fprintf(f, "\n%s%s%s\n", p->bold, x->group, p->reset);
                                shown_group = x->group;
                        }

                        _cleanup_free_ char *label = termsafe_fit(status_label(x->status), status_width, true);
                        _cleanup_free_ char *id = termsafe_fit(x->id, id_width, true);
                        if (!label || !id)
                                return -ENOMEM;
                        fprintf(f, "  %s%s%s  %s  %s\n", p->status[x->status], label, p->reset, id,
                                x->summary);

                        size_t indent = 2 + status_width + 2;
                        bool details = x->status != STATUS_OK || verbose;
                        if (details) {
                                if (x->target && *x->target)
                                        print_indented(f, indent, labels[0], x->target, p);
                                if (x->detail && *x->detail)
                                        print_indented(f, indent, labels[1], x->detail, p);
                                if (x->remedy && *x->remedy && x->status != STATUS_OK)
                                        print_indented(f, indent, labels[2], x->remedy, p);
                                /* Each command on its own line, nothing else on it: copied as shown. */
                                for (size_t c = 0; c < x->n_commands && x->status != STATUS_OK; c++)
                                        fprintf(f, "%*s%s%s%s%s\n", (int) indent, "", p->dim, labels[3],
                                                p->reset, x->commands[c]);
                        }
                        if (n_folded)
                                print_folded(f, l, folded_under, i, indent, p);
                }
        }

        findings_count(l, counts);
        Status worst = findings_worst(l);
        fprintf(f, "\n%s%s%s: ", p->status[worst], status_label(worst), p->reset);
        fprintf(f, "%zu %s", l->n, ngettext("check", "checks", l->n));
        fprintf(f, _(", %u ok, %u warning, %u critical, %u unknown"), counts[STATUS_OK], counts[STATUS_WARNING],
                counts[STATUS_CRITICAL], counts[STATUS_UNKNOWN]);
        if (n_folded) {
                /* gcc's sanitizer builds take ngettext for a possibly NULL format: it never
                 * returns NULL (it returns one of its arguments or a translation). */
#pragma GCC diagnostic push
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-overflow"
#endif
                fprintf(f, ngettext(" (%zu not run, folded under the finding it depends on; -v lists it)",
                                    " (%zu not run, folded under the findings they depend on; -v lists them)",
                                    n_folded),
                        n_folded);
#pragma GCC diagnostic pop
        }
        fputc('\n', f);

        return ferror(f) ? -EIO : 0;
}

/* ---- JSON ---- */

static int json_set_string(json_t *o, const char *key, const char *value) {
        json_t *s = json_string(value ? value : "");
        if (!s)
                /* Findings hold valid UTF-8 by construction; anything else is a bug upstream. */
                return -EINVAL;
        return json_object_set_new(o, key, s) < 0 ? -ENOMEM : 0;
}

static json_t *finding_to_json(const Finding *x) {
        json_t *o = json_object(), *m = json_object();
        if (!o || !m)
                goto fail;
        if (json_set_string(o, "id", x->id) < 0 || json_set_string(o, "group", x->group) < 0 ||
            json_set_string(o, "target", x->target) < 0 ||
            json_set_string(o, "status", status_to_string(x->status)) < 0 ||
            json_set_string(o, "summary", x->summary) < 0 || json_set_string(o, "detail", x->detail) < 0 ||
            json_set_string(o, "remedy", x->remedy) < 0)
                goto fail;
        json_t *cmds = json_array();
        if (!cmds || json_object_set_new(o, "commands", cmds) < 0)
                goto fail;
        for (size_t i = 0; i < x->n_commands; i++) {
                json_t *c = json_string(x->commands[i]);
                if (!c || json_array_append_new(cmds, c) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < x->n_metrics; i++) {
                const Metric *mt = &x->metrics[i];
                json_t *v;
                if (mt->scope == METRIC_PROMETHEUS_ONLY || !isfinite(mt->value))
                        continue; /* JSON has no NaN/Inf */
                if (mt->value == floor(mt->value) && fabs(mt->value) < 9e15)
                        v = json_integer((json_int_t) mt->value);
                else
                        v = json_real(mt->value);
                if (!v || json_object_set_new(m, mt->name, v) < 0)
                        goto fail;
        }
        if (json_object_set_new(o, "metrics", m) < 0)
                goto fail_o;
        return o;
fail:
        json_decref(m);
fail_o:
        json_decref(o);
        return NULL;
}

int render_json(FILE *f, const Report *r) {
        const FindingList *l = r->findings;
        unsigned counts[_STATUS_MAX];
        char when[32];
        int ret = -ENOMEM;

        json_t *root = json_object(), *c = json_object(), *arr = json_array();
        if (!root || !c || !arr)
                goto out;

        format_time_utc(r->started_usec, when);
        findings_count(l, counts);
        if (json_set_string(root, "schema", "mxdeck.check/1") < 0)
                goto out;
        json_t *host = r->host ? json_string(r->host) : json_null();
        json_t *domain = r->domain ? json_string(r->domain) : json_null();
        if (!host || !domain) {
                /* json_string refuses invalid UTF-8: the caller forgot termsafe. */
                json_decref(host);
                json_decref(domain);
                ret = -EINVAL;
                goto out;
        }
        if (json_object_set_new(root, "host", host) < 0 || json_object_set_new(root, "domain", domain) < 0 ||
            json_set_string(root, "started", when) < 0 ||
            json_object_set_new(root, "duration_ms", json_integer((json_int_t) r->duration_ms)) < 0 ||
            json_set_string(root, "status", status_to_string(findings_worst(l))) < 0)
                goto out;
        for (Status s = 0; s < _STATUS_MAX; s++)
                if (json_object_set_new(c, status_to_string(s), json_integer(counts[s])) < 0)
                        goto out;
        if (json_object_set(root, "counts", c) < 0)
                goto out;
        for (size_t i = 0; i < l->n; i++) {
                json_t *x = finding_to_json(&l->items[i]);
                if (!x || json_array_append_new(arr, x) < 0)
                        goto out;
        }
        if (json_object_set(root, "findings", arr) < 0)
                goto out;
        if (json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
                ret = -EIO;
                goto out;
        }
        fputc('\n', f);
        ret = ferror(f) ? -EIO : 0;
out:
        json_decref(root);
        json_decref(c);
        json_decref(arr);
        return ret;
}

/* ---- Nagios ---- */

/* Columns of the first line before the perfdata. */
#define NAGIOS_FIRST_LINE_MAX 200u

/* Plugin output must not contain '|' outside the perfdata separator. */
static void nagios_text(FILE *f, const char *s) {
        for (; *s; s++)
                fputc(*s == '|' ? '/' : *s, f);
}

/* Labels are stable across runs: id, metric and target, so graphs keep their history
 * whether or not another target of the same id shows up. */
static void nagios_label(FILE *f, const Finding *x, const Metric *m) {
        _cleanup_free_ char *label = NULL;

        if (x->target && *x->target) {
                if (asprintf(&label, "%s.%s@%s", x->id, m->name, x->target) < 0)
                        return;
        } else if (asprintf(&label, "%s.%s", x->id, m->name) < 0)
                return;
        fputc('\'', f);
        for (const char *p = label; *p; p++) {
                if (*p == '\'')
                        fputc('\'', f); /* quotes in labels are doubled */
                if (*p == '=' || *p == '|' || *p == '\n')
                        fputc('_', f);
                else
                        fputc(*p, f);
        }
        fputc('\'', f);
}

static const char *nagios_uom(const char *unit) {
        static const char *const valid[] = { "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c" };
        for (size_t i = 0; i < ELEMENTSOF(valid); i++)
                if (streq(unit, valid[i]))
                        return unit;
        return "";
}

int render_nagios(FILE *f, const Report *r) {
        const FindingList *l = r->findings;
        Status worst = findings_worst(l);
        unsigned counts[_STATUS_MAX];
        char num[64];

        findings_count(l, counts);
        fprintf(f, "MXDECK %s: ", status_to_nagios(worst));
        if (l->n == 0)
                fputs(_("no checks ran"), f);
        else if (worst == STATUS_OK)
                fprintf(f, ngettext("%zu check ok", "%zu checks ok", l->n), l->n);
        else {
                /* The worst problems first, as many as fit in NAGIOS_FIRST_LINE_MAX columns
                 * (monitoring front ends show the first line in a table cell and in
                 * notifications); at least one, cut to fit. The rest is in the long output. */
                static const Status order[] = { STATUS_CRITICAL, STATUS_WARNING, STATUS_UNKNOWN };
                unsigned shown = 0, problems = counts[STATUS_CRITICAL] + counts[STATUS_WARNING] +
                                               counts[STATUS_UNKNOWN];
                size_t used = strlen("MXDECK ") + strlen(status_to_nagios(worst)) + 2;
                bool full = false;
                for (size_t k = 0; k < ELEMENTSOF(order) && !full; k++)
                        for (size_t i = 0; i < l->n && !full; i++) {
                                const Finding *x = &l->items[i];
                                if (x->status != order[k])
                                        continue;
                                _cleanup_free_ char *item = NULL;
                                if (asprintf(&item, "%s%s: %s", shown ? "; " : "", x->id, x->summary) < 0)
                                        return -ENOMEM;
                                for (char *c = item; *c; c++)
                                        if (*c == '|')
                                                *c = '/';
                                /* Room kept for " (+N more)". */
                                size_t tail = problems > shown + 1 ? 12 : 0;
                                size_t w = termsafe_width(item);
                                if (used + w + tail > NAGIOS_FIRST_LINE_MAX) {
                                        full = true;
                                        if (shown > 0)
                                                break;
                                        _cleanup_free_ char *cut = termsafe_fit(item, NAGIOS_FIRST_LINE_MAX - used - tail, false);
                                        if (!cut)
                                                return -ENOMEM;
                                        fputs(cut, f);
                                } else
                                        fputs(item, f);
                                used += w;
                                shown++;
                        }
                if (problems > shown)
                        fprintf(f, _(" (+%u more)"), problems - shown);
        }

        bool first = true;
        for (size_t i = 0; i < l->n; i++)
                for (size_t j = 0; j < l->items[i].n_metrics; j++) {
                        const Metric *m = &l->items[i].metrics[j];
                        if (m->scope == METRIC_PROMETHEUS_ONLY || !isfinite(m->value))
                                continue;
                        fputs(first ? " | " : " ", f);
                        first = false;
                        nagios_label(f, &l->items[i], m);
                        format_number(m->value, num);
                        fprintf(f, "=%s%s;", num, nagios_uom(m->unit));
                        /* Plugin ranges: "10" alerts above 10, "10:" alerts below 10. */
                        const char *floor_mark = m->alert_below ? ":" : "";
                        if (m->has_warn) {
                                format_number(m->warn, num);
                                fprintf(f, "%s%s", num, floor_mark);
                        }
                        fputc(';', f);
                        if (m->has_crit) {
                                format_number(m->crit, num);
                                fprintf(f, "%s%s", num, floor_mark);
                        }
                        fputc(';', f);
                        if (m->has_min) {
                                format_number(m->min, num);
                                fputs(num, f);
                        }
                        fputc(';', f);
                        if (m->has_max) {
                                format_number(m->max, num);
                                fputs(num, f);
                        }
                }
        fputc('\n', f);

        /* Long output: the problems with their remedies, then how many are fine. Nagios
         * Core keeps only the first 8 KB, so the ok findings are only counted. */
        for (size_t i = 0; i < l->n; i++) {
                const Finding *x = &l->items[i];
                if (x->status == STATUS_OK)
                        continue;
                fprintf(f, "[%s] %s", status_to_nagios(x->status), x->id);
                if (x->target && *x->target) {
                        fputs(" (", f);
                        nagios_text(f, x->target);
                        fputc(')', f);
                }
                fputs(": ", f);
                nagios_text(f, x->summary);
                fputc('\n', f);
                if (x->remedy && *x->remedy) {
                        const char *line = x->remedy;
                        while (*line) {
                                size_t n = strcspn(line, "\n");
                                _cleanup_free_ char *one = strndup(line, n);
                                if (!one)
                                        return -ENOMEM;
                                fputs("    ", f);
                                nagios_text(f, one);
                                fputc('\n', f);
                                line += n + (line[n] == '\n');
                        }
                }
                for (size_t c = 0; c < x->n_commands; c++) {
                        fputs("    $ ", f);
                        nagios_text(f, x->commands[c]);
                        fputc('\n', f);
                }
        }
        if (worst != STATUS_OK && counts[STATUS_OK] > 0)
                fprintf(f, ngettext("%u other check ok\n", "%u other checks ok\n", counts[STATUS_OK]),
                        counts[STATUS_OK]);
        return ferror(f) ? -EIO : 0;
}

/* ---- Prometheus text exposition (node_exporter textfile collector) ---- */

static void prom_label_value(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '"')
                        fputs("\\\"", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

/* Prometheus names for the metrics checks produce: base units (seconds, bytes, ratios),
 * the unit as the last word, a name that says what it measures (promtool check metrics
 * passes them). Others fall back to mxdeck_NAME, milliseconds turned into seconds. */
static const struct PromName {
        const char *metric;
        const char *name;
        double scale;
        const char *help;
} prom_names[] = {
        { "latency_ms", "mxdeck_greeting_latency_seconds", 0.001, "Time from connect to the server's greeting." },
        { "probe_ms", "mxdeck_probe_duration_seconds", 0.001, "How long probing one mail listener took, every connection included." },
        { "seconds_left", "mxdeck_certificate_expiry_seconds", 1, "Seconds until the served certificate expires (negative once expired)." },
        { "lookups", "mxdeck_spf_dns_lookups", 1, "DNS-querying terms an SPF evaluation needs (the limit is 10)." },
        { "void_lookups", "mxdeck_spf_void_lookups", 1, "SPF lookups that return no answer (the limit is 2)." },
        { "key_bits", "mxdeck_dkim_key_bits", 1, "Size of the published DKIM key in bits." },
        { "disk_free_percent", "mxdeck_disk_free_ratio", 0.01, "Free space on the file system, as a ratio." },
        { "disk_free_bytes", "mxdeck_disk_free_bytes", 1, "Free space on the file system available to Postfix and Dovecot." },
        { "disk_inodes_free_percent", "mxdeck_disk_inodes_free_ratio", 0.01, "Free inodes on the file system, as a ratio." },
        { "messages", "mxdeck_queue_messages", 1, "Messages in the mail queue (queue.size: all queues; queue.deferred: the deferred queue)." },
        { "oldest_age", "mxdeck_queue_oldest_age_seconds", 1, "Age of the oldest deferred message." },
        { "top_sender_percent", "mxdeck_queue_top_sender_ratio", 0.01, "Share of the queue held by its busiest sender." },
        { "failures", "mxdeck_log_auth_failures", 1, "Authentication failures in the mail log over the check's window." },
};

static const struct PromName *prom_known(const char *metric) {
        for (size_t i = 0; i < ELEMENTSOF(prom_names); i++)
                if (streq(metric, prom_names[i].metric))
                        return &prom_names[i];
        return NULL;
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*, base units (milliseconds become seconds). */
static char *prom_metric_name(const Metric *m, double *ret_scale) {
        const struct PromName *k = prom_known(m->name);
        const char *name = m->name;
        size_t n = strlen(name);
        char *out;

        *ret_scale = 1;
        if (k) {
                *ret_scale = k->scale;
                return strdup(k->name);
        }
        if (streq(m->unit, "ms") || (n > 3 && streq(name + n - 3, "_ms"))) {
                if (n > 3 && streq(name + n - 3, "_ms"))
                        n -= 3;
                if (asprintf(&out, "mxdeck_%.*s_seconds", (int) n, name) < 0)
                        return NULL;
                *ret_scale = 0.001;
        } else if (asprintf(&out, "mxdeck_%s", name) < 0)
                return NULL;
        for (char *p = out; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == ':'))
                        *p = '_';
        return out;
}

static void prom_labels(FILE *f, const Finding *x) {
        fputs("{id=\"", f);
        prom_label_value(f, x->id);
        fputs("\",target=\"", f);
        prom_label_value(f, strempty(x->target));
        fputs("\"}", f);
}

int render_prometheus(FILE *f, const Report *r) {
        const FindingList *l = r->findings;
        char num[64];

        fputs("# HELP mxdeck_check_status Status of an mxdeck check: 0 ok, 1 warning, 2 critical, 3 unknown.\n"
              "# TYPE mxdeck_check_status gauge\n", f);
        for (size_t i = 0; i < l->n; i++) {
                fputs("mxdeck_check_status", f);
                prom_labels(f, &l->items[i]);
                fprintf(f, " %d\n", (int) l->items[i].status);
        }

        /* One family per metric name, all its samples together, in first-seen order. */
        for (size_t i = 0; i < l->n; i++)
                for (size_t j = 0; j < l->items[i].n_metrics; j++) {
                        const Metric *m = &l->items[i].metrics[j];
                        bool seen = false;

                        if (m->scope == METRIC_NOT_PROMETHEUS)
                                continue;

                        for (size_t a = 0; a <= i && !seen; a++)
                                for (size_t b = 0; b < l->items[a].n_metrics && (a < i || b < j); b++)
                                        if (streq(l->items[a].metrics[b].name, m->name)) {
                                                seen = true;
                                                break;
                                        }
                        if (seen)
                                continue;

                        double scale;
                        _cleanup_free_ char *name = prom_metric_name(m, &scale);
                        if (!name)
                                return -ENOMEM;
                        const struct PromName *k = prom_known(m->name);
                        if (k)
                                fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, k->help, name);
                        else
                                fprintf(f, "# HELP %s mxdeck check metric %s.\n# TYPE %s gauge\n", name, m->name, name);
                        for (size_t a = i; a < l->n; a++)
                                for (size_t b = 0; b < l->items[a].n_metrics; b++) {
                                        const Metric *mm = &l->items[a].metrics[b];
                                        if (!streq(mm->name, m->name))
                                                continue;
                                        format_number(mm->value * scale, num);
                                        fputs(name, f);
                                        prom_labels(f, &l->items[a]);
                                        fprintf(f, " %s\n", num);
                                }
                }

        format_number((double) r->duration_ms / 1000.0, num);
        fprintf(f, "# HELP mxdeck_check_duration_seconds How long the mxdeck check run took.\n"
                   "# TYPE mxdeck_check_duration_seconds gauge\n"
                   "mxdeck_check_duration_seconds %s\n", num);
        format_number((double) (r->started_usec / 1000000), num);
        fprintf(f, "# HELP mxdeck_check_last_run_timestamp_seconds When the mxdeck check run started (Unix time).\n"
                   "# TYPE mxdeck_check_last_run_timestamp_seconds gauge\n"
                   "mxdeck_check_last_run_timestamp_seconds %s\n", num);
        return ferror(f) ? -EIO : 0;
}

int render_report(FILE *f, RenderFormat format, const Report *r, const RenderOptions *o) {
        switch (format) {
        case RENDER_TEXT:
                return render_text(f, r, o);
        case RENDER_JSON:
                return render_json(f, r);
        case RENDER_NAGIOS:
                return render_nagios(f, r);
        case RENDER_PROMETHEUS:
                return render_prometheus(f, r);
        default:
                return -EINVAL;
        }
}
