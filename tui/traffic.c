/* The traffic panel: per-minute sparklines over the last hour for sent, received,
 * deferred, bounced, rejected and authentication failures, with the total, the peak
 * minute and the current minute per row. The counting is the log engine's (lograte.h):
 * this view is handed parsed events and only draws the buckets. Block characters
 * normally, ASCII with --ascii; one column per minute, two on a wide screen, the most
 * recent minutes only on a narrow one; taller graphs when there are rows to spare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lograte.h"
#include "macro.h"
#include "termsafe.h"
#include "traffic.h"

typedef struct Traffic {
        Panel panel;
        LogRate rate;
        uint64_t events;   /* records counted in some series */
        size_t selected;   /* a highlighted row, for the eye (j/k) */
        bool shared_scale; /* one scale for every row (s) instead of each row's own peak */
        int row_y[_LOG_RATE_MAX][2]; /* the screen rows of each series in the last frame */
} Traffic;

static const char *const traffic_bar[] = { "s", N_("Scale"), NULL };

static const struct {
        LogRateSeries series;
        const char *label;
        UiColor color;
} rows[] = {
        { LOG_RATE_SENT, N_("sent"), UI_OK },
        { LOG_RATE_RECEIVED, N_("received"), UI_HEADER },
        { LOG_RATE_DEFERRED, N_("deferred"), UI_WARNING },
        { LOG_RATE_BOUNCED, N_("bounced"), UI_CRITICAL },
        { LOG_RATE_REJECTED, N_("rejected"), UI_CRITICAL },
        { LOG_RATE_AUTH_FAILED, N_("auth failures"), UI_CRITICAL },
};

static int64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int traffic_on_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        Traffic *t = userdata;
        if (log_rate_add(&t->rate, ev, realtime_usec()) >= 0)
                t->events++;
        return 0;
}

/* One cell of a graph `height` rows tall: how many eighths of row `row` (0 = bottom) a
 * value fills when the full height stands for `scale`. Any non-zero value shows at least
 * one eighth, so a single message in an hour is visible. */
static unsigned cell_eighths(uint32_t v, uint32_t scale, int height, int row) {
        if (v == 0 || scale == 0)
                return 0;
        uint64_t total = (uint64_t) height * 8;
        uint64_t fill = ((uint64_t) v * total + scale - 1) / scale;
        fill = MAX(fill, (uint64_t) 1);
        uint64_t below = (uint64_t) row * 8;
        if (fill <= below)
                return 0;
        return (unsigned) MIN(fill - below, (uint64_t) 8);
}

static const char *cell_glyph(unsigned eighths) {
        static const char *const blocks[9] = { " ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                               "\u2585", "\u2586", "\u2587", "\u2588" };
        /* ASCII: density rather than height */
        static const char *const ascii[9] = { " ", ".", ".", ":", ":", "+", "+", "*", "#" };
        return ui.ascii ? ascii[MIN(eighths, 8u)] : blocks[MIN(eighths, 8u)];
}

static void traffic_draw(Panel *p, int top, int height) {
        Traffic *t = (Traffic *) p;
        log_rate_advance(&t->rate, realtime_usec());
        for (int y = top; y < top + height; y++)
                ui_fill(y, 0, ui.cols, A_NORMAL);
        if (height < 3)
                return;

        /* How many minutes fit, and how wide each is. */
        int gx = 2;
        int avail = ui.cols - gx - 1;
        int cell = avail >= 2 * (int) LOG_RATE_MINUTES ? 2 : 1;
        int minutes = MIN(avail / cell, (int) LOG_RATE_MINUTES);
        if (minutes < 1)
                return;

        char head[256];
        snprintf(head, sizeof(head), _(" last %d minutes, per minute%s"), minutes,
                 t->shared_scale ? _(", one scale for all rows (s: each its own)") : _(", each row to its peak (s: one scale)"));
        ui_fill(top, 0, ui.cols, ui_attr(UI_HEADER));
        ui_text(top, 0, ui.cols, head, ui_attr(UI_HEADER), false);
        top++;
        height--;

        /* Rows: a label line and a graph; the graph grows while the rows last (axis: 1). */
        int n = (int) ELEMENTSOF(rows);
        int gh = MAX(MIN((height - 1) / n - 1, 4), 1);
        if ((gh + 1) * n + 1 > height)
                gh = 0; /* too short: the label line alone, with a one-row graph in it */

        uint32_t values[_LOG_RATE_MAX][LOG_RATE_MINUTES], peaks[_LOG_RATE_MAX];
        uint64_t totals[_LOG_RATE_MAX];
        uint32_t all_peak = 0;
        for (int i = 0; i < n; i++) {
                totals[i] = log_rate_series(&t->rate, rows[i].series, values[i], &peaks[i]);
                all_peak = MAX(all_peak, peaks[i]);
        }

        int y = top;
        memset(t->row_y, 0, sizeof(t->row_y));
        for (int i = 0; i < n && y < top + height; i++) {
                bool sel = (size_t) i == t->selected;
                t->row_y[i][0] = y;
                t->row_y[i][1] = y + 1 + gh;
                char stats[160];
                snprintf(stats, sizeof(stats), _("total %llu  peak %u/min  now %u"), (unsigned long long) totals[i],
                         peaks[i], values[i][LOG_RATE_MINUTES - 1]);
                attr_t la = ui_attr(rows[i].color) | (sel ? A_REVERSE : 0);
                uint32_t scale = t->shared_scale ? all_peak : peaks[i];
                const uint32_t *v = values[i] + (LOG_RATE_MINUTES - (size_t) minutes);
                if (gh == 0) {
                        /* label, a one-row graph, then the figures as far as they fit */
                        int lw = 14;
                        ui_text(y, 0, lw, _(rows[i].label), la, true);
                        int gw = MIN(minutes, ui.cols - lw - 1);
                        for (int m = 0; m < gw; m++)
                                ui_text(y, lw + m, 1, cell_glyph(cell_eighths(v[minutes - gw + m], scale, 1, 0)),
                                        ui_attr(rows[i].color), false);
                        ui_text(y, lw + gw + 1, ui.cols - lw - gw - 1, stats, A_NORMAL, false);
                        y++;
                        continue;
                }
                int x = ui_text(y, 0, ui.cols, " ", la, false);
                x += ui_text(y, x, ui.cols - x, _(rows[i].label), la | A_BOLD, false);
                x += ui_text(y, x, ui.cols - x, "  ", A_NORMAL, false);
                ui_text(y, x, ui.cols - x, stats, ui_attr(UI_DIM), false);
                y++;
                for (int r = 0; r < gh && y < top + height; r++, y++) {
                        int row = gh - 1 - r; /* 0 = bottom */
                        for (int m = 0; m < minutes; m++) {
                                const char *g = cell_glyph(cell_eighths(v[m], scale, gh, row));
                                for (int c = 0; c < cell; c++)
                                        ui_text(y, gx + m * cell + c, 1, g, ui_attr(rows[i].color), false);
                        }
                }
        }
        /* The time axis under the last graph: how long ago, and now. */
        if (y < top + height) {
                int w = minutes * cell;
                char left[16];
                snprintf(left, sizeof(left), "-%dm", minutes);
                ui_text(y, gx, w, left, ui_attr(UI_DIM), false);
                if (minutes >= 30) {
                        char mid[16];
                        snprintf(mid, sizeof(mid), "-%dm", minutes / 2);
                        ui_text(y, gx + (minutes - minutes / 2) * cell - 1, 8, mid, ui_attr(UI_DIM), false);
                }
                const char *now = _("now");
                int nw = (int) termsafe_width(now); /* columns: translated, maybe CJK */
                ui_text(y, gx + w - nw, nw, now, ui_attr(UI_DIM), false);
        }
}

static KeyResult traffic_key(Panel *p, int key) {
        Traffic *t = (Traffic *) p;
        switch (key) {
        case KEY_DOWN:
        case 'j':
                if (t->selected + 1 < ELEMENTSOF(rows))
                        t->selected++;
                return KEY_HANDLED;
        case KEY_UP:
        case 'k':
                if (t->selected)
                        t->selected--;
                return KEY_HANDLED;
        case 'g':
        case KEY_HOME:
                t->selected = 0;
                return KEY_HANDLED;
        case 'G':
        case KEY_END:
                t->selected = ELEMENTSOF(rows) - 1;
                return KEY_HANDLED;
        case 's':
                t->shared_scale = !t->shared_scale;
                return KEY_HANDLED;
        }
        return KEY_IGNORED;
}

static KeyResult traffic_click(Panel *p, int y, int x) {
        Traffic *t = (Traffic *) p;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (y >= t->row_y[i][0] && y < t->row_y[i][1]) {
                        t->selected = i;
                        return KEY_HANDLED;
                }
        return KEY_IGNORED;
}

static bool traffic_tick(Panel *p) {
        Traffic *t = (Traffic *) p;
        int64_t before = t->rate.newest_minute;
        log_rate_advance(&t->rate, realtime_usec());
        return t->rate.newest_minute != before; /* the graphs move on once a minute */
}

static bool traffic_search(Panel *p, const char *text, int dir) {
        Traffic *t = (Traffic *) p;
        size_t n = ELEMENTSOF(rows);
        for (size_t step = 1; step <= n && text && *text; step++) {
                size_t i = dir > 0 ? (t->selected + step) % n : (t->selected + n - step) % n;
                if (strcasestr(_(rows[i].label), text) || strcasestr(rows[i].label, text)) {
                        t->selected = i;
                        return true;
                }
        }
        return false;
}

static void traffic_free(Panel *p) {
        free(p);
}

int traffic_new(Panel **ret) {
        Traffic *t = calloc(1, sizeof(Traffic));
        if (!t)
                return -ENOMEM;
        t->panel = (Panel) {
                .name = "traffic",
                .title = N_("Traffic"),
                .draw = traffic_draw,
                .key = traffic_key,
                .bar = traffic_bar,
                .free = traffic_free,
                .tick = traffic_tick,
                .search = traffic_search,
                .click = traffic_click,
        };
        log_rate_init(&t->rate, realtime_usec());
        *ret = &t->panel;
        return 0;
}
