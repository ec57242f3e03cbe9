/* Step packages: Postfix, Dovecot and what the chosen options need, from the distribution
 * (installer/profile.c). What is installed is asked of the package database (dpkg-query,
 * rpm -q: no network); only what is missing is installed. On Debian, debconf is preseeded
 * first so that the postfix package does not configure itself ("No configuration": mxdeck
 * writes main.cf), and apt runs with DEBIAN_FRONTEND=noninteractive in its environment.
 * Another MTA (Exim, Sendmail) is removed when the answers say so ([packages]
 * remove_other_mta); preflight refuses otherwise.
 *
 * Rollback does NOT remove the packages mxdeck installed: it reports them with the command
 * that would. Removing a package runs its maintainer scripts (which stop the daemons and may
 * delete state that mail depends on), apt would also remove whatever came to depend on it
 * since, and a removal cannot be made byte for byte anyway (the package's own files under
 * /etc stay or go by dpkg's rules, not ours). Which packages a server keeps is the
 * administrator's decision; rollback says what to run. A removed MTA is reported the same
 * way (with the command to reinstall it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "steps.h"

/* Which package provides what the answers ask for, per family. */
typedef struct PackageFor {
        const char *protocol;  /* a [dovecot] protocols word, or NULL: the base set */
        const char *deb, *rpm; /* NULL: nothing extra on that family */
} PackageFor;

static const PackageFor package_table[] = {
        { NULL, "postfix", "postfix" },
        { NULL, "dovecot-core", "dovecot" },
        { "imap", "dovecot-imapd", NULL },
        { "pop3", "dovecot-pop3d", NULL },
        { "lmtp", "dovecot-lmtpd", NULL },
        { "submission", "dovecot-submissiond", NULL },
        { "sieve", "dovecot-managesieved", "dovecot-pigeonhole" },
        { "sieve", "dovecot-sieve", NULL },
};

/* Packages of other MTAs: removed on request, else preflight refuses. */
static const char *const deb_other_mta[] = {
        "exim4-base", "exim4-config", "exim4-daemon-light", "exim4-daemon-heavy",
        "sendmail-bin", "sendmail", NULL,
};
static const char *const rpm_other_mta[] = { "sendmail", "exim", NULL };

static const char *const deb_preseed = "postfix postfix/main_mailer_type select No configuration\n";

/* The child's whole environment for apt-get and dnf: spawn's clean default plus the
 * frontend settings (no shell sets them: they go through spawn's envp). */
static const char *const apt_env[] = {
        "PATH=" SPAWN_SAFE_PATH,
        "LC_ALL=C",
        "DEBIAN_FRONTEND=noninteractive",
        "APT_LISTCHANGES_FRONTEND=none",
        NULL,
};
static const char *const dnf_env[] = { "PATH=" SPAWN_SAFE_PATH, "LC_ALL=C", NULL };

static bool has_protocol(const Answers *a, const char *p) {
        for (char **s = a->dovecot_protocols; s && *s; s++)
                if (streq(*s, p))
                        return true;
        return false;
}

static bool strv_contains(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

static char **strv_copy_const(const char *const *v) {
        size_t n = 0;
        char **c;

        while (v[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; c && i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

static int strv_add(char ***v, size_t *n, const char *s) {
        char **nv;

        for (size_t i = 0; i < *n; i++)
                if (streq((*v)[i], s))
                        return 0;
        nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[*n] = strdup(s)))
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

int packages_wanted(const DistroProfile *p, const Answers *a, char ***ret) {
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        bool deb = p->family == DISTRO_DEBIAN;
        size_t n = 0;
        int r;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(package_table); i++) {
                const PackageFor *f = &package_table[i];
                const char *name = deb ? f->deb : f->rpm;
                bool want = !f->protocol || has_protocol(a, f->protocol) ||
                            /* virtual mode delivers through Dovecot's LMTP */
                            (streq(f->protocol, "lmtp") && a->users_mode == ANSWERS_USERS_VIRTUAL);
                if (!name || !want)
                        continue;
                r = strv_add(&v, &n, name);
                if (r < 0)
                        return r;
        }
        if (a->tls_source == ANSWERS_TLS_ACME && (r = strv_add(&v, &n, "certbot")) < 0)
                return r;
        if (a->fail2ban && (r = strv_add(&v, &n, "fail2ban")) < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int packages_parse_query(const char *out, size_t size, bool deb, const char *const *names, char ***ret) {
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        int r;

        if (!v)
                return -ENOMEM;
        for (const char *s = out, *end = out + size; s < end;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t len = nl ? (size_t) (nl - s) : (size_t) (end - s);
                _cleanup_free_ char *line = strndup(s, len);
                s += len + 1;
                if (!line)
                        return -ENOMEM;
                char *tab = strchr(line, '\t');
                if (deb) {
                        /* "ii " installed; "rc " removed with its conffiles left: not installed */
                        if (!tab || !startswith(tab + 1, "ii"))
                                continue;
                        *tab = '\0';
                } else if (tab || strchr(line, ' '))
                        continue; /* "package X is not installed" */
                for (size_t i = 0; names[i]; i++)
                        if (streq(line, names[i])) {
                                r = strv_add(&v, &n, line);
                                if (r < 0)
                                        return r;
                                break;
                        }
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* The installed ones among names, from the package database under the root. */
int packages_installed(Installer *ins, const char *const *names, char ***ret) {
        const DistroProfile *p = installer_profile(ins);
        const char *root = installer_root(ins);
        bool deb = p->family == DISTRO_DEBIAN;
        _cleanup_free_ char *admindir = NULL;
        _cleanup_free_ const char **argv = NULL;
        SpawnResult res = {};
        size_t nn = 0, k = 0;
        int r;

        while (names[nn])
                nn++;
        argv = calloc(nn + 8, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        if (deb) {
                argv[k++] = "dpkg-query";
                if (!streq(root, "/")) {
                        if (asprintf(&admindir, "--admindir=%s/var/lib/dpkg", root) < 0)
                                return -ENOMEM;
                        argv[k++] = admindir;
                }
                argv[k++] = "-W";
                argv[k++] = "--showformat=${Package}\\t${db:Status-Abbrev}\\n";
        } else {
                argv[k++] = "rpm";
                if (!streq(root, "/")) {
                        argv[k++] = "--root";
                        argv[k++] = root;
                }
                argv[k++] = "-q";
                argv[k++] = "--qf";
                argv[k++] = "%{NAME}\\n";
        }
        for (size_t i = 0; i < nn; i++)
                argv[k++] = names[i];
        r = installer_query(ins, argv, &res);
        if (r < 0)
                return r;
        /* both exit non-zero when some are not installed: parse, do not trust the status;
         * but no output at all with a failure means the query itself failed */
        if (!res.out || (res.out_size == 0 && !spawn_result_ok(&res) && res.err_size > 0 &&
                         !strstr(res.err, "no packages found") && !strstr(res.err, "not installed"))) {
                spawn_result_done(&res);
                return -EIO;
        }
        r = packages_parse_query(res.out, res.out_size, deb, names, ret);
        spawn_result_done(&res);
        return r;
}

static char *words(char *const *v) {
        char *s = strdup("");

        for (size_t i = 0; s && v && v[i]; i++) {
                char *n;
                if (asprintf(&n, "%s%s%s", s, i ? " " : "", v[i]) < 0)
                        n = NULL;
                free(s);
                s = n;
        }
        return s;
}

/* [chroot ROOT] + the command: packages go into the system under the root. */
static int command(Installer *ins, const char *const *cmd, char *const *pkgs, char ***ret) {
        const char *root = installer_root(ins);
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        int r = 0;

        if (!v)
                return -ENOMEM;
        if (!streq(root, "/")) {
                /* strv_add skips duplicates: build by hand */
                char **nv = realloc(v, 3 * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                v = nv;
                v[0] = strdup("chroot");
                v[1] = strdup(root);
                v[2] = NULL;
                if (!v[0] || !v[1])
                        return -ENOMEM;
                n = 2;
        }
        for (size_t i = 0; r >= 0 && cmd[i]; i++)
                r = strv_add(&v, &n, cmd[i]);
        for (size_t i = 0; r >= 0 && pkgs[i]; i++)
                r = strv_add(&v, &n, pkgs[i]);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        const DistroProfile *p = installer_profile(ins);
        const Answers *a = installer_answers(ins);
        bool deb = p->family == DISTRO_DEBIAN;
        const char *const *mta = deb ? deb_other_mta : rpm_other_mta;
        _cleanup_strv_free_ char **wanted = NULL, **have = NULL, **other = NULL, **missing = NULL;
        size_t nm = 0;
        Action *act;
        int r;

        r = packages_wanted(p, a, &wanted);
        if (r < 0)
                return r;
        r = packages_installed(ins, (const char *const *) wanted, &have);
        if (r >= 0)
                r = packages_installed(ins, mta, &other);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("cannot ask the package database which packages are "
                                                        "installed (%s): %s"),
                                      deb ? "dpkg-query" : "rpm -q", strerror(-r));
        missing = calloc(1, sizeof(char *));
        if (!missing)
                return -ENOMEM;
        for (char **w = wanted; *w; w++)
                if (!strv_contains(have, *w) && (r = strv_add(&missing, &nm, *w)) < 0)
                        return r;

        if (other[0] && a->remove_other_mta) {
                _cleanup_strv_free_ char **argv = NULL;
                _cleanup_free_ char *list = words(other), *report = NULL;
                static const char *const apt_remove[] = { "apt-get", "remove", "-y", NULL };
                static const char *const dnf_remove[] = { "dnf", "remove", "-y", NULL };
                if (!list)
                        return -ENOMEM;
                r = command(ins, deb ? apt_remove : dnf_remove, other, &argv);
                if (r < 0)
                        return r;
                r = step_plan_run(sp, NULL, (const char *const *) argv, (const char *const[]) { NULL }, NULL, &act);
                if (r < 0)
                        return r;
                if (asprintf(&report, _("packages: mxdeck removed %s; rollback does not reinstall them "
                                        "(%s install %s)"), list, deb ? "apt-get" : "dnf", list) < 0 ||
                    !(act->report = strdup(report)) ||
                    !(act->envp = strv_copy_const(deb ? apt_env : dnf_env)))
                        return -ENOMEM;
        }
        if (!missing[0])
                return 0;

        _cleanup_free_ char *list = words(missing);
        if (!list)
                return -ENOMEM;
        if (!a->install_packages)
                return step_plan_note(sp, NOTE_ERROR, _("not installed: %s ([packages] install = no): "
                                                        "install them first"), list);
        if (deb && strv_contains(missing, "postfix")) {
                _cleanup_strv_free_ char **argv = NULL;
                r = command(ins, (const char *const[]) { "debconf-set-selections", NULL },
                            (char *const[]) { NULL }, &argv);
                if (r < 0)
                        return r;
                r = step_plan_run(sp, _("debconf-set-selections: postfix postfix/main_mailer_type select "
                                        "No configuration"), (const char *const *) argv,
                                  (const char *const[]) { NULL }, NULL, &act);
                if (r < 0)
                        return r;
                act->input_size = strlen(deb_preseed);
                if (!(act->input = strdup(deb_preseed)))
                        return -ENOMEM;
        }
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *report = NULL;
        r = command(ins, p->install_argv, missing, &argv);
        if (r < 0)
                return r;
        r = step_plan_run(sp, NULL, (const char *const *) argv, (const char *const[]) { NULL }, NULL, &act);
        if (r < 0)
                return r;
        if (asprintf(&report, _("packages: mxdeck installed %s; rollback leaves them installed "
                                "(remove them with: %s remove %s)"),
                     list, deb ? "apt-get" : "dnf", list) < 0 ||
            !(act->report = strdup(report)) ||
            !(act->envp = strv_copy_const(deb ? apt_env : dnf_env)))
                return -ENOMEM;
        /* without the packages there is no main.cf or conf.d to plan against */
        sp->replan_after = true;
        return step_plan_note(sp, NOTE_INFO, _("to install: %s; the other steps are planned once they "
                                               "are installed"), list);
}

static int verify(Installer *ins, StepPlan *sp) {
        _cleanup_strv_free_ char **wanted = NULL, **have = NULL;
        int r;

        if (!step_has_changes(sp))
                return 0;
        r = packages_wanted(installer_profile(ins), installer_answers(ins), &wanted);
        if (r >= 0)
                r = packages_installed(ins, (const char *const *) wanted, &have);
        if (r < 0)
                return r;
        for (char **w = wanted; *w; w++)
                if (!strv_contains(have, *w)) {
                        _cleanup_free_ char *l = NULL;
                        if (asprintf(&l, _("%s is still not installed"), *w) >= 0)
                                installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, l, 0);
                        return -ENOPKG;
                }
        return 0;
}

const Step step_packages = {
        .name = "packages",
        .title = N_("Postfix, Dovecot and what the answers need"),
        .inspect = inspect,
        .verify = verify,
};
