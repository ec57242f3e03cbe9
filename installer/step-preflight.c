/* Step preflight: can this system take the plan? Root, a supported distribution, Postfix
 * and Dovecot installed, no other MTA in the way, disk space. Changes nothing; an error
 * here stops the plan before any change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "macro.h"
#include "steps.h"

#define MIN_FREE_BYTES (UINT64_C(1) << 30)

static bool exists_under(const Installer *ins, const char *path) {
        _cleanup_free_ char *full = installer_path(ins, path);
        return full && access(full, F_OK) >= 0;
}

static int version_check(Installer *ins, StepPlan *sp, const OsRelease *os) {
        static const struct { const char *id; unsigned major, minor; } minimum[] = {
                { "debian", 12, 0 }, { "ubuntu", 22, 4 }, { "rhel", 8, 0 }, { "centos", 8, 0 },
                { "rocky", 8, 0 }, { "almalinux", 8, 0 }, { "ol", 8, 0 }, { "fedora", 38, 0 },
        };
        unsigned major = 0, minor = 0;

        if (!os->id || !os->version_id)
                return 0;
        if (sscanf(os->version_id, "%u.%u", &major, &minor) < 1)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(minimum); i++)
                if (streq(os->id, minimum[i].id) &&
                    (major < minimum[i].major || (major == minimum[i].major && minor < minimum[i].minor)))
                        return step_plan_note(sp, NOTE_WARNING,
                                              _("%s is older than mxdeck supports (%s %u%s): the "
                                                "plan may not work"), strempty(os->pretty_name),
                                              minimum[i].id, minimum[i].major,
                                              minimum[i].minor ? ".04+" : "+");
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        const DistroProfile *p = installer_profile(ins);
        OsRelease os = {};
        int r;

        if (streq(installer_root(ins), "/") && geteuid() != 0)
                return step_plan_note(sp, NOTE_ERROR, _("mxdeck setup must run as root"));
        if (osrelease_load(installer_root(ins), &os) >= 0) {
                r = version_check(ins, sp, &os);
                osrelease_done(&os);
                if (r < 0)
                        return r;
        }
        if (!exists_under(ins, "/usr/sbin/postconf") || !exists_under(ins, "/usr/sbin/dovecot")) {
                _cleanup_free_ char *cmd = NULL;
                for (int pass = 0; pass < 2; pass++)
                        for (const char *const *s = pass ? p->packages : p->install_argv; *s; s++) {
                                char *n;
                                if (asprintf(&n, "%s%s%s", strempty(cmd), cmd ? " " : "", *s) < 0)
                                        return -ENOMEM;
                                free(cmd);
                                cmd = n;
                        }
                return step_plan_note(sp, NOTE_ERROR, _("Postfix and Dovecot must be installed first: %s"),
                                      strempty(cmd));
        }
        if (exists_under(ins, "/usr/sbin/exim4") ||
            ((exists_under(ins, "/usr/sbin/sendmail.sendmail") || exists_under(ins, "/usr/lib/sm.bin/sendmail")) &&
             !installer_answers(ins)->remove_sendmail)) {
                r = step_plan_note(sp, NOTE_ERROR, _("another mail server (Exim or Sendmail) is installed: "
                                                     "remove it first, it competes for port 25 "
                                                     "(for Sendmail: [hardening] remove_sendmail = yes)"));
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *var = installer_path(ins, "/var");
        struct statvfs sv;
        if (var && statvfs(var, &sv) >= 0 && (uint64_t) sv.f_bavail * sv.f_frsize < MIN_FREE_BYTES) {
                r = step_plan_note(sp, NOTE_WARNING, _("less than 1 GiB free under /var: mail will "
                                                       "soon fill it"));
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *maincf = NULL;
        if (asprintf(&maincf, "%s/main.cf", p->postfix_dir) < 0)
                return -ENOMEM;
        if (!exists_under(ins, maincf))
                return step_plan_note(sp, NOTE_INFO, _("%s does not exist yet (a fresh \"No configuration\" "
                                                       "install): mxdeck creates it"), maincf);
        return step_plan_note(sp, NOTE_INFO, _("an existing configuration is adopted: only differences "
                                               "are changed"));
}

const Step step_preflight = {
        .name = "preflight",
        .title = N_("can this system take the plan"),
        .inspect = inspect,
};
