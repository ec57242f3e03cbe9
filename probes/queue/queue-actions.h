/* Acting on the queue: postsuper with the ids on its stdin (never "ALL"), postqueue -f/-s.
 * The safety rules that need a person (dry run, confirmation, --yes) live in the verb; this
 * module re-checks the ids just before postsuper and reports the ones already gone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "queue-source.h"

typedef enum QueueAction {
        QUEUE_ACTION_HOLD,
        QUEUE_ACTION_RELEASE,
        QUEUE_ACTION_DELETE,
        QUEUE_ACTION_REQUEUE,
        QUEUE_ACTION_EXPIRE,
        _QUEUE_ACTION_MAX,
        _QUEUE_ACTION_INVALID = -EINVAL,
} QueueAction;

const char *queue_action_to_string(QueueAction a);
QueueAction queue_action_from_string(const char *s);
/* delete and expire lose or bounce mail: they need a confirmation (or --yes). */
bool queue_action_is_destructive(QueueAction a);
/* The postsuper option: "-h", "-H", "-d", "-r", "-f". */
const char *queue_action_postsuper_flag(QueueAction a);

/* A queue id as Postfix makes them: 6 to 64 letters and digits, never the word ALL. */
bool queue_id_is_valid(const char *id);

typedef struct QueueActionResult {
        size_t requested;   /* ids asked for */
        char **gone;        /* ids no longer in the queue at the re-check (NULL-terminated) */
        size_t n_gone;
        size_t sent;        /* ids handed to postsuper */
        long affected;      /* postsuper's own count ("Deleted: 3 messages"), -1 unknown */
        char *output;       /* postsuper's messages, terminal-safe */
} QueueActionResult;

void queue_action_result_done(QueueActionResult *r);

/* Re-reads the queue through recheck (a fresh snapshot), drops and reports the ids that are
 * gone, then runs `postsuper FLAG -` with the rest on stdin, one per line. Returns 0 when
 * postsuper succeeded (or nothing was left to do), -EINVAL for an invalid id (nothing is
 * run), -EIO when postsuper failed (*ret still says what it printed). */
int queue_action_run(QueueAction a, char *const *ids, size_t n_ids, const QueueSourceOptions *recheck,
                     QueueActionResult *ret, char **ret_error);

/* postqueue -f (site NULL) or postqueue -s SITE. */
int queue_flush(const char *site, char **ret_output, char **ret_error);

/* `postcat -q ID`: envelope, headers and body, at most max_output bytes (*ret_truncated
 * says whether more was cut), made terminal-safe (newlines kept; tabs too when keep_tabs).
 * Returns 0; -EINVAL for an invalid id (nothing run); -EIO or -ETIMEDOUT when postcat
 * failed (*ret_text still has what it printed, *ret_error its complaint). */
int queue_show_message(const char *id, size_t max_output, Deadline deadline, bool keep_tabs, char **ret_text,
                       bool *ret_truncated, char **ret_error);
