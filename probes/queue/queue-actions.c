/* Queue actions through postsuper / postqueue: argv only, ids on stdin, re-checked first. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "queue-actions.h"
#include "subprocess.h"
#include "termsafe.h"

static const struct {
        const char *name, *flag;
        bool destructive;
} actions[_QUEUE_ACTION_MAX] = {
        [QUEUE_ACTION_HOLD] = { "hold", "-h", false },
        [QUEUE_ACTION_RELEASE] = { "release", "-H", false },
        [QUEUE_ACTION_DELETE] = { "delete", "-d", true },
        [QUEUE_ACTION_REQUEUE] = { "requeue", "-r", false },
        [QUEUE_ACTION_EXPIRE] = { "expire", "-f", true },
};

const char *queue_action_to_string(QueueAction a) {
        return a >= 0 && a < _QUEUE_ACTION_MAX ? actions[a].name : NULL;
}

QueueAction queue_action_from_string(const char *s) {
        for (int i = 0; i < _QUEUE_ACTION_MAX; i++)
                if (streq(s, actions[i].name))
                        return (QueueAction) i;
        return _QUEUE_ACTION_INVALID;
}

bool queue_action_is_destructive(QueueAction a) {
        return a >= 0 && a < _QUEUE_ACTION_MAX && actions[a].destructive;
}

const char *queue_action_postsuper_flag(QueueAction a) {
        return a >= 0 && a < _QUEUE_ACTION_MAX ? actions[a].flag : NULL;
}

bool queue_id_is_valid(const char *id) {
        size_t n = strlen(id);
        /* postsuper treats the word ALL as every message: never let it through */
        return n >= 6 && n <= 64 && strcasecmp(id, "ALL") != 0 &&
               strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

void queue_action_result_done(QueueActionResult *r) {
        if (!r)
                return;
        strv_free(r->gone);
        free(r->output);
        *r = (QueueActionResult) {};
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* postsuper ends with "postsuper: Deleted: 3 messages" (or "1 message"); the number of the
 * last such line. */
static long postsuper_count(const char *out) {
        long count = -1;
        for (const char *p = out; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                const char *m = memmem(p, n, " message", 8);
                if (m) {
                        const char *d = m;
                        while (d > p && isdigit((unsigned char) d[-1]))
                                d--;
                        if (d < m && d > p && d[-1] == ' ')
                                count = strtol(d, NULL, 10);
                }
                p = nl ? nl + 1 : NULL;
        }
        return count;
}

int queue_action_run(QueueAction a, char *const *ids, size_t n_ids, const QueueSourceOptions *recheck,
                     QueueActionResult *ret, char **ret_error) {
        QueueActionResult res = { .affected = -1 };
        QueueSnapshot now = {};
        _cleanup_free_ char **current = NULL;
        _cleanup_free_ char *input = NULL;
        size_t input_size = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (a < 0 || a >= _QUEUE_ACTION_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_ids; i++)
                if (!queue_id_is_valid(ids[i])) {
                        if (ret_error)
                                *ret_error = termsafe_strdup(ids[i], 0);
                        return -EINVAL;
                }
        res.requested = n_ids;

        /* the re-check: a fresh look at the queue just before acting */
        QueueSourceOptions o = *recheck;
        o.reasons = false;
        r = queue_load(&o, &now, NULL, ret_error);
        if (r < 0)
                return r;
        current = calloc(now.n ? now.n : 1, sizeof(char *));
        res.gone = calloc(n_ids + 1, sizeof(char *));
        input = malloc(n_ids * 65 + 1);
        if (!current || !res.gone || !input) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < now.n; i++)
                current[i] = now.messages[i].queue_id;
        qsort(current, now.n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n_ids; i++) {
                const char *id = ids[i];
                if (!now.n || !bsearch(&id, current, now.n, sizeof(char *), cmp_str)) {
                        res.gone[res.n_gone] = strdup(id);
                        if (!res.gone[res.n_gone++]) {
                                r = -ENOMEM;
                                goto out;
                        }
                        continue;
                }
                size_t l = strlen(id);
                memcpy(input + input_size, id, l);
                input_size += l;
                input[input_size++] = '\n';
                res.sent++;
        }

        if (res.sent > 0) {
                const char *argv[] = { "postsuper", actions[a].flag, "-", NULL };
                SpawnOptions so = {
                        .argv = argv,
                        .input = input,
                        .input_size = input_size,
                        .timeout_ms = recheck->timeout_ms ? recheck->timeout_ms * 4 : 120000,
                        .merge_stderr = true,
                        .max_output = 1024 * 1024,
                };
                SpawnResult sr = {};

                r = spawn_run(&so, &sr);
                if (r < 0) {
                        if (ret_error)
                                *ret_error = termsafe_strdup(strerror(-r), 0);
                        goto out;
                }
                if (termsafe_dup(sr.out, sr.out_size, TERMSAFE_KEEP_NEWLINE, &res.output) < 0) {
                        spawn_result_done(&sr);
                        r = -ENOMEM;
                        goto out;
                }
                res.affected = postsuper_count(res.output);
                r = spawn_result_ok(&sr) ? 0 : -EIO;
                if (r < 0 && ret_error)
                        *ret_error = strdup(sr.timed_out ? _("postsuper did not finish in time")
                                                         : _("postsuper failed"));
                spawn_result_done(&sr);
        }
out:
        queue_snapshot_done(&now);
        if (r == -ENOMEM) {
                queue_action_result_done(&res);
                return r;
        }
        *ret = res;
        return r;
}

int queue_flush(const char *site, char **ret_output, char **ret_error) {
        const char *argv[] = { "postqueue", site ? "-s" : "-f", site, NULL };
        SpawnOptions so = { .argv = argv, .merge_stderr = true, .max_output = 256 * 1024 };
        SpawnResult sr = {};
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = spawn_run(&so, &sr);
        if (r < 0) {
                if (ret_error)
                        *ret_error = termsafe_strdup(strerror(-r), 0);
                return r;
        }
        r = termsafe_dup(sr.out, sr.out_size, TERMSAFE_KEEP_NEWLINE, ret_output);
        if (r >= 0 && !spawn_result_ok(&sr)) {
                r = -EIO;
                if (ret_error)
                        *ret_error = strdup(_("postqueue failed"));
        }
        spawn_result_done(&sr);
        return r;
}

int queue_show_message(const char *id, size_t max_output, Deadline deadline, bool keep_tabs, char **ret_text,
                       bool *ret_truncated, char **ret_error) {
        const char *argv[] = { "postcat", "-q", id, NULL };
        SpawnOptions so = { .argv = argv, .max_output = max_output, .timeout_ms = 30000, .deadline = deadline };
        SpawnResult sr = {};
        _cleanup_free_ char *err = NULL;
        int r;

        *ret_error = NULL;
        if (!queue_id_is_valid(id))
                return -EINVAL;
        r = spawn_run(&so, &sr);
        if (r < 0) {
                *ret_error = termsafe_strdup(strerror(-r), 0);
                return r;
        }
        r = termsafe_dup(sr.out, sr.out_size, TERMSAFE_KEEP_NEWLINE | (keep_tabs ? TERMSAFE_KEEP_TAB : 0), ret_text);
        if (r >= 0)
                r = termsafe_dup(sr.err, sr.err_size, 0, &err);
        if (r < 0) {
                spawn_result_done(&sr);
                free(*ret_text);
                *ret_text = NULL;
                return r;
        }
        *ret_truncated = sr.out_truncated;
        if (!spawn_result_ok(&sr)) {
                r = sr.timed_out ? -ETIMEDOUT : -EIO;
                *ret_error = TAKE_PTR(err);
        }
        spawn_result_done(&sr);
        return r;
}
