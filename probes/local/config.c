/* config.*: Postfix and Dovecot configuration health (postfix check, postconf, doveconf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "local.h"
#include "macro.h"
#include "postconf.h"
#include "restrictions.h"
#include "mailconf.h"
#include "termsafe.h"

#define MAIN_CF "/etc/postfix/main.cf"
#define DETAIL_MAX (16 * 1024)

/* Known complaints and what to do about them; the first matching pattern wins. */
typedef struct KnownMessage {
        const char *pattern;
        const char *remedy;
        const char *command;  /* the one command that fixes it, or NULL */
} KnownMessage;

static const KnownMessage postfix_messages[] = {
        { "main.cf: No such file or directory",
          N_("Postfix has no main.cf yet (the \"No configuration\" install). Start from the "
             "packaged example (Debian: cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf), "
             "set myhostname and mydestination, run 'newaliases', then 'postfix check'."), NULL },
        { "aliases.db",
          N_("The aliases database is missing or stale: rebuild it (config.tables names every such table)."),
          "newaliases" },
        { "aliases is unavailable",
          N_("The aliases database is missing or stale: rebuild it (config.tables names every such table)."),
          "newaliases" },
        { "unused parameter",
          N_("A parameter in main.cf or master.cf is misspelt or unknown to this Postfix version: "
             "fix or remove it ('postconf -n' lists what is set)."), NULL },
        { "group or other writable",
          N_("Ownership or permissions under Postfix's directories are wrong: let Postfix set them."),
          "postfix set-permissions" },
        { "not owned by",
          N_("Ownership or permissions under Postfix's directories are wrong: let Postfix set them."),
          "postfix set-permissions" },
        { "myhostname",
          N_("Set myhostname to the mail host's fully-qualified name: "
             "postconf -e myhostname=mail.example.com"), NULL },
};

static const KnownMessage dovecot_messages[] = {
        { "ssl_cert",
          N_("Dovecot's certificate file is missing or unreadable: create it or point ssl_cert and "
             "ssl_key (conf.d/10-ssl.conf) at existing files, e.g. the ones certbot maintains."), NULL },
        { "ssl_key",
          N_("Dovecot's private key file is missing or unreadable: create it or point ssl_key "
             "(conf.d/10-ssl.conf) at an existing file, mode 0600 owned by root."), NULL },
        { "Unknown setting",
          N_("A setting in the file and line shown is unknown to this Dovecot version: fix the "
             "spelling or remove it, then run 'doveconf -n'."), NULL },
        { "Unknown section",
          N_("A section in the file and line shown is unknown to this Dovecot version: fix or "
             "remove it, then run 'doveconf -n'."), NULL },
};

static const KnownMessage *known_message(const KnownMessage *table, size_t n, const char *text) {
        for (size_t i = 0; i < n; i++)
                if (strstr(text, table[i].pattern))
                        return &table[i];
        return NULL;
}

/* Distinct lines of text that contain marker: Postfix repeats a warning for every
 * process that reads main.cf, and "40 warnings" for two problems misleads. */
static size_t count_distinct_lines_with(const char *text, const char *marker) {
        size_t n = 0, lines = 0;
        /* Quadratic, so bounded: beyond a few thousand lines the count is a lower bound. */
        for (const char *line = text; *line && lines < 4000; lines++) {
                size_t len = strcspn(line, "\n");
                if (memmem(line, len, marker, strlen(marker))) {
                        bool seen = false;
                        for (const char *prev = text; prev < line && !seen;) {
                                size_t plen = strcspn(prev, "\n");
                                seen = plen == len && memcmp(prev, line, len) == 0;
                                prev += plen + (prev[plen] == '\n');
                        }
                        if (!seen)
                                n++;
                }
                line += len + (line[len] == '\n');
        }
        return n;
}

/* The first line containing marker (terminal-safe copy), or NULL. */
static char *line_with(const char *text, const char *marker) {
        const char *p = strstr(text, marker);
        if (!p)
                return NULL;
        while (p > text && p[-1] != '\n')
                p--;
        return strndup(p, strcspn(p, "\n"));
}

static int not_installed(const CheckContext *ctx, FindingList *out, const char *id, const char *target,
                         const char *name, const char *package) {
        Finding *f = findings_addf(out, id, target, STATUS_UNKNOWN, _("%s is not installed: nothing to check"), name);
        _cleanup_free_ char *cmd = install_remedy(ctx, package);
        if (!f || !cmd)
                return -ENOMEM;
        if (finding_set_remedy(f, "%s", _("Install it.")) < 0 || finding_add_command(f, "%s", cmd) < 0)
                return -ENOMEM;
        return 0;
}

static int timed_out(FindingList *out, const char *id, const char *target, const char *what) {
        Finding *f = findings_addf(out, id, target, STATUS_UNKNOWN, _("'%s' did not finish in time"), what);
        if (!f)
                return -ENOMEM;
        return finding_set_remedy(f, _("Run '%s' by hand to see what it waits for; raise --timeout if the "
                                       "machine is just slow."), what);
}

/* Common shape of "run the tool's own checker and judge its output". */
static int judge_tool(const CheckContext *ctx, FindingList *out, const char *id, const char *target,
                      const char *const *argv, const char *what, const KnownMessage *known, size_t n_known,
                      const char *fatal_marker, const char *warning_marker, const char *fallback_remedy,
                      bool terminal) {
        SpawnOptions o = {
                .argv = argv,
                .timeout_ms = ctx->settings->timeout_seconds * 1000u,
                .deadline = ctx->deadline,
                .merge_stderr = true,
                .terminal = terminal,
                .max_output = 1024 * 1024,
        };
        SpawnResult s;
        Finding *f;
        int r;

        r = probe_spawn(&o, &s);
        if (r < 0)
                return r;
        if (s.timed_out) {
                spawn_result_done(&s);
                return timed_out(out, id, target, what);
        }

        _cleanup_free_ char *text = termsafe_strdup(s.out, TERMSAFE_KEEP_NEWLINE);
        if (!text) {
                spawn_result_done(&s);
                return -ENOMEM;
        }

        if (!spawn_result_ok(&s)) {
                _cleanup_free_ char *first = line_with(text, fatal_marker);
                if (!first)
                        first = strndup(text, strcspn(text, "\n"));
                if (!first || !*first) {
                        free(first);
                        first = NULL;
                        if (asprintf(&first, _("exited with status %d"), s.exit_status) < 0)
                                first = NULL;
                }
                f = findings_addf(out, id, target, STATUS_CRITICAL, _("%s failed: %s"), what, strempty(first));
                if (!f)
                        goto oom;
        } else {
                size_t warnings = count_distinct_lines_with(text, warning_marker);
                if (warnings == 0) {
                        f = findings_addf(out, id, target, STATUS_OK, _("%s: no complaints"), what);
                        spawn_result_done(&s);
                        return f ? 0 : -ENOMEM;
                }
                _cleanup_free_ char *first = line_with(text, warning_marker);
                f = findings_addf(out, id, target, STATUS_WARNING,
                                  ngettext("%s: %zu warning: %s", "%s: %zu warnings, first: %s", warnings), what,
                                  warnings, strempty(first));
                if (!f)
                        goto oom;
        }

        r = finding_set_detail_raw(f, s.out, s.out_size, DETAIL_MAX);
        spawn_result_done(&s);
        if (r < 0)
                return r;
        const KnownMessage *k = known_message(known, n_known, text);
        if (finding_set_remedy(f, "%s", k ? _(k->remedy) : fallback_remedy) < 0 ||
            (k && k->command && finding_add_command(f, "%s", k->command) < 0))
                return -ENOMEM;
        return 0;
oom:
        spawn_result_done(&s);
        return -ENOMEM;
}

int check_config_postfix(const CheckContext *ctx, FindingList *out) {
        static const char *const check_argv[] = { "postfix", "check", NULL };
        static const char *const postconf_argv[] = { "postconf", "-n", NULL };

        _cleanup_free_ char *bin = spawn_find_program("postfix");
        if (!bin)
                return not_installed(ctx, out, "config.postfix", MAIN_CF, "Postfix", "postfix");
        if (geteuid() != 0) {
                /* postfix(1) is reserved for the superuser: its refusal is no verdict on the config */
                Finding *f = findings_addf(out, "config.postfix", MAIN_CF, STATUS_UNKNOWN,
                                           _("not tested: 'postfix check' is reserved for the superuser (needs root)"));
                if (!f || finding_set_remedy(f, _("Run mxdeck as root to check Postfix's configuration.")) < 0)
                        return -ENOMEM;
                return 0;
        }

        FindingList tmp = {};
        int r = judge_tool(ctx, &tmp, "config.postfix", MAIN_CF, check_argv, "postfix check", postfix_messages,
                           ELEMENTSOF(postfix_messages), "fatal:", "warning:",
                           _("Fix what the message names, then run 'postfix check' until it is silent."),
                           /* postfix(1) prints its complaints only to a terminal (else to syslog). */
                           true);
        if (r < 0) {
                findings_done(&tmp);
                return r;
        }
        /* postfix check is silent about misspelt parameters; postconf -n warns about them. */
        if (tmp.n == 1 && tmp.items[0].status == STATUS_OK) {
                findings_done(&tmp);
                r = judge_tool(ctx, &tmp, "config.postfix", MAIN_CF, postconf_argv, "postconf -n",
                               postfix_messages, ELEMENTSOF(postfix_messages), "fatal:", "warning:",
                               _("Fix what the message names, then run 'postconf -n' until it is silent."), false);
                if (r < 0) {
                        findings_done(&tmp);
                        return r;
                }
                if (tmp.n == 1 && tmp.items[0].status == STATUS_OK)
                        r = finding_set_summary(&tmp.items[0], _("postfix check and postconf: no complaints"));
        }
        if (r >= 0)
                r = findings_move(out, &tmp);
        findings_done(&tmp);
        return r;
}

int check_config_dovecot(const CheckContext *ctx, FindingList *out) {
        static const char *const argv[] = { "doveconf", "-n", NULL };

        _cleanup_free_ char *bin = spawn_find_program("doveconf");
        if (!bin)
                return not_installed(ctx, out, "config.dovecot", "/etc/dovecot/dovecot.conf", "Dovecot",
                                     ctx->family == DISTRO_RHEL ? "dovecot" : "dovecot-imapd dovecot-pop3d");
        return judge_tool(ctx, out, "config.dovecot", "/etc/dovecot/dovecot.conf", argv, "doveconf -n",
                          dovecot_messages, ELEMENTSOF(dovecot_messages), "Fatal:", "Warning:",
                          _("Fix the file and line the message names, then run 'doveconf -n' until it is "
                            "silent."), false);
}

/* A Postfix query that could not be made becomes an unknown finding that says why. */
static int postconf_unavailable(const CheckContext *ctx, FindingList *out, const char *id, int r, const char *error) {
        if (r == -ENOENT)
                return not_installed(ctx, out, id, MAIN_CF, "Postfix", "postfix");
        Finding *f = findings_addf(out, id, MAIN_CF, STATUS_UNKNOWN, _("cannot read Postfix settings: %s"),
                                   error ? error : strerror(-r));
        if (!f)
                return -ENOMEM;
        return finding_set_remedy(f, _("Fix config.postfix first ('postfix check')."));
}

static const char *verdict_text(RelayVerdict v) {
        switch (v) {
        case RELAY_GUARDED:
                return _("guarded");
        case RELAY_OPEN:
                return _("OPEN: an unconditional permit comes first");
        case RELAY_UNGUARDED:
                return _("no reject_unauth_destination: the list ends in Postfix's default permit");
        default:
                return _("empty");
        }
}

typedef struct RelayService {
        char *name;       /* "main.cf" or "submission/inet" */
        char *relay;      /* smtpd_relay_restrictions in force */
        char *recipient;  /* smtpd_recipient_restrictions in force */
} RelayService;

/* One service's verdict: mail relays only when both lists let it through. */
static Status judge_service(const RelayService *s, char *const *mynetworks, char **ret_line, bool *ret_wide) {
        _cleanup_strv_free_ char **relay = NULL, **rcpt = NULL;
        const char *wide = NULL;
        Status st;

        if (postfix_list_split(s->relay, &relay) < 0 || postfix_list_split(s->recipient, &rcpt) < 0)
                return _STATUS_INVALID;
        RelayWalk a = relay_walk(relay), b = relay_walk(rcpt);
        bool guarded = a.verdict == RELAY_GUARDED || b.verdict == RELAY_GUARDED;
        const RelayWalk *g = a.verdict == RELAY_GUARDED ? &a : &b;

        *ret_wide = false;
        if (!guarded)
                st = STATUS_CRITICAL;
        else if (g->permits_mynetworks && mynetworks_is_open(mynetworks, &wide)) {
                st = STATUS_CRITICAL;
                *ret_wide = true;
        } else
                st = STATUS_OK;

        if (asprintf(ret_line, "%s: smtpd_relay_restrictions = %s [%s]; smtpd_recipient_restrictions = %s [%s]%s%s",
                     s->name, *s->relay ? s->relay : "(empty)", verdict_text(a.verdict),
                     *s->recipient ? s->recipient : "(empty)", verdict_text(b.verdict),
                     wide ? _("; permit_mynetworks with mynetworks containing ") : "", wide ? wide : "") < 0)
                return _STATUS_INVALID;
        return st;
}

int check_config_relay(const CheckContext *ctx, FindingList *out) {
        static const char *const names[] = { "smtpd_relay_restrictions", "smtpd_recipient_restrictions",
                                             "mynetworks", NULL };
        _cleanup_strv_free_ char **v = NULL, **overrides = NULL, **mynetworks = NULL;
        _cleanup_free_ char *error = NULL;
        RelayService services[32];
        size_t n = 0;
        int r;

        r = postconf_get(ctx, names, &v, &error);
        if (r < 0)
                return postconf_unavailable(ctx, out, "config.relay", r, error);
        r = postconf_overrides(ctx, &overrides, &error);
        if (r < 0)
                return postconf_unavailable(ctx, out, "config.relay", r, error);
        _cleanup_strv_free_ char **mywords = NULL;
        _cleanup_free_ char *net_sources = NULL, *net_unread = NULL;
        r = postfix_list_split(v[2], &mywords);
        if (r < 0)
                return r;
        /* Tables and files in mynetworks are read: their entries are what Postfix trusts. */
        r = mynetworks_expand(ctx, mywords, &mynetworks, &net_sources, &net_unread);
        if (r < 0)
                return r;

        services[n++] = (RelayService) { .name = (char *) "main.cf", .relay = v[0], .recipient = v[1] };

        /* master.cf overrides: "submission/inet/smtpd_relay_restrictions = permit_sasl_authenticated,reject" */
        for (char **o = overrides; *o && n < ELEMENTSOF(services); o++) {
                const char *eq = strstr(*o, " = ");
                const char *param = memrchr(*o, '/', eq ? (size_t) (eq - *o) : 0);
                if (!eq || !param)
                        continue;
                bool is_relay = strncmp(param + 1, "smtpd_relay_restrictions ", 25) == 0;
                bool is_rcpt = strncmp(param + 1, "smtpd_recipient_restrictions ", 29) == 0;
                if (!is_relay && !is_rcpt)
                        continue;
                size_t name_len = (size_t) (param - *o);
                size_t k;
                for (k = 1; k < n; k++)
                        if (strlen(services[k].name) == name_len && strncmp(services[k].name, *o, name_len) == 0)
                                break;
                if (k == n) {
                        char *name = strndup(*o, name_len);
                        if (!name) {
                                for (size_t i = 1; i < n; i++)
                                        free(services[i].name);
                                return -ENOMEM;
                        }
                        services[n++] = (RelayService) { .name = name, .relay = v[0], .recipient = v[1] };
                }
                if (is_relay)
                        services[k].relay = (char *) eq + 3;
                else
                        services[k].recipient = (char *) eq + 3;
        }

        Status worst = STATUS_OK;
        _cleanup_free_ char *detail = NULL, *remedy = NULL;
        _cleanup_strv_free_ char **commands = NULL;
        size_t n_commands = 0;
        bool wide_any = false;
        r = 0;
        for (size_t k = 0; k < n && r >= 0; k++) {
                _cleanup_free_ char *line = NULL, *fix = NULL;
                bool wide;
                Status st = judge_service(&services[k], mynetworks, &line, &wide);
                if (st < 0) {
                        r = -ENOMEM;
                        break;
                }
                worst = status_worst(worst, st);
                /* The remedy names the place that is wrong: main.cf, a master.cf service, or
                 * mynetworks (once). */
                const char *cmd = NULL;
                _cleanup_free_ char *cmd_buf = NULL;
                if (st != STATUS_OK && wide && !wide_any) {
                        wide_any = true;
                        if (asprintf(&fix, "%s", _("mynetworks lets the whole Internet count as a trusted network; keep it "
                                                   "to your own hosts.")) < 0)
                                fix = NULL;
                        cmd = "postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'";
                } else if (st != STATUS_OK && !wide && k == 0) {
                        if (asprintf(&fix, "%s", _("Put reject_unauth_destination after the permits you want and before "
                                                   "any plain permit.")) < 0)
                                fix = NULL;
                        cmd = "postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                              "reject_unauth_destination'";
                } else if (st != STATUS_OK && !wide) {
                        if (asprintf(&fix, _("The master.cf entry %s overrides the restrictions; a submission-style "
                                             "service relays for authenticated users only."),
                                     services[k].name) < 0)
                                fix = NULL;
                        if (asprintf(&cmd_buf, "postconf -P '%s/smtpd_relay_restrictions=permit_sasl_authenticated,reject'",
                                     services[k].name) < 0)
                                cmd_buf = NULL;
                        cmd = cmd_buf;
                }
                if (cmd) {
                        char **p = reallocarray(commands, n_commands + 2, sizeof(char *));
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        commands = p;
                        commands[n_commands] = strdup(cmd);
                        commands[++n_commands] = NULL;
                        if (!commands[n_commands - 1]) {
                                r = -ENOMEM;
                                break;
                        }
                }
                char *joined;
                if (asprintf(&joined, "%s%s%s%s", strempty(detail), detail ? "\n" : "", st == STATUS_OK ? "" : "! ",
                             line) < 0) {
                        r = -ENOMEM;
                        break;
                }
                free(detail);
                detail = joined;
                if (fix) {
                        if (asprintf(&joined, "%s%s%s", strempty(remedy), remedy ? "\n" : "", fix) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(remedy);
                        remedy = joined;
                }
        }
        for (size_t k = 1; k < n; k++)
                free(services[k].name);
        if (r < 0)
                return r;

        /* Point at the file to edit: master.cf when only its overrides are at fault. */
        bool main_at_fault = wide_any || strncmp(detail, "! ", 2) == 0;
        const char *target = worst != STATUS_OK && !main_at_fault ? "/etc/postfix/master.cf" : MAIN_CF;
        Finding *f = findings_addf(out, "config.relay", target, worst,
                                   worst == STATUS_OK
                                           ? _("relay restrictions refuse mail for foreign domains")
                                           : _("OPEN RELAY RISK: restrictions may accept mail for foreign domains"));
        if (!f)
                return -ENOMEM;
        if (finding_set_detail(f, "%s", detail) < 0)
                return -ENOMEM;
        if (net_sources && finding_append_detail(f, _("mynetworks tables read:\n%s"), net_sources) < 0)
                return -ENOMEM;
        if (net_unread && finding_append_detail(f, _("mynetworks tables that could not be read:\n%s"), net_unread) < 0)
                return -ENOMEM;
        if (worst == STATUS_OK && net_unread) {
                /* A database table may hold 0.0.0.0/0: nothing here says it does not. */
                f->status = STATUS_UNKNOWN;
                if (finding_set_summary(f, "%s", _("relay restrictions are guarded, but a mynetworks table cannot be "
                                                   "read: cannot tell how wide mynetworks is")) < 0 ||
                    finding_set_remedy(f, "%s", _("List the table's entries by hand (postmap -s TABLE, or the "
                                                  "database's own tools) and keep them to your own hosts.")) < 0)
                        return -ENOMEM;
                return 0;
        }
        if (worst != STATUS_OK) {
                if (finding_set_remedy(f, "%s", remedy ? remedy : "") < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n_commands; i++)
                        if (finding_add_command(f, "%s", commands[i]) < 0)
                                return -ENOMEM;
                return remedy_reload(f, ctx, true, false);
        }
        return 0;
}

/* Does the Postfix list value contain domain (literally, or by table lookup)? Table
 * lookups share the check's deadline; *timed_out is set when one could not be made. */
static bool list_has(const CheckContext *ctx, char *const *words, const char *domain, bool *timed_out) {
        for (char *const *w = words; *w; w++) {
                if (strcasecmp(*w, domain) == 0)
                        return true;
                const char *colon = strchr(*w, ':');
                if (!colon || colon == *w)
                        continue;
                /* type:name: ask Postfix, it knows every table type. */
                if (deadline_passed(ctx->deadline)) {
                        *timed_out = true;
                        continue;
                }
                const char *argv[] = { "postmap", "-q", domain, *w, NULL };
                SpawnResult s;
                if (probe_run(ctx, argv, &s) >= 0) {
                        bool hit = spawn_result_ok(&s) && s.out_size > 0;
                        *timed_out = *timed_out || s.timed_out;
                        spawn_result_done(&s);
                        if (hit)
                                return true;
                }
        }
        return false;
}

int check_config_domains(const CheckContext *ctx, FindingList *out) {
        static const char *const names[] = { "mydestination", "virtual_mailbox_domains", "virtual_alias_domains",
                                             "relay_domains", NULL };
        _cleanup_strv_free_ char **v = NULL, **mydest = NULL, **vmbox = NULL, **valias = NULL;
        _cleanup_free_ char *error = NULL, *detail = NULL;
        Status worst = STATUS_OK;
        int r;

        bool timed_out = false;
        r = postconf_get(ctx, names, &v, &error);
        if (r < 0)
                return postconf_unavailable(ctx, out, "config.domains", r, error);
        if (postfix_list_split(v[0], &mydest) < 0 || postfix_list_split(v[1], &vmbox) < 0 ||
            postfix_list_split(v[2], &valias) < 0)
                return -ENOMEM;

        /* Literal domains of each class checked against the other classes (tables included). */
        static const struct {
                int a, b;
                Status status;
                const char *what;
        } pairs[] = {
                { 0, 1, STATUS_CRITICAL, "mydestination and virtual_mailbox_domains" },
                { 1, 0, STATUS_CRITICAL, "mydestination and virtual_mailbox_domains" },
                { 0, 2, STATUS_CRITICAL, "mydestination and virtual_alias_domains" },
                { 2, 0, STATUS_CRITICAL, "mydestination and virtual_alias_domains" },
                { 1, 2, STATUS_WARNING, "virtual_mailbox_domains and virtual_alias_domains" },
                { 2, 1, STATUS_WARNING, "virtual_mailbox_domains and virtual_alias_domains" },
        };
        char **lists[3] = { mydest, vmbox, valias };
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
                for (char **d = lists[pairs[i].a]; *d; d++) {
                        if (strchr(*d, ':') || strchr(*d, '/') || **d == '$')
                                continue; /* a table or a path, not a literal domain */
                        if (!list_has(ctx, lists[pairs[i].b], *d, &timed_out))
                                continue;
                        _cleanup_free_ char *line = NULL;
                        if (asprintf(&line, _("%s is listed in both %s"), *d, pairs[i].what) < 0)
                                return -ENOMEM;
                        if (detail && strstr(detail, line))
                                continue; /* found from both sides */
                        char *joined;
                        if (asprintf(&joined, "%s%s%s", strempty(detail), detail ? "\n" : "", line) < 0)
                                return -ENOMEM;
                        free(detail);
                        detail = joined;
                        worst = status_worst(worst, pairs[i].status);
                }

        Finding *f;
        if (worst == STATUS_OK && timed_out) {
                /* A table that cannot answer (a database that hangs) leaves the question open. */
                f = findings_addf(out, "config.domains", MAIN_CF, STATUS_UNKNOWN,
                                  _("a lookup table did not answer in time: cannot tell whether a domain is in two "
                                    "address classes"));
                if (!f)
                        return -ENOMEM;
                return finding_set_remedy(f, _("Check the tables named in mydestination and virtual_*_domains "
                                               "with 'postmap -q DOMAIN TABLE'; a database table needs its server."));
        }
        if (worst == STATUS_OK) {
                f = findings_addf(out, "config.domains", MAIN_CF, STATUS_OK,
                                  _("each domain belongs to exactly one address class"));
                if (!f)
                        return -ENOMEM;
                return finding_set_detail(f, "mydestination = %s\nvirtual_mailbox_domains = %s\nvirtual_alias_domains = %s",
                                          v[0], v[1], v[2]);
        }
        f = findings_addf(out, "config.domains", MAIN_CF, worst, _("a domain is listed in two address classes"));
        if (!f || finding_set_detail(f, "%s", detail) < 0)
                return -ENOMEM;
        return finding_set_remedy(
                f, _("A domain must be in exactly one class. For virtual mailboxes remove it from mydestination "
                     "(keep mydestination = localhost, and $myhostname when the host name is not a mail "
                     "domain), e.g.:\npostconf -e 'mydestination = localhost'\nthen 'postfix reload'. "
                     "Postfix logs \"do not list domain ... in BOTH\" for this."));
}
