/* Terminal set-up and restore, shared by the dashboard and the wizard (see term.c). */
#pragma once

#include <stdbool.h>

typedef struct UiTermOptions {
        int color;         /* -1 auto (NO_COLOR respected), 0 never, 1 always */
        bool raw;          /* raw(): Ctrl-C and Ctrl-Z are keys; else cbreak() (the loop takes SIGINT) */
        bool end_on_term;  /* SIGTERM and SIGHUP restore and end too (no loop handles them) */
} UiTermOptions;

/* Starts curses on the terminal: no echo, keypad, a short escape delay, colours (sets
 * ui.color), and a handler that restores the terminal before a crash signal (SIGSEGV,
 * SIGABRT, SIGBUS, SIGFPE, SIGILL) kills the process, as at exit. 0 or -EIO. */
int ui_term_start(const UiTermOptions *o);
/* Leaves curses (idempotent; also at exit and on a crash signal). */
void ui_term_restore(void);
