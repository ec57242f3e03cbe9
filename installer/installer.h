/* The installer: a plan of steps (inspect, diff, apply, verify, undo) applied under a
 * transaction journal that makes every run reviewable, re-runnable and reversible. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "answers.h"
#include "profile.h"
#include "subprocess.h"

typedef struct Installer Installer;
typedef struct Journal Journal;

/* --- progress events, for the CLI now and the TUI later --- */

typedef enum InstallerEventType {
        INSTALLER_EVENT_STEP_STARTED,
        INSTALLER_EVENT_OUTPUT_LINE,  /* a line a command printed (terminal-safe), or a note */
        INSTALLER_EVENT_STEP_DONE,    /* result: 0, or negative errno */
        _INSTALLER_EVENT_MAX,
} InstallerEventType;

typedef struct InstallerEvent {
        InstallerEventType type;
        const char *step;
        const char *line;   /* OUTPUT_LINE */
        int result;         /* STEP_DONE */
} InstallerEvent;

typedef void (*InstallerProgress)(const InstallerEvent *e, void *userdata);

/* Runs a command instead of spawn_run. Only the unit tests set one: there the recorded
 * commands stand in for the real ones (a temporary root has no Postfix to run). Same
 * contract as spawn_run. */
typedef int (*InstallerSpawn)(const SpawnOptions *opts, SpawnResult *ret, void *userdata);

typedef enum ConflictPolicy {
        CONFLICT_KEEP_THEIRS,  /* default: leave the administrator's value, report it */
        CONFLICT_TAKE_OURS,    /* write mxdeck's value again, reported too */
        _CONFLICT_POLICY_MAX,
        _CONFLICT_POLICY_INVALID = -22,
} ConflictPolicy;

typedef struct InstallerOptions {
        const char *root;            /* NULL or "/" = the live system */
        const Answers *answers;
        const DistroProfile *profile; /* NULL: from ROOT/etc/os-release */
        ConflictPolicy conflicts;
        /* Conflicts resolved one by one (the wizard): the `what` of each conflict to take
         * ours for, whatever `conflicts` says; NULL-terminated, or NULL. Not copied. */
        char *const *take_ours;
        /* The first user's password when the caller holds it in memory (the wizard, where it
         * was typed): lets verify's round trip log in although the answers give only a hash.
         * A secret: never copied into the plan, logged or journalled. NULL: none. */
        const char *roundtrip_password;
        /* Leave out the steps that need a live system: starting services, the probes and
         * the round trip. The CLI sets it for a --root other than /. */
        bool offline;
        /* Whether systemd is PID 1 (services over sd-bus) -- ignored when offline. */
        bool systemd;
        InstallerProgress progress;
        void *progress_userdata;
        /* Leave out the checks against running daemons (the services step's wait for the
         * ports, the verify step): for the recorded-command tests, where nothing runs. */
        bool no_live_checks;
        InstallerSpawn spawn;        /* NULL: spawn_run */
        void *spawn_userdata;
        /* Where firewalld answers on a direct (peer-to-peer) D-Bus connection instead of
         * the system bus: only the unit tests set it (their stand-in firewalld). */
        const char *firewalld_address;
        /* The clock, for transaction ids and certificate validity; 0 = time(NULL). Tests
         * pin it so golden files are stable. */
        int64_t now;
} InstallerOptions;

int installer_new(const InstallerOptions *o, Installer **ret, char **ret_error);
Installer *installer_free(Installer *ins);
static inline void installer_freep(Installer **p) { if (*p) installer_free(*p); }

/* --- what a step plans --- */

typedef enum ActionKind {
        ACTION_WRITE,   /* write a whole file (atomic, backed up first) */
        ACTION_RUN,     /* run a command; the files it touches are backed up first */
        ACTION_MKDIR,   /* create a directory (removed on rollback if still empty) */
        ACTION_CALL,    /* the step's own change (a D-Bus call): Step.call makes it, Step.undo
                         * reverses it; data is its JSON description, journalled first */
        ACTION_UNIT,    /* a systemd unit operation over sd-bus (installer/units.h) */
        _ACTION_KIND_MAX,
} ActionKind;

typedef struct Action {
        ActionKind kind;
        char *summary;         /* one line for the plan and the journal: never a secret */
        /* WRITE, MKDIR: path as seen on the target (not prefixed with the root) */
        char *path;
        char *data;
        size_t size;
        mode_t mode;
        char *owner, *group;   /* names, looked up under the root at apply time; NULL = root */
        /* RUN */
        char **argv;
        char *input;           /* stdin; a secret: never shown, logged or journalled */
        size_t input_size;
        char **undo_argv;      /* what rollback runs to reverse it, or NULL */
        bool undo_late;        /* run it after the files are restored (a reload) */
        char **touches;        /* target paths the command changes: backed up first */
        bool ignore_failure;
        /* RUN: the child's whole environment (NULL: spawn's clean default). Never a secret. */
        char **envp;
        /* RUN: a line rollback shows instead of reversing the command (undo_argv NULL):
         * e.g. which packages were installed and how to remove them. */
        char *report;
        /* UNIT: the unit, the operation and its reverse (UnitOp; -1 none); undo_late as
         * for RUN. */
        char *unit;
        int unit_op, unit_undo_op;
} Action;

/* A file as it is and as it will be; shown as a unified diff. */
typedef struct Preview {
        char *path;
        char *old;             /* NULL: does not exist */
        size_t old_size;
        char *new;
        size_t new_size;
        bool secret;           /* a private key or password hashes: no content shown */
        char *via;             /* NULL = written by mxdeck, else e.g. "postconf -e" */
} Preview;

typedef struct Conflict {
        char *what;            /* "main.cf smtpd_tls_auth_only", "/etc/dovecot/conf.d/99-mxdeck.conf" */
        char *theirs;          /* the current value (NULL: removed) */
        char *ours;            /* what mxdeck wants */
        char *recorded;        /* what mxdeck wrote last time */
        bool taken;            /* resolved as take-ours */
} Conflict;

/* A key in the managed-state record: what mxdeck wrote, for conflict detection later. */
typedef struct Managed {
        char *key;
        char *value;           /* NULL: forget the key */
} Managed;

typedef enum NoteLevel {
        NOTE_INFO,
        NOTE_WARNING,
        NOTE_ERROR,            /* stops the plan from being applied */
} NoteLevel;

typedef struct Note {
        NoteLevel level;
        char *text;
} Note;

typedef struct Step Step;

typedef struct StepPlan {
        const Step *step;
        Action *actions;
        size_t n_actions;
        Preview *previews;
        size_t n_previews;
        Conflict *conflicts;
        size_t n_conflicts;
        Managed *managed;
        size_t n_managed;
        Note *notes;
        size_t n_notes;
        void *state;           /* the step's own, freed with step->free_state */
        /* The later steps cannot be planned before this one is applied (packages to
         * install: no main.cf or conf.d yet). Planning stops after it; apply applies it,
         * plans the rest and goes on in the same transaction. */
        bool replan_after;
        /* Set by a failing verify (step_verify_failed): what failed, one line, for the
         * failure message instead of the bare errno text. */
        char *verify_error;
} StepPlan;

typedef struct Plan {
        StepPlan *steps;
        size_t n_steps;
} Plan;

/* The step vtable. inspect reads the current state under the root and fills the StepPlan
 * with what it would change (actions, previews, conflicts, notes): inspect and diff are one
 * pass, since the diff is computed from what inspect read. apply NULL = run the actions in
 * order (the engine backs up, writes, runs). verify checks the result after apply. undo
 * reverses a journalled action the generic rollback cannot (rare: most steps need none). */
struct Step {
        const char *name;
        const char *title;     /* N_() one line */
        bool live;             /* needs a live system: left out when offline */
        int (*inspect)(Installer *ins, StepPlan *sp);
        int (*apply)(Installer *ins, StepPlan *sp);
        int (*verify)(Installer *ins, StepPlan *sp);
        void (*free_state)(void *state);
        /* ACTION_CALL: make the change a->data describes; reverse it at rollback (no
         * Installer then: root and the journalled data only). Errors as one line. */
        int (*call)(Installer *ins, const Action *a, char **ret_error);
        int (*undo)(const char *root, const char *data, char **ret_error);
};

/* Inspects every step and returns the plan. Bad state that makes a plan impossible
 * (e.g. no Postfix installed) is an error note in the plan, not a failure: failures here
 * are ENOMEM and I/O errors. */
int installer_plan(Installer *ins, Plan **ret);
Plan *plan_free(Plan *p);
static inline void plan_freep(Plan **p) { if (*p) plan_free(*p); }

bool plan_has_changes(const Plan *p);
/* The plan stops at a step with replan_after: the rest is planned during apply. */
bool plan_is_partial(const Plan *p);
bool plan_has_errors(const Plan *p);
size_t plan_count_conflicts(const Plan *p);

/* The plan as text: per step its title, notes, conflicts, commands and unified diffs.
 * Terminal-safe. Secrets never appear. */
int plan_render_text(const Plan *p, bool color, char **ret);

typedef struct ApplyResult {
        char *transaction;     /* id, NULL when nothing was changed */
        const char *failed_step; /* NULL on success */
        char *error;           /* one line, when failed */
        bool verified;
        bool changed;
        /* the steps that changed something (or began to: the failed one), in order, over
         * both parts of a plan that was made again after the packages were installed */
        char **changed_steps;
} ApplyResult;

void apply_result_done(ApplyResult *r);

/* Applies the plan under a new transaction: per step, backups and journal entries first
 * (write-ahead), then the changes, then the step's verify. Stops at the first failure. */
int installer_apply(Installer *ins, Plan *p, ApplyResult *ret);

/* --- for the steps --- */

const char *installer_root(const Installer *ins);
const Answers *installer_answers(const Installer *ins);
const DistroProfile *installer_profile(const Installer *ins);
bool installer_offline(const Installer *ins);
bool installer_systemd(const Installer *ins);
bool installer_live_checks(const Installer *ins);
int64_t installer_now(const Installer *ins);
const char *installer_firewalld_address(const Installer *ins); /* NULL: the system bus */
const char *installer_transaction(const Installer *ins); /* during apply */
const char *installer_roundtrip_password(const Installer *ins);

/* ROOT + path ("/etc/postfix" under "/tmp/r" is "/tmp/r/etc/postfix"). NULL on ENOMEM. */
char *installer_path(const Installer *ins, const char *path);

/* Reads a target file (max 16 MiB); -ENOENT when absent. */
int installer_read(const Installer *ins, const char *path, char **ret, size_t *ret_size);
/* The same, as the earlier steps of the plan being built will leave it. */
int installer_read_planned(const Installer *ins, const char *path, char **ret, size_t *ret_size);
int installer_set_planned(Installer *ins, const char *path, const char *data, size_t size);
/* The plan being built (during installer_plan): later steps look at earlier ones. */
const Plan *installer_current_plan(const Installer *ins);
bool step_has_changes(const StepPlan *sp);

/* Runs a command through spawn_run (or the test recorder), streams its output as
 * OUTPUT_LINE events of `step`, and journals it (argv only: never the input). */
int installer_run(Installer *ins, const char *step, const char *const *argv,
                  const char *input, size_t input_size, SpawnResult *ret);

/* The same, but the output is shown only when the command fails (checks such as doveconf
 * -x print the whole configuration). */
int installer_run_quiet(Installer *ins, const char *step, const char *const *argv, SpawnResult *ret);

/* Runs a read-only query while planning (dpkg-query, rpm -q): through the test recorder
 * when set, with no progress events and no journal entry. */
int installer_query(Installer *ins, const char *const *argv, SpawnResult *ret);

void installer_emit(Installer *ins, InstallerEventType type, const char *step,
                    const char *line, int result);

/* The managed-state record: what mxdeck last wrote under a key, or NULL. */
const char *installer_managed_get(const Installer *ins, const char *key);

typedef enum ManagedDecision {
        MANAGED_SAME,        /* already as wanted */
        MANAGED_CHANGE,      /* change it (new, adopted, or still as mxdeck left it) */
        MANAGED_KEEP,        /* conflict, kept theirs */
        MANAGED_TAKE,        /* conflict, taking ours */
} ManagedDecision;

/* Compares the current value of a managed key with what mxdeck wants and what it wrote
 * last; records a conflict in sp when the administrator changed it since. */
int installer_managed_decide(Installer *ins, StepPlan *sp, const char *key, const char *what,
                             const char *current, const char *wanted, ManagedDecision *ret);

/* In a step's verify: says what failed (one line, never a secret), for the message that
 * names the failed step; also shown as an output line. Returns -errno_value. */
int step_verify_failed(Installer *ins, StepPlan *sp, int errno_value, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* StepPlan builders. Strings are copied; argv/touches NULL-terminated. */
int step_plan_note(StepPlan *sp, NoteLevel level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int step_plan_write(StepPlan *sp, const char *summary, const char *path, const char *data,
                    size_t size, mode_t mode, const char *owner, const char *group);
int step_plan_mkdir(StepPlan *sp, const char *path, mode_t mode, const char *owner,
                    const char *group);
int step_plan_run(StepPlan *sp, const char *summary, const char *const *argv,
                  const char *const *touches, const char *const *undo_argv, Action **ret);
/* An ACTION_CALL: data is a JSON object (copied). */
int step_plan_call(StepPlan *sp, const char *summary, const char *data);
/* A systemd unit operation (UnitOp of installer/units.h) and its reverse (-1: none). */
int step_plan_unit(StepPlan *sp, int op, const char *unit, int undo_op, bool undo_late, Action **ret);
int step_plan_preview(StepPlan *sp, const char *path, const char *old, size_t old_size,
                      const char *new, size_t new_size, bool secret, const char *via);
int step_plan_managed(StepPlan *sp, const char *key, const char *value);

/* Plans writing a whole file if its content, mode or owner differ: a preview plus a WRITE
 * action. Managed under "file:PATH" (sha256): an administrator's edit is a conflict. */
int step_plan_file(Installer *ins, StepPlan *sp, const char *path, const char *data,
                   size_t size, mode_t mode, const char *owner, const char *group, bool secret);

/* The table a person types into a mail client: server, ports, encryption, user name. */
int installer_client_settings(const Answers *a, char **ret);

/* A plan of the given steps instead of the setup's table (`mxdeck dkim rotate` plans one
 * stage this way); same contract as installer_plan. */
int installer_plan_steps(Installer *ins, const Step *const *steps, size_t n, Plan **ret);
/* Data for steps planned with installer_plan_steps (their options). */
void installer_set_userdata(Installer *ins, void *userdata);
void *installer_userdata(const Installer *ins);

/* The steps in order; `steps_table` is the full table (tests use single steps). */
const Step *const *steps_table(size_t *ret_n);
