/* Unit tests for core/spawn: exit status, timeouts, capture limits, stdin, env, fds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "subprocess.h"

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static void run_ok(const SpawnOptions *o, SpawnResult *r) {
        int k = spawn_run(o, r);
        if (k < 0)
                fail_msg("spawn_run(%s): %s", o->argv[0], strerror(-k));
        assert_non_null(r->out);
        assert_non_null(r->err);
        assert_int_equal(r->out[r->out_size], 0);
        assert_int_equal(r->err[r->err_size], 0);
        assert_true(r->exited != r->signalled);
}

static void test_exit_status(void **state) {
        /* Not static: the ARGV compound literals live in this block. */
        const struct {
                const char *const *argv;
                bool exited;
                int status;
                int sig;
        } cases[] = {
                { ARGV("true"), true, 0, 0 },
                { ARGV("false"), true, 1, 0 },
                { ARGV("/bin/true"), true, 0, 0 },
                { ARGV("sh", "-c", "exit 7"), true, 7, 0 },
                { ARGV("sh", "-c", "exit 255"), true, 255, 0 },
                { ARGV("sh", "-c", "kill -TERM $$"), false, 0, SIGTERM },
                { ARGV("sh", "-c", "kill -KILL $$"), false, 0, SIGKILL },
                { ARGV("sh", "-c", "kill -SEGV $$"), false, 0, SIGSEGV },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SpawnOptions o = { .argv = cases[i].argv };
                SpawnResult r;

                run_ok(&o, &r);
                assert_int_equal(r.exited, cases[i].exited);
                assert_int_equal(r.signalled, !cases[i].exited);
                assert_int_equal(r.exit_status, cases[i].status);
                assert_int_equal(r.term_signal, cases[i].sig);
                assert_false(r.timed_out);
                assert_int_equal(spawn_result_ok(&r), cases[i].exited && cases[i].status == 0);
                spawn_result_done(&r);
        }
}

static void test_timeout(void **state) {
        SpawnOptions o = { .argv = ARGV("sleep", "30"), .timeout_ms = 200 };
        SpawnResult r;

        run_ok(&o, &r);
        assert_true(r.timed_out);
        assert_true(r.signalled);
        assert_int_equal(r.term_signal, SIGTERM);
        assert_false(spawn_result_ok(&r));
        /* Only "well under 30 s": machines are noisy. */
        assert_true(r.duration_ms >= 150);
        assert_true(r.duration_ms < 15000);
        spawn_result_done(&r);
}

static void test_timeout_escalates_to_sigkill(void **state) {
        /* The shell and its sleep ignore SIGTERM, so only the SIGKILL 500 ms later ends them. */
        SpawnOptions o = { .argv = ARGV("sh", "-c", "trap '' TERM; sleep 30; exit 3"), .timeout_ms = 200 };
        SpawnResult r;

        run_ok(&o, &r);
        assert_true(r.timed_out);
        assert_true(r.signalled);
        assert_int_equal(r.term_signal, SIGKILL);
        assert_true(r.duration_ms >= 600);
        assert_true(r.duration_ms < 15000);
        spawn_result_done(&r);
}

/* Waits for pid, which must be our child (we are its subreaper), for up to 10 s. */
static bool reaped_within(pid_t pid, int *ret_status) {
        for (int i = 0; i < 1000; i++) {
                pid_t k = waitpid(pid, ret_status, WNOHANG);
                if (k == pid)
                        return true;
                if (k < 0)
                        return errno == ECHILD; /* the shell reaped it already */
                usleep(10 * 1000);
        }
        return false;
}

static pid_t parse_pid(const char *s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        assert_int_equal(errno, 0);
        assert_true(end != s && *end == '\n');
        assert_true(v > 1 && v <= INT_MAX);
        return (pid_t) v;
}

static void test_timeout_kills_grandchildren(void **state) {
        SpawnOptions o = { .argv = ARGV("sh", "-c", "sleep 30 & echo $!; sleep 30"), .timeout_ms = 300 };
        SpawnResult r;
        int status = 0;

        /* Orphans get reparented to us, so we can tell precisely when the grandchild dies. */
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
        run_ok(&o, &r);
        assert_true(r.timed_out);
        pid_t grandchild = parse_pid(r.out);
        assert_true(reaped_within(grandchild, &status));
        if (status != 0) {
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), SIGTERM);
        }
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
        spawn_result_done(&r);
}

static void test_child_exits_grandchild_lingers(void **state) {
        /* A background job keeps stdout open after the shell exits: we must not wait for it. */
        SpawnOptions o = { .argv = ARGV("sh", "-c", "sleep 30 & echo $!"), .timeout_ms = 20000 };
        SpawnResult r;

        run_ok(&o, &r);
        assert_false(r.timed_out);
        assert_true(spawn_result_ok(&r));
        assert_true(r.duration_ms < 15000);
        pid_t grandchild = parse_pid(r.out);
        assert_int_equal(kill(grandchild, SIGKILL), 0);
        spawn_result_done(&r);
}

static void test_output_cap(void **state) {
        static const struct {
                const char *bytes;
                size_t cap;
                size_t size;
                bool truncated;
        } cases[] = {
                { "4096", 4096, 4096, false },
                { "4097", 4096, 4096, true },
                { "0", 10, 0, false },
                { "1", 1, 1, false },
                { "100000", 65536, 65536, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SpawnOptions o = { .argv = ARGV("head", "-c", cases[i].bytes, "/dev/zero"),
                                   .max_output = cases[i].cap };
                SpawnResult r;

                run_ok(&o, &r);
                assert_true(spawn_result_ok(&r));
                assert_int_equal(r.out_size, cases[i].size);
                assert_int_equal(r.out_truncated, cases[i].truncated);
                assert_false(r.err_truncated);
                spawn_result_done(&r);
        }
}

static bool all_zero(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static void test_huge_output(void **state) {
        const size_t cap = 1024 * 1024;
        SpawnOptions o = { .argv = ARGV("head", "-c", "50000000", "/dev/zero"),
                           .max_output = cap, .timeout_ms = 60000 };
        SpawnResult r;

        run_ok(&o, &r);
        assert_false(r.timed_out);
        assert_true(spawn_result_ok(&r));
        assert_int_equal(r.out_size, cap);
        assert_true(r.out_truncated);
        assert_true(all_zero(r.out, r.out_size));
        assert_int_equal(r.err_size, 0);
        spawn_result_done(&r);
}

/* on_output: stdout streamed in pieces, none kept, no cap; stderr still captured; a
 * negative return stops the child and is the result. */
typedef struct Stream {
        uint64_t bytes, calls, nonzero;
        uint64_t stop_after;
} Stream;

static int stream_cb(const char *data, size_t size, void *userdata) {
        Stream *s = userdata;
        for (size_t i = 0; i < size; i++)
                s->nonzero += data[i] != 0;
        s->bytes += size;
        s->calls++;
        return s->stop_after && s->bytes >= s->stop_after ? -EPIPE : 0;
}

static void test_output_stream(void **state) {
        Stream st = {};
        SpawnOptions o = { .argv = ARGV("sh", "-c", "head -c 20000000 /dev/zero; echo oops >&2"), .max_output = 1024,
                           .timeout_ms = 60000, .on_output = stream_cb, .userdata = &st };
        SpawnResult r;

        run_ok(&o, &r);
        assert_true(spawn_result_ok(&r));
        assert_int_equal(st.bytes, 20000000);
        assert_int_equal(st.nonzero, 0);
        assert_true(st.calls > 1);
        assert_int_equal(r.out_size, 0);
        assert_false(r.out_truncated);
        assert_string_equal(r.err, "oops\n");
        spawn_result_done(&r);

        Stream stop = { .stop_after = 100000 };
        o = (SpawnOptions) { .argv = ARGV("cat", "/dev/zero"), .timeout_ms = 60000, .on_output = stream_cb,
                             .userdata = &stop };
        assert_int_equal(spawn_run(&o, &r), -EPIPE);
        assert_true(stop.bytes >= 100000 && stop.bytes < 100000 + 2 * 65536 + 1);
}

static void test_huge_stdout_and_stderr(void **state) {
        const size_t cap = 256 * 1024;
        SpawnOptions o = {
                .argv = ARGV("sh", "-c", "head -c 20000000 /dev/zero >&2 & head -c 30000000 /dev/zero; wait"),
                .max_output = cap,
                .timeout_ms = 60000,
        };
        SpawnResult r;

        run_ok(&o, &r);
        assert_false(r.timed_out);
        assert_true(spawn_result_ok(&r));
        assert_int_equal(r.out_size, cap);
        assert_int_equal(r.err_size, cap);
        assert_true(r.out_truncated);
        assert_true(r.err_truncated);
        spawn_result_done(&r);
}

static void test_literal_arguments(void **state) {
        static const char *const args[] = {
                "; rm -rf /", "$(id)", "`id`", "*", "a\nb", "'\"", "$HOME", "  spaced  ",
                "\\", "-n", "", "|cat", "&& false", "%s %n", "\t\x01\x7f\xff",
        };

        for (size_t i = 0; i < ELEMENTSOF(args); i++) {
                SpawnOptions o = { .argv = ARGV("printf", "%s", args[i]) };
                SpawnResult r;

                run_ok(&o, &r);
                assert_true(spawn_result_ok(&r));
                assert_int_equal(r.out_size, strlen(args[i]));
                assert_memory_equal(r.out, args[i], r.out_size);
                spawn_result_done(&r);
        }

        /* And each argument stays one argument. */
        SpawnOptions o = { .argv = ARGV("printf", "<%s>", "a b", "", "c") };
        SpawnResult r;
        run_ok(&o, &r);
        assert_string_equal(r.out, "<a b><><c>");
        spawn_result_done(&r);
}

static char *pattern(size_t n) {
        char *p = malloc(n);
        assert_non_null(p);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                p[i] = (char) (x & 0xff);
        }
        return p;
}

static void test_stdin_echo(void **state) {
        const size_t n = 1024 * 1024;
        _cleanup_free_ char *in = pattern(n);
        SpawnOptions o = { .argv = ARGV("cat"), .input = in, .input_size = n, .max_output = 2 * n };
        SpawnResult r;

        run_ok(&o, &r);
        assert_true(spawn_result_ok(&r));
        assert_int_equal(r.out_size, n);
        assert_false(r.out_truncated);
        assert_memory_equal(r.out, in, n);
        spawn_result_done(&r);

        SpawnOptions w = { .argv = ARGV("wc", "-c"), .input = in, .input_size = n };
        run_ok(&w, &r);
        assert_true(spawn_result_ok(&r));
        assert_int_equal(strtoul(r.out, NULL, 10), n);
        spawn_result_done(&r);
}

static void test_stdin_empty_and_absent(void **state) {
        SpawnResult r;

        /* Input given but empty: stdin is an empty pipe. */
        SpawnOptions o = { .argv = ARGV("wc", "-c"), .input = "", .input_size = 0 };
        run_ok(&o, &r);
        assert_int_equal(strtoul(r.out, NULL, 10), 0);
        spawn_result_done(&r);

        /* No input: stdin is /dev/null, so a reader does not hang. */
        SpawnOptions n = { .argv = ARGV("cat"), .timeout_ms = 10000 };
        run_ok(&n, &r);
        assert_false(r.timed_out);
        assert_int_equal(r.out_size, 0);
        spawn_result_done(&r);
}

static bool sigpipe_pending(void) {
        sigset_t s;
        sigemptyset(&s);
        assert_int_equal(sigpending(&s), 0);
        return sigismember(&s, SIGPIPE) == 1;
}

static void test_stdin_not_read(void **state) {
        const char *const *const argvs[] = {
                ARGV("true"),
                ARGV("head", "-c", "10"),
                ARGV("sh", "-c", "exec 0<&-; sleep 0.1"),
        };
        const size_t n = 10 * 1024 * 1024;
        _cleanup_free_ char *in = pattern(n);
        sigset_t before, after;

        /* SIGPIPE keeps its default disposition here: if it reached us we would die. */
        signal(SIGPIPE, SIG_DFL);
        assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &before), 0);

        for (size_t i = 0; i < ELEMENTSOF(argvs); i++) {
                SpawnOptions o = { .argv = argvs[i], .input = in, .input_size = n, .timeout_ms = 20000 };
                SpawnResult r;

                run_ok(&o, &r);
                assert_false(r.timed_out);
                assert_true(spawn_result_ok(&r));
                assert_true(r.duration_ms < 15000);
                spawn_result_done(&r);

                /* The mask is restored and no SIGPIPE is left pending for later. */
                assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
                assert_int_equal(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
                assert_false(sigpipe_pending());
        }
}

static void test_stderr_separate_and_merged(void **state) {
        SpawnResult r;

        SpawnOptions s = { .argv = ARGV("sh", "-c", "echo out; echo err >&2; echo out2") };
        run_ok(&s, &r);
        assert_string_equal(r.out, "out\nout2\n");
        assert_string_equal(r.err, "err\n");
        spawn_result_done(&r);

        SpawnOptions m = { .argv = ARGV("sh", "-c", "echo a; echo b >&2; echo c; echo d >&2"),
                           .merge_stderr = true };
        run_ok(&m, &r);
        assert_string_equal(r.out, "a\nb\nc\nd\n");
        assert_int_equal(r.err_size, 0);
        assert_string_equal(r.err, "");
        spawn_result_done(&r);
}

static void make_tmpdir(char *buf, size_t size) {
        snprintf(buf, size, "/tmp/test-spawn-XXXXXX");
        assert_non_null(mkdtemp(buf));
}

static void test_not_found_and_not_executable(void **state) {
        char dir[64], file[128];
        SpawnResult r = { .exit_status = 42 };

        SpawnOptions o = { .argv = ARGV("mxdeck-test-no-such-program") };
        assert_int_equal(spawn_run(&o, &r), -ENOENT);
        assert_int_equal(r.exit_status, 42); /* untouched on failure */
        errno = 0;
        assert_null(spawn_find_program("mxdeck-test-no-such-program"));
        assert_int_equal(errno, ENOENT);

        SpawnOptions abs = { .argv = ARGV("/nonexistent/bin/true") };
        assert_int_equal(spawn_run(&abs, &r), -ENOENT);

        make_tmpdir(dir, sizeof(dir));
        snprintf(file, sizeof(file), "%s/script", dir);
        FILE *f = fopen(file, "we");
        assert_non_null(f);
        fputs("#!/bin/sh\nexit 0\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(file, 0644), 0);

        SpawnOptions nx = { .argv = ARGV(file) };
        assert_int_equal(spawn_run(&nx, &r), -EACCES);
        SpawnOptions d = { .argv = ARGV(dir) };
        assert_int_equal(spawn_run(&d, &r), -EACCES);

        assert_int_equal(chmod(file, 0755), 0);
        run_ok(&nx, &r);
        assert_true(spawn_result_ok(&r));
        spawn_result_done(&r);

        _cleanup_free_ char *found = spawn_find_program("sh");
        assert_non_null(found);
        assert_true(found[0] == '/');

        assert_int_equal(unlink(file), 0);
        assert_int_equal(rmdir(dir), 0);

        SpawnOptions empty = { .argv = ARGV("") };
        assert_int_equal(spawn_run(&empty, &r), -ENOENT);
        SpawnOptions none = { .argv = NULL };
        assert_int_equal(spawn_run(&none, &r), -EINVAL);
}

static void test_environment(void **state) {
        SpawnResult r;

        assert_int_equal(setenv("MXDECK_TEST_SECRET", "hunter2", 1), 0);
        assert_int_equal(setenv("PATH", "/tmp/evil:/usr/bin:/bin", 1), 0);
        assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
        assert_int_equal(setenv("LD_PRELOAD", "/tmp/evil.so", 1), 0);

        SpawnOptions o = { .argv = ARGV("env") };
        run_ok(&o, &r);
        assert_non_null(strstr(r.out, "PATH=" SPAWN_SAFE_PATH "\n"));
        assert_non_null(strstr(r.out, "LC_ALL=C\n"));
        assert_non_null(strstr(r.out, "TZ=Europe/Berlin\n"));
        assert_null(strstr(r.out, "MXDECK_TEST_SECRET"));
        assert_null(strstr(r.out, "hunter2"));
        assert_null(strstr(r.out, "LD_PRELOAD"));
        assert_null(strstr(r.out, "/tmp/evil"));
        spawn_result_done(&r);

        SpawnOptions e = { .argv = ARGV("env"), .envp = ARGV("FOO=bar", "X=y z") };
        run_ok(&e, &r);
        assert_string_equal(r.out, "FOO=bar\nX=y z\n");
        spawn_result_done(&r);

        unsetenv("MXDECK_TEST_SECRET");
        unsetenv("LD_PRELOAD");
        unsetenv("TZ");
        setenv("PATH", SPAWN_SAFE_PATH, 1);
}

static void test_no_fd_leak(void **state) {
        /* Deliberately without O_CLOEXEC: even such fds must not reach the child. */
        int leak = open("/dev/null", O_RDONLY);
        int p[2];
        assert_true(leak >= 0);
        assert_int_equal(pipe(p), 0);

        SpawnOptions o = { .argv = ARGV("ls", "/proc/self/fd") };
        SpawnResult r;
        run_ok(&o, &r);
        /* 0-2 are ours, 3 is ls's own handle on the directory. */
        assert_string_equal(r.out, "0\n1\n2\n3\n");
        spawn_result_done(&r);

        SpawnOptions in = { .argv = ARGV("ls", "/proc/self/fd"), .input = "x", .input_size = 1,
                            .merge_stderr = true };
        run_ok(&in, &r);
        assert_string_equal(r.out, "0\n1\n2\n3\n");
        spawn_result_done(&r);

        close(leak);
        close(p[0]);
        close(p[1]);
}

static void test_signal_state_reset(void **state) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_pipe;
        sigset_t block, old_mask;

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGUSR1);
        assert_int_equal(sigaction(SIGINT, &ign, &old_int), 0);
        assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
        assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);

        SpawnOptions o = { .argv = ARGV("grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status") };
        SpawnResult r;
        unsigned long long blk, ignored;
        run_ok(&o, &r);
        assert_int_equal(sscanf(r.out, "SigBlk: %llx SigIgn: %llx", &blk, &ignored), 2);
        assert_int_equal(blk, 0);
        /* glibc's posix_spawn (like its system() and popen()) leaves its own two internal
         * signals below SIGRTMIN ignored; no API reaches them and glibc programs reset them. */
        for (int sig = 32; sig < SIGRTMIN; sig++)
                ignored &= ~(1ull << (sig - 1));
        assert_int_equal(ignored, 0);
        spawn_result_done(&r);

        SpawnOptions k = { .argv = ARGV("sh", "-c", "kill -INT $$; exit 0") };
        run_ok(&k, &r);
        assert_true(r.signalled);
        assert_int_equal(r.term_signal, SIGINT);
        spawn_result_done(&r);

        assert_int_equal(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
        assert_int_equal(sigaction(SIGINT, &old_int, NULL), 0);
        assert_int_equal(sigaction(SIGPIPE, &old_pipe, NULL), 0);
}

static void test_cwd(void **state) {
        char dir[64];
        _cleanup_free_ char *real = NULL, *expect = NULL;
        SpawnResult r;

        SpawnOptions d = { .argv = ARGV("pwd", "-P") };
        run_ok(&d, &r);
        assert_string_equal(r.out, "/\n");
        spawn_result_done(&r);

        make_tmpdir(dir, sizeof(dir));
        real = realpath(dir, NULL);
        assert_non_null(real);
        assert_true(asprintf(&expect, "%s\n", real) > 0);
        SpawnOptions o = { .argv = ARGV("pwd", "-P"), .cwd = dir };
        run_ok(&o, &r);
        assert_string_equal(r.out, expect);
        spawn_result_done(&r);
        assert_int_equal(rmdir(dir), 0);

        SpawnOptions gone = { .argv = ARGV("pwd"), .cwd = dir };
        assert_int_equal(spawn_run(&gone, &r), -ENOENT);
}

static void test_no_zombies(void **state) {
        /* Clear anything earlier tests left (the subreaper test may have adopted orphans). */
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;

        for (int i = 0; i < 5; i++) {
                SpawnOptions o = { .argv = ARGV("sh", "-c", "exit 3") };
                SpawnResult r;
                run_ok(&o, &r);
                spawn_result_done(&r);
                SpawnOptions t = { .argv = ARGV("sleep", "5"), .timeout_ms = 50 };
                run_ok(&t, &r);
                spawn_result_done(&r);
        }
        errno = 0;
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_duration(void **state) {
        SpawnOptions o = { .argv = ARGV("sleep", "0.2") };
        SpawnResult r;
        run_ok(&o, &r);
        assert_true(spawn_result_ok(&r));
        assert_true(r.duration_ms >= 190);
        assert_true(r.duration_ms < 15000);
        spawn_result_done(&r);
}

#define THREADS 8
#define RUNS_PER_THREAD 10

static void *thread_main(void *arg) {
        uintptr_t id = (uintptr_t) arg;
        uintptr_t failures = 0;

        for (int i = 0; i < RUNS_PER_THREAD; i++) {
                char in[64 * 1024];
                memset(in, (int) ('A' + id), sizeof(in));
                snprintf(in, 32, "thread %u run %d ", (unsigned) id, i);
                SpawnOptions o = { .argv = ARGV("cat"), .input = in, .input_size = sizeof(in) };
                SpawnResult r;
                if (spawn_run(&o, &r) < 0) {
                        failures++;
                        continue;
                }
                if (!spawn_result_ok(&r) || r.out_size != sizeof(in) || memcmp(r.out, in, sizeof(in)) != 0)
                        failures++;
                spawn_result_done(&r);
        }
        return (void *) failures;
}

static void test_concurrent(void **state) {
        pthread_t t[THREADS];

        for (uintptr_t i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, thread_main, (void *) i), 0);
        for (size_t i = 0; i < THREADS; i++) {
                void *failures;
                assert_int_equal(pthread_join(t[i], &failures), 0);
                assert_int_equal((uintptr_t) failures, 0);
        }
}

/* terminal: stdout and stderr are a raw pseudo-terminal (postfix(1) only talks to one). */
static void test_terminal(void **state) {
        static const struct {
                bool terminal;
                const char *want;
        } cases[] = {
                { false, "no-tty\n" },
                { true, "tty-out tty-err\nline2\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SpawnOptions o = {
                        .argv = ARGV("sh", "-c",
                                     "if test -t 2 && test -t 1; then printf 'tty-out '; printf 'tty-err\\n' >&2; "
                                     "printf 'line2\\n'; else echo no-tty; fi"),
                        .terminal = cases[i].terminal,
                };
                SpawnResult r;
                run_ok(&o, &r);
                assert_true(spawn_result_ok(&r));
                /* Raw mode: no "\r\n" translation. */
                assert_string_equal(r.out, cases[i].want);
                spawn_result_done(&r);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_terminal),
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_timeout_escalates_to_sigkill),
                cmocka_unit_test(test_timeout_kills_grandchildren),
                cmocka_unit_test(test_child_exits_grandchild_lingers),
                cmocka_unit_test(test_output_cap),
                cmocka_unit_test(test_huge_output),
                cmocka_unit_test(test_output_stream),
                cmocka_unit_test(test_huge_stdout_and_stderr),
                cmocka_unit_test(test_literal_arguments),
                cmocka_unit_test(test_stdin_echo),
                cmocka_unit_test(test_stdin_empty_and_absent),
                cmocka_unit_test(test_stdin_not_read),
                cmocka_unit_test(test_stderr_separate_and_merged),
                cmocka_unit_test(test_not_found_and_not_executable),
                cmocka_unit_test(test_environment),
                cmocka_unit_test(test_no_fd_leak),
                cmocka_unit_test(test_signal_state_reset),
                cmocka_unit_test(test_cwd),
                cmocka_unit_test(test_no_zombies),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_concurrent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
