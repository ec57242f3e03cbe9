/* `mxdeck dkim rotate`: the key rotation as three stages, each planned as one step and
 * applied under its own transaction (so `mxdeck rollback` undoes any of them):
 *   start   a new selector and key beside the signing one (published by the administrator)
 *   switch  signing moves to the new selector, only when DNS serves its record
 *   finish  after the grace period the old key is removed (its record can go)
 * The state (which selector signs, the new one, the old one, when) lives in the managed
 * record, so rollback restores it with the files. */
#pragma once

#include <stdbool.h>

#include "installer.h"
#include "opendkim.h"

typedef enum DkimRotateStage {
        DKIM_ROTATE_START,
        DKIM_ROTATE_SWITCH,
        DKIM_ROTATE_FINISH,
        _DKIM_ROTATE_STAGE_MAX,
} DkimRotateStage;

typedef struct DkimRotateOptions {
        DkimRotateStage stage;
        const char *selector;   /* start: the new selector (NULL: YYYYMM, made unique) */
        bool force;             /* finish before the grace period is over */
        unsigned grace_days;    /* [dkim] grace_days */
        const char *resolver;   /* switch: who to ask (NULL: /etc/resolv.conf) */
        unsigned timeout_ms;    /* switch: per lookup */
} DkimRotateOptions;

/* Plans one stage. A stage that cannot run now (no DKIM set up, wrong order, DNS does not
 * serve the new record yet, the grace period is not over) is an error note in the plan
 * that says why and what to do. */
int dkim_rotate_plan(Installer *ins, const DkimRotateOptions *o, Plan **ret);
