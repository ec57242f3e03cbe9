/* systemd units over sd-bus: enable/disable unit files, reload-or-restart/stop units and
 * wait, bounded, until the job is done and the unit is where the operation aims. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "buscall.h"
#include "fiber.h"
#include "macro.h"
#include "units.h"

static const char SD[] = "org.freedesktop.systemd1";
static const char SD_PATH[] = "/org/freedesktop/systemd1";
static const char MANAGER[] = "org.freedesktop.systemd1.Manager";
static const char UNIT_IF[] = "org.freedesktop.systemd1.Unit";

static const char *const op_names[_UNIT_OP_MAX] = {
        [UNIT_ENABLE] = "enable",
        [UNIT_DISABLE] = "disable",
        [UNIT_RELOAD_OR_RESTART] = "reload-or-restart",
        [UNIT_RESTART] = "restart",
        [UNIT_STOP] = "stop",
};

const char *unit_op_to_string(UnitOp op) {
        return op >= 0 && op < _UNIT_OP_MAX ? op_names[op] : NULL;
}

UnitOp unit_op_from_string(const char *s) {
        for (int i = 0; s && i < _UNIT_OP_MAX; i++)
                if (streq(op_names[i], s))
                        return (UnitOp) i;
        return _UNIT_OP_INVALID;
}

int unit_op_command(UnitOp op, const char *unit, char **ret) {
        if (!unit_op_to_string(op))
                return -EINVAL;
        return asprintf(ret, "systemctl %s %s", unit_op_to_string(op), unit) < 0 ? -ENOMEM : 0;
}

static void set_error(char **ret_error, const char *unit, const char *what, int r,
                      const sd_bus_error *e) {
        if (!ret_error)
                return;
        free(*ret_error);
        if (asprintf(ret_error, "%s: %s: %s", unit, what,
                     e && sd_bus_error_is_set(e) && e->message ? e->message : strerror(-r)) < 0)
                *ret_error = NULL;
}

static int method(sd_bus *bus, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, SD, SD_PATH, MANAGER, member);
}

/* EnableUnitFiles / DisableUnitFiles: changes are a(sss); none = nothing to do. */
static int unit_files(sd_bus *bus, bool enable, const char *unit, Deadline d, bool *ret_changed,
                      char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *type, *path, *source;
        size_t n = 0;
        int r;

        r = method(bus, enable ? "EnableUnitFiles" : "DisableUnitFiles", &m);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]) { (char *) unit, NULL });
        if (r >= 0)
                r = enable ? sd_bus_message_append(m, "bb", 0, 0) : sd_bus_message_append(m, "b", 0);
        if (r < 0)
                return r;
        r = bus_call(bus, m, d, &error, &reply);
        if (r < 0) {
                set_error(ret_error, unit, enable ? "EnableUnitFiles" : "DisableUnitFiles", r, &error);
                return r;
        }
        if (enable) {
                r = sd_bus_message_skip(reply, "b");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sss)", &type, &path, &source)) > 0)
                n++;
        if (r < 0)
                return r;
        if (ret_changed)
                *ret_changed = n > 0;
        if (n == 0)
                return 0;
        /* like systemctl: make the manager see the new symlinks */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rl = NULL;
        r = method(bus, "Reload", &rl);
        if (r < 0)
                return r;
        sd_bus_error_free(&error);
        r = bus_call(bus, rl, d, &error, NULL);
        if (r < 0)
                set_error(ret_error, unit, "Reload", r, &error);
        return r;
}

static int unit_path(sd_bus *bus, const char *unit, Deadline d, char **ret, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = method(bus, "LoadUnit", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", unit);
        if (r < 0)
                return r;
        r = bus_call(bus, m, d, &error, &reply);
        if (r < 0) {
                set_error(ret_error, unit, "LoadUnit", r, &error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

/* Waits until the job object is gone (done), then until ActiveState is what the operation
 * aims at: every 100 ms, bounded by d. */
static int wait_job(sd_bus *bus, const char *unit, const char *job, bool want_active, Deadline d,
                    char **ret_error) {
        _cleanup_free_ char *upath = NULL;
        int r;

        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *state = NULL;
                r = bus_get_property_string(bus, SD, job, "org.freedesktop.systemd1.Job", "State", d,
                                            &error, &state);
                if (r == -ETIMEDOUT || r == -ECANCELED) {
                        set_error(ret_error, unit, "the job did not finish", r, NULL);
                        return r;
                }
                if (r < 0)
                        break; /* no such object: the job is done */
                r = fiber_sleep(deadline_within(d, 100));
                if (r < 0)
                        return r;
                if (deadline_passed(d)) {
                        set_error(ret_error, unit, "the job did not finish", -ETIMEDOUT, NULL);
                        return -ETIMEDOUT;
                }
        }
        r = unit_path(bus, unit, d, &upath, ret_error);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *active = NULL;
                r = bus_get_property_string(bus, SD, upath, UNIT_IF, "ActiveState", d, &error, &active);
                if (r < 0) {
                        set_error(ret_error, unit, "ActiveState", r, &error);
                        return r;
                }
                if (want_active ? streq(active, "active")
                                : (streq(active, "inactive") || streq(active, "failed")))
                        return 0;
                if (want_active && streq(active, "failed")) {
                        if (ret_error) {
                                free(*ret_error);
                                if (asprintf(ret_error, _("%s failed to start (see: journalctl -u %s)"),
                                             unit, unit) < 0)
                                        *ret_error = NULL;
                        }
                        return -EIO;
                }
                r = fiber_sleep(deadline_within(d, 100));
                if (r < 0)
                        return r;
                if (deadline_passed(d)) {
                        if (ret_error) {
                                free(*ret_error);
                                if (asprintf(ret_error, _("%s: still %s when the wait ended"), unit, active) < 0)
                                        *ret_error = NULL;
                        }
                        return -ETIMEDOUT;
                }
        }
}

static int unit_job(sd_bus *bus, const char *member, const char *unit, bool want_active, Deadline d,
                    char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *job = NULL;
        const char *j;
        int r;

        r = method(bus, member, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "replace");
        if (r < 0)
                return r;
        r = bus_call(bus, m, d, &error, &reply);
        if (r < 0) {
                set_error(ret_error, unit, member, r, &error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &j);
        if (r < 0)
                return r;
        job = strdup(j);
        if (!job)
                return -ENOMEM;
        return wait_job(bus, unit, job, want_active, d, ret_error);
}

int unit_run(UnitOp op, const char *unit, Deadline d, bool *ret_changed, char **ret_error) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (ret_changed)
                *ret_changed = true;
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                set_error(ret_error, unit, "cannot connect to the system bus", r, NULL);
                return r;
        }
        switch (op) {
        case UNIT_ENABLE:
        case UNIT_DISABLE:
                return unit_files(bus, op == UNIT_ENABLE, unit, d, ret_changed, ret_error);
        case UNIT_RELOAD_OR_RESTART:
                return unit_job(bus, "ReloadOrRestartUnit", unit, true, d, ret_error);
        case UNIT_RESTART:
                return unit_job(bus, "RestartUnit", unit, true, d, ret_error);
        case UNIT_STOP:
                return unit_job(bus, "StopUnit", unit, false, d, ret_error);
        default:
                return -EINVAL;
        }
}

int unit_states(const char *unit, Deadline d, char **ret_file_state, char **ret_active) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = unit_path(bus, unit, d, &path, NULL);
        if (r < 0)
                return r;
        if (ret_file_state) {
                r = bus_get_property_string(bus, SD, path, UNIT_IF, "UnitFileState", d, &error, ret_file_state);
                if (r < 0)
                        return r;
        }
        if (ret_active) {
                sd_bus_error_free(&error);
                r = bus_get_property_string(bus, SD, path, UNIT_IF, "ActiveState", d, &error, ret_active);
                if (r < 0)
                        return r;
        }
        return 0;
}
