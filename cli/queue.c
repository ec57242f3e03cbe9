/* `mxdeck queue`: the mail queue at a glance (summary, list, shape, show) and safe actions
 * (hold, release, delete, requeue, expire, flush). Parsing is split from running: the
 * options fill a QueueArgs, each sub-command runs on it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "context.h"
#include "macro.h"
#include "queue-actions.h"
#include "queue-checks.h"
#include "queue-model.h"
#include "queue-source.h"
#include "settings.h"
#include "subprocess.h"
#include "termsafe.h"
#include "verbs.h"

const char verb_queue_usage[] = N_(
        "Usage: mxdeck queue [COMMAND] [OPTIONS] [ID...]\n"
        "\n"
        "Show the Postfix mail queue and act on it safely.\n"
        "\n"
        "Commands:\n"
        "  (none), summary   counts and bytes per queue, the oldest message, top recipient\n"
        "                    domains and senders, top deferral reasons (normalised)\n"
        "  list              the messages, with filters\n"
        "  shape             messages per domain and age, as qshape(1) shows them\n"
        "  show ID           one message: envelope, headers and the start of the body\n"
        "  hold, release, delete, requeue, expire\n"
        "                    act on the messages given by ID or selected by the filters\n"
        "                    (postsuper -h, -H, -d, -r, -f)\n"
        "  flush             retry deferred mail now (postqueue -f, or -s SITE)\n"
        "\n"
        "Filters (list and actions; all given must match):\n"
        "      --queue Q            maildrop, incoming, active, deferred, hold (repeatable)\n"
        "      --domain D           a recipient at domain D (.D: D and its subdomains)\n"
        "      --sender S           the sender is exactly S (@D: any sender at domain D;\n"
        "                           MAILER-DAEMON: the null sender)\n"
        "      --recipient R        a recipient is exactly R\n"
        "      --older-than DUR     arrived at least DUR ago (90s, 30m, 2h, 3d, 1w)\n"
        "      --reason RE          a delay reason matches the extended regex RE\n"
        "                           (case-insensitive)\n"
        "\n"
        "Shape:\n"
        "      --sender             rows by sender domain instead of recipient domain\n"
        "      --parent             also rows for parent domains (.example.com) with at\n"
        "                           least 5 subdomains shown\n"
        "      --linear             buckets 5, 10, 15... minutes instead of 5, 10, 20, 40...\n"
        "      --tick MIN           width of the first bucket in minutes (default 5)\n"
        "      --buckets N          number of age buckets (default 10)\n"
        "      (default queues for shape: all but corrupt)\n"
        "\n"
        "Actions:\n"
        "      --all                every message (an empty filter never means all)\n"
        "  -n, --dry-run            print exactly which messages, change nothing\n"
        "  -y, --yes                act without asking. Otherwise delete and expire ask\n"
        "                           (without a terminal they are refused), and on a\n"
        "                           terminal any action on more than 100 messages wants\n"
        "                           the count typed back\n"
        "      --site SITE          flush: only mail for SITE (postqueue -s)\n"
        "\n"
        "Source:\n"
        "      --input FILE         read a saved `postqueue -j` (or -p) listing (- for stdin)\n"
        "      --source SRC         auto (default: the queue files when readable, as root\n"
        "                           or the mail owner; else postqueue -j), files, postqueue\n"
        "                           (postqueue -j, or -p when Postfix is older than 3.1);\n"
        "                           postqueue-p forces the -p listing (for tests)\n"
        "      --format FORMAT      text (default) or json (summary, list, shape)\n"
        "      --config FILE        settings file instead of /etc/mxdeck/mxdeck.conf and\n"
        "                           ~/.config/mxdeck/mxdeck.conf ([queue] read_only = yes\n"
        "                           disables every action)\n"
        "  -h, --help               show this help\n"
        "\n"
        "Exit status: 0 done, 1 failed or refused, 2 usage error.\n");

/* What a run works on: the parsed options (cli/context.c, the table every verb shares)
 * and the queue options derived from them. */
typedef struct QueueArgs {
        CliQueueCommand sub;
        QueueAction action;
        bool json;
        QueueSourceOptions source;
        QueueFilter filter;     /* a copy: its regex belongs to the options */
        QshapeOptions shape;
        bool shape_sender_flag; /* --sender without a value (shape) */
        bool all, dry_run, yes;
        const char *site;
        char **ids;             /* positional */
        size_t n_ids;
} QueueArgs;

static void queue_usage_error(const char *fmt, ...) _printf_(1, 2);
static void queue_usage_error(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        usage_error("queue", "%s", msg ? msg : fmt);
}

/* Outside text made terminal-safe; on allocation failure a static "?" that
 * safe_freep() leaves alone, so printing never needs a NULL check. */
static char safe_oom[] = "?";

static char *safe(const char *s) {
        char *t = termsafe_strdup(s ? s : "", 0);
        return t ? t : safe_oom;
}

static void safe_freep(char **p) {
        if (*p != safe_oom)
                free(*p);
}

/* jansson wants valid UTF-8: everything here passed Postfix's printable() or jansson, but
 * stay safe: fall back to the terminal-safe copy. */
static json_t *jstr(const char *s) {
        json_t *j = json_string(s ? s : "");
        if (!j) {
                _cleanup_(safe_freep) char *t = safe(s);
                j = json_string(t);
        }
        return j;
}

static int64_t now_seconds(void) {
        return (int64_t) time(NULL);
}

/* --- option parsing: the shared table, then what each command accepts --- */

static int check_args(QueueArgs *a) {
        /* what each command accepts */
        bool filters = !queue_filter_is_empty(&a->filter);
        if (a->n_ids && a->sub != CLI_QUEUE_SHOW && a->sub != CLI_QUEUE_ACTION) {
                queue_usage_error(_("unexpected argument '%s'"), a->ids[0]);
                return -EINVAL;
        }
        if (a->sub == CLI_QUEUE_SHOW && a->n_ids != 1) {
                queue_usage_error(_("show wants exactly one queue id"));
                return -EINVAL;
        }
        if (a->shape_sender_flag && a->sub != CLI_QUEUE_SHAPE) {
                queue_usage_error(_("--sender needs an address"));
                return -EINVAL;
        }
        if (a->sub == CLI_QUEUE_SHAPE && (a->filter.sender || a->filter.domain || a->filter.recipient ||
                                    a->filter.older_than_s || a->filter.has_reason)) {
                queue_usage_error(_("shape takes --queue, --sender (no value), --parent, --linear, --tick, "
                                    "--buckets"));
                return -EINVAL;
        }
        if ((a->all || a->dry_run || a->yes) && a->sub != CLI_QUEUE_ACTION && !(a->sub == CLI_QUEUE_FLUSH && a->dry_run)) {
                queue_usage_error(_("--all, --dry-run and --yes are for actions"));
                return -EINVAL;
        }
        if (a->site && a->sub != CLI_QUEUE_FLUSH) {
                queue_usage_error(_("--site is for flush"));
                return -EINVAL;
        }
        if (a->sub == CLI_QUEUE_ACTION) {
                for (size_t i = 0; i < a->n_ids; i++)
                        if (!queue_id_is_valid(a->ids[i])) {
                                _cleanup_(safe_freep) char *s = safe(a->ids[i]);
                                queue_usage_error(_("'%s' is not a queue id"), s);
                                return -EINVAL;
                        }
                if (a->n_ids && (filters || a->all)) {
                        queue_usage_error(_("give queue ids or filters (or --all), not both"));
                        return -EINVAL;
                }
                if (!a->n_ids && !filters && !a->all) {
                        queue_usage_error(_("%s needs queue ids, a filter, or --all: an empty filter never "
                                            "means every message"), queue_action_to_string(a->action));
                        return -EINVAL;
                }
                if (a->all && filters) {
                        queue_usage_error(_("--all cannot be combined with filters"));
                        return -EINVAL;
                }
        }
        if (a->json && (a->sub == CLI_QUEUE_SHOW || a->sub == CLI_QUEUE_ACTION || a->sub == CLI_QUEUE_FLUSH)) {
                queue_usage_error(_("--format json is for summary, list and shape"));
                return -EINVAL;
        }
        return 0;
}

/* --- output helpers --- */

static const char *human_bytes(uint64_t b, char *buf, size_t size) {
        if (b < 1024)
                snprintf(buf, size, "%" PRIu64 " B", b);
        else if (b < 1024 * 1024)
                snprintf(buf, size, "%.1f KiB", (double) b / 1024);
        else if (b < UINT64_C(1) << 30)
                snprintf(buf, size, "%.1f MiB", (double) b / (1024 * 1024));
        else
                snprintf(buf, size, "%.1f GiB", (double) b / (1024.0 * 1024 * 1024));
        return buf;
}

static void print_issues(const QueueSnapshot *s) {
        for (size_t i = 0; i < s->n_issues; i++) {
                _cleanup_(safe_freep) char *w = safe(s->issues[i].where), *t = safe(s->issues[i].what);
                fprintf(stderr, _("mxdeck queue: %s: %s (skipped)\n"), w, t);
        }
        if (s->n_issues_total > s->n_issues)
                fprintf(stderr, _("mxdeck queue: %zu more problems not shown\n"), s->n_issues_total - s->n_issues);
}

static int json_print(json_t *root) {
        int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (r < 0)
                return -EIO;
        fputc('\n', stdout);
        return 0;
}

/* --- summary --- */

#define TOP_N 10

static json_t *json_counts(const QueueCount *v, size_t n, const char *key, bool example) {
        json_t *a = json_array();
        for (size_t i = 0; i < MIN(n, (size_t) TOP_N); i++) {
                json_t *o = json_object();
                json_object_set_new(o, key, jstr(v[i].key));
                json_object_set_new(o, "count", json_integer((json_int_t) v[i].count));
                if (example)
                        json_object_set_new(o, "example", jstr(v[i].example));
                json_array_append_new(a, o);
        }
        return a;
}

static void text_counts(const char *title, const QueueCount *v, size_t n, bool example) {
        if (n == 0)
                return;
        printf("\n%s\n", title);
        for (size_t i = 0; i < MIN(n, (size_t) TOP_N); i++) {
                _cleanup_(safe_freep) char *k = safe(v[i].key);
                printf("  %7" PRIu64 "  %s\n", v[i].count, k);
                if (example) {
                        _cleanup_(safe_freep) char *e = safe(v[i].example);
                        printf("           %s %s\n", _("e.g."), e);
                }
        }
        if (n > TOP_N)
                printf(_("  (%zu more)\n"), n - TOP_N);
}

static int run_summary(const QueueArgs *a, const QueueSnapshot *s) {
        QueueSummary sum = {};
        int64_t now = now_seconds();
        char b1[32], b2[32];
        int r;

        r = queue_summary_build(s, &sum);
        if (r < 0)
                return r;
        if (a->json) {
                json_t *root = json_object(), *queues = json_object();
                json_object_set_new(root, "schema", json_string("mxdeck.queue/1"));
                json_object_set_new(root, "total", json_integer((json_int_t) sum.total));
                json_object_set_new(root, "bytes", json_integer((json_int_t) sum.bytes));
                /* 0 for an empty queue: the schema promises a number */
                json_object_set_new(root, "oldest_age_s",
                                    json_integer(sum.total ? (json_int_t) MAX(now - sum.oldest_arrival, (int64_t) 0) : 0));
                for (int q = 0; q < _QUEUE_MAX; q++) {
                        json_t *o = json_object();
                        uint64_t count = q == QUEUE_CORRUPT ? s->corrupt_count : sum.queues[q].count;
                        uint64_t bytes = q == QUEUE_CORRUPT ? s->corrupt_bytes : sum.queues[q].bytes;
                        json_object_set_new(o, "count", json_integer((json_int_t) count));
                        json_object_set_new(o, "bytes", json_integer((json_int_t) bytes));
                        json_object_set_new(queues, queue_name_to_string((QueueName) q), o);
                }
                json_object_set_new(root, "queues", queues);
                json_object_set_new(root, "domains", json_counts(sum.domains, sum.n_domains, "domain", false));
                json_object_set_new(root, "senders", json_counts(sum.senders, sum.n_senders, "sender", false));
                json_object_set_new(root, "sender_domains",
                                    json_counts(sum.sender_domains, sum.n_sender_domains, "domain", false));
                json_object_set_new(root, "reasons", json_counts(sum.reasons, sum.n_reasons, "reason", true));
                queue_summary_done(&sum);
                return json_print(root);
        }

        printf(_("Queue: %" PRIu64 " messages, %s"), sum.total, human_bytes(sum.bytes, b1, sizeof(b1)));
        if (sum.oldest) {
                _cleanup_(safe_freep) char *id = safe(sum.oldest->queue_id);
                printf(_("; oldest %s (%s, %s)"), queue_format_age(now - sum.oldest_arrival, b2, sizeof(b2)), id,
                       queue_name_to_string(sum.oldest->queue));
        }
        printf("\n\n");
        /* columns counted in display width: headers and ages are translated (CJK is two wide) */
        fputs("  ", stdout);
        termsafe_fputs_padded(stdout, _("QUEUE"), -10);
        fputc(' ', stdout);
        termsafe_fputs_padded(stdout, _("MESSAGES"), 9);
        fputc(' ', stdout);
        termsafe_fputs_padded(stdout, _("BYTES"), 12);
        fputc(' ', stdout);
        termsafe_fputs_padded(stdout, _("OLDEST"), 12);
        fputc('\n', stdout);
        for (int q = 0; q < _QUEUE_MAX; q++) {
                uint64_t count = q == QUEUE_CORRUPT ? s->corrupt_count : sum.queues[q].count;
                uint64_t bytes = q == QUEUE_CORRUPT ? s->corrupt_bytes : sum.queues[q].bytes;
                printf("  %-10s %9" PRIu64 " %12s ", queue_name_to_string((QueueName) q), count,
                       human_bytes(bytes, b1, sizeof(b1)));
                termsafe_fputs_padded(stdout,
                                      q != QUEUE_CORRUPT && count ?
                                      queue_format_age(now - sum.queues[q].oldest_arrival, b2, sizeof(b2)) : "-",
                                      12);
                fputc('\n', stdout);
        }
        text_counts(_("Messages by recipient domain:"), sum.domains, sum.n_domains, false);
        text_counts(_("Messages by sender:"), sum.senders, sum.n_senders, false);
        text_counts(_("Messages by sender domain:"), sum.sender_domains, sum.n_sender_domains, false);
        text_counts(_("Deferral reasons (recipients; addresses, ids and numbers masked):"), sum.reasons,
                    sum.n_reasons, true);
        queue_summary_done(&sum);
        return 0;
}

/* --- list --- */

static int run_list(const QueueArgs *a, const QueueSnapshot *s) {
        char when[64];
        size_t shown = 0;

        if (a->json) {
                json_t *root = json_object(), *msgs = json_array();
                json_object_set_new(root, "schema", json_string("mxdeck.queuelist/1"));
                for (size_t i = 0; i < s->n; i++) {
                        const QueueMessage *m = &s->messages[i];
                        if (!queue_filter_match(&a->filter, m))
                                continue;
                        json_t *o = json_object(), *rc = json_array();
                        json_object_set_new(o, "queue_id", jstr(m->queue_id));
                        json_object_set_new(o, "queue_name", json_string(queue_name_to_string(m->queue)));
                        json_object_set_new(o, "arrival_time", json_integer((json_int_t) m->arrival_time));
                        json_object_set_new(o, "message_size", json_integer((json_int_t) m->message_size));
                        json_object_set_new(o, "sender", jstr(m->sender));
                        for (size_t k = 0; k < m->n_recipients; k++) {
                                json_t *r = json_object();
                                json_object_set_new(r, "address", jstr(m->recipients[k].address));
                                json_object_set_new(r, "delay_reason", m->recipients[k].delay_reason
                                                                           ? jstr(m->recipients[k].delay_reason)
                                                                           : json_null());
                                json_array_append_new(rc, r);
                        }
                        json_object_set_new(o, "recipients", rc);
                        json_array_append_new(msgs, o);
                }
                json_object_set_new(root, "messages", msgs);
                return json_print(root);
        }

        for (size_t i = 0; i < s->n; i++) {
                const QueueMessage *m = &s->messages[i];
                if (!queue_filter_match(&a->filter, m))
                        continue;
                if (shown++ == 0) {
                        termsafe_fputs_padded(stdout, _("QUEUE ID"), -16);
                        fputc(' ', stdout);
                        termsafe_fputs_padded(stdout, _("QUEUE"), -9);
                        fputc(' ', stdout);
                        termsafe_fputs_padded(stdout, _("SIZE"), 9);
                        fputc(' ', stdout);
                        termsafe_fputs_padded(stdout, _("ARRIVED"), -19);
                        printf(" %s\n", _("SENDER"));
                }
                time_t t = (time_t) m->arrival_time;
                struct tm tm;
                if (!localtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                        snprintf(when, sizeof(when), "%" PRId64, m->arrival_time);
                _cleanup_(safe_freep) char *id = safe(m->queue_id), *sender = safe(m->sender);
                printf("%-16s %-9s %9" PRIu64 " %-19s %s%s\n", id, queue_name_to_string(m->queue), m->message_size, when,
                       sender, m->forced_expire ? _(" (expired)") : "");
                for (size_t k = 0; k < m->n_recipients; k++) {
                        _cleanup_(safe_freep) char *addr = safe(m->recipients[k].address);
                        printf("    %s\n", addr);
                        if (m->recipients[k].delay_reason) {
                                _cleanup_(safe_freep) char *why = safe(m->recipients[k].delay_reason);
                                printf("        (%s)\n", why);
                        }
                }
        }
        printf(_("%zu of %zu messages\n"), shown, s->n);
        return 0;
}

/* --- shape --- */

static int run_shape(const QueueArgs *a, const QueueSnapshot *s) {
        QshapeOptions o = a->shape;
        Qshape q = {};
        int r;

        o.sender = a->shape_sender_flag;
        o.queues = a->filter.queues;
        r = qshape_build(s, &o, &q);
        if (r < 0)
                return r;
        if (a->json) {
                json_t *root = json_object(), *b = json_array(), *rows = json_array();
                json_object_set_new(root, "schema", json_string("mxdeck.qshape/1"));
                for (unsigned i = 0; i < q.n_buckets; i++)
                        json_array_append_new(b, json_integer(q.limits[i]));
                json_object_set_new(root, "buckets", b);
                for (size_t i = 0; i < q.n_rows; i++) {
                        json_t *row = json_object(), *c = json_array();
                        json_object_set_new(row, "domain", jstr(q.rows[i].domain));
                        json_object_set_new(row, "total", json_integer((json_int_t) q.rows[i].total));
                        for (unsigned k = 0; k < q.n_buckets; k++)
                                json_array_append_new(c, json_integer((json_int_t) q.rows[i].counts[k]));
                        json_object_set_new(row, "counts", c);
                        json_array_append_new(rows, row);
                }
                json_object_set_new(root, "rows", rows);
                qshape_done(&q);
                return json_print(root);
        }

        /* qshape's layout: column widths from the TOTAL row and the headings */
        char heads[QSHAPE_MAX_BUCKETS + 1][24];
        int widths[QSHAPE_MAX_BUCKETS + 1];
        int dw = 80;
        for (unsigned i = 0; i <= q.n_buckets; i++) {
                char num[24];
                if (i == 0)
                        snprintf(heads[i], sizeof(heads[i]), "T");
                else
                        snprintf(heads[i], sizeof(heads[i]), "%u%s", q.limits[i - 1], i == q.n_buckets ? "+" : "");
                snprintf(num, sizeof(num), "%" PRIu64, i == 0 ? q.rows[0].total : q.rows[0].counts[i - 1]);
                int l = (int) MAX(strlen(num), strlen(heads[i]));
                widths[i] = l > 2 ? l + 1 : 3;
                dw -= widths[i];
        }
        if (dw < 18)
                dw = 18;
        printf("%*s", dw, "");
        for (unsigned i = 0; i <= q.n_buckets; i++)
                printf("%*s", widths[i], heads[i]);
        printf("\n");
        for (size_t k = 0; k < q.n_rows; k++) {
                _cleanup_(safe_freep) char *d = safe(q.rows[k].domain);
                size_t w = termsafe_width(d);
                if (w > (size_t) dw) {
                        /* keep the end, as qshape does: "+" marks the cut */
                        const char *p = d;
                        while (termsafe_width(p) > (size_t) dw - 1)
                                p++;
                        while ((*p & 0xC0) == 0x80)
                                p++;
                        printf("+%*s", dw - 1, p);
                } else
                        printf("%*s%s", (int) (dw - (int) w), "", d);
                printf("%*" PRIu64, widths[0], q.rows[k].total);
                for (unsigned i = 0; i < q.n_buckets; i++)
                        printf("%*" PRIu64, widths[i + 1], q.rows[k].counts[i]);
                printf("\n");
        }
        qshape_done(&q);
        return 0;
}

/* --- show --- */

#define SHOW_MAX_OUTPUT ((size_t) 64 * 1024)

static int run_show(const QueueArgs *a) {
        const char *id = a->ids[0];
        if (!queue_id_is_valid(id)) {
                _cleanup_(safe_freep) char *s = safe(id);
                queue_usage_error(_("'%s' is not a queue id"), s);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *out = NULL, *err = NULL;
        bool truncated = false;
        int r = queue_show_message(id, SHOW_MAX_OUTPUT, DEADLINE_NONE, true, &out, &truncated, &err);

        if (r == -ENOMEM || (r < 0 && !out)) {
                fprintf(stderr, _("mxdeck queue: cannot run postcat: %s\n"), err ? err : strerror(-r));
                return EXIT_FAILED;
        }
        fputs(out, stdout);
        if (truncated)
                printf(_("\n[... cut at %zu KiB]\n"), SHOW_MAX_OUTPUT / 1024);
        if (r < 0) {
                fprintf(stderr, _("mxdeck queue: postcat -q %s failed: %s\n"), id, err ? err : strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

/* --- actions --- */

static bool confirm(QueueAction act, size_t n) {
        char line[64];

        if (n > 100) {
                fprintf(stderr, _("Type the number of messages (%zu) to %s them: "), n, queue_action_to_string(act));
                if (!fgets(line, sizeof(line), stdin))
                        return false;
                line[strcspn(line, "\r\n")] = 0;
                uint64_t v;
                return parse_uint64(line, &v) >= 0 && v == n;
        }
        fprintf(stderr, _("%s %zu messages? [y/N] "), queue_action_to_string(act), n);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

static int run_action(const QueueArgs *a, const Settings *settings, const QueueSnapshot *s) {
        _cleanup_free_ char **ids = NULL;
        size_t n = 0;
        int r;

        if (settings->queue_read_only && !a->dry_run) {
                fprintf(stderr, _("mxdeck queue: actions are disabled ([queue] read_only = yes in the settings)\n"));
                return EXIT_FAILED;
        }
        ids = calloc(MAX(s->n, a->n_ids) + 1, sizeof(char *));
        if (!ids)
                return EXIT_FAILED;
        if (a->n_ids) {
                for (size_t i = 0; i < a->n_ids; i++) {
                        bool found = false;
                        for (size_t k = 0; k < s->n && !found; k++)
                                found = streq(s->messages[k].queue_id, a->ids[i]);
                        if (!found)
                                printf(_("%s: not in the queue\n"), a->ids[i]);
                        else
                                ids[n++] = a->ids[i];
                }
        } else
                for (size_t k = 0; k < s->n; k++)
                        if (a->all || queue_filter_match(&a->filter, &s->messages[k]))
                                ids[n++] = s->messages[k].queue_id;

        const char *verb = queue_action_to_string(a->action);
        if (n == 0) {
                printf(_("No messages to %s.\n"), verb);
                return a->n_ids ? EXIT_FAILED : EXIT_OK;
        }
        printf(a->dry_run ? _("Would %s %zu messages:\n") : _("Will %s %zu messages.\n"), verb, n);
        if (a->dry_run) {
                for (size_t k = 0; k < s->n; k++) {
                        const QueueMessage *m = &s->messages[k];
                        bool sel = false;
                        for (size_t i = 0; i < n && !sel; i++)
                                sel = ids[i] == m->queue_id || streq(ids[i], m->queue_id);
                        if (!sel)
                                continue;
                        _cleanup_(safe_freep) char *id = safe(m->queue_id), *from = safe(m->sender),
                                            *to = safe(m->n_recipients ? m->recipients[0].address : "");
                        printf("  %-16s %-9s %s -> %s%s\n", id, queue_name_to_string(m->queue), from, to,
                               m->n_recipients > 1 ? _(" (and more)") : "");
                }
                fputs(_("Dry run: nothing changed.\n"), stdout);
                return EXIT_OK;
        }
        fflush(stdout);
        /* delete and expire always ask; on a terminal, so does any action on more than 100 */
        bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
        if (!a->yes && (queue_action_is_destructive(a->action) || (tty && n > 100))) {
                if (!tty) {
                        fprintf(stderr, _("mxdeck queue: refusing to %s %zu messages without a terminal to ask: "
                                          "add --yes (see them first with --dry-run)\n"), verb, n);
                        return EXIT_FAILED;
                }
                if (!confirm(a->action, n)) {
                        fprintf(stderr, _("Nothing changed.\n"));
                        return EXIT_FAILED;
                }
        }

        QueueActionResult res = {};
        _cleanup_free_ char *error = NULL;
        QueueSourceOptions recheck = a->source;
        r = queue_action_run(a->action, ids, n, &recheck, &res, &error);
        if (r == -ENOMEM || (r < 0 && !res.requested)) {
                fprintf(stderr, _("mxdeck queue: %s failed: %s\n"), verb, error ? error : strerror(-r));
                return EXIT_FAILED;
        }
        for (size_t i = 0; i < res.n_gone; i++)
                printf(_("%s: no longer in the queue (delivered or removed meanwhile)\n"), res.gone[i]);
        if (res.output && *res.output)
                fputs(res.output, stdout);
        if (r < 0)
                fprintf(stderr, _("mxdeck queue: %s failed: %s\n"), verb, error ? error : strerror(-r));
        else if (res.affected >= 0)
                printf(_("%s: %ld of %zu messages (%zu already gone)\n"), verb, res.affected, n, res.n_gone);
        else
                printf(_("%s: %zu messages handed to postsuper (%zu already gone)\n"), verb, res.sent, res.n_gone);
        queue_action_result_done(&res);
        return r < 0 ? EXIT_FAILED : EXIT_OK;
}

static int run_flush(const QueueArgs *a, const Settings *settings) {
        _cleanup_free_ char *out = NULL, *error = NULL;

        if (a->dry_run) {
                /* what would run, exactly; nothing is asked of Postfix */
                if (a->site) {
                        _cleanup_(safe_freep) char *site = safe(a->site);
                        printf(_("Dry run: would run postqueue -s %s (Postfix would deliver the mail queued for "
                                 "%s now). Nothing was changed.\n"), site, site);
                } else
                        fputs(_("Dry run: would run postqueue -f (Postfix would retry every deferred message "
                                "now). Nothing was changed.\n"), stdout);
                return EXIT_OK;
        }
        if (settings->queue_read_only) {
                fprintf(stderr, _("mxdeck queue: actions are disabled ([queue] read_only = yes in the settings)\n"));
                return EXIT_FAILED;
        }
        int r = queue_flush(a->site, &out, &error);
        if (out && *out)
                fputs(out, stdout);
        if (r < 0) {
                fprintf(stderr, _("mxdeck queue: flush failed: %s\n"), error ? error : strerror(-r));
                return EXIT_FAILED;
        }
        if (a->site)
                printf(_("Asked Postfix to deliver the mail for %s now.\n"), a->site);
        else
                fputs(_("Asked Postfix to retry the deferred mail now.\n"), stdout);
        return EXIT_OK;
}

int verb_queue(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL;
        CliOptions opt;
        RunContext c = {};
        QueueSnapshot s = {};
        const Settings *settings = &c.settings;
        int r, ret = EXIT_FAILED;

        /* The same option table and context builder as every other verb (cli/context.c). */
        r = cli_options_parse(CLI_VERB_QUEUE, argc, argv, &opt, &error);
        if (r < 0) {
                usage_error("queue", "%s", error ? error : strerror(-r));
                return EXIT_USAGE;
        }
        if (opt.help) {
                fputs(_(verb_queue_usage), stdout);
                cli_options_done(&opt);
                return EXIT_OK;
        }
        const CliQueueOptions *q = &opt.queue;
        QueueArgs a = {
                .sub = q->command,
                .action = q->action,
                .json = opt.json,
                .source = { .kind = q->source, .input = q->input, .timeout_ms = 60000 },
                .filter = q->filter,
                .shape = q->shape,
                .shape_sender_flag = q->shape_sender,
                .all = q->all,
                .dry_run = q->dry_run,
                .yes = q->yes,
                .site = q->site,
                .ids = q->ids,
                .n_ids = q->n_ids,
        };
        if (check_args(&a) < 0) {
                cli_options_done(&opt);
                return EXIT_USAGE;
        }
        /* settings only: no names from Postfix (the queue needs none) */
        r = run_context_build(&opt, RUN_CONTEXT_NO_NAME_DEFAULTS, &c, &error);
        if (r < 0) {
                fprintf(stderr, "mxdeck queue: %s\n", error ? error : strerror(-r));
                return EXIT_FAILED;
        }
        if (a.sub == CLI_QUEUE_SHOW) {
                ret = run_show(&a);
                goto out;
        }
        if (a.sub == CLI_QUEUE_FLUSH) {
                ret = run_flush(&a, settings);
                goto out;
        }
        if (a.sub == CLI_QUEUE_ACTION && a.source.kind == QUEUE_SOURCE_INPUT) {
                queue_usage_error(_("actions work on this host's queue, not on --input"));
                ret = EXIT_USAGE;
                goto out;
        }

        /* read only what the command needs: shape wants no reasons */
        a.source.reasons = a.sub != CLI_QUEUE_SHAPE;
        if (a.sub == CLI_QUEUE_SHAPE && a.filter.queues)
                a.source.queues = a.filter.queues;
        r = queue_load(&a.source, &s, NULL, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck queue: cannot read the queue: %s\n"), error ? error : strerror(-r));
                goto out;
        }
        print_issues(&s);
        a.filter.now = a.shape.now = now_seconds();

        switch (a.sub) {
        case CLI_QUEUE_SUMMARY:
                r = run_summary(&a, &s);
                ret = r < 0 ? EXIT_FAILED : EXIT_OK;
                break;
        case CLI_QUEUE_LIST:
                r = run_list(&a, &s);
                ret = r < 0 ? EXIT_FAILED : EXIT_OK;
                break;
        case CLI_QUEUE_SHAPE:
                r = run_shape(&a, &s);
                ret = r < 0 ? EXIT_FAILED : EXIT_OK;
                break;
        case CLI_QUEUE_ACTION:
                ret = run_action(&a, settings, &s);
                break;
        default:
                break;
        }
        if (r < 0)
                fprintf(stderr, _("mxdeck queue: %s\n"), strerror(-r));
        if (fflush(stdout) != 0) {
                fprintf(stderr, _("mxdeck queue: cannot write the output\n"));
                ret = EXIT_FAILED;
        }
out:
        queue_snapshot_done(&s);
        run_context_done(&c);
        return ret;
}
