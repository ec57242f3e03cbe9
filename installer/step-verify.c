/* Step verify: the local checks (service, config, port, tls, smtp, imap, pop3) against the
 * running daemons; any critical finding fails the run. The certificate mxdeck installed is
 * the trust anchor, so a self-signed one is judged on everything but its issuer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "checks.h"
#include "dkimverify.h"
#include "macro.h"
#include "opendkim.h"
#include "roundtrip.h"
#include "settings.h"
#include "steps.h"
#include "termsafe.h"

/* What the checks and the round trip trust: a self-signed certificate (mxdeck's, or the
 * administrator's given as files) is its own anchor; a private ACME CA (acme_ca_bundle)
 * is the anchor of what it issued; else the system store (NULL). */
static const char *trust_anchor(Installer *ins, const char *cert) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *pem = NULL;
        size_t size;
        bool self = false;

        if (a->tls_source == ANSWERS_TLS_SELF_SIGNED)
                return cert;
        if (a->tls_source == ANSWERS_TLS_ACME)
                return a->acme_ca_bundle;
        if (installer_read(ins, cert, &pem, &size) >= 0) {
                BIO *b = BIO_new_mem_buf(pem, (int) size);
                X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
                self = x && X509_check_issued(x, x) == X509_V_OK;
                X509_free(x);
                BIO_free(b);
                ERR_clear_error();
        }
        return self ? cert : NULL;
}

static void emit(Installer *ins, StepPlan *sp, const char *line) {
        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
}

_printf_(3, 4)
static void emitf(Installer *ins, StepPlan *sp, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                line = NULL;
        va_end(ap);
        if (line)
                emit(ins, sp, line);
}

/* With DKIM on: the round-trip message carries opendkim's signature for the sender's domain
 * and the signing selector, and it verifies against the public half of the key mxdeck
 * wrote, as a receiver would check it against the published record. Anything else fails. */
static int dkim_check(Installer *ins, StepPlan *sp, const char *address, const char *msg, size_t size) {
        _cleanup_(dkim_state_done) DkimState s = {};
        _cleanup_(dkim_verify_done) DkimVerify v = {};
        _cleanup_free_ char *path = NULL, *pem = NULL, *d = NULL, *sel = NULL, *detail = NULL;
        const char *domain = strrchr(address, '@');
        EVP_PKEY *key = NULL;
        size_t pem_size = 0;
        int r;

        domain = domain ? domain + 1 : installer_answers(ins)->domain;
        r = dkim_state_load(ins, &s);
        if (r < 0)
                return r;
        if (!s.selector)
                return step_verify_failed(ins, sp, ENOKEY, "%s", _("DKIM: no signing selector is recorded: the "
                                                                   "round-trip message was not checked"));
        path = opendkim_key_path(domain, s.selector);
        if (!path)
                return -ENOMEM;
        r = installer_read(ins, path, &pem, &pem_size);
        if (r >= 0) {
                r = dkim_verify_load_key(pem, pem_size, &key);
                explicit_bzero(pem, pem_size);
        }
        if (r < 0)
                return r == -ENOMEM ? r : step_verify_failed(ins, sp, ENOKEY, _("DKIM: cannot read the key %s: %s"),
                                                             path, strerror(-r));
        r = dkim_verify_message(msg, size, key, domain, s.selector, &v);
        EVP_PKEY_free(key);
        if (r < 0)
                return r;
        /* d=, s= and the parser's detail come from the message: terminal-safe before output */
        d = termsafe_strdup(strempty(v.d), 0);
        sel = termsafe_strdup(strempty(v.s), 0);
        detail = termsafe_strdup(strempty(v.detail), 0);
        if (!d || !sel || !detail)
                return -ENOMEM;
        switch (v.result) {
        case DKIM_VERIFY_OK:
                emitf(ins, sp, _("DKIM: the round-trip message is signed (d=%s s=%s) and the signature verifies "
                                 "against the key"), d, sel);
                return 0;
        case DKIM_VERIFY_NOT_SIGNED:
                return step_verify_failed(ins, sp, EBADMSG, "%s",
                                          _("DKIM: the round-trip message is not signed: is the milter in "
                                            "smtpd_milters for the submission service?"));
        case DKIM_VERIFY_WRONG_SIGNER:
                return step_verify_failed(ins, sp, EBADMSG,
                                          _("DKIM: the round-trip message is signed by d=%s s=%s, expected d=%s s=%s"),
                                          d, sel, domain, s.selector);
        case DKIM_VERIFY_BODY_HASH:
                return step_verify_failed(ins, sp, EBADMSG,
                                          _("DKIM: the round-trip message is signed (d=%s s=%s) but its body hash "
                                            "differs from bh="), d, sel);
        case DKIM_VERIFY_BAD_SIGNATURE:
                return step_verify_failed(ins, sp, EBADMSG,
                                          _("DKIM: the round-trip message is signed (d=%s s=%s) but the signature "
                                            "does not verify against the key %s"), d, sel, path);
        case DKIM_VERIFY_MALFORMED:
                return step_verify_failed(ins, sp, EBADMSG,
                                          _("DKIM: the round-trip message's DKIM-Signature does not parse: %s"), detail);
        default:
                return step_verify_failed(ins, sp, EBADMSG,
                                          _("DKIM: the round-trip message's signature cannot be checked here: %s"),
                                          detail);
        }
}

/* As the first user: submit, deliver, fetch, delete. Skipped (said so) when the answers
 * give only a hash: there is no password to log in with. */
static int round_trip(Installer *ins, StepPlan *sp, const char *cert) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *pw = NULL, *err = NULL, *address = NULL, *line = NULL;
        int r;

        if (a->n_users == 0)
                return 0;
        const AnswersUser *u = &a->users[0];
        r = user_password(ins, u, &pw, &err);
        if (r == -ENOENT && installer_roundtrip_password(ins)) {
                pw = strdup(installer_roundtrip_password(ins));
                r = pw ? 0 : -ENOMEM;
        }
        if (r == -ENOENT) {
                installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name,
                               _("round trip left out: the first user has a password hash, not a password"), 0);
                if (a->dkim_enabled)
                        emit(ins, sp, _("DKIM: no message was sent, so no signature was checked"));
                return 0;
        }
        if (r < 0)
                return r;
        if (a->users_mode == ANSWERS_USERS_VIRTUAL)
                address = strdup(u->name);
        else if (asprintf(&address, "%s@%s", u->name, a->domain) < 0)
                address = NULL;
        if (!address) {
                explicit_bzero(pw, strlen(pw));
                return -ENOMEM;
        }
        RoundTrip rt = {
                .host = a->hostname,
                .ca_file = trust_anchor(ins, cert),
                .login = u->name,
                .password = pw,
                .address = address,
        };
        _cleanup_free_ char *full_ca = rt.ca_file ? installer_path(ins, rt.ca_file) : NULL;
        if (rt.ca_file)
                rt.ca_file = full_ca;
        _cleanup_free_ char *msg = NULL;
        size_t msg_size = 0;
        r = roundtrip_run(&rt, a->dkim_enabled ? &msg : NULL, &msg_size, &err);
        explicit_bzero(pw, strlen(pw));
        if (r < 0)
                return r == -ENOMEM ? r : step_verify_failed(ins, sp, -r, _("round trip failed: %s"),
                                                             err ? err : strerror(-r));
        if (asprintf(&line, _("round trip: submitted on 587 (STARTTLS, AUTH as %s), delivered, "
                              "fetched over IMAPS, deleted"), u->name) >= 0)
                installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
        if (a->dkim_enabled)
                return dkim_check(ins, sp, address, msg, msg_size);
        return 0;
}

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
        /* the administrator's time limits ([check] timeout_seconds) apply here too */
        (void) settings_load_default(&settings, NULL);
        CheckContext ctx = {
                .settings = &settings,
                .family = installer_profile(ins)->family,
                .systemd = installer_systemd(ins),
                .only = groups,
                .host = a->hostname,
                .host_from_flag = true,
                .domain = a->domain,
                .connect = "127.0.0.1",
                .ca_file = trust_anchor(ins, cert),
        };
        _cleanup_free_ char *first = NULL;
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
                /* (what a server said can be in a summary: terminal-safe, as the message) */
                if (f->status == STATUS_CRITICAL && !first && line)
                        first = termsafe_strdup(line + strlen(status_to_string(f->status)) + 1, 0);
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
        if (critical > 0)
                return step_verify_failed(ins, sp, EPROTO, _("%u critical, the first: %s (see above)"),
                                          critical, strempty(first));
        return round_trip(ins, sp, cert);
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

/* One row of the client table, each column padded by display width (the first column and
 * the header are translated: CJK takes two columns a character). */
static void client_row(FILE *f, const char *what, const char *server, const char *port, const char *enc) {
        fputs("  ", f);
        termsafe_fputs_padded(f, what, -22);
        fputc(' ', f);
        termsafe_fputs_padded(f, server, -22);
        fputc(' ', f);
        termsafe_fputs_padded(f, port, -6);
        fprintf(f, " %s\n", enc);
}

int installer_client_settings(const Answers *a, char **ret) {
        const char *user = a->n_users > 0 ? a->users[0].name : NULL;
        bool has_pop3 = false, has_imap = false;
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        for (char **p = a->dovecot_protocols; *p; p++) {
                has_pop3 = has_pop3 || streq(*p, "pop3");
                has_imap = has_imap || streq(*p, "imap");
        }
        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        fputs(_("Mail client settings (Thunderbird, Outlook, Apple Mail, Foxmail):\n"), f);
        client_row(f, _("what"), _("server"), _("port"), _("encryption"));
        if (has_imap)
                client_row(f, _("incoming (IMAP)"), a->hostname, "993", "SSL/TLS");
        if (has_pop3)
                client_row(f, _("incoming (POP3)"), a->hostname, "995", "SSL/TLS");
        client_row(f, _("outgoing (SMTP)"), a->hostname, "587", "STARTTLS");
        client_row(f, _("outgoing (SMTP)"), a->hostname, "465", "SSL/TLS");
        fprintf(f, _("  user name: %s%s\n"), user ? user : _("(the mailbox name)"),
                a->users_mode == ANSWERS_USERS_VIRTUAL ? _(" (the full address)") : "");
        fputs(_("  authentication: normal password\n"), f);
        if (fclose(f) != 0 || !s) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}
