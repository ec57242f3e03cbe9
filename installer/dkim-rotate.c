/* The stages of `mxdeck dkim rotate` as steps: each reads the recorded DKIM state, refuses
 * with the reason when its turn has not come, and plans the keys, the tables, the state and
 * opendkim's reload. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dkim-rotate.h"
#include "macro.h"
#include "steps.h"

#define DAY 86400

static int copy_state(const DkimState *from, DkimState *to) {
        size_t n = 0;

        while (from->domains && from->domains[n])
                n++;
        *to = (DkimState) { .started = from->started, .switched = from->switched };
        to->domains = calloc(n + 1, sizeof(char *));
        if (!to->domains)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(to->domains[i] = strdup(from->domains[i])))
                        return -ENOMEM;
        if ((from->selector && !(to->selector = strdup(from->selector))) ||
            (from->next && !(to->next = strdup(from->next))) || (from->old && !(to->old = strdup(from->old))))
                return -ENOMEM;
        return 0;
}

static void format_time(int64_t t, char buf[64]) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!localtime_r(&tt, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M %Z", &tm) == 0)
                snprintf(buf, 64, "@%lld", (long long) t);
}

static int set_str(char **p, const char *v) {
        free(*p);
        *p = v ? strdup(v) : NULL;
        return v && !*p ? -ENOMEM : 0;
}

static int plan_start(Installer *ins, StepPlan *sp, const DkimRotateOptions *o, const DkimState *old,
                      DkimState *new) {
        char when[64];
        int r;

        if (old->next || old->old) {
                format_time(old->started, when);
                return step_plan_note(sp, NOTE_ERROR,
                                      _("a rotation is already under way (started %s, new selector %s%s%s): go on "
                                        "with 'mxdeck dkim rotate %s', or undo it with 'mxdeck rollback'"),
                                      when, old->next ? old->next : old->selector,
                                      old->old ? _(", old selector ") : "", strempty(old->old),
                                      old->next ? "switch" : "finish");
        }
        if (o->selector) {
                if (!hostname_is_valid(o->selector) || strchr(o->selector, '.') ||
                    strlen(o->selector) > DKIM_SELECTOR_MAX)
                        return step_plan_note(sp, NOTE_ERROR,
                                              _("'%s' is not a valid selector (one DNS label: letters, digits "
                                                "and '-', such as 202701)"), o->selector);
                if (streq(o->selector, old->selector))
                        return step_plan_note(sp, NOTE_ERROR, _("%s is the selector that signs now: a new key "
                                                                "needs a new selector"), o->selector);
                r = set_str(&new->next, o->selector);
        } else {
                free(new->next);
                new->next = NULL;
                r = dkim_selector_default(installer_now(ins), old, &new->next);
        }
        if (r < 0)
                return r;
        new->started = installer_now(ins);
        new->switched = 0;
        r = dkim_plan_keys(ins, sp, new, new->next);
        if (r < 0)
                return r;
        return step_plan_note(sp, NOTE_INFO, _("selector %s signs until 'mxdeck dkim rotate switch'; publish "
                                               "the record of %s first"), old->selector, new->next);
}

static int plan_switch(Installer *ins, StepPlan *sp, const DkimRotateOptions *o, const DkimState *old,
                       DkimState *new) {
        bool ready = true;
        int r;

        if (!old->next)
                return step_plan_note(sp, NOTE_ERROR, old->old ? _("signing was switched already: next is "
                                                                   "'mxdeck dkim rotate finish'")
                                                               : _("no rotation is under way: start one with "
                                                                   "'mxdeck dkim rotate start'"));
        for (char **d = old->domains; *d; d++) {
                _cleanup_free_ char *detail = NULL;
                DkimDnsState st;
                r = dkim_dns_lookup(ins, o->resolver, o->timeout_ms, *d, old->next, &st, &detail);
                if (r < 0)
                        return r;
                if (st == DKIM_DNS_MATCHES)
                        r = step_plan_note(sp, NOTE_INFO, "%s", detail);
                else {
                        ready = false;
                        r = step_plan_note(sp, NOTE_ERROR,
                                           st == DKIM_DNS_UNREACHABLE ? _("not switching: %s") :
                                           st == DKIM_DNS_MISSING ? _("not switching: DNS does not serve the new "
                                                                      "record yet (%s); publish it ('mxdeck dkim "
                                                                      "rotate status' prints it) and wait for it")
                                                                  : _("not switching: %s; publish the record "
                                                                      "'mxdeck dkim rotate status' prints"),
                                           detail);
                }
                if (r < 0)
                        return r;
        }
        if (!ready)
                return 0;
        r = set_str(&new->old, old->selector);
        if (r >= 0)
                r = set_str(&new->selector, old->next);
        if (r < 0)
                return r;
        free(new->next);
        new->next = NULL;
        new->switched = installer_now(ins);
        return 0;
}

static int plan_finish(Installer *ins, StepPlan *sp, const DkimRotateOptions *o, const DkimState *old,
                       DkimState *new) {
        char when[64];
        int r;

        if (!old->old)
                return step_plan_note(sp, NOTE_ERROR, old->next ? _("signing has not been switched yet: "
                                                                    "'mxdeck dkim rotate switch' first")
                                                                : _("no rotation is under way"));
        int64_t ready = old->switched + (int64_t) o->grace_days * DAY;
        if (installer_now(ins) < ready) {
                format_time(ready, when);
                if (!o->force)
                        return step_plan_note(sp, NOTE_ERROR,
                                              _("the grace period ([dkim] grace_days = %u) is not over: mail "
                                                "signed with %s may still be on its way or in a queue. Finishing "
                                                "is possible from %s (or now with --force)"),
                                              o->grace_days, old->old, when);
                r = step_plan_note(sp, NOTE_WARNING, _("--force: finishing before %s, the end of the grace period"),
                                   when);
                if (r < 0)
                        return r;
        }
        free(new->old);
        new->old = NULL;
        new->started = new->switched = 0;
        return 0;
}

/* After the tables no longer name it, the old key goes (backed up by the journal first,
 * so rollback puts it back byte for byte). */
static int plan_remove_old_keys(Installer *ins, StepPlan *sp, const DkimState *old) {
        for (char **d = old->domains; *d; d++) {
                _cleanup_free_ char *path = opendkim_key_path(*d, old->old), *full = NULL, *summary = NULL;
                if (!path || !(full = installer_path(ins, path)))
                        return -ENOMEM;
                if (asprintf(&summary, _("remove the old key %s"), path) < 0)
                        return -ENOMEM;
                const char *argv[] = { "rm", "-f", "--", full, NULL };
                _cleanup_free_ char *key = NULL;
                int r = step_plan_run(sp, summary, argv, (const char *const[]) { path, NULL }, NULL, NULL);
                if (r < 0)
                        return r;
                /* forget its checksum: a key made later under the same name is not a conflict */
                if (asprintf(&key, "file:%s", path) < 0 || (r = step_plan_managed(sp, key, NULL)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        const DkimRotateOptions *o = installer_userdata(ins);
        _cleanup_(dkim_state_done) DkimState old = {}, new = {};
        int r;

        r = dkim_state_load(ins, &old);
        if (r < 0)
                return r;
        if (!old.selector)
                return step_plan_note(sp, NOTE_ERROR, _("mxdeck has not set up DKIM signing here: run 'mxdeck "
                                                        "setup' with [dkim] enabled = yes first"));
        r = copy_state(&old, &new);
        if (r < 0)
                return r;
        switch (o->stage) {
        case DKIM_ROTATE_START:
                r = plan_start(ins, sp, o, &old, &new);
                break;
        case DKIM_ROTATE_SWITCH:
                r = plan_switch(ins, sp, o, &old, &new);
                break;
        case DKIM_ROTATE_FINISH:
                r = plan_finish(ins, sp, o, &old, &new);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < sp->n_notes; i++)
                if (sp->notes[i].level == NOTE_ERROR)
                        return 0;
        r = dkim_plan_tables(ins, sp, &new);
        if (r >= 0)
                r = dkim_plan_signal(ins, sp, false);
        if (r >= 0 && o->stage == DKIM_ROTATE_FINISH)
                r = plan_remove_old_keys(ins, sp, &old);
        if (r >= 0)
                r = dkim_state_plan(sp, &old, &new);
        return r;
}

static const Step rotate_steps[_DKIM_ROTATE_STAGE_MAX] = {
        [DKIM_ROTATE_START] = { .name = "dkim-rotate-start", .title = N_("DKIM rotation: a new key beside the "
                                                                          "signing one"), .inspect = inspect },
        [DKIM_ROTATE_SWITCH] = { .name = "dkim-rotate-switch", .title = N_("DKIM rotation: sign with the new "
                                                                            "key"), .inspect = inspect },
        [DKIM_ROTATE_FINISH] = { .name = "dkim-rotate-finish", .title = N_("DKIM rotation: remove the old "
                                                                            "key"), .inspect = inspect },
};

int dkim_rotate_plan(Installer *ins, const DkimRotateOptions *o, Plan **ret) {
        const Step *steps[1];
        int r;

        if (!o || o->stage < 0 || o->stage >= _DKIM_ROTATE_STAGE_MAX)
                return -EINVAL;
        steps[0] = &rotate_steps[o->stage];
        installer_set_userdata(ins, (void *) o);
        r = installer_plan_steps(ins, steps, 1, ret);
        installer_set_userdata(ins, NULL);
        return r;
}
