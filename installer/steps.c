/* The step table, in the order the steps run. */
#include <pwd.h>
#include <stdio.h>

#include "macro.h"
#include "steps.h"

static const Step *const steps[] = {
        &step_preflight,
        &step_packages,
        &step_hostname,
        &step_tls,
        &step_users,
        &step_postfix,
        &step_dovecot,
        &step_services,
        &step_verify,
};

const Step *const *steps_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(steps);
        return steps;
}

bool account_exists(const Installer *ins, const char *name) {
        _cleanup_free_ char *path = installer_path(ins, "/etc/passwd");
        _cleanup_fclose_ FILE *f = NULL;
        struct passwd *pw;

        if (!path || !(f = fopen(path, "re")))
                return false;
        while ((pw = fgetpwent(f)))
                if (streq(pw->pw_name, name))
                        return true;
        return false;
}

void verify_previews(Installer *ins, StepPlan *sp) {
        for (size_t i = 0; i < sp->n_previews; i++) {
                const Preview *p = &sp->previews[i];
                _cleanup_free_ char *now = NULL, *line = NULL;
                size_t size;

                if (!p->via)
                        continue;
                if (installer_read(ins, p->path, &now, &size) < 0 || size != p->new_size ||
                    memcmp(now, p->new, size) != 0) {
                        if (asprintf(&line, _("note: %s as written by %s differs from the preview shown"),
                                     p->path, p->via) >= 0)
                                installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
                }
        }
}
