/* The transaction journal: ROOT/var/lib/mxdeck/transactions/ID/ holds manifest.jsonl (one
 * JSON object per line, appended and fsynced before the change it describes: write-ahead)
 * and backups/N (byte-exact copies of the files before the first change, with mode and
 * owner in the manifest). A run killed at any point leaves a manifest that rollback can
 * undo: every change it may have made is described by an entry written before it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "subprocess.h"

#define JOURNAL_DIR "/var/lib/mxdeck"
#define JOURNAL_TRANSACTIONS JOURNAL_DIR "/transactions"
#define JOURNAL_MANAGED JOURNAL_DIR "/managed.json"

typedef struct Journal Journal;

/* Creates a new transaction under root (ids sort by time: YYYYMMDD-HHMMSS-XXXX). Takes the
 * mxdeck lock (-EBUSY when another setup or rollback runs). */
int journal_begin(const char *root, int64_t now, const char *answers_path, Journal **ret);
Journal *journal_free(Journal *j);
static inline void journal_freep(Journal **j) { if (*j) journal_free(*j); }
const char *journal_id(const Journal *j);

/* Backs up a target path (not root-prefixed) before its first change in this transaction:
 * a copy in backups/ (or "did not exist"), then the manifest entry, both fsynced. Later
 * calls for the same path do nothing. A symlink is refused (-ELOOP): mxdeck does not write
 * through them. */
int journal_backup(Journal *j, const char *step, const char *path);
/* Records that a directory is about to be created (rollback removes it when empty). */
int journal_mkdir(Journal *j, const char *step, const char *path);
/* Records a command about to run and the command that reverses it (NULL: none); `late`
 * undo commands run after the files are restored (reloads). Returns the entry's sequence
 * number for journal_ran. */
int journal_run(Journal *j, const char *step, const char *const *argv,
                const char *const *undo_argv, bool late, unsigned *ret_seq);
int journal_ran(Journal *j, unsigned seq, int status);
/* Records a step's own change (an ACTION_CALL: data is its JSON description) about to be
 * made; rollback hands data to that step's undo (journal_undo_call). */
int journal_call(Journal *j, const char *step, const char *what, const char *data, unsigned *ret_seq);
/* Reverses a journalled call through its step's undo (steps.c). */
int journal_undo_call(const char *root, const char *step, const char *data, char **ret_error);
/* Records a systemd unit operation over sd-bus (installer/units.h: "enable",
 * "reload-or-restart", ...) about to be done and the one that reverses it (NULL: none);
 * like journal_run, with journal_ran for its end (status 0 = done). */
int journal_unit(Journal *j, const char *step, const char *op, const char *unit,
                 const char *undo_op, bool late, unsigned *ret_seq);
/* Records a text that rollback shows instead of reversing something (e.g. the packages
 * mxdeck installed, which rollback does not remove). Never a secret. */
int journal_report(Journal *j, const char *step, const char *text);
int journal_step(Journal *j, const char *step, const char *what);
/* The end: "ok", or "failed" with the step and error. */
int journal_commit(Journal *j, bool ok, const char *step, const char *error);

/* Sends an audit record to the system journal (MXDECK_TRANSACTION, MXDECK_STEP). Never
 * call it with a secret. */
void journal_audit(const char *transaction, const char *step, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

typedef enum TransactionStatus {
        TRANSACTION_OK,
        TRANSACTION_FAILED,
        TRANSACTION_INCOMPLETE,   /* no end recorded: killed, or still running */
        TRANSACTION_ROLLED_BACK,
        TRANSACTION_DAMAGED,      /* a line of its manifest is not what mxdeck writes */
        _TRANSACTION_STATUS_MAX,
} TransactionStatus;

const char *transaction_status_to_string(TransactionStatus s);

typedef struct TransactionInfo {
        char *id;
        int64_t started;
        TransactionStatus status;
        char *answers;
        char *failed_step;
        char *error;
        char **files;      /* paths backed up (i.e. changed or created) */
        char **commands;   /* command lines run */
        char **steps;      /* steps that changed something */
        /* TRANSACTION_DAMAGED: the manifest, its damaged line and why (files, commands
         * and steps then list only what the lines before it say) */
        char *damaged_file;
        unsigned damaged_line;
        char *damaged_reason;
} TransactionInfo;

void transaction_info_done(TransactionInfo *t);

/* What checking a manifest found. A damaged line anywhere (not JSON, a record mxdeck does
 * not write, a field of the wrong type or out of range, a path that is not absolute or
 * has "..", "." or empty components, seq out of order) damages the whole transaction:
 * rollback refuses it rather than undo a part. An unterminated last line is not damage:
 * a kill during an append leaves it, and as every entry is synced before its change is
 * made, the change it announces had not begun; it is left out (torn). */
typedef struct JournalCheck {
        unsigned line;   /* the damaged line, 1-based; 0: none */
        char *reason;    /* why (translated); NULL: intact */
        size_t whole;    /* bytes up to the end of the last whole line */
        bool torn;       /* an unterminated last line follows */
} JournalCheck;

struct json_t;
/* Checks a manifest's bytes (id: the transaction's, NULL to skip that check). 0 and the
 * entries (a JSON array), or -EBADMSG with ret filled and the entries before the damaged
 * line, or -ENOMEM. */
int journal_check_manifest(const char *data, size_t size, const char *id, struct json_t **ret_entries,
                           JournalCheck *ret);
void journal_check_done(JournalCheck *c);

/* All transactions under root, oldest first. */
int journal_list(const char *root, TransactionInfo **ret, size_t *ret_n);
void transaction_infos_free(TransactionInfo *t, size_t n);

typedef int (*JournalSpawn)(const SpawnOptions *opts, SpawnResult *ret, void *userdata);
typedef void (*JournalNote)(const char *line, void *userdata);

/* Rolls back one transaction (a damaged one is refused as a whole, before anything is
 * changed: -EBADMSG, and a note names the file, the line and why; a torn last line is cut
 * off first, so that the rollback mark is a whole line): in reverse order restores every backed-up file byte for
 * byte (content, mode, owner) or removes it when it did not exist, removes the
 * directories it created when empty, runs the undo commands; then marks it rolled back.
 * -EALREADY when it was rolled back before; -ENOENT when there is no such transaction.
 * Problems that do not stop the rest (an undo command failing) are reported through note
 * and make the result -EIO after everything else was done. */
int journal_rollback(const char *root, const char *id, JournalSpawn spawn, void *spawn_userdata,
                     JournalNote note, void *note_userdata);

/* When the newest transaction has no end (its run was killed), waits (bounded) until the
 * commands it had started and not seen end are no longer running: they outlive a killed
 * mxdeck and would change files under a new run or a rollback. Live system only (root
 * "/"); notes say what it waits for. */
int journal_wait_unfinished(const char *root, JournalNote note, void *note_userdata);

/* Takes the mxdeck lock under root: an fd to keep open, or -EBUSY. */
int journal_lock(const char *root);
