/* The queue panel: counts per queue, the age shape (qshape rows), the top deferral reasons
 * and the messages (sortable, filterable), one message's postcat on Enter, tags with
 * Space, and actions on the tagged set or the filter (hold, release, delete, requeue,
 * flush) with the safety of `mxdeck queue`: a confirmation that names the count, the
 * count typed back above 100 messages, [queue] read_only = yes honoured.
 *
 * The data comes from probes/queue on a worker (offload: reading 20,000 queue files takes
 * a fifth of a second), awaited by a fiber on the loop and handed to the view; actions run
 * the same way, postcat in a fiber. The view only draws what it was handed, so a refresh
 * never blocks a key. The queue is read again every interval seconds while the panel is
 * shown (its tick) and after every action; not at all while another panel is. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fiber.h"
#include "macro.h"
#include "offload.h"
#include "queue-actions.h"
#include "queue-model.h"
#include "queue-source.h"
#include "queuepanel.h"
#include "termsafe.h"

#define SHOW_MAX_OUTPUT ((size_t) 64 * 1024)
#define ROWS_MAX 5          /* shape domains and reasons shown at most */
#define TYPE_BACK_ABOVE 100 /* as the CLI: more messages need their count typed back */

typedef enum SortKey { SORT_AGE, SORT_SIZE, SORT_SENDER, _SORT_MAX } SortKey;

static const char *const sort_names[_SORT_MAX] = { N_("age"), N_("size"), N_("sender") };

typedef enum Confirm { CONFIRM_NONE, CONFIRM_YES_NO, CONFIRM_COUNT } Confirm;

/* One read of the queue: the worker's alone while it runs (see core/offload.h). */
typedef struct LoadJob {
        QueueSourceOptions source;
        int64_t now;
        QueueSnapshot snap;
        QueueSummary sum;
        Qshape shape;
        char *error;
} LoadJob;

/* One action: ids copied, the worker's alone while it runs. */
typedef struct ActJob {
        bool flush;
        QueueAction action;
        char **ids;
        size_t n;
        QueueSourceOptions recheck;
        QueueActionResult res;
        char *output, *error;
} ActJob;

typedef struct QueuePanel {
        Panel panel;
        sd_event *event;
        const Settings *settings;
        unsigned interval;
        QueuePanelChanged changed;
        void *userdata;

        Fiber *loader, *actor, *shower;
        ActJob *pending; /* handed to the action's fiber when it starts */
        bool reload_wanted, have_data;
        uint64_t load_started_usec, loaded_usec; /* 0: never */
        uint64_t load_duration_usec;
        int64_t loaded_at;                        /* wall clock of the data */
        char *load_error;

        QueueSnapshot snap;
        QueueSummary sum;
        Qshape shape;

        char **tags; /* queue ids, sorted */
        size_t n_tags;

        /* the list: indices into snap, filtered and sorted */
        size_t *visible;
        size_t n_visible;
        size_t selected, top;
        SortKey sort;
        char *filter_text;  /* as typed, NULL: none */
        char *filter_store; /* filter's strings point in here */
        QueueFilter filter;
        char **words; /* plain words of the filter: substrings */
        size_t n_words;

        /* the confirmation in progress */
        Confirm confirm;
        bool confirm_flush;
        QueueAction confirm_action;
        char **confirm_ids;
        size_t confirm_n;
        const char *confirm_what; /* "tagged" or "matching the filter" */
        char typed[24];

        char *status; /* the last action's result, or why it was refused */
        bool status_bad;

        /* Enter: one message */
        bool details;
        char details_id[65];
        char *details_text, *details_error;
        bool details_truncated;
        size_t details_scroll;

        int64_t drawn_minute;
} QueuePanel;

static const char *const queue_bar[] = {
        "Space", N_("Tag"),
        "h u d R", N_("Hold Release Delete Requeue"),
        "f", N_("Flush"),
        "s", N_("Sort"),
        "Enter", N_("Show"),
        "F5 r", N_("Refresh"),
        "t U", N_("Tag all shown, untag all"),
        NULL,
};

static void strv_free_n(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static void notify(QueuePanel *q) {
        if (q->changed)
                q->changed(q->userdata);
}

static void set_status(QueuePanel *q, bool bad, const char *fmt, ...) _printf_(3, 4);
static void set_status(QueuePanel *q, bool bad, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(q->status);
        q->status = s ? termsafe_strdup(s, 0) : NULL;
        free(s);
        q->status_bad = bad;
}

static unsigned timeout_ms(const QueuePanel *q) {
        unsigned t = q->settings && q->settings->timeout_seconds ? q->settings->timeout_seconds : 10;
        return MAX(t, 30u) * 1000u; /* a large queue through postqueue -j takes a while */
}

/* ---- tags ---- */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_tagged(const QueuePanel *q, const char *id) {
        return q->n_tags && bsearch(&id, q->tags, q->n_tags, sizeof(char *), cmp_str);
}

static void tag_set(QueuePanel *q, const char *id, bool on) {
        char **hit = q->n_tags ? bsearch(&id, q->tags, q->n_tags, sizeof(char *), cmp_str) : NULL;
        if (!on) {
                if (!hit)
                        return;
                free(*hit);
                memmove(hit, hit + 1, (size_t) (q->tags + q->n_tags - hit - 1) * sizeof(char *));
                q->n_tags--;
                return;
        }
        if (hit)
                return;
        char **v = reallocarray(q->tags, q->n_tags + 1, sizeof(char *));
        char *c = strdup(id);
        if (!v || !c) {
                free(c);
                if (v)
                        q->tags = v;
                return;
        }
        q->tags = v;
        size_t i = 0;
        while (i < q->n_tags && strcmp(q->tags[i], id) < 0)
                i++;
        memmove(q->tags + i + 1, q->tags + i, (q->n_tags - i) * sizeof(char *));
        q->tags[i] = c;
        q->n_tags++;
}

static void tags_clear(QueuePanel *q) {
        strv_free_n(q->tags, q->n_tags);
        q->tags = NULL;
        q->n_tags = 0;
}

/* After a refresh: a tagged message that left the queue is no longer tagged. */
static void tags_prune(QueuePanel *q) {
        if (!q->n_tags)
                return;
        bool *present = calloc(q->n_tags, sizeof(bool));
        if (!present)
                return;
        for (size_t m = 0; m < q->snap.n; m++) {
                const char *id = q->snap.messages[m].queue_id;
                char **hit = bsearch(&id, q->tags, q->n_tags, sizeof(char *), cmp_str);
                if (hit)
                        present[hit - q->tags] = true;
        }
        size_t k = 0;
        for (size_t i = 0; i < q->n_tags; i++) {
                if (present[i])
                        q->tags[k++] = q->tags[i];
                else
                        free(q->tags[i]);
        }
        q->n_tags = k;
        free(present);
}

/* t: every message shown is tagged (one sort, not one insertion each). */
static void tags_add_visible(QueuePanel *q) {
        size_t n = q->n_tags + q->n_visible;
        char **v = reallocarray(q->tags, MAX(n, (size_t) 1), sizeof(char *));
        if (!v)
                return;
        q->tags = v;
        for (size_t i = 0; i < q->n_visible; i++) {
                char *c = strdup(q->snap.messages[q->visible[i]].queue_id);
                if (!c)
                        break;
                v[q->n_tags++] = c;
        }
        qsort(v, q->n_tags, sizeof(char *), cmp_str);
        size_t k = 0;
        for (size_t i = 0; i < q->n_tags; i++) {
                if (k && streq(v[k - 1], v[i]))
                        free(v[i]);
                else
                        v[k++] = v[i];
        }
        q->n_tags = k;
}

/* ---- the filter: "sender:S recipient:R domain:D reason:RE age:DUR queue:Q words" ---- */

static void filter_clear(QueuePanel *q) {
        if (q->filter.has_reason)
                regfree(&q->filter.reason);
        q->filter = (QueueFilter) {};
        free(q->filter_store);
        q->filter_store = NULL;
        free(q->filter_text);
        q->filter_text = NULL;
        free(q->words);
        q->words = NULL;
        q->n_words = 0;
}

/* Parses text into the panel's filter; on a mistake sets the status and keeps the old one. */
static void filter_apply(QueuePanel *q, const char *text) {
        QueueFilter f = {};
        char *store = NULL, **words = NULL, *tok, *save = NULL;
        size_t n_words = 0;
        const char *bad = NULL;

        if (!text || !*text) {
                filter_clear(q);
                return;
        }
        store = strdup(text);
        words = calloc(strlen(text) / 2 + 2, sizeof(char *));
        if (!store || !words)
                goto fail;
        for (tok = strtok_r(store, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                char *colon = strchr(tok, ':');
                const char *v = colon ? colon + 1 : NULL;
                if (colon)
                        *colon = 0;
                if (v && *v && (streq(tok, "sender") || streq(tok, "from")))
                        f.sender = v;
                else if (v && *v && (streq(tok, "recipient") || streq(tok, "to")))
                        f.recipient = v;
                else if (v && *v && streq(tok, "domain"))
                        f.domain = v;
                else if (v && *v && streq(tok, "queue")) {
                        QueueName n = queue_name_from_string(v);
                        if (n < 0) {
                                bad = _("queue: wants maildrop, incoming, active, deferred, hold or corrupt");
                                goto fail;
                        }
                        f.queues |= 1u << n;
                } else if (v && *v && (streq(tok, "age") || streq(tok, "older"))) {
                        if (parse_duration(v, &f.older_than_s) < 0 || f.older_than_s <= 0) {
                                bad = _("age: wants a duration such as 90s, 30m, 2h, 3d");
                                goto fail;
                        }
                } else if (v && *v && streq(tok, "reason")) {
                        if (f.has_reason)
                                regfree(&f.reason);
                        if (regcomp(&f.reason, v, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
                                f.has_reason = false;
                                bad = _("reason: not a valid regular expression");
                                goto fail;
                        }
                        f.has_reason = true;
                } else {
                        if (colon)
                                *colon = ':'; /* not a known key: the whole word */
                        words[n_words++] = tok;
                }
        }
        char *copy = strdup(text);
        if (!copy)
                goto fail;
        filter_clear(q);
        q->filter = f;
        q->filter_store = store;
        q->filter_text = copy;
        q->words = words;
        q->n_words = n_words;
        return;
fail:
        if (f.has_reason)
                regfree(&f.reason);
        free(store);
        free(words);
        set_status(q, true, _("Filter not changed: %s"), bad ? bad : strerror(ENOMEM));
}

static bool word_matches(const QueueMessage *m, const char *w) {
        if (strcasestr(m->queue_id, w) || strcasestr(m->sender, w))
                return true;
        for (size_t k = 0; k < m->n_recipients; k++)
                if (strcasestr(m->recipients[k].address, w) ||
                    (m->recipients[k].delay_reason && strcasestr(m->recipients[k].delay_reason, w)))
                        return true;
        return false;
}

static bool message_matches(QueuePanel *q, const QueueMessage *m) {
        if (!q->filter_text)
                return true;
        q->filter.now = (int64_t) time(NULL);
        if (!queue_filter_is_empty(&q->filter) && !queue_filter_match(&q->filter, m))
                return false;
        for (size_t i = 0; i < q->n_words; i++)
                if (!word_matches(m, q->words[i]))
                        return false;
        return true;
}

/* ---- the list ---- */

static int cmp_messages(const void *a, const void *b, void *userdata) {
        const QueuePanel *q = userdata;
        const QueueMessage *x = &q->snap.messages[*(const size_t *) a], *y = &q->snap.messages[*(const size_t *) b];
        int c = 0;
        switch (q->sort) {
        case SORT_SIZE:
                c = x->message_size < y->message_size ? 1 : x->message_size > y->message_size ? -1 : 0;
                break;
        case SORT_SENDER:
                c = strcasecmp(x->sender, y->sender);
                break;
        default:
                break;
        }
        if (c == 0)
                c = x->arrival_time < y->arrival_time ? -1 : x->arrival_time > y->arrival_time ? 1 : 0;
        return c ? c : strcmp(x->queue_id, y->queue_id);
}

static void selected_id(const QueuePanel *q, char buf[static 65]) {
        buf[0] = 0;
        if (q->n_visible && q->selected < q->n_visible)
                snprintf(buf, 65, "%s", q->snap.messages[q->visible[q->selected]].queue_id);
}

/* Filters and sorts; the selection stays on the message keep_id when it is still shown. */
static void rebuild_keeping(QueuePanel *q, const char *keep_id) {
        size_t *v = reallocarray(q->visible, MAX(q->snap.n, (size_t) 1), sizeof(size_t));
        if (!v)
                return;
        q->visible = v;
        q->n_visible = 0;
        for (size_t i = 0; i < q->snap.n; i++)
                if (message_matches(q, &q->snap.messages[i]))
                        v[q->n_visible++] = i;
        qsort_r(v, q->n_visible, sizeof(size_t), cmp_messages, q);
        q->selected = MIN(q->selected, q->n_visible ? q->n_visible - 1 : 0);
        for (size_t i = 0; keep_id[0] && i < q->n_visible; i++)
                if (streq(q->snap.messages[v[i]].queue_id, keep_id))
                        q->selected = i;
}

static void rebuild(QueuePanel *q) {
        char keep[65];
        selected_id(q, keep);
        rebuild_keeping(q, keep);
}

/* ---- reading the queue (worker, then the fiber hands it to the view) ---- */

static void load_job_free(void *data) {
        LoadJob *j = data;
        if (!j)
                return;
        qshape_done(&j->shape);
        queue_summary_done(&j->sum);
        queue_snapshot_done(&j->snap);
        free(j->error);
        free(j);
}

static int load_work(void *data) {
        LoadJob *j = data;
        int r = queue_load(&j->source, &j->snap, NULL, &j->error);
        if (r < 0)
                return r;
        r = queue_summary_build(&j->snap, &j->sum);
        if (r < 0)
                return r;
        QshapeOptions o;
        qshape_options_init(&o, j->now); /* all queues but corrupt, as qshape without names */
        return qshape_build(&j->snap, &o, &j->shape);
}

static int load_body(void *userdata) {
        QueuePanel *q = userdata;
        LoadJob *j = calloc(1, sizeof(LoadJob));
        int result = 0, r;

        if (!j)
                return -ENOMEM;
        j->source = (QueueSourceOptions) { .kind = QUEUE_SOURCE_AUTO, .reasons = true, .timeout_ms = timeout_ms(q) };
        j->now = (int64_t) time(NULL);
        r = offload_run(load_work, j, load_job_free, deadline_in_ms(timeout_ms(q) + 5000), &result);
        if (r == -ECANCELED)
                return r; /* the panel is going away; the job frees itself */
        free(q->load_error);
        q->load_error = NULL;
        if (r < 0) {
                /* the job is the worker's now */
                if (asprintf(&q->load_error, _("cannot read the queue: %s"),
                             r == -ETIMEDOUT ? _("it took too long") : strerror(-r)) < 0)
                        q->load_error = NULL;
                return r;
        }
        if (result < 0) {
                if (asprintf(&q->load_error, _("cannot read the queue: %s"), j->error ? j->error : strerror(-result)) < 0)
                        q->load_error = NULL;
                load_job_free(j);
                return result;
        }
        char keep[65];
        selected_id(q, keep);
        q->n_visible = 0; /* indices into the old snapshot */
        qshape_done(&q->shape);
        queue_summary_done(&q->sum);
        queue_snapshot_done(&q->snap);
        q->snap = j->snap;
        q->sum = j->sum;
        q->shape = j->shape;
        q->loaded_at = j->now;
        j->snap = (QueueSnapshot) {};
        j->sum = (QueueSummary) {};
        j->shape = (Qshape) {};
        load_job_free(j);
        q->have_data = true;
        tags_prune(q);
        rebuild_keeping(q, keep);
        return 0;
}

static void start_load(QueuePanel *q);

static void load_done(Fiber *f, int result, void *userdata) {
        QueuePanel *q = userdata;
        q->loader = NULL;
        if (result == -ECANCELED)
                return;
        q->loaded_usec = now_usec();
        q->load_duration_usec = q->loaded_usec - q->load_started_usec;
        if (q->reload_wanted) {
                q->reload_wanted = false;
                start_load(q);
        }
        notify(q);
}

static void start_load(QueuePanel *q) {
        if (q->loader) {
                q->reload_wanted = true; /* after this one: an action may have changed the queue */
                return;
        }
        q->load_started_usec = now_usec();
        if (fiber_start(q->event, load_body, q, load_done, &q->loader) < 0) {
                q->loader = NULL;
                q->loaded_usec = now_usec(); /* try again at the next interval */
        }
        notify(q);
}

/* ---- actions ---- */

static void act_job_free(void *data) {
        ActJob *j = data;
        if (!j)
                return;
        strv_free_n(j->ids, j->n);
        queue_action_result_done(&j->res);
        free(j->output);
        free(j->error);
        free(j);
}

static int act_work(void *data) {
        ActJob *j = data;
        if (j->flush)
                return queue_flush(NULL, &j->output, &j->error);
        return queue_action_run(j->action, j->ids, j->n, &j->recheck, &j->res, &j->error);
}

static int act_body(void *userdata) {
        QueuePanel *q = userdata;
        ActJob *j = TAKE_PTR(q->pending);
        int result = 0, r;

        if (!j)
                return -ENOMEM;
        const char *verb = j->flush ? "flush" : queue_action_to_string(j->action);
        r = offload_run(act_work, j, act_job_free, deadline_in_ms(2 * timeout_ms(q) + 5000), &result);
        if (r == -ECANCELED)
                return r;
        if (r < 0) {
                set_status(q, true, _("%s: %s (the queue is read again to show what happened)"), verb,
                           r == -ETIMEDOUT ? _("no answer in time") : strerror(-r));
                return r;
        }
        if (j->flush && result < 0)
                set_status(q, true, _("flush failed: %s"), j->error ? j->error : strerror(-result));
        else if (j->flush)
                set_status(q, false, "%s", _("Asked Postfix to retry the deferred mail now."));
        else if (result < 0 && !j->res.requested)
                set_status(q, true, _("%s failed: %s"), verb, j->error ? j->error : strerror(-result));
        else if (result < 0)
                set_status(q, true, _("%s failed: %s (%zu already gone)"), verb, j->error ? j->error : strerror(-result),
                           j->res.n_gone);
        else if (j->res.affected >= 0)
                set_status(q, false, _("%s: %ld of %zu messages (%zu already gone)"), verb, j->res.affected, j->n,
                           j->res.n_gone);
        else
                set_status(q, false, _("%s: %zu messages handed to postsuper (%zu already gone)"), verb, j->res.sent,
                           j->res.n_gone);
        act_job_free(j);
        return result;
}

static void act_done(Fiber *f, int result, void *userdata) {
        QueuePanel *q = userdata;
        q->actor = NULL;
        if (result == -ECANCELED)
                return;
        start_load(q); /* show what changed */
        notify(q);
}

static void confirm_reset(QueuePanel *q) {
        strv_free_n(q->confirm_ids, q->confirm_n);
        q->confirm_ids = NULL;
        q->confirm_n = 0;
        q->confirm = CONFIRM_NONE;
        q->typed[0] = 0;
}

/* The confirmed action goes to a job of its own (the ids move there), run on a worker. */
static void confirm_run(QueuePanel *q) {
        ActJob *j = calloc(1, sizeof(ActJob));
        if (!j) {
                confirm_reset(q);
                set_status(q, true, _("cannot start the action: %s"), strerror(ENOMEM));
                return;
        }
        j->flush = q->confirm_flush;
        j->action = q->confirm_action;
        j->ids = TAKE_PTR(q->confirm_ids);
        j->n = q->confirm_n;
        q->confirm_n = 0;
        j->recheck = (QueueSourceOptions) { .kind = QUEUE_SOURCE_AUTO, .timeout_ms = timeout_ms(q) };
        bool from_tags = !j->flush && streq(q->confirm_what, "tagged");
        confirm_reset(q);
        q->pending = j;
        if (fiber_start(q->event, act_body, q, act_done, &q->actor) < 0) {
                q->actor = NULL;
                act_job_free(TAKE_PTR(q->pending));
                set_status(q, true, _("cannot start the action: %s"), strerror(ENOMEM));
                return;
        }
        set_status(q, false, _("%s: running..."), j->flush ? "flush" : queue_action_to_string(j->action));
        if (from_tags)
                tags_clear(q); /* they are handed over */
}

/* h, u, d, R, f: the set is the tagged messages, else the filter's; never "all" by default. */
static void ask(QueuePanel *q, bool flush, QueueAction action) {
        if (q->settings && q->settings->queue_read_only) {
                set_status(q, true, _("Actions are disabled: [queue] read_only = yes in the settings."));
                return;
        }
        if (q->actor) {
                set_status(q, true, _("An action is still running."));
                return;
        }
        if (!flush && geteuid() != 0) {
                set_status(q, true, _("Hold, release, delete and requeue need root (postsuper is the superuser's)."));
                return;
        }
        confirm_reset(q);
        q->confirm_flush = flush;
        q->confirm_action = action;
        if (flush) {
                q->confirm = CONFIRM_YES_NO;
                return;
        }
        const char *what;
        size_t n = 0;
        char **ids;
        if (q->n_tags) {
                what = "tagged";
                ids = calloc(q->n_tags, sizeof(char *));
                for (size_t i = 0; ids && i < q->n_tags; i++)
                        if ((ids[n] = strdup(q->tags[i])))
                                n++;
        } else if (q->filter_text) {
                what = "filter";
                ids = calloc(MAX(q->n_visible, (size_t) 1), sizeof(char *));
                for (size_t i = 0; ids && i < q->n_visible; i++)
                        if ((ids[n] = strdup(q->snap.messages[q->visible[i]].queue_id)))
                                n++;
        } else {
                set_status(q, true, _("Tag messages with Space or filter them with \\ first (never all by default)."));
                return;
        }
        if (!ids) {
                set_status(q, true, "%s", strerror(ENOMEM));
                return;
        }
        if (n == 0) {
                free(ids);
                set_status(q, true, _("No messages to %s."), queue_action_to_string(action));
                return;
        }
        q->confirm_ids = ids;
        q->confirm_n = n;
        q->confirm_what = what;
        q->confirm = n > TYPE_BACK_ABOVE ? CONFIRM_COUNT : CONFIRM_YES_NO;
}

static void confirm_key(QueuePanel *q, int key) {
        if (key == 27 || key == 'q' || key == KEY_F(10)) {
                confirm_reset(q);
                set_status(q, false, _("Nothing changed."));
                return;
        }
        if (q->confirm == CONFIRM_YES_NO) {
                if (key == 'y' || key == 'Y')
                        confirm_run(q);
                else {
                        confirm_reset(q);
                        set_status(q, false, _("Nothing changed."));
                }
                return;
        }
        size_t len = strlen(q->typed);
        if (key >= '0' && key <= '9' && len + 1 < sizeof(q->typed)) {
                q->typed[len] = (char) key;
                q->typed[len + 1] = 0;
        } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len > 0)
                q->typed[len - 1] = 0;
        else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
                char want[24];
                snprintf(want, sizeof(want), "%zu", q->confirm_n);
                if (streq(q->typed, want))
                        confirm_run(q);
                else {
                        confirm_reset(q);
                        set_status(q, true, _("Nothing changed: that is not the count."));
                }
        }
}

/* ---- Enter: one message ---- */

static int show_body(void *userdata) {
        QueuePanel *q = userdata;
        char *text = NULL, *error = NULL;
        bool truncated = false;
        char id[sizeof(q->details_id)];

        memcpy(id, q->details_id, sizeof(id));
        int r = queue_show_message(id, SHOW_MAX_OUTPUT, deadline_in_ms(30000), false, &text, &truncated, &error);
        if (r == -ECANCELED || !streq(id, q->details_id)) {
                free(text);
                free(error);
                return r;
        }
        free(q->details_text);
        free(q->details_error);
        q->details_text = text ? text : strdup("");
        q->details_error = r < 0 ? (error ? error : strdup(strerror(-r))) : (free(error), NULL);
        q->details_truncated = truncated;
        return r;
}

static void show_done(Fiber *f, int result, void *userdata) {
        QueuePanel *q = userdata;
        q->shower = NULL;
        if (result != -ECANCELED)
                notify(q);
}

static void details_open(QueuePanel *q) {
        if (!q->n_visible)
                return;
        const QueueMessage *m = &q->snap.messages[q->visible[q->selected]];
        if (q->shower)
                fiber_cancel(q->shower);
        q->shower = NULL;
        snprintf(q->details_id, sizeof(q->details_id), "%s", m->queue_id);
        free(q->details_text);
        free(q->details_error);
        q->details_text = q->details_error = NULL;
        q->details_scroll = 0;
        q->details = true;
        if (fiber_start(q->event, show_body, q, show_done, &q->shower) < 0) {
                q->shower = NULL;
                q->details_error = strdup(strerror(ENOMEM));
        }
}

static void details_close(QueuePanel *q) {
        if (q->shower)
                fiber_cancel(q->shower);
        q->shower = NULL;
        q->details = false;
}

/* ---- drawing ---- */

static void human_size(uint64_t b, char buf[static 16]) {
        if (b < 10000)
                snprintf(buf, 16, "%llu", (unsigned long long) b);
        else if (b < 10000 * 1024ull)
                snprintf(buf, 16, "%lluK", (unsigned long long) (b / 1024));
        else if (b < 10000 * 1024ull * 1024)
                snprintf(buf, 16, "%lluM", (unsigned long long) (b / (1024 * 1024)));
        else
                snprintf(buf, 16, "%lluG", (unsigned long long) (b / (1024 * 1024 * 1024)));
}

static void draw_summary(QueuePanel *q, int y) {
        static const QueueName order[] = { QUEUE_DEFERRED, QUEUE_ACTIVE, QUEUE_HOLD, QUEUE_INCOMING, QUEUE_MAILDROP };
        char line[512], age[16] = "-", size[16];
        int n = 0;

        ui_fill(y, 0, ui.cols, ui_attr(UI_HEADER));
        if (!q->have_data) {
                ui_text(y, 1, ui.cols - 1, q->loader ? _("reading the queue...") : _("no queue data"), ui_attr(UI_HEADER),
                        false);
                return;
        }
        if (q->sum.oldest_arrival)
                ui_age((uint64_t) MAX((int64_t) time(NULL) - q->sum.oldest_arrival, (int64_t) 0), age);
        human_size(q->sum.bytes, size);
        n = snprintf(line, sizeof(line), _(" %llu messages, %sB, oldest %s:"), (unsigned long long) q->sum.total, size,
                     age);
        for (size_t i = 0; i < ELEMENTSOF(order) && n > 0 && n < (int) sizeof(line); i++)
                n += snprintf(line + n, sizeof(line) - (size_t) n, " %s %llu", queue_name_to_string(order[i]),
                              (unsigned long long) q->sum.queues[order[i]].count);
        if (q->snap.corrupt_count && n > 0 && n < (int) sizeof(line))
                snprintf(line + n, sizeof(line) - (size_t) n, " corrupt %llu", (unsigned long long) q->snap.corrupt_count);
        int x = ui_text(y, 0, ui.cols, line, ui_attr(UI_HEADER) | A_BOLD, false);
        if (q->loader)
                ui_text(y, x, ui.cols - x, _("  reading..."), ui_attr(UI_DIM), false);
}

/* text right-aligned in a cell of width columns at x; returns width */
static int cell_right(int y, int x, int width, const char *text, attr_t at) {
        int pad = MAX(width - (int) termsafe_width(text), 0); /* columns, not bytes */
        if (x + pad < ui.cols)
                ui_text(y, x + pad, MIN(width - pad, ui.cols - x - pad), text, at, false);
        return width;
}

/* qshape's layout: a domain column, then T and one column per bucket. */
static int draw_shape(QueuePanel *q, int y, int rows) {
        const Qshape *s = &q->shape;
        if (rows <= 0 || s->n_rows == 0 || s->n_buckets == 0)
                return 0;
        int widths[QSHAPE_MAX_BUCKETS + 1], sum = 0;
        char heads[QSHAPE_MAX_BUCKETS + 1][24];
        for (unsigned i = 0; i <= s->n_buckets; i++) {
                char num[24];
                if (i == 0)
                        snprintf(heads[i], sizeof(heads[i]), "T");
                else
                        snprintf(heads[i], sizeof(heads[i]), "%u%s", s->limits[i - 1], i == s->n_buckets ? "+" : "");
                snprintf(num, sizeof(num), "%llu", (unsigned long long) (i == 0 ? s->rows[0].total : s->rows[0].counts[i - 1]));
                widths[i] = (int) MAX(strlen(num), strlen(heads[i])) + 1;
                sum += widths[i];
        }
        int dw = MAX(ui.cols - sum - 1, 12);
        ui_fill(y, 0, ui.cols, A_NORMAL);
        ui_text(y, 1, dw - 1, _("age (minutes)"), ui_attr(UI_DIM), false);
        int x = dw;
        for (unsigned i = 0; i <= s->n_buckets && x < ui.cols; i++) {
                x += cell_right(y, x, widths[i], heads[i], ui_attr(UI_DIM));
        }
        int used = 1;
        for (size_t r = 0; r < s->n_rows && used < rows; r++, used++) {
                int yy = y + used;
                ui_fill(yy, 0, ui.cols, A_NORMAL);
                ui_text(yy, 1, dw - 2, s->rows[r].domain, r == 0 ? A_BOLD : A_NORMAL, false);
                x = dw;
                for (unsigned i = 0; i <= s->n_buckets && x < ui.cols; i++) {
                        char cell[24];
                        uint64_t v = i == 0 ? s->rows[r].total : s->rows[r].counts[i - 1];
                        snprintf(cell, sizeof(cell), "%llu", (unsigned long long) v);
                        x += cell_right(yy, x, widths[i], cell, r == 0 ? A_BOLD : (v ? A_NORMAL : ui_attr(UI_DIM)));
                }
        }
        return used;
}

static int draw_reasons(QueuePanel *q, int y, int rows) {
        if (rows <= 0)
                return 0;
        ui_fill(y, 0, ui.cols, A_NORMAL);
        if (q->sum.n_reasons == 0) {
                ui_text(y, 1, ui.cols - 1, _("no deferral reasons"), ui_attr(UI_DIM), false);
                return 1;
        }
        ui_text(y, 1, ui.cols - 1, _("deferral reasons (recipients)"), ui_attr(UI_DIM), false);
        int used = 1;
        for (size_t i = 0; i < q->sum.n_reasons && used < rows; i++, used++) {
                char line[1024];
                snprintf(line, sizeof(line), "%6llu  %s", (unsigned long long) q->sum.reasons[i].count, q->sum.reasons[i].key);
                ui_fill(y + used, 0, ui.cols, A_NORMAL);
                ui_text(y + used, 0, ui.cols, line, ui_attr(UI_WARNING), false);
        }
        return used;
}

static void draw_row(QueuePanel *q, int y, const QueueMessage *m, bool sel) {
        attr_t base = sel ? ui_attr(UI_SELECTED) : A_NORMAL;
        char age[16] = "?", size[16], head[160];
        if (m->arrival_time > 0)
                ui_age((uint64_t) MAX((int64_t) time(NULL) - m->arrival_time, (int64_t) 0), age);
        human_size(m->message_size, size);
        snprintf(head, sizeof(head), "%c%c%-15.64s %-8s %5s %6s ", sel ? '>' : ' ', is_tagged(q, m->queue_id) ? '*' : ' ',
                 m->queue_id, queue_name_to_string(m->queue), age, size);
        ui_fill(y, 0, ui.cols, base);
        int x = ui_text(y, 0, ui.cols, head, m->queue == QUEUE_HOLD && !sel ? ui_attr(UI_WARNING) : base, false);
        int rest = ui.cols - x;
        if (rest <= 0)
                return;
        int sw = MIN(rest / 2, 30);
        x += ui_text(y, x, sw, *m->sender ? m->sender : "<>", base, true);
        char rcpt[512];
        snprintf(rcpt, sizeof(rcpt), " %s%s", m->n_recipients ? m->recipients[0].address : "", "");
        x += ui_text(y, x, ui.cols - x, rcpt, base, false);
        if (m->n_recipients > 1 && x < ui.cols) {
                char more[32];
                snprintf(more, sizeof(more), " +%zu", m->n_recipients - 1);
                ui_text(y, x, ui.cols - x, more, sel ? base : ui_attr(UI_DIM), false);
        }
}

static void draw_details(QueuePanel *q, int top, int height) {
        char head[200];
        for (int y = top; y < top + height; y++)
                ui_fill(y, 0, ui.cols, A_NORMAL);
        snprintf(head, sizeof(head), _(" message %s (postcat -q)  q closes, j/k scroll%s"), q->details_id,
                 q->details_truncated ? _("  [cut at 64 KiB]") : "");
        ui_fill(top, 0, ui.cols, ui_attr(UI_HEADER));
        ui_text(top, 0, ui.cols, head, ui_attr(UI_HEADER), false);
        int y = top + 1;
        if (q->details_error)
                ui_text(y++, 1, ui.cols - 1, q->details_error, ui_attr(UI_CRITICAL), false);
        if (!q->details_text) {
                ui_text(y, 1, ui.cols - 1, q->details_error ? "" : _("reading..."), ui_attr(UI_DIM), false);
                return;
        }
        const char *p = q->details_text;
        for (size_t skip = q->details_scroll; skip > 0 && *p; skip--) {
                const char *nl = strchr(p, '\n');
                p = nl ? nl + 1 : p + strlen(p);
        }
        while (*p && y < top + height) {
                size_t n = strcspn(p, "\n");
                char *line = strndup(p, n);
                ui_text(y++, 0, ui.cols, line ? line : "", A_NORMAL, false);
                free(line);
                p += n;
                if (*p == '\n')
                        p++;
        }
}

static void draw_confirm(QueuePanel *q, int top, int height) {
        char line[256];
        const char *verb = q->confirm_flush ? "flush" : queue_action_to_string(q->confirm_action);
        if (q->confirm_flush)
                snprintf(line, sizeof(line), _("Flush: ask Postfix to retry all deferred mail now? [y/N]"));
        else if (q->confirm == CONFIRM_COUNT)
                snprintf(line, sizeof(line), _("%s %zu messages (%s)? Type %zu and Enter, Esc cancels: %s"), verb,
                         q->confirm_n, streq(q->confirm_what, "tagged") ? _("tagged") : _("matching the filter"),
                         q->confirm_n, q->typed);
        else
                snprintf(line, sizeof(line), ngettext("%s %zu message (%s)? [y/N]", "%s %zu messages (%s)? [y/N]", q->confirm_n),
                         verb, q->confirm_n, streq(q->confirm_what, "tagged") ? _("tagged") : _("matching the filter"));
        int y = top + height / 2 - 1;
        attr_t at = ui_attr(UI_TITLE) | A_BOLD;
        for (int i = 0; i < 3; i++)
                ui_fill(y + i, 2, ui.cols - 4, at);
        ui_text(y + 1, 4, ui.cols - 8, line, at, false);
}

static void queue_draw(Panel *p, int top, int height) {
        QueuePanel *q = (QueuePanel *) p;
        q->drawn_minute = (int64_t) time(NULL) / 60;
        if (height < 4)
                return;
        if (q->details) {
                draw_details(q, top, height);
                return;
        }
        draw_summary(q, top);
        int y = top + 1, rest = height - 3; /* summary, list heading, status line */
        int extra = rest >= 14 ? (rest - 10) / 4 : 0;
        int shape_rows = extra ? 2 + MIN(extra, ROWS_MAX) : 0;
        int reason_rows = extra ? 1 + MIN(extra, ROWS_MAX) : 0;
        if (q->load_error) {
                ui_fill(y, 0, ui.cols, A_NORMAL);
                ui_text(y++, 1, ui.cols - 1, q->load_error, ui_attr(UI_CRITICAL), false);
                rest--;
        }
        int used = draw_shape(q, y, MIN(shape_rows, (int) q->shape.n_rows + 1));
        y += used;
        rest -= used;
        used = draw_reasons(q, y, MIN(reason_rows, (int) q->sum.n_reasons + 1));
        y += used;
        rest -= used;

        /* The columns of draw_row ("  %-15s %-8s %5s %6s "), placed by display width: the
         * headers are translated, and a CJK character takes two columns. */
        attr_t ha = ui_attr(UI_HEADER);
        ui_fill(y, 0, ui.cols, ha);
        ui_text(y, 2, 15, _("ID"), ha, false);
        ui_text(y, 18, 8, _("QUEUE"), ha, false);
        cell_right(y, 27, 5, _("AGE"), ha);
        cell_right(y, 33, 6, _("SIZE"), ha);
        ui_text(y++, 40, ui.cols - 40, _("SENDER -> RECIPIENT"), ha, false);
        int list_h = MAX(rest, 0);
        if (q->selected < q->top)
                q->top = q->selected;
        if (list_h > 0 && q->selected >= q->top + (size_t) list_h)
                q->top = q->selected - (size_t) list_h + 1;
        for (int r = 0; r < list_h; r++) {
                size_t i = q->top + (size_t) r;
                if (i < q->n_visible)
                        draw_row(q, y + r, &q->snap.messages[q->visible[i]], i == q->selected);
                else
                        ui_fill(y + r, 0, ui.cols, A_NORMAL);
        }
        if (q->n_visible == 0 && list_h > 0 && q->loaded_usec)
                ui_text(y, 2, ui.cols - 4, q->filter_text ? _("nothing matches the filter") : _("the queue is empty"),
                        ui_attr(UI_DIM), false);

        /* status line: sort, tags, filter, the last action's result */
        int sy = top + height - 1;
        char st[512];
        snprintf(st, sizeof(st), _(" %zu shown  sort: %s  tagged: %zu"), q->n_visible, _(sort_names[q->sort]), q->n_tags);
        ui_fill(sy, 0, ui.cols, A_NORMAL);
        int x = 0;
        if (q->settings && q->settings->queue_read_only)
                x += ui_text(sy, 0, ui.cols, _(" [read-only]"), ui_attr(UI_WARNING) | A_BOLD, false);
        x += ui_text(sy, x, ui.cols - x, st, ui_attr(UI_DIM), false);
        if (q->filter_text) {
                char f[160];
                snprintf(f, sizeof(f), _("  filter: %s"), q->filter_text);
                x += ui_text(sy, x, ui.cols - x, f, ui_attr(UI_MATCH), false);
        }
        if (q->status)
                ui_text(sy, x, ui.cols - x, q->status, ui_attr(q->status_bad ? UI_CRITICAL : UI_OK) | A_BOLD, false);
        if (q->confirm != CONFIRM_NONE)
                draw_confirm(q, top, height);
}

/* ---- keys ---- */

static KeyResult details_key(QueuePanel *q, int key) {
        size_t page = (size_t) MAX(ui.rows - 4, 1);
        switch (key) {
        case KEY_DOWN:
        case 'j':
                q->details_scroll++;
                break;
        case KEY_UP:
        case 'k':
                if (q->details_scroll)
                        q->details_scroll--;
                break;
        case KEY_NPAGE:
        case ' ':
                q->details_scroll += page;
                break;
        case KEY_PPAGE:
                q->details_scroll = q->details_scroll > page ? q->details_scroll - page : 0;
                break;
        case 'g':
        case KEY_HOME:
                q->details_scroll = 0;
                break;
        case 'q':
        case 27:
        case '\n':
        case '\r':
        case KEY_ENTER:
                details_close(q);
                break;
        default:
                return KEY_IGNORED;
        }
        return KEY_HANDLED;
}

static KeyResult queue_key(Panel *p, int key) {
        QueuePanel *q = (QueuePanel *) p;
        size_t page = (size_t) MAX(ui.rows - 12, 1);

        if (q->confirm != CONFIRM_NONE) {
                confirm_key(q, key);
                return KEY_HANDLED;
        }
        if (q->details)
                return details_key(q, key);
        switch (key) {
        case KEY_DOWN:
        case 'j':
                if (q->selected + 1 < q->n_visible)
                        q->selected++;
                return KEY_HANDLED;
        case KEY_UP:
        case 'k':
                if (q->selected)
                        q->selected--;
                return KEY_HANDLED;
        case KEY_NPAGE:
                q->selected = q->n_visible ? MIN(q->selected + page, q->n_visible - 1) : 0;
                return KEY_HANDLED;
        case KEY_PPAGE:
                q->selected = q->selected > page ? q->selected - page : 0;
                return KEY_HANDLED;
        case 'g':
        case KEY_HOME:
                q->selected = 0;
                return KEY_HANDLED;
        case 'G':
        case KEY_END:
                q->selected = q->n_visible ? q->n_visible - 1 : 0;
                return KEY_HANDLED;
        case ' ':
                if (q->n_visible) {
                        const char *id = q->snap.messages[q->visible[q->selected]].queue_id;
                        tag_set(q, id, !is_tagged(q, id));
                        if (q->selected + 1 < q->n_visible)
                                q->selected++;
                }
                return KEY_HANDLED;
        case 't':
                tags_add_visible(q);
                return KEY_HANDLED;
        case 'U':
                tags_clear(q);
                return KEY_HANDLED;
        case 's':
                q->sort = (q->sort + 1) % _SORT_MAX;
                rebuild(q);
                return KEY_HANDLED;
        case '\n':
        case '\r':
        case KEY_ENTER:
                details_open(q);
                return KEY_HANDLED;
        case 'r':
        case KEY_F(5):
                start_load(q);
                return KEY_HANDLED;
        case 'h':
                ask(q, false, QUEUE_ACTION_HOLD);
                return KEY_HANDLED;
        case 'u':
                ask(q, false, QUEUE_ACTION_RELEASE);
                return KEY_HANDLED;
        case 'd':
        case KEY_DC:
                ask(q, false, QUEUE_ACTION_DELETE);
                return KEY_HANDLED;
        case 'R':
                ask(q, false, QUEUE_ACTION_REQUEUE);
                return KEY_HANDLED;
        case 'f':
                ask(q, true, _QUEUE_ACTION_INVALID);
                return KEY_HANDLED;
        case 27:
        case 'q':
                /* Esc clears the filter first, then goes back */
                if (q->filter_text) {
                        filter_clear(q);
                        rebuild(q);
                        return KEY_HANDLED;
                }
                return KEY_IGNORED;
        }
        return KEY_IGNORED;
}

static bool queue_search(Panel *p, const char *text, int dir) {
        QueuePanel *q = (QueuePanel *) p;
        size_t n = q->n_visible;
        if (!n || !text || !*text)
                return false;
        for (size_t step = 1; step <= n; step++) {
                size_t i = dir > 0 ? (q->selected + step) % n : (q->selected + n - step % n) % n;
                if (word_matches(&q->snap.messages[q->visible[i]], text)) {
                        q->selected = i;
                        return true;
                }
        }
        return false;
}

static void queue_filter(Panel *p, const char *text) {
        QueuePanel *q = (QueuePanel *) p;
        filter_apply(q, text);
        rebuild(q);
}

static bool queue_tick(Panel *p) {
        QueuePanel *q = (QueuePanel *) p;
        /* ticks come only while the panel is shown: no reading for a hidden panel; and a
         * large queue is read less often (reading takes at most 2% of the time) */
        uint64_t every = MAX((uint64_t) q->interval * USEC_PER_SEC, 50 * q->load_duration_usec);
        if (!q->loader && (!q->loaded_usec || now_usec() - q->loaded_usec >= every))
                start_load(q);
        return (int64_t) time(NULL) / 60 != q->drawn_minute; /* the ages */
}

static void queue_free(Panel *p) {
        QueuePanel *q = (QueuePanel *) p;
        if (!q)
                return;
        /* their done callbacks see -ECANCELED and touch nothing */
        if (q->loader)
                fiber_cancel(q->loader);
        if (q->actor)
                fiber_cancel(q->actor);
        if (q->shower)
                fiber_cancel(q->shower);
        act_job_free(q->pending);
        confirm_reset(q);
        filter_clear(q);
        tags_clear(q);
        qshape_done(&q->shape);
        queue_summary_done(&q->sum);
        queue_snapshot_done(&q->snap);
        free(q->visible);
        free(q->load_error);
        free(q->status);
        free(q->details_text);
        free(q->details_error);
        sd_event_unref(q->event);
        free(q);
}

int queue_panel_new(sd_event *e, const Settings *settings, unsigned interval, QueuePanelChanged changed,
                    void *userdata, Panel **ret) {
        QueuePanel *q = calloc(1, sizeof(QueuePanel));
        if (!q)
                return -ENOMEM;
        q->panel = (Panel) {
                .name = "queue",
                .title = N_("Queue"),
                .draw = queue_draw,
                .key = queue_key,
                .bar = queue_bar,
                .free = queue_free,
                .tick = queue_tick,
                .search = queue_search,
                .filter = queue_filter,
        };
        q->event = sd_event_ref(e);
        q->settings = settings;
        q->interval = MAX(interval, 1u);
        q->changed = changed;
        q->userdata = userdata;
        start_load(q);
        *ret = &q->panel;
        return 0;
}
