/* Unit tests for core/fiber: waits through the loop, deadlines, groups, cancellation, and
 * spawn_run inside fibers (children watched on the loop, killed on cancel). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "fiber.h"
#include "macro.h"
#include "subprocess.h"

static sd_event *new_loop(void) {
        sd_event *e = NULL;
        assert_int_equal(sd_event_new(&e), 0);
        return e;
}

/* Runs the loop until no fiber is left (bounded: a hung fiber fails the test). */
static void run_until_no_fibers(sd_event *e) {
        for (int i = 0; i < 100000 && fiber_count() > 0; i++)
                assert_true(sd_event_run(e, 5 * USEC_PER_SEC) >= 0);
        assert_int_equal(fiber_count(), 0);
}

static void test_deadline(void **state) {
        assert_false(deadline_passed(DEADLINE_NONE));
        assert_int_equal(deadline_left_ms(DEADLINE_NONE), UINT64_MAX);
        assert_int_equal(deadline_poll_ms(DEADLINE_NONE), -1);
        Deadline past = { 1 };
        assert_true(deadline_passed(past));
        assert_int_equal(deadline_left_ms(past), 0);
        assert_int_equal(deadline_poll_ms(past), 0);
        Deadline soon = deadline_in_ms(10000);
        assert_true(deadline_left_ms(soon) <= 10000);
        assert_true(deadline_left_ms(soon) >= 9000);
        assert_true(deadline_earlier(soon, DEADLINE_NONE).usec == soon.usec);
        assert_true(deadline_earlier(DEADLINE_NONE, soon).usec == soon.usec);
        assert_true(deadline_earlier(soon, past).usec == past.usec);
        assert_true(deadline_within(soon, 5).usec < soon.usec);
        assert_true(deadline_within(past, 5000).usec == past.usec);
        assert_true(deadline_in_ms(UINT64_MAX).usec == UINT64_MAX);
}

/* Two fibers talk over a pipe: each waits through the loop while the other runs. */
typedef struct PingPong {
        int rfd, wfd;
        int rounds;
        char *log;
        size_t *pos;
        char name;
} PingPong;

static int pingpong(void *userdata) {
        PingPong *p = userdata;
        for (int i = 0; i < p->rounds; i++) {
                struct pollfd pfd = { .fd = p->rfd, .events = POLLIN };
                int k = fiber_poll(&pfd, 1, deadline_in_ms(10000));
                if (k <= 0)
                        return k == 0 ? -ETIMEDOUT : k;
                char c;
                if (read(p->rfd, &c, 1) != 1)
                        return -EIO;
                p->log[(*p->pos)++] = p->name;
                if (write(p->wfd, "x", 1) != 1)
                        return -EIO;
        }
        return 42;
}

/* Done callbacks get the body's userdata; these record the result through it. */
static int last_result;
static void record_done(Fiber *f, int result, void *userdata) {
        last_result = result;
}

static void test_pingpong(void **state) {
        sd_event *e = new_loop();
        int a[2], b[2];
        assert_int_equal(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
        char log[64] = "";
        size_t pos = 0;
        PingPong pa = { .rfd = a[0], .wfd = b[1], .rounds = 3, .log = log, .pos = &pos, .name = 'A' };
        PingPong pb = { .rfd = b[0], .wfd = a[1], .rounds = 3, .log = log, .pos = &pos, .name = 'B' };
        last_result = 0;
        assert_int_equal(fiber_start(e, pingpong, &pa, NULL, NULL), 0);
        assert_int_equal(fiber_start(e, pingpong, &pb, record_done, NULL), 0);
        /* Nothing runs before the loop does. */
        assert_int_equal(pos, 0);
        assert_int_equal(write(a[1], "x", 1), 1);
        run_until_no_fibers(e);
        assert_int_equal(last_result, 42);
        /* Strict alternation proves each waited for the other through the loop. */
        assert_int_equal(pos, 6);
        assert_string_equal(log, "ABABAB");
        for (int i = 0; i < 2; i++) {
                close(a[i]);
                close(b[i]);
        }
        sd_event_unref(e);
}

static int wait_forever(void *userdata) {
        int *cleaned = userdata;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        int k = fiber_poll(&pfd, 1, DEADLINE_NONE);
        /* The cancelled wait returns; our cleanup runs like on any error. */
        close(fds[0]);
        close(fds[1]);
        (*cleaned)++;
        /* Every later wait returns at once too. */
        int k2 = fiber_sleep(deadline_in_ms(60000));
        return k == -ECANCELED && k2 == -ECANCELED ? -ECANCELED : -EPROTO;
}

static int never_runs(void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static void test_cancel(void **state) {
        sd_event *e = new_loop();
        Fiber *f = NULL, *g = NULL;
        int cleaned = 0, ran = 0;
        last_result = 0;
        assert_int_equal(fiber_start(e, wait_forever, &cleaned, record_done, &f), 0);
        assert_int_equal(fiber_start(e, never_runs, &ran, NULL, &g), 0);
        /* Let the first one reach its wait; cancel the second before it starts. */
        for (int i = 0; i < 10; i++)
                assert_true(sd_event_run(e, 0) >= 0);
        /* Both started; the second returned at once, the first waits. */
        assert_int_equal(ran, 1);
        assert_int_equal(fiber_count(), 1);
        fiber_cancel(f);
        assert_int_equal(cleaned, 1);
        assert_int_equal(last_result, -ECANCELED);
        run_until_no_fibers(e);
        sd_event_unref(e);
}

static void test_cancel_before_start(void **state) {
        sd_event *e = new_loop();
        Fiber *f = NULL;
        int ran = 0;
        last_result = 0;
        assert_int_equal(fiber_start(e, never_runs, &ran, record_done, &f), 0);
        fiber_cancel(f);
        assert_int_equal(ran, 0);
        assert_int_equal(last_result, -ECANCELED);
        assert_int_equal(fiber_count(), 0);
        sd_event_unref(e);
}

/* A fiber's deadline wait ends, while another fiber's timer ticks meanwhile. */
typedef struct Ticker {
        int ticks;
        bool *stop;
} Ticker;

static int ticker(void *userdata) {
        Ticker *t = userdata;
        while (!*t->stop && t->ticks < 100000) {
                int r = fiber_sleep(deadline_in_ms(2));
                if (r < 0)
                        return r;
                t->ticks++;
        }
        return 0;
}

typedef struct Spawner {
        const char *const *argv;
        unsigned timeout_ms;
        Deadline deadline;
        bool *stop;
        int ticks_seen;
        Ticker *ticker;
        SpawnResult res;
        int r;
} Spawner;

static int spawner(void *userdata) {
        Spawner *s = userdata;
        SpawnOptions o = { .argv = s->argv, .timeout_ms = s->timeout_ms, .deadline = s->deadline };
        int before = s->ticker ? s->ticker->ticks : 0;
        s->r = spawn_run(&o, &s->res);
        if (s->ticker)
                s->ticks_seen = s->ticker->ticks - before;
        if (s->stop)
                *s->stop = true;
        return s->r;
}

static void test_spawn_does_not_block_loop(void **state) {
        sd_event *e = new_loop();
        bool stop = false;
        Ticker t = { .stop = &stop };
        Spawner s = { .argv = (const char *const[]) { "sleep", "0.3", NULL }, .stop = &stop, .ticker = &t };
        assert_int_equal(fiber_start(e, ticker, &t, NULL, NULL), 0);
        assert_int_equal(fiber_start(e, spawner, &s, NULL, NULL), 0);
        run_until_no_fibers(e);
        assert_int_equal(s.r, 0);
        assert_true(spawn_result_ok(&s.res));
        /* The other fiber kept running while the child ran. */
        assert_true(s.ticks_seen > 0);
        spawn_result_done(&s.res);
        sd_event_unref(e);
}

static void test_spawn_deadline(void **state) {
        sd_event *e = new_loop();
        /* The probe's deadline, not the longer timeout, ends the child. */
        Spawner s = { .argv = (const char *const[]) { "sleep", "30", NULL }, .timeout_ms = 60000,
                      .deadline = deadline_in_ms(200) };
        assert_int_equal(fiber_start(e, spawner, &s, NULL, NULL), 0);
        run_until_no_fibers(e);
        assert_int_equal(s.r, 0);
        assert_true(s.res.timed_out);
        assert_false(spawn_result_ok(&s.res));
        spawn_result_done(&s.res);
        sd_event_unref(e);
}

static void test_spawn_cancel_kills(void **state) {
        sd_event *e = new_loop();
        char path[] = "/tmp/test-fiber-pid-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        char script[256];
        snprintf(script, sizeof(script), "echo $$ > %s; exec sleep 30", path);
        Spawner s = { .argv = (const char *const[]) { "sh", "-c", script, NULL }, .timeout_ms = 60000 };
        Fiber *f = NULL;
        assert_int_equal(fiber_start(e, spawner, &s, NULL, &f), 0);
        /* Run the loop until the child has written its pid (bounded). */
        pid_t pid = 0;
        for (int i = 0; i < 2000 && pid <= 0; i++) {
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
                FILE *p = fopen(path, "re");
                if (p) {
                        if (fscanf(p, "%d", &pid) != 1)
                                pid = 0;
                        fclose(p);
                }
        }
        assert_true(pid > 0);
        assert_int_equal(kill(pid, 0), 0);
        fiber_cancel(f);
        assert_int_equal(s.r, -ECANCELED);
        assert_int_equal(fiber_count(), 0);
        /* Killed at once, and reaped on the loop (the cancel does not wait for it to die):
         * the pid no longer exists, not even as a zombie. */
        int gone = 0;
        for (int i = 0; i < 500 && !gone; i++) {
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
                gone = kill(pid, 0) < 0 && errno == ESRCH;
        }
        assert_true(gone);
        unlink(path);
        sd_event_unref(e);
}

/* A check that runs its tools one after another, going on after an error. */
typedef struct TwoTools {
        int r1, r2;
} TwoTools;

static int two_tools(void *userdata) {
        TwoTools *t = userdata;
        SpawnResult res = {};
        SpawnOptions o = { .argv = (const char *const[]) { "sleep", "30", NULL }, .timeout_ms = 60000 };
        t->r1 = spawn_run(&o, &res);
        spawn_result_done(&res);
        res = (SpawnResult) {};
        /* not installed: -ENOENT if it got as far as looking for it */
        o.argv = (const char *const[]) { "mxdeck-test-no-such-tool", NULL };
        t->r2 = spawn_run(&o, &res);
        spawn_result_done(&res);
        return 0;
}

/* Once cancelled, a fiber starts no tool: spawn_run says so before anything else (a
 * tool started then would only be killed, after costing the loop an exec). */
static void test_spawn_cancelled_starts_nothing(void **state) {
        sd_event *e = new_loop();
        TwoTools t = {};
        Fiber *f = NULL;
        assert_int_equal(fiber_start(e, two_tools, &t, NULL, &f), 0);
        for (int i = 0; i < 20; i++) /* the first tool started and waited on */
                assert_true(sd_event_run(e, 5 * USEC_PER_MSEC) >= 0);
        fiber_cancel(f);
        assert_int_equal(t.r1, -ECANCELED);
        assert_int_equal(t.r2, -ECANCELED);
        sd_event_unref(e);
}

/* A child killed by a cancel and not reaped yet when its loop goes away is reaped then. */
static void test_spawn_cancel_loop_freed(void **state) {
        sd_event *e = new_loop();
        Spawner s = { .argv = (const char *const[]) { "sleep", "30", NULL }, .timeout_ms = 60000 };
        Fiber *f = NULL;
        assert_int_equal(fiber_start(e, spawner, &s, NULL, &f), 0);
        for (int i = 0; i < 20; i++) /* started and waiting */
                assert_true(sd_event_run(e, 5 * USEC_PER_MSEC) >= 0);
        fiber_cancel(f);
        assert_int_equal(s.r, -ECANCELED);
        sd_event_unref(e);
        /* no child of ours is left, not even a zombie */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static int square(void *userdata) {
        int *v = userdata;
        /* Yield once so the group really interleaves. */
        int r = fiber_sleep(deadline_in_ms(1));
        if (r < 0)
                return r;
        return *v * *v;
}

static void test_run_all_private_loop(void **state) {
        int v[5] = { 1, 2, 3, 4, 5 };
        void *args[5];
        int res[5] = {};
        for (int i = 0; i < 5; i++)
                args[i] = &v[i];
        assert_int_equal(fiber_run_all(square, args, 5, res), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(res[i], v[i] * v[i]);
        assert_int_equal(fiber_count(), 0);
}

typedef struct Outer {
        int res[3];
        int r;
} Outer;

static int outer(void *userdata) {
        Outer *o = userdata;
        static int v[3] = { 7, 8, 9 };
        void *args[3] = { &v[0], &v[1], &v[2] };
        o->r = fiber_run_all(square, args, 3, o->res);
        return o->r;
}

static void test_run_all_nested(void **state) {
        sd_event *e = new_loop();
        Outer o = {};
        assert_int_equal(fiber_start(e, outer, &o, NULL, NULL), 0);
        run_until_no_fibers(e);
        assert_int_equal(o.r, 0);
        assert_int_equal(o.res[0], 49);
        assert_int_equal(o.res[2], 81);
        sd_event_unref(e);
}

static int sleepy(void *userdata) {
        return fiber_sleep(deadline_in_ms(60000));
}

static int outer_long(void *userdata) {
        Outer *o = userdata;
        void *args[3] = {};
        o->r = fiber_run_all(sleepy, args, 3, o->res);
        return o->r;
}

static void test_run_all_cancel(void **state) {
        sd_event *e = new_loop();
        Outer o = {};
        Fiber *f = NULL;
        assert_int_equal(fiber_start(e, outer_long, &o, NULL, &f), 0);
        /* Let the outer fiber and its three children reach their waits. */
        for (int i = 0; i < 10; i++)
                assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(fiber_count(), 4);
        fiber_cancel(f);
        assert_int_equal(o.r, -ECANCELED);
        for (int i = 0; i < 3; i++)
                assert_int_equal(o.res[i], -ECANCELED);
        assert_int_equal(fiber_count(), 0);
        sd_event_unref(e);
}

typedef struct Sleeper {
        Fiber *self;
        int r;
} Sleeper;

static int suspender(void *userdata) {
        Sleeper *s = userdata;
        s->self = fiber_current();
        s->r = fiber_suspend(deadline_in_ms(60000));
        int timed = fiber_suspend(deadline_in_ms(5));
        return timed == -ETIMEDOUT ? 0 : -EPROTO;
}

static void test_suspend_wake(void **state) {
        sd_event *e = new_loop();
        Sleeper s = { .r = 1 };
        last_result = 1;
        assert_int_equal(fiber_start(e, suspender, &s, record_done, NULL), 0);
        assert_true(sd_event_run(e, 0) >= 0);
        assert_non_null(s.self);
        assert_int_equal(s.r, 1);
        fiber_wake(s.self);
        run_until_no_fibers(e);
        assert_int_equal(s.r, 0);
        assert_int_equal(last_result, 0);
        assert_int_equal(fiber_suspend(DEADLINE_NONE), -EOPNOTSUPP);
        sd_event_unref(e);
}

/* Outside a fiber the same calls block the ordinary way. */
static void test_outside_fiber(void **state) {
        assert_null(fiber_current());
        assert_false(fiber_is_cancelled());
        int fds[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        assert_int_equal(fiber_poll(&pfd, 1, deadline_in_ms(10)), 0);
        assert_int_equal(write(fds[1], "x", 1), 1);
        assert_int_equal(fiber_poll(&pfd, 1, deadline_in_ms(1000)), 1);
        assert_true(pfd.revents & POLLIN);
        close(fds[0]);
        close(fds[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_pingpong),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_cancel_before_start),
                cmocka_unit_test(test_spawn_does_not_block_loop),
                cmocka_unit_test(test_spawn_deadline),
                cmocka_unit_test(test_spawn_cancel_kills),
                cmocka_unit_test(test_spawn_cancel_loop_freed),
                cmocka_unit_test(test_spawn_cancelled_starts_nothing),
                cmocka_unit_test(test_run_all_private_loop),
                cmocka_unit_test(test_run_all_nested),
                cmocka_unit_test(test_run_all_cancel),
                cmocka_unit_test(test_suspend_wake),
                cmocka_unit_test(test_outside_fiber),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
