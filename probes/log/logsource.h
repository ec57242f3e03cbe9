/* Where mail log lines come from: the journal (sd-journal: the mail units and
 * identifiers), classic files (rotated siblings in time order, gzip through zlib), and
 * follow mode exposed loop-agnostically (an fd to poll and a process function). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline.h"
#include "logline.h"

typedef struct LogSourceOptions {
        char **files;              /* --file, NULL-terminated; NULL/empty: the journal, else defaults */
        bool no_rotated;           /* read only the named files, not their rotated siblings */
        const char *journal_dir;   /* --journal-dir */
        const char *journal_file;  /* --journal-file */
        int64_t since_usec;        /* 0: from the start */
        int64_t until_usec;        /* 0: to the end */
        int64_t now_usec;          /* year inference for traditional timestamps; 0 = now */
        Deadline deadline;         /* unset = none; reading stops there with -ETIME */
        uint64_t tail_bytes;       /* plain files: read only about the last N bytes (0 = all) */
} LogSourceOptions;

typedef enum LogSourceKind {
        LOG_SOURCE_FILES,
        LOG_SOURCE_JOURNAL,
} LogSourceKind;

typedef struct LogSourceInfo {
        LogSourceKind kind;
        char *description;   /* "journal", "journal directory D", "file F (+2 rotated)" */
        size_t n_files;
        bool truncated;      /* stopped at the deadline */
} LogSourceInfo;

void log_source_info_done(LogSourceInfo *i);

/* One line or entry: ev is parsed; raw/raw_len is the file line as read (NULL for a journal
 * entry: ev->message then holds the MESSAGE bytes). Return < 0 to stop with that error,
 * > 0 to stop early without one, 0 to go on. */
typedef int (*LogRecordFunc)(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata);

/* Reads everything in the options' window, in time order per source. Inside a fiber (a
 * check on the engine's loop) it lets the loop run now and then, and stops with
 * -ECANCELED when the fiber is cancelled. Returns 0, -ENOENT
 * (no journal and no default log file; *ret_info still describes what was tried), -ETIME
 * at the deadline (info->truncated), or an error (of opening a file: -errno). */
int log_source_read(const LogSourceOptions *o, LogRecordFunc f, void *userdata, LogSourceInfo *ret_info);

/* The rotated siblings of path, oldest first, then path itself (NULL-terminated, caller
 * frees with strv_free). Siblings are NAME.N, NAME.N.gz, NAME-YYYYMMDD[.gz] in the same
 * directory, ordered by modification time. */
int log_rotated_files(const char *path, char ***ret);

/* Gives back the resident pages of this process's journal file mappings (sd-journal's,
 * read-only and shared: the data stays in the page cache). The readers here call it every
 * few thousand entries; a caller that reads with sd-journal itself may too. */
void log_journal_release_pages(void);

/* Follow mode. */
typedef struct LogFollow LogFollow;

/* Opens the source (as log_source_read chooses it) and positions at its end: f then gets
 * what is written from now on, through log_follow_process. */
int log_follow_new(const LogSourceOptions *o, LogRecordFunc f, void *userdata, LogFollow **ret);
LogFollow *log_follow_free(LogFollow *l);
/* The fd to wait on for POLLIN. */
int log_follow_get_fd(LogFollow *l);
/* Reads what arrived since (across file rotation and truncation). Returns 0 or -errno. */
int log_follow_process(LogFollow *l);
const char *log_follow_description(LogFollow *l);
