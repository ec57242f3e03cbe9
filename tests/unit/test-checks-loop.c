/* The whole check suite run again and again on one sd-event loop, as the dashboard will
 * every few seconds: every run ends (by itself, or cancelled at a random point), leaves
 * no fiber behind, never uses more than the offload pool's workers, and (under ASan with
 * leak detection, as CI runs the unit suite) leaks nothing.
 *
 * It probes this machine as it is: whatever Postfix/Dovecot state it has, the checks must
 * end cleanly. DNS goes to a resolver on 127.0.0.1's discard port (refused at once), the
 * listeners to 127.0.0.1, so no run waits on the network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "fiber.h"
#include "macro.h"
#include "offload.h"

#define RUNS 50

typedef struct State {
        unsigned checks_seen;
        unsigned findings_seen;
        bool done;
} State;

static void on_check(ChecksRun *run, const Check *check, FindingList *findings, void *userdata) {
        State *s = userdata;
        s->checks_seen++;
        s->findings_seen += (unsigned) findings->n;
}

static void on_done(ChecksRun *run, void *userdata) {
        State *s = userdata;
        s->done = true;
}

static void test_runs_on_one_loop(void **state) {
        Settings settings;
        sd_event *e = NULL;
        assert_int_equal(settings_init(&settings), 0);
        settings.timeout_seconds = 3;
        assert_int_equal(sd_event_new(&e), 0);

        size_t n_catalog;
        (void) checks_table(&n_catalog);
        unsigned seed = 12345, completed = 0, cancelled = 0;

        for (int i = 0; i < RUNS; i++) {
                CheckContext ctx = {
                        .settings = &settings,
                        .host = "mail.example.test",
                        .host_from_flag = true,
                        .domain = "example.test",
                        .connect = "127.0.0.1",
                        .resolver = "127.0.0.1:9",
                        .selector = "mxdeck",
                };
                State s = {};
                ChecksRun *run = NULL;
                assert_int_equal(checks_start(e, &ctx, on_check, on_done, &s, &run), 0);

                /* Every other run is stopped after a random number of loop iterations:
                 * cancelling anywhere must free everything just as finishing does. */
                bool cancel = i % 2 == 1;
                unsigned stop_after = cancel ? (unsigned) (rand_r(&seed) % 200) : UINT32_MAX;
                for (unsigned it = 0; !s.done && it < 1000000; it++) {
                        if (it == stop_after)
                                break;
                        assert_true(sd_event_run(e, 10 * USEC_PER_SEC) >= 0);
                }
                if (s.done) {
                        FindingList out = {};
                        assert_true(checks_run_finished(run));
                        assert_int_equal(checks_run_take(run, &out), 0);
                        /* Every selected check reported, each with at least one finding. */
                        assert_int_equal(s.checks_seen, n_catalog);
                        assert_true(out.n >= n_catalog);
                        assert_int_equal(out.n, s.findings_seen);
                        findings_done(&out);
                        completed++;
                } else
                        cancelled++;
                checks_run_free(run);
                assert_int_equal(fiber_count(), 0);
                assert_true(offload_workers() <= OFFLOAD_MAX_WORKERS);
        }
        /* Drain what the runs left on the loop (disabled sources only). */
        while (sd_event_run(e, 0) > 0)
                ;
        assert_true(completed >= RUNS / 2);
        print_message("%u runs completed, %u cancelled mid-run\n", completed, cancelled);
        sd_event_unref(e);
        settings_done(&settings);
}

/* The one-shot wrapper on its private loop gives the same set of checks. */
static void test_checks_run_private_loop(void **state) {
        Settings settings;
        assert_int_equal(settings_init(&settings), 0);
        settings.timeout_seconds = 3;
        static const char *const only[] = { "system", "service", NULL };
        CheckContext ctx = { .settings = &settings, .only = only, .host = "mail.example.test", .domain = "example.test" };
        FindingList out = {};
        assert_int_equal(checks_run(&ctx, &out), 0);
        bool hostname = false, disk = false, postfix = false;
        for (size_t i = 0; i < out.n; i++) {
                hostname = hostname || streq(out.items[i].id, "system.hostname");
                disk = disk || streq(out.items[i].id, "system.disk");
                postfix = postfix || streq(out.items[i].id, "service.postfix");
                assert_false(startswith(out.items[i].id, "dns."));
        }
        assert_true(hostname && disk && postfix);
        findings_done(&out);
        assert_int_equal(fiber_count(), 0);
        settings_done(&settings);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_checks_run_private_loop),
                cmocka_unit_test(test_runs_on_one_loop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
