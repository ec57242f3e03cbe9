/* Step postfix: main.cf through `postconf -e`, master.cf submission (587) and smtps (465)
 * through `postconf -M` / `-P`, the virtual mailbox and alias tables; everything mxdeck does
 * not manage is left as it is. */
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "postfixcf.h"
#include "steps.h"

#define MAX_PARAMS 64

int postfix_conf_dir(const Installer *ins, char **ret) {
        *ret = installer_path(ins, installer_profile(ins)->postfix_dir);
        return *ret ? 0 : -ENOMEM;
}

/* argv = postconf [-c DIR] OPTION args... */
static int postconf_argv(const Installer *ins, const char *option, char *const *args, size_t n,
                         char ***ret) {
        _cleanup_strv_free_ char **v = calloc(n + 5, sizeof(char *));
        size_t k = 0;

        if (!v)
                return -ENOMEM;
        if (!(v[k++] = strdup("postconf")))
                return -ENOMEM;
        if (!streq(installer_root(ins), "/")) {
                if (!(v[k++] = strdup("-c")) || postfix_conf_dir(ins, &v[k++]) < 0)
                        return -ENOMEM;
        }
        if (!(v[k++] = strdup(option)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[k++] = strdup(args[i])))
                        return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

static int main_cf_path(const Installer *ins, char **ret) {
        return asprintf(ret, "%s/main.cf", installer_profile(ins)->postfix_dir) < 0 ? -ENOMEM : 0;
}

static int master_cf_path(const Installer *ins, char **ret) {
        return asprintf(ret, "%s/master.cf", installer_profile(ins)->postfix_dir) < 0 ? -ENOMEM : 0;
}

int postfix_plan_params(Installer *ins, StepPlan *sp, const char *const *names,
                        const char *const *values, size_t n) {
        _cleanup_free_ char *path = NULL, *old = NULL, *new = NULL;
        _cleanup_strv_free_ char **edits = calloc(n + 1, sizeof(char *));
        _cleanup_strv_free_ char **argv = NULL;
        char *en[MAX_PARAMS], *ev[MAX_PARAMS];
        size_t old_size = 0, new_size, k = 0;
        bool exists;
        int r;

        if (!edits || n > MAX_PARAMS)
                return -ENOMEM;
        r = main_cf_path(ins, &path);
        if (r < 0)
                return r;
        r = installer_read_planned(ins, path, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        exists = r >= 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cur = NULL, *key = NULL, *what = NULL;
                ManagedDecision d;

                if (exists) {
                        r = maincf_get(old, old_size, names[i], &cur);
                        if (r < 0 && r != -ENOENT)
                                return r;
                }
                if (asprintf(&key, "postfix:main:%s", names[i]) < 0 ||
                    asprintf(&what, "main.cf %s", names[i]) < 0)
                        return -ENOMEM;
                r = installer_managed_decide(ins, sp, key, what, cur, values[i], &d);
                if (r < 0)
                        return r;
                if (d == MANAGED_KEEP)
                        continue;
                /* record even when already as wanted: an adopted setting becomes managed */
                if (d == MANAGED_SAME && streq_ptr(installer_managed_get(ins, key), values[i]))
                        continue;
                r = step_plan_managed(sp, key, values[i]);
                if (r < 0)
                        return r;
                if (d == MANAGED_SAME)
                        continue;
                en[k] = (char *) names[i];
                ev[k] = (char *) values[i];
                if (asprintf(&edits[k], "%s=%s", names[i], values[i]) < 0)
                        return -ENOMEM;
                k++;
        }
        if (k == 0)
                return 0;

        if (exists && old_size > 0 && old[old_size - 1] != '\n') {
                /* postconf -e appends a new parameter to a last line without its newline
                 * ("x = 1" + "y = 2" becomes "x = 1y = 2"): add the newline first */
                _cleanup_free_ char *full = installer_path(ins, path), *summary = NULL, *fixed = NULL;
                struct stat st;
                if (!full || !(fixed = malloc(old_size + 2)))
                        return -ENOMEM;
                if (stat(full, &st) < 0)
                        return negative_errno();
                memcpy(fixed, old, old_size);
                fixed[old_size] = '\n';
                fixed[old_size + 1] = '\0';
                if (asprintf(&summary, _("add the missing newline at the end of %s"), path) < 0)
                        return -ENOMEM;
                r = step_plan_write(sp, summary, path, fixed, old_size + 1, st.st_mode & 07777, NULL, NULL);
                if (r < 0)
                        return r;
                r = step_plan_preview(sp, path, old, old_size, fixed, old_size + 1, false, NULL);
                if (r < 0)
                        return r;
                free(old);
                old = TAKE_PTR(fixed);
                old_size++;
        }
        if (!exists) {
                _cleanup_free_ char *summary = NULL;
                if (asprintf(&summary, _("create an empty %s for postconf to fill"), path) < 0)
                        return -ENOMEM;
                r = step_plan_write(sp, summary, path, "", 0, 0644, NULL, NULL);
                if (r < 0)
                        return r;
        }
        r = maincf_set(old, old_size, en, ev, k, &new, &new_size);
        if (r < 0)
                return r;
        r = step_plan_preview(sp, path, exists ? old : NULL, old_size, new, new_size, false, "postconf -e");
        if (r < 0)
                return r;
        r = installer_set_planned(ins, path, new, new_size);
        if (r < 0)
                return r;
        /* postconf appends parameters main.cf does not have yet in its hash table's order:
         * one command per new parameter keeps the file in the order previewed. Those that
         * exist are edited in place by one command. */
        _cleanup_strv_free_ char **existing = calloc(k + 1, sizeof(char *));
        _cleanup_free_ bool *in_place = calloc(k + 1, sizeof(bool));
        size_t ne = 0;
        if (!existing || !in_place)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                _cleanup_free_ char *cur = NULL;
                if (exists && maincf_get(old, old_size, en[i], &cur) >= 0) {
                        in_place[i] = true;
                        if (!(existing[ne++] = strdup(edits[i])))
                                return -ENOMEM;
                }
        }
        if (ne > 0) {
                r = postconf_argv(ins, "-e", existing, ne, &argv);
                if (r >= 0)
                        r = step_plan_run(sp, NULL, (const char *const *) argv,
                                          (const char *const[]) { path, NULL }, NULL, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < k; i++) {
                _cleanup_strv_free_ char **one = NULL;
                if (in_place[i])
                        continue;
                r = postconf_argv(ins, "-e", &edits[i], 1, &one);
                if (r >= 0)
                        r = step_plan_run(sp, NULL, (const char *const *) one,
                                          (const char *const[]) { path, NULL }, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- master.cf --- */

typedef struct MasterService {
        const char *service;
        const char *options[12]; /* name=value */
} MasterService;

static const MasterService master_services[] = {
        { "submission", {
                "syslog_name=postfix/submission",
                "smtpd_tls_security_level=encrypt",
                "smtpd_sasl_auth_enable=yes",
                "smtpd_tls_auth_only=yes",
                "smtpd_client_restrictions=permit_sasl_authenticated,reject",
                "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
                "milter_macro_daemon_name=ORIGINATING",
        } },
        { "smtps", {
                "syslog_name=postfix/smtps",
                "smtpd_tls_wrappermode=yes",
                "smtpd_sasl_auth_enable=yes",
                "smtpd_client_restrictions=permit_sasl_authenticated,reject",
                "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
                "milter_macro_daemon_name=ORIGINATING",
        } },
};

static int plan_master(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *path = NULL, *orig = NULL, *text = NULL;
        _cleanup_strv_free_ char **m_args = calloc(ELEMENTSOF(master_services) + 1, sizeof(char *));
        _cleanup_strv_free_ char **p_args = calloc(ELEMENTSOF(master_services) * 12 + 1, sizeof(char *));
        _cleanup_(master_entry_done) MasterEntry smtp = {};
        size_t size = 0, orig_size, nm = 0, np = 0;
        const char *chroot = "n";
        int r;

        if (!m_args || !p_args)
                return -ENOMEM;
        r = master_cf_path(ins, &path);
        if (r < 0)
                return r;
        r = installer_read_planned(ins, path, &text, &size);
        if (r == -ENOENT)
                return step_plan_note(sp, NOTE_ERROR, _("%s is missing: is Postfix installed?"), path);
        if (r < 0)
                return r;
        orig = strndup(text, size);
        orig_size = size;
        if (!orig)
                return -ENOMEM;
        /* the new services follow the smtp service's chroot choice (Debian: y, RHEL: n) */
        if (mastercf_get(text, size, "smtp", "inet", &smtp) >= 0 && streq(smtp.fields[4], "y"))
                chroot = "y";

        for (size_t i = 0; i < ELEMENTSOF(master_services); i++) {
                const MasterService *s = &master_services[i];
                _cleanup_(master_entry_done) MasterEntry e = {};
                _cleanup_free_ char *fields = NULL, *cur = NULL, *key = NULL, *what = NULL;
                ManagedDecision d;
                bool entry_kept = false;

                if (asprintf(&fields, "%s inet n - %s - - smtpd", s->service, chroot) < 0 ||
                    asprintf(&key, "postfix:master:%s/inet", s->service) < 0 ||
                    asprintf(&what, "master.cf %s/inet", s->service) < 0)
                        return -ENOMEM;
                r = mastercf_get(text, size, s->service, "inet", &e);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r >= 0 && !(cur = master_entry_fields(&e)))
                        return -ENOMEM;
                /* an entry that only differs in chroot, process limits etc. is the
                 * administrator's choice: adopt it as long as it runs smtpd on inet */
                if (cur && streq(e.fields[2], "n") && streq(e.fields[7], "smtpd")) {
                        free(fields);
                        fields = strdup(cur);
                        if (!fields)
                                return -ENOMEM;
                }
                r = installer_managed_decide(ins, sp, key, what, cur, fields, &d);
                if (r < 0)
                        return r;
                if (d == MANAGED_KEEP)
                        entry_kept = true;
                else if (d != MANAGED_SAME || !streq_ptr(installer_managed_get(ins, key), fields)) {
                        r = step_plan_managed(sp, key, fields);
                        if (r < 0)
                                return r;
                }
                if (d == MANAGED_CHANGE || d == MANAGED_TAKE) {
                        _cleanup_free_ char *n = NULL;
                        size_t ns;
                        if (asprintf(&m_args[nm++], "%s/inet=%s", s->service, fields) < 0)
                                return -ENOMEM;
                        r = mastercf_set_entry(text, size, fields, &n, &ns);
                        if (r < 0)
                                return r;
                        free(text);
                        text = TAKE_PTR(n);
                        size = ns;
                        master_entry_done(&e);
                        r = mastercf_get(text, size, s->service, "inet", &e);
                        if (r < 0)
                                return r;
                }
                if (entry_kept && !cur)
                        continue; /* they removed the service: no options to set on it */

                for (size_t j = 0; j < ELEMENTSOF(s->options) && s->options[j]; j++) {
                        _cleanup_free_ char *name = strndup(s->options[j], strcspn(s->options[j], "="));
                        _cleanup_free_ char *okey = NULL, *owhat = NULL, *ocur = NULL;
                        const char *want = strchr(s->options[j], '=') + 1, *c;
                        if (!name)
                                return -ENOMEM;
                        c = master_entry_option(&e, name);
                        if (c && !(ocur = strdup(c)))
                                return -ENOMEM;
                        if (asprintf(&okey, "postfix:master:%s/inet/%s", s->service, name) < 0 ||
                            asprintf(&owhat, "master.cf %s/inet -o %s", s->service, name) < 0)
                                return -ENOMEM;
                        r = installer_managed_decide(ins, sp, okey, owhat, ocur, want, &d);
                        if (r < 0)
                                return r;
                        if (d == MANAGED_KEEP)
                                continue;
                        if (!streq_ptr(installer_managed_get(ins, okey), want) &&
                            (r = step_plan_managed(sp, okey, want)) < 0)
                                return r;
                        if (d == MANAGED_SAME)
                                continue;
                        _cleanup_free_ char *n = NULL;
                        size_t ns;
                        if (asprintf(&p_args[np++], "%s/inet/%s", s->service, s->options[j]) < 0)
                                return -ENOMEM;
                        r = mastercf_set_option(text, size, s->service, "inet", name, want, &n, &ns);
                        if (r < 0)
                                return r;
                        free(text);
                        text = TAKE_PTR(n);
                        size = ns;
                        master_entry_done(&e);
                        r = mastercf_get(text, size, s->service, "inet", &e);
                        if (r < 0)
                                return r;
                }
        }
        if (nm == 0 && np == 0)
                return 0;
        r = step_plan_preview(sp, path, orig, orig_size, text, size, false, "postconf -M/-P");
        if (r >= 0)
                r = installer_set_planned(ins, path, text, size);
        if (r < 0)
                return r;
        if (nm > 0) {
                _cleanup_strv_free_ char **argv = NULL;
                r = postconf_argv(ins, "-M", m_args, nm, &argv);
                if (r >= 0)
                        r = step_plan_run(sp, NULL, (const char *const *) argv,
                                          (const char *const[]) { path, NULL }, NULL, NULL);
                if (r < 0)
                        return r;
        }
        if (np > 0) {
                _cleanup_strv_free_ char **argv = NULL;
                r = postconf_argv(ins, "-P", p_args, np, &argv);
                if (r >= 0)
                        r = step_plan_run(sp, NULL, (const char *const *) argv,
                                          (const char *const[]) { path, NULL }, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- tables for virtual mode, and aliases in both modes --- */

static int append_line(char **buf, size_t *len, const char *a, const char *b) {
        char *n;
        size_t la = strlen(a), lb = strlen(b);

        n = realloc(*buf, *len + la + lb + 3);
        if (!n)
                return -ENOMEM;
        *buf = n;
        memcpy(n + *len, a, la);
        n[*len + la] = ' ';
        memcpy(n + *len + la + 1, b, lb);
        n[*len + la + 1 + lb] = '\n';
        *len += la + lb + 2;
        n[*len] = '\0';
        return 0;
}

#define MAILBOXES "/etc/postfix/mxdeck-mailboxes"
#define ALIASES "/etc/postfix/mxdeck-aliases"

static int plan_tables(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *mb = strdup(""), *al = strdup("");
        size_t mbl = 0, all = 0;
        bool virtual = a->users_mode == ANSWERS_USERS_VIRTUAL;
        int r;

        if (!mb || !al)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_users; i++) {
                const AnswersUser *u = &a->users[i];
                if (virtual && (r = append_line(&mb, &mbl, u->name, "OK")) < 0)
                        return r;
                for (char **x = u->aliases; *x; x++) {
                        _cleanup_free_ char *from = NULL;
                        /* system mode: a local part; Postfix qualifies it with $myorigin */
                        if (!virtual && asprintf(&from, "%s@%s", *x, a->domain) < 0)
                                return -ENOMEM;
                        if ((r = append_line(&al, &all, virtual ? *x : from, u->name)) < 0)
                                return r;
                }
        }
        /* RFC 2142: postmaster and abuse must reach someone; the first user unless the
         * answers name someone */
        if (a->n_users > 0) {
                const char *roles[] = { "postmaster", "abuse" };
                const char *doms[64];
                size_t nd = 0;
                doms[nd++] = a->domain;
                for (char **d = a->domains; *d && nd < ELEMENTSOF(doms); d++)
                        doms[nd++] = *d;
                for (size_t ri = 0; ri < ELEMENTSOF(roles); ri++)
                        for (size_t di = 0; di < nd; di++) {
                                _cleanup_free_ char *addr = NULL, *pat = NULL;
                                if (asprintf(&addr, "%s@%s", roles[ri], doms[di]) < 0 ||
                                    asprintf(&pat, "\n%s ", addr) < 0)
                                        return -ENOMEM;
                                bool named = strncmp(al, pat + 1, strlen(pat + 1)) == 0 || strstr(al, pat);
                                for (size_t i = 0; virtual && i < a->n_users; i++)
                                        named = named || streq(a->users[i].name, addr);
                                if (!named && (r = append_line(&al, &all, addr, a->users[0].name)) < 0)
                                        return r;
                        }
        }
        if (virtual) {
                r = step_plan_file(ins, sp, MAILBOXES, mb, mbl, 0644, NULL, NULL, false);
                if (r < 0)
                        return r;
        }
        return step_plan_file(ins, sp, ALIASES, al, all, 0644, NULL, NULL, false);
}

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *cert = NULL, *key = NULL, *msl = NULL, *mbl = NULL, *nets = NULL,
                            *vdomains = NULL;
        const char *names[MAX_PARAMS], *values[MAX_PARAMS];
        size_t n = 0;
        int r;

        r = tls_paths(ins, &cert, &key);
        if (r < 0)
                return r;
        if (asprintf(&msl, "%" PRIu64, a->message_size_limit) < 0 ||
            asprintf(&mbl, "%" PRIu64, a->mailbox_size_limit) < 0)
                return -ENOMEM;
        for (char **s = a->mynetworks; *s; s++) {
                char *x;
                if (asprintf(&x, "%s%s%s", strempty(nets), nets ? " " : "", *s) < 0)
                        return -ENOMEM;
                free(nets);
                nets = x;
        }
#define SET(k, v) do { names[n] = (k); values[n] = (v); n++; } while (0)
        SET("compatibility_level", "3.6");
        SET("inet_interfaces", "all");
        SET("mynetworks", nets ? nets : "127.0.0.0/8");
        SET("relayhost", strempty(a->relayhost));
        SET("smtpd_banner", "$myhostname ESMTP");
        SET("smtpd_relay_restrictions",
            "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
        SET("smtpd_sasl_type", "dovecot");
        SET("smtpd_sasl_path", "private/auth");
        SET("smtpd_tls_cert_file", cert);
        SET("smtpd_tls_key_file", key);
        SET("smtpd_tls_security_level", "may");
        SET("smtpd_tls_auth_only", "yes");
        SET("smtpd_tls_protocols", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
        SET("smtpd_tls_mandatory_protocols", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
        SET("smtp_tls_security_level", "may");
        SET("message_size_limit", msl);
        SET("mailbox_size_limit", mbl);
        SET("alias_maps", "hash:/etc/aliases");
        SET("alias_database", "hash:/etc/aliases");
        SET("virtual_alias_maps", "texthash:" ALIASES);
        if (a->smtp_address_preference)
                SET("smtp_address_preference", a->smtp_address_preference);
        if (a->users_mode == ANSWERS_USERS_VIRTUAL) {
                for (size_t i = 0; i == 0 || a->domains[i - 1]; i++) {
                        const char *d = i == 0 ? a->domain : a->domains[i - 1];
                        char *x;
                        if (asprintf(&x, "%s%s%s", strempty(vdomains), vdomains ? ", " : "", d) < 0)
                                return -ENOMEM;
                        free(vdomains);
                        vdomains = x;
                }
                SET("mydestination", "$myhostname, localhost.$mydomain, localhost");
                SET("virtual_mailbox_domains", vdomains);
                SET("virtual_mailbox_maps", "texthash:" MAILBOXES);
                SET("virtual_transport", "lmtp:unix:private/dovecot-lmtp");
        } else {
                SET("mydestination", "$myhostname, $mydomain, localhost.$mydomain, localhost");
                SET("home_mailbox", "Maildir/");
        }
#undef SET
        r = plan_tables(ins, sp);
        if (r < 0)
                return r;
        r = postfix_plan_params(ins, sp, names, values, n);
        if (r < 0)
                return r;
        r = plan_master(ins, sp);
        if (r < 0)
                return r;

        /* hash:/etc/aliases must exist, or local delivery defers every message */
        _cleanup_free_ char *aliases = installer_path(ins, "/etc/aliases");
        _cleanup_free_ char *db = installer_path(ins, "/etc/aliases.db");
        if (!aliases || !db)
                return -ENOMEM;
        if (access(aliases, F_OK) >= 0 && access(db, F_OK) < 0) {
                _cleanup_free_ char *dir = NULL;
                r = postfix_conf_dir(ins, &dir);
                if (r < 0)
                        return r;
                const char *v[] = { "postalias", "-c", dir, aliases, NULL };
                r = step_plan_run(sp, _("build /etc/aliases.db (postalias)"), v,
                                  (const char *const[]) { "/etc/aliases.db", NULL }, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int verify(Installer *ins, StepPlan *sp) {
        SpawnResult res = {};
        int r;

        verify_previews(ins, sp);
        /* the verify step's config checks run postfix check themselves (seconds each) */
        if (installer_offline(ins) || installer_live_checks(ins))
                return 0;
        r = installer_run_quiet(ins, sp->step->name, (const char *const[]) { "postfix", "check", NULL }, &res);
        if (r < 0)
                return r;
        r = spawn_result_ok(&res) ? 0 : -EINVAL;
        spawn_result_done(&res);
        return r;
}

const Step step_postfix = {
        .name = "postfix",
        .title = N_("Postfix: main.cf and master.cf (submission, smtps)"),
        .inspect = inspect,
        .verify = verify,
};
