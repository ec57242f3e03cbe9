/* `mxdeck check`: run the catalog's checks and render the findings. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "context.h"
#include "fileio.h"
#include "macro.h"
#include "render.h"
#include "verbs.h"

#define EXIT_CHECK_USAGE 3

const char verb_check_usage[] = N_(
        "Usage: mxdeck check [OPTIONS]\n"
        "\n"
        "Run health checks on this mail server and print the findings, each with its\n"
        "evidence and a concrete remedy: in words, and the exact commands to run as\n"
        "printed ('run:' lines; the \"commands\" array in JSON).\n"
        "\n"
        "Options:\n"
        "      --only GROUP[,GROUP...]  run only these groups: service, config, port, tls,\n"
        "                               smtp, imap, pop3, dns, dnsbl, queue, log, cert, system\n"
        "                               (repeatable)\n"
        "      --skip GROUP[,GROUP...]  run every group (or every --only group) except\n"
        "                               these (repeatable)\n"
        "      --format FORMAT          text (default), json, nagios, prometheus\n"
        "  -o, --output FILE            write the report to FILE, replaced atomically\n"
        "                               (for node_exporter's textfile collector)\n"
        "      --host NAME              mail host name: shown in the report, sent as TLS SNI\n"
        "                               and checked against certificates\n"
        "                               (default: Postfix's myhostname)\n"
        "      --connect ADDR           probe the listeners at ADDR instead of NAME's\n"
        "                               addresses (no host at all: 127.0.0.1)\n"
        "      --port SVC=PORT          probe service SVC (smtp, submission, smtps, imap,\n"
        "                               imaps, pop3, pop3s) on another port\n"
        "      --ca-file FILE           verify certificates against the CAs in FILE\n"
        "                               instead of the system store\n"
        "      --domain NAME            mail domain (default: Postfix's mydomain)\n"
        "                               (Unicode names are converted with IDNA2008)\n"
        "      --selector NAME          DKIM selector (default: from the OpenDKIM KeyTable\n"
        "                               or /etc/mxdeck/dkim/SELECTOR.private)\n"
        "      --resolver ADDR[:PORT]   DNS resolver to ask (default: [dns] resolver in the\n"
        "                               settings, then /etc/resolv.conf)\n"
        "      --trust-anchor FILE      DNSSEC trust anchor (DS/DNSKEY records) for dns.dnssec\n"
        "      --timeout SEC            time limit of each probe (default 10)\n"
        "      --config FILE            settings file instead of /etc/mxdeck/mxdeck.conf\n"
        "                               and ~/.config/mxdeck/mxdeck.conf\n"
        "      --color WHEN             auto (default: on a terminal, unless NO_COLOR is\n"
        "                               set), always, never\n"
        "  -v, --verbose                text: show target and detail of every finding, and\n"
        "                               list each check that could not run because its\n"
        "                               port was not reached (else one line under the port)\n"
        "  -h, --help                   show this help\n"
        "\n"
        "Exit status (the Nagios plugin convention): 0 all ok, 1 worst is a warning,\n"
        "2 worst is critical, 3 unknown or usage error.\n");

/* As a Nagios plugin even a usage error must say UNKNOWN on stdout: Nagios shows stdout
 * only. Set before option parsing from a pre-scan of argv. */
static bool nagios_mode;

static bool argv_wants_nagios(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        break;
                if (streq(argv[i], "--format=nagios") || (streq(argv[i], "--format") && i + 1 < argc &&
                                                          streq(argv[i + 1], "nagios")))
                        return true;
        }
        return false;
}

static int64_t clock_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Renders into memory, then replaces the file in one step: a collector (node_exporter's
 * textfile) never reads half a report. */
static int write_report_file(const char *path, RenderFormat format, const Report *report, const RenderOptions *ro) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int r;

        FILE *mem = open_memstream(&buf, &size);
        if (!mem)
                return -ENOMEM;
        r = render_report(mem, format, report, ro);
        if (fclose(mem) != 0 && r >= 0)
                r = -EIO;
        if (r < 0)
                return r;
        AtomicWriteOptions ao = { .set_mode = true, .mode = 0644 };
        return atomic_write_file(path, buf, size, &ao, NULL);
}

int verb_check(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL;
        CliOptions opt;
        RunContext rc;
        int r;

        nagios_mode = argv_wants_nagios(argc, argv);
        r = cli_options_parse(CLI_VERB_CHECK, argc, argv, &opt, &error);
        if (r < 0) {
                usage_error("check", "%s", error ? error : strerror(-r));
                if (nagios_mode)
                        printf("MXDECK UNKNOWN: mxdeck check: %s\n", error ? error : strerror(-r));
                return EXIT_CHECK_USAGE;
        }
        if (opt.help) {
                cli_options_done(&opt);
                fputs(_(verb_check_usage), stdout);
                return EXIT_OK;
        }
        const char *output = opt.output; /* points into argv */
        RenderFormat format = opt.format;
        r = run_context_build(&opt, 0, &rc, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck check: %s\n"), error ? error : strerror(-r));
                if (nagios_mode)
                        printf("MXDECK UNKNOWN: %s\n", error ? error : strerror(-r));
                return EXIT_CHECK_USAGE;
        }

        FindingList findings = {};
        int64_t started = clock_usec(CLOCK_REALTIME), t0 = clock_usec(CLOCK_MONOTONIC);
        r = checks_run(&rc.check, &findings);
        Report report = {
                .host = rc.host,
                .domain = rc.domain,
                .started_usec = started,
                .duration_ms = (uint64_t) (clock_usec(CLOCK_MONOTONIC) - t0) / 1000,
                .findings = &findings,
        };
        int exit_code = render_nagios_exit_code(findings_worst(&findings));
        if (r < 0) {
                fprintf(stderr, _("mxdeck check: %s\n"), strerror(-r));
                exit_code = 3;
        }

        RenderOptions ro = {
                .color = cli_color_wanted(rc.opt.color, !output && isatty(STDOUT_FILENO), getenv("NO_COLOR")),
                .verbose = rc.opt.verbose,
        };
        if (output) {
                r = write_report_file(output, format, &report, &ro);
                if (r < 0) {
                        fprintf(stderr, _("mxdeck check: cannot write %s: %s\n"), output, strerror(-r));
                        exit_code = 3;
                }
        } else {
                r = render_report(stdout, format, &report, &ro);
                if (fflush(stdout) != 0 || r < 0) {
                        fprintf(stderr, _("mxdeck check: cannot write the report: %s\n"), strerror(r < 0 ? -r : EIO));
                        exit_code = 3;
                }
        }

        findings_done(&findings);
        run_context_done(&rc);
        return exit_code;
}
