/* The health panel: every finding of the check catalog, refreshed on the loop while the
 * user works, each marked with its age and as stale when it is older than two refresh
 * intervals (as lnav marks results over old data), or when its last refresh failed (the
 * check timed out or errored): then the last good value stays, marked stale with its
 * time, instead of being replaced by the new unknown finding. Problems first; details
 * and remedy of the selected finding below the list, or full screen with Enter.
 *
 * What changes from second to second (services, listeners, the queue) is refreshed every
 * interval; the rest (configuration, TLS, DNS, logs, ...) every minute, so an idle
 * dashboard costs little: the slow checks spawn tools and read an hour of log. F5
 * refreshes everything at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "checks.h"
#include "fiber.h"
#include "health.h"
#include "macro.h"
#include "termsafe.h"

/* Per finding: when its value was last good, and why the last refresh did not renew it. */
typedef struct Meta {
        uint64_t good_usec;     /* CLOCK_MONOTONIC of the value shown */
        int64_t good_realtime;  /* the same as a wall-clock time, for "good at 12:03:04" */
        char *failed;           /* non-NULL: the last refresh failed, this value is stale */
} Meta;

typedef struct Slot {
        FindingList findings;
        Meta *meta;            /* one per finding */
        uint64_t updated_usec; /* 0: never */
} Slot;

/* Refreshed every interval; every other group every SLOW_PERIOD_S (or interval if longer). */
static const char *const fast_groups[] = { "service", "port", "queue" };
/* Held back while the log panel reads the last hour (the log checks read it too). */
static const char *const log_only[] = { "log", NULL };
#define SLOW_PERIOD_S 60u

typedef struct Health {
        Panel panel;
        sd_event *event;
        CheckContext ctx;
        unsigned interval;
        HealthChanged changed;
        void *userdata;

        ChecksRun *run;
        HealthNames names;     /* until the names are in (then NULL) */
        void *names_userdata;
        Fiber *naming;         /* the fiber getting them; the first run waits for it */
        bool closing;
        sd_event_source *timer;
        uint64_t run_started_usec;
        uint64_t last_duration_ms;
        uint64_t last_done_usec;
        int last_error;

        Slot *slots;
        size_t n_slots;

        const char *const *user_only;  /* --only (NULL: every group) */
        const char **held_only;        /* user_only without "log" (NULL-terminated) */
        bool log_held;                 /* full runs use held_only */
        bool log_owed;                 /* the log checks have not run since the hold */
        const char *fast_only[ELEMENTSOF(fast_groups) + 1]; /* the fast groups among them */
        size_t n_fast;
        uint64_t last_full_usec;       /* when the last run of every group started */
        const char *const *run_only;   /* the groups of the run going on */

        /* view */
        const Finding **visible;
        size_t n_visible;
        size_t selected, top;
        bool details_full;
        size_t details_scroll;
        bool problems_first;
        bool hide_ok;
        char *filter;
        int list_y, list_h; /* where the last frame drew the list, for clicks */
} Health;

static const char *const health_bar[] = {
        "F5", N_("Refresh"), "Enter", N_("Details"), "s", N_("Sort"), "o", N_("Hide ok"), NULL,
};

static size_t slot_of(const Check *c) {
        size_t n;
        const Check *t = checks_table(&n);
        return (size_t) (c - t);
}

static void meta_free(Meta *m, size_t n) {
        for (size_t i = 0; m && i < n; i++)
                free(m[i].failed);
        free(m);
}

/* A finding that says a value could not be had this time: unknown. Unknown findings that
 * replace a good value of the same id and target are failed refreshes; so is the
 * runner's own "the check did not finish / could not run" finding (its id is the check's
 * and its target empty). */
static bool group_in(const char *const *only, const char *group) {
        if (!only)
                return true;
        for (const char *const *g = only; *g; g++)
                if (streq(*g, group))
                        return true;
        return false;
}

static bool same_finding(const Finding *a, const Finding *b) {
        return streq(a->id, b->id) && streq(strempty(a->target), strempty(b->target));
}

static int list_push(FindingList *l, Meta **meta, Finding *f, const Meta *m) {
        if (l->n == l->allocated) {
                size_t na = MAX(l->allocated * 2, (size_t) 8);
                Finding *items = reallocarray(l->items, na, sizeof(Finding));
                if (!items)
                        return -ENOMEM;
                l->items = items;
                Meta *nm = reallocarray(*meta, na, sizeof(Meta));
                if (!nm)
                        return -ENOMEM;
                *meta = nm;
                l->allocated = na;
        }
        l->items[l->n] = *f;
        (*meta)[l->n] = *m;
        l->n++;
        *f = (Finding) {};
        return 0;
}

static int keep_stale(FindingList *out, Meta **meta, Slot *slot, size_t k, const char *why) {
        Meta m = slot->meta[k];
        char *w = strdup(strempty(why));
        if (!w)
                return -ENOMEM;
        free(m.failed);
        m.failed = w;
        slot->meta[k].failed = NULL;
        return list_push(out, meta, &slot->findings.items[k], &m);
}

static int carry_unselected(FindingList *out, Meta **meta, Slot *slot, bool *taken, const char *const *only,
                            size_t from, size_t to) {
        for (size_t k = from; k < to; k++)
                if (!group_in(only, strempty(slot->findings.items[k].group))) {
                        Meta m = slot->meta[k];
                        slot->meta[k].failed = NULL;
                        taken[k] = true;
                        int r = list_push(out, meta, &slot->findings.items[k], &m);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Merges a check's new findings with its old ones. An unknown finding where the old one
 * (same id and target) was good is a failed refresh of that value: the old value stays,
 * marked stale. When the check found nothing but unknowns (it timed out, errored, or its
 * source failed), every good value it had stays, stale, with the reason; the runner's
 * own "the check did not finish / could not run" finding (the check's id, no target) is
 * then shown only when there is no old value to keep. Takes the findings out of `fresh`. */
static int merge(Slot *slot, const Check *check, FindingList *fresh, const char *const *only) {
        FindingList out = {};
        Meta *meta = NULL;
        uint64_t now = now_usec();
        int64_t wall = (int64_t) time(NULL);
        FindingList *old = &slot->findings;
        bool *taken = calloc(MAX(old->n, (size_t) 1), sizeof(bool));
        bool all_unknown = fresh->n > 0;
        const char *reason = NULL;
        Finding *runner = NULL;
        int r = 0;
        if (!taken)
                return -ENOMEM;
        /* A run of some groups only (the fast ones) leaves the others' values as they are,
         * in their place: the new values go where the first refreshed one was. */
        size_t insert_at = 0;
        while (insert_at < old->n && !group_in(only, strempty(old->items[insert_at].group)))
                insert_at++;
        r = carry_unselected(&out, &meta, slot, taken, only, 0, insert_at);
        for (size_t i = 0; i < fresh->n; i++)
                all_unknown = all_unknown && fresh->items[i].status == STATUS_UNKNOWN;
        if (all_unknown)
                reason = fresh->items[0].summary;
        for (size_t i = 0; i < fresh->n && r == 0; i++) {
                Finding *f = &fresh->items[i];
                if (f->status == STATUS_UNKNOWN) {
                        size_t k = 0;
                        while (k < old->n && (taken[k] || old->items[k].status == STATUS_UNKNOWN ||
                                              !same_finding(&old->items[k], f)))
                                k++;
                        if (k < old->n) {
                                taken[k] = true;
                                r = keep_stale(&out, &meta, slot, k, f->summary);
                                continue;
                        }
                        if (all_unknown && !runner && streq(f->id, check->id) && !strempty(f->target)[0]) {
                                runner = f; /* decided below */
                                reason = f->summary;
                                continue;
                        }
                }
                r = list_push(&out, &meta, f, &(Meta) { .good_usec = now, .good_realtime = wall });
        }
        if (r == 0)
                r = carry_unselected(&out, &meta, slot, taken, only, insert_at, old->n);
        bool kept = false;
        for (size_t k = 0; all_unknown && k < old->n && r == 0; k++) {
                if (taken[k] || old->items[k].status == STATUS_UNKNOWN)
                        continue;
                taken[k] = true;
                r = keep_stale(&out, &meta, slot, k, reason);
                kept = true;
        }
        if (runner && !kept && r == 0)
                r = list_push(&out, &meta, runner, &(Meta) { .good_usec = now, .good_realtime = wall });
        free(taken);
        if (r < 0) {
                findings_done(&out);
                meta_free(meta, out.n);
                return r;
        }
        meta_free(slot->meta, old->n);
        findings_done(old);
        findings_done(fresh);
        slot->findings = out;
        slot->meta = meta;
        return 0;
}

static void on_check(ChecksRun *run, const Check *check, FindingList *findings, void *userdata) {
        Health *h = userdata;
        size_t i = slot_of(check);
        if (i >= h->n_slots)
                return;
        /* Replace the check's old findings only now: no empty screen while it runs. */
        if (merge(&h->slots[i], check, findings, h->run_only) < 0)
                return; /* out of memory: the old values stay (they age into stale) */
        h->slots[i].updated_usec = now_usec();
        if (h->changed)
                h->changed(h->userdata);
}

static int schedule(Health *h, uint64_t delay_usec);

static void on_done(ChecksRun *run, void *userdata) {
        Health *h = userdata;
        h->last_duration_ms = (now_usec() - h->run_started_usec) / USEC_PER_MSEC;
        h->last_done_usec = now_usec();
        h->run = checks_run_free(h->run);
        /* the log checks held back meanwhile: at once */
        (void) schedule(h, h->log_owed && !h->log_held ? 0 : (uint64_t) h->interval * USEC_PER_SEC);
        if (h->changed)
                h->changed(h->userdata);
}

static uint64_t slow_period_s(const Health *h) {
        return MAX((uint64_t) h->interval, (uint64_t) SLOW_PERIOD_S);
}

/* A run of these groups (NULL: every group). */
static void start_groups(Health *h, const char *const *only) {
        h->run = checks_run_free(h->run); /* a refresh asked while one runs starts over */
        h->ctx.deadline = DEADLINE_NONE;  /* each run gets its own --timeout */
        h->run_started_usec = now_usec();
        h->run_only = only;
        CheckContext c = h->ctx;
        c.only = h->run_only;
        h->last_error = checks_start(h->event, &c, on_check, on_done, h, &h->run);
        if (h->last_error < 0)
                (void) schedule(h, (uint64_t) h->interval * USEC_PER_SEC);
        if (h->changed)
                h->changed(h->userdata);
}

/* full: every selected group (but the log checks while they are held); else the fast
 * ones (all of them when it is time). */
static void start_run(Health *h, bool full) {
        if (h->naming)
                return; /* the first run starts when the names are in */
        uint64_t now = now_usec();
        if (!h->last_full_usec || h->n_fast == 0 || now - h->last_full_usec >= slow_period_s(h) * USEC_PER_SEC)
                full = true;
        if (full)
                h->last_full_usec = now;
        if (full && !h->log_held)
                h->log_owed = false;
        start_groups(h, full ? (h->log_held ? h->held_only : h->user_only) : h->fast_only);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Health *h = userdata;
        if (h->naming)
                return 0;
        if (h->log_owed && !h->log_held) {
                h->log_owed = false;
                start_groups(h, log_only);
        } else
                start_run(h, false);
        return 0;
}

static int schedule(Health *h, uint64_t delay_usec) {
        if (!h->timer)
                return sd_event_add_time_relative(h->event, &h->timer, CLOCK_MONOTONIC, delay_usec, 100 * USEC_PER_MSEC,
                                                  on_timer, h);
        int r = sd_event_source_set_time_relative(h->timer, delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        return r;
}

void health_hold_log(Panel *p, bool hold) {
        Health *h = (Health *) p;
        if (!h->held_only || hold == h->log_held)
                return;
        h->log_held = hold;
        if (hold)
                h->log_owed = true;
        else if (h->log_owed && !h->run && !h->naming)
                (void) schedule(h, 0); /* else when the run going on (or the first) is done */
}

void health_refresh(Panel *p) {
        start_run((Health *) p, true);
}

bool health_running(Panel *p) {
        Health *h = (Health *) p;
        return h->run || h->naming;
}

const char *health_host(Panel *p) {
        return ((Health *) p)->ctx.host;
}

static int names_fiber(void *userdata) {
        Health *h = userdata;
        return h->names(&h->ctx, h->names_userdata);
}

static void names_done(Fiber *f, int result, void *userdata) {
        Health *h = userdata;
        (void) f, (void) result; /* without them, the checks that need them say so */
        h->naming = NULL;
        h->names = NULL;
        if (!h->closing)
                start_run(h, true);
}

/* ---- the view ---- */

static bool matches(const Finding *f, const char *text) {
        if (!text || !*text)
                return true;
        return strcasestr(f->id, text) || strcasestr(f->summary, text) || strcasestr(f->target, text) ||
               strcasestr(status_to_string(f->status), text);
}

static int severity_rank(Status s) {
        switch (s) {
        case STATUS_CRITICAL:
                return 0;
        case STATUS_WARNING:
                return 1;
        case STATUS_UNKNOWN:
                return 2;
        default:
                return 3;
        }
}

static void rebuild(Health *h) {
        size_t total = 0;
        for (size_t i = 0; i < h->n_slots; i++)
                total += h->slots[i].findings.n;
        const Finding **v = reallocarray(h->visible, MAX(total, (size_t) 1), sizeof(*v));
        if (!v)
                return; /* keep the old list; the next draw tries again */
        h->visible = v;
        h->n_visible = 0;
        for (int rank = 0; rank < 4; rank++) {
                for (size_t i = 0; i < h->n_slots; i++)
                        for (size_t k = 0; k < h->slots[i].findings.n; k++) {
                                const Finding *f = &h->slots[i].findings.items[k];
                                if (h->problems_first && severity_rank(f->status) != rank)
                                        continue;
                                if (h->hide_ok && f->status == STATUS_OK)
                                        continue;
                                if (!matches(f, h->filter))
                                        continue;
                                v[h->n_visible++] = f;
                        }
                if (!h->problems_first)
                        break;
        }
        if (h->n_visible == 0)
                h->selected = 0;
        else if (h->selected >= h->n_visible)
                h->selected = h->n_visible - 1;
}

static const Meta *meta_of(const Health *h, const Finding *f) {
        for (size_t i = 0; i < h->n_slots; i++) {
                const FindingList *l = &h->slots[i].findings;
                if (l->n && f >= l->items && f < l->items + l->n)
                        return &h->slots[i].meta[f - l->items];
        }
        return NULL;
}

/* Stale: the last refresh failed, or no news for two refresh cycles (a check is refreshed
 * every interval plus the time a run takes, at most the timeout). */
static bool is_stale(const Health *h, const Finding *f, uint64_t *ret_age) {
        const Meta *m = meta_of(h, f);
        uint64_t age = m && m->good_usec ? (now_usec() - m->good_usec) / USEC_PER_SEC : 0;
        uint64_t period = h->n_fast && group_in(h->fast_only, strempty(f->group)) ? h->interval : slow_period_s(h);
        uint64_t cycle = period + (h->ctx.settings ? h->ctx.settings->timeout_seconds : 10);
        if (ret_age)
                *ret_age = age;
        return (m && m->failed) || age > 2 * cycle;
}

static void draw_summary_line(Health *h, int y) {
        unsigned counts[_STATUS_MAX] = {};
        for (size_t i = 0; i < h->n_slots; i++)
                for (size_t k = 0; k < h->slots[i].findings.n; k++)
                        counts[h->slots[i].findings.items[k].status]++;
        char left[160], right[160], age[16];
        snprintf(left, sizeof(left), _(" %u critical  %u warning  %u unknown  %u ok"), counts[STATUS_CRITICAL],
                 counts[STATUS_WARNING], counts[STATUS_UNKNOWN], counts[STATUS_OK]);
        if (h->run || h->naming)
                snprintf(right, sizeof(right), _("checking... (%us) "),
                         (unsigned) ((now_usec() - h->run_started_usec) / USEC_PER_SEC));
        else if (h->last_error < 0)
                snprintf(right, sizeof(right), _("refresh failed: %s "), strerror(-h->last_error));
        else if (h->last_done_usec) {
                ui_age((now_usec() - h->last_done_usec) / USEC_PER_SEC, age);
                snprintf(right, sizeof(right), _("updated %s ago (took %u ms) "), age, (unsigned) h->last_duration_ms);
        } else
                right[0] = 0;
        ui_fill(y, 0, ui.cols, ui_attr(UI_HEADER));
        int x = ui_text(y, 0, ui.cols, left, ui_attr(UI_HEADER), false);
        if (h->filter && *h->filter) {
                char f[256];
                snprintf(f, sizeof(f), _("  filter: %s"), h->filter);
                x += ui_text(y, x, ui.cols - x, f, ui_attr(UI_MATCH), false);
        }
        int w = (int) termsafe_width(right);
        if (x + w < ui.cols)
                ui_text(y, ui.cols - w, w, right, ui_attr(UI_HEADER), false);
}

static void draw_row(Health *h, int y, const Finding *f, bool selected) {
        attr_t base = selected ? ui_attr(UI_SELECTED) : A_NORMAL;
        ui_fill(y, 0, ui.cols, base);
        ui_text(y, 0, 1, selected ? ">" : " ", base, false);
        ui_text(y, 1, 4, ui_status_word(f->status), selected ? base : ui_status_attr(f->status), false);
        int idw = MIN(30, MAX(12, ui.cols / 3));
        ui_text(y, 6, idw, f->id, base, true);
        uint64_t age;
        char tail[128] = "";
        bool stale = is_stale(h, f, &age);
        if (stale) {
                const Meta *m = meta_of(h, f);
                char a[16], at[16] = "";
                ui_age(age, a);
                time_t t = m ? (time_t) m->good_realtime : 0;
                struct tm tm;
                if (t && localtime_r(&t, &tm))
                        strftime(at, sizeof(at), "%H:%M:%S", &tm);
                snprintf(tail, sizeof(tail), _(" (stale: %s ago, at %s)"), a, at);
        }
        int tw = (int) termsafe_width(tail);
        int sx = 6 + idw + 1;
        ui_text(y, sx, ui.cols - sx - tw, f->summary, stale ? (base | ui_attr(UI_DIM)) : base, true);
        if (tw)
                ui_text(y, ui.cols - tw, tw, tail, selected ? base : ui_attr(UI_DIM), false);
}

/* The detail lines of f: target, summary, detail, remedy. Returns the number drawn from
 * line `skip` on, within height rows from top. */
static int draw_details(const Finding *f, const char *stale, int top, int height, size_t skip) {
        int y = top, line = 0;
        const struct {
                const char *label;
                const char *text;
                UiColor color;
        } parts[] = {
                { N_("id"), f->id, UI_HEADER },
                { N_("target"), f->target, UI_NORMAL },
                { N_("status"), status_to_string(f->status), UI_NORMAL },
                { N_("summary"), f->summary, UI_NORMAL },
                { N_("stale"), stale, UI_WARNING },
                { N_("detail"), f->detail, UI_DIM },
                { N_("fix"), f->remedy, UI_OK },
        };
        for (size_t i = 0; i < ELEMENTSOF(parts) && y < top + height; i++) {
                const char *t = parts[i].text;
                if (!t || !*t)
                        continue;
                bool first = true;
                while (y < top + height) {
                        const char *nl = strchr(t, '\n');
                        size_t n = nl ? (size_t) (nl - t) : strlen(t);
                        /* wrap long lines at the panel width */
                        int avail = MAX(ui.cols - 10, 1);
                        size_t off = 0;
                        do {
                                size_t used = ui_wrap_bytes(t + off, n - off, avail);
                                if (line++ >= (int) skip && y < top + height) {
                                        char *piece = strndup(t + off, used);
                                        if (!piece)
                                                return line;
                                        ui_fill(y, 0, ui.cols, A_NORMAL);
                                        if (first)
                                                ui_text(y, 1, 8, _(parts[i].label), ui_attr(UI_HEADER), false);
                                        ui_text(y, 10, avail, piece,
                                                i == 3 ? ui_status_attr(f->status) : ui_attr(parts[i].color), false);
                                        free(piece);
                                        y++;
                                }
                                first = false;
                                off += used;
                        } while (off < n);
                        if (!nl)
                                break;
                        t = nl + 1;
                }
        }
        return line;
}

/* The details' "stale" line: since when the value is old, and why. NULL when fresh. */
static char *stale_text(const Health *h, const Finding *f) {
        uint64_t age;
        if (!is_stale(h, f, &age))
                return NULL;
        const Meta *m = meta_of(h, f);
        char at[16] = "?", a[16];
        ui_age(age, a);
        time_t t = m ? (time_t) m->good_realtime : 0;
        struct tm tm;
        if (t && localtime_r(&t, &tm))
                strftime(at, sizeof(at), "%H:%M:%S", &tm);
        char *s = NULL;
        int r;
        if (m && m->failed)
                r = asprintf(&s, _("this value is from %s (%s ago); the last refresh failed: %s"), at, a, m->failed);
        else
                r = asprintf(&s, _("this value is from %s (%s ago); no refresh since"), at, a);
        return r < 0 ? NULL : s;
}

static void health_draw(Panel *p, int top, int height) {
        Health *h = (Health *) p;
        rebuild(h);
        if (height < 3)
                return;
        draw_summary_line(h, top);
        top++;
        height--;

        if (h->details_full && h->n_visible) {
                const Finding *f = h->visible[h->selected];
                h->list_h = 0;
                for (int y = top; y < top + height; y++)
                        ui_fill(y, 0, ui.cols, A_NORMAL);
                _cleanup_free_ char *why = stale_text(h, f);
                draw_details(f, why, top, height, h->details_scroll);
                return;
        }

        /* List on top, the selected finding's details below when there is room. */
        int detail_h = height >= 16 ? MIN(height / 3, 10) : 0;
        int list_h = height - detail_h - (detail_h ? 1 : 0);
        h->list_y = top;
        h->list_h = list_h;
        if (h->selected < h->top)
                h->top = h->selected;
        if (list_h > 0 && h->selected >= h->top + (size_t) list_h)
                h->top = h->selected - (size_t) list_h + 1;
        for (int r = 0; r < list_h; r++) {
                size_t i = h->top + (size_t) r;
                if (i < h->n_visible)
                        draw_row(h, top + r, h->visible[i], i == h->selected);
                else
                        ui_fill(top + r, 0, ui.cols, A_NORMAL);
        }
        if (h->n_visible == 0 && list_h > 0)
                ui_text(top, 2, ui.cols - 4,
                        h->run || h->naming ? _("checking...") : (h->filter && *h->filter) ? _("nothing matches the filter") : _("no findings"),
                        ui_attr(UI_DIM), false);
        if (detail_h) {
                int y = top + list_h;
                ui_fill(y, 0, ui.cols, A_NORMAL);
                for (int x = 0; x < ui.cols; x++)
                        ui_text(y, x, 1, ui.ascii ? "-" : "\u2500", ui_attr(UI_DIM), false);
                for (int r = 1; r <= detail_h; r++)
                        ui_fill(y + r, 0, ui.cols, A_NORMAL);
                if (h->n_visible) {
                        _cleanup_free_ char *why = stale_text(h, h->visible[h->selected]);
                        draw_details(h->visible[h->selected], why, y + 1, detail_h, 0);
                }
        }
}

static KeyResult health_key(Panel *p, int key) {
        Health *h = (Health *) p;
        size_t page = (size_t) MAX(ui.rows - 6, 1);
        if (h->details_full) {
                switch (key) {
                case KEY_DOWN:
                case 'j':
                        h->details_scroll++;
                        return KEY_HANDLED;
                case KEY_UP:
                case 'k':
                        if (h->details_scroll)
                                h->details_scroll--;
                        return KEY_HANDLED;
                case '\n':
                case '\r':
                case KEY_ENTER:
                case 27:
                case 'q':
                        h->details_full = false;
                        return KEY_HANDLED;
                }
        }
        switch (key) {
        case KEY_DOWN:
        case 'j':
                if (h->selected + 1 < h->n_visible)
                        h->selected++;
                return KEY_HANDLED;
        case KEY_UP:
        case 'k':
                if (h->selected)
                        h->selected--;
                return KEY_HANDLED;
        case KEY_NPAGE:
                h->selected = h->n_visible ? MIN(h->selected + page, h->n_visible - 1) : 0;
                return KEY_HANDLED;
        case KEY_PPAGE:
                h->selected = h->selected > page ? h->selected - page : 0;
                return KEY_HANDLED;
        case 'g':
        case KEY_HOME:
                h->selected = 0;
                return KEY_HANDLED;
        case 'G':
        case KEY_END:
                h->selected = h->n_visible ? h->n_visible - 1 : 0;
                return KEY_HANDLED;
        case '\n':
        case '\r':
        case KEY_ENTER:
                if (h->n_visible) {
                        h->details_full = true;
                        h->details_scroll = 0;
                }
                return KEY_HANDLED;
        case KEY_F(5):
        case 'r':
                start_run(h, true);
                return KEY_HANDLED;
        case 's':
                h->problems_first = !h->problems_first;
                return KEY_HANDLED;
        case 'o':
                h->hide_ok = !h->hide_ok;
                return KEY_HANDLED;
        }
        return KEY_IGNORED;
}

static KeyResult health_click(Panel *p, int y, int x) {
        Health *h = (Health *) p;
        if (y < h->list_y || y >= h->list_y + h->list_h)
                return KEY_IGNORED;
        size_t i = h->top + (size_t) (y - h->list_y);
        if (i >= h->n_visible)
                return KEY_IGNORED;
        if (i == h->selected)
                return health_key(p, '\n');
        h->selected = i;
        return KEY_HANDLED;
}

static bool health_tick(Panel *p) {
        /* ages and "checking... (Ns)" move on */
        return true;
}

static bool health_search(Panel *p, const char *text, int dir) {
        Health *h = (Health *) p;
        rebuild(h);
        if (!h->n_visible || !text || !*text)
                return false;
        size_t n = h->n_visible;
        for (size_t step = 1; step <= n; step++) {
                size_t i = dir > 0 ? (h->selected + step) % n : (h->selected + n - step % n) % n;
                if (matches(h->visible[i], text)) {
                        h->selected = i;
                        h->details_full = false;
                        return true;
                }
        }
        return false;
}

static void health_filter(Panel *p, const char *text) {
        Health *h = (Health *) p;
        free(h->filter);
        h->filter = text && *text ? strdup(text) : NULL;
        h->selected = h->top = 0;
}

static void health_free(Panel *p) {
        Health *h = (Health *) p;
        if (!h)
                return;
        h->closing = true;
        if (h->naming)
                fiber_cancel(h->naming);
        checks_run_free(h->run);
        sd_event_source_disable_unref(h->timer);
        for (size_t i = 0; i < h->n_slots; i++) {
                meta_free(h->slots[i].meta, h->slots[i].findings.n);
                findings_done(&h->slots[i].findings);
        }
        free(h->slots);
        free(h->held_only);
        free(h->visible);
        free(h->filter);
        sd_event_unref(h->event);
        free(h);
}

int health_new(sd_event *e, const CheckContext *ctx, HealthNames names, void *names_userdata, bool hold_log,
               unsigned interval, HealthChanged changed, void *userdata, Panel **ret) {
        Health *h = calloc(1, sizeof(Health));
        if (!h)
                return -ENOMEM;
        h->panel = (Panel) {
                .name = "health",
                .title = N_("Health"),
                .draw = health_draw,
                .key = health_key,
                .bar = health_bar,
                .free = health_free,
                .tick = health_tick,
                .search = health_search,
                .filter = health_filter,
                .click = health_click,
        };
        h->event = sd_event_ref(e);
        h->ctx = *ctx;
        h->interval = MAX(interval, 1u);
        h->changed = changed;
        h->userdata = userdata;
        h->problems_first = true;
        (void) checks_table(&h->n_slots);
        h->slots = calloc(h->n_slots, sizeof(Slot));
        if (!h->slots) {
                health_free(&h->panel);
                return -ENOMEM;
        }
        h->user_only = ctx->only;
        for (size_t i = 0; i < ELEMENTSOF(fast_groups); i++)
                if (group_in(ctx->only, fast_groups[i]))
                        h->fast_only[h->n_fast++] = fast_groups[i];
        if (hold_log && group_in(ctx->only, "log")) {
                size_t n_all = 0, n = 0;
                const char *const *all = ctx->only ? ctx->only : check_groups(&n_all);
                while (!n_all && all[n_all])
                        n_all++;
                h->held_only = calloc(n_all + 1, sizeof(char *));
                if (!h->held_only) {
                        health_free(&h->panel);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n_all; i++)
                        if (!streq(all[i], "log"))
                                h->held_only[n++] = all[i];
                h->log_held = h->log_owed = true;
        }
        h->names = names;
        h->names_userdata = names_userdata;
        if (names) {
                h->run_started_usec = now_usec();
                if (fiber_start(e, names_fiber, h, names_done, &h->naming) < 0) {
                        h->naming = NULL;
                        (void) names(&h->ctx, names_userdata); /* no fiber: here, then */
                        h->names = NULL;
                }
        }
        start_run(h, true);
        *ret = &h->panel;
        return 0;
}
