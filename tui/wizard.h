/* The setup wizard: `mxdeck setup` on a terminal. Pages built from a table (one page per
 * answers section, one field per key), validated as typed by the answers file's own code,
 * then the installer's plan, its apply with progress, and the end: verification, DNS
 * records, client settings. */
#pragma once

#include <stdbool.h>

typedef enum WizardOutcome {
        WIZARD_QUIT,        /* left before applying: nothing was changed */
        WIZARD_APPLIED,     /* applied (or nothing to change) and verified */
        WIZARD_FAILED,      /* a step failed (rolled back or left as is, as chosen) */
        WIZARD_DASHBOARD,   /* applied, and the administrator asked for the dashboard */
} WizardOutcome;

typedef struct WizardOptions {
        const char *root;          /* NULL or "/" = the live system */
        const char *answers_path;  /* pre-fill from this answers file, or NULL */
        const char *save_path;     /* where the answers are offered to be saved */
        bool offline;              /* as InstallerOptions.offline */
        bool systemd;
        int color;                 /* -1 auto (NO_COLOR), 0 never, 1 always */
        const char *banner;        /* shown in the title line ("rehearsal"), or NULL */
        char **ret_address;        /* when set: the first mailbox's address after an apply */
} WizardOptions;

/* Runs the wizard on the terminal. Returns 0 with *ret set, or a negative errno when the
 * terminal could not be set up (-ENOTTY) or the pre-fill file cannot be read (-EINVAL,
 * with *ret_error set). */
int wizard_run(const WizardOptions *o, WizardOutcome *ret, char **ret_error);
