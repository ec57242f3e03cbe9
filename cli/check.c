/* `mxdeck check`: run the catalog's checks and render the findings. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "conf.h"
#include "fileio.h"
#include "macro.h"
#include "osrelease.h"
#include "postconf.h"
#include "render.h"
#include "settings.h"
#include "termsafe.h"
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
        "                               smtp, imap, pop3, dns, dnsbl, system\n"
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
        "  -v, --verbose                text: show target and detail of every finding\n"
        "  -h, --help                   show this help\n"
        "\n"
        "Exit status (the Nagios plugin convention): 0 all ok, 1 worst is a warning,\n"
        "2 worst is critical, 3 unknown or usage error.\n");

static int split_groups(const char *arg, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;

        v = calloc(strlen(arg) + 2, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *p = arg; *p;) {
                size_t len = strcspn(p, ", ");
                if (len > 0) {
                        v[n] = strndup(p, len);
                        if (!v[n++])
                                return -ENOMEM;
                }
                p += len;
                p += strspn(p, ", ");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* As a Nagios plugin even a usage error must say UNKNOWN on stdout: Nagios shows stdout
 * only. Set before option parsing from a pre-scan of argv. */
static bool nagios_mode;

static void check_usage_error(const char *fmt, ...) _printf_(1, 2);
static void check_usage_error(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        usage_error("check", "%s", msg ? msg : fmt);
        if (nagios_mode)
                printf("MXDECK UNKNOWN: mxdeck check: %s\n", msg ? msg : fmt);
}

/* no-color.org: NO_COLOR set to a non-empty value turns colour off. */
static bool no_color(void) {
        const char *v = getenv("NO_COLOR");
        return v && *v;
}

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

/* --port SVC=PORT, e.g. smtps=10465. */
static int parse_port_override(const char *arg, PortOverride *ports, size_t *n, size_t max) {
        static const char *const services[] = { "smtp", "submission", "smtps", "imap", "imaps", "pop3", "pop3s" };
        const char *eq = strchr(arg, '=');
        uint64_t port;
        size_t i;

        for (i = 0; eq && i < ELEMENTSOF(services); i++)
                if (strlen(services[i]) == (size_t) (eq - arg) && strncmp(arg, services[i], (size_t) (eq - arg)) == 0)
                        break;
        if (!eq || i == ELEMENTSOF(services) || parse_uint64(eq + 1, &port) < 0 || port == 0 || port > 65535) {
                check_usage_error(_("--port wants SERVICE=PORT with SERVICE one of smtp, submission, smtps, imap, "
                                       "imaps, pop3, pop3s and PORT 1-65535, not '%s'"), arg);
                return -EINVAL;
        }
        if (*n >= max) {
                check_usage_error(_("too many --port options"));
                return -E2BIG;
        }
        ports[*n] = (PortOverride) { .service = (char *) services[i], .port = (unsigned) port };
        (*n)++;
        return 0;
}

static int64_t clock_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The report's host and domain: flags first, then Postfix, then the node name. */
static void default_names(const CheckContext *ctx, char **host, char **domain) {
        static const char *const names[] = { "myhostname", "mydomain", NULL };
        _cleanup_strv_free_ char **v = NULL;

        if ((!*host || !*domain) && postconf_get(ctx, names, &v, NULL) >= 0) {
                if (!*host)
                        *host = strdup(v[0]);
                if (!*domain)
                        *domain = strdup(v[1]);
        }
        struct utsname u;
        if (!*host && uname(&u) >= 0)
                *host = strdup(u.nodename);
}

int verb_check(int argc, char *argv[]) {
        enum {
                ARG_ONLY = 0x100, ARG_FORMAT, ARG_HOST, ARG_DOMAIN, ARG_TIMEOUT, ARG_CONFIG, ARG_COLOR,
                ARG_CONNECT, ARG_PORT, ARG_CA_FILE, ARG_SELECTOR, ARG_RESOLVER, ARG_TRUST_ANCHOR,
        };
        static const struct option options[] = {
                { "only", required_argument, NULL, ARG_ONLY },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "output", required_argument, NULL, 'o' },
                { "host", required_argument, NULL, ARG_HOST },
                { "domain", required_argument, NULL, ARG_DOMAIN },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "color", required_argument, NULL, ARG_COLOR },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "port", required_argument, NULL, ARG_PORT },
                { "ca-file", required_argument, NULL, ARG_CA_FILE },
                { "selector", required_argument, NULL, ARG_SELECTOR },
                { "resolver", required_argument, NULL, ARG_RESOLVER },
                { "trust-anchor", required_argument, NULL, ARG_TRUST_ANCHOR },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_strv_free_ char **only = NULL;
        _cleanup_free_ char *host = NULL, *domain = NULL, *error = NULL;
        const char *output = NULL, *config = NULL, *color_when = "auto";
        const char *connect_addr = NULL, *ca_file = NULL, *selector = NULL, *resolver = NULL, *trust_anchor = NULL;
        PortOverride ports[16];
        size_t n_ports = 0;
        RenderFormat format = RENDER_TEXT;
        RenderOptions ro = {};
        uint64_t timeout = 0;
        Settings settings;
        int c, r;

        nagios_mode = argv_wants_nagios(argc, argv);
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":o:vh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ONLY:
                        strv_free(only);
                        only = NULL;
                        if (split_groups(optarg, &only) < 0)
                                return EXIT_CHECK_USAGE;
                        if (!only[0]) {
                                check_usage_error(_("--only needs at least one group"));
                                return EXIT_CHECK_USAGE;
                        }
                        for (char **g = only; *g; g++) {
                                bool available;
                                if (!check_group_is_known(*g, &available)) {
                                        check_usage_error(_("unknown group '%s' in --only"), *g);
                                        return EXIT_CHECK_USAGE;
                                }
                                if (!available) {
                                        check_usage_error(_("this version of mxdeck has no checks in group '%s' yet"),
                                                    *g);
                                        return EXIT_CHECK_USAGE;
                                }
                        }
                        break;
                case ARG_FORMAT:
                        format = render_format_from_string(optarg);
                        if (format < 0) {
                                check_usage_error(_("unknown format '%s' (text, json, nagios, prometheus)"), optarg);
                                return EXIT_CHECK_USAGE;
                        }
                        break;
                case 'o':
                        output = optarg;
                        break;
                case ARG_HOST:
                        free(host);
                        host = strdup(optarg);
                        break;
                case ARG_DOMAIN:
                        free(domain);
                        domain = strdup(optarg);
                        break;
                case ARG_TIMEOUT:
                        if (parse_uint64(optarg, &timeout) < 0 || timeout == 0 || timeout > 3600) {
                                check_usage_error(_("--timeout needs a number of seconds from 1 to 3600, not '%s'"),
                                            optarg);
                                return EXIT_CHECK_USAGE;
                        }
                        break;
                case ARG_CONFIG:
                        config = optarg;
                        break;
                case ARG_COLOR:
                        if (!streq(optarg, "auto") && !streq(optarg, "always") && !streq(optarg, "never")) {
                                check_usage_error(_("--color takes auto, always or never, not '%s'"), optarg);
                                return EXIT_CHECK_USAGE;
                        }
                        color_when = optarg;
                        break;
                case ARG_CONNECT:
                        connect_addr = optarg;
                        break;
                case ARG_PORT:
                        if (parse_port_override(optarg, ports, &n_ports, ELEMENTSOF(ports)) < 0)
                                return EXIT_CHECK_USAGE;
                        break;
                case ARG_CA_FILE:
                        if (access(optarg, R_OK) < 0) {
                                check_usage_error(_("--ca-file %s: %s"), optarg, strerror(errno));
                                return EXIT_CHECK_USAGE;
                        }
                        ca_file = optarg;
                        break;
                case ARG_SELECTOR:
                        selector = optarg;
                        break;
                case ARG_RESOLVER:
                        resolver = optarg;
                        break;
                case ARG_TRUST_ANCHOR:
                        if (access(optarg, R_OK) < 0) {
                                check_usage_error(_("--trust-anchor %s: %s"), optarg, strerror(errno));
                                return EXIT_CHECK_USAGE;
                        }
                        trust_anchor = optarg;
                        break;
                case 'v':
                        ro.verbose = true;
                        break;
                case 'h':
                        fputs(_(verb_check_usage), stdout);
                        return EXIT_OK;
                case ':':
                        check_usage_error(_("option '%s' needs a value"), argv[optind - 1]);
                        return EXIT_CHECK_USAGE;
                default:
                        check_usage_error(_("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_CHECK_USAGE;
                }
        }
        if (optind < argc) {
                check_usage_error(_("unexpected argument '%s'"), argv[optind]);
                return EXIT_CHECK_USAGE;
        }

        r = settings_init(&settings);
        if (r < 0) {
                fprintf(stderr, _("mxdeck check: %s\n"), strerror(-r));
                return EXIT_CHECK_USAGE;
        }
        r = config ? settings_load_file(&settings, config, &error) : settings_load_default(&settings, &error);
        if (r >= 0 && config && access(config, F_OK) < 0) {
                r = -ENOENT;
                free(error);
                if (asprintf(&error, _("%s: %s"), config, strerror(ENOENT)) < 0)
                        error = NULL;
        }
        if (r < 0) {
                fprintf(stderr, _("mxdeck check: bad settings: %s\n"), error ? error : strerror(-r));
                if (nagios_mode)
                        printf("MXDECK UNKNOWN: bad settings: %s\n", error ? error : strerror(-r));
                settings_done(&settings);
                return EXIT_CHECK_USAGE;
        }
        if (timeout)
                settings.timeout_seconds = (unsigned) timeout;

        OsRelease os = {};
        (void) osrelease_load(NULL, &os);
        CheckContext ctx = {
                .settings = &settings,
                .family = os.family,
                .systemd = sd_booted() > 0,
                .only = (const char *const *) only,
                .host_from_flag = host != NULL,
                .connect = connect_addr,
                .ports = ports,
                .n_ports = n_ports,
                .ca_file = ca_file,
                .selector = selector,
                .resolver = resolver,
                .trust_anchor = trust_anchor,
        };
        default_names(&ctx, &host, &domain);
        /* They reach the terminal in the report's heading (and may come from uname or
         * Postfix): make them safe like everything else shown. */
        char *safe_host = host ? termsafe_strdup(host, 0) : NULL, *safe_domain = domain ? termsafe_strdup(domain, 0) : NULL;
        free(host);
        free(domain);
        host = safe_host;
        domain = safe_domain;
        ctx.host = host;
        ctx.domain = domain;

        FindingList findings = {};
        int64_t started = clock_usec(CLOCK_REALTIME), t0 = clock_usec(CLOCK_MONOTONIC);
        r = checks_run(&ctx, &findings);
        Report report = {
                .host = host,
                .domain = domain,
                .started_usec = started,
                .duration_ms = (uint64_t) (clock_usec(CLOCK_MONOTONIC) - t0) / 1000,
                .findings = &findings,
        };
        int exit_code = render_nagios_exit_code(findings_worst(&findings));
        if (r < 0) {
                fprintf(stderr, _("mxdeck check: %s\n"), strerror(-r));
                exit_code = 3;
        }

        if (streq(color_when, "always"))
                ro.color = true;
        else if (streq(color_when, "auto"))
                ro.color = !output && isatty(STDOUT_FILENO) && !no_color();

        if (output) {
                /* Render into memory, then replace the file in one step: a collector never
                 * reads half a report. */
                char *buf = NULL;
                size_t size = 0;
                FILE *mem = open_memstream(&buf, &size);
                if (!mem)
                        r = -ENOMEM;
                else {
                        r = render_report(mem, format, &report, &ro);
                        if (fclose(mem) != 0 && r >= 0)
                                r = -EIO;
                }
                if (r >= 0) {
                        AtomicWriteOptions ao = { .set_mode = true, .mode = 0644 };
                        r = atomic_write_file(output, buf, size, &ao, NULL);
                }
                free(buf);
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
        osrelease_done(&os);
        settings_done(&settings);
        return exit_code;
}
