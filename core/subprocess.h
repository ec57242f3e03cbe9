/* Run external commands safely: argv only (never a shell), bounded capture, timeout, stdin feed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadline.h"

typedef struct SpawnOptions {
        /* NULL-terminated; argv[0] without '/' is looked up in a fixed, trusted PATH
         * (SPAWN_SAFE_PATH), never in the caller's $PATH. */
        const char *const *argv;
        /* NULL: the child gets a clean environment: PATH=SPAWN_SAFE_PATH, LC_ALL=C
         * (so tools' messages are stable and parseable), and TZ/TERM/HOME passed through.
         * Non-NULL: exactly this NULL-terminated environment. Never put secrets here. */
        const char *const *envp;
        /* Bytes written to the child's stdin, then stdin is closed. NULL: stdin is /dev/null.
         * This is how secrets reach a child: never through argv or the environment. */
        const void *input;
        size_t input_size;
        /* Wall-clock limit in milliseconds; the child's whole process group is killed
         * (SIGTERM, then SIGKILL after 500 ms) when it runs out. 0 means SPAWN_DEFAULT_TIMEOUT_MS. */
        unsigned timeout_ms;
        /* The caller's deadline (the probe's): the child is killed at the earlier of this
         * and timeout_ms (at the deadline with SIGKILL at once: it is a hard bound); when
         * it has passed already, nothing is started and the result says timed_out.
         * Unset: timeout_ms alone. */
        Deadline deadline;
        /* Cap on captured bytes per stream; beyond it output is read and dropped (the child
         * never blocks on a full pipe). 0 means SPAWN_DEFAULT_MAX_OUTPUT. */
        size_t max_output;
        /* Standard output handed to on_output as it arrives instead of being captured
         * (out stays empty; max_output does not apply to it): long listings are read as a
         * stream, in bounded memory. A negative return kills the child and is spawn_run's
         * result. With merge_stderr or terminal, stderr arrives here too. */
        int (*on_output)(const char *data, size_t size, void *userdata);
        void *userdata;
        /* Capture stderr into the same buffer as stdout, interleaved as written. */
        bool merge_stderr;
        /* Give the child a pseudo-terminal (raw mode) as stdout and stderr, captured merged
         * into out. For tools that print their messages only when stderr is a terminal and
         * send them to syslog otherwise: postfix(1) and postlog(1). stdin is unaffected. */
        bool terminal;
        /* Working directory of the child, NULL for "/". */
        const char *cwd;
} SpawnOptions;

#define SPAWN_SAFE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_DEFAULT_TIMEOUT_MS 30000u
#define SPAWN_DEFAULT_MAX_OUTPUT ((size_t) 4 * 1024 * 1024)

typedef struct SpawnResult {
        /* Exactly one of these describes the end: exited (exit_status valid) or
         * signalled (term_signal valid). timed_out is set when we killed it. */
        bool exited;
        int exit_status;
        bool signalled;
        int term_signal;
        bool timed_out;
        /* NUL-terminated captured output (may contain other NULs: use the sizes). */
        char *out;
        size_t out_size;
        bool out_truncated;
        char *err;
        size_t err_size;
        bool err_truncated;
        /* How long the child ran, in milliseconds. */
        uint64_t duration_ms;
} SpawnResult;

/* Runs the command to completion (or timeout). Returns 0 when the child was started and
 * reaped, whatever its exit status; -ENOENT when argv[0] cannot be found, -EACCES when it
 * cannot be executed, other negative errno on failure to set up. On success *ret is filled
 * and must be released with spawn_result_done(). Thread-safe. Inside a fiber (core/fiber.h)
 * it waits through the fiber's loop, so other fibers run meanwhile; when the fiber is
 * cancelled the child's process group is killed at once and -ECANCELED returned. */
int spawn_run(const SpawnOptions *opts, SpawnResult *ret);

void spawn_result_done(SpawnResult *r);

/* True when the child exited with status 0. */
bool spawn_result_ok(const SpawnResult *r);

/* Finds argv0 in SPAWN_SAFE_PATH (or checks it when it contains '/'); returns a newly
 * allocated path or NULL with errno set. Useful to tell "not installed" from "failed". */
char *spawn_find_program(const char *argv0);
