/* mxdeck entry point: global options and sub-command dispatch. */
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "verbs.h"

static const Verb verbs[] = {
        { "check", verb_check, N_("run health checks and print findings (text, JSON, Nagios, Prometheus)"),
          verb_check_usage },
        { "dns", verb_dns, N_("print the DNS records to publish for this mail server"), verb_dns_usage },
        { "dkim", verb_dkim, N_("DKIM selectors and what DNS serves; rotate the key in stages"), verb_dkim_usage },
        { "setup", verb_setup, N_("set up Postfix and Dovecot from an answers file (plan, apply, verify)"),
          verb_setup_usage },
        { "rollback", verb_rollback, N_("undo a setup transaction byte for byte"), verb_rollback_usage },
        { "history", verb_history, N_("list setup transactions and what they changed"), verb_history_usage },
        { "users", verb_users, N_("list, add, delete mailboxes and set their passwords"), verb_users_usage },
        { "monitor", verb_monitor, N_("the live dashboard (also 'mxdeck' alone on a terminal)"),
          verb_monitor_usage },
        { "queue", verb_queue, N_("show the mail queue (summary, list, shape) and act on it safely"),
          verb_queue_usage },
        { "lab", verb_lab, N_("run a command on a throwaway lab host (namespaces + overlays)"),
          verb_lab_usage },
        { "log", verb_log, N_("mail log: statistics, tail, message trace, one user's view"), verb_log_usage },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

void usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "mxdeck%s%s: ", verb ? " " : "", verb ? verb : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (verb)
                fprintf(stderr, _("Try 'mxdeck help %s'.\n"), verb);
        else
                fputs(_("Try 'mxdeck --help'.\n"), stderr);
}

static void help(FILE *f) {
        fputs(_("Usage: mxdeck [OPTIONS] COMMAND [ARGS...]\n"
                "\n"
                "Set up and watch a Postfix + Dovecot mail server.\n"
                "\n"
                "Commands:\n"), f);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, _(verbs[i].summary));
        fprintf(f, "  %-10s %s\n", "help", _("show help for a command"));
        fputs(_("\n"
                "Options:\n"
                "  -h, --help     show this help\n"
                "  -V, --version  show the version\n"
                "\n"
                "'mxdeck help COMMAND' shows a command's options. See mxdeck(1).\n"), f);
}

static int verb_help(int argc, char *argv[]) {
        if (argc < 2) {
                help(stdout);
                return EXIT_OK;
        }
        if (argc > 2) {
                usage_error("help", _("too many arguments"));
                return EXIT_USAGE;
        }
        const Verb *v = verb_find(argv[1]);
        if (!v) {
                if (streq(argv[1], "help")) {
                        fputs(_("Usage: mxdeck help [COMMAND]\n"), stdout);
                        return EXIT_OK;
                }
                usage_error(NULL, _("unknown command '%s'"), argv[1]);
                return EXIT_USAGE;
        }
        fputs(_(v->usage), stdout);
        return EXIT_OK;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        int c;

        setlocale(LC_ALL, "");
        bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
        textdomain(GETTEXT_PACKAGE);

        /* '+': stop at the first non-option so the verb parses its own options. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("mxdeck %s\n", VERSION);
                        return EXIT_OK;
                default:
                        if (optopt)
                                usage_error(NULL, _("unknown option '-%c'"), optopt);
                        else
                                usage_error(NULL, _("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }

        if (optind >= argc) {
                /* On a terminal the bare command opens the dashboard (as htop does);
                 * anywhere else a missing command is a usage error, as before. */
                if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
                        char *args[] = { (char *) "monitor", NULL };
                        optind = 0;
                        return verb_monitor(1, args);
                }
                help(stderr);
                return EXIT_USAGE;
        }

        const char *name = argv[optind];
        argc -= optind;
        argv += optind;
        optind = 0; /* full reset for the verb's getopt_long */

        if (streq(name, "help"))
                return verb_help(argc, argv);

        const Verb *v = verb_find(name);
        if (!v) {
                usage_error(NULL, _("unknown command '%s'"), name);
                return EXIT_USAGE;
        }
        return v->run(argc, argv);
}
