/* `mxdeck monitor [PANEL]` (and `mxdeck` alone on a terminal): the live dashboard. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "macro.h"
#include "checks.h"
#include "osrelease.h"
#include "postconf.h"
#include "settings.h"
#include "termsafe.h"
#include "tui.h"
#include "verbs.h"

const char verb_monitor_usage[] = N_(
        "Usage: mxdeck monitor [OPTIONS] [health]\n"
        "       mxdeck            (on a terminal: the same as 'mxdeck monitor')\n"
        "\n"
        "The live dashboard: every health check of 'mxdeck check', refreshed in the\n"
        "background while you work, problems first, each with its evidence and remedy,\n"
        "its age, and marked stale when it is older than two refresh intervals.\n"
        "\n"
        "Keys: F1 or ? help, j/k or arrows move, Enter details, / search, n/N next and\n"
        "previous match, \\ filter, F5 or r refresh now, s sort, o hide ok findings,\n"
        "Tab or 1-9 panels, q or Esc back, F10 quit.\n"
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
        "      --config FILE            settings file instead of /etc/mxdeck/mxdeck.conf\n"
        "      --ascii                  draw with ASCII characters only\n"
        "      --low-bandwidth          redraw less often, for slow links\n"
        "      --color WHEN             auto (default; NO_COLOR respected), always, never\n"
        "  -h, --help                   show this help\n");

static int parse_seconds(const char *s, unsigned *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v == 0 || v > 86400 || s[0] == '-')
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int verb_monitor(int argc, char *argv[]) {
        enum { ARG_REFRESH = 0x100, ARG_TIMEOUT, ARG_HOST, ARG_DOMAIN, ARG_CONNECT, ARG_RESOLVER, ARG_CONFIG, ARG_ASCII,
               ARG_LOW, ARG_COLOR, ARG_CA_FILE, ARG_ONLY };
        static const struct option options[] = {
                { "refresh", required_argument, NULL, ARG_REFRESH },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "host", required_argument, NULL, ARG_HOST },
                { "domain", required_argument, NULL, ARG_DOMAIN },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "resolver", required_argument, NULL, ARG_RESOLVER },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "ascii", no_argument, NULL, ARG_ASCII },
                { "low-bandwidth", no_argument, NULL, ARG_LOW },
                { "color", required_argument, NULL, ARG_COLOR },
                { "ca-file", required_argument, NULL, ARG_CA_FILE },
                { "only", required_argument, NULL, ARG_ONLY },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        TuiOptions o = { .color = -1 };
        unsigned timeout = 0;
        const char *host_arg = NULL, *domain_arg = NULL, *connect = NULL, *resolver = NULL, *config = NULL,
                   *ca_file = NULL;
        _cleanup_strv_free_ char **only = NULL;
        _cleanup_free_ char *error = NULL, *host = NULL, *domain = NULL;
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_REFRESH:
                        if (parse_seconds(optarg, &o.refresh_seconds) < 0) {
                                usage_error("monitor", _("--refresh wants a number of seconds (1-86400), not '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_TIMEOUT:
                        if (parse_seconds(optarg, &timeout) < 0) {
                                usage_error("monitor", _("--timeout wants a number of seconds (1-86400), not '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_HOST:
                        host_arg = optarg;
                        break;
                case ARG_DOMAIN:
                        domain_arg = optarg;
                        break;
                case ARG_CONNECT:
                        connect = optarg;
                        break;
                case ARG_RESOLVER:
                        resolver = optarg;
                        break;
                case ARG_CONFIG:
                        config = optarg;
                        break;
                case ARG_CA_FILE:
                        ca_file = optarg;
                        break;
                case ARG_ONLY: {
                        strv_free(only);
                        only = NULL;
                        size_t n = 0;
                        for (const char *p = optarg; *p;) {
                                size_t l = strcspn(p, ",");
                                char **v = reallocarray(only, n + 2, sizeof(char *));
                                if (!v)
                                        return EXIT_FAILED;
                                only = v;
                                only[n] = strndup(p, l);
                                only[++n] = NULL;
                                if (!only[n - 1])
                                        return EXIT_FAILED;
                                bool available;
                                if (!check_group_is_known(only[n - 1], &available) || !available) {
                                        usage_error("monitor", _("unknown check group '%s' (see 'mxdeck help check')"),
                                                    only[n - 1]);
                                        return EXIT_USAGE;
                                }
                                p += l;
                                p += strspn(p, ",");
                        }
                        break;
                }
                case ARG_ASCII:
                        o.ascii = true;
                        break;
                case ARG_LOW:
                        o.low_bandwidth = true;
                        break;
                case ARG_COLOR:
                        if (streq(optarg, "auto"))
                                o.color = -1;
                        else if (streq(optarg, "always"))
                                o.color = 1;
                        else if (streq(optarg, "never"))
                                o.color = 0;
                        else {
                                usage_error("monitor", _("--color wants auto, always or never, not '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'h':
                        fputs(_(verb_monitor_usage), stdout);
                        return EXIT_OK;
                case ':':
                        usage_error("monitor", _("option '%s' needs a value"), argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        usage_error("monitor", _("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                if (!streq(argv[optind], "health")) {
                        usage_error("monitor", _("unknown panel '%s' (this build has: health)"), argv[optind]);
                        return EXIT_USAGE;
                }
                o.panel = argv[optind++];
        }
        if (optind < argc) {
                usage_error("monitor", _("unexpected argument '%s'"), argv[optind]);
                return EXIT_USAGE;
        }
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                fputs(_("mxdeck monitor: needs a terminal; for scripts and monitoring use 'mxdeck check' "
                        "(--format json, nagios or prometheus)\n"),
                      stderr);
                return EXIT_USAGE;
        }

        Settings settings;
        r = settings_init(&settings);
        if (r < 0) {
                fprintf(stderr, "mxdeck monitor: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        r = config ? settings_load_file(&settings, config, &error) : settings_load_default(&settings, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck monitor: bad settings: %s\n"), error ? error : strerror(-r));
                settings_done(&settings);
                return EXIT_USAGE;
        }
        if (timeout)
                settings.timeout_seconds = timeout;

        OsRelease os = {};
        (void) osrelease_load(NULL, &os);
        CheckContext ctx = {
                .settings = &settings,
                .family = os.family,
                .systemd = sd_booted() > 0,
                .host_from_flag = host_arg != NULL,
                .connect = connect,
                .resolver = resolver,
                .ca_file = ca_file,
                .only = (const char *const *) only,
        };
        host = host_arg ? termsafe_strdup(host_arg, 0) : NULL;
        domain = domain_arg ? termsafe_strdup(domain_arg, 0) : NULL;
        if ((host_arg && !host) || (domain_arg && !domain)) {
                settings_done(&settings);
                return EXIT_FAILED;
        }
        if (!host || !domain) {
                static const char *const names[] = { "myhostname", "mydomain", NULL };
                _cleanup_strv_free_ char **v = NULL;
                if (postconf_get(&ctx, names, &v, NULL) >= 0) {
                        if (!host)
                                host = termsafe_strdup(v[0], 0);
                        if (!domain)
                                domain = termsafe_strdup(v[1], 0);
                }
                struct utsname u;
                if (!host && uname(&u) >= 0)
                        host = termsafe_strdup(u.nodename, 0);
        }
        ctx.host = host;
        ctx.domain = domain;
        o.ctx = &ctx;

        r = tui_run(&o);
        settings_done(&settings);
        if (r < 0) {
                fprintf(stderr, _("mxdeck monitor: cannot run the dashboard: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}
