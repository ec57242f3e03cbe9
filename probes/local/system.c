/* system.*: the host name a mail server introduces itself with, and room to keep mail. */
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include "local.h"
#include "conf.h"
#include "macro.h"
#include "postconf.h"
#include "resolve.h"

/* The canonical name the resolver (with /etc/hosts) gives for the node name, within the
 * probe time limit. */
static char *canonical_name(const char *node, Deadline deadline) {
        struct addrinfo *ai = NULL;
        char *ret = NULL;
        if (resolve_bounded(node, AI_CANONNAME, deadline, &ai) == 0 && ai && ai->ai_canonname)
                ret = strdup(ai->ai_canonname);
        if (ai)
                freeaddrinfo(ai);
        return ret;
}

int check_system_hostname(const CheckContext *ctx, FindingList *out) {
        static const char *const names[] = { "myhostname", NULL };
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *canon = NULL;
        struct utsname u;
        Finding *f;

        if (uname(&u) < 0)
                return negative_errno();
        const char *node = u.nodename;
        canon = canonical_name(node, ctx->deadline);
        const char *fqdn = hostname_is_fqdn(node) ? node : (hostname_is_fqdn(canon) ? canon : NULL);
        int r = postconf_get(ctx, names, &v, NULL);
        const char *myhostname = r >= 0 ? v[0] : NULL;

        if (myhostname && !hostname_is_fqdn(myhostname)) {
                f = findings_addf(out, "system.hostname", myhostname, STATUS_CRITICAL,
                                  _("Postfix introduces itself as '%s', which is not a public fully-qualified name"),
                                  myhostname);
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, _("host name: %s; canonical name: %s; myhostname: %s"), node,
                                       canon ? canon : _("(none)"), myhostname) < 0)
                        return -ENOMEM;
                if (fqdn)
                        /* The machine already has a proper name: Postfix just has to use it. */
                        return finding_set_remedy(f, "%s", _("Receivers (Gmail, QQ, 163...) reject or score mail "
                                                             "whose HELO name is not a real FQDN. Use the host's own "
                                                             "name, and make sure it has A/AAAA records and a "
                                                             "matching PTR.")) < 0 ||
                                               finding_add_command(f, "postconf -e myhostname=%s", fqdn) < 0 ||
                                               finding_add_command(f, "postfix reload") < 0
                                       ? -ENOMEM : 0;
                return finding_set_remedy(f, _("Receivers (Gmail, QQ, 163...) reject or score mail whose HELO name "
                                               "is not a real FQDN. Set it:\n"
                                               "hostnamectl set-hostname mail.example.com\n"
                                               "postconf -e myhostname=mail.example.com && postfix reload\n"
                                               "and give it A/AAAA records and a matching PTR."));
        }
        if (!fqdn) {
                f = findings_addf(out, "system.hostname", node, myhostname ? STATUS_WARNING : STATUS_CRITICAL,
                                  _("host name '%s' is not fully qualified"), node);
                if (!f)
                        return -ENOMEM;
                if (finding_set_detail(f, _("host name: %s; canonical name: %s; myhostname: %s"), node,
                                       canon ? canon : _("(none)"), myhostname ? myhostname : _("(Postfix not configured)")) < 0)
                        return -ENOMEM;
                return finding_set_remedy(f, _("hostnamectl set-hostname mail.example.com\n"
                                               "and a line '<public address> mail.example.com mail' in /etc/hosts"));
        }
        if (myhostname && strcasecmp(myhostname, fqdn) != 0) {
                f = findings_addf(out, "system.hostname", fqdn, STATUS_WARNING,
                                  _("host name '%s' differs from Postfix's myhostname '%s'"), fqdn, myhostname);
                if (!f)
                        return -ENOMEM;
                return finding_set_remedy(f, _("Use one name for both, the one your PTR record carries:\n"
                                               "hostnamectl set-hostname %s\nor postconf -e myhostname=%s"),
                                          myhostname, fqdn);
        }
        f = findings_addf(out, "system.hostname", fqdn, STATUS_OK, myhostname
                                  ? _("%s is fully qualified and matches myhostname")
                                  : _("%s is fully qualified"), fqdn);
        return f ? 0 : -ENOMEM;
}

/* Nearest existing directory at or above path. */
static char *existing_ancestor(const char *path) {
        char *p = strdup(path);
        struct stat st;
        if (!p)
                return NULL;
        while (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
                char *slash = strrchr(p, '/');
                if (!slash || slash == p) {
                        strcpy(p, "/");
                        break;
                }
                *slash = 0;
        }
        return p;
}

/* Directories from a Dovecot mail_location: "maildir:~/Maildir" -> /home,
 * "maildir:/var/vmail/%d/%n" -> /var/vmail, "mbox:~/mail:INBOX=/var/mail/%u" -> /home, /var/mail. */
static int mail_store_dirs(const char *location, char ***ret) {
        _cleanup_strv_free_ char **v = calloc(8, sizeof(char *));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        if (!location || !*location) {
                /* Dovecot autodetects: system mailboxes and home directories. */
                v[n++] = strdup("/var/mail");
                v[n++] = strdup("/home");
        } else {
                for (const char *p = location; *p && n < 6;) {
                        size_t len = strcspn(p, ":");
                        const char *part = p;
                        const char *eq = memchr(part, '=', len);
                        if (eq) {
                                len -= (size_t) (eq + 1 - part);
                                part = eq + 1;
                        }
                        if (len > 0 && part[0] == '~')
                                v[n++] = strdup("/home");
                        else if (len > 0 && part[0] == '/') {
                                size_t l = strcspn(part, "%:");
                                v[n++] = strndup(part, MIN(l, len));
                        }
                        p = part + len;
                        if (*p == ':')
                                p++;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (!v[i])
                        return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

static const char *human_bytes(uint64_t b, char buf[static 32]) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double v = (double) b;
        size_t u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
        return buf;
}

int check_system_disk(const CheckContext *ctx, FindingList *out) {
        static const char *const names[] = { "queue_directory", NULL };
        _cleanup_strv_free_ char **v = NULL, **store = NULL;
        _cleanup_free_ char *location = NULL;
        const Settings *s = ctx->settings;
        const char *paths[16];
        const char *roles[16];
        dev_t seen[16];
        size_t n = 0, n_seen = 0;
        int r;

        paths[n] = postconf_get(ctx, names, &v, NULL) >= 0 && v[0][0] == '/' ? v[0] : "/var/spool/postfix";
        roles[n++] = _("mail queue");
        (void) doveconf_get(ctx, "mail_location", &location, NULL);
        r = mail_store_dirs(location, &store);
        if (r < 0)
                return r;
        for (char **d = store; *d && n < ELEMENTSOF(paths); d++) {
                paths[n] = *d;
                roles[n++] = _("mail store");
        }

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = existing_ancestor(paths[i]);
                struct statvfs sv;
                struct stat st;
                char b1[32], b2[32];

                if (!dir)
                        return -ENOMEM;
                if (stat(dir, &st) < 0 || statvfs(dir, &sv) < 0) {
                        int e = errno;
                        Finding *f = findings_addf(out, "system.disk", paths[i], STATUS_UNKNOWN,
                                                   _("cannot measure free space of %s: %s"), dir, strerror(e));
                        if (!f)
                                return -ENOMEM;
                        continue;
                }
                bool dup = false;
                for (size_t k = 0; k < n_seen; k++)
                        dup = dup || seen[k] == st.st_dev;
                if (dup)
                        continue; /* one finding per file system */
                seen[n_seen++] = st.st_dev;

                uint64_t total = (uint64_t) sv.f_blocks * sv.f_frsize;
                uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
                double pct = total ? 100.0 * (double) avail / (double) total : 0;
                double ipct = sv.f_files ? 100.0 * (double) sv.f_favail / (double) sv.f_files : 100;
                Status st_ = STATUS_OK;
                if (pct < s->disk_critical_percent || avail < s->disk_critical_bytes || ipct < s->disk_critical_percent)
                        st_ = STATUS_CRITICAL;
                else if (pct < s->disk_warning_percent || avail < s->disk_warning_bytes || ipct < s->disk_warning_percent)
                        st_ = STATUS_WARNING;

                Finding *f = findings_addf(out, "system.disk", paths[i], st_, _("%s: %s free (%.0f%%) on %s"), roles[i],
                                           human_bytes(avail, b1), pct, dir);
                if (!f)
                        return -ENOMEM;
                /* Whole hundredths: more digits are noise in graphs and alerts. */
                Metric *m = finding_add_metric(f, "disk_free_percent", round(pct * 100) / 100, "%");
                if (!m)
                        return -ENOMEM;
                metric_set_floors(m, true, s->disk_warning_percent, true, s->disk_critical_percent);
                metric_set_range(m, true, 0, true, 100);
                m = finding_add_metric(f, "disk_free_bytes", (double) avail, "B");
                if (!m)
                        return -ENOMEM;
                metric_set_floors(m, true, (double) s->disk_warning_bytes, true, (double) s->disk_critical_bytes);
                metric_set_range(m, true, 0, true, (double) total);
                m = finding_add_metric(f, "disk_inodes_free_percent", round(ipct * 100) / 100, "%");
                if (!m)
                        return -ENOMEM;
                metric_set_floors(m, true, s->disk_warning_percent, true, s->disk_critical_percent);
                metric_set_range(m, true, 0, true, 100);
                if (finding_set_detail(f, _("%s: %s of %s available, %.0f%% of inodes free"), dir,
                                       human_bytes(avail, b1), human_bytes(total, b2), ipct) < 0)
                        return -ENOMEM;
                if (st_ != STATUS_OK &&
                    finding_set_remedy(f, _("Free space on this file system (old logs: journalctl --vacuum-size=200M; "
                                            "package caches: apt-get clean / dnf clean all) or grow it. Postfix "
                                            "stops accepting mail when free space falls below 1.5 x "
                                            "message_size_limit (queue_minfree).")) < 0)
                        return -ENOMEM;
        }
        return 0;
}
