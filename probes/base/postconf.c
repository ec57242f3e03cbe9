/* postconf / doveconf wrappers. Their output is outside data: bounded and terminal-safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "postconf.h"
#include "termsafe.h"

#define PROBE_MAX_OUTPUT (1024 * 1024)

/* Postfix's tools end a fatal error with a one-second sleep (msg_fatal, against restart
 * loops), and without main.cf (the "No configuration" install) every one of them but
 * `postconf -d` dies that way: a check suite running a few in a row would spend its whole
 * deadline waiting. Where main.cf is missing, the tool's own fatal line is the answer,
 * given at once. */
#define POSTFIX_MAIN_CF "/etc/postfix/main.cf"

static bool needs_main_cf(const char *const *argv) {
        static const char *const tools[] = { "postconf", "postqueue", "postfix", "postsuper", "postcat" };
        bool tool = false;
        for (size_t i = 0; i < ELEMENTSOF(tools) && !tool; i++)
                tool = streq(argv[0], tools[i]);
        if (!tool)
                return false;
        for (size_t i = 1; argv[i]; i++)
                if (streq(argv[0], "postconf") && argv[i][0] == '-' && strchr(argv[i], 'd'))
                        return false;
        return true;
}

static int main_cf_missing(const SpawnOptions *o, SpawnResult *ret) {
        char *said = NULL;
        *ret = (SpawnResult) { .exited = true, .exit_status = 1 };
        if (asprintf(&said, "%s: fatal: open %s: No such file or directory\n", o->argv[0], POSTFIX_MAIN_CF) < 0)
                return -ENOMEM;
        char *empty = strdup("");
        if (!empty) {
                free(said);
                return -ENOMEM;
        }
        bool merged = o->merge_stderr || o->terminal;
        ret->out = merged ? said : empty;
        ret->out_size = merged ? strlen(said) : 0;
        ret->err = merged ? empty : said;
        ret->err_size = merged ? 0 : strlen(said);
        return 0;
}

int probe_spawn(const SpawnOptions *o, SpawnResult *ret) {
        if (needs_main_cf(o->argv) && access(POSTFIX_MAIN_CF, F_OK) < 0 && errno == ENOENT) {
                /* not installed stays -ENOENT, as spawn_run says it */
                _cleanup_free_ char *bin = spawn_find_program(o->argv[0]);
                if (bin)
                        return main_cf_missing(o, ret);
        }
        return spawn_run(o, ret);
}

int probe_run_ms(const CheckContext *ctx, const char *const *argv, unsigned timeout_ms, SpawnResult *ret) {
        SpawnOptions o = {
                .argv = argv,
                .timeout_ms = MAX(timeout_ms, 1u),
                /* Never past the run's deadline, however many tools a check runs. */
                .deadline = ctx ? ctx->deadline : DEADLINE_NONE,
                .max_output = PROBE_MAX_OUTPUT,
        };
        return probe_spawn(&o, ret);
}

int probe_run(const CheckContext *ctx, const char *const *argv, SpawnResult *ret) {
        return probe_run_ms(ctx, argv, (ctx && ctx->settings ? ctx->settings->timeout_seconds : 10) * 1000u, ret);
}

/* The most telling line of a tool's complaint: the first fatal/error line, else the first. */
static char *first_message(const char *out, size_t size) {
        static const char *const markers[] = { "fatal:", "Fatal:", "error:", "Error:", "panic:" };
        const char *best = NULL;
        char *ret = NULL;

        for (size_t m = 0; m < ELEMENTSOF(markers) && !best; m++) {
                const char *p = memmem(out, size, markers[m], strlen(markers[m]));
                if (p) {
                        while (p > out && p[-1] != '\n')
                                p--;
                        best = p;
                }
        }
        if (!best)
                best = out;
        size_t left = size - (size_t) (best - out);
        const char *nl = memchr(best, '\n', left);
        if (termsafe_dup(best, nl ? (size_t) (nl - best) : left, 0, &ret) < 0)
                return NULL;
        return ret;
}

static int tool_failed(const SpawnResult *s, const char *what, char **ret_error) {
        if (!ret_error)
                return -EINVAL;
        if (s->timed_out) {
                *ret_error = NULL;
                return asprintf(ret_error, _("%s timed out"), what) < 0 ? -ENOMEM : -ETIMEDOUT;
        }
        if (s->err_size > 0)
                *ret_error = first_message(s->err, s->err_size);
        else if (s->out_size > 0)
                *ret_error = first_message(s->out, s->out_size);
        else if (asprintf(ret_error, _("%s failed with status %d"), what, s->exit_status) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

/* Runs a tool that must succeed: on success *s is filled (caller releases it); on failure
 * the tool's own complaint goes to *ret_error and nothing is left to release. */
static int run_ok(const CheckContext *ctx, const char *const *argv, const char *what, SpawnResult *s,
                  char **ret_error) {
        int r = probe_run(ctx, argv, s);
        if (r < 0)
                return r;
        if (!spawn_result_ok(s)) {
                r = tool_failed(s, what, ret_error);
                spawn_result_done(s);
                return r;
        }
        return 0;
}

int postconf_split_lines(const char *s, size_t size, char ***ret) {
        size_t n = 0, cap = 8;
        char **v = calloc(cap + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = s; p < s + size;) {
                const char *nl = memchr(p, '\n', (size_t) (s + size - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (s + size - p);
                if (n == cap) {
                        char **t = reallocarray(v, cap * 2 + 1, sizeof(char *));
                        if (!t) {
                                strv_free(v);
                                return -ENOMEM;
                        }
                        v = t;
                        cap *= 2;
                }
                if (termsafe_dup(p, len, 0, &v[n]) < 0) {
                        v[n] = NULL;
                        strv_free(v);
                        return -ENOMEM;
                }
                v[++n] = NULL;
                p += len + 1;
        }
        v[n] = NULL;
        *ret = v;
        return 0;
}

int postconf_get(const CheckContext *ctx, const char *const *names, char ***ret, char **ret_error) {
        const char *argv[64] = { "postconf", "-h", "-x" };
        size_t n = 3, want = 0;
        SpawnResult s;
        int r;

        for (; names[want]; want++) {
                if (n + 1 >= ELEMENTSOF(argv))
                        return -E2BIG;
                argv[n++] = names[want];
        }
        argv[n] = NULL;

        r = run_ok(ctx, argv, "postconf", &s, ret_error);
        if (r < 0)
                return r;
        char **v = NULL;
        r = postconf_split_lines(s.out, s.out_size, &v);
        spawn_result_done(&s);
        if (r < 0)
                return r;
        size_t got = 0;
        while (v[got])
                got++;
        if (got != want) {
                strv_free(v);
                if (ret_error && asprintf(ret_error, _("postconf printed %zu values for %zu names"), got, want) < 0)
                        *ret_error = NULL;
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

int postconf_overrides(const CheckContext *ctx, char ***ret, char **ret_error) {
        const char *argv[] = { "postconf", "-P", "-x", NULL };
        SpawnResult s;
        int r = run_ok(ctx, argv, "postconf -P", &s, ret_error);
        if (r < 0)
                return r;
        r = postconf_split_lines(s.out, s.out_size, ret);
        spawn_result_done(&s);
        return r;
}

int doveconf_get(const CheckContext *ctx, const char *name, char **ret, char **ret_error) {
        const char *argv[] = { "doveconf", "-h", name, NULL };
        SpawnResult s;
        int r = run_ok(ctx, argv, "doveconf", &s, ret_error);
        if (r < 0)
                return r;
        size_t len = s.out_size;
        while (len > 0 && (s.out[len - 1] == '\n' || s.out[len - 1] == '\r'))
                len--;
        r = termsafe_dup(s.out, len, 0, ret);
        spawn_result_done(&s);
        return r;
}

char *install_remedy(const CheckContext *ctx, const char *packages) {
        char *s;
        if (asprintf(&s, "%s %s", distro_install_command(ctx ? ctx->family : DISTRO_UNKNOWN), packages) < 0)
                return NULL;
        return s;
}

int postfix_list_split(const char *value, char ***ret) {
        size_t n = 0;
        char **v = calloc(strlen(value) / 2 + 2, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = value; *p;) {
                p += strspn(p, ", \t\r\n");
                size_t len = strcspn(p, ", \t\r\n");
                if (len == 0)
                        break;
                v[n] = strndup(p, len);
                if (!v[n]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                n++;
                p += len;
        }
        v[n] = NULL;
        *ret = v;
        return 0;
}
