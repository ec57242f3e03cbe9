/* The check catalog for `mxdeck check`: which checks exist, how they run together. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "finding.h"
#include "probe.h"
#include "dns-checks.h"
#include "certrenewal.h"
#include "listeners.h"
#include "local.h"
#include "queue-checks.h"
#include "logcheck.h"

typedef struct Check {
        const char *groups; /* the --only groups it serves, space-separated */
        const char *id;     /* a catalog id it produces (the first): carries the finding
                             * that says the check could not run */
        CheckFunc run;
} Check;

/* All checks of this build, in catalog order. */
const Check *checks_table(size_t *ret_n);

/* True when `group` names a group of the catalog in DESIGN.md (even one without checks
 * in this build); *ret_available tells whether this build has checks for it. */
bool check_group_is_known(const char *group, bool *ret_available);

/* Every group name of the catalog in DESIGN.md, in its order (NULL-terminated). */
const char *const *check_groups(size_t *ret_n);

/* A run of the selected checks on an sd-event loop, each check in its own fiber (see
 * core/fiber.h): the loop stays free for everything else (keys, the journal, timers)
 * while they run, and the run can be stopped at any moment. */
typedef struct ChecksRun ChecksRun;

/* One check has finished: its findings (the callee may move them out). */
typedef void (*ChecksOnCheck)(ChecksRun *run, const Check *check, FindingList *findings, void *userdata);
/* Every check has finished; called from a loop iteration of its own, so it may free run. */
typedef void (*ChecksOnDone)(ChecksRun *run, void *userdata);

/* Starts the checks that serve a group of ctx->only (NULL: all) on e. ctx is copied (its
 * pointers must stay valid for the run); without a deadline it gets --timeout from now.
 * A check still running CHECKS_GRACE_MS after the deadline is cancelled and reported as
 * unknown "did not finish"; one that fails to run (ENOMEM, ...) yields an unknown
 * finding rather than stopping the others. */
int checks_start(sd_event *e, const CheckContext *ctx, ChecksOnCheck on_check, ChecksOnDone on_done, void *userdata,
                 ChecksRun **ret);

bool checks_run_finished(const ChecksRun *run);

/* Moves the findings of the finished checks to ret, in catalog order. */
int checks_run_take(ChecksRun *run, FindingList *ret);

/* Cancels what still runs (freeing everything it held) and frees the run. */
ChecksRun *checks_run_free(ChecksRun *run);

/* The one-shot form: runs the checks on a private loop until all are done (at the
 * latest shortly after the deadline) and returns their findings in catalog order. */
int checks_run(const CheckContext *ctx, FindingList *ret);
