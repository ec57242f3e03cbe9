/* Step dovecot: everything mxdeck sets for Dovecot lives in one drop-in,
 * conf.d/99-mxdeck.conf, read after the distribution's files so its settings win without
 * editing them (Debian's 10-ssl.conf points at a certificate its postinst makes, absent on
 * a "No configuration" install: the drop-in's ssl_cert replaces it, and doveconf -n proves
 * the result). local.conf, read after conf.d, stays the administrator's. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "steps.h"

#define DROP_IN "conf.d/99-mxdeck.conf"

static int add(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(char **s, const char *fmt, ...) {
        _cleanup_free_ char *a = NULL;
        va_list ap;
        char *n;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&a, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(&n, "%s%s", strempty(*s), a) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int render(Installer *ins, char **ret) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *s = NULL, *cert = NULL, *key = NULL, *protocols = NULL;
        bool virtual = a->users_mode == ANSWERS_USERS_VIRTUAL;
        int r;

        r = tls_paths(ins, &cert, &key);
        if (r < 0)
                return r;
        for (char **p = a->dovecot_protocols; *p; p++)
                if (add(&protocols, "%s%s", protocols ? " " : "", *p) < 0)
                        return -ENOMEM;
        if (add(&s, "# Written by mxdeck setup. Edits here are reported as conflicts on the next\n"
                    "# run; put your own settings in local.conf instead.\n"
                    "protocols = %s\n"
                    "listen = *, ::\n"
                    "ssl = required\n"
                    "ssl_cert = <%s\n"
                    "ssl_key = <%s\n"
                    "ssl_min_protocol = TLSv1.2\n"
                    "disable_plaintext_auth = yes\n"
                    "auth_mechanisms = plain login\n",
                protocols ? protocols : "imap", cert, key) < 0)
                return -ENOMEM;
        if (virtual) {
                if (add(&s, "mail_location = maildir:/var/vmail/%%d/%%n/Maildir\n"
                            "mail_uid = vmail\n"
                            "mail_gid = vmail\n"
                            "# vmail is a system account\n"
                            "first_valid_uid = 100\n"
                            "passdb {\n"
                            "  driver = passwd-file\n"
                            "  args = scheme=SHA512-CRYPT username_format=%%Lu /etc/dovecot/users\n"
                            "}\n"
                            "userdb {\n"
                            "  driver = static\n"
                            "  args = uid=vmail gid=vmail home=/var/vmail/%%d/%%n\n"
                            "}\n") < 0)
                        return -ENOMEM;
        } else if (add(&s, "mail_location = maildir:~/Maildir\n") < 0)
                return -ENOMEM;
        if (a->quota > 0) {
                /* Dovecot 2.3's recommended backend ("count", with virtual sizes); a plain
                 * number in quota_rule means kilobytes, so the unit is always written */
                static const struct {
                        uint64_t size;
                        const char *unit;
                } units[] = { { 1ULL << 40, "T" }, { 1ULL << 30, "G" }, { 1ULL << 20, "M" }, { 1ULL << 10, "k" } };
                uint64_t n = a->quota;
                const char *unit = "B";
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (a->quota % units[i].size == 0) {
                                n = a->quota / units[i].size;
                                unit = units[i].unit;
                                break;
                        }
                if (add(&s, "mail_plugins = $mail_plugins quota\n"
                            "protocol imap {\n"
                            "  mail_plugins = $mail_plugins imap_quota\n"
                            "}\n"
                            "plugin {\n"
                            "  quota = count:User quota\n"
                            "  quota_vsizes = yes\n"
                            "  quota_rule = *:storage=%" PRIu64 "%s\n"
                            "  quota_rule2 = Trash:storage=+10%%\n"
                            "}\n", n, unit) < 0)
                        return -ENOMEM;
        }
        if (add(&s, "service auth {\n"
                    "  unix_listener /var/spool/postfix/private/auth {\n"
                    "    mode = 0660\n"
                    "    user = postfix\n"
                    "    group = postfix\n"
                    "  }\n"
                    "}\n"
                    "service lmtp {\n"
                    "  unix_listener /var/spool/postfix/private/dovecot-lmtp {\n"
                    "    mode = 0600\n"
                    "    user = postfix\n"
                    "    group = postfix\n"
                    "  }\n"
                    "}\n"
                    "protocol lmtp {\n"
                    "  postmaster_address = postmaster@%s\n"
                    "}\n", a->domain) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Dovecot reads every "ssl_cert = <FILE" it parses, even one a later file overrides: a
 * distribution default pointing at a missing file (Debian's 10-ssl.conf on a fresh install)
 * stops Dovecot from starting. Such lines are commented out, nothing else in the file. */
static int plan_distro_ssl(Installer *ins, StepPlan *sp) {
        const char *path = installer_profile(ins)->dovecot_ssl_conf;
        _cleanup_free_ char *text = NULL, *out = NULL;
        size_t size, len = 0;
        bool changed = false;
        int r;

        r = installer_read_planned(ins, path, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        out = malloc(size * 2 + 256);
        if (!out)
                return -ENOMEM;
        for (char *l = text, *nl; l < text + size; l = nl + 1) {
                nl = memchr(l, '\n', (size_t) (text + size - l));
                size_t ll = nl ? (size_t) (nl - l) : (size_t) (text + size - l);
                char *p = l;
                bool comment_out = false;

                while (p < l + ll && (*p == ' ' || *p == '\t'))
                        p++;
                if ((startswith(p, "ssl_cert") || startswith(p, "ssl_key")) && p < l + ll) {
                        char *q = p + strcspn(p, " \t=");
                        while (*q == ' ' || *q == '\t')
                                q++;
                        if (*q == '=' && (size_t) (q - l) < ll) {
                                q++;
                                while (*q == ' ' || *q == '\t')
                                        q++;
                                if (*q == '<') {
                                        _cleanup_free_ char *file = NULL, *full = NULL;
                                        q++;
                                        while (*q == ' ' || *q == '\t')
                                                q++;
                                        file = strndup(q, strcspn(q, " \t\r\n"));
                                        if (!file)
                                                return -ENOMEM;
                                        full = file[0] == '/' ? installer_path(ins, file) : NULL;
                                        if (full && access(full, F_OK) < 0)
                                                comment_out = true;
                                }
                        }
                }
                if (comment_out) {
                        out[len++] = '#';
                        changed = true;
                }
                memcpy(out + len, l, ll);
                len += ll;
                if (comment_out) {
                        static const char why[] = "  # mxdeck: file missing; see 99-mxdeck.conf";
                        memcpy(out + len, why, sizeof(why) - 1);
                        len += sizeof(why) - 1;
                }
                if (!nl)
                        break;
                out[len++] = '\n';
        }
        if (!changed)
                return 0;
        return step_plan_file(ins, sp, path, out, len, 0644, NULL, NULL, false);
}

static int inspect(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *path = NULL, *text = NULL, *conf = NULL;
        int r;

        if (asprintf(&path, "%s/" DROP_IN, installer_profile(ins)->dovecot_dir) < 0 ||
            asprintf(&conf, "%s/dovecot.conf", installer_profile(ins)->dovecot_dir) < 0)
                return -ENOMEM;
        _cleanup_free_ char *full = installer_path(ins, conf);
        if (!full)
                return -ENOMEM;
        if (access(full, F_OK) < 0)
                return step_plan_note(sp, NOTE_ERROR, _("%s is missing: is Dovecot installed?"), conf);
        r = render(ins, &text);
        if (r < 0)
                return r;
        r = plan_distro_ssl(ins, sp);
        if (r < 0)
                return r;
        return step_plan_file(ins, sp, path, text, strlen(text), 0644, NULL, NULL, false);
}

static int verify(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *conf = NULL, *full = NULL;
        SpawnResult res = {};
        int r;

        if (asprintf(&conf, "%s/dovecot.conf", installer_profile(ins)->dovecot_dir) < 0)
                return -ENOMEM;
        full = installer_path(ins, conf);
        if (!full)
                return -ENOMEM;
        if (installer_offline(ins))
                return 0;
        /* -x expands "<file" values as the daemon will: -n alone passes with a missing
         * certificate */
        r = installer_run_quiet(ins, sp->step->name,
                                (const char *const[]) { "doveconf", "-c", full, "-x", NULL }, &res);
        if (r < 0)
                return r;
        r = spawn_result_ok(&res) ? 0 : -EINVAL;
        spawn_result_done(&res);
        return r;
}

const Step step_dovecot = {
        .name = "dovecot",
        .title = N_("Dovecot: conf.d/99-mxdeck.conf"),
        .inspect = inspect,
        .verify = verify,
};
