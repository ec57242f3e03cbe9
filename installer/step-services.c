/* Step services: Postfix and Dovecot running with the new configuration. Without systemd
 * as PID 1 (containers, the lab host) the daemons are started or reloaded directly; with
 * systemd, over sd-bus (installer/units.h: EnableUnitFiles, then ReloadOrRestartUnit and a
 * bounded wait until the unit is active); rollback disables what mxdeck enabled. A daemon mxdeck started is
 * stopped again by rollback; a reload is repeated after rollback restored the files. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "steps.h"
#include "units.h"

#define QUERY_TIMEOUT_MS 10000

#define START_TIMEOUT_MS 15000

/* A daemon is running when its pid file names a live process. */
static bool pid_file_alive(const Installer *ins, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        char *end;
        long pid;

        if (installer_read(ins, path, &data, &size) < 0)
                return false;
        pid = strtol(data, &end, 10);
        if (pid <= 1 || end == data)
                return false;
        return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

static bool earlier_changes(const Installer *ins) {
        const Plan *p = installer_current_plan(ins);

        for (size_t i = 0; p && i < p->n_steps; i++)
                if (step_has_changes(&p->steps[i]))
                        return true;
        return false;
}

typedef struct Daemon {
        const char *unit;
        const char *pid_file;
        const char *start[4], *stop[4], *reload[4];
} Daemon;

static const Daemon daemons[] = {
        { "postfix.service", "/var/spool/postfix/pid/master.pid",
          { "postfix", "start" }, { "postfix", "stop" }, { "postfix", "reload" } },
        { "dovecot.service", "/run/dovecot/master.pid",
          { "dovecot" }, { "doveadm", "stop" }, { "doveadm", "reload" } },
};

/* With systemd as PID 1: enable the unit if it is not (rollback disables it again), then
 * reload-or-restart it when it is not active or the configuration changed, over sd-bus.
 * Rollback reloads it again after the files are back, or stops it if it was not running. */
static int plan_unit(Installer *ins, StepPlan *sp, const char *unit, bool changes) {
        _cleanup_free_ char *file_state = NULL, *active = NULL;
        Action *a;
        int r;

        r = unit_states(unit, deadline_in_ms(QUERY_TIMEOUT_MS), &file_state, &active);
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("cannot ask systemd about %s: %s"), unit, strerror(-r));
        if (streq(file_state, "disabled")) {
                r = step_plan_unit(sp, UNIT_ENABLE, unit, UNIT_DISABLE, false, NULL);
                if (r < 0)
                        return r;
        } else if (!streq(file_state, "enabled") && !streq(file_state, "static") &&
                   !streq(file_state, "enabled-runtime") && !streq(file_state, "alias") &&
                   !streq(file_state, "indirect") && !streq(file_state, "generated")) {
                /* masked, not-found, bad: not ours to override */
                return step_plan_note(sp, NOTE_ERROR, _("%s is %s: it cannot be enabled (systemctl unmask?)"),
                                      unit, file_state);
        }
        bool was_active = streq(active, "active") || streq(active, "reloading");
        if (was_active && !changes)
                return 0;
        r = step_plan_unit(sp, UNIT_RELOAD_OR_RESTART, unit,
                           was_active ? UNIT_RELOAD_OR_RESTART : UNIT_STOP, was_active, &a);
        return r;
}

static int inspect(Installer *ins, StepPlan *sp) {
        bool changes = earlier_changes(ins);
        Action *a;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(daemons); i++) {
                const Daemon *d = &daemons[i];
                bool running = pid_file_alive(ins, d->pid_file);

                if (installer_systemd(ins)) {
                        r = plan_unit(ins, sp, d->unit, changes);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!running) {
                        r = step_plan_run(sp, NULL, d->start, (const char *const[]) { NULL }, d->stop, &a);
                        if (r < 0)
                                return r;
                        /* "already running" (a run killed while the daemon started, its pid
                         * file not yet written) is not a failure: verify waits for the ports */
                        a->ignore_failure = true;
                } else if (changes) {
                        r = step_plan_run(sp, NULL, d->reload, (const char *const[]) { NULL }, d->reload, &a);
                        if (r < 0)
                                return r;
                        a->undo_late = true;
                }
        }
        return 0;
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until something accepts on 127.0.0.1:port, bounded by deadline. Each attempt waits on
 * the socket (poll), and a refused attempt waits 100 ms on poll before the next one. */
static bool wait_port(unsigned port, int64_t deadline) {
        while (now_ms() < deadline) {
                _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                int err = 0;
                socklen_t el = sizeof(err);

                if (fd < 0)
                        return false;
                sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return true;
                if (errno == EINPROGRESS && poll(&p, 1, 1000) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                        return true;
                (void) poll(NULL, 0, 100);
        }
        return false;
}

static int verify(Installer *ins, StepPlan *sp) {
        int64_t deadline = now_ms() + START_TIMEOUT_MS;
        static const unsigned ports[] = { 25, 587, 465, 993 };

        if (!installer_live_checks(ins))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(ports); i++)
                if (!wait_port(ports[i], deadline))
                        return step_verify_failed(ins, sp, ETIMEDOUT, _("nothing answers on port %u after %d s"),
                                                  ports[i], START_TIMEOUT_MS / 1000);
        return 0;
}

const Step step_services = {
        .name = "services",
        .title = N_("start or reload Postfix and Dovecot"),
        .live = true,
        .inspect = inspect,
        .verify = verify,
};
