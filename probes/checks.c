/* The check catalog and the concurrent runner. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "fiber.h"
#include "macro.h"
#include "words.h"

static const Check catalog[] = {
        { "service", "service.postfix", check_service_postfix },
        { "service", "service.dovecot", check_service_dovecot },
        { "config", "config.postfix", check_config_postfix },
        { "config", "config.dovecot", check_config_dovecot },
        { "config", "config.relay", check_config_relay },
        { "config", "config.domains", check_config_domains },
        { "config", "config.tables", check_config_tables },
        { "config", "config.sasl", check_config_sasl },
        { "cert", "cert.files", check_cert_files },
        { "cert", "cert.renewal", check_cert_renewal },
        { "port tls smtp imap pop3", "port.smtp", check_mail_listeners },
        { "dns dnsbl", "dns.mx", check_dns },
        { "system", "system.hostname", check_system_hostname },
        { "system", "system.disk", check_system_disk },
        { "queue", "queue.size", check_queue },
        { "log", "log.sasl-failures", check_log },
};

/* Every group of the catalog in DESIGN.md, including those whose checks come later. */
static const char *const known_groups[] = {
        "service", "config", "port", "tls", "smtp", "imap", "pop3", "dns", "dnsbl", "queue", "log", "cert", "system", NULL,
};

const Check *checks_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(catalog);
        return catalog;
}

const char *const *check_groups(size_t *ret_n) {
        if (ret_n)
                *ret_n = ELEMENTSOF(known_groups) - 1;
        return known_groups;
}

bool check_group_is_known(const char *group, bool *ret_available) {
        bool known = false, available = false;
        for (size_t i = 0; known_groups[i]; i++)
                known = known || streq(group, known_groups[i]);
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                available = available || word_in(catalog[i].groups, group);
        if (ret_available)
                *ret_available = available;
        return known;
}

/* ---- the runner: one fiber per check on the caller's loop ---- */

/* At the deadline every wait of a probe ends and its tools are killed, so probes end by
 * themselves with findings that say what timed out. A probe still running this much later
 * (stuck outside any wait, or starved on a loaded machine) is cancelled and reported as
 * such: a safety net, generous so it never cuts short a probe that is finishing. */
#define CHECKS_GRACE_MS 1000

typedef struct Job {
        ChecksRun *run;
        const Check *check;
        Fiber *fiber;
        FindingList findings;
        bool done;
        bool overdue;
} Job;

struct ChecksRun {
        sd_event *event;
        CheckContext ctx;
        Job jobs[ELEMENTSOF(catalog)];
        size_t n_jobs;
        size_t n_left;
        sd_event_source *timer;
        sd_event_source *finish;
        ChecksOnCheck on_check;
        ChecksOnDone on_done;
        void *userdata;
        bool freeing;
        int error; /* first allocation failure while recording a result */
};

static bool selected(const Check *c, const char *const *only) {
        if (!only)
                return true;
        for (const char *const *g = only; *g; g++)
                if (word_in(c->groups, *g))
                        return true;
        return false;
}

static int job_body(void *userdata) {
        Job *j = userdata;
        return j->check->run(&j->run->ctx, &j->findings);
}

static int on_finish(sd_event_source *s, void *userdata) {
        ChecksRun *run = userdata;
        run->finish = sd_event_source_disable_unref(run->finish);
        if (run->on_done)
                run->on_done(run, run->userdata);
        return 0;
}

static void job_done(Fiber *f, int result, void *userdata) {
        Job *j = userdata;
        ChecksRun *run = j->run;

        j->fiber = NULL;
        j->done = true;
        if (run->freeing) {
                findings_done(&j->findings);
                return;
        }
        if (j->overdue) {
                /* What it found before it was stopped is incomplete: say why instead. */
                findings_done(&j->findings);
                if (!findings_addf(&j->findings, j->check->id, "", STATUS_UNKNOWN,
                                   _("the check did not finish within the time limit (%u s)"),
                                   run->ctx.settings ? run->ctx.settings->timeout_seconds : 0))
                        run->error = run->error ?: -ENOMEM;
        } else if (result < 0) {
                if (!findings_addf(&j->findings, j->check->id, "", STATUS_UNKNOWN, _("the check could not run: %s"),
                                   strerror(-result)))
                        run->error = run->error ?: -ENOMEM;
        }
        if (run->on_check)
                run->on_check(run, j->check, &j->findings, run->userdata);
        if (--run->n_left == 0) {
                run->timer = sd_event_source_disable_unref(run->timer);
                /* Told from the next iteration, so the callback may free the run. */
                if (sd_event_add_defer(run->event, &run->finish, on_finish, run) < 0 && run->on_done)
                        run->on_done(run, run->userdata);
        }
}

static int on_overdue(sd_event_source *s, uint64_t usec, void *userdata) {
        ChecksRun *run = userdata;
        run->timer = sd_event_source_disable_unref(run->timer);
        for (size_t i = 0; i < run->n_jobs; i++) {
                Job *j = &run->jobs[i];
                if (j->done || !j->fiber)
                        continue;
                j->overdue = true;
                fiber_cancel(j->fiber);
        }
        return 0;
}

int checks_start(sd_event *e, const CheckContext *ctx, ChecksOnCheck on_check, ChecksOnDone on_done, void *userdata,
                 ChecksRun **ret) {
        if (!e || !ctx || !ret)
                return -EINVAL;
        ChecksRun *run = calloc(1, sizeof(ChecksRun));
        if (!run)
                return -ENOMEM;
        run->event = sd_event_ref(e);
        run->ctx = *ctx;
        run->on_check = on_check;
        run->on_done = on_done;
        run->userdata = userdata;
        if (!deadline_is_set(run->ctx.deadline))
                run->ctx.deadline = deadline_in_ms(
                        (uint64_t) (ctx->settings && ctx->settings->timeout_seconds ? ctx->settings->timeout_seconds : 10) *
                        1000u);

        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                if (selected(&catalog[i], ctx->only))
                        run->jobs[run->n_jobs++] = (Job) { .run = run, .check = &catalog[i] };

        int r = 0;
        for (size_t i = 0; i < run->n_jobs && r >= 0; i++) {
                r = fiber_start(e, job_body, &run->jobs[i], job_done, &run->jobs[i].fiber);
                if (r >= 0)
                        run->n_left++;
        }
        if (r >= 0 && run->n_left > 0)
                r = sd_event_add_time(e, &run->timer, CLOCK_MONOTONIC, run->ctx.deadline.usec + CHECKS_GRACE_MS * USEC_PER_MSEC,
                                      USEC_PER_MSEC, on_overdue, run);
        if (r >= 0 && run->n_left == 0)
                r = sd_event_add_defer(e, &run->finish, on_finish, run);
        if (r < 0) {
                checks_run_free(run);
                return r;
        }
        *ret = run;
        return 0;
}

bool checks_run_finished(const ChecksRun *run) {
        return run && run->n_left == 0;
}

int checks_run_take(ChecksRun *run, FindingList *ret) {
        int r = run->error;
        /* Catalog order, whatever finished first. */
        for (size_t i = 0; i < run->n_jobs; i++) {
                if (!run->jobs[i].done)
                        continue;
                int k = findings_move(ret, &run->jobs[i].findings);
                if (k < 0 && r == 0)
                        r = k;
                findings_done(&run->jobs[i].findings);
        }
        return r;
}

ChecksRun *checks_run_free(ChecksRun *run) {
        if (!run)
                return NULL;
        run->freeing = true;
        for (size_t i = 0; i < run->n_jobs; i++)
                if (run->jobs[i].fiber)
                        fiber_cancel(run->jobs[i].fiber);
        for (size_t i = 0; i < run->n_jobs; i++)
                findings_done(&run->jobs[i].findings);
        sd_event_source_disable_unref(run->timer);
        sd_event_source_disable_unref(run->finish);
        sd_event_unref(run->event);
        free(run);
        return NULL;
}

static void exit_loop(ChecksRun *run, void *userdata) {
        (void) sd_event_exit(run->event, 0);
}

int checks_run(const CheckContext *ctx, FindingList *ret) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ChecksRun *run = NULL;
        int r;

        r = sd_event_new(&e);
        if (r < 0)
                return r;
        r = checks_start(e, ctx, NULL, exit_loop, NULL, &run);
        if (r < 0)
                return r;
        r = sd_event_loop(e);
        if (r >= 0)
                r = checks_run_take(run, ret);
        checks_run_free(run);
        return r;
}
