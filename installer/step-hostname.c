/* Step hostname: Postfix's identity (myhostname, mydomain, myorigin), /etc/hostname and,
 * on Debian, /etc/mailname. The running host name is left alone: /etc/hostname takes
 * effect at the next boot, and changing it under a running system surprises other
 * services. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "steps.h"

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *line = NULL;
        int r;

        if (asprintf(&line, "%s\n", a->hostname) < 0)
                return -ENOMEM;
        r = step_plan_file(ins, sp, "/etc/hostname", line, strlen(line), 0644, NULL, NULL, false);
        if (r < 0)
                return r;
        if (installer_profile(ins)->mailname) {
                /* Debian's Postfix sets myorigin = /etc/mailname: the domain in sender
                 * addresses of local mail */
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "%s\n", a->domain) < 0)
                        return -ENOMEM;
                r = step_plan_file(ins, sp, "/etc/mailname", m, strlen(m), 0644, NULL, NULL, false);
                if (r < 0)
                        return r;
        }
        const char *names[] = { "myhostname", "mydomain", "myorigin" };
        const char *values[] = { a->hostname, a->domain, "$mydomain" };
        return postfix_plan_params(ins, sp, names, values, ELEMENTSOF(names));
}

static int verify(Installer *ins, StepPlan *sp) {
        verify_previews(ins, sp);
        return 0;
}

const Step step_hostname = {
        .name = "hostname",
        .title = N_("host name and mail domain"),
        .inspect = inspect,
        .verify = verify,
};
