/* Step dkim: OpenDKIM signs the mail of the [dkim] domains, as the guides set it up: a
 * 2048-bit RSA key per domain (0600, owned by opendkim), KeyTable, SigningTable and
 * TrustedHosts under /etc/opendkim, the keys mxdeck needs in /etc/opendkim.conf (the rest
 * of the file kept), the milter socket in Postfix's spool, and Postfix's smtpd_milters /
 * non_smtpd_milters with milter_default_action = accept (mail still flows if the signer is
 * down). The selector, once chosen, changes only through `mxdeck dkim rotate`. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "opendkim.h"
#include "postfixcf.h"
#include "settings.h"
#include "steps.h"

#define SOCKET_TIMEOUT_MS 15000
#define DNS_TIMEOUT_MS 3000

static const char *const conf_keys[] = {
        "Syslog", "UMask", "Mode", "Canonicalization", "SignatureAlgorithm", "OversignHeaders",
        "UserID", "Socket", "PidFile", "KeyTable", "SigningTable", "ExternalIgnoreList",
        "InternalHosts",
};
static const char *const conf_values[] = {
        "yes", "007", "sv", "relaxed/simple", "rsa-sha256", "From",
        "opendkim:opendkim", "local:" OPENDKIM_SOCKET, OPENDKIM_PIDFILE, OPENDKIM_KEYTABLE,
        "refile:" OPENDKIM_SIGNINGTABLE, OPENDKIM_TRUSTEDHOSTS, OPENDKIM_TRUSTEDHOSTS,
};

static bool exists_under(const Installer *ins, const char *path) {
        _cleanup_free_ char *full = installer_path(ins, path);
        return full && access(full, F_OK) >= 0;
}

/* The hosts whose mail is signed: loopback and Postfix's mynetworks (those it relays for).
 * Authenticated submissions are signed whatever their address. */
static int trusted_hosts(const Answers *a, char **ret) {
        _cleanup_free_ char *s = strdup("# Managed by mxdeck: hosts whose mail OpenDKIM signs "
                                        "(authenticated clients are signed anyway)\n127.0.0.1\n::1\nlocalhost\n");

        if (!s)
                return -ENOMEM;
        for (char **n = a->mynetworks; n && *n; n++) {
                _cleanup_free_ char *h = NULL, *line = NULL;
                char *x;
                /* Postfix writes IPv6 networks as [::1]/128; OpenDKIM wants ::1/128 */
                if (**n == '[') {
                        const char *close = strchr(*n, ']');
                        if (!close)
                                continue;
                        if (asprintf(&h, "%.*s%s", (int) (close - *n - 1), *n + 1, close + 1) < 0)
                                return -ENOMEM;
                } else if (!(h = strdup(*n)))
                        return -ENOMEM;
                if (asprintf(&line, "\n%s\n", h) < 0)
                        return -ENOMEM;
                if (strstr(s, line))
                        continue;
                if (asprintf(&x, "%s%s\n", s, h) < 0)
                        return -ENOMEM;
                free(s);
                s = x;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int plan_conf(Installer *ins, StepPlan *sp, bool *ret_changed) {
        _cleanup_free_ char *old = NULL, *new = NULL;
        const char *keys[ELEMENTSOF(conf_keys)], *values[ELEMENTSOF(conf_keys)];
        size_t old_size = 0, new_size, n = 0;
        mode_t mode = 0644;
        int r;

        *ret_changed = false;
        r = installer_read_planned(ins, OPENDKIM_CONF, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++) {
                _cleanup_free_ char *cur = NULL, *key = NULL, *what = NULL;
                ManagedDecision d;
                if (old && (r = opendkim_conf_get(old, old_size, conf_keys[i], &cur)) < 0 && r != -ENOENT)
                        return r;
                if (asprintf(&key, "opendkim:%s", conf_keys[i]) < 0 ||
                    asprintf(&what, "%s %s", OPENDKIM_CONF, conf_keys[i]) < 0)
                        return -ENOMEM;
                r = installer_managed_decide(ins, sp, key, what, cur, conf_values[i], &d);
                if (r < 0)
                        return r;
                if (d == MANAGED_KEEP)
                        continue;
                if (!streq_ptr(installer_managed_get(ins, key), conf_values[i]) &&
                    (r = step_plan_managed(sp, key, conf_values[i])) < 0)
                        return r;
                if (d == MANAGED_SAME)
                        continue;
                keys[n] = conf_keys[i];
                values[n] = conf_values[i];
                n++;
        }
        if (n == 0)
                return 0;
        r = opendkim_conf_set(old ? old : "", old_size, keys, values, n, &new, &new_size);
        if (r < 0)
                return r;
        if (old) {
                _cleanup_free_ char *full = installer_path(ins, OPENDKIM_CONF);
                struct stat st;
                if (!full)
                        return -ENOMEM;
                if (stat(full, &st) >= 0)
                        mode = st.st_mode & 07777;
        }
        r = step_plan_preview(sp, OPENDKIM_CONF, old, old_size, new, new_size, false, NULL);
        if (r >= 0)
                r = installer_set_planned(ins, OPENDKIM_CONF, new, new_size);
        _cleanup_free_ char *summary = NULL;
        if (r >= 0 && asprintf(&summary, old ? _("edit %s") : _("create %s"), OPENDKIM_CONF) < 0)
                return -ENOMEM;
        if (r >= 0)
                r = step_plan_write(sp, summary, OPENDKIM_CONF, new, new_size, mode, NULL, NULL);
        *ret_changed = r >= 0;
        return r;
}

/* Postfix's milters: ours added to what is there (another milter, such as rspamd's, stays). */
static int plan_postfix(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *maincf = NULL, *text = NULL, *cur = NULL, *want = NULL;
        size_t size = 0;
        int r;

        if (asprintf(&maincf, "%s/main.cf", installer_profile(ins)->postfix_dir) < 0)
                return -ENOMEM;
        r = installer_read_planned(ins, maincf, &text, &size);
        if (r >= 0 && maincf_get(text, size, "smtpd_milters", &cur) < 0)
                cur = NULL;
        const char *recorded = installer_managed_get(ins, "postfix:main:smtpd_milters");
        if (cur && *cur && !strstr(cur, OPENDKIM_MILTER) && !streq_ptr(cur, recorded)) {
                if (asprintf(&want, "%s, %s", cur, OPENDKIM_MILTER) < 0)
                        return -ENOMEM;
        } else if (cur && strstr(cur, OPENDKIM_MILTER)) {
                if (!(want = strdup(cur)))
                        return -ENOMEM;
        } else if (!(want = strdup(OPENDKIM_MILTER)))
                return -ENOMEM;
        const char *names[] = { "smtpd_milters", "non_smtpd_milters", "milter_default_action" };
        const char *values[] = { want, "$smtpd_milters", "accept" };
        return postfix_plan_params(ins, sp, names, values, ELEMENTSOF(names));
}

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        const DistroProfile *p = installer_profile(ins);
        _cleanup_(dkim_state_done) DkimState old = {}, new = {};
        _cleanup_free_ char *hosts = NULL;
        bool conf_changed = false;
        size_t before;
        int r;

        r = dkim_state_load(ins, &old);
        if (r < 0)
                return r;
        if (!a->dkim_enabled) {
                if (old.selector)
                        return step_plan_note(sp, NOTE_INFO,
                                              _("[dkim] enabled = no: the DKIM signing mxdeck set up earlier "
                                                "stays as it is (mxdeck rollback undoes it)"));
                return 0;
        }
        if (!exists_under(ins, "/usr/sbin/opendkim") || !account_exists(ins, OPENDKIM_USER)) {
                _cleanup_free_ char *cmd = NULL;
                for (const char *const *w = p->install_argv; *w; w++) {
                        char *x;
                        if (asprintf(&x, "%s%s%s", strempty(cmd), cmd ? " " : "", *w) < 0)
                                return -ENOMEM;
                        free(cmd);
                        cmd = x;
                }
                /* by default DKIM is wanted, but not worth stopping the rest for: said loudly */
                return step_plan_note(sp, a->dkim_enabled_explicit ? NOTE_ERROR : NOTE_WARNING,
                                      a->dkim_enabled_explicit
                                              ? _("OpenDKIM is not installed: %s opendkim opendkim-tools%s, or set "
                                                  "[dkim] enabled = no")
                                              : _("DKIM signing left out: OpenDKIM is not installed (%s opendkim "
                                                  "opendkim-tools%s, then run setup again; [dkim] enabled = no "
                                                  "silences this)"),
                                      strempty(cmd), p->family == DISTRO_RHEL ? _(" (from EPEL)") : "");
        }
        if (!account_exists(ins, "postfix"))
                return step_plan_note(sp, NOTE_ERROR, _("there is no postfix account: is Postfix installed?"));

        /* the new state: the answers' domains, the recorded selector (or a new one) */
        size_t nd = 0;
        while (a->dkim_domains[nd])
                nd++;
        new.domains = calloc(nd + 1, sizeof(char *));
        if (!new.domains)
                return -ENOMEM;
        for (size_t i = 0; i < nd; i++)
                if (!(new.domains[i] = strdup(a->dkim_domains[i])))
                        return -ENOMEM;
        if (old.selector) {
                new.selector = strdup(old.selector);
                if (!new.selector)
                        return -ENOMEM;
                if (a->dkim_selector && !streq(a->dkim_selector, old.selector) &&
                    !streq_ptr(a->dkim_selector, old.old) && !streq_ptr(a->dkim_selector, old.next)) {
                        r = step_plan_note(sp, NOTE_WARNING,
                                           _("[dkim] selector = %s, but mail is signed with selector %s: kept "
                                             "(changing the key is 'mxdeck dkim rotate', which keeps mail "
                                             "verifiable while DNS catches up)"),
                                           a->dkim_selector, old.selector);
                        if (r < 0)
                                return r;
                }
        } else if (a->dkim_selector) {
                new.selector = strdup(a->dkim_selector);
                if (!new.selector)
                        return -ENOMEM;
        } else {
                r = dkim_selector_default(installer_now(ins), NULL, &new.selector);
                if (r < 0)
                        return r;
        }
        if ((old.next && !(new.next = strdup(old.next))) || (old.old && !(new.old = strdup(old.old))))
                return -ENOMEM;
        new.started = old.started;
        new.switched = old.switched;

        before = sp->n_actions;
        r = dkim_plan_keys(ins, sp, &new, new.selector);
        if (r >= 0 && new.next)
                r = dkim_plan_keys(ins, sp, &new, new.next);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sp->n_notes; i++)
                if (sp->notes[i].level == NOTE_ERROR)
                        return 0;
        r = dkim_plan_tables(ins, sp, &new);
        if (r < 0)
                return r;
        r = trusted_hosts(a, &hosts);
        if (r >= 0)
                r = step_plan_file(ins, sp, OPENDKIM_TRUSTEDHOSTS, hosts, strlen(hosts), 0644, NULL, NULL, false);
        if (r >= 0)
                r = plan_conf(ins, sp, &conf_changed);
        if (r < 0)
                return r;
        /* the socket's directory: opendkim creates the socket, Postfix's group reaches it */
        _cleanup_free_ char *sockdir = installer_path(ins, OPENDKIM_SOCKET_DIR);
        if (!sockdir)
                return -ENOMEM;
        if (access(sockdir, F_OK) < 0 &&
            (r = step_plan_mkdir(sp, OPENDKIM_SOCKET_DIR, 02750, OPENDKIM_USER, "postfix")) < 0)
                return r;
        bool files_changed = sp->n_actions > before;
        if (!opendkim_running(ins) || files_changed) {
                r = dkim_plan_signal(ins, sp, conf_changed || !opendkim_running(ins));
                if (r < 0)
                        return r;
        }
        r = plan_postfix(ins, sp);
        if (r < 0)
                return r;
        return dkim_state_plan(sp, &old, &new);
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until opendkim accepts on its socket, bounded: each refused attempt waits 100 ms on
 * poll before the next. */
static bool wait_socket(const char *path, int64_t deadline) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        while (now_ms() < deadline) {
                _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return false;
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return true;
                (void) poll(NULL, 0, 100);
        }
        return false;
}

static void emit(Installer *ins, StepPlan *sp, const char *line) {
        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, line, 0);
}

static int verify(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_(dkim_state_done) DkimState s = {};
        _cleanup_free_ char *sock = NULL, *line = NULL;
        Settings settings = {};
        int r;

        if (!a->dkim_enabled || !installer_live_checks(ins))
                return 0;
        sock = installer_path(ins, OPENDKIM_SOCKET);
        if (!sock)
                return -ENOMEM;
        if (!opendkim_running(ins) || !wait_socket(sock, now_ms() + SOCKET_TIMEOUT_MS)) {
                if (asprintf(&line, _("opendkim does not answer on %s after %d s"), OPENDKIM_SOCKET,
                             SOCKET_TIMEOUT_MS / 1000) >= 0)
                        emit(ins, sp, line);
                return -ETIMEDOUT;
        }
        if (asprintf(&line, _("opendkim is running and answers on %s"), OPENDKIM_SOCKET) >= 0)
                emit(ins, sp, line);
        /* the state as just written: the managed record now holds it */
        r = dkim_state_load(ins, &s);
        if (r < 0 || !s.selector)
                return r < 0 ? r : 0;
        r = settings_init(&settings);
        if (r < 0)
                return r;
        (void) settings_load_default(&settings, NULL);
        for (char **d = s.domains; *d; d++) {
                _cleanup_free_ char *detail = NULL, *l = NULL;
                DkimDnsState st;
                r = dkim_dns_lookup(ins, settings.resolver, DNS_TIMEOUT_MS, *d, s.selector, &st, &detail);
                if (r < 0)
                        break;
                const char *what = st == DKIM_DNS_MATCHES ? _("DKIM key published and matching") :
                                   st == DKIM_DNS_MISSING ? _("DKIM key not published yet (see the DNS plan)") :
                                   st == DKIM_DNS_DIFFERENT ? _("WARNING: DNS serves another DKIM key: receivers "
                                                                "will fail the signatures until it is replaced") :
                                   _("DNS not reachable: the published DKIM key was not checked");
                if (asprintf(&l, "%s: %s", what, strempty(detail)) >= 0)
                        emit(ins, sp, l);
                if (st == DKIM_DNS_UNREACHABLE)
                        break; /* the next domains would wait as long for nothing */
        }
        settings_done(&settings);
        return r < 0 ? r : 0;
}

const Step step_dkim = {
        .name = "dkim",
        .title = N_("DKIM signing with OpenDKIM"),
        .inspect = inspect,
        .verify = verify,
};
