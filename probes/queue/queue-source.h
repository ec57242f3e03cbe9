/* Where a queue snapshot comes from: the queue files themselves (root or the mail owner,
 * the way qshape reads them), `postqueue -j` otherwise, or a saved dump (--input). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "deadline.h"

#include "queue-model.h"

typedef enum QueueSourceKind {
        QUEUE_SOURCE_AUTO,      /* files when readable, else postqueue -j */
        QUEUE_SOURCE_FILES,
        QUEUE_SOURCE_POSTQUEUE,
        QUEUE_SOURCE_INPUT,
        /* `postqueue -p`, the text listing: what QUEUE_SOURCE_POSTQUEUE falls back to when
         * postqueue refuses -j (Postfix before 3.1). Chosen directly only by tests and by
         * the hidden `--source postqueue-p`, to check the fallback on a newer Postfix. */
        QUEUE_SOURCE_POSTQUEUE_TEXT,
        _QUEUE_SOURCE_MAX,
        _QUEUE_SOURCE_INVALID = -EINVAL,
} QueueSourceKind;

const char *queue_source_to_string(QueueSourceKind k);
/* For people: "queue files", "postqueue -j", "postqueue -p", "a saved listing". */
const char *queue_source_describe(QueueSourceKind k);
QueueSourceKind queue_source_from_string(const char *s);

typedef struct QueueSourceOptions {
        QueueSourceKind kind;
        const char *input;            /* QUEUE_SOURCE_INPUT: a file of postqueue -j (or -p)
                                       * output, "-" stdin */
        const char *queue_directory;  /* NULL: `postconf -h queue_directory` */
        uint32_t queues;              /* files: read only these (bit set), 0 = all */
        bool reasons;                 /* files: read the defer logs (delay reasons) */
        unsigned timeout_ms;          /* for postconf / postqueue; 0 = 30 s */
        Deadline deadline;            /* the run's, when a check reads the queue: no tool
                                       * runs past it (unset: timeout_ms alone) */
} QueueSourceOptions;

/* Fills *ret (finished: repeats dropped, sorted). *ret_used says which source answered.
 * On failure *ret_error (when non-NULL) says why, terminal-safe. */
int queue_load(const QueueSourceOptions *o, QueueSnapshot *ret, QueueSourceKind *ret_used, char **ret_error);

/* `postconf -h queue_directory`. */
int queue_directory_get(unsigned timeout_ms, char **ret, char **ret_error);

/* Whether this process may read the queue files directly (root or the queue's owner). */
bool queue_files_readable(const char *queue_directory);
