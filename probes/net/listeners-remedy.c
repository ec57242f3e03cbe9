/* Remedies of the listener suite: prose for the person, exact commands for the shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "listeners-remedy.h"
#include "macro.h"
#include "mailconf.h"
#include "postconf.h"

#define RELAY_RESTRICTIONS "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"

int remedy_open_relay(Finding *f, const CheckContext *ctx) {
        if (finding_set_remedy(f, "%s", _("Put reject_unauth_destination before any permit that strangers can "
                                          "reach, and keep mynetworks to your own hosts (see config.relay).")) < 0 ||
            finding_add_command(f, "postconf -e 'smtpd_relay_restrictions = " RELAY_RESTRICTIONS "'") < 0)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, false);
}

int remedy_plaintext_auth(Finding *f, const CheckContext *ctx) {
        if (finding_set_remedy(f, "%s", _("Make Dovecot accept passwords only after STARTTLS or on 993/995: "
                                          "disable_plaintext_auth = yes (Dovecot 2.4: auth_allow_cleartext = no).")) < 0)
                return -ENOMEM;
        int r = remedy_dovecot_set(f, NULL, "disable_plaintext_auth", "yes", "10-auth.conf");
        if (r == -ENOMEM)
                return r;
        return remedy_reload(f, ctx, false, true);
}

int remedy_auth_before_tls(Finding *f, const CheckContext *ctx, bool port25) {
        if (finding_set_remedy(f, "%s", port25 ? _("Offer AUTH only inside TLS (clients submit on 587/465 anyway).")
                                               : _("Offer AUTH only inside TLS: clients must STARTTLS first.")) < 0 ||
            finding_add_command(f, "postconf -e 'smtpd_tls_auth_only = yes'") < 0)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, false);
}

int remedy_starttls_25(Finding *f, const CheckContext *ctx) {
        _cleanup_free_ char *cert = configured_cert_file(ctx, true);
        if (finding_set_remedy(f, "%s", cert ? _("Turn on opportunistic TLS with the certificate already configured.")
                                             : _("Turn on opportunistic TLS; Postfix needs a certificate for it "
                                                 "(smtpd_tls_chain_files = /path/privkey.pem, /path/fullchain.pem).")) < 0 ||
            finding_add_command(f, "postconf -e 'smtpd_tls_security_level = may'") < 0)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, false);
}

int remedy_tls_setting(Finding *f, const CheckContext *ctx, const Service *svc, const char *prefix) {
        int r = svc_postfix(svc)
                ? finding_set_remedy(f, "%s%s", strempty(prefix),
                                     _("Postfix: smtpd_tls_chain_files (or smtpd_tls_cert_file/smtpd_tls_key_file) in "
                                       "main.cf name the key and certificate; see cert.files."))
                : finding_set_remedy(f, "%s%s", strempty(prefix),
                                     _("Dovecot: ssl_cert and ssl_key in 10-ssl.conf name the certificate and key; "
                                       "see cert.files."));
        return r < 0 ? -ENOMEM : 0;
}

int remedy_no_starttls(Finding *f, const CheckContext *ctx, const Service *svc) {
        if (svc_postfix(svc)) {
                if (finding_set_remedy(f, "%s", _("Turn on TLS in Postfix (a certificate must be configured, see "
                                                  "cert.files); submission requires it.")) < 0)
                        return -ENOMEM;
                if (streq(svc->name, "submission")
                            ? finding_add_command(f, "postconf -P submission/inet/smtpd_tls_security_level=encrypt") < 0
                            : finding_add_command(f, "postconf -e 'smtpd_tls_security_level = may'") < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, true, false);
        }
        if (finding_set_remedy(f, "%s", _("Turn on TLS in Dovecot: ssl = yes with ssl_cert and ssl_key (see cert.files).")) < 0)
                return -ENOMEM;
        int r = remedy_dovecot_set(f, NULL, "ssl", "yes", "10-ssl.conf");
        if (r == -ENOMEM)
                return r;
        return remedy_reload(f, ctx, false, true);
}

int remedy_old_protocols(Finding *f, const CheckContext *ctx, const Service *svc) {
        if (svc_postfix(svc)) {
                if (finding_set_remedy(f, "%s", _("Accept TLS 1.2 and newer only.")) < 0 ||
                    finding_add_command(f, "postconf -e 'smtpd_tls_protocols = >=TLSv1.2' "
                                           "'smtpd_tls_mandatory_protocols = >=TLSv1.2'") < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, true, false);
        }
        if (finding_set_remedy(f, "%s", _("Accept TLS 1.2 and newer only: ssl_min_protocol = TLSv1.2.")) < 0)
                return -ENOMEM;
        int r = remedy_dovecot_set(f, NULL, "ssl_min_protocol", "TLSv1.2", "10-ssl.conf");
        if (r == -ENOMEM)
                return r;
        return remedy_reload(f, ctx, false, true);
}

int remedy_real_certificate(Finding *f, const CheckContext *ctx, const char *host, const char *prefix) {
        const char *h = host && *host ? host : "mail.example.org";
        if (finding_set_remedy(f, _("%sGet a certificate from a public CA, e.g. Let's Encrypt (port 80 must be free "
                                    "for --standalone; else use --webroot -w DIR), and point both daemons at it. "
                                    "So that renewals reach the daemons, put a script running '%s' and '%s' in "
                                    "/etc/letsencrypt/renewal-hooks/deploy/."),
                               strempty(prefix), reload_cmd_postfix(ctx), reload_cmd_dovecot(ctx)) < 0)
                return -ENOMEM;
        if (finding_add_command(f, "certbot certonly --standalone -d %s", h) < 0 ||
            finding_add_command(f, "postconf -e 'smtpd_tls_chain_files = /etc/letsencrypt/live/%s/privkey.pem, "
                                   "/etc/letsencrypt/live/%s/fullchain.pem'", h, h) < 0)
                return -ENOMEM;
        _cleanup_free_ char *cert = NULL, *key = NULL;
        if (asprintf(&cert, "</etc/letsencrypt/live/%s/fullchain.pem", h) < 0 ||
            asprintf(&key, "</etc/letsencrypt/live/%s/privkey.pem", h) < 0)
                return -ENOMEM;
        if (remedy_dovecot_set(f, NULL, "ssl_cert", cert, "10-ssl.conf") == -ENOMEM ||
            remedy_dovecot_set(f, NULL, "ssl_key", key, "10-ssl.conf") == -ENOMEM)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, true);
}

char *configured_cert_file(const CheckContext *ctx, bool postfix) {
        if (postfix) {
                static const char *const names[] = { "smtpd_tls_chain_files", "smtpd_tls_cert_file", NULL };
                _cleanup_strv_free_ char **v = NULL, **words = NULL;
                if (postconf_get(ctx, names, &v, NULL) < 0)
                        return NULL;
                if (*v[0] && postfix_list_split(v[0], &words) >= 0 && words[0]) {
                        /* key first or certificate first: the certificate is the file that is
                         * not the key; take the last (fullchain after privkey, the usual order) */
                        size_t n = 0;
                        while (words[n])
                                n++;
                        return strdup(words[n - 1]);
                }
                return *v[1] ? strdup(v[1]) : NULL;
        }
        _cleanup_free_ char *v = NULL;
        if (doveconf_get(ctx, "ssl_cert", &v, NULL) < 0 || !v)
                return NULL;
        const char *p = v + strspn(v, " \t<");
        size_t n = strcspn(p, "\n");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
        return n > 0 ? strndup(p, n) : NULL;
}

/* Seconds until the first certificate in path expires; -ENOENT etc. when unreadable. */
static int file_seconds_left(const char *path, int64_t *ret, char **ret_not_after) {
        FILE *fp = fopen(path, "re");
        if (!fp)
                return -errno;
        X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
        fclose(fp);
        if (!x)
                return -EBADMSG;
        int days = 0, secs = 0;
        const ASN1_TIME *na = X509_get0_notAfter(x);
        int ok = ASN1_TIME_diff(&days, &secs, NULL, na);
        char *s = NULL;
        BIO *b = BIO_new(BIO_s_mem());
        if (b && ASN1_TIME_print(b, na)) {
                char *data;
                long len = BIO_get_mem_data(b, &data);
                s = strndup(data, (size_t) len);
        }
        BIO_free(b);
        X509_free(x);
        if (!ok) {
                free(s);
                return -EBADMSG;
        }
        *ret = (int64_t) days * 86400 + secs;
        *ret_not_after = s;
        return 0;
}

int remedy_expiry(Finding *f, const CheckContext *ctx, const Service *svc, const TlsInfo *t, const char *host) {
        /* Renewed on disk but the daemon still serves the old one: it was not reloaded. */
        _cleanup_free_ char *file = configured_cert_file(ctx, svc_postfix(svc)), *na = NULL;
        int64_t left = 0;
        if (file && file_seconds_left(file, &left, &na) >= 0 && left > t->seconds_left + 3600 && left > 0) {
                if (finding_set_remedy(f, _("The certificate file %s is already renewed (valid until %s), but %s "
                                            "still serves the old one: reload it. So that the next renewal reaches "
                                            "it, put a script running '%s' and '%s' in "
                                            "/etc/letsencrypt/renewal-hooks/deploy/ (or your ACME client's hook)."),
                                       file, strempty(na), svc_postfix(svc) ? "Postfix" : "Dovecot",
                                       reload_cmd_postfix(ctx), reload_cmd_dovecot(ctx)) < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, svc_postfix(svc), !svc_postfix(svc));
        }

        bool lets_encrypt = t->issuer && strstr(t->issuer, "Let's Encrypt");
        bool private_ca = !lets_encrypt && (t->chain != TLS_CHAIN_OK || ctx->ca_file);
        if (private_ca) {
                _cleanup_free_ char *prefix = NULL;
                if (asprintf(&prefix, _("This certificate is %s: certbot cannot renew it. Replace it with a real one. "),
                             t->chain == TLS_CHAIN_SELF_SIGNED ? _("self-signed") : _("from a private CA")) < 0)
                        return -ENOMEM;
                return remedy_real_certificate(f, ctx, host, prefix);
        }
        if (lets_encrypt) {
                if (finding_set_remedy(f, _("Renew it, and see why the automatic renewal did not (%s). Put a script "
                                            "running '%s' and '%s' in /etc/letsencrypt/renewal-hooks/deploy/ so "
                                            "renewals reach the daemons."),
                                       ctx->systemd ? "systemctl list-timers certbot.timer; journalctl -u certbot"
                                                    : "/var/log/letsencrypt/letsencrypt.log",
                                       reload_cmd_postfix(ctx), reload_cmd_dovecot(ctx)) < 0 ||
                    finding_add_command(f, "certbot renew") < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, true, true);
        }
        if (finding_set_remedy(f, _("Renew it with its CA (%s) and install the new certificate; then reload both daemons."),
                               strempty(t->issuer)) < 0)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, true);
}

int remedy_untrusted_chain(Finding *f, const CheckContext *ctx, const Service *svc) {
        return remedy_tls_setting(f, ctx, svc, _("Serve the whole chain (fullchain.pem, not cert.pem). If the "
                                                 "certificate comes from a private CA, pass that CA with --ca-file. "));
}

int remedy_greeting(Finding *f, const CheckContext *ctx, const Service *svc, unsigned port) {
        return finding_set_remedy(f, _("Check that the %s daemon owns this port (ss -ltnp 'sport = :%u') and read its "
                                       "log (%s)."),
                                  svc_postfix(svc) ? "Postfix" : "Dovecot", port,
                                  ctx->systemd ? (svc_postfix(svc) ? "journalctl -u postfix" : "journalctl -u dovecot")
                                               : _("the mail log, e.g. /var/log/mail.log")) < 0 ? -ENOMEM : 0;
}

int remedy_listen(Finding *f, const CheckContext *ctx, const Service *svc, unsigned port, int configured,
                  bool daemon_down) {
        int r;

        if (daemon_down) {
                r = svc_postfix(svc)
                        ? finding_set_remedy(f, "%s", _("Postfix is not running: see service.postfix; start it (none "
                                                        "of its ports accepts connections). If it stops again at "
                                                        "once, read 'postfix check' and the mail log."))
                        : finding_set_remedy(f, "%s", _("Dovecot is not running: see service.dovecot; start it (none "
                                                        "of its ports accepts connections). If it stops again at "
                                                        "once, read 'doveconf -n', cert.files and the mail log."));
                if (r < 0)
                        return -ENOMEM;
                return remedy_start(f, ctx, svc_postfix(svc), !svc_postfix(svc));
        }
        if (streq(svc->name, "smtp"))
                return finding_set_remedy(f, _("Postfix listens on port 25 through the 'smtp inet ... smtpd' line of "
                                               "/etc/postfix/master.cf (check: postconf -M smtp/inet) and "
                                               "inet_interfaces in main.cf; then '%s', and open the port in the "
                                               "firewall."),
                                          ctx->systemd ? "systemctl restart postfix" : "postfix stop; postfix start") < 0
                               ? -ENOMEM : 0;
        if (svc_postfix(svc)) {
                const char *tls = streq(svc->name, "smtps") ? "smtpd_tls_wrappermode=yes" : "smtpd_tls_security_level=encrypt";
                if (configured > 0)
                        return finding_set_remedy(f, _("'postconf -M %s/inet' shows the service, yet nothing listens on "
                                                       "port %u: check that master.cf line (keep its -o overrides, see "
                                                       "postconf -P), inet_interfaces and the mail log; then '%s'."),
                                                  svc->name, port, reload_cmd_postfix(ctx)) < 0 ? -ENOMEM : 0;
                if (configured < 0)
                        /* postconf -M NAME='...' replaces an existing entry and drops its -o
                         * overrides: commands only for a service known to be absent. */
                        return finding_set_remedy(f, _("First see whether the service exists: postconf -M %s/inet. If "
                                                       "that prints nothing, add it: postconf -M %s/inet='%s inet n - y "
                                                       "- - smtpd', postconf -P %s/inet/%s %s/inet/smtpd_sasl_auth_enable=yes, "
                                                       "then '%s'. If it prints a line, do not overwrite it (that drops "
                                                       "its -o overrides): check it, inet_interfaces and the mail log."),
                                                  svc->name, svc->name, svc->name, svc->name, tls, svc->name,
                                                  reload_cmd_postfix(ctx)) < 0 ? -ENOMEM : 0;
                if (finding_set_remedy(f, _("'postconf -M %s/inet' prints nothing: add the service."), svc->name) < 0 ||
                    finding_add_command(f, "postconf -M %s/inet='%s inet n - y - - smtpd'", svc->name, svc->name) < 0 ||
                    finding_add_command(f, "postconf -P %s/inet/%s %s/inet/smtpd_sasl_auth_enable=yes", svc->name, tls,
                                        svc->name) < 0)
                        return -ENOMEM;
                return remedy_reload(f, ctx, true, false);
        }
        const char *reload = reload_cmd_dovecot(ctx);
        const char *proto = svc->proto == PROTO_IMAP ? "imap" : "pop3";
        if (configured > 0)
                r = finding_set_remedy(f, _("Dovecot has %s enabled, yet nothing listens on port %u: check 'service %s "
                                            "{ inet_listener %s { port = %u%s } }' in 10-master.conf (doveconf "
                                            "service/%s), 'listen' in dovecot.conf and the mail log; then '%s'."),
                                       proto, port, svc->login, svc->name, port, svc->implicit_tls ? " ssl = yes" : "",
                                       svc->login, reload);
        else if (svc->proto == PROTO_POP3 && !svc->implicit_tls)
                r = finding_set_remedy(f, _("Add pop3 to 'protocols' in dovecot.conf (Debian and Ubuntu: install "
                                            "dovecot-pop3d first; dnf: it ships with dovecot), with 'service pop3-login "
                                            "{ inet_listener pop3 { port = 110 } }'; then '%s'."),
                                       reload);
        else
                r = finding_set_remedy(f, _("Dovecot serves %s when 'protocols' includes %s (dovecot.conf) and "
                                            "10-master.conf has 'service %s { inet_listener %s { port = %u%s } }'%s; then '%s'."),
                                       svc->name, proto, svc->login, svc->name, svc->port,
                                       svc->implicit_tls ? " ssl = yes" : "",
                                       svc->implicit_tls ? _(", with ssl = yes and ssl_cert/ssl_key in 10-ssl.conf") : "",
                                       reload);
        return r < 0 ? -ENOMEM : 0;
}

int remedy_no_auth(Finding *f, const CheckContext *ctx, const Service *svc, const char *socket, int sasl_state) {
        if (sasl_state <= 0) {
                if (finding_set_remedy(f, _("Postfix asks Dovecot to check passwords through %s, and %s: start "
                                            "Dovecot (see config.sasl); Postfix retries in up to 60 s."),
                                       strempty(socket), sasl_state == -ENOENT ? _("that socket is missing")
                                                                              : _("nobody answers there")) < 0)
                        return -ENOMEM;
                return remedy_start(f, ctx, false, true);
        }
        if (finding_set_remedy(f, _("Let %s authenticate clients through Dovecot."), svc->name) < 0 ||
            finding_add_command(f, "postconf -P %s/inet/smtpd_sasl_auth_enable=yes", svc->name) < 0)
                return -ENOMEM;
        return remedy_reload(f, ctx, true, false);
}
