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

int ui_key_from_sequence(const char *seq, size_t len) {
        if (len < 2 || (seq[0] != '[' && seq[0] != 'O'))
                return 0;
        char final = seq[len - 1];
        /* ESC [ 1 ; 5 C and ESC O C: the letter is the key, a modifier does not matter here */
        switch (final) {
        case 'A': return KEY_UP;
        case 'B': return KEY_DOWN;
        case 'C': return KEY_RIGHT;
        case 'D': return KEY_LEFT;
        case 'H': return KEY_HOME;
        case 'F': return KEY_END;
        case 'Z': return seq[0] == '[' ? KEY_BTAB : 0;
        case 'P': case 'Q': case 'R': case 'S':
                /* SS3 P..S, or CSI 1 ; m P..S (xterm's modified F1-F4) */
                if (seq[0] == 'O' || (len > 2 && seq[1] == '1'))
                        return KEY_F(1 + final - 'P');
                return 0;
        case '~':
                break;
        default:
                return 0;
        }
        /* VT220 style: ESC [ N ~ or ESC [ N ; m ~ */
        int n = 0;
        size_t i = 1;
        for (; i < len - 1 && seq[i] >= '0' && seq[i] <= '9' && n < 1000; i++)
                n = n * 10 + (seq[i] - '0');
        if (i == 1 || (i < len - 1 && seq[i] != ';'))
                return 0;
        switch (n) {
        case 1: case 7: return KEY_HOME;
        case 4: case 8: return KEY_END;
        case 2: return KEY_IC;
        case 3: return KEY_DC;
        case 5: return KEY_PPAGE;
        case 6: return KEY_NPAGE;
        case 11: case 12: case 13: case 14: case 15: return KEY_F(n - 10);
        case 17: case 18: case 19: case 20: case 21: return KEY_F(n - 11);
        case 23: case 24: return KEY_F(n - 12);
        default: return 0;
        }
}

static void unget_key(wint_t c, int how) {
        if (how == KEY_CODE_YES)
                (void) ungetch((int) c);
        else
                (void) unget_wch(c);
}

int ui_get_key(wint_t *ch, int timeout_ms) {
        int k = get_wch(ch);
        if (k != OK || *ch != 27)
                return k;
        /* curses gave ESC: either Esc itself, or the start of a sequence it did not know,
         * whose tail is already waiting (it came in the same write as the ESC). */
        timeout(0);
        wint_t c;
        int r = get_wch(&c);
        if (r != OK || (c != '[' && c != 'O')) {
                if (r != ERR)
                        unget_key(c, r); /* Esc, then a key of its own: both stay */
                timeout(timeout_ms);
                return k;
        }
        char seq[32];
        size_t n = 0;
        seq[n++] = (char) c;
        bool whole = false, stray = false;
        /* parameter and intermediate bytes 0x20-0x3f, then one final byte 0x40-0x7e */
        while (n < sizeof(seq)) {
                r = get_wch(&c);
                if (r == ERR)
                        break;
                if (r != OK || c < 0x20 || c > 0x7e) {
                        stray = true; /* not part of a sequence: a key of its own */
                        break;
                }
                seq[n++] = (char) c;
                if (c >= 0x40 && !(n == 2 && seq[0] == '[' && c == '[')) { /* ESC [ [ A: the Linux console's F1 */
                        whole = true;
                        break;
                }
        }
        if (stray)
                unget_key(c, r);
        timeout(timeout_ms);
        if (n == 1) { /* ESC then '[' or 'O' typed alone: Esc comes now, the other key next */
                unget_wch((wint_t) seq[0]);
                return k;
        }
        int key = whole ? ui_key_from_sequence(seq, n) : 0;
        if (seq[0] == '[' && n == 3 && seq[1] == '[' && seq[2] >= 'A' && seq[2] <= 'E')
                key = KEY_F(1 + seq[2] - 'A');
        if (key == 0)
                return UI_KEY_DROPPED;
        *ch = (wint_t) key;
        return KEY_CODE_YES;
}
