/* `mxdeck dkim status` and `mxdeck dkim rotate start|status|switch|finish`: the DKIM key
 * rotation as a guided sequence, each changing stage a transaction `mxdeck rollback`
 * undoes. The work is in installer/dkim-rotate.c; here options, output and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "answers.h"
#include "dkim-rotate.h"
#include "dns-records.h"
#include "installer.h"
#include "macro.h"
#include "settings.h"
#include "termsafe.h"
#include "verbs.h"

#define LOOKUP_TIMEOUT_MS 5000

/* Exit codes of dkim (documented in mxdeck(1)). */
enum {
        EXIT_DKIM_NOT_NOW = 4,   /* the stage cannot run yet (the reason was printed); nothing changed */
        EXIT_DKIM_WAITING = 3,   /* rotate status: the next stage cannot run yet */
};

const char verb_dkim_usage[] = N_(
        "Usage: mxdeck dkim status [OPTIONS]\n"
        "       mxdeck dkim rotate start [--selector NAME] [OPTIONS]\n"
        "       mxdeck dkim rotate status|switch [OPTIONS]\n"
        "       mxdeck dkim rotate finish [--force] [OPTIONS]\n"
        "\n"
        "DKIM signing as 'mxdeck setup' set it up (OpenDKIM). 'status' shows the selectors,\n"
        "which one signs, and what DNS serves for each.\n"
        "\n"
        "Rotating the key, one stage at a time, each a transaction 'mxdeck rollback' undoes:\n"
        "  start    make a new selector and key beside the signing one, and print the TXT\n"
        "           record to publish (the old key keeps signing)\n"
        "  status   ask the resolver whether DNS serves the new record and whether it is the\n"
        "           public half of the new key; says what to do next\n"
        "  switch   sign with the new key: only when DNS serves its record (else it refuses,\n"
        "           saying why); the time is recorded\n"
        "  finish   after the grace period ([dkim] grace_days in mxdeck.conf, default 7 days,\n"
        "           for mail signed with the old key that is still on its way), remove the\n"
        "           old key; its DNS record can then be removed\n"
        "\n"
        "Options:\n"
        "      --selector NAME    start: the new selector (default: YYYYMM of today)\n"
        "      --force            finish: before the grace period is over\n"
        "  -n, --dry-run          start, switch, finish: print the plan, change nothing\n"
        "      --resolver ADDR[:PORT]  the DNS resolver to ask (default: [dns] resolver in\n"
        "                         mxdeck.conf, then /etc/resolv.conf)\n"
        "      --config FILE      settings file instead of /etc/mxdeck/mxdeck.conf and\n"
        "                         ~/.config/mxdeck/mxdeck.conf\n"
        "      --root DIR         the system under DIR (no daemon is signalled)\n"
        "  -h, --help             show this help\n"
        "\n"
        "Exit status: 0 done (rotate status: the next stage can run now), 1 failed, 2 usage,\n"
        "3 rotate status: waiting (for DNS, or the grace period), 4 the stage cannot run now\n"
        "(the reason is printed; nothing changed).\n");

typedef struct DkimArgs {
        const char *root;
        const char *selector;
        const char *resolver;
        const char *config;
        bool force;
        bool dry_run;
        bool help;
} DkimArgs;

static int parse(const char *verb, int argc, char *argv[], DkimArgs *ret) {
        enum { ARG_SELECTOR = 0x100, ARG_FORCE, ARG_RESOLVER, ARG_CONFIG, ARG_ROOT };
        static const struct option options[] = {
                { "selector", required_argument, NULL, ARG_SELECTOR },
                { "force", no_argument, NULL, ARG_FORCE },
                { "dry-run", no_argument, NULL, 'n' },
                { "resolver", required_argument, NULL, ARG_RESOLVER },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "root", required_argument, NULL, ARG_ROOT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *ret = (DkimArgs) { .root = "/" };
        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "nh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SELECTOR:
                        ret->selector = optarg;
                        break;
                case ARG_FORCE:
                        ret->force = true;
                        break;
                case 'n':
                        ret->dry_run = true;
                        break;
                case ARG_RESOLVER:
                        ret->resolver = optarg;
                        break;
                case ARG_CONFIG:
                        ret->config = optarg;
                        break;
                case ARG_ROOT:
                        if (optarg[0] != '/') {
                                usage_error("dkim", _("--root needs an absolute path"));
                                return -EINVAL;
                        }
                        ret->root = optarg;
                        break;
                case 'h':
                        ret->help = true;
                        return 0;
                default: {
                        _cleanup_free_ char *q = termsafe_strdup(argv[optind - 1], 0);
                        usage_error("dkim", _("unknown option or missing argument: '%s'"), q ? q : "?");
                        return -EINVAL;
                }
                }
        }
        if (optind < argc) {
                _cleanup_free_ char *q = termsafe_strdup(argv[optind], 0);
                usage_error("dkim", _("unexpected argument '%s' for %s"), q ? q : "?", verb);
                return -EINVAL;
        }
        return 0;
}

typedef struct Env {
        Answers *answers;   /* rotation needs no answers file: an empty one, named for the history */
        Installer *ins;
        Settings settings;
        const char *resolver;
} Env;

static void env_done(Env *e) {
        installer_free(e->ins);
        answers_free(e->answers);
        settings_done(&e->settings);
}

static void on_progress(const InstallerEvent *e, void *userdata) {
        if (e->type == INSTALLER_EVENT_OUTPUT_LINE && e->line)
                printf("    %s\n", e->line);
        else if (e->type == INSTALLER_EVENT_STEP_DONE && e->result < 0)
                printf(_("    failed: %s\n"), e->line ? e->line : strerror(-e->result));
        fflush(stdout);
}

static int env_init(const DkimArgs *a, const char *label, Env *ret) {
        _cleanup_free_ char *error = NULL;
        bool live = streq(a->root, "/");
        int r;

        *ret = (Env) {};
        r = settings_init(&ret->settings);
        if (r < 0)
                return r;
        r = a->config ? settings_load_file(&ret->settings, a->config, &error)
                      : settings_load_default(&ret->settings, &error);
        if (r < 0) {
                fprintf(stderr, "mxdeck dkim: %s\n", error ? error : strerror(-r));
                return r;
        }
        ret->resolver = a->resolver ? a->resolver : ret->settings.resolver;
        ret->answers = calloc(1, sizeof(Answers));
        if (!ret->answers || !(ret->answers->path = strdup(label)))
                return -ENOMEM;
        InstallerOptions io = {
                .root = a->root,
                .answers = ret->answers,
                .offline = !live,
                .systemd = live && sd_booted() > 0,
                .progress = on_progress,
        };
        free(error);
        error = NULL;
        r = installer_new(&io, &ret->ins, &error);
        if (r < 0)
                fprintf(stderr, "mxdeck dkim: %s\n", error ? error : strerror(-r));
        return r;
}

static void print_time(const char *what, int64_t t) {
        time_t tt = (time_t) t;
        struct tm tm;
        char buf[64] = "?";

        if (localtime_r(&tt, &tm))
                strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M %Z", &tm);
        fputs("  ", stdout);
        termsafe_fputs_padded(stdout, what, -22);
        printf(" %s\n", buf);
}

/* The zone line to publish for a domain's selector, as quoted strings of at most 255 bytes. */
static int print_record(const Installer *ins, const char *domain, const char *selector) {
        _cleanup_free_ char *path = opendkim_key_path(domain, selector), *txt = NULL;
        _cleanup_strv_free_ char **parts = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = dkim_record_for_key(ins, path, &txt, NULL);
        if (r < 0) {
                fprintf(stderr, _("mxdeck dkim: cannot read %s: %s\n"), path, strerror(-r));
                return r;
        }
        r = txt_split(txt, TXT_STRING_MAX, &parts);
        if (r < 0)
                return r;
        printf("    %s._domainkey.%s. IN TXT", selector, domain);
        for (char **p = parts; *p; p++)
                printf(" \"%s\"", *p);
        putchar('\n');
        return 0;
}

typedef struct Lookup {
        DkimDnsState state;
        char *detail;
} Lookup;

static const char *dns_state_word(DkimDnsState s) {
        switch (s) {
        case DKIM_DNS_MATCHES:
                return _("served, matches the key");
        case DKIM_DNS_DIFFERENT:
                return _("served, but NOT this key");
        case DKIM_DNS_MISSING:
                return _("not published");
        default:
                return _("DNS did not answer");
        }
}

static int lookup_print(Env *e, const char *domain, const char *selector, const char *role, DkimDnsState *ret) {
        _cleanup_free_ char *detail = NULL;
        DkimDnsState st;
        int r = dkim_dns_lookup(e->ins, e->resolver, LOOKUP_TIMEOUT_MS, domain, selector, &st, &detail);
        if (r < 0)
                return r;
        fputs("  ", stdout);
        termsafe_fputs_padded(stdout, role, -8);
        printf(" %-10s ", selector);
        termsafe_fputs_padded(stdout, dns_state_word(st), -28);
        printf(" %s\n", domain);
        if (detail && st != DKIM_DNS_MATCHES)
                printf("           %s\n", detail);
        if (ret)
                *ret = st;
        return 0;
}

static int cmd_status(Env *e) {
        _cleanup_(dkim_state_done) DkimState s = {};
        int r = dkim_state_load(e->ins, &s);

        if (r < 0)
                return r;
        if (!s.selector) {
                puts(_("DKIM signing is not set up by mxdeck here ('mxdeck setup' with [dkim] enabled = yes)."));
                return 1;
        }
        printf(_("DKIM signing with OpenDKIM: %s\n"), opendkim_running(e->ins) ? _("running") : _("NOT running"));
        fputs("  ", stdout);
        termsafe_fputs_padded(stdout, _("role"), -8);
        fputc(' ', stdout);
        termsafe_fputs_padded(stdout, _("selector"), -10);
        fputc(' ', stdout);
        termsafe_fputs_padded(stdout, _("DNS"), -28);
        printf(" %s\n", _("domain"));
        for (char **d = s.domains; *d; d++) {
                if ((r = lookup_print(e, *d, s.selector, _("signs"), NULL)) < 0)
                        return r;
                if (s.next && (r = lookup_print(e, *d, s.next, _("new"), NULL)) < 0)
                        return r;
                if (s.old && (r = lookup_print(e, *d, s.old, _("old"), NULL)) < 0)
                        return r;
        }
        if (s.started)
                print_time(_("rotation started:"), s.started);
        if (s.switched) {
                print_time(_("switched:"), s.switched);
                print_time(_("old key removable from:"), s.switched + (int64_t) e->settings.dkim_grace_days * 86400);
        }
        return 0;
}

static int cmd_rotate_status(Env *e) {
        _cleanup_(dkim_state_done) DkimState s = {};
        bool ready = true;
        int r = dkim_state_load(e->ins, &s);

        if (r < 0)
                return r;
        if (!s.selector) {
                puts(_("DKIM signing is not set up by mxdeck here ('mxdeck setup' with [dkim] enabled = yes)."));
                return EXIT_FAILED;
        }
        if (!s.next && !s.old) {
                printf(_("No rotation under way: selector %s signs. Start one with 'mxdeck dkim rotate start'.\n"),
                       s.selector);
                return EXIT_OK;
        }
        if (s.next) {
                printf(_("Rotation started: new selector %s; %s signs until the switch.\n"), s.next, s.selector);
                for (char **d = s.domains; *d; d++) {
                        DkimDnsState st;
                        if ((r = lookup_print(e, *d, s.next, _("new"), &st)) < 0)
                                return r;
                        if (st != DKIM_DNS_MATCHES) {
                                ready = false;
                                puts(_("  publish:"));
                                if ((r = print_record(e->ins, *d, s.next)) < 0)
                                        return r;
                        }
                }
                if (ready)
                        puts(_("DNS serves the new key for every domain. Next: mxdeck dkim rotate switch"));
                else
                        puts(_("Next: publish the record(s) above, wait for DNS to serve them (the old TTL), "
                               "run this again, then 'mxdeck dkim rotate switch'."));
                return ready ? EXIT_OK : EXIT_DKIM_WAITING;
        }
        int64_t from = s.switched + (int64_t) e->settings.dkim_grace_days * 86400;
        printf(_("Signing switched to %s; the old key %s is kept for the grace period.\n"), s.selector, s.old);
        for (char **d = s.domains; *d; d++)
                if ((r = lookup_print(e, *d, s.selector, _("signs"), NULL)) < 0 ||
                    (r = lookup_print(e, *d, s.old, _("old"), NULL)) < 0)
                        return r;
        print_time(_("switched:"), s.switched);
        print_time(_("finish possible from:"), from);
        ready = installer_now(e->ins) >= from;
        puts(ready ? _("Next: mxdeck dkim rotate finish") : _("Next: wait, then 'mxdeck dkim rotate finish'."));
        return ready ? EXIT_OK : EXIT_DKIM_WAITING;
}

static int cmd_rotate_stage(Env *e, const DkimArgs *a, DkimRotateStage stage) {
        _cleanup_(plan_freep) Plan *plan = NULL;
        _cleanup_(dkim_state_done) DkimState before = {}, after = {};
        _cleanup_free_ char *text = NULL;
        ApplyResult res = {};
        bool color = isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
        DkimRotateOptions o = {
                .stage = stage,
                .selector = a->selector,
                .force = a->force,
                .grace_days = e->settings.dkim_grace_days,
                .resolver = e->resolver,
                .timeout_ms = LOOKUP_TIMEOUT_MS,
        };
        int r;

        r = dkim_state_load(e->ins, &before);
        if (r < 0)
                return r;
        r = dkim_rotate_plan(e->ins, &o, &plan);
        if (r < 0) {
                fprintf(stderr, _("mxdeck dkim: cannot make the plan: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        r = plan_render_text(plan, color, &text);
        if (r < 0)
                return r;
        fputs(text, stdout);
        if (plan_has_errors(plan)) {
                fputs(_("Nothing was changed.\n"), stdout);
                return EXIT_DKIM_NOT_NOW;
        }
        if (a->dry_run) {
                fputs(_("Dry run: nothing was changed.\n"), stdout);
                return EXIT_OK;
        }
        r = installer_apply(e->ins, plan, &res);
        if (r < 0) {
                fprintf(stderr, _("mxdeck dkim: %s\n"), res.error ? res.error : strerror(-r));
                if (res.transaction)
                        fprintf(stderr, _("Undo what was done so far with: mxdeck rollback %s\n"), res.transaction);
                apply_result_done(&res);
                return EXIT_FAILED;
        }
        if (res.transaction)
                printf(_("Done: transaction %s (undo with: mxdeck rollback %s)\n"), res.transaction,
                       res.transaction);
        apply_result_done(&res);

        /* what to do next, from the state as now recorded (a fresh look at managed.json) */
        installer_free(e->ins);
        e->ins = NULL;
        DkimArgs again = *a;
        Env fresh;
        r = env_init(&again, "mxdeck dkim", &fresh);
        if (r < 0)
                return EXIT_FAILED;
        env_done(e);
        *e = fresh;
        r = dkim_state_load(e->ins, &after);
        if (r < 0)
                return EXIT_FAILED;
        switch (stage) {
        case DKIM_ROTATE_START:
                printf(_("\nPublish this record (selector %s) in DNS, beside the current one:\n"), after.next);
                for (char **d = after.domains; *d; d++)
                        if (print_record(e->ins, *d, after.next) < 0)
                                return EXIT_FAILED;
                puts(_("(A 2048-bit key is longer than one 255-byte TXT string: publish it as the quoted strings "
                       "above; receivers join them.)\n"
                       "Then: 'mxdeck dkim rotate status' until DNS serves it, and 'mxdeck dkim rotate switch'."));
                break;
        case DKIM_ROTATE_SWITCH:
                printf(_("\nSigning with selector %s now. Keep the record of %s published for the grace period "
                         "(%u days); then: mxdeck dkim rotate finish\n"),
                       after.selector, before.selector, e->settings.dkim_grace_days);
                break;
        case DKIM_ROTATE_FINISH:
                printf(_("\nThe old key (selector %s) is removed. Its DNS record can be removed now:\n"), before.old);
                for (char **d = before.domains; *d; d++)
                        printf("    %s._domainkey.%s. IN TXT\n", before.old, *d);
                break;
        default:
                break;
        }
        return EXIT_OK;
}

int verb_dkim(int argc, char *argv[]) {
        _cleanup_(env_done) Env e = {};
        DkimArgs a;
        const char *what;
        int shift, r;

        if (argc < 2 || streq(argv[1], "-h") || streq(argv[1], "--help")) {
                if (argc < 2) {
                        usage_error("dkim", _("missing sub-command (status, rotate)"));
                        return EXIT_USAGE;
                }
                fputs(_(verb_dkim_usage), stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "status")) {
                what = "status";
                shift = 1;
        } else if (streq(argv[1], "rotate")) {
                if (argc < 3 || streq(argv[2], "-h") || streq(argv[2], "--help")) {
                        if (argc < 3) {
                                usage_error("dkim", _("missing stage (start, status, switch, finish)"));
                                return EXIT_USAGE;
                        }
                        fputs(_(verb_dkim_usage), stdout);
                        return EXIT_OK;
                }
                what = argv[2];
                if (!streq(what, "start") && !streq(what, "status") && !streq(what, "switch") &&
                    !streq(what, "finish")) {
                        _cleanup_free_ char *q = termsafe_strdup(what, 0);
                        usage_error("dkim", _("unknown stage '%s' (start, status, switch, finish)"), q ? q : "?");
                        return EXIT_USAGE;
                }
                shift = 2;
        } else {
                _cleanup_free_ char *q = termsafe_strdup(argv[1], 0);
                usage_error("dkim", _("unknown sub-command '%s' (status, rotate)"), q ? q : "?");
                return EXIT_USAGE;
        }
        if (parse(what, argc - shift, argv + shift, &a) < 0)
                return EXIT_USAGE;
        if (a.help) {
                fputs(_(verb_dkim_usage), stdout);
                return EXIT_OK;
        }
        bool rotate = shift == 2;
        if ((a.selector && !(rotate && streq(what, "start"))) || (a.force && !(rotate && streq(what, "finish"))) ||
            (a.dry_run && (!rotate || streq(what, "status")))) {
                usage_error("dkim", _("--selector goes with 'rotate start', --force with 'rotate finish', "
                                      "--dry-run with start, switch and finish"));
                return EXIT_USAGE;
        }
        _cleanup_free_ char *label = NULL;
        if (asprintf(&label, "mxdeck dkim %s%s", rotate ? "rotate " : "", what) < 0)
                return EXIT_FAILED;
        r = env_init(&a, label, &e);
        if (r < 0)
                return EXIT_FAILED;
        if (!rotate)
                r = cmd_status(&e);
        else if (streq(what, "status"))
                r = cmd_rotate_status(&e);
        else
                r = cmd_rotate_stage(&e, &a, streq(what, "start") ? DKIM_ROTATE_START :
                                             streq(what, "switch") ? DKIM_ROTATE_SWITCH : DKIM_ROTATE_FINISH);
        if (r < 0) {
                fprintf(stderr, "mxdeck dkim: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        return r;
}
