/* queue.* findings from a snapshot: size, age of the oldest deferred message, deferral
 * reasons, and one sender holding most of a large queue (a compromised account). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "offload.h"
#include "queue-checks.h"
#include "queue-source.h"

static Status over(uint64_t v, unsigned warning, unsigned critical) {
        return v > critical ? STATUS_CRITICAL : v > warning ? STATUS_WARNING : STATUS_OK;
}

/* "90 s", "12 min", "5 h", "3 days": a message age as a person reads it. */
char *queue_format_age(int64_t s, char *buf, size_t size) {
        if (s < 0)
                s = 0;
        if (s < 120)
                snprintf(buf, size, _("%" PRId64 " s"), s);
        else if (s < 2 * 3600)
                snprintf(buf, size, _("%" PRId64 " min"), s / 60);
        else if (s < 2 * 86400)
                snprintf(buf, size, _("%" PRId64 " h"), s / 3600);
        else
                snprintf(buf, size, _("%" PRId64 " days"), s / 86400);
        return buf;
}

/* A shell word for a remedy line: addresses here passed termsafe; quote anything unusual. */
static void shell_word(const char *s, char *buf, size_t size) {
        if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@._+-=") == strlen(s))
                snprintf(buf, size, "%s", s);
        else {
                size_t o = 0;
                buf[o++] = '\'';
                for (; *s && o + 5 < size; s++) {
                        if (*s == '\'') {
                                memcpy(buf + o, "'\\''", 4);
                                o += 4;
                        } else
                                buf[o++] = *s;
                }
                buf[o++] = '\'';
                buf[o] = 0;
        }
}

int queue_findings(const Settings *st, const QueueSnapshot *s, int64_t now, const char *target, FindingList *out) {
        QueueSummary sum = {};
        Finding *f;
        Metric *m;
        char age[64];
        int r;

        r = queue_summary_build(s, &sum);
        if (r < 0)
                return r;

        /* queue.size */
        Status status = over(sum.total, st->queue_size_warning, st->queue_size_critical);
        f = findings_addf(out, "queue.size", target, status, _("%" PRIu64 " messages in the queue (%" PRIu64 " bytes)"),
                          sum.total, sum.bytes);
        if (!f)
                goto nomem;
        for (int q = 0; q < _QUEUE_MAX; q++)
                if (sum.queues[q].count)
                        finding_append_detail(f, "%s: %" PRIu64, queue_name_to_string((QueueName) q),
                                              sum.queues[q].count);
        if (s->corrupt_count)
                finding_append_detail(f, _("corrupt: %" PRIu64 " files Postfix could not read"), s->corrupt_count);
        if (status != STATUS_OK)
                finding_set_remedy(f, _("See where it is stuck: mxdeck queue (reasons) and mxdeck queue shape; "
                                        "thresholds: [queue] size_warning, size_critical"));
        if (!(m = finding_add_metric(f, "messages", (double) sum.total, "")))
                goto nomem;
        metric_set_thresholds(m, true, st->queue_size_warning, true, st->queue_size_critical);

        /* queue.oldest: in the deferred queue */
        int64_t oldest = sum.queues[QUEUE_DEFERRED].count ? now - sum.queues[QUEUE_DEFERRED].oldest_arrival : 0;
        if (oldest < 0)
                oldest = 0;
        uint64_t wmin = st->queue_oldest_warning_minutes, cmin = st->queue_oldest_critical_minutes;
        status = !sum.queues[QUEUE_DEFERRED].count ? STATUS_OK
                 : (uint64_t) oldest > cmin * 60 ? STATUS_CRITICAL
                 : (uint64_t) oldest > wmin * 60 ? STATUS_WARNING : STATUS_OK;
        if (sum.queues[QUEUE_DEFERRED].count)
                f = findings_addf(out, "queue.oldest", target, status, _("the oldest deferred message waits for %s"),
                                  queue_format_age(oldest, age, sizeof(age)));
        else
                f = findings_addf(out, "queue.oldest", target, status, _("no deferred messages"));
        if (!f)
                goto nomem;
        if (status != STATUS_OK)
                finding_set_remedy(f, _("mxdeck queue list --queue deferred --older-than %" PRIu64 "m shows them with "
                                        "their reasons; fix the cause, then mxdeck queue flush"),
                                   status == STATUS_CRITICAL ? cmin : wmin);
        if (!(m = finding_add_metric(f, "oldest_age", (double) oldest, "s")))
                goto nomem;
        metric_set_thresholds(m, true, (double) wmin * 60, true, (double) cmin * 60);

        /* queue.deferred: the top reason as detail */
        uint64_t deferred = sum.queues[QUEUE_DEFERRED].count;
        status = over(deferred, st->queue_deferred_warning, st->queue_deferred_critical);
        f = findings_addf(out, "queue.deferred", target, status, _("%" PRIu64 " deferred messages"), deferred);
        if (!f)
                goto nomem;
        for (size_t i = 0; i < MIN(sum.n_reasons, (size_t) 3); i++)
                finding_append_detail(f, _("%" PRIu64 " x %s"), sum.reasons[i].count, sum.reasons[i].example);
        if (status != STATUS_OK)
                finding_set_remedy(f, _("The reasons say why (mxdeck queue); once fixed, mxdeck queue flush "
                                        "retries them now"));
        if (!(m = finding_add_metric(f, "messages", (double) deferred, "")))
                goto nomem;
        metric_set_thresholds(m, true, st->queue_deferred_warning, true, st->queue_deferred_critical);

        /* queue.sender-burst: one sender holds most of a large queue */
        const QueueCount *top = sum.n_senders ? &sum.senders[0] : NULL;
        uint64_t percent = top && sum.total ? top->count * 100 / sum.total : 0;
        bool burst = top && sum.total >= st->queue_sender_burst_messages &&
                     percent >= st->queue_sender_burst_percent && !streq(top->key, "MAILER-DAEMON");
        if (burst) {
                char word[600];
                shell_word(top->key, word, sizeof(word));
                f = findings_addf(out, "queue.sender-burst", target, STATUS_WARNING,
                                  _("%s sent %" PRIu64 " of the %" PRIu64 " queued messages (%" PRIu64 "%%)"),
                                  top->key, top->count, sum.total, percent);
                if (!f)
                        goto nomem;
                finding_set_detail(f, _("One sender holding most of a large queue is the pattern of a "
                                        "compromised account sending spam."));
                finding_set_remedy(f, _("Stop the account first (change its password, end its sessions), then:\n"
                                        "mxdeck queue hold --sender %s\n"
                                        "mxdeck queue delete --sender %s --dry-run\n"
                                        "mxdeck queue delete --sender %s"), word, word, word);
        } else {
                f = findings_addf(out, "queue.sender-burst", target, STATUS_OK,
                                  top ? _("no sender holds most of the queue (top: %" PRIu64 "%%)")
                                      : _("no sender holds most of the queue"),
                                  percent);
                if (!f)
                        goto nomem;
        }
        if (!(m = finding_add_metric(f, "top_sender_percent", (double) percent, "%")))
                goto nomem;
        queue_summary_done(&sum);
        return 0;
nomem:
        queue_summary_done(&sum);
        return -ENOMEM;
}

/* Reading the queue files takes its time (0.2 s at 20,000 messages) and cannot wait
 * through the loop: on a worker, so the dashboard's keys do not wait for it. */
typedef struct QueueJob {
        QueueSourceOptions o;
        QueueSnapshot s;
        QueueSourceKind used;
        char *error;
} QueueJob;

static int queue_job_work(void *data) {
        QueueJob *j = data;
        return queue_load(&j->o, &j->s, &j->used, &j->error);
}

static void queue_job_free(void *data) {
        QueueJob *j = data;
        if (!j)
                return;
        queue_snapshot_done(&j->s);
        free(j->error);
        free(j);
}

int check_queue(const CheckContext *ctx, FindingList *out) {
        /* postconf / postqueue get what is left of the check's deadline */
        uint64_t ms = MIN((uint64_t) ctx->settings->timeout_seconds * 1000u, deadline_left_ms(ctx->deadline));
        QueueSourceOptions o = {
                .kind = QUEUE_SOURCE_AUTO,
                .reasons = true,
                .timeout_ms = (unsigned) MAX(ms, (uint64_t) 1),
                .deadline = ctx->deadline,
        };
        QueueJob *j = calloc(1, sizeof(QueueJob));
        int r, result = 0;

        if (!j)
                return -ENOMEM;
        j->o = o;
        r = offload_run(queue_job_work, j, queue_job_free, ctx->deadline, &result);
        if (r < 0) {
                j = NULL; /* the worker's now (it frees it) */
                if (r == -ECANCELED || r == -ENOMEM)
                        return r;
        } else
                r = result;
        if (r == -ENOMEM) {
                queue_job_free(j);
                return r;
        }
        if (r < 0) {
                Finding *f = findings_addf(out, "queue.size", "", STATUS_UNKNOWN, _("cannot read the mail queue: %s"),
                                           j && j->error ? j->error : strerror(-r));
                queue_job_free(j);
                if (!f)
                        return -ENOMEM;
                finding_set_remedy(f, _("Run as root (queue files) or check that Postfix runs: postqueue -j"));
                return 0;
        }
        r = queue_findings(ctx->settings, &j->s, (int64_t) time(NULL), queue_source_describe(j->used), out);
        queue_job_free(j);
        return r;
}
