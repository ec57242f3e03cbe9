/* The log panel: the mail log's last hour, then its live tail (the journal's fd, or
 * inotify on the log file, on the loop: no polling), coloured by kind, with pause/follow,
 * search and filter, and on Enter the trace of the selected message (its queue id, and
 * across "queued as" re-injection and its Message-ID) in a side view beside or below the
 * tail. Lines are kept in a bounded ring; every line is made terminal-safe when it
 * arrives. The last hour is read in a fiber, so the first frame and the keys do not wait
 * for it; every record read is also handed to an observer (the traffic panel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fiber.h"
#include "logpanel.h"
#include "logsource.h"
#include "macro.h"
#include "termsafe.h"

#define LOG_PANEL_LINES 100000
#define LOG_HISTORY_SECONDS 3600
#define QUEUE_ID_MAX 24
#define TRACE_IDS_MAX 64

typedef struct Line {
        int64_t usec;
        LogKind kind;
        LogStatus status;
        char queue_id[QUEUE_ID_MAX];
        uint64_t new_qid_hash; /* "queued as X", a bounce's notification id: hash of X (0: none) */
        uint64_t msgid_hash;   /* Message-ID (0: none) */
        char *text; /* terminal-safe */
} Line;

/* What a trace follows: queue ids and Message-IDs, by hash (a trace touches a handful). */
typedef struct TraceSet {
        uint64_t qids[TRACE_IDS_MAX], msgids[TRACE_IDS_MAX];
        size_t n_qids, n_msgids;
} TraceSet;

typedef struct LogPanel {
        Panel panel;
        sd_event *event;
        LogPanelChanged changed;
        void *userdata;
        LogFollow *follow;
        sd_event_source *io;
        Fiber *loader;     /* reading the last hour, then opening the follow */
        LogRecordFunc observer;
        void *observer_data;
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
        char trace[QUEUE_ID_MAX]; /* non-empty: the side view traces this message */
        TraceSet trace_set;
        size_t *trace_lines;      /* ring indices of the traced lines, oldest first */
        size_t n_trace_lines;
        size_t trace_scroll;
        uint64_t trace_built_at;  /* lines seen (n + dropped) when trace_lines was built */
        int tail_y, tail_h, tail_x, tail_w; /* where the last frame drew the tail, for clicks */
        size_t tail_first;
} LogPanel;

static const char *const log_bar[] = {
        "f", N_("Follow/pause"), "Enter", N_("Trace"), "J K", N_("Scroll trace"), NULL,
};

static Line *line_at(LogPanel *l, size_t i) {
        return &l->ring[(l->start + i) % l->cap];
}

/* FNV-1a; 0 is kept for "none". */
static uint64_t id_hash(const char *p, size_t n) {
        if (!p || n == 0)
                return 0;
        uint64_t h = UINT64_C(14695981039346656037);
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char) p[i]) * UINT64_C(1099511628211);
        return h ? h : 1;
}

static int on_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        LogPanel *l = userdata;
        if (l->observer)
                (void) l->observer(ev, raw, raw_len, l->observer_data);
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
        /* termsafe allocates for the worst case (3 bytes per input byte): a ring of 100,000
         * lines keeps only what it needs */
        char *exact = realloc(text, strlen(text) + 1);
        if (exact)
                text = exact;
        if (l->loader && l->changed)
                l->changed(l->userdata); /* the last hour fills in while it is read */
        Line *slot;
        if (l->n < l->cap)
                slot = line_at(l, l->n++);
        else {
                slot = line_at(l, 0);
                free(slot->text);
                l->start = (l->start + 1) % l->cap;
                l->dropped++;
        }
        *slot = (Line) {
                .usec = ev->usec,
                .kind = ev->kind,
                .status = ev->status,
                .new_qid_hash = id_hash(ev->new_queue_id.p, ev->new_queue_id.n),
                .msgid_hash = id_hash(ev->message_id.p, ev->message_id.n),
                .text = text,
        };
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

/* ---- the trace side view ---- */

static bool set_has(const uint64_t *v, size_t n, uint64_t h) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == h)
                        return true;
        return false;
}

static bool set_add(uint64_t *v, size_t *n, uint64_t h) {
        if (h == 0 || *n >= TRACE_IDS_MAX || set_has(v, *n, h))
                return false;
        v[(*n)++] = h;
        return true;
}

static uint64_t line_qid_hash(const Line *ln) {
        return id_hash(ln->queue_id, strlen(ln->queue_id));
}

/* The same rules as 'mxdeck log trace': a traced message's Message-ID and "queued as"
 * ids join the trace, so do messages with a traced Message-ID or "queued as" a traced
 * id; repeated until nothing new joins (bounded). */
static void trace_build(LogPanel *l) {
        uint64_t seen = l->n + l->dropped;
        if (!l->trace[0] || (l->trace_lines && l->trace_built_at == seen))
                return;
        TraceSet *t = &l->trace_set;
        *t = (TraceSet) {};
        set_add(t->qids, &t->n_qids, id_hash(l->trace, strlen(l->trace)));
        for (int pass = 0; pass < 8; pass++) {
                bool grew = false;
                for (size_t i = 0; i < l->n; i++) {
                        const Line *ln = line_at(l, i);
                        if (!ln->queue_id[0])
                                continue;
                        uint64_t q = line_qid_hash(ln);
                        if (set_has(t->qids, t->n_qids, q)) {
                                grew |= set_add(t->msgids, &t->n_msgids, ln->msgid_hash);
                                grew |= set_add(t->qids, &t->n_qids, ln->new_qid_hash);
                        }
                        if ((ln->msgid_hash && set_has(t->msgids, t->n_msgids, ln->msgid_hash)) ||
                            (ln->new_qid_hash && set_has(t->qids, t->n_qids, ln->new_qid_hash)))
                                grew |= set_add(t->qids, &t->n_qids, q);
                }
                if (!grew)
                        break;
        }
        size_t *v = reallocarray(l->trace_lines, MAX(l->n, (size_t) 1), sizeof(size_t));
        if (!v)
                return;
        l->trace_lines = v;
        l->n_trace_lines = 0;
        for (size_t i = 0; i < l->n; i++) {
                const Line *ln = line_at(l, i);
                bool mine = (ln->queue_id[0] && set_has(t->qids, t->n_qids, line_qid_hash(ln))) ||
                            ((ln->kind == LOG_KIND_LMTP_SAVED || ln->kind == LOG_KIND_SIEVE) && ln->msgid_hash &&
                             set_has(t->msgids, t->n_msgids, ln->msgid_hash));
                if (mine)
                        v[l->n_trace_lines++] = i;
        }
        l->trace_built_at = seen;
}

static void trace_open(LogPanel *l, const char *qid) {
        memcpy(l->trace, qid, sizeof(l->trace));
        l->trace_built_at = 0;
        free(l->trace_lines);
        l->trace_lines = NULL;
        l->n_trace_lines = 0;
        l->trace_scroll = 0;
}

static void trace_close(LogPanel *l) {
        l->trace[0] = 0;
        free(l->trace_lines);
        l->trace_lines = NULL;
        l->n_trace_lines = 0;
}

/* ---- view ---- */

static void draw_line(int y, int x, int width, const Line *ln, bool sel) {
        attr_t base = sel ? ui_attr(UI_SELECTED) : A_NORMAL;
        char ts[16] = "--:--:--";
        if (ln->usec > 0) {
                time_t t = (time_t) (ln->usec / 1000000);
                struct tm tm;
                if (localtime_r(&t, &tm))
                        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        }
        ui_fill(y, x, width, base);
        ui_text(y, x, MIN(9, width), ts, sel ? base : ui_attr(UI_DIM), false);
        if (width > 9)
                ui_text(y, x + 9, width - 9, ln->text, sel ? base : kind_attr(ln), true);
}

/* The tail: lines of the filtered list, the selected one in view. */
static void draw_tail(LogPanel *l, int top, int height, int x, int width) {
        size_t first = l->selected + 1 > (size_t) height ? l->selected + 1 - (size_t) height : 0;
        l->tail_y = top, l->tail_h = height, l->tail_x = x, l->tail_w = width, l->tail_first = first;
        for (int r = 0; r < height; r++) {
                size_t i = first + (size_t) r;
                ui_fill(top + r, x, width, A_NORMAL);
                if (i < l->n_visible)
                        draw_line(top + r, x, width, line_at(l, l->visible[i]), i == l->selected && !l->follow_on);
        }
        if (l->n_visible == 0)
                ui_text(top, x + 2, width - 4,
                        l->error    ? l->error
                        : l->filter ? _("nothing matches")
                        : l->loader ? _("reading the last hour...")
                                    : _("no mail log lines yet"),
                        ui_attr(UI_DIM), false);
}

static void draw_trace(LogPanel *l, int top, int height, int x, int width) {
        trace_build(l);
        char head[160];
        snprintf(head, sizeof(head), _(" trace of %s: %zu lines, %zu queue ids (q closes, J/K scroll) "), l->trace,
                 l->n_trace_lines, l->trace_set.n_qids);
        ui_fill(top, x, width, ui_attr(UI_TITLE));
        ui_text(top, x, width, head, ui_attr(UI_TITLE), false);
        top++;
        height--;
        if (height <= 0)
                return;
        size_t max_scroll = l->n_trace_lines > (size_t) height ? l->n_trace_lines - (size_t) height : 0;
        l->trace_scroll = MIN(l->trace_scroll, max_scroll);
        for (int r = 0; r < height; r++) {
                size_t i = l->trace_scroll + (size_t) r;
                ui_fill(top + r, x, width, A_NORMAL);
                if (i < l->n_trace_lines)
                        draw_line(top + r, x, width, line_at(l, l->trace_lines[i]), false);
        }
        if (l->n_trace_lines == 0)
                ui_text(top, x + 2, width - 4, _("no lines of this message are kept any more"), ui_attr(UI_DIM), false);
}

static void log_draw(Panel *p, int top, int height) {
        LogPanel *l = (LogPanel *) p;
        rebuild(l);
        if (height < 2)
                return;
        char head[256];
        snprintf(head, sizeof(head), " %s  %s  %zu %s%s", l->error ? l->error : strempty(l->source),
                 l->follow_on ? _("[following]") : _("[paused: f follows]"), l->n_visible, _("lines"),
                 l->loader ? _("  (reading the last hour...)") : "");
        ui_fill(top, 0, ui.cols, ui_attr(UI_HEADER));
        int x = ui_text(top, 0, ui.cols, head, ui_attr(UI_HEADER), false);
        if (l->filter && *l->filter) {
                char f[256];
                snprintf(f, sizeof(f), _("  filter: %s"), l->filter);
                ui_text(top, x, ui.cols - x, f, ui_attr(UI_MATCH), false);
        }
        top++;
        height--;
        if (!l->trace[0]) {
                draw_tail(l, top, height, 0, ui.cols);
                return;
        }
        /* The trace beside the tail on a wide screen, below it otherwise; the tail keeps
         * at least a few lines so the selected line stays in sight. */
        if (ui.cols >= 160) {
                int lw = ui.cols / 2;
                draw_tail(l, top, height, 0, lw);
                for (int r = 0; r < height; r++)
                        ui_text(top + r, lw, 1, ui.ascii ? "|" : "\u2502", ui_attr(UI_DIM), false);
                draw_trace(l, top, height, lw + 1, ui.cols - lw - 1);
        } else {
                int th = height >= 12 ? height / 2 : MAX(height - 3, 1);
                int tail_h = height - th;
                draw_tail(l, top, tail_h, 0, ui.cols);
                draw_trace(l, top + tail_h, th, 0, ui.cols);
        }
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
        case 'J':
                if (l->trace[0])
                        l->trace_scroll++;
                return KEY_HANDLED;
        case 'K':
                if (l->trace[0] && l->trace_scroll)
                        l->trace_scroll--;
                return KEY_HANDLED;
        case '\n':
        case '\r':
        case KEY_ENTER:
                /* the selected line's message in the side view (another line: its trace) */
                if (l->n_visible) {
                        const Line *ln = line_at(l, l->visible[MIN(l->selected, l->n_visible - 1)]);
                        if (ln->queue_id[0] && !streq(ln->queue_id, l->trace)) {
                                l->follow_on = false; /* keep the line in sight */
                                trace_open(l, ln->queue_id);
                        } else if (ln->queue_id[0])
                                trace_close(l);
                }
                return KEY_HANDLED;
        case 'q':
        case 27:
                if (l->trace[0]) {
                        trace_close(l);
                        return KEY_HANDLED;
                }
                return KEY_IGNORED;
        }
        return KEY_IGNORED;
}

static KeyResult log_click(Panel *p, int y, int x) {
        LogPanel *l = (LogPanel *) p;
        if (y < l->tail_y || y >= l->tail_y + l->tail_h || x < l->tail_x || x >= l->tail_x + l->tail_w)
                return KEY_IGNORED;
        size_t i = l->tail_first + (size_t) (y - l->tail_y);
        if (i >= l->n_visible)
                return KEY_IGNORED;
        if (i == l->selected && !l->follow_on)
                return log_key(p, '\n');
        l->follow_on = false;
        l->selected = i;
        return KEY_HANDLED;
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
        if (l->loader)
                fiber_cancel(l->loader); /* its done callback clears l->loader */
        sd_event_source_disable_unref(l->io);
        log_follow_free(l->follow);
        for (size_t i = 0; i < l->n; i++)
                free(line_at(l, i)->text);
        free(l->ring);
        free(l->visible);
        free(l->trace_lines);
        free(l->filter);
        free(l->source);
        free(l->error);
        sd_event_unref(l->event);
        free(l);
}

static void set_error(LogPanel *l, int r) {
        free(l->error);
        l->error = NULL;
        int k;
        if (r == -EACCES || r == -EPERM)
                k = asprintf(&l->error, _("cannot read the mail log: %s (root, or the groups adm or systemd-journal, can)"),
                             strerror(-r));
        else if (r == -ENOENT && geteuid() != 0)
                /* sd-journal shows a user only the files it may read: none is no journal to it */
                k = asprintf(&l->error, _("no mail log this user can read (root, or the groups adm or systemd-journal, "
                                          "can read the journal)"));
        else
                k = asprintf(&l->error, _("no mail log to show: %s"), strerror(-r));
        if (k < 0)
                l->error = NULL;
}

/* The loader fiber: the last hour first (bounded in time and, for files, in bytes; the
 * reader lets the loop run every few thousand entries, so keys stay live), then follow
 * from the end. */
static int load_body(void *userdata) {
        LogPanel *l = userdata;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        LogSourceOptions o = {
                .since_usec = ((int64_t) now.tv_sec - LOG_HISTORY_SECONDS) * 1000000,
                .deadline = deadline_in_ms(60000), /* bounded; keys and the loop run meanwhile */
                .tail_bytes = (uint64_t) 8 << 20,
        };
        LogSourceInfo info = {};
        int r = log_source_read(&o, on_record, l, &info);
        log_source_info_done(&info);
        if (r == -ECANCELED)
                return r;
        o.since_usec = 0;
        o.deadline = DEADLINE_NONE;
        if (r >= 0 || r == -ETIME)
                r = log_follow_new(&o, on_record, l, &l->follow);
        if (r >= 0) {
                l->source = strdup(strempty(log_follow_description(l->follow)));
                r = sd_event_add_io(l->event, &l->io, log_follow_get_fd(l->follow), EPOLLIN, on_io, l);
        }
        return r;
}

static void load_done(Fiber *f, int result, void *userdata) {
        LogPanel *l = userdata;
        l->loader = NULL;
        if (result == -ECANCELED)
                return; /* the panel is being freed */
        if (result < 0)
                set_error(l, result);
        if (l->changed)
                l->changed(l->userdata);
}

bool log_panel_loading(Panel *p) {
        return ((LogPanel *) p)->loader != NULL;
}

int log_panel_new(sd_event *e, LogPanelChanged changed, void *userdata, LogRecordFunc observer, void *observer_data,
                  Panel **ret) {
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
                .click = log_click,
        };
        l->event = sd_event_ref(e);
        l->changed = changed;
        l->userdata = userdata;
        l->observer = observer;
        l->observer_data = observer_data;
        l->follow_on = true;
        l->cap = LOG_PANEL_LINES;
        l->ring = calloc(l->cap, sizeof(Line));
        if (!l->ring) {
                log_free(&l->panel);
                return -ENOMEM;
        }
        int r = fiber_start(e, load_body, l, load_done, &l->loader);
        if (r < 0)
                set_error(l, r);
        *ret = &l->panel;
        return 0;
}
