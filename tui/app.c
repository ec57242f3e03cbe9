/* The dashboard's frame: terminal set-up and restore, the sd-event loop (stdin, SIGWINCH,
 * SIGTERM/SIGHUP/SIGINT, a slow tick for ages), panels, the key table, the function bar,
 * the help screen and the search/filter prompt. Panels get data pushed to them and only
 * draw it; nothing here waits for anything but the loop. */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "health.h"
#include "logpanel.h"
#include "macro.h"
#include "queuepanel.h"
#include "term.h"
#include "termsafe.h"
#include "traffic.h"
#include "tui.h"
#include "ui.h"

#define MAX_PANELS 4
#define PROMPT_MAX 256
#define BAR_ITEMS_MAX 24

typedef enum PromptKind { PROMPT_NONE, PROMPT_SEARCH, PROMPT_FILTER } PromptKind;

typedef struct BarItem {
        int x0, x1, key;
} BarItem;

typedef struct App {
        sd_event *event;
        sd_event_source *input, *winch, *term, *hup, *intr, *tick, *redraw;
        Panel *panels[MAX_PANELS];
        size_t n_panels;
        size_t current;
        bool help;
        PromptKind prompt;
        char prompt_buf[PROMPT_MAX];
        char *last_search;
        char message[160]; /* one-line notice in the bar ("no match") */
        int exit_code;
        Panel *log;    /* the log panel (also in panels) */
        bool log_held; /* the health panel's log checks wait for its first read */
        bool mouse;
        /* Where the last frame put the tabs and the bar's keys, for clicks. */
        int tab_x[MAX_PANELS][2];
        BarItem bar_items[BAR_ITEMS_MAX];
        size_t n_bar_items;
} App;

/* Global keys; each panel adds its own (see the panel's bar). The help screen lists
 * both tables, so every key is documented where it is bound. */
static const struct {
        const char *keys;
        const char *what;
} global_keys[] = {
        { "F1 ?", N_("this help") },
        { "Tab 1-9", N_("next panel / panel by number") },
        { "j k Up Down", N_("move") },
        { "PgUp PgDn g G", N_("page, first, last") },
        { "Enter", N_("details of the selected line") },
        { "F3 / n N", N_("search, next, previous match") },
        { "F4 \\", N_("filter (empty to clear)") },
        { "Ctrl-L", N_("redraw the screen") },
        { "click wheel", N_("select a line, a panel (tabs) or a key (bar); scroll") },
        { "q Esc", N_("back; q quits from the top level") },
        { "F10", N_("quit") },
};

static const char *const global_bar[] = { "F1", N_("Help"), "F3", N_("Search"), "F4", N_("Filter"), NULL };

/* ---- terminal ---- */

static void read_size(void) {
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
                resize_term(ws.ws_row, ws.ws_col);
        ui.rows = LINES;
        ui.cols = COLS;
}

/* ---- drawing ---- */

static void draw_title(App *a) {
        ui_fill(0, 0, ui.cols, ui_attr(UI_TITLE));
        int x = ui_text(0, 0, ui.cols, " mxdeck ", ui_attr(UI_TITLE), false);
        const char *host = a->n_panels ? health_host(a->panels[0]) : NULL;
        if (host) {
                x += ui_text(0, x, ui.cols - x, host, ui_attr(UI_TITLE), false);
                x += ui_text(0, x, ui.cols - x, "  ", ui_attr(UI_TITLE), false);
        }
        if (geteuid() != 0)
                /* what needs root says so where it is shown; this says why at a glance */
                x += ui_text(0, x, ui.cols - x, _("(not root)  "), ui_attr(UI_TITLE), false);
        for (size_t i = 0; i < a->n_panels && x < ui.cols; i++) {
                char tab[128];
                snprintf(tab, sizeof(tab), " %zu %s ", i + 1, _(a->panels[i]->title));
                attr_t at = i == a->current ? (ui_attr(UI_TITLE) | A_REVERSE | A_BOLD) : ui_attr(UI_TITLE);
                a->tab_x[i][0] = x;
                x += ui_text(0, x, ui.cols - x, tab, at, false);
                a->tab_x[i][1] = x;
        }
}

/* The key code a bar label stands for, for clicks on it: "F5", "Enter", "s"; 0 for none. */
static int bar_key_code(const char *key) {
        if (key[0] == 'F' && key[1] >= '1' && key[1] <= '9')
                return KEY_F(atoi(key + 1));
        if (streq(key, "Enter"))
                return '\n';
        if (key[0] && !key[1])
                return (unsigned char) key[0];
        return 0;
}

/* One key of the bar; an item that does not fit before `end` is left out (F10 Quit keeps
 * its place at the end on a narrow screen). */
static int bar_item(App *a, int x, int end, const char *key, const char *text) {
        if (x + (int) termsafe_width(key) + (int) termsafe_width(text) > end)
                return x;
        if (a->n_bar_items < BAR_ITEMS_MAX)
                a->bar_items[a->n_bar_items++] = (BarItem) {
                        .x0 = x,
                        .x1 = x + (int) termsafe_width(key) + (int) termsafe_width(text),
                        .key = bar_key_code(key),
                };
        x += ui_text(ui.rows - 1, x, ui.cols - x, key, ui_attr(UI_BAR_KEY), false);
        x += ui_text(ui.rows - 1, x, ui.cols - x, text, ui_attr(UI_BAR_TEXT), false);
        return x + ui_text(ui.rows - 1, x, ui.cols - x, " ", A_NORMAL, false);
}

static void draw_bar(App *a) {
        int y = ui.rows - 1;
        ui_fill(y, 0, ui.cols, A_NORMAL);
        if (a->prompt != PROMPT_NONE) {
                const char *label = a->prompt == PROMPT_SEARCH ? "/" : _("filter: ");
                int x = ui_text(y, 0, ui.cols, label, ui_attr(UI_HEADER), false);
                x += ui_text(y, x, ui.cols - x - 1, a->prompt_buf, A_NORMAL, false);
                curs_set(1);
                move(y, MIN(x, ui.cols - 1));
                return;
        }
        curs_set(0);
        if (a->message[0]) {
                ui_text(y, 0, ui.cols, a->message, ui_attr(UI_WARNING), false);
                return;
        }
        int x = 0;
        int end = ui.cols - (int) termsafe_width("F10") - (int) termsafe_width(_("Quit")) - 1;
        for (const char *const *b = global_bar; *b; b += 2)
                x = bar_item(a, x, end, b[0], _(b[1]));
        Panel *p = a->panels[a->current];
        for (const char *const *b = p->bar; b && *b; b += 2)
                x = bar_item(a, x, end, b[0], _(b[1]));
        bar_item(a, x, ui.cols, "F10", _("Quit"));
}

static void draw_help(App *a, int top, int height) {
        for (int y = top; y < top + height; y++)
                ui_fill(y, 0, ui.cols, A_NORMAL);
        int y = top;
        ui_text(y++, 1, ui.cols - 2, _("Keys (q or Esc closes this help)"), ui_attr(UI_HEADER), false);
        for (size_t i = 0; i < ELEMENTSOF(global_keys) && y < top + height; i++, y++) {
                ui_text(y, 2, 16, global_keys[i].keys, ui_attr(UI_BAR_KEY), false);
                ui_text(y, 19, ui.cols - 20, _(global_keys[i].what), A_NORMAL, false);
        }
        Panel *p = a->panels[a->current];
        if (p->bar && y + 1 < top + height) {
                char h[256];
                snprintf(h, sizeof(h), _("In the %s panel"), _(p->title));
                ui_text(++y, 1, ui.cols - 2, h, ui_attr(UI_HEADER), false);
                y++;
                for (const char *const *b = p->bar; *b && y < top + height; b += 2, y++) {
                        ui_text(y, 2, 16, b[0], ui_attr(UI_BAR_KEY), false);
                        ui_text(y, 19, ui.cols - 20, _(b[1]), A_NORMAL, false);
                }
        }
}

static void draw(App *a) {
        read_size();
        erase();
        a->n_bar_items = 0;
        memset(a->tab_x, 0, sizeof(a->tab_x));
        if (ui.rows < 5 || ui.cols < 20) {
                ui_text(0, 0, ui.cols, _("terminal too small"), A_BOLD, false);
                refresh();
                return;
        }
        draw_title(a);
        if (a->help)
                draw_help(a, 1, ui.rows - 2);
        else
                a->panels[a->current]->draw(a->panels[a->current], 1, ui.rows - 2);
        draw_bar(a);
        refresh();
}

static int on_redraw(sd_event_source *s, void *userdata) {
        App *a = userdata;
        (void) sd_event_source_set_enabled(a->redraw, SD_EVENT_OFF);
        draw(a);
        return 0;
}

/* Many changes in one loop iteration make one redraw. */
static void mark_dirty(App *a) {
        if (a->redraw)
                (void) sd_event_source_set_enabled(a->redraw, SD_EVENT_ONESHOT);
}

/* The log checks wait for the log panel's first read of the last hour (health_hold_log). */
static void release_log_checks(App *a) {
        if (a->log_held && a->log && !log_panel_loading(a->log)) {
                a->log_held = false;
                health_hold_log(a->panels[0], false);
        }
}

static void panel_changed(void *userdata) {
        release_log_checks(userdata);
        mark_dirty(userdata);
}

/* ---- keys ---- */

static void prompt_key(App *a, wint_t ch, bool is_key) {
        size_t len = strlen(a->prompt_buf);
        Panel *p = a->panels[a->current];
        if ((!is_key && ch == 27) || (is_key && ch == KEY_F(10))) {
                a->prompt = PROMPT_NONE;
                return;
        }
        if ((!is_key && (ch == '\n' || ch == '\r')) || (is_key && ch == KEY_ENTER)) {
                if (a->prompt == PROMPT_SEARCH) {
                        free(a->last_search);
                        a->last_search = strdup(a->prompt_buf);
                        if (p->search && !p->search(p, a->prompt_buf, +1))
                                snprintf(a->message, sizeof(a->message), _("no match for '%s'"), a->prompt_buf);
                } else if (p->filter)
                        p->filter(p, a->prompt_buf);
                a->prompt = PROMPT_NONE;
                return;
        }
        if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
                /* drop one whole UTF-8 character */
                while (len > 0 && ((unsigned char) a->prompt_buf[len - 1] & 0xC0) == 0x80)
                        len--;
                if (len > 0)
                        len--;
                a->prompt_buf[len] = 0;
                return;
        }
        if (is_key || ch < 32 || ch == 127 || (ch >= 0x80 && ch < 0xA0))
                return;
        char mb[8];
        mbstate_t st = {};
        size_t n = wcrtomb(mb, (wchar_t) ch, &st);
        if (n == (size_t) -1 || len + n >= sizeof(a->prompt_buf))
                return;
        memcpy(a->prompt_buf + len, mb, n);
        a->prompt_buf[len + n] = 0;
}

static void switch_panel(App *a, size_t i) {
        if (i < a->n_panels) {
                a->current = i;
                a->help = false;
        }
}

static void handle_key(App *a, wint_t ch, bool is_key) {
        a->message[0] = 0;
        if (a->prompt != PROMPT_NONE) {
                prompt_key(a, ch, is_key);
                return;
        }
        int key = (int) ch;
        Panel *p = a->panels[a->current];
        if (a->help) {
                if (key == 'q' || key == 27 || key == KEY_F(1) || key == '?')
                        a->help = false;
                else if (key == KEY_F(10))
                        (void) sd_event_exit(a->event, 0);
                return;
        }
        /* The panel first: it may use q/Esc to close its own details. */
        if (key != KEY_F(10) && key != KEY_F(1) && key != '?' && p->key(p, key) == KEY_HANDLED)
                return;
        switch (key) {
        case KEY_F(1):
        case '?':
                a->help = true;
                break;
        case KEY_F(10):
        case 'q':
                (void) sd_event_exit(a->event, 0);
                break;
        case 27:
                /* Esc goes back, but never out: over a slow link an Alt key or an escape
                 * sequence can arrive split, and a stray Esc must not end the session. */
                snprintf(a->message, sizeof(a->message), "%s", _("q or F10 quits"));
                break;
        case '\t':
                switch_panel(a, (a->current + 1) % a->n_panels);
                break;
        case KEY_BTAB:
                switch_panel(a, (a->current + a->n_panels - 1) % a->n_panels);
                break;
        case '/':
        case KEY_F(3):
                a->prompt = PROMPT_SEARCH;
                a->prompt_buf[0] = 0;
                break;
        case '\\':
        case KEY_F(4):
                a->prompt = PROMPT_FILTER;
                a->prompt_buf[0] = 0;
                break;
        case 'n':
        case 'N':
                if (a->last_search && p->search && !p->search(p, a->last_search, key == 'n' ? +1 : -1))
                        snprintf(a->message, sizeof(a->message), _("no match for '%s'"), a->last_search);
                break;
        case 12: /* Ctrl-L */
                clearok(curscr, TRUE);
                break;
        default:
                if (key >= '1' && key <= '9')
                        switch_panel(a, (size_t) (key - '1'));
        }
}

/* Clicks and the wheel. Only button presses are asked for (no motion reports), so an idle
 * mouse costs nothing on the link. */
static void handle_mouse(App *a) {
        MEVENT ev;
        if (getmouse(&ev) != OK)
                return;
        a->message[0] = 0;
        if (a->prompt != PROMPT_NONE)
                return;
        Panel *p = a->panels[a->current];
        if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
                if (a->help)
                        return;
                int key = ev.bstate & BUTTON4_PRESSED ? KEY_UP : KEY_DOWN;
                for (int i = 0; i < 3; i++)
                        (void) p->key(p, key);
                return;
        }
        if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
                return;
        if (ev.y == 0) {
                for (size_t i = 0; i < a->n_panels; i++)
                        if (ev.x >= a->tab_x[i][0] && ev.x < a->tab_x[i][1])
                                switch_panel(a, i);
                return;
        }
        if (ev.y == ui.rows - 1) {
                for (size_t i = 0; i < a->n_bar_items; i++)
                        if (ev.x >= a->bar_items[i].x0 && ev.x < a->bar_items[i].x1 && a->bar_items[i].key)
                                handle_key(a, (wint_t) a->bar_items[i].key, a->bar_items[i].key >= KEY_MIN);
                return;
        }
        if (!a->help && p->click)
                (void) p->click(p, ev.y, ev.x);
}

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        App *a = userdata;
        wint_t ch;
        int r;
        /* Everything that is there now; a paste or a burst of keys makes one redraw. */
        while ((r = ui_get_key(&ch, 0)) != ERR) {
                if (r == UI_KEY_DROPPED)
                        continue;
                if (r == KEY_CODE_YES && ch == KEY_RESIZE)
                        continue;
                if (r == KEY_CODE_YES && ch == KEY_MOUSE) {
                        handle_mouse(a);
                        continue;
                }
                handle_key(a, ch, r == KEY_CODE_YES);
        }
        if (revents & (EPOLLHUP | EPOLLERR))
                (void) sd_event_exit(a->event, 0); /* the terminal went away */
        /* A key's answer is drawn now: the batched redraw runs at idle priority, and while
         * a refresh keeps the loop busy that could be long after the key. */
        (void) sd_event_source_set_enabled(a->redraw, SD_EVENT_OFF);
        draw(a);
        return 0;
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        App *a = userdata;
        read_size();
        clearok(curscr, TRUE);
        mark_dirty(a);
        return 0;
}

static int on_quit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        App *a = userdata;
        (void) sd_event_exit(a->event, 0);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        App *a = userdata;
        uint64_t period = (ui.low_bandwidth ? 5 : 1) * USEC_PER_SEC;
        (void) sd_event_source_set_time(s, usec + period);
        Panel *p = a->panels[a->current];
        if (!a->help && p->tick && p->tick(p))
                mark_dirty(a);
        return 0;
}

static void app_done(App *a) {
        for (size_t i = 0; i < a->n_panels; i++)
                a->panels[i]->free(a->panels[i]);
        sd_event_source_disable_unref(a->input);
        sd_event_source_disable_unref(a->winch);
        sd_event_source_disable_unref(a->term);
        sd_event_source_disable_unref(a->hup);
        sd_event_source_disable_unref(a->intr);
        sd_event_source_disable_unref(a->tick);
        sd_event_source_disable_unref(a->redraw);
        sd_event_unref(a->event);
        free(a->last_search);
}

int tui_run(const TuiOptions *opts) {
        App a = { .exit_code = 0 };
        int r;

        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
                return -ENOTTY;

        /* Signals the loop handles must be blocked before any thread exists (the offload
         * workers block all of theirs anyway). */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_new(&a.event);
        if (r < 0)
                return r;

        ui = (Ui) { .ascii = opts->ascii, .low_bandwidth = opts->low_bandwidth };
        r = ui_term_start(&(UiTermOptions) { .color = opts->color });
        if (r < 0) {
                app_done(&a);
                return r;
        }
        nodelay(stdscr, TRUE);
        curs_set(0);
        read_size();
        /* Slow links: no mouse (every click is a report and a redraw). */
        a.mouse = opts->mouse && !opts->low_bandwidth;
        if (a.mouse) {
                mouseinterval(0); /* presses at once, no waiting to tell clicks apart */
                mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        }

        unsigned interval = opts->refresh_seconds ? opts->refresh_seconds
                            : opts->ctx->settings && opts->ctx->settings->refresh_seconds ? opts->ctx->settings->refresh_seconds
                                                                                           : 5;
        r = health_new(a.event, opts->ctx, opts->names, opts->names_userdata, true, interval, panel_changed, &a,
                       &a.panels[a.n_panels]);
        if (r < 0)
                goto out;
        a.n_panels++;
        /* The traffic panel counts what the log panel reads (one reader for both). */
        Panel *traffic = NULL;
        r = traffic_new(&traffic);
        if (r < 0)
                goto out;
        r = log_panel_new(a.event, panel_changed, &a, traffic_on_record, traffic, &a.panels[a.n_panels]);
        if (r < 0) {
                traffic->free(traffic);
                goto out;
        }
        a.log = a.panels[a.n_panels];
        a.log_held = true;
        a.n_panels++;
        release_log_checks(&a); /* when it could not start reading */
        r = queue_panel_new(a.event, opts->ctx->settings, interval, panel_changed, &a, &a.panels[a.n_panels]);
        if (r < 0) {
                traffic->free(traffic);
                goto out;
        }
        a.n_panels++;
        a.panels[a.n_panels++] = traffic;
        for (size_t i = 0; i < a.n_panels; i++)
                if (opts->panel && streq(opts->panel, a.panels[i]->name))
                        a.current = i;

        r = sd_event_add_io(a.event, &a.input, STDIN_FILENO, EPOLLIN, on_input, &a);
        if (r >= 0)
                r = sd_event_add_signal(a.event, &a.winch, SIGWINCH, on_winch, &a);
        if (r >= 0)
                r = sd_event_add_signal(a.event, &a.term, SIGTERM, on_quit_signal, &a);
        if (r >= 0)
                r = sd_event_add_signal(a.event, &a.hup, SIGHUP, on_quit_signal, &a);
        if (r >= 0)
                r = sd_event_add_signal(a.event, &a.intr, SIGINT, on_quit_signal, &a);
        if (r >= 0)
                r = sd_event_add_time_relative(a.event, &a.tick, CLOCK_MONOTONIC, USEC_PER_SEC, 100 * USEC_PER_MSEC, on_tick,
                                               &a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a.tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_defer(a.event, &a.redraw, on_redraw, &a);
        if (r < 0)
                goto out;
        /* Keys before drawing, drawing before probe results. */
        (void) sd_event_source_set_priority(a.input, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_priority(a.redraw, SD_EVENT_PRIORITY_IDLE);

        draw(&a);
        r = sd_event_loop(a.event);
        r = r < 0 ? r : 0;
out:
        app_done(&a);
        ui_term_restore();
        return r;
}
