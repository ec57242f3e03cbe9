/* The check catalog for `mxdeck check`: which checks exist, how they run together. */
#pragma once

#include <stdbool.h>

#include "finding.h"
#include "probe.h"
#include "dns-checks.h"
#include "listeners.h"
#include "local.h"
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

/* Runs the checks that serve a group of ctx->only (NULL: all) concurrently on a small fixed pool
 * of threads; findings come out in catalog order whatever the timing. A check that fails
 * to run (ENOMEM, ...) yields an unknown finding rather than aborting the others. */
int checks_run(const CheckContext *ctx, FindingList *ret);
