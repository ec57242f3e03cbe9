/* Terminal set-up and restore, shared by the dashboard and the wizard (see term.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

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

/* The key a CSI (ESC [) or SS3 (ESC O) sequence stands for, from its bytes after ESC
 * (e.g. "[4~", "OP", "[1;5C"): a curses KEY_* code, or 0 when the sequence is not one of
 * the keys the terminal database may have missed (PuTTY's and rxvt's Home/End, VT220
 * function keys, xterm's modified arrows). */
int ui_key_from_sequence(const char *seq, size_t len);

/* get_wch() with the escape sequences curses did not know taken whole: a known one comes
 * back as its key (KEY_CODE_YES), an unknown one is dropped (UI_KEY_DROPPED: read on), so
 * that neither its ESC nor its tail ("[4~") ever arrives as keys of their own. A lone
 * Esc is still Esc. The input's timeout is set to timeout_ms afterwards (it is changed
 * while the tail of a sequence is read). */
#define UI_KEY_DROPPED (-2)
int ui_get_key(wint_t *ch, int timeout_ms);
