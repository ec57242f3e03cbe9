/* The setup wizard: `mxdeck setup` on a terminal. Pages built from a table (one page per
 * answers section, one field per key), validated as typed by the answers file's own code,
 * then the installer's plan, its apply with progress, and the end: verification, DNS
 * records, client settings. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct Answers;

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
        /* When set: writes the DNS checks' current state for these answers (the end page
         * shows it; the caller's layer owns the checks runner's output). */
        int (*dns_checks)(FILE *f, const struct Answers *a, bool systemd);
} WizardOptions;

/* Runs the wizard on the terminal. Returns 0 with *ret set, or a negative errno when the
 * terminal could not be set up (-ENOTTY) or the pre-fill file cannot be read (-EINVAL,
 * with *ret_error set). */
int wizard_run(const WizardOptions *o, WizardOutcome *ret, char **ret_error);

/* For the unit tests. */
/* The keys of the answers schema ("section key", named sections as "user ") the wizard has
 * no field for: a NULL-terminated list, empty when every key has one. */
int wizard_uncovered_keys(char ***ret);
/* Fills the fields from "section key=value" strings ("user  name", "user  password" and
 * "user  confirm" are the first user's), as typed, under root, and validates: *ret_field
 * ("section key", or NULL) and *ret_message are the problem found (NULL: none);
 * *ret_text is the answers text the wizard would save. */
int wizard_check(const char *root, const char *const *typed, char **ret_field, char **ret_message,
                 char **ret_text);

/* The FQDN /etc/hosts gives host: the first name of a line that lists host, when it has a
 * dot and is a valid host name (lines whose names hold anything else are passed over).
 * 1 and *ret, 0 and NULL when none, -ENOMEM. The wizard's default host name. */
int wizard_fqdn_from_hosts(const char *text, const char *host, char **ret);
