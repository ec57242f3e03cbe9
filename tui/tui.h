/* The terminal front end: the live dashboard. The only layer that includes curses. */
#pragma once

#include <stdbool.h>

#include "probe.h"

typedef int (*TuiNamesFunc)(CheckContext *ctx, void *userdata);

typedef struct TuiOptions {
        /* What the health panel checks; copied, its pointers must outlive tui_run. */
        const CheckContext *ctx;
        /* When set: fills in the names the flags left out (ctx->host, ctx->domain; the
         * strings must outlive tui_run), e.g. by asking Postfix. Slow, so it runs in a fiber
         * on the loop after the first frame, before the first check run. 0 or -errno. */
        TuiNamesFunc names;
        void *names_userdata;
        /* The panel to open on: "health" (default), or another panel's name. */
        const char *panel;
        /* Seconds between health refreshes (0: the settings' refresh_seconds). */
        unsigned refresh_seconds;
        /* Draw with ASCII only (no line-drawing or block characters). */
        bool ascii;
        /* For slow links: redraw ages less often, no spinner, no mouse. */
        bool low_bandwidth;
        /* Clicks select rows and switch panels, the wheel scrolls (off with low_bandwidth). */
        bool mouse;
        /* Colours: -1 auto (NO_COLOR respected), 0 never, 1 always. */
        int color;
} TuiOptions;

/* Runs the dashboard on stdin/stdout (a terminal) until the user quits or a SIGTERM,
 * SIGHUP or SIGINT arrives; the terminal is restored in every case, a crash included.
 * Returns 0, or a negative errno when the terminal could not be set up. */
int tui_run(const TuiOptions *opts);
