/* Terminal set-up and restore: one place for the dashboard and the wizard, so both
 * leave the terminal usable in every way out (quit, exit(), a crash signal), as htop's
 * CRT_init/CRT_done do. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "term.h"
#include "ui.h"

static bool curses_active;

void ui_term_restore(void) {
        if (curses_active) {
                curses_active = false;
                endwin();
        }
}

/* A crash must not leave the terminal raw and invisible (htop's CRT_handleSIGSEGV does
 * the same): restore it, then die of the same signal. */
static void fatal_signal(int sig) {
        ui_term_restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void setup_colors(int mode) {
        const char *no = getenv("NO_COLOR");
        ui.color = has_colors() && (mode == 1 || (mode < 0 && !(no && *no)));
        if (!ui.color)
                return;
        start_color();
        use_default_colors();
        init_pair(UI_OK, COLOR_GREEN, -1);
        init_pair(UI_WARNING, COLOR_YELLOW, -1);
        init_pair(UI_CRITICAL, COLOR_RED, -1);
        init_pair(UI_UNKNOWN, COLOR_MAGENTA, -1);
        init_pair(UI_TITLE, COLOR_BLACK, COLOR_CYAN);
        init_pair(UI_BAR_KEY, COLOR_WHITE, -1);
        init_pair(UI_BAR_TEXT, COLOR_BLACK, COLOR_CYAN);
        init_pair(UI_HEADER, COLOR_CYAN, -1);
        init_pair(UI_DIM, COLORS >= 16 ? 8 : COLOR_WHITE, -1);
        init_pair(UI_MATCH, COLOR_BLACK, COLOR_YELLOW);
}

int ui_term_start(const UiTermOptions *o) {
        static bool atexit_done;
        if (!initscr())
                return -EIO;
        curses_active = true;
        struct sigaction sa = { .sa_handler = fatal_signal, .sa_flags = SA_RESETHAND };
        sigemptyset(&sa.sa_mask);
        for (const int *sig = (const int[]) { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, 0 }; *sig; sig++)
                sigaction(*sig, &sa, NULL);
        if (o->end_on_term) {
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGHUP, &sa, NULL);
        }
        if (!atexit_done)
                atexit_done = atexit(ui_term_restore) == 0;
        if (o->raw)
                raw();
        else
                cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        set_escdelay(25);
        setup_colors(o->color);
        return 0;
}
