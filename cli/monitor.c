/* `mxdeck monitor [PANEL]` (and `mxdeck` alone on a terminal): the live dashboard. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "context.h"
#include "tui.h"
#include "verbs.h"

const char verb_monitor_usage[] = N_(
        "Usage: mxdeck monitor [OPTIONS] [health|log|queue|traffic]\n"
        "       mxdeck            (on a terminal: the same as 'mxdeck monitor')\n"
        "\n"
        "The live dashboard: every health check of 'mxdeck check', refreshed in the\n"
        "background while you work, problems first, each with its evidence and remedy,\n"
        "its age, and marked stale when it is older than two refresh intervals. The log\n"
        "panel: the mail log's last hour, then its live tail, coloured by kind; f pauses\n"
        "and follows, Enter opens the selected message's trace beside the tail (its queue\n"
        "id, across \"queued as\" and its bounce; q closes it), \\ kind:reject (or any\n"
        "kind or delivery status) filters by kind.\n"
        "The queue panel: counts per queue, the age shape (as qshape), the top deferral\n"
        "reasons and the messages; s sorts (age, size, sender), \\ filters (sender:S\n"
        "recipient:R domain:D reason:RE age:2h queue:Q, or any text), Space tags, Enter\n"
        "shows a message, h u d R f hold, release, delete, requeue the tagged messages (or\n"
        "those the filter shows) and flush, after a confirmation that names the count (the\n"
        "count typed back above 100); [queue] read_only = yes disables them.\n"
        "The traffic panel: per-minute sparklines of the last hour (sent, received,\n"
        "deferred, bounced, rejected, authentication failures) with totals and peaks.\n"
        "A finding whose refresh failed keeps its last good value, marked stale with its\n"
        "time.\n"
        "\n"
        "Keys: F1 or ? help, j/k or arrows move, Enter details, / or F3 search, n/N next\n"
        "and previous match, \\ or F4 filter, F5 or r refresh now, s sort, o hide ok\n"
        "findings, Tab or 1-9 panels, q or Esc back, F10 quit; the mouse selects, switches\n"
        "panels and scrolls.\n"
        "\n"
        "Options:\n"
        "      --refresh SECONDS        between refreshes (default: the refresh_seconds setting, 5)\n"
        "      --timeout SECONDS        time limit of one refresh (default: the timeout setting)\n"
        "      --host NAME              the mail host (default: Postfix's myhostname)\n"
        "      --domain NAME            the mail domain (default: Postfix's mydomain)\n"
        "      --connect ADDR           probe the listeners at ADDR instead of the host's address\n"
        "      --resolver ADDR[:PORT]   DNS resolver for the DNS checks\n"
        "      --ca-file FILE           trust these CAs for the listeners' certificates\n"
        "      --only GROUP,...         only these check groups (as 'mxdeck check --only')\n"
        "      --skip GROUP,...         all check groups but these\n"
        "      --port SVC=PORT, --selector NAME, --trust-anchor FILE   as for 'mxdeck check'\n"
        "      --config FILE            settings file instead of /etc/mxdeck/mxdeck.conf\n"
        "      --ascii                  draw with ASCII characters only\n"
        "      --low-bandwidth          redraw less often, no mouse, for slow links\n"
        "      --no-mouse               no mouse (clicks select, the wheel scrolls; Shift-click\n"
        "                               selects text for copying while the mouse is on)\n"
        "      --color WHEN             auto (default; NO_COLOR respected), always, never\n"
        "  -h, --help                   show this help\n");

/* The dashboard's names hook: ctx is the health panel's copy of c->check. */
static int monitor_names(CheckContext *ctx, void *userdata) {
        RunContext *c = userdata;
        int r = run_context_default_names(c);
        ctx->host = c->host;
        ctx->domain = c->domain;
        return r;
}

int verb_monitor(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL;
        CliOptions opt;
        RunContext c;
        int r;

        /* The same option table and context builder as every other verb (cli/context.c). */
        r = cli_options_parse(CLI_VERB_MONITOR, argc, argv, &opt, &error);
        if (r < 0) {
                usage_error("monitor", "%s", error ? error : strerror(-r));
                return EXIT_USAGE;
        }
        if (opt.help) {
                fputs(_(verb_monitor_usage), stdout);
                cli_options_done(&opt);
                return EXIT_OK;
        }
        if (opt.panel && !streq(opt.panel, "health") && !streq(opt.panel, "log") && !streq(opt.panel, "queue") &&
            !streq(opt.panel, "traffic")) {
                usage_error("monitor", _("unknown panel '%s' (this build has: health, log, queue, traffic)"), opt.panel);
                cli_options_done(&opt);
                return EXIT_USAGE;
        }
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                fputs(_("mxdeck monitor: needs a terminal; for scripts and monitoring use 'mxdeck check' "
                        "(--format json, nagios or prometheus)\n"),
                      stderr);
                cli_options_done(&opt);
                return EXIT_USAGE;
        }
        /* Postfix's names later, in a fiber: asking takes longer than the first frame may. */
        r = run_context_build(&opt, RUN_CONTEXT_NAMES_LATER, &c, &error);
        if (r < 0) {
                fprintf(stderr, "mxdeck monitor: %s\n", error ? error : strerror(-r));
                return EXIT_USAGE;
        }

        TuiOptions o = {
                .ctx = &c.check,
                .names = monitor_names,
                .names_userdata = &c,
                .panel = c.opt.panel,
                .refresh_seconds = c.opt.refresh,
                .ascii = c.opt.ascii,
                .low_bandwidth = c.opt.low_bandwidth,
                .mouse = !c.opt.no_mouse && c.settings.mouse,
                .color = c.opt.color == COLOR_ALWAYS ? 1 : c.opt.color == COLOR_NEVER ? 0 : -1,
        };
        r = tui_run(&o);
        run_context_done(&c);
        if (r < 0) {
                fprintf(stderr, _("mxdeck monitor: cannot run the dashboard: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}
