/* The log panel: the mail log's last hour, then its live tail (the journal's fd, or
 * inotify on the log file, on the loop: no polling), coloured by kind, with pause/follow,
 * search and filter, and the lines of the selected message's queue id on Enter. Lines
 * are kept in a bounded ring; every line is made terminal-safe when it arrives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "logpanel.h"
#include "logsource.h"
#include "macro.h"
#include "termsafe.h"

#define LOG_PANEL_LINES 100000
#define LOG_HISTORY_SECONDS 3600
#define QUEUE_ID_MAX 32

typedef struct Line {
        int64_t usec;
        LogKind kind;
        LogStatus status;
        char queue_id[QUEUE_ID_MAX];
        char *text; /* terminal-safe */
} Line;

typedef struct LogPanel {
        Panel panel;
        sd_event *event;
        LogPanelChanged changed;
        void *userdata;
        LogFollow *follow;
        sd_event_source *io;
        char *source;      /* what is followed, for the header */
        char *error;       /* why there is nothing to follow */

        Line *ring;
        size_t cap, start, n; /* oldest at start */
        uint64_t dropped;     /* lines pushed out of the ring */

        /* view: indices into the filtered list, newest last */
        size_t *visible;
        size_t n_visible;
        size_t selected;
        bool follow_on;
        char *filter;
        char trace[QUEUE_ID_MAX]; /* non-empty: only this message's lines */
} LogPanel;

static const char *const log_bar[] = {
        "f", N_("Follow/pause"), "Enter", N_("Trace"), NULL,
};

static Line *line_at(LogPanel *l, size_t i) {
        return &l->ring[(l->start + i) % l->cap];
}

static int on_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        LogPanel *l = userdata;
        char *text = NULL;
        if (raw)
                (void) termsafe_dup(raw, raw_len, 0, &text);
        else {
                /* a journal entry: identifier, pid and message as journalctl shows them */
                char *composed = NULL;
                if (asprintf(&composed, "%.*s[%u]: %.*s", (int) MIN(ev->ident.n, (size_t) 256), ev->ident.p, ev->pid,
                             (int) MIN(ev->message.n, (size_t) 65536), ev->message.p) >= 0) {
                        text = termsafe_strdup(composed, 0);
                        free(composed);
                }
        }
        if (!text)
                return 0; /* out of memory: drop this line, keep the tail going */
        Line *slot;
        if (l->n < l->cap)
                slot = line_at(l, l->n++);
        else {
                slot = line_at(l, 0);
                free(slot->text);
                l->start = (l->start + 1) % l->cap;
                l->dropped++;
        }
        *slot = (Line) { .usec = ev->usec, .kind = ev->kind, .status = ev->status, .text = text };
        if (ev->queue_id.n && ev->queue_id.n < QUEUE_ID_MAX)
                memcpy(slot->queue_id, ev->queue_id.p, ev->queue_id.n);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LogPanel *l = userdata;
        size_t before = l->n + l->dropped;
        int r = log_follow_process(l->follow);
        if (r < 0) {
                free(l->error);
                if (asprintf(&l->error, _("following stopped: %s"), strerror(-r)) < 0)
                        l->error = NULL;
                l->io = sd_event_source_disable_unref(l->io);
        }
        if (l->n + l->dropped != before && l->changed)
                l->changed(l->userdata);
        return 0;
}

/* ---- view ---- */

static bool line_matches(const Line *ln, const char *text) {
        if (!text || !*text)
                return true;
        const char *k = startswith(text, "kind:");
        if (k)
                return strcasecmp(log_kind_to_string(ln->kind), k) == 0 ||
                       (ln->status != LOG_STATUS_NONE && strcasecmp(log_status_to_string(ln->status), k) == 0);
        return strcasestr(ln->text, text) != NULL;
}

static void rebuild(LogPanel *l) {
        size_t *v = reallocarray(l->visible, MAX(l->n, (size_t) 1), sizeof(size_t));
        if (!v)
                return;
        l->visible = v;
        size_t keep = l->n_visible ? l->visible[MIN(l->selected, l->n_visible - 1)] : 0;
        l->n_visible = 0;
        for (size_t i = 0; i < l->n; i++) {
                const Line *ln = line_at(l, i);
                if (l->trace[0] && !streq(ln->queue_id, l->trace))
                        continue;
                if (!line_matches(ln, l->filter))
                        continue;
                v[l->n_visible++] = i;
        }
        if (l->follow_on || l->n_visible == 0)
                l->selected = l->n_visible ? l->n_visible - 1 : 0;
        else {
                /* stay on the same line while paused (it may have moved in the ring) */
                size_t i = 0;
                while (i + 1 < l->n_visible && l->visible[i] < keep)
                        i++;
                l->selected = i;
        }
}

static attr_t kind_attr(const Line *ln) {
        switch (ln->kind) {
        case LOG_KIND_REJECT:
        case LOG_KIND_SASL_FAILURE:
        case LOG_KIND_LOGIN_FAILED:
                return ui_attr(UI_CRITICAL);
        case LOG_KIND_FATAL:
        case LOG_KIND_PANIC:
                return ui_attr(UI_CRITICAL) | A_BOLD;
        case LOG_KIND_REJECT_WARNING:
        case LOG_KIND_WARNING:
        case LOG_KIND_SUPPRESSED:
        case LOG_KIND_HOLD:
        case LOG_KIND_DISCARD:
                return ui_attr(UI_WARNING);
        case LOG_KIND_DELIVERY:
        case LOG_KIND_EXPIRED:
                return ln->status == LOG_STATUS_SENT       ? ui_attr(UI_OK)
                       : ln->status == LOG_STATUS_DEFERRED ? ui_attr(UI_WARNING)
                                                           : ui_attr(UI_CRITICAL);
        case LOG_KIND_LOGIN:
        case LOG_KIND_LMTP_SAVED:
                return ui_attr(UI_OK);
        case LOG_KIND_UNPARSED:
                return ui_attr(UI_DIM);
        default:
                return A_NORMAL;
        }
}

static void log_draw(Panel *p, int top, int height) {
        LogPanel *l = (LogPanel *) p;
        rebuild(l);
        if (height < 2)
                return;
        char head[256];
        snprintf(head, sizeof(head), " %s  %s  %zu %s%s%s", l->error ? l->error : strempty(l->source),
                 l->follow_on ? _("[following]") : _("[paused: f follows]"), l->n_visible, _("lines"),
                 l->trace[0] ? _("  trace of ") : "", l->trace);
        ui_fill(top, 0, ui.cols, ui_attr(UI_HEADER));
        int x = ui_text(top, 0, ui.cols, head, ui_attr(UI_HEADER), false);
        if (l->filter && *l->filter) {
                char f[96];
                snprintf(f, sizeof(f), _("  filter: %s"), l->filter);
                ui_text(top, x, ui.cols - x, f, ui_attr(UI_MATCH), false);
        }
        top++;
        height--;
        size_t first = l->selected + 1 > (size_t) height ? l->selected + 1 - (size_t) height : 0;
        for (int r = 0; r < height; r++) {
                size_t i = first + (size_t) r;
                ui_fill(top + r, 0, ui.cols, A_NORMAL);
                if (i >= l->n_visible)
                        continue;
                const Line *ln = line_at(l, l->visible[i]);
                bool sel = i == l->selected && !l->follow_on;
                attr_t base = sel ? ui_attr(UI_SELECTED) : A_NORMAL;
                char ts[16] = "--:--:--";
                if (ln->usec > 0) {
                        time_t t = (time_t) (ln->usec / 1000000);
                        struct tm tm;
                        if (localtime_r(&t, &tm))
                                strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
                }
                ui_fill(top + r, 0, ui.cols, base);
                ui_text(top + r, 0, 9, ts, sel ? base : ui_attr(UI_DIM), false);
                ui_text(top + r, 9, ui.cols - 9, ln->text, sel ? base : kind_attr(ln), true);
        }
        if (l->n_visible == 0)
                ui_text(top, 2, ui.cols - 4,
                        l->error ? l->error : (l->filter || l->trace[0]) ? _("nothing matches") : _("no mail log lines yet"),
                        ui_attr(UI_DIM), false);
}

static KeyResult log_key(Panel *p, int key) {
        LogPanel *l = (LogPanel *) p;
        size_t page = (size_t) MAX(ui.rows - 4, 1);
        switch (key) {
        case KEY_UP:
        case 'k':
                l->follow_on = false;
                if (l->selected)
                        l->selected--;
                return KEY_HANDLED;
        case KEY_DOWN:
        case 'j':
                if (l->selected + 1 < l->n_visible)
                        l->selected++;
                return KEY_HANDLED;
        case KEY_PPAGE:
                l->follow_on = false;
                l->selected = l->selected > page ? l->selected - page : 0;
                return KEY_HANDLED;
        case KEY_NPAGE:
                l->selected = l->n_visible ? MIN(l->selected + page, l->n_visible - 1) : 0;
                return KEY_HANDLED;
        case 'g':
        case KEY_HOME:
                l->follow_on = false;
                l->selected = 0;
                return KEY_HANDLED;
        case 'G':
        case KEY_END:
        case 'F':
                l->follow_on = true;
                return KEY_HANDLED;
        case 'f':
                l->follow_on = !l->follow_on;
                return KEY_HANDLED;
        case '\n':
        case '\r':
        case KEY_ENTER:
                if (l->trace[0])
                        l->trace[0] = 0;
                else if (l->n_visible) {
                        const Line *ln = line_at(l, l->visible[l->selected]);
                        if (ln->queue_id[0])
                                memcpy(l->trace, ln->queue_id, sizeof(l->trace));
                }
                return KEY_HANDLED;
        case 'q':
        case 27:
                if (l->trace[0]) {
                        l->trace[0] = 0;
                        return KEY_HANDLED;
                }
                return KEY_IGNORED;
        }
        return KEY_IGNORED;
}

static bool log_search(Panel *p, const char *text, int dir) {
        LogPanel *l = (LogPanel *) p;
        rebuild(l);
        size_t n = l->n_visible;
        if (!n || !text || !*text)
                return false;
        for (size_t step = 1; step <= n; step++) {
                size_t i = dir > 0 ? (l->selected + step) % n : (l->selected + n - step % n) % n;
                if (line_matches(line_at(l, l->visible[i]), text)) {
                        l->follow_on = false;
                        l->selected = i;
                        return true;
                }
        }
        return false;
}

static void log_filter(Panel *p, const char *text) {
        LogPanel *l = (LogPanel *) p;
        free(l->filter);
        l->filter = text && *text ? strdup(text) : NULL;
}

static void log_free(Panel *p) {
        LogPanel *l = (LogPanel *) p;
        if (!l)
                return;
        sd_event_source_disable_unref(l->io);
        log_follow_free(l->follow);
        for (size_t i = 0; i < l->n; i++)
                free(line_at(l, i)->text);
        free(l->ring);
        free(l->visible);
        free(l->filter);
        free(l->source);
        free(l->error);
        sd_event_unref(l->event);
        free(l);
}

int log_panel_new(sd_event *e, LogPanelChanged changed, void *userdata, Panel **ret) {
        LogPanel *l = calloc(1, sizeof(LogPanel));
        if (!l)
                return -ENOMEM;
        l->panel = (Panel) {
                .name = "log",
                .title = N_("Log"),
                .draw = log_draw,
                .key = log_key,
                .bar = log_bar,
                .free = log_free,
                .search = log_search,
                .filter = log_filter,
        };
        l->event = sd_event_ref(e);
        l->changed = changed;
        l->userdata = userdata;
        l->follow_on = true;
        l->cap = LOG_PANEL_LINES;
        l->ring = calloc(l->cap, sizeof(Line));
        if (!l->ring) {
                log_free(&l->panel);
                return -ENOMEM;
        }

        /* The last hour first (bounded in time and, for files, in bytes), then follow. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        LogSourceOptions o = {
                .since_usec = ((int64_t) now.tv_sec - LOG_HISTORY_SECONDS) * 1000000,
                .deadline = deadline_in_ms(2000),
                .tail_bytes = (uint64_t) 8 << 20,
        };
        LogSourceInfo info = {};
        int r = log_source_read(&o, on_record, l, &info);
        log_source_info_done(&info);
        o.since_usec = 0;
        o.deadline = DEADLINE_NONE;
        if (r >= 0 || r == -ETIME)
                r = log_follow_new(&o, on_record, l, &l->follow);
        if (r >= 0) {
                l->source = strdup(strempty(log_follow_description(l->follow)));
                r = sd_event_add_io(e, &l->io, log_follow_get_fd(l->follow), EPOLLIN, on_io, l);
        }
        if (r < 0 && asprintf(&l->error, r == -EACCES || r == -EPERM
                                                 ? _("cannot read the mail log: %s (root, or the groups adm or "
                                                     "systemd-journal, can)")
                                                 : _("no mail log to show: %s"),
                              strerror(-r)) < 0)
                l->error = NULL;
        *ret = &l->panel;
        return 0;
}
