/* mxdeck entry point: global options and sub-command dispatch. */
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "macro.h"
#include "settings.h"
#include "termsafe.h"
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
                "  -h, --help       show this help\n"
                "  -V, --version    show the version\n"
                "      --lang LANG  messages in LANG (zh_CN, or C for English) instead of the\n"
                "                   language of LANG/LC_MESSAGES or the [general] language\n"
                "                   setting; JSON, Nagios and Prometheus output stays the same\n"
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

/* The value of the verb's option `name` (--name VALUE or --name=VALUE) in args, before
 * any "--"; NULL when absent. A look ahead of the verb's own parsing, for what must be
 * decided before anything is printed. */
static const char *args_option(int argc, char *argv[], const char *name) {
        size_t n = strlen(name);

        for (int i = 0; i < argc; i++) {
                if (streq(argv[i], "--"))
                        break;
                if (strncmp(argv[i], name, n) != 0)
                        continue;
                if (argv[i][n] == '=')
                        return argv[i] + n + 1;
                if (!argv[i][n] && i + 1 < argc)
                        return argv[i + 1];
        }
        return NULL;
}

/* JSON, Nagios and Prometheus are read by programs: the same bytes in every language. */
static bool format_is_machine(const char *f) {
        return f && (streq(f, "json") || streq(f, "nagios") || streq(f, "prometheus"));
}

/* The [general] language setting of the file the verb will read (--config, else the
 * system's and the user's). A bad file is the verb's to report: here it means no setting. */
static char *settings_language(const char *config) {
        Settings s;
        char *lang = NULL;
        int r;

        if (settings_init(&s) < 0)
                return NULL;
        r = config ? settings_load_file(&s, config, NULL) : settings_load_default(&s, NULL);
        if (r >= 0 && s.language)
                lang = strdup(s.language);
        settings_done(&s);
        return lang;
}

int main(int argc, char *argv[]) {
        enum { ARG_LANG = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "lang", required_argument, NULL, ARG_LANG },
                {}
        };
        const char *lang = NULL;
        bool want_help = false, want_version = false;
        int c, bad_option = 0, bad_index = 0, r;

        /* '+': stop at the first non-option so the verb parses its own options. Nothing is
         * printed before the language is known: errors wait. */
        opterr = 0;
        while (!bad_option && (c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        want_help = true;
                        break;
                case 'V':
                        want_version = true;
                        break;
                case ARG_LANG:
                        lang = optarg;
                        break;
                default:
                        bad_option = optopt ? optopt : -1;
                        bad_index = optind - 1;
                        break;
                }
        }

        _cleanup_free_ char *lang_setting = NULL;
        const char *format = NULL;
        if (!bad_option && optind < argc) {
                format = args_option(argc - optind, argv + optind, "--format");
                if (!lang)
                        lang = lang_setting = settings_language(args_option(argc - optind, argv + optind,
                                                                            "--config"));
        } else if (!bad_option && !lang)
                lang = lang_setting = settings_language(NULL);
        const char *bad_lang = NULL;
        if (lang && !i18n_lang_is_valid(lang)) {
                /* a bad setting is reported, with its file and line, by the verb reading it */
                bad_lang = lang_setting ? NULL : lang;
                lang = NULL;
        }
        r = i18n_init(lang, format_is_machine(format) ? I18N_UNTRANSLATED : 0);
        if (r == -ENOENT && lang)
                fprintf(stderr, _("mxdeck: cannot show messages in '%s': this system has no UTF-8 locale "
                                  "(generate one, such as C.UTF-8 or %s.UTF-8, with localedef); using English\n"),
                        lang, lang);
        if (bad_lang) {
                _cleanup_free_ char *q = termsafe_strdup(bad_lang, 0);
                usage_error(NULL, _("unknown language '%s' (a locale name such as zh_CN, or C)"), q ? q : "?");
                return EXIT_USAGE;
        }

        if (bad_option) {
                if (bad_option > 0)
                        usage_error(NULL, _("unknown option '-%c'"), bad_option);
                else
                        usage_error(NULL, _("unknown option '%s'"), argv[bad_index]);
                return EXIT_USAGE;
        }
        if (want_help) {
                help(stdout);
                return EXIT_OK;
        }
        if (want_version) {
                printf("mxdeck %s\n", VERSION);
                return EXIT_OK;
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
