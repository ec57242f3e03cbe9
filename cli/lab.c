/* mxdeck lab: run a command on a throwaway host (namespaces, overlays, its own journald). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "deadline.h"
#include "macro.h"
#include "verbs.h"

const char verb_lab_usage[] = N_(
        "Usage: mxdeck lab [--hostname NAME] [--] [COMMAND [ARGS...]]\n"
        "       mxdeck lab --rehearse [--hostname NAME]\n"
        "\n"
        "Run COMMAND (default: an interactive $SHELL, else /bin/bash or /bin/sh) on a\n"
        "throwaway lab host, then discard the lab. Inside it:\n"
        "  - /etc, /var, /home, /root, /run, /srv, /usr, /opt and /dev are overlays: the\n"
        "    host's files are visible, but what is written there vanishes when COMMAND ends;\n"
        "  - the network has only loopback: ports are free and nothing leaves the lab;\n"
        "  - PIDs, hostname, IPC and the machine ID are the lab's own, and a private\n"
        "    journald serves /dev/log, so 'journalctl' shows the lab's logs only;\n"
        "  - MXDECK_LAB=1 is set.\n"
        "/tmp and the other directories are shared with the host: pass files in and out\n"
        "there. When COMMAND ends, every process left in the lab is killed.\n"
        "\n"
        "--rehearse: try the whole product without touching this server. Inside a lab\n"
        "host (default name mail.rehearsal.test) the setup wizard starts as on a fresh\n"
        "install, sets up the lab's Postfix and Dovecot for real, then the dashboard opens\n"
        "with generated traffic: deliveries, a deferral, a refused relay attempt and failed\n"
        "logins. The answers can be saved to /tmp/mxdeck-rehearsal-answers.ini, for\n"
        "'mxdeck setup --answers' on the real server. Needs a terminal.\n"
        "\n"
        "Options:\n"
        "      --rehearse       the rehearsal described above\n"
        "      --hostname NAME  hostname inside the lab (default: the host's); the lab's\n"
        "                       /etc/hosts also maps NAME (and its first label) to\n"
        "                       127.0.0.1, so 'hostname -f' and Postfix's myhostname work\n"
        "  -h, --help           show this help\n"
        "\n"
        "Exit status: COMMAND's (128+N when it was killed by signal N), 1 when the lab\n"
        "could not be set up, 2 on usage errors. Needs root.\n");

/* Directories whose writes must not reach the host. /dev is handled on its own. */
static const char *const overlay_dirs[] = { "/etc", "/var", "/home", "/root", "/run", "/srv",
                                            /* so that a rehearsed package install leaves nothing behind */
                                            "/usr", "/opt" };

#define JOURNALD_PATH "/lib/systemd/systemd-journald"
#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_DEV_LOG JOURNAL_DIR "/dev-log"
#define JOURNALD_DROPIN_DIR "/etc/systemd/journald.conf.d"
#define JOURNALD_DROPIN JOURNALD_DROPIN_DIR "/00-mxdeck-lab.conf"
#define JOURNAL_READY_TIMEOUT_MS 5000
#define KILL_ALL_TIMEOUT_MS 5000
#define POLL_INTERVAL_MS 10
/* mountinfo lines are written by the kernel, but bound them anyway. */
#define MOUNTINFO_LINE_MAX (64 * 1024)
#define MOUNTINFO_ENTRIES_MAX 4096

typedef struct LabOptions {
        const char *hostname;   /* NULL: keep the host's */
        char **argv;            /* NULL-terminated command */
        const char *scratch;    /* empty host directory the lab mounts its tmpfs on */
        const char *cwd;        /* NULL if unknown */
        bool tty_foreground;    /* stdin is our controlling terminal and we own it */
        bool banner;
        int alive_fd;           /* read end of a pipe the outer process holds open */
} LabOptions;

static void reset_signals(void);

static volatile sig_atomic_t forward_pid; /* outer process: where SIGTERM/SIGHUP go */

static int _printf_(2, 3) lab_error(int r, const char *fmt, ...) {
        va_list ap;

        fputs("mxdeck lab: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (r < 0)
                fprintf(stderr, ": %s", strerror(-r));
        fputc('\n', stderr);
        return r;
}

static void _printf_(2, 3) lab_warning(int r, const char *fmt, ...) {
        va_list ap;

        fputs("mxdeck lab: ", stderr);
        fputs(_("warning: "), stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (r < 0)
                fprintf(stderr, ": %s", strerror(-r));
        fputc('\n', stderr);
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Undoes the octal escapes (\040 etc.) of a mountinfo path, in place. */
static void mountinfo_unescape(char *s) {
        char *w = s;

        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

static bool path_is_below(const char *path, const char *dir) {
        const char *rest = startswith(path, dir);

        return rest && rest[0] == '/';
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The outermost mount points strictly below dir (no trailing slash), sorted, each once:
 * binding those recursively brings back everything that was mounted below dir. */
static int list_submounts(const char *dir, char ***ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_strv_free_ char **all = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n_all = 0, cap = 0;

        if (!f)
                return -errno;

        for (;;) {
                errno = 0;
                ssize_t l = getline(&line, &cap, f);
                if (l < 0) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (l > MOUNTINFO_LINE_MAX || n_all >= MOUNTINFO_ENTRIES_MAX)
                        return -E2BIG;

                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
                char *save = NULL, *field = strtok_r(line, " ", &save);
                for (int i = 0; field && i < 4; i++)
                        field = strtok_r(NULL, " ", &save);
                if (!field)
                        continue;
                mountinfo_unescape(field);
                if (!path_is_below(field, dir))
                        continue;

                char **grown = realloc(all, (n_all + 2) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                all = grown;
                all[n_all] = strdup(field);
                if (!all[n_all])
                        return -ENOMEM;
                all[++n_all] = NULL;
        }

        char **kept = calloc(n_all + 1, sizeof(char *));
        size_t n_kept = 0;

        if (!kept)
                return -ENOMEM;
        if (n_all > 0)
                qsort(all, n_all, sizeof(char *), strcmp_ptr);
        for (size_t i = 0; i < n_all; i++) {
                bool covered = false;

                for (size_t j = 0; j < n_kept && !covered; j++)
                        covered = streq(all[i], kept[j]) || path_is_below(all[i], kept[j]);
                if (!covered)
                        kept[n_kept++] = TAKE_PTR(all[i]);
        }
        /* The untaken entries are freed with 'all'; close the gaps first. ('all' is still
         * NULL when nothing is mounted below dir.) */
        if (all) {
                size_t w = 0;
                for (size_t i = 0; i < n_all; i++)
                        if (all[i])
                                all[w++] = all[i];
                all[w] = NULL;
        }

        *ret = kept;
        return 0;
}

/* Mounts an overlay on dir (lower: dir itself) with its upper and work dirs on the scratch
 * tmpfs. The upper dir gets the owner and mode of dir, because the overlay's root shows it. */
static int mount_overlay(const char *scratch, const char *dir, unsigned long flags) {
        _cleanup_free_ char *upper = NULL, *work = NULL, *opts = NULL;
        struct stat st;

        if (lstat(dir, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return lab_error(-errno, _("cannot look at %s"), dir);
        }
        if (!S_ISDIR(st.st_mode)) /* e.g. a symlink into another overlaid tree */
                return 0;

        if (asprintf(&upper, "%s/upper%s", scratch, dir) < 0 || asprintf(&work, "%s/work%s", scratch, dir) < 0)
                return lab_error(-ENOMEM, _("cannot mount overlay on %s"), dir);
        if (mkdir(upper, 0700) < 0 || mkdir(work, 0700) < 0)
                return lab_error(-errno, _("cannot create the overlay directories for %s"), dir);
        if (chown(upper, st.st_uid, st.st_gid) < 0 || chmod(upper, st.st_mode & 07777) < 0)
                return lab_error(-errno, _("cannot set up the overlay directories for %s"), dir);

        if (asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work) < 0)
                return lab_error(-ENOMEM, _("cannot mount overlay on %s"), dir);
        if (mount("overlay", dir, "overlay", flags, opts) < 0)
                return lab_error(-errno, _("cannot mount overlay on %s"), dir);
        return 0;
}

/* Puts the submounts listed in subs back on top of a freshly mounted dir, taking them from
 * keep, where dir's old tree was bound. Mount points in skip are left alone. */
static int rebind_submounts(const char *dir, const char *keep, char **subs, const char *const *skip,
                            bool tolerate) {
        for (char **s = subs; *s; s++) {
                _cleanup_free_ char *src = NULL;
                bool skipped = false;

                for (const char *const *k = skip; k && *k && !skipped; k++)
                        skipped = streq(*s, *k);
                if (skipped)
                        continue;
                if (asprintf(&src, "%s%s", keep, *s + strlen(dir)) < 0)
                        return lab_error(-ENOMEM, _("cannot bind %s into the lab"), *s);
                if (mount(src, *s, NULL, MS_BIND | MS_REC, NULL) < 0) {
                        if (!tolerate)
                                return lab_error(-errno, _("cannot bind %s into the lab"), *s);
                        lab_warning(-errno, _("cannot bind %s into the lab"), *s);
                }
        }
        return 0;
}

/* The lab's /dev: an overlay over the host's (so all device nodes are there and /dev/log can
 * be created without touching the host), the host's /dev/pts and other submounts bound back
 * on top (the terminal keeps working), and a fresh /dev/shm and /dev/mqueue, which belong to
 * the lab's IPC namespace. */
static int setup_dev(const char *scratch) {
        static const char *const fresh[] = { "/dev/shm", "/dev/mqueue", NULL };
        _cleanup_strv_free_ char **subs = NULL;
        _cleanup_free_ char *keep = NULL;
        int r;

        r = list_submounts("/dev", &subs);
        if (r < 0)
                return lab_error(r, _("cannot read the mounts below /dev"));

        if (asprintf(&keep, "%s/keep-dev", scratch) < 0)
                return lab_error(-ENOMEM, _("cannot set up /dev"));
        if (mkdir(keep, 0700) < 0)
                return lab_error(-errno, _("cannot create %s"), keep);
        if (mount("/dev", keep, NULL, MS_BIND | MS_REC, NULL) < 0)
                return lab_error(-errno, _("cannot bind /dev to %s"), keep);

        r = mount_overlay(scratch, "/dev", MS_NOSUID);
        if (r < 0)
                return r;

        r = rebind_submounts("/dev", keep, subs, fresh, false);
        if (r < 0)
                return r;

        if (mkdir("/dev/shm", 01777) < 0 && errno != EEXIST)
                return lab_error(-errno, _("cannot create /dev/shm"));
        if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                return lab_error(-errno, _("cannot mount a tmpfs on /dev/shm"));
        /* POSIX message queues are optional in the kernel; nothing here needs them. */
        if (mkdir("/dev/mqueue", 0755) == 0 || errno == EEXIST)
                (void) mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

        if (umount2(keep, MNT_DETACH) < 0)
                return lab_error(-errno, _("cannot detach %s"), keep);
        return 0;
}

/* A sysfs of the lab's own network namespace, so /sys/class/net lists its interfaces; the
 * cgroup and other mounts below /sys are bound back. Optional: on failure /sys stays the host's. */
static void setup_sys(const char *scratch) {
        _cleanup_strv_free_ char **subs = NULL;
        _cleanup_free_ char *keep = NULL;
        int r;

        r = list_submounts("/sys", &subs);
        if (r < 0) {
                lab_warning(r, _("cannot read the mounts below /sys; keeping the host's /sys"));
                return;
        }
        if (asprintf(&keep, "%s/keep-sys", scratch) < 0)
                return;
        if (mkdir(keep, 0700) < 0 || mount("/sys", keep, NULL, MS_BIND | MS_REC, NULL) < 0) {
                lab_warning(-errno, _("cannot bind /sys to %s; keeping the host's /sys"), keep);
                return;
        }
        if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                lab_warning(-errno, _("cannot mount sysfs on /sys; /sys shows the host's network"));
        else
                (void) rebind_submounts("/sys", keep, subs, NULL, true);
        if (umount2(keep, MNT_DETACH) < 0)
                lab_warning(-errno, _("cannot detach %s"), keep);
}

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (fd < 0)
                return -errno;
        memcpy(ifr.ifr_name, "lo", sizeof("lo"));
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

/* A lab is another host: a fresh machine ID also keeps its journal files apart from the
 * host's (journald would otherwise copy the host's big journal files up into the tmpfs). */
static int write_machine_id(void) {
        static const char hex[] = "0123456789abcdef";
        uint8_t b[16];
        char s[33];

        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                return -EIO;
        b[6] = (uint8_t) ((b[6] & 0x0F) | 0x40); /* a v4 UUID, like systemd-machine-id-setup */
        b[8] = (uint8_t) ((b[8] & 0x3F) | 0x80);
        for (size_t i = 0; i < sizeof(b); i++) {
                s[2 * i] = hex[b[i] >> 4];
                s[2 * i + 1] = hex[b[i] & 15];
        }
        s[32] = '\n';

        if (unlink("/etc/machine-id") < 0 && errno != ENOENT)
                return -errno;
        _cleanup_close_ int fd = open("/etc/machine-id", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
                return -errno;
        if (write(fd, s, sizeof(s)) != (ssize_t) sizeof(s))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* The lab's name resolves in the lab, as on a configured server: "hostname -f" and
 * Postfix's default myhostname work. 127.0.0.1 rather than Debian's 127.0.1.1, so that
 * daemons listening on loopback only (inet_interfaces = loopback-only) answer at it. */
static int add_hosts_entry(const char *name) {
        _cleanup_fclose_ FILE *f = fopen("/etc/hosts", "ae");
        size_t short_len = strcspn(name, ".");

        if (!f)
                return -errno;
        if (name[short_len])
                fprintf(f, "127.0.0.1\t%s %.*s\n", name, (int) short_len, name);
        else
                fprintf(f, "127.0.0.1\t%s\n", name);
        return fflush(f) == 0 ? 0 : -errno;
}

/* The lab's /run is an overlay of the host's: the host's systemd and D-Bus sockets would
 * still answer there, and a program in the lab (mxdeck check among them) would think
 * systemd runs the lab and ask it about the host's units. Remove the markers in the
 * lab's layer only (whiteouts); the lab has no service manager, and says so. */
static int hide_host_managers(void) {
        static const char *const sockets[] = {
                "/run/dbus/system_bus_socket",
                "/run/systemd/private",
                "/run/systemd/notify",
                "/run/systemd/io.system.ManagedOOM",
        };
        for (size_t i = 0; i < ELEMENTSOF(sockets); i++)
                if (unlink(sockets[i]) < 0 && errno != ENOENT)
                        return lab_error(-errno, _("cannot remove %s"), sockets[i]);
        /* sd_booted() looks for this directory. */
        if (rmdir("/run/systemd/system") < 0 && errno != ENOENT) {
                if (errno != ENOTEMPTY)
                        return lab_error(-errno, _("cannot remove %s"), "/run/systemd/system");
                /* Not empty (it usually is): move it out of the way instead. */
                if (rename("/run/systemd/system", "/run/systemd/system.host") < 0)
                        return lab_error(-errno, _("cannot hide %s"), "/run/systemd/system");
        }
        return 0;
}

/* The host's kernel messages are not the lab's, and lab emergencies must not be written to
 * the host's terminals (the lab's /run/utmp is the host's). */
static int write_journald_dropin(void) {
        static const char text[] =
                "# Written by mxdeck lab for its throwaway journald.\n"
                "[Journal]\n"
                "ReadKMsg=no\n"
                "ForwardToWall=no\n";
        int r;

        r = mkdir_p(JOURNALD_DROPIN_DIR, 0755);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(JOURNALD_DROPIN, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, sizeof(text) - 1) != (ssize_t) sizeof(text) - 1)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static bool is_socket(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Starts the lab's journald (it binds its own sockets when not socket-activated) and points
 * /dev/log at it. Returns 0 also when journald is not installed (after a warning). */
static int start_journald(void) {
        static const char *const stale[] = { "socket", "stdout", "dev-log", "syslog", "io.systemd.journal" };
        int r;

        if (access(JOURNALD_PATH, X_OK) < 0) {
                lab_warning(-errno, _("%s is not usable; the lab has no /dev/log"), JOURNALD_PATH);
                return 0;
        }

        r = mkdir_p(JOURNAL_DIR, 0755);
        if (r < 0)
                return lab_error(r, _("cannot create %s"), JOURNAL_DIR);
        /* /run is an overlay of the host's: drop sockets a host journald may have left there,
         * or waiting for them below would be fooled. */
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, JOURNAL_DIR "/%s", stale[i]) < 0)
                        return lab_error(-ENOMEM, _("cannot start journald"));
                if (unlink(p) < 0 && errno != ENOENT)
                        return lab_error(-errno, _("cannot remove %s"), p);
        }

        r = write_journald_dropin();
        if (r < 0)
                return lab_error(r, _("cannot write %s"), JOURNALD_DROPIN);

        pid_t pid = fork();
        if (pid < 0)
                return lab_error(-errno, _("cannot start journald"));
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(EXIT_FAILED);
                (void) setsid(); /* away from the terminal and its signals */
                (void) chdir("/");
                reset_signals(); /* init ignores or blocks some; journald must not inherit that */
                execl(JOURNALD_PATH, "systemd-journald", (char *) NULL);
                _exit(127);
        }

        uint64_t deadline = now_msec() + JOURNAL_READY_TIMEOUT_MS;
        for (;;) {
                int status;

                if (is_socket(JOURNAL_DIR "/socket") && is_socket(JOURNAL_DEV_LOG))
                        break;
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return lab_error(0, _("cannot start journald: it exited with status %d"),
                                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                if (now_msec() >= deadline)
                        return lab_error(0, _("cannot start journald: %s did not appear within %d s"),
                                         JOURNAL_DEV_LOG, JOURNAL_READY_TIMEOUT_MS / 1000);
                sleep_ms(POLL_INTERVAL_MS);
        }

        if (unlink("/dev/log") < 0 && errno != ENOENT)
                return lab_error(-errno, _("cannot remove the lab's /dev/log"));
        if (symlink(JOURNAL_DEV_LOG, "/dev/log") < 0)
                return lab_error(-errno, _("cannot create /dev/log"));
        return 0;
}

/* Everything from the namespaces to journald; runs as PID 1 of the new PID namespace. */
static int lab_setup(const LabOptions *o) {
        static const char *const drop_env[] = {
                /* They describe the host's service manager and journal, not the lab's. */
                "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID",
                "WATCHDOG_USEC", "JOURNAL_STREAM", "INVOCATION_ID",
        };
        _cleanup_free_ char *upper = NULL, *work = NULL;
        int r;

        if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0)
                return lab_error(-errno, _("cannot create the mount, UTS, IPC and network namespaces"));
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return lab_error(-errno, _("cannot make the mounts private"));
        if (o->hostname && sethostname(o->hostname, strlen(o->hostname)) < 0)
                return lab_error(-errno, _("cannot set the hostname"));
        r = loopback_up();
        if (r < 0)
                return lab_error(r, _("cannot bring up the loopback interface"));

        if (mount("tmpfs", o->scratch, "tmpfs", MS_NOSUID, "mode=0700") < 0)
                return lab_error(-errno, _("cannot mount a tmpfs on %s"), o->scratch);
        if (asprintf(&upper, "%s/upper", o->scratch) < 0 || asprintf(&work, "%s/work", o->scratch) < 0)
                return lab_error(-ENOMEM, _("cannot set up the overlays"));
        if (mkdir(upper, 0700) < 0 || mkdir(work, 0700) < 0)
                return lab_error(-errno, _("cannot create the overlay directories in %s"), o->scratch);

        for (size_t i = 0; i < ELEMENTSOF(overlay_dirs); i++) {
                r = mount_overlay(o->scratch, overlay_dirs[i], 0);
                if (r < 0)
                        return r;
        }
        r = setup_dev(o->scratch);
        if (r < 0)
                return r;
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return lab_error(-errno, _("cannot mount /proc"));
        setup_sys(o->scratch);

        /* The overlays keep their layers; hide the scratch tmpfs from the lab. */
        if (umount2(o->scratch, MNT_DETACH) < 0)
                return lab_error(-errno, _("cannot detach the scratch tmpfs from %s"), o->scratch);

        r = write_machine_id();
        if (r < 0)
                return lab_error(r, _("cannot write the lab's /etc/machine-id"));

        if (o->hostname) {
                r = add_hosts_entry(o->hostname);
                if (r < 0)
                        return lab_error(r, _("cannot add %s to the lab's /etc/hosts"), o->hostname);
        }

        r = hide_host_managers();
        if (r < 0)
                return r;

        /* Our working directory still points into the host's trees, below the overlays. */
        if (!o->cwd || chdir(o->cwd) < 0)
                if (chdir("/") < 0)
                        return lab_error(-errno, _("cannot change to /"));

        for (size_t i = 0; i < ELEMENTSOF(drop_env); i++)
                (void) unsetenv(drop_env[i]);
        if (setenv("MXDECK_LAB", "1", 1) < 0)
                return lab_error(-errno, _("cannot set MXDECK_LAB"));

        return start_journald();
}

static void reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL); /* fails for glibc's reserved ones */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

static pid_t start_command(const LabOptions *o) {
        pid_t pid = fork();

        if (pid != 0) {
                if (pid > 0)
                        (void) setpgid(pid, pid); /* also in the child: whoever runs first */
                return pid;
        }

        /* Its own process group, in the foreground of the terminal: job control works, and
         * ^C reaches only the command, never the lab's init. */
        (void) setpgid(0, 0);
        if (o->tty_foreground) {
                (void) signal(SIGTTOU, SIG_IGN);
                (void) tcsetpgrp(STDIN_FILENO, getpid());
        }
        reset_signals();
        if (o->banner)
                fprintf(stderr, _("mxdeck lab: you are on a throwaway lab host; what you change is discarded when this shell exits.\n"));
        execvp(o->argv[0], o->argv);
        int r = errno;
        lab_error(-r, _("cannot run %s"), o->argv[0]);
        _exit(r == ENOENT ? 127 : 126);
}

static void noop_handler(int sig) {
}

/* SIGKILLs everything left in the PID namespace and reaps it, bounded: the kernel kills
 * whatever remains when we exit anyway. */
static void kill_all(void) {
        uint64_t deadline = now_msec() + KILL_ALL_TIMEOUT_MS;

        do {
                (void) kill(-1, SIGKILL); /* from PID 1: every other process of the namespace */
                for (;;) {
                        pid_t p = waitpid(-1, NULL, WNOHANG);

                        if (p > 0)
                                continue;
                        if (p < 0 && errno == ECHILD)
                                return;
                        break;
                }
                sleep_ms(POLL_INTERVAL_MS);
        } while (now_msec() < deadline);
}

/* PID 1 of the lab. Returns the exit status for the outer process. */
static int lab_init(const LabOptions *o, const sigset_t *outer_mask) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, noop = { .sa_handler = noop_handler };
        sigset_t waitset;
        int status = EXIT_FAILED;

        /* PID 1 only receives signals from outside its namespace that it has a handler for
         * (SIG_DFL ones are dropped), so handlers go in first and the signals stay blocked:
         * a SIGTERM/SIGHUP during set-up stays pending, and ends the lab right after it. */
        sigemptyset(&waitset);
        sigaddset(&waitset, SIGCHLD);
        sigaddset(&waitset, SIGTERM);
        sigaddset(&waitset, SIGHUP);
        (void) sigaction(SIGCHLD, &noop, NULL);
        (void) sigaction(SIGTERM, &noop, NULL);
        (void) sigaction(SIGHUP, &noop, NULL);
        (void) sigaction(SIGINT, &ign, NULL);
        (void) sigaction(SIGQUIT, &ign, NULL);
        sigset_t mask = *outer_mask;
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL); /* the outer mxdeck was killed: so is the lab */
        /* ... unless it died before the line above: then its end of the pipe is closed. */
        struct pollfd alive = { .fd = o->alive_fd, .events = POLLIN };
        if (poll(&alive, 1, 0) > 0 && (alive.revents & (POLLHUP | POLLERR)))
                return EXIT_FAILED;

        if (lab_setup(o) < 0) {
                kill_all();
                return EXIT_FAILED;
        }

        sigset_t pending;
        if (sigpending(&pending) == 0)
                for (int sig = SIGHUP; sig <= SIGTERM; sig++)
                        if ((sig == SIGHUP || sig == SIGTERM) && sigismember(&pending, sig)) {
                                kill_all(); /* journald */
                                return 128 + sig;
                        }

        fflush(NULL);
        pid_t cmd = start_command(o);
        if (cmd < 0) {
                lab_error(-errno, _("cannot start %s"), o->argv[0]);
                kill_all();
                return EXIT_FAILED;
        }

        for (bool done = false; !done;) {
                int sig = sigwaitinfo(&waitset, NULL);

                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        if (kill(-cmd, sig) < 0) /* it may have left its process group */
                                (void) kill(cmd, sig);
                        continue;
                }
                for (;;) {
                        int st;
                        pid_t p = waitpid(-1, &st, WNOHANG | WUNTRACED);

                        if (p <= 0)
                                break;
                        if (p != cmd)
                                continue; /* an orphan: we are its init */
                        if (WIFSTOPPED(st)) {
                                /* Nobody above it does job control: keep it going. */
                                (void) kill(-cmd, SIGCONT);
                                continue;
                        }
                        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                        done = true;
                }
        }

        kill_all();
        return status;
}

static void forward_signal(int sig) {
        pid_t pid = forward_pid;

        if (pid > 0)
                (void) kill(pid, sig);
}

static void leave_pid_namespace(int host_pidns) {
        if (setns(host_pidns, CLONE_NEWPID) < 0)
                lab_warning(-errno, _("cannot return to the host's PID namespace"));
}

static char *default_shell(void) {
        const char *shell = getenv("SHELL");

        if (shell && shell[0] == '/' && access(shell, X_OK) == 0)
                return strdup(shell);
        if (access("/bin/bash", X_OK) == 0)
                return strdup("/bin/bash");
        return strdup("/bin/sh");
}

int verb_lab(int argc, char *argv[]) {
        enum { ARG_HOSTNAME = 0x100, ARG_REHEARSE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "rehearse", no_argument, NULL, ARG_REHEARSE },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                {}
        };
        LabOptions o = {};
        _cleanup_free_ char *shell = NULL, *cwd = NULL, *self = NULL;
        char *shell_argv[2] = {};
        char *rehearse_argv[6] = {};
        bool rehearse = false;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(_(verb_lab_usage), stdout);
                        return EXIT_OK;
                case ARG_HOSTNAME:
                        /* sethostname() takes at most HOST_NAME_MAX bytes */
                        if (!hostname_is_valid(optarg) || strlen(optarg) > HOST_NAME_MAX) {
                                usage_error("lab", _("invalid hostname '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        o.hostname = optarg;
                        break;
                case ARG_REHEARSE:
                        rehearse = true;
                        break;
                case ':':
                        usage_error("lab", _("option '%s' needs an argument"), argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt)
                                usage_error("lab", _("unknown option '-%c'"), optopt);
                        else
                                usage_error("lab", _("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }

        if (geteuid() != 0) {
                fputs(_("mxdeck lab: needs root: it creates namespaces and mounts\n"), stderr);
                return EXIT_FAILED;
        }

        if (rehearse) {
                if (optind < argc) {
                        usage_error("lab", _("--rehearse takes no command"));
                        return EXIT_USAGE;
                }
                if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                        fputs(_("mxdeck lab: --rehearse needs a terminal (for scripts: mxdeck lab -- COMMAND)\n"),
                              stderr);
                        return EXIT_USAGE;
                }
                self = realpath("/proc/self/exe", NULL);
                if (!self) {
                        lab_error(-errno, _("cannot find this program"));
                        return EXIT_FAILED;
                }
                rehearse_argv[0] = self;
                rehearse_argv[1] = (char *) "setup";
                rehearse_argv[2] = (char *) "--rehearsal";
                rehearse_argv[3] = (char *) "--save-to";
                rehearse_argv[4] = (char *) "/tmp/mxdeck-rehearsal-answers.ini";
                o.argv = rehearse_argv;
                if (!o.hostname)
                        o.hostname = "mail.rehearsal.test";
        } else if (optind < argc)
                o.argv = argv + optind;
        else {
                shell = default_shell();
                if (!shell) {
                        lab_error(-ENOMEM, _("cannot pick a shell"));
                        return EXIT_FAILED;
                }
                shell_argv[0] = shell;
                o.argv = shell_argv;
                o.banner = isatty(STDERR_FILENO);
        }
        cwd = getcwd(NULL, 0);
        o.cwd = cwd;
        o.tty_foreground = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();

        /* Only our children enter it: this process stays on the host to clean up after, and
         * returns to its own PID namespace for children it forks later (once the lab's init is
         * gone, fork() would fail with ENOMEM). */
        _cleanup_close_ int host_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (host_pidns < 0) {
                lab_error(-errno, _("cannot open /proc/self/ns/pid"));
                return EXIT_FAILED;
        }
        if (unshare(CLONE_NEWPID) < 0) {
                lab_error(-errno, _("cannot create a PID namespace"));
                return EXIT_FAILED;
        }

        char scratch[] = "/tmp/mxdeck-lab.XXXXXX";
        if (!mkdtemp(scratch)) {
                lab_error(-errno, _("cannot create a scratch directory in /tmp"));
                leave_pid_namespace(host_pidns);
                return EXIT_FAILED;
        }
        o.scratch = scratch;

        /* Signals that must not hit the window between fork() and installing the handlers. */
        sigset_t block, saved_mask;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGQUIT);
        (void) sigprocmask(SIG_BLOCK, &block, &saved_mask);

        int alive[2];
        if (pipe2(alive, O_CLOEXEC) < 0) {
                lab_error(-errno, _("cannot start the lab"));
                (void) sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                (void) rmdir(scratch);
                leave_pid_namespace(host_pidns);
                return EXIT_FAILED;
        }
        o.alive_fd = alive[0];

        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
                (void) close(alive[1]);
        else
                (void) close(alive[0]);
        if (pid < 0) {
                int r = -errno;
                (void) close(alive[1]);
                (void) sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                (void) rmdir(scratch);
                leave_pid_namespace(host_pidns);
                lab_error(r, _("cannot start the lab"));
                return EXIT_FAILED;
        }
        if (pid == 0) {
                int st = lab_init(&o, &saved_mask);
                fflush(NULL);
                _exit(st);
        }

        /* Like system(): ^C and ^\ are for the command; SIGTERM and SIGHUP go to the lab. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal,
                                                                  .sa_flags = SA_RESTART };
        struct sigaction old_int, old_quit, old_term, old_hup;
        forward_pid = pid;
        (void) sigaction(SIGINT, &ign, &old_int);
        (void) sigaction(SIGQUIT, &ign, &old_quit);
        (void) sigaction(SIGTERM, &fwd, &old_term);
        (void) sigaction(SIGHUP, &fwd, &old_hup);
        (void) sigprocmask(SIG_SETMASK, &saved_mask, NULL);

        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        lab_error(-errno, _("cannot wait for the lab"));
                        status = EXIT_FAILED << 8;
                        break;
                }
        forward_pid = 0;
        (void) close(alive[1]);
        leave_pid_namespace(host_pidns);

        (void) sigaction(SIGINT, &old_int, NULL);
        (void) sigaction(SIGQUIT, &old_quit, NULL);
        (void) sigaction(SIGTERM, &old_term, NULL);
        (void) sigaction(SIGHUP, &old_hup, NULL);

        if (o.tty_foreground) {
                /* Take the terminal back from the command's process group. */
                struct sigaction old_ttou;
                (void) sigaction(SIGTTOU, &ign, &old_ttou);
                (void) tcsetpgrp(STDIN_FILENO, getpgrp());
                (void) sigaction(SIGTTOU, &old_ttou, NULL);
        }

        /* The tmpfs on it lived in the lab's mount namespace only, which is gone with the lab. */
        if (rmdir(scratch) < 0)
                lab_warning(-errno, _("cannot remove %s"), scratch);

        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
