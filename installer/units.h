/* systemd units over sd-bus (org.freedesktop.systemd1): what the services step and
 * rollback do on a host booted with systemd, without systemctl. */
#pragma once

#include <stdbool.h>

#include "deadline.h"

typedef enum UnitOp {
        UNIT_ENABLE,            /* EnableUnitFiles */
        UNIT_DISABLE,           /* DisableUnitFiles */
        UNIT_RELOAD_OR_RESTART, /* ReloadOrRestartUnit, then wait until active */
        UNIT_RESTART,           /* RestartUnit, then wait until active */
        UNIT_STOP,              /* StopUnit, then wait until it is no longer active */
        _UNIT_OP_MAX,
        _UNIT_OP_INVALID = -22,
} UnitOp;

const char *unit_op_to_string(UnitOp op);        /* "enable", ... (journal entries) */
UnitOp unit_op_from_string(const char *s);
/* What an administrator would type for it: "systemctl enable postfix.service". */
int unit_op_command(UnitOp op, const char *unit, char **ret);

/* Runs op on unit through the system bus, bounded by the deadline (jobs: until the job is
 * done and the unit reached the state the operation aims at). For UNIT_ENABLE,
 * *ret_changed (may be NULL) says whether systemd changed anything (false: it was enabled
 * already). On failure a one-line reason in *ret_error (may be NULL). */
int unit_run(UnitOp op, const char *unit, Deadline d, bool *ret_changed, char **ret_error);

/* UnitFileState of a unit ("enabled", "disabled", "static", ...), and ActiveState. */
int unit_states(const char *unit, Deadline d, char **ret_file_state, char **ret_active);
