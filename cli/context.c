/* One context for every verb: a table of options, their checks, and the builder that
 * combines them with the settings file and Postfix's names. No printing here. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "checks.h"
#include "conf.h"
#include "context.h"
#include "macro.h"
#include "postconf.h"
#include "termsafe.h"

/* Sets *ret_error to the formatted message; returns -EINVAL (or -ENOMEM). */
static int fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *m;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = m;
        return -EINVAL;
}

/* argv text in a message: the message may reach a terminal (and a Nagios web page). */
static char *quoted(const char *s) {
        return termsafe_strdup(s, 0);
}

/* fail() with one argv string, made terminal-safe, for the format's one %s. */
static int fail_quoted(char **ret_error, const char *fmt, const char *arg) {
        _cleanup_free_ char *q = quoted(arg);
        if (!q)
                return -ENOMEM;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        return fail(ret_error, fmt, q);
#pragma GCC diagnostic pop
}

static int strv_extend_split(char ***list, const char *arg) {
        size_t n = 0, add = 0;

        for (char **p = *list; p && *p; p++)
                n++;
        for (const char *p = arg; *p;) {
                p += strspn(p, ", ");
                if (*p)
                        add++;
                p += strcspn(p, ", ");
        }
        char **v = realloc(*list, (n + add + 1) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        *list = v;
        v[n] = NULL;
        for (const char *p = arg; *p;) {
                p += strspn(p, ", ");
                size_t len = strcspn(p, ", ");
                if (len > 0) {
                        v[n] = strndup(p, len);
                        if (!v[n])
                                return -ENOMEM;
                        v[++n] = NULL;
                }
                p += len;
        }
        return (int) add;
}

static int set_string(char **field, const char *arg) {
        char *c = strdup(arg);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* --only / --skip GROUP[,GROUP...]: names of the catalog; --only also wants checks for
 * them in this build, --skip may name a group that has none yet (nothing to skip). */
static int add_groups(char ***list, const char *option, bool need_available, const char *arg, char **ret_error) {
        size_t first = 0;
        for (char **p = *list; p && *p; p++)
                first++;
        int r = strv_extend_split(list, arg);
        if (r < 0)
                return r;
        if (r == 0)
                return fail(ret_error, _("%s needs at least one group"), option);
        for (char **g = *list + first; *g; g++) {
                bool available;
                if (!check_group_is_known(*g, &available)) {
                        _cleanup_free_ char *q = quoted(*g);
                        return q ? fail(ret_error, _("unknown group '%s' in %s"), q, option) : -ENOMEM;
                }
                if (need_available && !available)
                        return fail(ret_error, _("this version of mxdeck has no checks in group '%s' yet"), *g);
        }
        return 0;
}

static int opt_only(CliOptions *o, const char *arg, char **e) {
        return add_groups(&o->only, "--only", true, arg, e);
}

static int opt_skip(CliOptions *o, const char *arg, char **e) {
        return add_groups(&o->skip, "--skip", false, arg, e);
}

static int opt_format_check(CliOptions *o, const char *arg, char **e) {
        RenderFormat f = render_format_from_string(arg);
        if (f < 0)
                return fail_quoted(e, _("unknown format '%s' (text, json, nagios, prometheus)"), arg);
        o->format = f;
        return 0;
}

static int opt_format_records(CliOptions *o, const char *arg, char **e) {
        if (!streq(arg, "zone") && !streq(arg, "json"))
                return fail_quoted(e, _("unknown format '%s' (zone, json)"), arg);
        o->json = streq(arg, "json");
        return 0;
}

static int opt_output(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--output needs a file name"));
        o->output = arg;
        return 0;
}

static int opt_host(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--host needs a name"));
        return set_string(&o->host, arg);
}

static int opt_domain(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--domain needs a name"));
        return set_string(&o->domain, arg);
}

static int opt_timeout(CliOptions *o, const char *arg, char **e) {
        uint64_t t;
        if (parse_uint64(arg, &t) < 0 || t == 0 || t > 3600)
                return fail_quoted(e, _("--timeout needs a number of seconds from 1 to 3600, not '%s'"), arg);
        o->timeout = (unsigned) t;
        return 0;
}

static int opt_config(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--config needs a file name"));
        o->config = arg;
        return 0;
}

static int opt_color(CliOptions *o, const char *arg, char **e) {
        static const char *const names[_COLOR_WHEN_MAX] = {
                [COLOR_AUTO] = "auto", [COLOR_ALWAYS] = "always", [COLOR_NEVER] = "never",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(arg, names[i])) {
                        o->color = (ColorWhen) i;
                        return 0;
                }
        return fail_quoted(e, _("--color takes auto, always or never, not '%s'"), arg);
}

static int opt_connect(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--connect needs an address"));
        o->connect = arg;
        return 0;
}

/* --port SVC=PORT, e.g. smtps=10465. */
static int opt_port(CliOptions *o, const char *arg, char **e) {
        static const char *const services[] = { "smtp", "submission", "smtps", "imap", "imaps", "pop3", "pop3s" };
        const char *eq = strchr(arg, '=');
        uint64_t port;
        size_t i;

        for (i = 0; eq && i < ELEMENTSOF(services); i++)
                if (strlen(services[i]) == (size_t) (eq - arg) && strncmp(arg, services[i], (size_t) (eq - arg)) == 0)
                        break;
        if (!eq || i == ELEMENTSOF(services) || parse_uint64(eq + 1, &port) < 0 || port == 0 || port > 65535)
                return fail_quoted(e, _("--port wants SERVICE=PORT with SERVICE one of smtp, submission, smtps, "
                                        "imap, imaps, pop3, pop3s and PORT 1-65535, not '%s'"), arg);
        if (o->n_ports >= ELEMENTSOF(o->ports))
                return fail(e, _("too many --port options"));
        o->ports[o->n_ports++] = (PortOverride) { .service = (char *) services[i], .port = (unsigned) port };
        return 0;
}

static int readable_file(const char *option, const char *arg, char **e) {
        if (access(arg, R_OK) < 0) {
                _cleanup_free_ char *q = quoted(arg);
                return q ? fail(e, _("%s %s: %s"), option, q, strerror(errno)) : -ENOMEM;
        }
        return 0;
}

static int opt_ca_file(CliOptions *o, const char *arg, char **e) {
        int r = readable_file("--ca-file", arg, e);
        if (r >= 0)
                o->ca_file = arg;
        return r;
}

static int opt_trust_anchor(CliOptions *o, const char *arg, char **e) {
        int r = readable_file("--trust-anchor", arg, e);
        if (r >= 0)
                o->trust_anchor = arg;
        return r;
}

/* The selector names a file (/etc/mxdeck/dkim/SELECTOR.private) and a DNS name. */
static int opt_selector(CliOptions *o, const char *arg, char **e) {
        if (!*arg || strchr(arg, '/') || arg[0] == '.' || strlen(arg) > 63)
                return fail(e, _("--selector wants a DNS label"));
        o->selector = arg;
        return 0;
}

static int opt_resolver(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--resolver needs an address"));
        o->resolver = arg;
        return 0;
}

static int opt_address(CliOptions *o, const char *arg, char **e) {
        if (o->n_addrs >= ELEMENTSOF(o->addrs))
                return fail(e, _("too many --address options"));
        if (spf_addr_from_string(arg, &o->addrs[o->n_addrs]) < 0)
                return fail_quoted(e, _("--address wants an IPv4 or IPv6 address, not '%s'"), arg);
        o->n_addrs++;
        return 0;
}

static int opt_mta_sts(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->mta_sts = true;
        return 0;
}

static int opt_verbose(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->verbose = true;
        return 0;
}

static int opt_refresh(CliOptions *o, const char *arg, char **e) {
        uint64_t t;
        if (parse_uint64(arg, &t) < 0 || t == 0 || t > 86400)
                return fail_quoted(e, _("--refresh needs a number of seconds from 1 to 86400, not '%s'"), arg);
        o->refresh = (unsigned) t;
        return 0;
}

static int opt_ascii(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->ascii = true;
        return 0;
}

static int opt_low_bandwidth(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->low_bandwidth = true;
        return 0;
}

static int opt_no_mouse(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->no_mouse = true;
        return 0;
}

/* ---- queue ---- */

static int opt_queue_format(CliOptions *o, const char *arg, char **e) {
        if (!streq(arg, "text") && !streq(arg, "json"))
                return fail_quoted(e, _("unknown format '%s' (text, json)"), arg);
        o->json = streq(arg, "json");
        return 0;
}

static int opt_queue_queue(CliOptions *o, const char *arg, char **e) {
        QueueName q = queue_name_from_string(arg);
        if (q < 0)
                return fail_quoted(e, _("unknown queue '%s' (maildrop, incoming, active, deferred, hold, corrupt)"), arg);
        o->queue.filter.queues |= 1u << q;
        return 0;
}

static int opt_queue_domain(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--domain needs a name"));
        o->queue.filter.domain = arg;
        return 0;
}

/* shape: a switch; list and actions: the address (--sender ADDR, taken by the parser, or
 * --sender=ADDR) */
static int opt_queue_sender(CliOptions *o, const char *arg, char **e) {
        if (!arg) {
                o->queue.shape_sender = true;
                return 0;
        }
        if (!*arg)
                return fail(e, _("--sender needs an address"));
        o->queue.filter.sender = arg;
        return 0;
}

static int opt_queue_recipient(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--recipient needs an address"));
        o->queue.filter.recipient = arg;
        return 0;
}

static int opt_queue_older(CliOptions *o, const char *arg, char **e) {
        if (parse_duration(arg, &o->queue.filter.older_than_s) < 0 || o->queue.filter.older_than_s <= 0)
                return fail_quoted(e, _("--older-than wants a duration such as 90s, 30m, 2h, 3d, 1w, not '%s'"), arg);
        return 0;
}

static int opt_queue_reason(CliOptions *o, const char *arg, char **e) {
        QueueFilter *f = &o->queue.filter;
        if (f->has_reason)
                regfree(&f->reason);
        f->has_reason = false;
        if (regcomp(&f->reason, arg, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
                return fail_quoted(e, _("--reason: '%s' is not a valid extended regular expression"), arg);
        f->has_reason = true;
        return 0;
}

static int opt_queue_parent(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->queue.shape.parent = true;
        return 0;
}

static int opt_queue_linear(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->queue.shape.linear = true;
        return 0;
}

static int opt_queue_tick(CliOptions *o, const char *arg, char **e) {
        uint64_t v;
        if (parse_uint64(arg, &v) < 0 || v < 1 || v > 100000)
                return fail_quoted(e, _("--tick wants minutes from 1 to 100000, not '%s'"), arg);
        o->queue.shape.tick_minutes = (unsigned) v;
        return 0;
}

static int opt_queue_buckets(CliOptions *o, const char *arg, char **e) {
        uint64_t v;
        if (parse_uint64(arg, &v) < 0 || v < 1 || v > QSHAPE_MAX_BUCKETS) {
                _cleanup_free_ char *q = quoted(arg);
                return q ? fail(e, _("--buckets wants 1 to %d, not '%s'"), QSHAPE_MAX_BUCKETS, q) : -ENOMEM;
        }
        o->queue.shape.n_buckets = (unsigned) v;
        return 0;
}

static int opt_queue_all(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->queue.all = true;
        return 0;
}

static int opt_queue_dry_run(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->queue.dry_run = true;
        return 0;
}

static int opt_queue_yes(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->queue.yes = true;
        return 0;
}

static int opt_queue_site(CliOptions *o, const char *arg, char **e) {
        if (!*arg || arg[0] == '-' || strpbrk(arg, " \t\r\n"))
                return fail(e, _("--site wants a domain or [address]"));
        o->queue.site = arg;
        return 0;
}

static int opt_queue_input(CliOptions *o, const char *arg, char **e) {
        if (!*arg)
                return fail(e, _("--input needs a file name (- for stdin)"));
        o->queue.source = QUEUE_SOURCE_INPUT;
        o->queue.input = arg;
        return 0;
}

static int opt_queue_source(CliOptions *o, const char *arg, char **e) {
        QueueSourceKind k = queue_source_from_string(arg);
        if (k < 0 || k == QUEUE_SOURCE_INPUT)
                return fail_quoted(e, _("--source takes auto, files, postqueue or postqueue-p, not '%s'"), arg);
        if (o->queue.source != QUEUE_SOURCE_INPUT) /* --input wins */
                o->queue.source = k;
        return 0;
}

static int opt_help(CliOptions *o, const char *arg, char **e) {
        (void) arg, (void) e;
        o->help = true;
        return 0;
}

#define CHECK CLI_VERB_CHECK
#define RECORDS CLI_VERB_DNS_RECORDS
#define MONITOR CLI_VERB_MONITOR
#define QUEUE CLI_VERB_QUEUE

static const struct OptionDef {
        const char *name;
        char short_name;  /* 0: long only */
        int has_arg;      /* no_argument, required_argument, optional_argument */
        unsigned verbs;   /* CliVerb bits */
        int (*apply)(CliOptions *o, const char *arg, char **ret_error);
} option_table[] = {
        { "only",         0,   required_argument, CHECK | MONITOR,           opt_only },
        { "skip",         0,   required_argument, CHECK | MONITOR,           opt_skip },
        { "format",       0,   required_argument, CHECK,           opt_format_check },
        { "format",       0,   required_argument, RECORDS,         opt_format_records },
        { "output",       'o', required_argument, CHECK,           opt_output },
        { "host",         0,   required_argument, CHECK | RECORDS | MONITOR, opt_host },
        { "domain",       0,   required_argument, CHECK | RECORDS | MONITOR, opt_domain },
        { "timeout",      0,   required_argument, CHECK | MONITOR,           opt_timeout },
        { "config",       0,   required_argument, CHECK | RECORDS | MONITOR | QUEUE, opt_config },
        { "color",        0,   required_argument, CHECK | MONITOR,           opt_color },
        { "connect",      0,   required_argument, CHECK | MONITOR,           opt_connect },
        { "port",         0,   required_argument, CHECK | MONITOR,           opt_port },
        { "ca-file",      0,   required_argument, CHECK | MONITOR,           opt_ca_file },
        { "selector",     0,   required_argument, CHECK | RECORDS | MONITOR, opt_selector },
        { "resolver",     0,   required_argument, CHECK | MONITOR,           opt_resolver },
        { "trust-anchor", 0,   required_argument, CHECK | MONITOR,           opt_trust_anchor },
        { "address",      0,   required_argument, RECORDS,         opt_address },
        { "mta-sts",      0,   no_argument, RECORDS,         opt_mta_sts },
        { "verbose",      'v', no_argument, CHECK,           opt_verbose },
        { "refresh",      0,   required_argument, MONITOR,         opt_refresh },
        { "ascii",        0,   no_argument, MONITOR,         opt_ascii },
        { "low-bandwidth", 0,  no_argument, MONITOR,         opt_low_bandwidth },
        { "no-mouse",     0,   no_argument, MONITOR,         opt_no_mouse },
        { "format",       0,   required_argument, QUEUE,   opt_queue_format },
        { "queue",        0,   required_argument, QUEUE,   opt_queue_queue },
        { "domain",       0,   required_argument, QUEUE,   opt_queue_domain },
        { "sender",       0,   optional_argument, QUEUE,   opt_queue_sender },
        { "recipient",    0,   required_argument, QUEUE,   opt_queue_recipient },
        { "older-than",   0,   required_argument, QUEUE,   opt_queue_older },
        { "reason",       0,   required_argument, QUEUE,   opt_queue_reason },
        { "parent",       0,   no_argument, QUEUE,         opt_queue_parent },
        { "linear",       0,   no_argument, QUEUE,         opt_queue_linear },
        { "tick",         0,   required_argument, QUEUE,   opt_queue_tick },
        { "buckets",      0,   required_argument, QUEUE,   opt_queue_buckets },
        { "all",          0,   no_argument, QUEUE,         opt_queue_all },
        { "dry-run",      'n', no_argument, QUEUE,         opt_queue_dry_run },
        { "yes",          'y', no_argument, QUEUE,         opt_queue_yes },
        { "site",         0,   required_argument, QUEUE,   opt_queue_site },
        { "input",        0,   required_argument, QUEUE,   opt_queue_input },
        { "source",       0,   required_argument, QUEUE,   opt_queue_source },
        { "help",         'h', no_argument, CHECK | RECORDS | MONITOR | QUEUE, opt_help },
};

#undef CHECK
#undef RECORDS
#undef MONITOR
#undef QUEUE

void cli_options_done(CliOptions *o) {
        if (!o)
                return;
        free(o->host);
        free(o->domain);
        strv_free(o->only);
        strv_free(o->skip);
        if (o->queue.filter.has_reason)
                regfree(&o->queue.filter.reason);
        *o = (CliOptions) {};
}

static int queue_command(const char *word, CliQueueOptions *q, char **ret_error) {
        static const struct {
                const char *name;
                CliQueueCommand command;
        } commands[] = {
                { "summary", CLI_QUEUE_SUMMARY }, { "list", CLI_QUEUE_LIST }, { "shape", CLI_QUEUE_SHAPE },
                { "show", CLI_QUEUE_SHOW },       { "flush", CLI_QUEUE_FLUSH },
        };
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(word, commands[i].name)) {
                        q->command = commands[i].command;
                        return 0;
                }
        q->action = queue_action_from_string(word);
        if (q->action < 0)
                return fail_quoted(ret_error, _("unknown command '%s'"), word);
        q->command = CLI_QUEUE_ACTION;
        return 0;
}

int cli_options_parse(CliVerb verb, int argc, char *argv[], CliOptions *ret, char **ret_error) {
        struct option longopts[ELEMENTSOF(option_table) + 1] = {};
        char shortopts[2 * ELEMENTSOF(option_table) + 2] = ":";
        size_t n = 0, s = 1;
        CliOptions o = { .verb = verb, .format = RENDER_TEXT, .color = COLOR_AUTO };
        int c, r = 0;

        if (verb == CLI_VERB_QUEUE) {
                o.queue.source = QUEUE_SOURCE_AUTO;
                qshape_options_init(&o.queue.shape, 0);
                /* the command comes first: it decides what --sender without '=' means */
                if (argc > 1 && argv[1][0] != '-') {
                        r = queue_command(argv[1], &o.queue, ret_error);
                        if (r < 0)
                                return r;
                        argc--;
                        argv++;
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                const struct OptionDef *d = &option_table[i];
                if (!(d->verbs & verb))
                        continue;
                longopts[n++] = (struct option) { d->name, d->has_arg, NULL, 0x100 + (int) i };
                if (d->short_name) {
                        shortopts[s++] = d->short_name;
                        if (d->has_arg == required_argument)
                                shortopts[s++] = ':';
                }
        }

        optind = 0; /* a full reset: the caller (or a test) may have parsed before */
        opterr = 0;
        while (r >= 0 && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                const struct OptionDef *d = NULL;

                if (c >= 0x100 && (size_t) (c - 0x100) < ELEMENTSOF(option_table))
                        d = &option_table[c - 0x100];
                else
                        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                                if (option_table[i].short_name == c && (option_table[i].verbs & verb))
                                        d = &option_table[i];
                const char *arg = optarg;
                /* queue's --sender ADDR (list, actions): the next word when it is no option */
                if (d && d->has_arg == optional_argument && !arg && verb == CLI_VERB_QUEUE &&
                    o.queue.command != CLI_QUEUE_SHAPE && optind < argc && argv[optind][0] != '-')
                        arg = argv[optind++];
                if (d)
                        r = d->apply(&o, arg, ret_error);
                else if (c == ':')
                        r = fail_quoted(ret_error, _("option '%s' needs a value"), argv[optind - 1]);
                else if (optopt && optopt < 0x100)
                        r = fail(ret_error, _("unknown option '-%c'"), optopt);
                else
                        r = fail_quoted(ret_error, _("unknown option '%s'"), argv[optind - 1]);
                if (o.help)
                        break;
        }
        /* monitor takes the panel to open on */
        if (r >= 0 && !o.help && verb == CLI_VERB_MONITOR && optind < argc)
                o.panel = argv[optind++];
        /* queue: the rest are ids (checked by the verb against its command) */
        if (r >= 0 && !o.help && verb == CLI_VERB_QUEUE) {
                o.queue.ids = argv + optind;
                o.queue.n_ids = (size_t) (argc - optind);
                optind = argc;
        }
        if (r >= 0 && !o.help && optind < argc)
                r = fail_quoted(ret_error, _("unexpected argument '%s'"), argv[optind]);
        if (r < 0) {
                cli_options_done(&o);
                return r;
        }
        *ret = o;
        return 0;
}

/* --only minus --skip, over every group of this build when --only is not given. */
static int resolve_groups(const CliOptions *o, char ***ret, char **ret_error) {
        _cleanup_strv_free_ char **v = NULL;
        const char *const *base;
        size_t n_base = 0, n = 0;

        if (!o->skip) {
                *ret = NULL;
                if (!o->only)
                        return 0;
                base = (const char *const *) o->only;
        } else if (o->only)
                base = (const char *const *) o->only;
        else
                base = check_groups(&n_base);
        if (!n_base)
                while (base[n_base])
                        n_base++;

        v = calloc(n_base + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n_base; i++) {
                bool available, skipped = false;
                if (!check_group_is_known(base[i], &available) || !available)
                        continue; /* only when base is the catalog: --only was checked */
                for (char **k = o->skip; k && *k; k++)
                        skipped = skipped || streq(*k, base[i]);
                if (skipped)
                        continue;
                v[n] = strdup(base[i]);
                if (!v[n++])
                        return -ENOMEM;
        }
        if (n == 0)
                return fail(ret_error, o->only ? _("--skip leaves none of the --only groups to run")
                                               : _("--skip leaves no group to run"));
        *ret = TAKE_PTR(v);
        return 0;
}

static int load_settings(const CliOptions *o, Settings *s, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = o->config ? settings_load_file(s, o->config, &error) : settings_load_default(s, &error);
        if (r >= 0 && o->config && access(o->config, F_OK) < 0)
                r = -errno;
        if (r < 0) {
                _cleanup_free_ char *q = quoted(o->config ? o->config : "");
                if (!q)
                        return -ENOMEM;
                if (error)
                        r = fail(ret_error, _("bad settings: %s"), error);
                else if (o->config)
                        r = fail(ret_error, _("bad settings: %s: %s"), q, strerror(-r));
                else
                        r = fail(ret_error, _("bad settings: %s"), strerror(-r));
                return r;
        }
        if (o->timeout)
                s->timeout_seconds = o->timeout;
        return 0;
}

/* The names the flags left out: Postfix's, then (for the host of a check) the node name. */
static int default_names(RunContext *c, bool node_name_fallback) {
        static const char *const names[] = { "myhostname", "mydomain", NULL };
        _cleanup_strv_free_ char **v = NULL;

        if ((!c->host || !c->domain) && postconf_get(&c->check, names, &v, NULL) >= 0) {
                if (!c->host && v[0] && *v[0] && !(c->host = strdup(v[0])))
                        return -ENOMEM;
                if (!c->domain && v[1] && *v[1] && !(c->domain = strdup(v[1])))
                        return -ENOMEM;
        }
        struct utsname u;
        if (!c->host && node_name_fallback && uname(&u) >= 0 && !(c->host = strdup(u.nodename)))
                return -ENOMEM;
        return 0;
}

/* They reach the terminal in reports (and may come from uname or Postfix). */
static int make_safe(char **s) {
        if (!*s)
                return 0;
        char *safe = termsafe_strdup(*s, 0);
        if (!safe)
                return -ENOMEM;
        free(*s);
        *s = safe;
        return 0;
}

void run_context_done(RunContext *c) {
        if (!c)
                return;
        cli_options_done(&c->opt);
        settings_done(&c->settings);
        osrelease_done(&c->os);
        strv_free(c->groups);
        free(c->host);
        free(c->domain);
        *c = (RunContext) {};
}

int run_context_build(CliOptions *opt, RunContextFlags flags, RunContext *ret, char **ret_error) {
        RunContext c = { .opt = *opt };
        int r;

        *opt = (CliOptions) {};
        r = settings_init(&c.settings);
        if (r < 0) {
                cli_options_done(&c.opt);
                return r;
        }
        r = load_settings(&c.opt, &c.settings, ret_error);
        if (r >= 0)
                r = resolve_groups(&c.opt, &c.groups, ret_error);
        if (r < 0)
                goto fail;

        (void) osrelease_load(NULL, &c.os); /* without os-release, remedies are generic */
        c.host = TAKE_PTR(c.opt.host);
        c.domain = TAKE_PTR(c.opt.domain);
        c.check = (CheckContext) {
                .settings = &c.settings,
                .family = c.os.family,
                .systemd = sd_booted() > 0,
                .only = (const char *const *) c.groups,
                .host_from_flag = c.host != NULL,
                .connect = c.opt.connect,
                .ca_file = c.opt.ca_file,
                .selector = c.opt.selector,
                .resolver = c.opt.resolver ? c.opt.resolver : c.settings.resolver,
                .trust_anchor = c.opt.trust_anchor ? c.opt.trust_anchor : c.settings.trust_anchor,
        };
        if (!(flags & (RUN_CONTEXT_NO_NAME_DEFAULTS | RUN_CONTEXT_NAMES_LATER))) {
                r = default_names(&c, c.opt.verb != CLI_VERB_DNS_RECORDS);
                if (r < 0)
                        goto fail;
        }
        r = make_safe(&c.host);
        if (r >= 0)
                r = make_safe(&c.domain);
        if (r < 0)
                goto fail;
        c.names_pending = (flags & RUN_CONTEXT_NAMES_LATER) && !(flags & RUN_CONTEXT_NO_NAME_DEFAULTS);

        *ret = c;
        /* The context moved: point into its new place. */
        ret->check.settings = &ret->settings;
        ret->check.host = ret->host;
        ret->check.domain = ret->domain;
        ret->check.ports = ret->opt.ports;
        ret->check.n_ports = ret->opt.n_ports;
        return 0;

fail:
        if (r == -ENOMEM && ret_error) {
                free(*ret_error);
                *ret_error = strdup(strerror(ENOMEM));
        }
        run_context_done(&c);
        return r;
}

int run_context_default_names(RunContext *c) {
        int r = 0;

        if (!c->names_pending)
                return 0;
        c->names_pending = false;
        /* In the dashboard's fiber: bounded like a check run, never left waiting. */
        Deadline saved = c->check.deadline;
        if (!deadline_is_set(saved))
                c->check.deadline = deadline_in_ms((uint64_t) (c->settings.timeout_seconds ? c->settings.timeout_seconds : 10) *
                                                   1000);
        r = default_names(c, c->opt.verb != CLI_VERB_DNS_RECORDS);
        c->check.deadline = saved;
        if (r >= 0)
                r = make_safe(&c->host);
        if (r >= 0)
                r = make_safe(&c->domain);
        c->check.host = c->host;
        c->check.domain = c->domain;
        return r;
}

bool cli_color_wanted(ColorWhen when, bool to_terminal, const char *no_color_env) {
        switch (when) {
        case COLOR_ALWAYS:
                return true;
        case COLOR_NEVER:
                return false;
        default:
                return to_terminal && !(no_color_env && *no_color_env);
        }
}
