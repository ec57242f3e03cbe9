/* Step verify: the local checks (service, config, port, tls, smtp, imap, pop3) against the
 * running daemons; any critical finding fails the run. The certificate mxdeck installed is
 * the trust anchor, so a self-signed one is judged on everything but its issuer. */
#include <errno.h>
#include <string.h>

#include "checks.h"
#include "macro.h"
#include "settings.h"
#include "steps.h"

static int verify(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        static const char *const groups[] = { "service", "config", "port", "tls", "smtp", "imap", "pop3", NULL };
        _cleanup_free_ char *cert = NULL, *key = NULL;
        Settings settings = {};
        FindingList findings = {};
        unsigned critical = 0;
        int r;

        if (!installer_live_checks(ins))
                return 0;
        r = tls_paths(ins, &cert, &key);
        if (r < 0)
                return r;
        r = settings_init(&settings);
        if (r < 0)
                return r;
        CheckContext ctx = {
                .settings = &settings,
                .family = installer_profile(ins)->family,
                .systemd = installer_systemd(ins),
                .only = groups,
                .host = a->hostname,
                .host_from_flag = true,
                .domain = a->domain,
                .connect = "127.0.0.1",
                .ca_file = a->tls_source == ANSWERS_TLS_SELF_SIGNED ? cert : NULL,
        };
        r = checks_run(&ctx, &findings);
        for (size_t i = 0; r >= 0 && i < findings.n; i++) {
                const Finding *f = &findings.items[i];
                _cleanup_free_ char *line = NULL;
                if (f->status == STATUS_OK)
                        continue;
                if (f->status == STATUS_CRITICAL)
                        critical++;
                if (asprintf(&line, "%s %s: %s", status_to_string(f->status), f->id, strempty(f->summary)) >= 0)
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
        }
        if (r >= 0) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, _("%zu checks, %u critical"), findings.n, critical) >= 0)
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
        }
        findings_done(&findings);
        settings_done(&settings);
        if (r < 0)
                return r;
        return critical > 0 ? -EPROTO : 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        return 0;
}

const Step step_verify = {
        .name = "verify",
        .title = N_("checks against the running server"),
        .live = true,
        .inspect = inspect,
        .verify = verify,
};

int installer_client_settings(const Answers *a, char **ret) {
        const char *user = a->n_users > 0 ? a->users[0].name : NULL;
        bool has_pop3 = false, has_imap = false;
        char *s;

        for (char **p = a->dovecot_protocols; *p; p++) {
                has_pop3 = has_pop3 || streq(*p, "pop3");
                has_imap = has_imap || streq(*p, "imap");
        }
        if (asprintf(&s,
                     _("Mail client settings (Thunderbird, Outlook, Apple Mail, Foxmail):\n"
                       "  %-22s %-22s %-6s %s\n"
                       "  %-22s %-22s %-6s %s\n"
                       "  %-22s %-22s %-6s %s\n"
                       "  user name: %s%s\n"
                       "  authentication: normal password\n"),
                     _("what"), _("server"), _("port"), _("encryption"),
                     _("outgoing (SMTP)"), a->hostname, "587", "STARTTLS",
                     _("outgoing (SMTP)"), a->hostname, "465", "SSL/TLS",
                     user ? user : _("(the mailbox name)"),
                     a->users_mode == ANSWERS_USERS_VIRTUAL ? _(" (the full address)") : "") < 0)
                return -ENOMEM;
        char *in = NULL, *n;
        if (has_imap && asprintf(&in, "  %-22s %-22s %-6s %s\n", _("incoming (IMAP)"), a->hostname, "993", "SSL/TLS") < 0)
                in = NULL;
        if (has_pop3) {
                char *p3;
                if (asprintf(&p3, "%s  %-22s %-22s %-6s %s\n", strempty(in), _("incoming (POP3)"),
                             a->hostname, "995", "SSL/TLS") >= 0) {
                        free(in);
                        in = p3;
                }
        }
        /* incoming rows right after the header line */
        char *nl = strchr(strchr(s, '\n') + 1, '\n') + 1;
        if (asprintf(&n, "%.*s%s%s", (int) (nl - s), s, strempty(in), nl) < 0) {
                free(in);
                free(s);
                return -ENOMEM;
        }
        free(in);
        free(s);
        *ret = n;
        return 0;
}
