/* Run external commands safely: posix_spawn with argv only, bounded capture, timeout, stdin feed. */
/* posix_spawn */
#include <spawn.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fiber.h"
#include "macro.h"
#include "subprocess.h"

#define SPAWN_KILL_GRACE_MS 500u
#define SPAWN_IO_CHUNK ((size_t) 64 * 1024)
/* Without pidfds we notice the child's exit by polling at this interval. */
#define SPAWN_FALLBACK_TICK_MS 20

/* Like execve: EACCES when something of that name exists but cannot be executed. */
static int check_executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
                return negative_errno();
        return 0;
}

char *spawn_find_program(const char *argv0) {
        if (!argv0 || !*argv0) {
                errno = ENOENT;
                return NULL;
        }
        if (strnlen(argv0, PATH_MAX) >= PATH_MAX) {
                errno = ENAMETOOLONG;
                return NULL;
        }

        if (strchr(argv0, '/')) {
                int r = check_executable(argv0);
                if (r < 0) {
                        errno = -r;
                        return NULL;
                }
                return strdup(argv0);
        }

        bool seen_eacces = false;
        const char *p = SPAWN_SAFE_PATH;
        while (*p) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *candidate = NULL;

                if (n > 0) {
                        if (asprintf(&candidate, "%.*s/%s", (int) n, p, argv0) < 0) {
                                errno = ENOMEM;
                                return NULL;
                        }
                        int r = check_executable(candidate);
                        if (r == 0)
                                return TAKE_PTR(candidate);
                        if (r == -EACCES)
                                seen_eacces = true;
                }
                p += n;
                if (*p == ':')
                        p++;
        }

        errno = seen_eacces ? EACCES : ENOENT;
        return NULL;
}

typedef struct Capture {
        int fd;
        char *buf;
        size_t size;
        size_t allocated;
        size_t cap;
        bool truncated;
        int (*on_data)(const char *data, size_t size, void *userdata); /* instead of buf */
        void *userdata;
} Capture;

static void capture_done(Capture *c) {
        closep(&c->fd);
        c->fd = -1;
        free(c->buf);
        c->buf = NULL;
}

static int capture_init(Capture *c, size_t cap) {
        *c = (Capture) { .fd = -1, .cap = cap };
        c->allocated = MIN(cap, (size_t) 4096) + 1;
        c->buf = malloc(c->allocated);
        if (!c->buf)
                return -ENOMEM;
        c->buf[0] = 0;
        return 0;
}

/* One read from the pipe. Returns 1 on data, 0 when nothing more for now (EOF closes the
 * fd), negative errno on allocation failure (or on_data's). Past the cap, bytes go to
 * scratch and are dropped; with on_data, every read goes to scratch and then to it. */
static int capture_read(Capture *c, char *scratch) {
        if (c->fd < 0)
                return 0;

        char *dst;
        size_t room;
        if (c->on_data) {
                dst = scratch;
                room = SPAWN_IO_CHUNK;
        } else if (c->size < c->cap) {
                size_t want = MIN(c->cap, c->size + SPAWN_IO_CHUNK) + 1;
                if (want > c->allocated) {
                        size_t n = MAX(want, MIN(c->allocated * 2, c->cap + 1));
                        char *b = realloc(c->buf, n);
                        if (!b)
                                return -ENOMEM;
                        c->buf = b;
                        c->allocated = n;
                }
                dst = c->buf + c->size;
                room = MIN(c->cap - c->size, SPAWN_IO_CHUNK);
        } else {
                dst = scratch;
                room = SPAWN_IO_CHUNK;
        }

        ssize_t n = read(c->fd, dst, room);
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return 0;
                /* Nothing sensible to do with a read error on our own pipe: treat as EOF. */
                n = 0;
        }
        if (n == 0) {
                closep(&c->fd);
                c->fd = -1;
                return 0;
        }
        if (c->on_data) {
                int k = c->on_data(dst, (size_t) n, c->userdata);
                return k < 0 ? k : 1;
        }
        if (dst == scratch)
                c->truncated = true;
        else {
                c->size += (size_t) n;
                c->buf[c->size] = 0;
        }
        return 1;
}

/* Puts fd at 3 or above so a dup2 onto 0..2 in the child never finds it already there
 * (dup2 onto itself would keep FD_CLOEXEC set); matters when our caller closed stdio. */
static int move_above_stdio(int *fd) {
        if (*fd > STDERR_FILENO)
                return 0;
        int n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
        if (n < 0)
                return negative_errno();
        close(*fd);
        *fd = n;
        return 0;
}

static int make_pipe(int p[2]) {
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        for (int i = 0; i < 2; i++) {
                int r = move_above_stdio(&p[i]);
                if (r < 0) {
                        close(p[0]);
                        close(p[1]);
                        p[0] = p[1] = -1;
                        return r;
                }
        }
        return 0;
}

/* A pseudo-terminal in raw mode standing in for a pipe: p[0] the master we read,
 * p[1] the terminal the child writes to. Raw, so no "\r\n" rewriting and no echo. */
static int make_pty(int p[2]) {
        char name[64];
        struct termios t;
        int r;

        p[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p[0] < 0)
                return negative_errno();
        p[1] = -1;
        if (grantpt(p[0]) < 0 || unlockpt(p[0]) < 0 || ptsname_r(p[0], name, sizeof name) != 0)
                goto fail;
        p[1] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p[1] < 0)
                goto fail;
        if (tcgetattr(p[1], &t) < 0)
                goto fail;
        cfmakeraw(&t);
        if (tcsetattr(p[1], TCSANOW, &t) < 0)
                goto fail;
        for (int i = 0; i < 2; i++) {
                r = move_above_stdio(&p[i]);
                if (r < 0) {
                        errno = -r;
                        goto fail;
                }
        }
        return 0;
fail:
        r = negative_errno();
        closep(&p[0]);
        closep(&p[1]);
        p[0] = p[1] = -1;
        return r;
}

static void close_pair(int p[2]) {
        closep(&p[0]);
        closep(&p[1]);
        p[0] = p[1] = -1;
}

static int set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

static int build_default_env(char ***ret) {
        static const char *const pass[] = { "TZ", "TERM", "HOME" };
        char **env = calloc(2 + ELEMENTSOF(pass) + 1, sizeof(char *));
        size_t n = 0;

        if (!env)
                return -ENOMEM;
        env[n] = strdup("PATH=" SPAWN_SAFE_PATH);
        if (!env[n++])
                goto oom;
        env[n] = strdup("LC_ALL=C");
        if (!env[n++])
                goto oom;
        for (size_t i = 0; i < ELEMENTSOF(pass); i++) {
                const char *v = getenv(pass[i]);
                if (!v)
                        continue;
                if (asprintf(&env[n], "%s=%s", pass[i], v) < 0) {
                        env[n] = NULL;
                        goto oom;
                }
                n++;
        }
        *ret = env;
        return 0;
oom:
        strv_free(env);
        return -ENOMEM;
}

static void spawn_attr_destroyp(posix_spawnattr_t **a) {
        if (*a)
                posix_spawnattr_destroy(*a);
}

static void spawn_actions_destroyp(posix_spawn_file_actions_t **a) {
        if (*a)
                posix_spawn_file_actions_destroy(*a);
}

static int pidfd_open_child(pid_t pid) {
#ifdef SYS_pidfd_open
        /* pidfds are always close-on-exec. */
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd >= 0)
                return fd;
#endif
        return -1;
}

/* Has the child exited? Does not reap it: while the zombie exists its pid, and with it
 * the process group id, cannot be reused, so kill(-pid) can never hit a stranger. */
static bool child_has_exited(pid_t pid) {
        siginfo_t si = {};
        for (;;) {
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
                        return si.si_pid == pid;
                if (errno != EINTR)
                        return true; /* ECHILD: someone else reaped it; nothing to wait for */
        }
}

typedef struct Feed {
        int fd;
        const uint8_t *data;
        size_t left;
        bool got_epipe;
} Feed;

static void feed_close(Feed *f) {
        closep(&f->fd);
        f->fd = -1;
}

static void feed_write(Feed *f) {
        if (f->fd < 0)
                return;
        while (f->left > 0) {
                ssize_t n = write(f->fd, f->data, MIN(f->left, SPAWN_IO_CHUNK));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        /* EPIPE: the child closed stdin or exited without reading it all. */
                        if (errno == EPIPE)
                                f->got_epipe = true;
                        break;
                }
                f->data += n;
                f->left -= (size_t) n;
        }
        feed_close(f);
}

/*
 * SIGPIPE: writing to a pipe whose reader is gone raises SIGPIPE at the writing thread,
 * which kills the whole process unless the application ignores it. A library must not
 * change the process-wide disposition, and O_NONBLOCK does not prevent the signal. So
 * spawn_run blocks SIGPIPE in the calling thread only (pthread_sigmask), so the write
 * fails with EPIPE instead, and before restoring the mask it consumes the SIGPIPE that its
 * own EPIPE left pending with a zero-timeout sigtimedwait, but only when none was
 * pending before we started, so a SIGPIPE meant for the application is not swallowed.
 * The signal generated by a pipe write is thread-directed, so other threads are unaffected.
 */
typedef struct SigpipeGuard {
        sigset_t old_mask;
        bool was_pending;
} SigpipeGuard;

static void sigpipe_block(SigpipeGuard *g) {
        sigset_t set, pending;

        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, &g->old_mask);
        sigemptyset(&pending);
        sigpending(&pending);
        g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(SigpipeGuard *g, bool got_epipe) {
        if (got_epipe && !g->was_pending) {
                sigset_t set;
                const struct timespec zero = {};

                sigemptyset(&set);
                sigaddset(&set, SIGPIPE);
                while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                        ;
        }
        pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
}

typedef struct Child {
        pid_t pid;
        int pidfd;
        bool exited; /* exit noticed (not reaped yet) */
        bool timed_out;
        uint64_t deadline;      /* timeout_ms after start */
        uint64_t kill_deadline; /* SIGKILL time once SIGTERM was sent */
        bool hard_deadline;     /* deadline is the caller's Deadline, not timeout_ms */
} Child;

/* Reads whatever the pipes hold right now; used once the child is gone, so output a
 * lingering grandchild keeps producing does not hold us beyond the deadline. */
static int drain(Capture *caps[2], char *scratch, uint64_t until) {
        for (bool more = true; more && now_msec() < until;) {
                more = false;
                for (size_t i = 0; i < 2; i++) {
                        int r = capture_read(caps[i], scratch);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                more = true;
                }
        }
        return 0;
}

static int io_loop(Child *c, Capture *out, Capture *err, Feed *feed, char *scratch) {
        Capture *caps[2] = { out, err };

        for (;;) {
                uint64_t now = now_msec();

                if (!c->timed_out && now >= c->deadline) {
                        c->timed_out = true;
                        /* Our own timeout: ask politely first. The caller's deadline is a hard
                         * bound (the run must be over by then): no grace period. */
                        (void) kill(-c->pid, c->hard_deadline ? SIGKILL : SIGTERM);
                        c->kill_deadline = now + (c->hard_deadline ? 0 : SPAWN_KILL_GRACE_MS);
                        feed_close(feed);
                }
                if (c->timed_out && now >= c->kill_deadline)
                        return 0;

                if (c->exited) {
                        if (!c->timed_out)
                                return drain(caps, scratch, c->deadline);
                        /* Timed out: give the rest of the group its grace period to let go of
                         * the pipes; the caller sends SIGKILL to the group afterwards anyway. */
                        int r = drain(caps, scratch, c->kill_deadline);
                        if (r < 0)
                                return r;
                        if (out->fd < 0 && err->fd < 0)
                                return 0;
                }

                struct pollfd pfd[4];
                nfds_t n = 0;
                int idx_out = -1, idx_err = -1, idx_in = -1, idx_pid = -1;

                if (out->fd >= 0) {
                        idx_out = (int) n;
                        pfd[n++] = (struct pollfd) { .fd = out->fd, .events = POLLIN };
                }
                if (err->fd >= 0) {
                        idx_err = (int) n;
                        pfd[n++] = (struct pollfd) { .fd = err->fd, .events = POLLIN };
                }
                if (feed->fd >= 0) {
                        idx_in = (int) n;
                        pfd[n++] = (struct pollfd) { .fd = feed->fd, .events = POLLOUT };
                }
                if (c->pidfd >= 0 && !c->exited) {
                        idx_pid = (int) n;
                        pfd[n++] = (struct pollfd) { .fd = c->pidfd, .events = POLLIN };
                }

                uint64_t until = c->timed_out ? c->kill_deadline : c->deadline;
                uint64_t wait_ms = until > now ? until - now : 0;
                if (c->pidfd < 0 && !c->exited)
                        wait_ms = MIN(wait_ms, (uint64_t) SPAWN_FALLBACK_TICK_MS);
                if (wait_ms > INT_MAX)
                        wait_ms = INT_MAX;

                /* Through the fiber's loop when there is one: other probes run meanwhile. */
                int k = fiber_poll(pfd, n, deadline_in_ms(wait_ms));
                if (k < 0)
                        return k;

                if (idx_out >= 0 && pfd[idx_out].revents) {
                        int r = capture_read(out, scratch);
                        if (r < 0)
                                return r;
                }
                if (idx_err >= 0 && pfd[idx_err].revents) {
                        int r = capture_read(err, scratch);
                        if (r < 0)
                                return r;
                }
                if (idx_in >= 0 && pfd[idx_in].revents)
                        feed_write(feed);
                if (idx_pid >= 0 && pfd[idx_pid].revents)
                        c->exited = true;
                if (c->pidfd < 0 && !c->exited)
                        c->exited = child_has_exited(c->pid);
        }
}

static int reap(pid_t pid, int *ret_status) {
        for (;;) {
                if (waitpid(pid, ret_status, 0) == pid)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

/* A cancelled fiber's child, killed: reaped on the fiber's loop once its pidfd says it is
 * gone, so the cancel does not wait for it to die. Waiting took up to 140 ms per child on
 * a loaded machine, and the dashboard's F5 cancels the dozen tools of the refresh going
 * on: 600 ms in which the keys waited. */
typedef struct Reaper {
        pid_t pid; /* -1 once reaped */
        int pidfd;
} Reaper;

static int on_reaper(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Reaper *rp = userdata;
        if (!child_has_exited(rp->pid))
                return 0;
        int status;
        if (waitpid(rp->pid, &status, WNOHANG) != rp->pid && errno == EINTR)
                return 0; /* again on the next event */
        rp->pid = -1;
        /* the loop holds the only reference: dropping it frees the source (and rp) */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

static void reaper_free(void *userdata) {
        Reaper *rp = userdata;
        if (rp->pid > 0) {
                int status;
                (void) reap(rp->pid, &status); /* the loop goes first: no zombie left behind */
        }
        closep(&rp->pidfd);
        free(rp);
}

/* Takes pidfd when it returns true. */
static bool reap_later(pid_t pid, int pidfd) {
        sd_event *e = fiber_event();
        sd_event_source *s = NULL;
        if (!e || pidfd < 0)
                return false;
        Reaper *rp = malloc(sizeof(Reaper));
        if (!rp)
                return false;
        *rp = (Reaper) { .pid = pid, .pidfd = pidfd };
        if (sd_event_add_io(e, &s, pidfd, EPOLLIN, on_reaper, rp) < 0) {
                free(rp);
                return false;
        }
        (void) sd_event_source_set_destroy_callback(s, reaper_free);
        if (sd_event_source_set_floating(s, true) < 0) {
                sd_event_source_disable_unref(s); /* reaper_free reaps, closes, frees */
                return true;
        }
        sd_event_source_unref(s);
        return true;
}

int spawn_run(const SpawnOptions *opts, SpawnResult *ret) {
        _cleanup_free_ char *path = NULL, *scratch = NULL;
        _cleanup_strv_free_ char **default_env = NULL;
        _cleanup_close_ int cwd_fd = -1, null_fd = -1;
        posix_spawnattr_t attr_storage;
        posix_spawn_file_actions_t actions_storage;
        _cleanup_(spawn_attr_destroyp) posix_spawnattr_t *attr = NULL;
        _cleanup_(spawn_actions_destroyp) posix_spawn_file_actions_t *actions = NULL;
        int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, in_pipe[2] = { -1, -1 };
        Capture out = { .fd = -1 }, err = { .fd = -1 };
        Feed feed = { .fd = -1 };
        int r;

        if (!opts || !opts->argv || !opts->argv[0] || !ret)
                return -EINVAL;
        if (opts->input_size > 0 && !opts->input)
                return -EINVAL;

        /* A cancelled fiber unwinding through a check that runs several tools starts none
         * of them (each start costs the loop an exec's time, only to be killed). */
        if (fiber_is_cancelled())
                return -ECANCELED;

        /* Resolve first so "not installed" is a clean -ENOENT with nothing started. */
        path = spawn_find_program(opts->argv[0]);
        if (!path)
                return negative_errno();

        /* The caller's time is up already: report a timeout without starting anything (a
         * check that runs several tools must not spend a kill grace period on each). */
        if (deadline_passed(opts->deadline)) {
                char *o = strdup(""), *e = strdup("");
                if (!o || !e) {
                        free(o);
                        free(e);
                        return -ENOMEM;
                }
                *ret = (SpawnResult) { .timed_out = true, .out = o, .err = e };
                return 0;
        }

        size_t cap = opts->max_output ? opts->max_output : SPAWN_DEFAULT_MAX_OUTPUT;
        if (cap >= SIZE_MAX / 2)
                return -EINVAL;
        unsigned timeout_ms = opts->timeout_ms ? opts->timeout_ms : SPAWN_DEFAULT_TIMEOUT_MS;
        bool merge = opts->merge_stderr || opts->terminal;

        char *const *envp;
        if (opts->envp)
                envp = (char *const *) opts->envp;
        else {
                r = build_default_env(&default_env);
                if (r < 0)
                        return r;
                envp = default_env;
        }

        /* Validate the working directory here: a failing chdir inside posix_spawn would come
         * back as -ENOENT, indistinguishable from a missing program. */
        cwd_fd = open(opts->cwd ? opts->cwd : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cwd_fd < 0)
                return negative_errno();

        scratch = malloc(SPAWN_IO_CHUNK);
        if (!scratch)
                return -ENOMEM;
        r = capture_init(&out, cap);
        if (r < 0)
                goto finish;
        out.on_data = opts->on_output;
        out.userdata = opts->userdata;
        r = capture_init(&err, cap);
        if (r < 0)
                goto finish;

        r = opts->terminal ? make_pty(out_pipe) : make_pipe(out_pipe);
        if (r < 0)
                goto finish;
        if (!merge) {
                r = make_pipe(err_pipe);
                if (r < 0)
                        goto finish;
        }
        if (opts->input) {
                r = make_pipe(in_pipe);
                if (r < 0)
                        goto finish;
        }

        r = -posix_spawnattr_init(&attr_storage);
        if (r < 0)
                goto finish;
        attr = &attr_storage;
        r = -posix_spawn_file_actions_init(&actions_storage);
        if (r < 0)
                goto finish;
        actions = &actions_storage;

        /* Own process group, so a timeout kills everything the child started; default
         * dispositions and an empty mask, since our caller may ignore or block signals. */
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        r = -posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                                    POSIX_SPAWN_SETSIGMASK);
        if (r == 0)
                r = -posix_spawnattr_setpgroup(attr, 0);
        if (r == 0)
                r = -posix_spawnattr_setsigdefault(attr, &all);
        if (r == 0)
                r = -posix_spawnattr_setsigmask(attr, &none);
        if (r < 0)
                goto finish;

        if (opts->input)
                r = -posix_spawn_file_actions_adddup2(actions, in_pipe[0], STDIN_FILENO);
        else {
                null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (null_fd < 0) {
                        r = negative_errno();
                        goto finish;
                }
                r = move_above_stdio(&null_fd);
                if (r == 0)
                        r = -posix_spawn_file_actions_adddup2(actions, null_fd, STDIN_FILENO);
        }
        if (r == 0)
                r = -posix_spawn_file_actions_adddup2(actions, out_pipe[1], STDOUT_FILENO);
        if (r == 0)
                r = -posix_spawn_file_actions_adddup2(
                        actions, merge ? out_pipe[1] : err_pipe[1], STDERR_FILENO);
        if (r == 0)
                r = -posix_spawn_file_actions_addfchdir_np(actions, cwd_fd);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
        /* Our fds are all O_CLOEXEC, but other threads or libraries may hold fds without it
         * (or race an open+fcntl); close everything above stderr in the child regardless. */
        if (r == 0)
                r = -posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1);
#endif
        if (r < 0)
                goto finish;

        Child child = { .pid = -1, .pidfd = -1 };
        SigpipeGuard guard;
        uint64_t start = now_msec();

        r = -posix_spawn(&child.pid, path, actions, attr, (char *const *) opts->argv, envp);
        if (r < 0)
                goto finish;

        /* The child has its copies; close ours so EOF arrives when it exits. */
        closep(&out_pipe[1]);
        out_pipe[1] = -1;
        closep(&err_pipe[1]);
        err_pipe[1] = -1;
        closep(&in_pipe[0]);
        in_pipe[0] = -1;

        out.fd = TAKE_FD(out_pipe[0]);
        err.fd = TAKE_FD(err_pipe[0]);
        feed = (Feed) { .fd = TAKE_FD(in_pipe[1]), .data = opts->input, .left = opts->input_size };
        child.pidfd = pidfd_open_child(child.pid);
        child.deadline = start + timeout_ms;
        if (deadline_is_set(opts->deadline) && opts->deadline.usec / USEC_PER_MSEC <= child.deadline) {
                child.deadline = opts->deadline.usec / USEC_PER_MSEC;
                child.hard_deadline = true;
        }

        sigpipe_block(&guard);
        int io_r = 0;
        if (out.fd >= 0)
                io_r = set_nonblock(out.fd);
        if (io_r == 0 && err.fd >= 0)
                io_r = set_nonblock(err.fd);
        if (io_r == 0 && feed.fd >= 0) {
                io_r = set_nonblock(feed.fd);
                if (io_r == 0 && feed.left == 0)
                        feed_close(&feed);
        }
        if (io_r == 0)
                io_r = io_loop(&child, &out, &err, &feed, scratch);
        if (io_r < 0 && !child.timed_out) {
                /* We cannot supervise it any more; do not leave it running unattended. */
                (void) kill(-child.pid, SIGKILL);
        }
        feed_close(&feed);
        sigpipe_restore(&guard, feed.got_epipe);

        if (child.timed_out)
                /* The leader is not reaped yet, so the group id still belongs to it. */
                (void) kill(-child.pid, SIGKILL);
        if (io_r == -ECANCELED && reap_later(child.pid, child.pidfd)) {
                r = io_r;
                goto finish;
        }
        closep(&child.pidfd);

        int status = 0;
        r = reap(child.pid, &status);
        uint64_t duration = now_msec() - start;
        if (r == 0)
                r = io_r;
        if (r < 0)
                goto finish;

        *ret = (SpawnResult) {
                .exited = WIFEXITED(status),
                .exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                .signalled = WIFSIGNALED(status),
                .term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                .timed_out = child.timed_out,
                .out = TAKE_PTR(out.buf),
                .out_size = out.size,
                .out_truncated = out.truncated,
                .err = TAKE_PTR(err.buf),
                .err_size = err.size,
                .err_truncated = err.truncated,
                .duration_ms = duration,
        };
        r = 0;

finish:
        capture_done(&out);
        capture_done(&err);
        feed_close(&feed);
        close_pair(out_pipe);
        close_pair(err_pipe);
        close_pair(in_pipe);
        return r;
}

void spawn_result_done(SpawnResult *r) {
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (SpawnResult) {};
}

bool spawn_result_ok(const SpawnResult *r) {
        return r && r->exited && r->exit_status == 0 && !r->timed_out;
}
