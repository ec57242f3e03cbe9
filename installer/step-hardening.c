/* Step hardening: what every guide adds once the server works.
 *
 * - Postfix anvil limits (connection rate and count, recipient rate, error limits, AUTH
 *   rate) through postconf -e, with the managed-state check of the postfix step: an
 *   administrator's later edit is a conflict, never overwritten silently.
 * - fail2ban ([hardening] fail2ban = yes): the postfix-sasl and dovecot jails in one
 *   drop-in, /etc/fail2ban/jail.d/mxdeck.conf, then fail2ban reloaded (or started).
 * (Sendmail and Exim are removed by the packages step: [packages] remove_other_mta.)
 * - RHEL: SELinux stays enforcing (a warning when it is not); a certificate or key outside
 *   the paths the policy labels gets the cert_t type (semanage fcontext) and restorecon. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "steps.h"
#include "units.h"

#define F2B_DROPIN "/etc/fail2ban/jail.d/mxdeck.conf"

/* The guides' values (seeds 003: "速率限制和连接控制"); the AUTH rate is mxdeck's own. */
static const char *const limit_names[] = {
        "smtpd_client_connection_rate_limit",
        "smtpd_client_connection_count_limit",
        "smtpd_client_recipient_rate_limit",
        "smtpd_soft_error_limit",
        "smtpd_hard_error_limit",
        "smtpd_client_auth_rate_limit",
};
static const char *const limit_values[] = { "10", "10", "100", "10", "20", "10" };

static bool exists_under(const Installer *ins, const char *path) {
        _cleanup_free_ char *full = installer_path(ins, path);
        return full && access(full, F_OK) >= 0;
}

static bool pid_file_alive(const Installer *ins, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        long pid;

        if (installer_read(ins, path, &data, &size) < 0)
                return false;
        pid = strtol(data, NULL, 10);
        return pid > 1 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

/* Does a fail2ban file define the jail [name]? */
static bool has_section(const char *text, const char *name) {
        _cleanup_free_ char *pat = NULL;

        if (!text || asprintf(&pat, "\n[%s]", name) < 0)
                return false;
        return strstr(text, pat) || startswith(text, pat + 1);
}

/* The drop-in: both jails on; the log source as this system has it. */
static int f2b_dropin(Installer *ins, char **ret) {
        const DistroProfile *p = installer_profile(ins);
        _cleanup_free_ char *jail = NULL, *postfix_filter = NULL, *source = NULL, *ban = NULL;
        size_t size;
        int r;

        r = installer_read(ins, "/etc/fail2ban/jail.conf", &jail, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        /* fail2ban before 0.10 had filter.d/postfix-sasl.conf; since then the jail of that
         * name uses postfix[mode=auth]. A jail.conf without the jail gets it defined here. */
        if (!has_section(jail, "postfix-sasl")) {
                if (asprintf(&postfix_filter, "filter = %s\nport = smtp,465,submission\n",
                             exists_under(ins, "/etc/fail2ban/filter.d/postfix-sasl.conf") ? "postfix-sasl"
                                                                                          : "postfix[mode=auth]") < 0)
                        return -ENOMEM;
        }
        /* a mail log file when syslog writes one; else the journal, by the mail facility
         * (units differ: postfix.service, postfix@-.service, or none in a container) */
        if (exists_under(ins, p->mail_log)) {
                if (asprintf(&source, "logpath = %s\nbackend = auto\n", p->mail_log) < 0)
                        return -ENOMEM;
        } else if (!(source = strdup("backend = systemd\njournalmatch = SYSLOG_FACILITY=2\n")))
                return -ENOMEM;
        /* without iptables the default ban action cannot ban: nftables's then */
        if (!exists_under(ins, "/usr/sbin/iptables") && !exists_under(ins, "/sbin/iptables") &&
            (exists_under(ins, "/usr/sbin/nft") || exists_under(ins, "/sbin/nft")) &&
            !exists_under(ins, "/etc/fail2ban/jail.d/00-firewalld.conf") &&
            !(ban = strdup("banaction = nftables-multiport\n")))
                return -ENOMEM;
        if (asprintf(ret,
                     "# Written by mxdeck: fail2ban jails for the mail server.\n"
                     "# 'mxdeck rollback' removes it; edits here are reported as conflicts.\n"
                     "[postfix-sasl]\n"
                     "enabled = true\n"
                     "%s%s%s"
                     "\n"
                     "[dovecot]\n"
                     "enabled = true\n"
                     "%s%s",
                     strempty(postfix_filter), source, strempty(ban), source, strempty(ban)) < 0)
                return -ENOMEM;
        return 0;
}

static int plan_fail2ban(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *text = NULL;
        size_t before = sp->n_actions;
        Action *a;
        int r;

        if (!exists_under(ins, "/usr/bin/fail2ban-client"))
                return step_plan_note(sp, NOTE_ERROR, _("[hardening] fail2ban = yes, but fail2ban is not installed "
                                                        "(package fail2ban%s)"),
                                      installer_profile(ins)->family == DISTRO_RHEL ? ", from EPEL" : "");
        r = f2b_dropin(ins, &text);
        if (r < 0)
                return r;
        r = step_plan_file(ins, sp, F2B_DROPIN, text, strlen(text), 0644, NULL, NULL, false);
        if (r < 0)
                return r;
        if (sp->n_actions == before || installer_offline(ins))
                return 0;
        if (pid_file_alive(ins, "/run/fail2ban/fail2ban.pid")) {
                const char *reload[] = { "fail2ban-client", "reload", NULL };
                r = step_plan_run(sp, NULL, reload, (const char *const[]) { NULL }, reload, &a);
                if (r >= 0)
                        a->undo_late = true;
                return r;
        }
        if (installer_systemd(ins)) {
                /* over D-Bus like the services step; an enable that finds it enabled
                 * changed nothing, and rollback leaves it so */
                r = step_plan_unit(sp, UNIT_ENABLE, "fail2ban.service", UNIT_DISABLE, false, NULL);
                if (r >= 0)
                        r = step_plan_unit(sp, UNIT_RELOAD_OR_RESTART, "fail2ban.service", UNIT_STOP, false, NULL);
                return r;
        }
        return step_plan_run(sp, NULL, (const char *const[]) { "fail2ban-client", "start", NULL },
                             (const char *const[]) { NULL },
                             (const char *const[]) { "fail2ban-client", "stop", NULL }, NULL);
}

/* SELINUX= in /etc/selinux/config: "enforcing", "permissive", "disabled", or NULL. */
static char *selinux_mode(const Installer *ins) {
        _cleanup_free_ char *conf = NULL;
        size_t size;

        if (installer_read(ins, "/etc/selinux/config", &conf, &size) < 0)
                return NULL;
        for (char *l = conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *v = startswith(l, "SELINUX=");
                if (v)
                        return strndup(v, strcspn(v, " \t\r\n#"));
        }
        return NULL;
}

/* Paths the targeted policy labels for certificates and keys already. */
static bool labelled_path(const char *path) {
        static const char *const dirs[] = { "/etc/pki/", "/etc/letsencrypt/", "/etc/ssl/", "/etc/dovecot/", "/etc/postfix/" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (startswith(path, dirs[i]))
                        return true;
        return false;
}

static int plan_selinux(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *mode = selinux_mode(ins), *cert = NULL, *key = NULL, *local = NULL;
        size_t size;
        int r;

        if (!mode)
                return 0;
        if (!streq(mode, "enforcing")) {
                r = step_plan_note(sp, NOTE_WARNING, _("SELinux is %s: mxdeck's configuration works with SELinux "
                                                       "enforcing (set SELINUX=enforcing in /etc/selinux/config)"), mode);
                if (r < 0 || streq(mode, "disabled"))
                        return r;
        } else if ((r = step_plan_note(sp, NOTE_INFO, _("SELinux stays enforcing"))) < 0)
                return r;

        r = tls_paths(ins, &cert, &key);
        if (r < 0)
                return r;
        r = installer_read(ins, "/etc/selinux/targeted/contexts/files/file_contexts.local", &local, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        for (int i = 0; i < 2; i++) {
                const char *path = i == 0 ? cert : key;
                _cleanup_free_ char *full = NULL, *pat = NULL;
                if (labelled_path(path))
                        continue;
                full = installer_path(ins, path);
                if (!full)
                        return -ENOMEM;
                /* semanage takes a regular expression: the path with its dots escaped */
                _cleanup_free_ char *re = malloc(strlen(path) * 2 + 1);
                if (!re)
                        return -ENOMEM;
                char *o = re;
                for (const char *c = path; *c; c++) {
                        if (strchr(".+*?[](){}|^$\\", *c))
                                *o++ = '\\';
                        *o++ = *c;
                }
                *o = '\0';
                if (asprintf(&pat, "%s ", re) < 0)
                        return -ENOMEM;
                /* a rule of the administrator's or from an earlier run: labelled already */
                if (local && strstr(local, pat))
                        continue;
                r = step_plan_run(sp, NULL,
                                  (const char *const[]) { "semanage", "fcontext", "-a", "-t", "cert_t", re, NULL },
                                  (const char *const[]) { NULL },
                                  (const char *const[]) { "semanage", "fcontext", "-d", re, NULL }, NULL);
                if (r < 0)
                        return r;
                Action *a;
                const char *rc[] = { "restorecon", "-v", full, NULL };
                r = step_plan_run(sp, NULL, rc, (const char *const[]) { NULL }, rc, &a);
                if (r < 0)
                        return r;
                a->undo_late = true;
        }
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        int r;

        if (a->rate_limits) {
                r = postfix_plan_params(ins, sp, limit_names, limit_values, ELEMENTSOF(limit_names));
                if (r < 0)
                        return r;
        }
        if (a->fail2ban) {
                r = plan_fail2ban(ins, sp);
                if (r < 0)
                        return r;
        }
        if (installer_profile(ins)->family == DISTRO_RHEL)
                return plan_selinux(ins, sp);
        return 0;
}

static int verify(Installer *ins, StepPlan *sp) {
        int r = 0;

        verify_previews(ins, sp);
        if (!installer_live_checks(ins) || !installer_answers(ins)->fail2ban)
                return 0;
        /* the jails answer (fail2ban-client status JAIL exits 255 for an unknown jail) */
        for (int i = 0; i < 2 && r >= 0; i++) {
                const char *jail = i == 0 ? "postfix-sasl" : "dovecot";
                SpawnResult res = {};
                r = installer_run_quiet(ins, sp->step->name,
                                        (const char *const[]) { "fail2ban-client", "status", jail, NULL }, &res);
                if (r >= 0 && !spawn_result_ok(&res))
                        r = -ENOENT;
                spawn_result_done(&res);
        }
        return r;
}

const Step step_hardening = {
        .name = "hardening",
        .title = N_("rate limits, fail2ban, SELinux"),
        .inspect = inspect,
        .verify = verify,
};
