/* Unit tests for cli/context: the option table of every verb, the settings file under the
 * flags, --only/--skip, and the errors a user sees for bad values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "fileio.h"
#include "macro.h"

#define MAX_ARGS 24

/* Parses a NULL-terminated argument list (the verb name is added in front). */
static int parse(CliVerb verb, const char *const *args, CliOptions *ret, char **ret_error) {
        char *argv[MAX_ARGS + 2] = { (char *) (verb == CLI_VERB_CHECK   ? "check"
                                               : verb == CLI_VERB_QUEUE ? "queue"
                                                                        : "records") };
        int argc = 1;

        for (const char *const *a = args; *a; a++) {
                assert_true(argc <= MAX_ARGS);
                argv[argc++] = (char *) *a;
        }
        return cli_options_parse(verb, argc, argv, ret, ret_error);
}

/* A settings file in /tmp with the given text; returns its path (caller unlinks, frees). */
static char *settings_file(const char *text) {
        char *path = strdup("/tmp/test-context-XXXXXX");
        assert_non_null(path);
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        return path;
}

/* An empty settings file: the documented defaults, whatever /etc/mxdeck holds. */
static char *empty_settings;

static int group_setup(void **state) {
        (void) state;
        empty_settings = settings_file("");
        return 0;
}

static int group_teardown(void **state) {
        (void) state;
        unlink(empty_settings);
        free(empty_settings);
        return 0;
}

static void test_parse_errors(void **state) {
        static const struct {
                CliVerb verb;
                const char *args[MAX_ARGS];
                const char *error; /* substring of the message */
        } cases[] = {
                { CLI_VERB_CHECK, { "--bogus" }, "unknown option '--bogus'" },
                { CLI_VERB_CHECK, { "-x" }, "unknown option '-x'" },
                { CLI_VERB_CHECK, { "--format" }, "option '--format' needs a value" },
                { CLI_VERB_CHECK, { "--format", "xml" }, "unknown format 'xml' (text, json, nagios, prometheus)" },
                { CLI_VERB_CHECK, { "--format", "zone" }, "unknown format 'zone'" },
                { CLI_VERB_CHECK, { "--timeout", "0" }, "from 1 to 3600, not '0'" },
                { CLI_VERB_CHECK, { "--timeout", "3601" }, "from 1 to 3600" },
                { CLI_VERB_CHECK, { "--timeout", "5s" }, "from 1 to 3600, not '5s'" },
                { CLI_VERB_CHECK, { "--color", "sometimes" }, "--color takes auto, always or never" },
                { CLI_VERB_CHECK, { "--only", "nonsense" }, "unknown group 'nonsense' in --only" },
                { CLI_VERB_CHECK, { "--only", "tls,nonsense" }, "unknown group 'nonsense' in --only" },
                { CLI_VERB_CHECK, { "--only", "," }, "--only needs at least one group" },
                { CLI_VERB_CHECK, { "--skip", "nonsense" }, "unknown group 'nonsense' in --skip" },
                { CLI_VERB_CHECK, { "--skip", "" }, "--skip needs at least one group" },
                { CLI_VERB_CHECK, { "--port", "smtp" }, "--port wants SERVICE=PORT" },
                { CLI_VERB_CHECK, { "--port", "ftp=21" }, "not 'ftp=21'" },
                { CLI_VERB_CHECK, { "--port", "smtps=0" }, "PORT 1-65535" },
                { CLI_VERB_CHECK, { "--port", "smtps=65536" }, "PORT 1-65535" },
                { CLI_VERB_CHECK, { "--ca-file", "/nonexistent/ca.pem" }, "--ca-file /nonexistent/ca.pem: No such file" },
                { CLI_VERB_CHECK, { "--trust-anchor", "/nonexistent/ta" }, "--trust-anchor /nonexistent/ta: No such" },
                { CLI_VERB_CHECK, { "--selector", "../../etc/passwd" }, "--selector wants a DNS label" },
                { CLI_VERB_CHECK, { "--host", "" }, "--host needs a name" },
                { CLI_VERB_CHECK, { "extra" }, "unexpected argument 'extra'" },
                /* an escape sequence in a value does not reach the terminal through the message */
                { CLI_VERB_CHECK, { "--format", "\033]0;PWN\a" }, "unknown format '" },
                /* options of one verb are not options of another */
                { CLI_VERB_DNS_RECORDS, { "--only", "tls" }, "unknown option '--only'" },
                { CLI_VERB_DNS_RECORDS, { "--format", "json", "--format", "text" }, "unknown format 'text' (zone, json)" },
                { CLI_VERB_DNS_RECORDS, { "--address", "mail.example.org" }, "--address wants an IPv4 or IPv6" },
                { CLI_VERB_DNS_RECORDS, { "--mta-sts=yes" }, "unknown option '--mta-sts=yes'" },
                { CLI_VERB_DNS_RECORDS, { "-v" }, "unknown option '-v'" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL;
                CliOptions o = { .host = (char *) "untouched" };
                int r = parse(cases[i].verb, cases[i].args, &o, &error);
                if (r != -EINVAL || !error || !strstr(error, cases[i].error))
                        fail_msg("case %zu (%s): r=%d error '%s', wanted '%s'", i, cases[i].args[0], r,
                                 strempty(error), cases[i].error);
                if (strchr(error, '\033') || strchr(error, '\a'))
                        fail_msg("case %zu: control character in the message", i);
                assert_string_equal(o.host, "untouched"); /* ret untouched on failure */
        }
}

static void test_parse_values(void **state) {
        static const char *const args[] = {
                "--only", "tls,smtp", "--only", "port", "--skip", "smtp", "--format=json", "-o", "/tmp/report",
                "--host", "mail.example.org", "--timeout", "7", "--color", "never", "--port", "smtps=10465",
                "-v", NULL,
        };
        _cleanup_free_ char *error = NULL;
        CliOptions o;

        (void) state;
        assert_int_equal(parse(CLI_VERB_CHECK, args, &o, &error), 0);
        /* --only and --skip add up when repeated */
        assert_non_null(o.only);
        assert_string_equal(o.only[0], "tls");
        assert_string_equal(o.only[1], "smtp");
        assert_string_equal(o.only[2], "port");
        assert_null(o.only[3]);
        assert_string_equal(o.skip[0], "smtp");
        assert_null(o.skip[1]);
        assert_int_equal(o.format, RENDER_JSON);
        assert_string_equal(o.output, "/tmp/report");
        assert_string_equal(o.host, "mail.example.org");
        assert_int_equal(o.timeout, 7);
        assert_int_equal(o.color, COLOR_NEVER);
        assert_int_equal(o.n_ports, 1);
        assert_string_equal(o.ports[0].service, "smtps");
        assert_int_equal(o.ports[0].port, 10465);
        assert_true(o.verbose);
        assert_false(o.help);
        cli_options_done(&o);

        /* --help stops there, whatever follows */
        static const char *const help[] = { "--help", "--bogus", NULL };
        assert_int_equal(parse(CLI_VERB_DNS_RECORDS, help, &o, &error), 0);
        assert_true(o.help);
        cli_options_done(&o);

        const char *const records[] = {
                "--address", "192.0.2.1", "--address", "2001:db8::1", "--mta-sts", "--format", "json",
                "--selector", "s2025", "--config", "/etc/mxdeck/other.conf", NULL,
        };
        assert_int_equal(parse(CLI_VERB_DNS_RECORDS, records, &o, &error), 0);
        assert_int_equal(o.n_addrs, 2);
        assert_true(o.mta_sts);
        assert_true(o.json);
        assert_string_equal(o.selector, "s2025");
        assert_string_equal(o.config, "/etc/mxdeck/other.conf"); /* read when built */
        cli_options_done(&o);
}

/* Builds a context from args, without asking Postfix for names. */
static int build(const char *const *args, RunContext *ret, char **ret_error) {
        CliOptions o;
        int r = parse(CLI_VERB_CHECK, args, &o, ret_error);
        if (r < 0)
                return r;
        return run_context_build(&o, RUN_CONTEXT_NO_NAME_DEFAULTS, ret, ret_error);
}

static void test_flags_over_settings(void **state) {
        _cleanup_free_ char *path = settings_file("[check]\ntimeout_seconds = 20\n"
                                                  "[dns]\nresolver = 192.0.2.53\ntrust_anchor = /etc/anchor.key\n"
                                                  "[tls]\nexpiry_warning_days = 30\n");
        static const struct {
                const char *args[MAX_ARGS];
                unsigned timeout;
                const char *resolver, *trust_anchor;
        } cases[] = {
                /* the file alone ("@" stands for its path) */
                { { "--config", "@" }, 20, "192.0.2.53", "/etc/anchor.key" },
                /* each flag wins over its key, the others stay */
                { { "--config", "@", "--timeout", "5" }, 5, "192.0.2.53", "/etc/anchor.key" },
                { { "--timeout", "5", "--config", "@" }, 5, "192.0.2.53", "/etc/anchor.key" }, /* order does not matter */
                { { "--config", "@", "--resolver", "198.51.100.1:5353" }, 20, "198.51.100.1:5353", "/etc/anchor.key" },
                { { "--config", "@", "--trust-anchor", "/dev/null" }, 20, "192.0.2.53", "/dev/null" },
                /* an empty file ("-"): the documented defaults */
                { { "--config", "-" }, 10, NULL, NULL },
                { { "--config", "-", "--timeout", "3" }, 3, NULL, NULL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *args[MAX_ARGS + 1] = {};
                _cleanup_free_ char *error = NULL;
                RunContext c;

                for (size_t k = 0; cases[i].args[k]; k++) /* "@": the settings file */
                        args[k] = streq(cases[i].args[k], "@")   ? path
                                : streq(cases[i].args[k], "-") ? empty_settings
                                                               : cases[i].args[k];
                if (build(args, &c, &error) < 0)
                        fail_msg("case %zu: %s", i, strempty(error));
                assert_int_equal(c.settings.timeout_seconds, cases[i].timeout);
                assert_int_equal(c.settings.tls_expiry_warning_days, cases[i].resolver ? 30 : 21);
                assert_true(streq_ptr(c.check.resolver, cases[i].resolver));
                assert_true(streq_ptr(c.check.trust_anchor, cases[i].trust_anchor));
                assert_ptr_equal(c.check.settings, &c.settings);
                run_context_done(&c);
        }
        unlink(path);
}

static void test_bad_settings(void **state) {
        static const struct {
                const char *text; /* NULL: the file does not exist */
                const char *error;
        } cases[] = {
                { NULL, ": No such file or directory" },
                { "[disk]\nwarnig_percent = 20\n", ":2: " },
                { "[tls]\nexpiry_warning_days = soon\n", ":2: " },
                { "[check]\ntimeout_seconds = 0\n", ":2: " },
                { "[dns]\nresolver = not an address\n", ":2: " },
                { "[tls]\nexpiry_warning_days = 3\nexpiry_critical_days = 7\n", "expiry_warning_days" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = settings_file(cases[i].text ? cases[i].text : "");
                _cleanup_free_ char *error = NULL;
                const char *args[] = { "--config", path, "--timeout", "5", NULL };
                RunContext c = { .host = (char *) "untouched" };

                if (!cases[i].text)
                        unlink(path);
                int r = build(args, &c, &error);
                if (r >= 0 || !error || !strstr(error, "bad settings: ") || !strstr(error, path) ||
                    !strstr(error, cases[i].error))
                        fail_msg("case %zu: r=%d error '%s', wanted the file and '%s'", i, r, strempty(error),
                                 cases[i].error);
                assert_string_equal(c.host, "untouched");
                unlink(path);
        }
}

static void test_only_and_skip(void **state) {
        static const struct {
                const char *args[MAX_ARGS];
                const char *groups; /* space-separated; NULL: all (no selection) */
                const char *error;
        } cases[] = {
                { { NULL }, NULL, NULL },
                { { "--only", "tls,smtp" }, "tls smtp", NULL },
                { { "--only", "tls", "--only", "dns" }, "tls dns", NULL },
                /* --skip alone: every group of this build but those */
                { { "--skip", "dns,dnsbl" }, "service config port tls smtp imap pop3 queue log cert system", NULL },
                { { "--skip", "dns", "--skip", "port,tls,smtp,imap,pop3" }, "service config dnsbl queue log cert system", NULL },
                { { "--skip", "cert" }, "service config port tls smtp imap pop3 dns dnsbl queue log system", NULL },
                /* both: --only minus --skip */
                { { "--only", "tls,smtp,imap", "--skip", "smtp" }, "tls imap", NULL },
                { { "--skip", "smtp", "--only", "tls,smtp,imap" }, "tls imap", NULL },
                { { "--only", "tls", "--skip", "dns" }, "tls", NULL },
                { { "--only", "tls", "--skip", "tls" }, NULL, "--skip leaves none of the --only groups to run" },
                { { "--skip", "service,config,port,tls,smtp,imap,pop3,dns,dnsbl,queue,log,cert,system" }, NULL,
                  "--skip leaves no group to run" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *args[MAX_ARGS + 3] = { "--config", empty_settings };
                _cleanup_free_ char *error = NULL, *got = NULL;
                RunContext c;
                size_t size = 0;

                for (size_t k = 0; cases[i].args[k]; k++)
                        args[k + 2] = cases[i].args[k];
                int r = build(args, &c, &error);
                if (cases[i].error) {
                        if (r != -EINVAL || !error || !strstr(error, cases[i].error))
                                fail_msg("case %zu: r=%d error '%s', wanted '%s'", i, r, strempty(error), cases[i].error);
                        continue;
                }
                if (r < 0)
                        fail_msg("case %zu: %s", i, strempty(error));
                assert_ptr_equal(c.check.only, c.groups);
                if (!cases[i].groups)
                        assert_null(c.groups);
                else {
                        FILE *f = open_memstream(&got, &size);
                        assert_non_null(f);
                        for (char **g = c.groups; g && *g; g++)
                                fprintf(f, "%s%s", g == c.groups ? "" : " ", *g);
                        fclose(f);
                        if (!streq(got, cases[i].groups))
                                fail_msg("case %zu: groups '%s', wanted '%s'", i, got, cases[i].groups);
                }
                run_context_done(&c);
        }
}

static void test_names(void **state) {
        const char *const args[] = {
                "--config", empty_settings, "--host", "mail\033]0;PWN\a.example", "--domain", "example.org",
                "--connect", "127.0.0.2", "--port", "imaps=10993", NULL,
        };
        _cleanup_free_ char *error = NULL;
        RunContext c;

        (void) state;
        assert_int_equal(build(args, &c, &error), 0);
        /* flags are kept, made terminal-safe, and reach the probes' context */
        assert_non_null(c.host);
        assert_null(strchr(c.host, '\033'));
        assert_null(strchr(c.host, '\a'));
        assert_non_null(strstr(c.host, "mail"));
        assert_ptr_equal(c.check.host, c.host);
        assert_true(c.check.host_from_flag);
        assert_string_equal(c.check.domain, "example.org");
        assert_string_equal(c.check.connect, "127.0.0.2");
        assert_int_equal(c.check.n_ports, 1);
        assert_ptr_equal(c.check.ports, c.opt.ports);
        assert_int_equal(c.check.ports[0].port, 10993);
        run_context_done(&c);

        /* without the flags and without asking Postfix, there are no names */
        const char *const none[] = { "--config", empty_settings, NULL };
        assert_int_equal(build(none, &c, &error), 0);
        assert_null(c.host);
        assert_null(c.domain);
        assert_false(c.check.host_from_flag);
        run_context_done(&c);
}

/* The dashboard's names, asked after its first frame: the same as asked at once. */
static void test_names_later(void **state) {
        const char *const none[] = { "--config", empty_settings, NULL };
        _cleanup_free_ char *error = NULL;
        CliOptions o;
        RunContext now, later;

        (void) state;
        assert_int_equal(parse(CLI_VERB_MONITOR, none, &o, &error), 0);
        assert_int_equal(run_context_build(&o, 0, &now, &error), 0);
        assert_int_equal(parse(CLI_VERB_MONITOR, none, &o, &error), 0);
        assert_int_equal(run_context_build(&o, RUN_CONTEXT_NAMES_LATER, &later, &error), 0);
        /* not asked yet */
        assert_null(later.host);
        assert_null(later.domain);
        assert_null(later.check.host);
        assert_true(later.names_pending);
        assert_int_equal(run_context_default_names(&later), 0);
        assert_false(later.names_pending);
        /* Postfix's names (or the node name for the host, as for check) */
        assert_non_null(now.host);
        assert_non_null(later.host);
        assert_string_equal(later.host, now.host);
        assert_ptr_equal(later.check.host, later.host);
        if (now.domain)
                assert_string_equal(later.domain, now.domain);
        else
                assert_null(later.domain);
        assert_ptr_equal(later.check.domain, later.domain);
        assert_false(deadline_is_set(later.check.deadline)); /* the bound was for the asking only */
        /* once: a second call changes nothing */
        char *host = later.host;
        assert_int_equal(run_context_default_names(&later), 0);
        assert_ptr_equal(later.host, host);
        run_context_done(&now);
        run_context_done(&later);

        /* a flag wins; NO_NAME_DEFAULTS wins over NAMES_LATER */
        const char *const flagged[] = { "--config", empty_settings, "--host", "mx.example.org", NULL };
        assert_int_equal(parse(CLI_VERB_MONITOR, flagged, &o, &error), 0);
        assert_int_equal(run_context_build(&o, RUN_CONTEXT_NAMES_LATER, &later, &error), 0);
        assert_int_equal(run_context_default_names(&later), 0);
        assert_string_equal(later.check.host, "mx.example.org");
        run_context_done(&later);
        assert_int_equal(parse(CLI_VERB_MONITOR, none, &o, &error), 0);
        assert_int_equal(run_context_build(&o, RUN_CONTEXT_NAMES_LATER | RUN_CONTEXT_NO_NAME_DEFAULTS, &later, &error), 0);
        assert_int_equal(run_context_default_names(&later), 0);
        assert_null(later.host);
        run_context_done(&later);
}

static void test_color(void **state) {
        static const struct {
                ColorWhen when;
                bool tty;
                const char *no_color;
                bool color;
        } cases[] = {
                { COLOR_AUTO, true, NULL, true },   { COLOR_AUTO, false, NULL, false },
                { COLOR_AUTO, true, "1", false },   { COLOR_AUTO, true, "", true }, /* empty NO_COLOR: ignored */
                { COLOR_ALWAYS, false, "1", true }, { COLOR_NEVER, true, NULL, false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (cli_color_wanted(cases[i].when, cases[i].tty, cases[i].no_color) != cases[i].color)
                        fail_msg("case %zu", i);
}

/* queue: the command first, then the shared table; --sender ADDR or a switch (shape). */
static void test_queue(void **state) {
        CliOptions o;
        char *error = NULL;

        static const char *const list[] = { "list", "--sender", "a@b.example", "--queue", "deferred", "--queue", "hold",
                                            "--domain", ".example", "--older-than", "2h", "--reason", "refused",
                                            "--format", "json", "--config", "/dev/null", NULL };
        assert_int_equal(parse(CLI_VERB_QUEUE, list, &o, &error), 0);
        assert_int_equal(o.queue.command, CLI_QUEUE_LIST);
        assert_string_equal(o.queue.filter.sender, "a@b.example");
        assert_string_equal(o.queue.filter.domain, ".example"); /* queue's --domain: a filter */
        assert_null(o.domain);
        assert_int_equal(o.queue.filter.queues, (1u << QUEUE_DEFERRED) | (1u << QUEUE_HOLD));
        assert_int_equal(o.queue.filter.older_than_s, 7200);
        assert_true(o.queue.filter.has_reason);
        assert_true(o.json);
        assert_string_equal(o.config, "/dev/null");
        assert_int_equal(o.queue.n_ids, 0);
        cli_options_done(&o);

        static const char *const shape[] = { "shape", "--sender", "--parent", "--linear", "--tick", "10", "--buckets",
                                             "6", NULL };
        assert_int_equal(parse(CLI_VERB_QUEUE, shape, &o, &error), 0);
        assert_int_equal(o.queue.command, CLI_QUEUE_SHAPE);
        assert_true(o.queue.shape_sender);
        assert_null(o.queue.filter.sender);
        assert_true(o.queue.shape.parent && o.queue.shape.linear);
        assert_int_equal(o.queue.shape.tick_minutes, 10);
        assert_int_equal(o.queue.shape.n_buckets, 6);
        cli_options_done(&o);

        static const char *const act[] = { "delete", "-n", "ABCDEF123", "--yes", "BCDEF1234", NULL };
        assert_int_equal(parse(CLI_VERB_QUEUE, act, &o, &error), 0);
        assert_int_equal(o.queue.command, CLI_QUEUE_ACTION);
        assert_int_equal(o.queue.action, QUEUE_ACTION_DELETE);
        assert_true(o.queue.dry_run && o.queue.yes);
        assert_int_equal(o.queue.n_ids, 2);
        assert_string_equal(o.queue.ids[0], "ABCDEF123");
        assert_string_equal(o.queue.ids[1], "BCDEF1234");
        cli_options_done(&o);

        static const char *const src[] = { "--input", "-", "--source", "files", NULL };
        assert_int_equal(parse(CLI_VERB_QUEUE, src, &o, &error), 0);
        assert_int_equal(o.queue.command, CLI_QUEUE_SUMMARY);
        assert_int_equal(o.queue.source, QUEUE_SOURCE_INPUT); /* --input wins */
        assert_string_equal(o.queue.input, "-");
        cli_options_done(&o);

        static const struct {
                const char *args[4];
                const char *error;
        } bad[] = {
                { { "bogus" }, "unknown command 'bogus'" },
                { { "list", "--queue", "nowhere" }, "unknown queue 'nowhere' (maildrop, incoming, active, deferred, hold, corrupt)" },
                { { "list", "--sender=" }, "--sender needs an address" },
                { { "list", "--tick", "0" }, "--tick wants minutes from 1 to 100000, not '0'" },
                { { "list", "--format", "zone" }, "unknown format 'zone' (text, json)" },
                { { "flush", "--site", "-s" }, "--site wants a domain or [address]" },
                { { "list", "--source", "input" }, "--source takes auto, files, postqueue or postqueue-p, not 'input'" },
                { { "list", "--host", "x" }, "unknown option '--host'" }, /* check's options are not queue's */
                { { "list", "--reason", "(" }, "--reason: '(' is not a valid extended regular expression" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(parse(CLI_VERB_QUEUE, bad[i].args, &o, &error), -EINVAL);
                assert_string_equal(error, bad[i].error);
                free(error);
                error = NULL;
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_values),
                cmocka_unit_test(test_flags_over_settings),
                cmocka_unit_test(test_bad_settings),
                cmocka_unit_test(test_only_and_skip),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_names_later),
                cmocka_unit_test(test_color),
                cmocka_unit_test(test_queue),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
