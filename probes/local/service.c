/* service.*: is the daemon running? systemd over sd-bus when it is PID 1, else the
 * master process named in the daemon's pid file, else a scan of /proc. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "local.h"
#include "buscall.h"
#include "conf.h"
#include "fileio.h"
#include "macro.h"
#include "postconf.h"

typedef struct ServiceSpec {
        const char *id;
        const char *name;        /* for people */
        const char *program;     /* proves it is installed */
        const char *package_deb, *package_rpm;
        const char *unit;        /* systemd unit */
        const char *instance;    /* the unit running the master when unit is a oneshot wrapper */
        const char *comm;        /* /proc/PID/comm of the master process */
        const char *start_plain; /* how to start without systemd */
        const char *stop_plain;  /* how to stop it without systemd */
        const char *journal_match; /* journalctl arguments selecting its log lines */
} ServiceSpec;

/* Debian's postfix.service is a oneshot RemainAfterExit wrapper (ExecStart=/bin/true) that
 * stays "active (exited)" whatever happens to the master, which runs in postfix@-.service;
 * RHEL's postfix.service is a forking service running the master itself. */
static const ServiceSpec postfix_spec = {
        .id = "service.postfix", .name = "Postfix", .program = "postfix",
        .package_deb = "postfix", .package_rpm = "postfix",
        .unit = "postfix.service", .instance = "postfix@-.service", .comm = "master",
        /* Postfix logs as postfix/PROGRAM, never plain "postfix". */
        .journal_match = "-t postfix/master -t postfix/postfix-script",
        .start_plain = "postfix start", .stop_plain = "postfix stop",
};

static const ServiceSpec dovecot_spec = {
        .id = "service.dovecot", .name = "Dovecot", .program = "dovecot",
        .package_deb = "dovecot-imapd dovecot-pop3d", .package_rpm = "dovecot",
        .unit = "dovecot.service", .comm = "dovecot", .journal_match = "-t dovecot", .start_plain = "dovecot", .stop_plain = "doveadm stop",
};

static bool pid_has_comm(pid_t pid, const char *comm) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        if (pid <= 0 || asprintf(&path, "/proc/%d/comm", (int) pid) < 0)
                return false;
        if (read_file_bounded(path, 256, &buf, NULL) < 0)
                return false;
        buf[strcspn(buf, "\n")] = 0;
        return streq(buf, comm);
}

static pid_t pid_from_file(const char *path) {
        _cleanup_free_ char *buf = NULL;
        uint64_t v;

        if (read_file_bounded(path, 64, &buf, NULL) < 0)
                return 0;
        char *s = buf + strspn(buf, " \t");
        s[strcspn(s, " \t\n")] = 0;
        if (parse_uint64(s, &v) < 0 || v == 0 || v > 4194304)
                return 0;
        return (pid_t) v;
}

static bool pid_exe_contains(pid_t pid, const char *needle) {
        char path[64], exe[4096];
        snprintf(path, sizeof path, "/proc/%d/exe", (int) pid);
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        if (n < 0)
                return true; /* not ours to read (no root): trust the name */
        exe[n] = 0;
        return strstr(exe, needle) != NULL;
}

/* Only processes of our own PID namespace count: a lab host's or a container's Postfix
 * is visible in /proc but is not this host's service. */
static bool pid_in_our_namespace(pid_t pid) {
        char path[64];
        struct stat a, b;
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) pid);
        if (stat("/proc/self/ns/pid", &a) < 0 || stat(path, &b) < 0)
                return true; /* cannot tell (no root): do not hide it */
        return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static pid_t parent_of(pid_t pid) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        if (asprintf(&path, "/proc/%d/stat", (int) pid) < 0 || read_file_bounded(path, 4096, &buf, NULL) < 0)
                return 0;
        /* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so go from the last ')'. */
        char *p = strrchr(buf, ')');
        int ppid;
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                return 0;
        return (pid_t) ppid;
}

/* The master process: named comm, its executable from the right package, and its parent
 * not of the same name (Dovecot's children are "dovecot/imap" anyway; Postfix's are not
 * called master). */
static pid_t scan_proc(const ServiceSpec *spec) {
        DIR *d = opendir("/proc");
        pid_t found = 0;
        struct dirent *de;

        if (!d)
                return 0;
        while (!found && (de = readdir(d))) {
                uint64_t v;
                if (parse_uint64(de->d_name, &v) < 0 || v > 4194304)
                        continue;
                pid_t pid = (pid_t) v;
                if (pid_has_comm(pid, spec->comm) && pid_exe_contains(pid, spec->program) && pid_in_our_namespace(pid) &&
                    !pid_has_comm(parent_of(pid), spec->comm))
                        found = pid;
        }
        closedir(d);
        return found;
}

static char *pid_file_of(const CheckContext *ctx, const ServiceSpec *spec) {
        char *path = NULL, *value = NULL;

        if (spec == &postfix_spec) {
                static const char *const names[] = { "queue_directory", NULL };
                _cleanup_strv_free_ char **v = NULL;
                const char *dir = "/var/spool/postfix";
                if (postconf_get(ctx, names, &v, NULL) >= 0 && v[0] && v[0][0] == '/')
                        dir = v[0];
                if (asprintf(&path, "%s/pid/master.pid", dir) < 0)
                        return NULL;
        } else {
                const char *dir = "/run/dovecot";
                if (doveconf_get(ctx, "base_dir", &value, NULL) >= 0 && value[0] == '/')
                        dir = value;
                if (asprintf(&path, "%s/master.pid", dir) < 0)
                        path = NULL;
                free(value);
        }
        return path;
}

static int add_not_installed(const CheckContext *ctx, FindingList *out, const ServiceSpec *spec) {
        Finding *f = findings_addf(out, spec->id, spec->unit, STATUS_CRITICAL, _("%s is not installed"), spec->name);
        _cleanup_free_ char *cmd =
                install_remedy(ctx, ctx->family == DISTRO_RHEL ? spec->package_rpm : spec->package_deb);
        if (!f || !cmd)
                return -ENOMEM;
        if (finding_set_remedy(f, "%s", _("Install it.")) < 0 || finding_add_command(f, "%s", cmd) < 0)
                return -ENOMEM;
        return 0;
}

typedef struct UnitState {
        char *active, *sub, *file_state, *type;
} UnitState;

static void unit_state_done(UnitState *s) {
        free(s->active);
        free(s->sub);
        free(s->file_state);
        free(s->type);
}

/* systemd's view of one unit: ActiveState/SubState, whether it starts at boot, and (for
 * services) its Type. */
static int unit_state(sd_bus *bus, const char *unit, Deadline d, UnitState *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        static const char sd[] = "org.freedesktop.systemd1", unit_if[] = "org.freedesktop.systemd1.Unit";
        const char *path;
        int r;

        /* Every call waits through the loop (bus_call): a hung systemd holds this check only. */
        r = sd_bus_message_new_method_call(bus, &m, sd, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                           "LoadUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", unit);
        if (r < 0)
                return r;
        r = bus_call(bus, m, d, &error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = bus_get_property_string(bus, sd, path, unit_if, "ActiveState", d, &error, &ret->active);
        if (r < 0)
                return r;
        r = bus_get_property_string(bus, sd, path, unit_if, "SubState", d, &error, &ret->sub);
        if (r < 0)
                return r;
        r = bus_get_property_string(bus, sd, path, unit_if, "UnitFileState", d, &error, &ret->file_state);
        if (r < 0)
                return r;
        /* Not there for a unit that is not found; that is no error. */
        sd_bus_error_free(&error);
        r = bus_get_property_string(bus, sd, path, "org.freedesktop.systemd1.Service", "Type", d, &error, &ret->type);
        return r == -ECANCELED || r == -ETIMEDOUT ? r : 0;
}

/* The state of spec->unit in *ret_unit and, when that is a oneshot wrapper (Debian's
 * Postfix), of spec->instance in *ret_instance; *ret_run_unit names the unit that runs the
 * master. */
static int systemd_view(const CheckContext *ctx, const ServiceSpec *spec, UnitState *ret_unit,
                        UnitState *ret_instance, const char **ret_run_unit) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        Deadline d = deadline_is_set(ctx->deadline)
                             ? ctx->deadline
                             : deadline_in_ms((uint64_t) ctx->settings->timeout_seconds * 1000u);
        r = unit_state(bus, spec->unit, d, ret_unit);
        if (r < 0)
                return r;
        *ret_run_unit = spec->unit;
        if (!spec->instance || !streq_ptr(ret_unit->type, "oneshot"))
                return 0;
        r = unit_state(bus, spec->instance, d, ret_instance);
        if (r < 0)
                return r;
        *ret_run_unit = spec->instance;
        return 0;
}

static int check_service(const CheckContext *ctx, FindingList *out, const ServiceSpec *spec) {
        _cleanup_free_ char *bin = spawn_find_program(spec->program);
        if (!bin)
                return add_not_installed(ctx, out, spec);

        _cleanup_free_ char *pidfile = pid_file_of(ctx, spec);
        pid_t pid = pidfile ? pid_from_file(pidfile) : 0;
        const char *how = pidfile;
        if (!pid_has_comm(pid, spec->comm) || !pid_exe_contains(pid, spec->program) || !pid_in_our_namespace(pid)) {
                pid = scan_proc(spec);
                how = "/proc";
        }

        Finding *f;
        if (ctx->systemd) {
                _cleanup_(unit_state_done) UnitState unit = {}, instance = {};
                const char *run_unit = spec->unit;
                int r = systemd_view(ctx, spec, &unit, &instance, &run_unit);
                if (r < 0) {
                        f = findings_addf(out, spec->id, spec->unit, STATUS_UNKNOWN,
                                          _("cannot ask systemd about %s: %s"), spec->unit, strerror(-r));
                        return f ? 0 : -ENOMEM;
                }
                const UnitState *run = instance.active ? &instance : &unit;
                bool unit_up = streq(run->active, "active") || streq(run->active, "reloading");
                /* Not merely starting or stopping: systemd has no process of it. */
                bool unit_down = streq(run->active, "inactive") || streq(run->active, "failed");
                if (unit_up && pid > 0 && streq_ptr(unit.file_state, "enabled"))
                        f = findings_addf(out, spec->id, spec->unit, STATUS_OK, _("%s is running (pid %d)"),
                                          spec->name, (int) pid);
                else if (unit_up && pid > 0)
                        f = findings_addf(out, spec->id, spec->unit, STATUS_WARNING,
                                          _("%s is running but will not start at boot (%s)"), spec->name,
                                          strempty(unit.file_state));
                else if (unit_down && pid > 0)
                        f = findings_addf(out, spec->id, spec->unit, STATUS_WARNING,
                                          _("%s is running (pid %d) outside systemd: %s is %s/%s"), spec->name,
                                          (int) pid, run_unit, run->active, run->sub);
                else
                        f = findings_addf(out, spec->id, spec->unit, STATUS_CRITICAL,
                                          _("%s is not running (%s: %s/%s)"), spec->name, run_unit, run->active,
                                          run->sub);
                if (!f)
                        return -ENOMEM;
                if (run == &instance)
                        r = finding_set_detail(f, "%s: ActiveState=%s SubState=%s UnitFileState=%s; "
                                               "%s: ActiveState=%s SubState=%s; master pid=%d",
                                               spec->unit, unit.active, unit.sub, strempty(unit.file_state),
                                               run_unit, instance.active, instance.sub, (int) pid);
                else
                        r = finding_set_detail(f, "%s: ActiveState=%s SubState=%s UnitFileState=%s; master pid=%d",
                                               spec->unit, unit.active, unit.sub, strempty(unit.file_state),
                                               (int) pid);
                if (r < 0)
                        return -ENOMEM;
                if (f->status == STATUS_OK)
                        return 0;
                if (unit_down && pid > 0)
                        return finding_set_remedy(f, "%s", _("Hand it over to systemd: stop the copy started by hand, "
                                                             "then enable and start the unit.")) < 0 ||
                                               finding_add_command(f, "%s", spec->stop_plain) < 0 ||
                                               finding_add_command(f, "systemctl enable --now %s", spec->unit) < 0
                                       ? -ENOMEM : 0;
                return finding_set_remedy(f, _("Enable and start it. If it fails to start: journalctl -u %s -n 50"),
                                          run_unit) < 0 ||
                               finding_add_command(f, "systemctl enable --now %s", spec->unit) < 0
                       ? -ENOMEM : 0;
        }

        if (pid > 0) {
                f = findings_addf(out, spec->id, spec->unit, STATUS_OK, _("%s is running (pid %d)"), spec->name,
                                  (int) pid);
                if (!f)
                        return -ENOMEM;
                return finding_set_detail(f, _("master process %d found via %s (systemd is not PID 1)"), (int) pid,
                                          how);
        }
        f = findings_addf(out, spec->id, spec->unit, STATUS_CRITICAL, _("%s is not running"), spec->name);
        if (!f)
                return -ENOMEM;
        if (finding_set_detail(f, _("no %s master process (pid file %s, /proc scanned); systemd is not PID 1"),
                               spec->name, strempty(pidfile)) < 0)
                return -ENOMEM;
        if (finding_set_remedy(f, _("Start it. If it stops again, its reason is in the mail log: "
                                    "journalctl %s -n 50 (or /var/log/mail.log on Debian, "
                                    "/var/log/maillog on RHEL)."),
                               spec->journal_match) < 0 ||
            finding_add_command(f, "%s", spec->start_plain) < 0)
                return -ENOMEM;
        return 0;
}

int check_service_postfix(const CheckContext *ctx, FindingList *out) {
        return check_service(ctx, out, &postfix_spec);
}

int check_service_dovecot(const CheckContext *ctx, FindingList *out) {
        return check_service(ctx, out, &dovecot_spec);
}
