/* Renderers against golden files in tests/data/render/, plus structural checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "finding.h"
#include "macro.h"
#include "render.h"

/* A report that exercises every corner: all statuses, metrics with and without
 * thresholds, a repeated id, multi-line detail, CJK text, hostile bytes, characters that
 * need escaping in each format. */
static void build(FindingList *l) {
        Finding *f;
        Metric *m;

        f = findings_addf(l, "service.postfix", "postfix.service", STATUS_OK, "Postfix is running (pid 812)");
        assert_non_null(f);
        assert_int_equal(finding_set_detail(f, "master process 812 found via /var/spool/postfix/pid/master.pid"), 0);

        f = findings_addf(l, "config.postfix", "/etc/postfix/main.cf", STATUS_CRITICAL,
                          "postfix check failed: postfix: fatal: open /etc/postfix/main.cf: No such file or directory");
        assert_non_null(f);
        assert_int_equal(finding_set_detail(f, "postfix: fatal: open /etc/postfix/main.cf: No such file or directory\n"
                                               "second line | with a pipe"), 0);
        assert_int_equal(finding_set_remedy(f, "Create main.cf.\nThen run 'postfix check'."), 0);

        f = findings_addf(l, "tls.submission.expiry", "127.0.0.1:587", STATUS_WARNING, "certificate expires in 9 days");
        assert_non_null(f);
        m = finding_add_metric(f, "days_left", 9, "");
        assert_non_null(m);
        metric_set_floors(m, true, 21, true, 7);
        m->scope = METRIC_NOT_PROMETHEUS;
        m = finding_add_metric(f, "seconds_left", 9 * 86400 + 3600, "s");
        assert_non_null(m);
        m->scope = METRIC_PROMETHEUS_ONLY;
        m = finding_add_metric(f, "handshake_ms", 12.5, "ms");
        assert_non_null(m);
        metric_set_thresholds(m, true, 500, true, 2000);
        assert_int_equal(finding_set_remedy(f, "Renew it, then reload both daemons."), 0);
        assert_int_equal(finding_add_command(f, "certbot renew"), 0);
        assert_int_equal(finding_add_command(f, "systemctl reload postfix dovecot"), 0);

        f = findings_addf(l, "system.disk", "/var/spool/postfix", STATUS_OK, "mail queue: 12.0 GiB free (42%%) on /");
        assert_non_null(f);
        m = finding_add_metric(f, "disk_free_percent", 42.25, "%");
        metric_set_floors(m, true, 15, true, 5);
        metric_set_range(m, true, 0, true, 100);
        assert_non_null(finding_add_metric(f, "disk_free_bytes", 12884901888.0, "B"));

        f = findings_addf(l, "system.disk", "/home/\"quoted\"\\dir", STATUS_OK, "邮件存储：剩余 80%%");
        assert_non_null(f);
        m = finding_add_metric(f, "disk_free_percent", 80, "%");
        metric_set_floors(m, true, 15, true, 5);
        metric_set_range(m, true, 0, true, 100);
        assert_non_null(finding_add_metric(f, "disk_free_bytes", 1024, "B"));

        f = findings_addf(l, "config.relay", "/etc/postfix/main.cf", STATUS_UNKNOWN,
                          "cannot read Postfix settings: \033[31mred\033[0m banner\a");
        assert_non_null(f);
}

/* The listener suite on a host where Postfix is down: ports that refuse, the checks behind
 * them unknown and marked as depending on the port. Plus what must not fold: a dependent
 * whose port finding is absent or has another target, and one that was judged after all. */
static void build_folded(FindingList *l) {
        static const char *const tls[] = { "handshake", "expiry", "name", "chain", "protocol" };
        static const struct {
                const char *svc, *target, *why;
                bool smtp;
        } ports[] = {
                { "smtp", "127.0.0.1:25", "port 25 refused the connection", true },
                { "smtps", "127.0.0.1:465", "port 465 refused the connection", false },
        };
        char id[64], port[32];
        Finding *f;

        f = findings_addf(l, "service.postfix", "postfix.service", STATUS_CRITICAL, "Postfix is not running");
        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                snprintf(port, sizeof(port), "port.%s", ports[i].svc);
                f = findings_addf(l, port, ports[i].target, STATUS_CRITICAL, "%s refuses connections", ports[i].svc);
                assert_non_null(f);
                assert_int_equal(finding_set_remedy(f, "postfix start"), 0);
        }
        /* the same port on a second address answers: nothing depends on it */
        assert_non_null(findings_addf(l, "port.smtps", "[::1]:465", STATUS_OK, "smtps answers"));
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                snprintf(port, sizeof(port), "port.%s", ports[i].svc);
                for (size_t k = 0; k < ELEMENTSOF(tls); k++) {
                        snprintf(id, sizeof(id), "tls.%s.%s", ports[i].svc, tls[k]);
                        f = findings_addf(l, id, ports[i].target, STATUS_UNKNOWN, "not tested: %s", ports[i].why);
                        assert_non_null(f);
                        assert_int_equal(finding_set_depends_on(f, port, ports[i].why), 0);
                }
        }
        static const char *const smtp[] = { "smtp.open-relay", "smtp.starttls", "smtp.auth-before-tls" };
        for (size_t k = 0; k < ELEMENTSOF(smtp); k++) {
                f = findings_addf(l, smtp[k], "127.0.0.1:25", STATUS_UNKNOWN, "not tested: port 25 refused the connection");
                assert_non_null(f);
                assert_int_equal(finding_set_depends_on(f, "port.smtp", "port 25 refused the connection"), 0);
        }
        /* no port.imaps finding at all (--only tls): shown as it is */
        f = findings_addf(l, "tls.imaps.handshake", "127.0.0.1:993", STATUS_UNKNOWN, "not tested: port 993 refused the connection");
        assert_non_null(f);
        assert_int_equal(finding_set_depends_on(f, "port.imaps", "port 993 refused the connection"), 0);
        /* another target than the port finding's: shown */
        f = findings_addf(l, "tls.smtp.handshake", "[::1]:25", STATUS_UNKNOWN, "not tested: no port.smtp for [::1]");
        assert_non_null(f);
        assert_int_equal(finding_set_depends_on(f, "port.smtp", "no port.smtp for [::1]"), 0);
        /* its port finding is fine (cannot happen, but the cause must be in sight): shown */
        f = findings_addf(l, "tls.smtps.handshake", "[::1]:465", STATUS_UNKNOWN, "not tested: odd");
        assert_non_null(f);
        assert_int_equal(finding_set_depends_on(f, "port.smtps", "odd"), 0);
        /* judged after all: a result is never hidden */
        f = findings_addf(l, "tls.smtps.protocol", "[::1]:465", STATUS_WARNING, "smtps still accepts TLS 1.0");
        assert_non_null(f);
        assert_int_equal(finding_set_depends_on(f, "port.smtps", "odd"), 0);
}

static char *render_to_string(RenderFormat fmt, const FindingList *l, const RenderOptions *o) {
        char *buf = NULL;
        size_t size = 0;
        FILE *mem = open_memstream(&buf, &size);
        assert_non_null(mem);
        Report r = {
                .host = "mail.example.test",
                .domain = "example.test",
                .started_usec = INT64_C(1795326000) * 1000000, /* 2026-11-22T05:40:00Z */
                .duration_ms = 812,
                .findings = l,
        };
        assert_int_equal(render_report(mem, fmt, &r, o), 0);
        assert_int_equal(fclose(mem), 0);
        return buf;
}

static void compare_golden(const char *name, const char *got) {
        const char *dir = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *path = NULL, *want = NULL;
        size_t size;

        assert_non_null(dir);
        assert_true(asprintf(&path, "%s/render/%s", dir, name) > 0);
        if (getenv("MXDECK_UPDATE_GOLDEN")) {
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fputs(got, f);
                fclose(f);
        }
        assert_int_equal(read_file_bounded(path, 1 << 20, &want, &size), 0);
        if (!streq(want, got)) {
                fprintf(stderr, "golden mismatch for %s\n--- want\n%s\n--- got\n%s\n", name, want, got);
                fail();
        }
}

static void test_golden(void **state) {
        static const struct {
                RenderFormat format;
                bool color, verbose;
                const char *golden;
        } cases[] = {
                { RENDER_TEXT, false, false, "report.txt" },
                { RENDER_TEXT, false, true, "report-verbose.txt" },
                { RENDER_TEXT, true, false, "report-color.txt" },
                { RENDER_JSON, false, false, "report.json" },
                { RENDER_NAGIOS, false, false, "report.nagios" },
                { RENDER_PROMETHEUS, false, false, "report.prom" },
        };
        FindingList l = {};
        build(&l);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                RenderOptions o = { .color = cases[i].color, .verbose = cases[i].verbose };
                _cleanup_free_ char *out = render_to_string(cases[i].format, &l, &o);
                compare_golden(cases[i].golden, out);
        }
        findings_done(&l);
}

static void test_golden_folded(void **state) {
        static const struct {
                RenderFormat format;
                bool verbose;
                const char *golden;
        } cases[] = {
                { RENDER_TEXT, false, "folded.txt" },
                { RENDER_TEXT, true, "folded-verbose.txt" },
                { RENDER_JSON, false, "folded.json" },
                { RENDER_NAGIOS, false, "folded.nagios" },
                { RENDER_PROMETHEUS, false, "folded.prom" },
        };
        FindingList l = {};
        build_folded(&l);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                RenderOptions o = { .verbose = cases[i].verbose };
                _cleanup_free_ char *out = render_to_string(cases[i].format, &l, &o);
                compare_golden(cases[i].golden, out);
        }
        findings_done(&l);
}

/* The text folds; every other format keeps each finding. */
static void test_folding(void **state) {
        FindingList l = {};
        build_folded(&l);
        size_t n_unknown = 0;
        for (size_t i = 0; i < l.n; i++)
                n_unknown += l.items[i].status == STATUS_UNKNOWN;

        _cleanup_free_ char *text = render_to_string(RENDER_TEXT, &l, NULL);
        assert_non_null(strstr(text, "  5 TLS checks not run: port 465 refused the connection\n"));
        assert_non_null(strstr(text, "  5 TLS checks not run: port 25 refused the connection\n"));
        assert_non_null(strstr(text, "  3 SMTP checks not run: port 25 refused the connection\n"));
        assert_null(strstr(text, "tls.smtp.expiry"));
        assert_null(strstr(text, "smtp.open-relay"));
        assert_non_null(strstr(text, "tls.imaps.handshake")); /* its port finding is absent */
        assert_non_null(strstr(text, "tls.smtps.protocol"));  /* judged */
        assert_non_null(strstr(text, "tls.smtp.handshake   not tested: no port.smtp for [::1]")); /* other target */
        assert_non_null(strstr(text, "tls.smtps.handshake  not tested: odd")); /* its port is ok */
        assert_non_null(strstr(text, "(13 not run, folded under the findings they depend on; -v lists them)\n"));
        /* no "smtp" heading is left empty: all its findings folded */
        assert_null(strstr(text, "\nsmtp\n"));

        _cleanup_free_ char *json = render_to_string(RENDER_JSON, &l, NULL);
        json_t *root = json_loads(json, 0, NULL);
        assert_non_null(root);
        assert_int_equal(json_array_size(json_object_get(root, "findings")), l.n);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "counts"), "unknown")), n_unknown);
        json_decref(root);

        _cleanup_free_ char *prom = render_to_string(RENDER_PROMETHEUS, &l, NULL);
        size_t n_status = 0;
        for (const char *p = prom; (p = strstr(p, "\nmxdeck_check_status{")); p++)
                n_status++;
        assert_int_equal(n_status, l.n);

        _cleanup_free_ char *nagios = render_to_string(RENDER_NAGIOS, &l, NULL);
        assert_non_null(strstr(nagios, "smtp.open-relay"));
        assert_non_null(strstr(nagios, "tls.smtps.chain"));

        /* verbose lists each one */
        RenderOptions o = { .verbose = true };
        _cleanup_free_ char *verbose = render_to_string(RENDER_TEXT, &l, &o);
        assert_non_null(strstr(verbose, "tls.smtp.expiry"));
        assert_null(strstr(verbose, "checks not run"));
        findings_done(&l);
}

static void test_depends_on(void **state) {
        FindingList l = {};
        Finding *f = findings_addf(&l, "tls.smtps.expiry", "127.0.0.1:465", STATUS_UNKNOWN, "not tested");
        assert_non_null(f);
        assert_int_equal(finding_set_depends_on(f, "not an id", "x"), -EINVAL);
        assert_null(f->depends_on);
        assert_int_equal(finding_set_depends_on(f, "port.smtps", NULL), -EINVAL);
        assert_int_equal(finding_set_depends_on(f, "port.smtps", "a\033[31m\nb"), 0);
        assert_string_equal(f->depends_on, "port.smtps");
        assert_null(strchr(f->not_run_reason, '\033')); /* terminal-safe, one line */
        assert_null(strchr(f->not_run_reason, '\n'));
        assert_int_equal(finding_set_depends_on(f, "port.smtp", "again"), 0); /* replaces */
        assert_string_equal(f->depends_on, "port.smtp");
        assert_string_equal(f->not_run_reason, "again");
        findings_done(&l);
}

static void test_json_structure(void **state) {
        FindingList l = {};
        build(&l);
        _cleanup_free_ char *out = render_to_string(RENDER_JSON, &l, NULL);
        json_error_t e;
        json_t *root = json_loads(out, 0, &e);
        assert_non_null(root);
        assert_string_equal(json_string_value(json_object_get(root, "schema")), "mxdeck.check/1");
        assert_string_equal(json_string_value(json_object_get(root, "status")), "critical");
        assert_string_equal(json_string_value(json_object_get(root, "started")), "2026-11-22T05:40:00Z");
        json_t *counts = json_object_get(root, "counts");
        assert_int_equal(json_integer_value(json_object_get(counts, "ok")), 3);
        assert_int_equal(json_integer_value(json_object_get(counts, "critical")), 1);
        json_t *fs = json_object_get(root, "findings");
        assert_int_equal(json_array_size(fs), l.n);
        json_t *tls = json_array_get(fs, 2);
        assert_string_equal(json_string_value(json_object_get(tls, "group")), "tls");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(tls, "metrics"), "days_left")), 9);
        /* A Prometheus-only metric stays out of JSON. */
        assert_null(json_object_get(json_object_get(tls, "metrics"), "seconds_left"));
        json_t *cmds = json_object_get(tls, "commands");
        assert_int_equal(json_array_size(cmds), 2);
        assert_string_equal(json_string_value(json_array_get(cmds, 1)), "systemctl reload postfix dovecot");
        /* Every finding has the array, empty when there is nothing to run. */
        assert_int_equal(json_array_size(json_object_get(json_array_get(fs, 0), "commands")), 0);
        /* No raw escape character survives anywhere. */
        assert_null(strchr(out, '\033'));
        json_decref(root);
        findings_done(&l);
}

static void test_text_no_escapes_without_color(void **state) {
        FindingList l = {};
        build(&l);
        RenderOptions o = { .verbose = true };
        _cleanup_free_ char *out = render_to_string(RENDER_TEXT, &l, &o);
        assert_null(strchr(out, '\033'));
        assert_null(strchr(out, '\a'));
        findings_done(&l);
}

static void test_status(void **state) {
        static const struct {
                Status a, b, worst;
        } cases[] = {
                { STATUS_OK, STATUS_OK, STATUS_OK },
                { STATUS_OK, STATUS_UNKNOWN, STATUS_UNKNOWN },
                { STATUS_UNKNOWN, STATUS_WARNING, STATUS_WARNING },
                { STATUS_WARNING, STATUS_CRITICAL, STATUS_CRITICAL },
                { STATUS_CRITICAL, STATUS_UNKNOWN, STATUS_CRITICAL },
                { STATUS_CRITICAL, STATUS_OK, STATUS_CRITICAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(status_worst(cases[i].a, cases[i].b), cases[i].worst);
                assert_int_equal(status_worst(cases[i].b, cases[i].a), cases[i].worst);
        }
        assert_int_equal(render_nagios_exit_code(STATUS_OK), 0);
        assert_int_equal(render_nagios_exit_code(STATUS_WARNING), 1);
        assert_int_equal(render_nagios_exit_code(STATUS_CRITICAL), 2);
        assert_int_equal(render_nagios_exit_code(STATUS_UNKNOWN), 3);
        assert_int_equal(status_from_string("warning"), STATUS_WARNING);
        assert_int_equal(status_from_string("bogus"), _STATUS_INVALID);
        assert_int_equal(render_format_from_string("prometheus"), RENDER_PROMETHEUS);
        assert_int_equal(render_format_from_string("xml"), _RENDER_FORMAT_INVALID);
}

static void test_bad_ids(void **state) {
        static const char *const bad[] = { "", "nodot", ".lead", "trail.", "Upper.case", "sp ace.x", "semi;colon.x" };
        FindingList l = {};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(findings_add(&l, bad[i], "", STATUS_OK, NULL), -EINVAL);
        assert_int_equal(findings_add(&l, "dnsbl.zen.spamhaus.org", "", STATUS_OK, NULL), 0);
        assert_int_equal(findings_add(&l, "a.b", "", (Status) 7, NULL), -EINVAL);
        findings_done(&l);
}

/* Nagios ranges: floors are written "N:" (alert below N), ceilings plain. */
static void test_nagios_ranges(void **state) {
        FindingList l = {};
        build(&l);
        _cleanup_free_ char *out = render_to_string(RENDER_NAGIOS, &l, NULL);
        assert_non_null(strstr(out, "'tls.submission.expiry.days_left@127.0.0.1:587'=9;21:;7:;;"));
        assert_non_null(strstr(out, "'tls.submission.expiry.handshake_ms@127.0.0.1:587'=12.5ms;500;2000;;"));
        /* Only the first line carries perfdata; long output lists problems only. */
        assert_null(strstr(strchr(out, '\n'), "|"));
        assert_null(strstr(out, "[OK]"));
        assert_non_null(strstr(out, "3 other checks ok\n"));
        findings_done(&l);
}

static void test_commands(void **state) {
        FindingList l = {};
        Finding *f = findings_addf(&l, "config.tables", "/etc/aliases", STATUS_CRITICAL, "x");
        assert_non_null(f);
        assert_int_equal(finding_add_command(f, "two\nlines"), -EINVAL);
        assert_int_equal(finding_add_command(f, "%s", ""), -EINVAL);
        assert_int_equal(finding_add_command(f, "newaliases \033[2J"), 0);
        assert_int_equal(f->n_commands, 1);
        assert_null(strchr(f->commands[0], '\033'));
        RenderOptions o = {};
        _cleanup_free_ char *text = render_to_string(RENDER_TEXT, &l, &o);
        assert_non_null(strstr(text, "run:    newaliases"));
        _cleanup_free_ char *nagios = render_to_string(RENDER_NAGIOS, &l, NULL);
        assert_non_null(strstr(nagios, "\n    $ newaliases"));
        finding_clear_commands(f);
        assert_int_equal(f->n_commands, 0);
        findings_done(&l);
}

/* The Nagios first line stays short however many problems there are: the worst first, as
 * many as fit in about 200 columns, a single long one cut; the rest in the long output. */
static void test_nagios_first_line(void **state) {
        FindingList l = {};
        char id[32];
        for (int i = 0; i < 40; i++) {
                snprintf(id, sizeof(id), "tls.svc%d.expiry", i);
                assert_non_null(findings_addf(&l, id, "", i < 3 ? STATUS_WARNING : STATUS_CRITICAL,
                                              "certificate expired %d days ago (some long explanation)", i));
        }
        _cleanup_free_ char *out = render_to_string(RENDER_NAGIOS, &l, NULL);
        size_t first = strcspn(out, "\n");
        assert_true(first <= 200);
        assert_true(strncmp(out, "MXDECK CRITICAL: tls.svc3.expiry: ", 34) == 0);
        assert_non_null(strstr(out, "more)"));
        assert_non_null(strstr(out + first, "[CRITICAL] tls.svc39.expiry"));
        findings_done(&l);

        char longsum[600];
        memset(longsum, 'x', sizeof(longsum) - 1);
        longsum[sizeof(longsum) - 1] = 0;
        assert_non_null(findings_addf(&l, "config.postfix", "", STATUS_CRITICAL, "%s", longsum));
        _cleanup_free_ char *one = render_to_string(RENDER_NAGIOS, &l, NULL);
        assert_true(strcspn(one, "\n") <= 200 + 2); /* "…" is 3 bytes, 1 column */
        assert_non_null(strstr(one, "…"));
        findings_done(&l);
}

static void test_empty_report(void **state) {
        FindingList l = {};
        _cleanup_free_ char *nagios = render_to_string(RENDER_NAGIOS, &l, NULL);
        assert_string_equal(nagios, "MXDECK OK: no checks ran\n");
        _cleanup_free_ char *prom = render_to_string(RENDER_PROMETHEUS, &l, NULL);
        assert_non_null(strstr(prom, "# TYPE mxdeck_check_status gauge\n"));
        assert_null(strstr(prom, "mxdeck_check_status{"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_golden_folded),
                cmocka_unit_test(test_folding),
                cmocka_unit_test(test_depends_on),
                cmocka_unit_test(test_json_structure),
                cmocka_unit_test(test_text_no_escapes_without_color),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_bad_ids),
                cmocka_unit_test(test_nagios_ranges),
                cmocka_unit_test(test_commands),
                cmocka_unit_test(test_nagios_first_line),
                cmocka_unit_test(test_empty_report),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
