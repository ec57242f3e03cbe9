/* `mxdeck log stats|tail|trace|user`: the mail log engine on the command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "logsource.h"
#include "logstats.h"
#include "macro.h"
#include "termsafe.h"
#include "verbs.h"

const char verb_log_usage[] = N_(
        "Usage: mxdeck log stats [OPTIONS]\n"
        "       mxdeck log tail [--follow] [--grep RE] [--kind KIND,...] [OPTIONS]\n"
        "       mxdeck log trace ID [OPTIONS]\n"
        "       mxdeck log user NAME [OPTIONS]\n"
        "\n"
        "Read the mail log (Postfix, Dovecot, OpenDKIM) from the journal or from files.\n"
        "  stats   what pflogsumm calls Grand Totals (counted by its rules), the per-hour\n"
        "          table, top domains, reject, deferral and bounce reasons, SASL and login\n"
        "          failures by client address, logins per user, lines not understood\n"
        "  tail    the log, terminal-safe, coloured by kind on a terminal\n"
        "  trace   every line of one message's life, by queue id or Message-ID, across\n"
        "          re-injection (\"queued as\"), its bounce, the LMTP save, and the smtpd\n"
        "          session it came in on\n"
        "  user    one mailbox: mail sent and received, logins and from where, its\n"
        "          rejected and deferred mail\n"
        "\n"
        "Source (default: the system journal; without one, /var/log/maillog or\n"
        "/var/log/mail.log):\n"
        "      --file PATH          a log file (repeatable); its rotated siblings\n"
        "                           (PATH.1, PATH.2.gz, PATH-YYYYMMDD...) are read first,\n"
        "                           oldest first; gzip files are read as they are\n"
        "      --no-rotated         read only the files named\n"
        "      --journal-dir DIR    an offline journal directory\n"
        "      --journal-file FILE  one journal file\n"
        "      --since TIME         from TIME: 'YYYY-MM-DD[ HH:MM[:SS]]', 'today',\n"
        "                           'yesterday', '-2h', '-30m', '-7d' or '@EPOCH'\n"
        "      --until TIME         up to TIME (same forms)\n"
        "\n"
        "stats:\n"
        "      --format FORMAT      text (default) or json (schema mxdeck.logstats/1)\n"
        "      --top N              rows of each top table (default 10)\n"
        "      --unparsed FILE      write the lines not understood to FILE (mode 0600)\n"
        "trace, user:\n"
        "      --format FORMAT      text (default) or json (schema mxdeck.logtrace/1,\n"
        "                           mxdeck.loguser/1)\n"
        "tail:\n"
        "  -f, --follow             keep reading as the log grows (across rotation)\n"
        "  -n, --lines N            without --since, the last N lines (default 20)\n"
        "      --grep RE            only lines matching the extended regular expression\n"
        "      --kind LIST          only these kinds: sent, deferred, bounced, expired,\n"
        "                           reject, reject_warning, hold, discard, client,\n"
        "                           connect, disconnect, queued, removed, bounce,\n"
        "                           sasl-failure, login, login-failed, saved, sieve,\n"
        "                           dkim, warning, fatal, panic, suppressed, unparsed\n"
        "      --color WHEN         auto (default), always or never\n"
        "  -h, --help               show this help\n");

/* ---- options ---- */

typedef struct LogArgs {
        LogSourceOptions src;
        char **files;
        size_t n_files;
        const char *format;
        const char *unparsed_path;
        unsigned top;
        bool follow;
        size_t lines;
        const char *grep;
        const char *kinds;
        const char *color;
        const char *id; /* trace ID / user NAME */
} LogArgs;

static void log_args_done(LogArgs *a) {
        strv_free(a->files);
}

static int64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* TIME: see the usage text. Local time for calendar forms. */
static int parse_time(const char *s, int64_t *ret) {
        int64_t now = realtime_usec();
        char *end;

        if (s[0] == '-' || s[0] == '+') {
                errno = 0;
                long long v = strtoll(s + 1, &end, 10);
                if (errno || end == s + 1 || v < 0 || v > 100000)
                        return -EINVAL;
                int64_t unit = streq(end, "s") ? 1 : streq(end, "m") || streq(end, "min") ? 60
                             : streq(end, "h") ? 3600 : streq(end, "d") ? 86400 : streq(end, "w") ? 604800 : 0;
                if (!unit)
                        return -EINVAL;
                *ret = now + (s[0] == '-' ? -1 : 1) * v * unit * 1000000;
                return 0;
        }
        if (s[0] == '@') {
                errno = 0;
                long long v = strtoll(s + 1, &end, 10);
                if (errno || end == s + 1 || *end || v < 0)
                        return -EINVAL;
                *ret = (int64_t) v * 1000000;
                return 0;
        }
        struct tm tm = {};
        time_t t = (time_t) (now / 1000000);
        if (streq(s, "now")) {
                *ret = now;
                return 0;
        }
        if (streq(s, "today") || streq(s, "yesterday")) {
                localtime_r(&t, &tm);
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                if (streq(s, "yesterday"))
                        tm.tm_mday--;
        } else {
                const char *forms[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                                        "%Y-%m-%d" };
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(forms) && !ok; i++) {
                        tm = (struct tm) {};
                        const char *e = strptime(s, forms[i], &tm);
                        ok = e && *e == 0;
                }
                if (!ok)
                        return -EINVAL;
        }
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (int64_t) t * 1000000;
        return 0;
}

enum {
        ARG_FILE = 0x100,
        ARG_NO_ROTATED,
        ARG_JOURNAL_DIR,
        ARG_JOURNAL_FILE,
        ARG_SINCE,
        ARG_UNTIL,
        ARG_FORMAT,
        ARG_TOP,
        ARG_UNPARSED,
        ARG_GREP,
        ARG_KIND,
        ARG_COLOR,
};

/* Returns 0, or the exit status of a usage error / --help (as a negative number - 1). */
static int parse_args(const char *sub, int argc, char *argv[], LogArgs *a, bool want_id) {
        static const struct option options[] = {
                { "file", required_argument, NULL, ARG_FILE },
                { "no-rotated", no_argument, NULL, ARG_NO_ROTATED },
                { "journal-dir", required_argument, NULL, ARG_JOURNAL_DIR },
                { "journal-file", required_argument, NULL, ARG_JOURNAL_FILE },
                { "since", required_argument, NULL, ARG_SINCE },
                { "until", required_argument, NULL, ARG_UNTIL },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "top", required_argument, NULL, ARG_TOP },
                { "unparsed", required_argument, NULL, ARG_UNPARSED },
                { "follow", no_argument, NULL, 'f' },
                { "lines", required_argument, NULL, 'n' },
                { "grep", required_argument, NULL, ARG_GREP },
                { "kind", required_argument, NULL, ARG_KIND },
                { "color", required_argument, NULL, ARG_COLOR },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;
        char *end;

        *a = (LogArgs) { .format = "text", .top = 10, .lines = 20, .color = "auto" };
        optind = 0;
        while ((c = getopt_long(argc, argv, "hfn:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(_(verb_log_usage), stdout);
                        return -1 - EXIT_OK;
                case ARG_FILE: {
                        char **nf = realloc(a->files, (a->n_files + 2) * sizeof(char *));
                        if (!nf)
                                return -1 - EXIT_FAILED;
                        a->files = nf;
                        nf[a->n_files] = strdup(optarg);
                        nf[++a->n_files] = NULL;
                        if (!nf[a->n_files - 1])
                                return -1 - EXIT_FAILED;
                        break;
                }
                case ARG_NO_ROTATED:
                        a->src.no_rotated = true;
                        break;
                case ARG_JOURNAL_DIR:
                        a->src.journal_dir = optarg;
                        break;
                case ARG_JOURNAL_FILE:
                        a->src.journal_file = optarg;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL:
                        if (parse_time(optarg, c == ARG_SINCE ? &a->src.since_usec : &a->src.until_usec) < 0) {
                                _cleanup_free_ char *q = termsafe_strdup(optarg, 0);
                                usage_error("log", _("%s: cannot read the time '%s'"), c == ARG_SINCE ? "--since" : "--until",
                                            strempty(q));
                                return -1 - EXIT_USAGE;
                        }
                        break;
                case ARG_FORMAT:
                        if (!streq(optarg, "text") && !streq(optarg, "json")) {
                                usage_error("log", _("--format takes text or json"));
                                return -1 - EXIT_USAGE;
                        }
                        a->format = optarg;
                        break;
                case ARG_TOP:
                        errno = 0;
                        unsigned long t = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || t > 10000) {
                                usage_error("log", _("--top takes a number up to 10000"));
                                return -1 - EXIT_USAGE;
                        }
                        a->top = (unsigned) t;
                        break;
                case ARG_UNPARSED:
                        a->unparsed_path = optarg;
                        break;
                case 'f':
                        a->follow = true;
                        break;
                case 'n':
                        errno = 0;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || n > 1000000) {
                                usage_error("log", _("--lines takes a number up to 1000000"));
                                return -1 - EXIT_USAGE;
                        }
                        a->lines = n;
                        break;
                case ARG_GREP:
                        a->grep = optarg;
                        break;
                case ARG_KIND:
                        a->kinds = optarg;
                        break;
                case ARG_COLOR:
                        if (!streq(optarg, "auto") && !streq(optarg, "always") && !streq(optarg, "never")) {
                                usage_error("log", _("--color takes auto, always or never"));
                                return -1 - EXIT_USAGE;
                        }
                        a->color = optarg;
                        break;
                default:
                        usage_error("log", _("unknown option"));
                        return -1 - EXIT_USAGE;
                }
        }
        if (want_id) {
                if (optind >= argc) {
                        usage_error("log", _("'log %s' needs an argument"), sub);
                        return -1 - EXIT_USAGE;
                }
                a->id = argv[optind++];
        }
        if (optind < argc) {
                _cleanup_free_ char *q = termsafe_strdup(argv[optind], 0);
                usage_error("log", _("unexpected argument '%s'"), strempty(q));
                return -1 - EXIT_USAGE;
        }
        if (a->files && (a->src.journal_dir || a->src.journal_file)) {
                usage_error("log", _("--file and --journal-dir/--journal-file exclude each other"));
                return -1 - EXIT_USAGE;
        }
        a->src.files = a->files;
        return 0;
}

static void source_error(int r, const LogSourceInfo *info) {
        _cleanup_free_ char *d = termsafe_strdup(info->description ? info->description : "", 0);
        if (r == -ENOENT && info->n_files == 0)
                fprintf(stderr, _("mxdeck log: no mail log found (tried: %s)\n"), strempty(d));
        else
                fprintf(stderr, _("mxdeck log: cannot read %s: %s\n"), strempty(d), strerror(-r));
}

/* ---- display of one event ---- */

static const char *display_kind(const LogEvent *ev) {
        if (ev->kind == LOG_KIND_DELIVERY && ev->status != LOG_STATUS_NONE)
                return log_status_to_string(ev->status);
        return log_kind_to_string(ev->kind);
}

static const char *kind_color(const LogEvent *ev) {
        switch (ev->kind) {
        case LOG_KIND_REJECT:
        case LOG_KIND_FATAL:
        case LOG_KIND_PANIC:
                return "\033[1;31m";
        case LOG_KIND_DELIVERY:
                return ev->status == LOG_STATUS_SENT       ? "\033[32m"
                       : ev->status == LOG_STATUS_DEFERRED ? "\033[33m"
                                                           : "\033[31m";
        case LOG_KIND_REJECT_WARNING:
        case LOG_KIND_WARNING:
        case LOG_KIND_HOLD:
        case LOG_KIND_SUPPRESSED:
                return "\033[33m";
        case LOG_KIND_SASL_FAILURE:
        case LOG_KIND_LOGIN_FAILED:
                return "\033[35m";
        case LOG_KIND_LOGIN:
        case LOG_KIND_LMTP_SAVED:
                return "\033[36m";
        case LOG_KIND_UNPARSED:
                return "\033[2m";
        default:
                return NULL;
        }
}

/* The line as shown: the file line itself, or "YYYY-MM-DDTHH:MM:SS ident[pid]: message"
 * for a journal entry; terminal-safe. NULL on ENOMEM. */
static char *display_line(const LogEvent *ev, const char *raw, size_t raw_len) {
        _cleanup_free_ char *buf = NULL;
        if (raw)
                return termsafe_dup(raw, raw_len, 0, &buf) < 0 ? NULL : TAKE_PTR(buf);
        char ts[32] = "";
        if (ev->usec) {
                time_t t = (time_t) (ev->usec / 1000000);
                struct tm tm;
                localtime_r(&t, &tm);
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        }
        char pid[16] = "";
        if (ev->pid)
                snprintf(pid, sizeof(pid), "[%u]", ev->pid);
        const char *msg = ev->message.p ? ev->message.p : _("(no readable MESSAGE)");
        size_t ml = ev->message.p ? ev->message.n : strlen(msg);
        size_t n = strlen(ts) + ev->ident.n + strlen(pid) + ml + 8;
        char *s = malloc(n);
        if (!s)
                return NULL;
        int k = snprintf(s, n, "%s %.*s%s: %.*s", ts, (int) ev->ident.n, ev->ident.p ? ev->ident.p : "", pid, (int) ml,
                         msg);
        char *safe = NULL;
        (void) termsafe_dup(s, (size_t) MAX(k, 0), 0, &safe);
        free(s);
        return safe;
}

static void print_event(FILE *f, const LogEvent *ev, const char *raw, size_t raw_len, bool color, bool tag) {
        _cleanup_free_ char *line = display_line(ev, raw, raw_len);
        const char *c = color ? kind_color(ev) : NULL;
        if (tag)
                termsafe_fputs_padded(f, display_kind(ev), -14), fputc(' ', f);
        fprintf(f, "%s%s%s\n", c ? c : "", line ? line : "?", c ? "\033[0m" : "");
}

/* ---- one event as JSON (trace and user with --format json) ---- */

static json_t *json_logstr(LogStr v) {
        _cleanup_free_ char *q = NULL;
        if (termsafe_dup(v.p ? v.p : "", v.p ? v.n : 0, 0, &q) < 0)
                return NULL;
        return json_string(q);
}

static void json_set_str(json_t *o, const char *key, LogStr v) {
        if (v.n)
                json_object_set_new(o, key, json_logstr(v));
}

static char *iso_time(int64_t usec);

/* See "mxdeck.logtrace/1" in the man page: kind, time, program, pid, line and the fields
 * the parser found. NULL on ENOMEM. */
static json_t *event_json(const LogEvent *ev, const char *raw, size_t raw_len) {
        _cleanup_free_ char *line = display_line(ev, raw, raw_len);
        json_t *o = json_object();
        if (!o || !line) {
                json_decref(o);
                return NULL;
        }
        json_object_set_new(o, "kind", json_string(display_kind(ev)));
        if (ev->usec) {
                _cleanup_free_ char *t = iso_time(ev->usec);
                json_object_set_new(o, "time", t ? json_string(t) : json_null());
        } else
                json_object_set_new(o, "time", json_null());
        json_set_str(o, "program", ev->ident);
        if (ev->pid)
                json_object_set_new(o, "pid", json_integer(ev->pid));
        json_set_str(o, "queue_id", ev->queue_id);
        json_set_str(o, "client", ev->client);
        json_set_str(o, "client_ip", ev->client_ip);
        json_set_str(o, "from", ev->from);
        json_set_str(o, "to", ev->to);
        json_set_str(o, "orig_to", ev->orig_to);
        json_set_str(o, "relay", ev->relay);
        json_set_str(o, "delay", ev->delay);
        json_set_str(o, "dsn", ev->dsn);
        if (ev->status != LOG_STATUS_NONE)
                json_object_set_new(o, "status", json_string(log_status_to_string(ev->status)));
        json_set_str(o, "reason", ev->reason);
        json_set_str(o, "message_id", ev->message_id);
        json_set_str(o, "new_queue_id", ev->new_queue_id);
        if (ev->kind == LOG_KIND_QUEUED) {
                json_object_set_new(o, "size", json_integer((json_int_t) ev->size));
                json_object_set_new(o, "nrcpt", json_integer((json_int_t) ev->nrcpt));
        }
        json_set_str(o, "sasl_username", ev->sasl_user);
        json_set_str(o, "user", ev->user);
        json_object_set_new(o, "line", json_string(line));
        return o;
}

static int json_print(json_t *root) {
        int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? -EIO : 0;
        if (r == 0 && fputc('\n', stdout) == EOF)
                r = -EIO;
        return r;
}

static bool use_color(const char *when) {
        if (streq(when, "always"))
                return true;
        if (streq(when, "never"))
                return false;
        const char *nc = getenv("NO_COLOR");
        return isatty(STDOUT_FILENO) && !(nc && *nc);
}

/* ---- stats ---- */

typedef struct StatsRun {
        LogStats stats;
        FILE *unparsed;
        int error;
} StatsRun;

static int stats_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        StatsRun *s = userdata;
        int r = log_stats_add(&s->stats, ev);
        if (r < 0)
                return r;
        if (ev->kind == LOG_KIND_UNPARSED && s->unparsed) {
                if (raw)
                        fwrite(raw, 1, raw_len, s->unparsed);
                else if (ev->message.p)
                        fwrite(ev->message.p, 1, ev->message.n, s->unparsed);
                else
                        fputs("(journal entry without a readable MESSAGE)", s->unparsed);
                fputc('\n', s->unparsed);
        }
        return 0;
}

static const char *const totals_keys[] = {
        "received", "delivered", "forwarded", "deferred", "deferrals", "bounced", "rejected", "reject_warnings",
        "held", "discarded", "bytes_received", "bytes_delivered", "senders", "sending_domains", "recipients",
        "recipient_domains",
};

static void totals_values(const LogStats *s, uint64_t v[ELEMENTSOF(totals_keys)]) {
        uint64_t t[] = {
                s->received, s->delivered, s->forwarded, s->deferred, s->deferrals, s->bounced, s->rejected,
                s->reject_warnings, s->held, s->discarded, s->bytes_received, s->bytes_delivered,
                log_map_count(&s->senders, 0), log_map_count(&s->sending_domains, 0), log_map_count(&s->recipients, 0),
                log_map_count(&s->recipient_domains, 0),
        };
        memcpy(v, t, sizeof(t));
}

static char *iso_time(int64_t usec) {
        char buf[40];
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return strdup(buf);
}

static json_t *json_safe_string(const char *s) {
        _cleanup_free_ char *q = termsafe_strdup(s, 0);
        return json_string(q ? q : "");
}

typedef struct TopSpec {
        const char *name;    /* JSON key */
        const char *title;   /* N_() */
        const char *key;     /* JSON field of the key */
        const char *cols[3]; /* JSON fields of v[0..2], NULL = none */
        size_t map_offset;
        unsigned sort;
} TopSpec;

#define TOP(n, t, k, c0, c1, c2, field, s) \
        { n, t, k, { c0, c1, c2 }, offsetof(LogStats, field), s }

static const TopSpec tops[] = {
        TOP("top_delivery_domains", N_("Top delivery domains (delivered, bytes, deferrals)"), "domain", "delivered",
            "bytes", "deferrals", recipient_domains, 0),
        TOP("top_sending_domains", N_("Top sending domains (messages, bytes)"), "domain", "messages", "bytes", NULL,
            sending_domains, 0),
        TOP("top_reject_reasons", N_("Top reject reasons"), "reason", "count", NULL, NULL, reject_reasons, 0),
        TOP("top_deferral_reasons", N_("Top deferral reasons"), "reason", "count", NULL, NULL, deferral_reasons, 0),
        TOP("top_bounce_reasons", N_("Top bounce reasons"), "reason", "count", NULL, NULL, bounce_reasons, 0),
        TOP("sasl_failures_by_ip", N_("SASL authentication failures by client address (Postfix)"), "ip", "count",
            NULL, NULL, sasl_failures, 0),
        TOP("login_failures_by_ip", N_("Failed logins by remote address (Dovecot)"), "ip", "count", NULL, NULL,
            login_failures, 0),
        TOP("logins_by_user", N_("Logins per user (Dovecot: logins, of which over TLS)"), "user", "logins", "tls", NULL,
            logins, 0),
        TOP("top_warnings", N_("Warnings, fatal errors and panics"), "text", "count", NULL, NULL, warnings, 0),
};

static int stats_json(const StatsRun *run, const LogSourceInfo *info, unsigned top) {
        const LogStats *s = &run->stats;
        json_t *root = json_object(), *totals = json_object(), *hours = json_array();
        uint64_t v[ELEMENTSOF(totals_keys)];

        if (!root || !totals || !hours)
                return -ENOMEM;
        json_object_set_new(root, "schema", json_string("mxdeck.logstats/1"));
        json_object_set_new(root, "source", json_safe_string(strempty(info->description)));
        if (s->first_usec) {
                _cleanup_free_ char *a = iso_time(s->first_usec), *b = iso_time(s->last_usec);
                json_object_set_new(root, "first", json_string(strempty(a)));
                json_object_set_new(root, "last", json_string(strempty(b)));
        }
        totals_values(s, v);
        for (size_t i = 0; i < ELEMENTSOF(totals_keys); i++)
                json_object_set_new(totals, totals_keys[i], json_integer((json_int_t) v[i]));
        json_object_set_new(root, "totals", totals);
        json_object_set_new(root, "rejected_percent", json_integer(log_stats_rejected_percent(s)));
        json_object_set_new(root, "discarded_percent", json_integer(log_stats_discarded_percent(s)));
        json_object_set_new(root, "days", json_integer(s->days));
        static const char *const hour_keys[_LOG_HOUR_MAX] = { "received", "delivered", "deferred", "bounced", "rejected" };
        for (int h = 0; h < 24; h++) {
                json_t *o = json_object();
                json_object_set_new(o, "hour", json_integer(h));
                for (int k = 0; k < _LOG_HOUR_MAX; k++)
                        json_object_set_new(o, hour_keys[k], json_integer((json_int_t) s->per_hour[h][k]));
                json_array_append_new(hours, o);
        }
        json_object_set_new(root, "per_hour", hours);

        _cleanup_free_ LogMapEntry **rows = calloc(MAX(top, 1u), sizeof(LogMapEntry *));
        if (!rows)
                return -ENOMEM;
        for (size_t t = 0; t < ELEMENTSOF(tops); t++) {
                const LogMap *m = (const LogMap *) ((const char *) s + tops[t].map_offset);
                size_t n = log_map_top(m, tops[t].sort, rows, top);
                json_t *a = json_array();
                for (size_t i = 0; i < n; i++) {
                        json_t *o = json_object();
                        json_object_set_new(o, tops[t].key, json_safe_string(log_map_key(m, rows[i])));
                        for (int c = 0; c < 3; c++)
                                if (tops[t].cols[c])
                                        json_object_set_new(o, tops[t].cols[c], json_integer((json_int_t) rows[i]->v[c]));
                        if (m == &s->warnings)
                                json_object_set_new(o, "level", json_string(rows[i]->v[1] == 2   ? "panic"
                                                                            : rows[i]->v[1] == 1 ? "fatal"
                                                                                                 : "warning"));
                        json_array_append_new(a, o);
                }
                json_object_set_new(root, tops[t].name, a);
        }
        json_t *counts = json_object();
        json_object_set_new(counts, "sasl_failures", json_integer((json_int_t) s->sasl_failure_count));
        json_object_set_new(counts, "logins", json_integer((json_int_t) s->login_count));
        json_object_set_new(counts, "login_failures", json_integer((json_int_t) s->login_failure_count));
        json_object_set_new(counts, "lmtp_saved", json_integer((json_int_t) s->lmtp_saved));
        json_object_set_new(counts, "dkim_signed", json_integer((json_int_t) s->dkim_signed));
        json_object_set_new(counts, "warnings", json_integer((json_int_t) s->warning_count));
        json_object_set_new(counts, "fatal", json_integer((json_int_t) s->fatal_count));
        json_object_set_new(counts, "panic", json_integer((json_int_t) s->panic_count));
        json_object_set_new(root, "counts", counts);
        json_t *lines = json_object();
        json_object_set_new(lines, "total", json_integer((json_int_t) s->lines));
        json_object_set_new(lines, "mail", json_integer((json_int_t) s->mail_lines));
        json_object_set_new(lines, "unparsed", json_integer((json_int_t) s->unparsed));
        json_object_set_new(lines, "without_event", json_integer((json_int_t) s->other));
        json_object_set_new(root, "lines", lines);
        json_t *sup = json_object();
        json_object_set_new(sup, "messages", json_integer((json_int_t) s->suppressed));
        json_object_set_new(sup, "notices", json_integer((json_int_t) s->suppressed_notices));
        json_object_set_new(root, "suppressed", sup);
        json_object_set_new(root, "inflight_evicted", json_integer((json_int_t) s->inflight.evicted));
        json_object_set_new(root, "truncated", json_boolean(info->truncated));

        int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? -EIO : 0;
        fputc('\n', stdout);
        json_decref(root);
        return r;
}

static int stats_text(const StatsRun *run, const LogSourceInfo *info, unsigned top) {
        const LogStats *s = &run->stats;
        uint64_t v[ELEMENTSOF(totals_keys)];
        static const char *const labels[] = {
                N_("received"), N_("delivered"), N_("forwarded"), N_("deferred"), N_("deferrals"), N_("bounced"),
                N_("rejected"), N_("reject warnings"), N_("held"), N_("discarded"), N_("bytes received"),
                N_("bytes delivered"), N_("senders"), N_("sending hosts/domains"), N_("recipients"),
                N_("recipient hosts/domains"),
        };
        _cleanup_free_ char *src = termsafe_strdup(strempty(info->description), 0);

        printf(_("Source: %s\n"), strempty(src));
        if (s->first_usec) {
                _cleanup_free_ char *a = iso_time(s->first_usec), *b = iso_time(s->last_usec);
                printf(_("From %s to %s\n"), strempty(a), strempty(b));
        }
        if (info->truncated)
                fputs(_("Stopped early at the time limit: the figures cover only part of the log.\n"), stdout);
        if (s->suppressed_notices)
                printf(_("journald dropped %" PRIu64 " messages (rate limiting, %" PRIu64 " notices): the figures "
                         "below miss them.\n"),
                       s->suppressed, s->suppressed_notices);
        printf("\n%s\n------------\n", _("Grand Totals"));
        totals_values(s, v);
        for (size_t i = 0; i < ELEMENTSOF(totals_keys); i++) {
                printf(" %10" PRIu64 "  %s", v[i], _(labels[i]));
                if (i == 6)
                        printf(" (%u%%)", log_stats_rejected_percent(s));
                if (i == 9)
                        printf(" (%u%%)", log_stats_discarded_percent(s));
                fputc('\n', stdout);
        }
        printf("\n%s\n", _("Per-hour traffic (totals over all days)"));
        /* padded by display width: the translated headers may be CJK (two columns each) */
        static const char *const hour_heads[] = {
                N_("received"), N_("delivered"), N_("deferred"), N_("bounced"), N_("rejected"),
        };
        fputs("    ", stdout);
        termsafe_fputs_padded(stdout, _("time"), -11);
        for (size_t i = 0; i < ELEMENTSOF(hour_heads); i++) {
                fputc(' ', stdout);
                termsafe_fputs_padded(stdout, _(hour_heads[i]), 10);
        }
        fputc('\n', stdout);
        for (int h = 0; h < 24; h++)
                printf("    %02d00-%02d00   %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", h,
                       h + 1, s->per_hour[h][0], s->per_hour[h][1], s->per_hour[h][2], s->per_hour[h][3],
                       s->per_hour[h][4]);

        _cleanup_free_ LogMapEntry **rows = calloc(MAX(top, 1u), sizeof(LogMapEntry *));
        if (!rows)
                return -ENOMEM;
        for (size_t t = 0; t < ELEMENTSOF(tops); t++) {
                const LogMap *m = (const LogMap *) ((const char *) s + tops[t].map_offset);
                size_t n = log_map_top(m, tops[t].sort, rows, top);
                if (n == 0)
                        continue;
                printf("\n%s\n", _(tops[t].title));
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *k = termsafe_fit(log_map_key(m, rows[i]), 70, false);
                        printf(" %10" PRIu64, rows[i]->v[0]);
                        for (int c = 1; c < 3; c++)
                                if (tops[t].cols[c])
                                        printf(" %10" PRIu64, rows[i]->v[c]);
                        printf("  %s\n", k ? k : "?");
                }
        }
        printf("\n%s\n", _("Lines"));
        printf(_(" %10" PRIu64 "  read\n %10" PRIu64 "  from mail programs\n %10" PRIu64
                 "  not understood (unparsed)\n"),
               s->lines, s->mail_lines, s->unparsed);
        if (s->inflight.evicted)
                printf(_(" %10" PRIu64 "  queue ids dropped from the in-flight table (no removal seen)\n"),
                       s->inflight.evicted);
        return 0;
}

static int log_stats_verb(LogArgs *a) {
        StatsRun run = {};
        LogSourceInfo info = {};
        int r;

        r = log_stats_init(&run.stats);
        if (r < 0) {
                fprintf(stderr, _("mxdeck log: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        if (a->unparsed_path) {
                int fd = open(a->unparsed_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 || !(run.unparsed = fdopen(fd, "w"))) {
                        _cleanup_free_ char *q = termsafe_strdup(a->unparsed_path, 0);
                        fprintf(stderr, _("mxdeck log: cannot write %s: %s\n"), strempty(q), strerror(errno));
                        if (fd >= 0)
                                close(fd);
                        log_stats_done(&run.stats);
                        return EXIT_FAILED;
                }
        }
        r = log_source_read(&a->src, stats_record, &run, &info);
        if (run.unparsed && fclose(run.unparsed) != 0 && r == 0)
                r = -errno;
        if (r < 0) {
                source_error(r, &info);
                log_source_info_done(&info);
                log_stats_done(&run.stats);
                return EXIT_FAILED;
        }
        r = streq(a->format, "json") ? stats_json(&run, &info, a->top) : stats_text(&run, &info, a->top);
        log_source_info_done(&info);
        log_stats_done(&run.stats);
        if (fflush(stdout) != 0 || r < 0)
                return EXIT_FAILED;
        return EXIT_OK;
}

/* ---- tail ---- */

typedef struct TailRun {
        bool kinds[_LOG_KIND_MAX];
        bool statuses[_LOG_STATUS_MAX];
        bool any_kind;
        regex_t re;
        bool has_re;
        bool color;
        /* without --since and --follow: the last N lines, a ring of display strings */
        char **ring;
        LogEvent *ring_ev; /* only kind/status kept, for colour */
        size_t ring_size, ring_n, ring_head;
} TailRun;

static int parse_kinds(TailRun *t, const char *list) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                static const struct {
                        const char *name;
                        LogStatus status;
                } st[] = { { "sent", LOG_STATUS_SENT }, { "deferred", LOG_STATUS_DEFERRED },
                           { "bounced", LOG_STATUS_BOUNCED }, { "expired", LOG_STATUS_EXPIRED } };
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(st); i++)
                        if (streq(w, st[i].name)) {
                                t->statuses[st[i].status] = true;
                                found = true;
                        }
                if (streq(w, "expired"))
                        t->kinds[LOG_KIND_EXPIRED] = true;
                LogKind k = log_kind_from_string(w);
                if (k >= 0) {
                        t->kinds[k] = true;
                        found = true;
                }
                if (!found) {
                        _cleanup_free_ char *q = termsafe_strdup(w, 0);
                        usage_error("log", _("--kind: unknown kind '%s'"), strempty(q));
                        return -EINVAL;
                }
        }
        t->any_kind = true;
        return 0;
}

static bool tail_wants(TailRun *t, const LogEvent *ev, const char *line) {
        if (ev->family == LOG_FAMILY_OTHER && ev->kind != LOG_KIND_UNPARSED)
                return false;
        if (t->any_kind) {
                bool ok = t->kinds[ev->kind] || (ev->kind == LOG_KIND_DELIVERY && t->statuses[ev->status]);
                if (!ok)
                        return false;
        }
        if (t->has_re && regexec(&t->re, line, 0, NULL, 0) != 0)
                return false;
        return true;
}

static int tail_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        TailRun *t = userdata;
        _cleanup_free_ char *line = display_line(ev, raw, raw_len);
        if (!line)
                return -ENOMEM;
        if (!tail_wants(t, ev, line))
                return 0;
        const char *c = t->color ? kind_color(ev) : NULL;
        if (t->ring) {
                size_t i = (t->ring_head + t->ring_n) % t->ring_size;
                if (t->ring_n == t->ring_size) {
                        i = t->ring_head;
                        free(t->ring[i]);
                        t->ring_head = (t->ring_head + 1) % t->ring_size;
                        t->ring_n--;
                }
                t->ring[i] = TAKE_PTR(line);
                t->ring_ev[i].kind = ev->kind;
                t->ring_ev[i].status = ev->status;
                t->ring_n++;
                return 0;
        }
        printf("%s%s%s\n", c ? c : "", line, c ? "\033[0m" : "");
        fflush(stdout);
        return 0;
}

static int on_follow(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LogFollow *l = userdata;
        int r = log_follow_process(l);
        if (r < 0) {
                fprintf(stderr, _("mxdeck log: reading the log failed: %s\n"), strerror(-r));
                return sd_event_exit(sd_event_source_get_event(s), EXIT_FAILED);
        }
        return 0;
}

static int log_tail_verb(LogArgs *a) {
        TailRun t = {};
        LogSourceInfo info = {};
        int r, ret = EXIT_OK;

        t.color = use_color(a->color);
        if (a->kinds && parse_kinds(&t, a->kinds) < 0)
                return EXIT_USAGE;
        if (a->grep) {
                int k = regcomp(&t.re, a->grep, REG_EXTENDED | REG_NOSUB);
                if (k != 0) {
                        char msg[256];
                        regerror(k, &t.re, msg, sizeof(msg));
                        usage_error("log", _("--grep: %s"), msg);
                        return EXIT_USAGE;
                }
                t.has_re = true;
        }
        if (!a->src.since_usec && a->lines > 0) {
                t.ring_size = a->lines;
                t.ring = calloc(t.ring_size, sizeof(char *));
                t.ring_ev = calloc(t.ring_size, sizeof(LogEvent));
                if (!t.ring || !t.ring_ev) {
                        ret = EXIT_FAILED;
                        goto out;
                }
        }
        if (a->src.since_usec || t.ring) {
                r = log_source_read(&a->src, tail_record, &t, &info);
                if (r < 0) {
                        source_error(r, &info);
                        ret = EXIT_FAILED;
                        goto out;
                }
                for (size_t i = 0; i < t.ring_n; i++) {
                        size_t k = (t.ring_head + i) % t.ring_size;
                        const char *c = t.color ? kind_color(&t.ring_ev[k]) : NULL;
                        printf("%s%s%s\n", c ? c : "", t.ring[k], c ? "\033[0m" : "");
                }
                fflush(stdout);
        }
        if (t.ring) {
                for (size_t i = 0; i < t.ring_size; i++)
                        free(t.ring[i]);
                free(t.ring);
                free(t.ring_ev);
                t.ring = NULL;
        }
        if (a->follow) {
                LogFollow *l = NULL;
                sd_event *e = NULL;
                LogSourceOptions fo = a->src;
                fo.since_usec = fo.until_usec = 0;
                r = log_follow_new(&fo, tail_record, &t, &l);
                if (r < 0) {
                        LogSourceInfo fi = { .description = strdup(_("the mail log")) };
                        source_error(r, &fi);
                        log_source_info_done(&fi);
                        ret = EXIT_FAILED;
                        goto out;
                }
                sigset_t ss;
                sigemptyset(&ss);
                sigaddset(&ss, SIGINT);
                sigaddset(&ss, SIGTERM);
                sigprocmask(SIG_BLOCK, &ss, NULL);
                r = sd_event_default(&e);
                if (r >= 0)
                        r = sd_event_add_io(e, NULL, log_follow_get_fd(l), EPOLLIN, on_follow, l);
                if (r >= 0)
                        r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
                if (r >= 0)
                        r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
                if (r >= 0)
                        r = sd_event_loop(e);
                if (r < 0) {
                        fprintf(stderr, _("mxdeck log: following the log failed: %s\n"), strerror(-r));
                        ret = EXIT_FAILED;
                } else
                        ret = r;
                sd_event_unref(e);
                log_follow_free(l);
        }
out:
        if (t.ring) {
                for (size_t i = 0; i < t.ring_size; i++)
                        free(t.ring[i]);
                free(t.ring);
                free(t.ring_ev);
        }
        if (t.has_re)
                regfree(&t.re);
        log_source_info_done(&info);
        return ret;
}

/* ---- trace ---- */

/* A small set of strings (queue ids, Message-IDs), linear: a trace touches a handful. */
#define TRACE_MAX 256

typedef struct StrSet {
        char *v[TRACE_MAX];
        size_t n;
} StrSet;

static bool set_has(const StrSet *s, LogStr x) {
        for (size_t i = 0; i < s->n; i++)
                if (strlen(s->v[i]) == x.n && memcmp(s->v[i], x.p, x.n) == 0)
                        return true;
        return false;
}

static bool set_add(StrSet *s, LogStr x) {
        if (x.n == 0 || set_has(s, x) || s->n >= TRACE_MAX)
                return false;
        s->v[s->n] = strndup(x.p, x.n);
        if (!s->v[s->n])
                return false;
        s->n++;
        return true;
}

static void set_done(StrSet *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        s->n = 0;
}

typedef struct Session {
        uint32_t pid;
        char **lines;      /* the session so far (bounded) */
        json_t *events;    /* the same with --format json */
        size_t n;
        bool wanted;       /* a traced message came in on it */
} Session;

#define SESSIONS_MAX 64
#define SESSION_LINES_MAX 64

typedef struct TraceRun {
        StrSet qids, msgids;
        bool grew;
        bool printing;
        bool color;
        json_t *events;    /* --format json: what is printed, collected */
        size_t printed;
        Session sessions[SESSIONS_MAX];
        size_t next_session;
} TraceRun;

static int trace_collect(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        TraceRun *t = userdata;
        bool mine = ev->queue_id.n && set_has(&t->qids, ev->queue_id);
        if (mine) {
                t->grew |= set_add(&t->msgids, ev->message_id);
                t->grew |= set_add(&t->qids, ev->new_queue_id);
        }
        if (ev->message_id.n && set_has(&t->msgids, ev->message_id) && ev->queue_id.n)
                t->grew |= set_add(&t->qids, ev->queue_id);
        /* reverse: the message that was "queued as" one of ours, or whose bounce is ours */
        if (ev->new_queue_id.n && set_has(&t->qids, ev->new_queue_id) && ev->queue_id.n)
                t->grew |= set_add(&t->qids, ev->queue_id);
        return 0;
}

static void session_clear(Session *s) {
        for (size_t i = 0; s->lines && i < s->n; i++)
                free(s->lines[i]);
        free(s->lines);
        json_decref(s->events);
        *s = (Session) {};
}

static Session *session_of(TraceRun *t, uint32_t pid, bool create) {
        for (size_t i = 0; i < SESSIONS_MAX; i++)
                if (t->sessions[i].pid == pid && (t->sessions[i].lines || t->sessions[i].events))
                        return &t->sessions[i];
        if (!create)
                return NULL;
        Session *s = &t->sessions[t->next_session];
        t->next_session = (t->next_session + 1) % SESSIONS_MAX;
        session_clear(s);
        s->pid = pid;
        if (t->events)
                s->events = json_array();
        else
                s->lines = calloc(SESSION_LINES_MAX, sizeof(char *));
        return s->lines || s->events ? s : NULL;
}

static int trace_print(TraceRun *t, const LogEvent *ev, const char *raw, size_t raw_len, bool session) {
        t->printed++;
        if (!t->events) {
                print_event(stdout, ev, raw, raw_len, t->color, true);
                return 0;
        }
        json_t *o = event_json(ev, raw, raw_len);
        if (!o)
                return -ENOMEM;
        json_object_set_new(o, "part", json_string(session ? "session" : "message"));
        return json_array_append_new(t->events, o) < 0 ? -ENOMEM : 0;
}

static int trace_show(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        TraceRun *t = userdata;
        bool smtpd = ev->family == LOG_FAMILY_POSTFIX && LOGSTR_IS(ev->service, "smtpd") && ev->pid;

        if (smtpd) {
                if (ev->kind == LOG_KIND_CONNECT) {
                        Session *s = session_of(t, ev->pid, false);
                        if (s)
                                session_clear(s);
                        s = session_of(t, ev->pid, true);
                        if (!s)
                                return -ENOMEM;
                }
                Session *s = session_of(t, ev->pid, false);
                if (s) {
                        bool ours = ev->queue_id.n && set_has(&t->qids, ev->queue_id);
                        if (ours && !s->wanted) {
                                /* the session's earlier lines, then this one */
                                if (s->events) {
                                        size_t i;
                                        json_t *o;
                                        json_array_foreach(s->events, i, o)
                                                if (json_array_append(t->events, o) < 0)
                                                        return -ENOMEM;
                                        json_array_clear(s->events);
                                } else {
                                        printf("%s\n", _("-- the smtpd session it came in on --"));
                                        for (size_t i = 0; i < s->n; i++)
                                                printf("%-14s %s\n", "session", s->lines[i]);
                                }
                                s->wanted = true;
                        }
                        if (s->wanted) {
                                int r = trace_print(t, ev, raw, raw_len, !ours);
                                if (ev->kind == LOG_KIND_DISCONNECT)
                                        s->wanted = false, s->n = 0;
                                return r;
                        }
                        if (s->n < SESSION_LINES_MAX) {
                                if (s->events) {
                                        json_t *o = event_json(ev, raw, raw_len);
                                        if (!o)
                                                return -ENOMEM;
                                        json_object_set_new(o, "part", json_string("session"));
                                        if (json_array_append_new(s->events, o) < 0)
                                                return -ENOMEM;
                                        s->n++;
                                } else {
                                        s->lines[s->n] = display_line(ev, raw, raw_len);
                                        if (s->lines[s->n])
                                                s->n++;
                                }
                        }
                        return 0;
                }
        }
        bool mine = (ev->queue_id.n && set_has(&t->qids, ev->queue_id)) ||
                    ((ev->kind == LOG_KIND_LMTP_SAVED || ev->kind == LOG_KIND_SIEVE) && set_has(&t->msgids, ev->message_id));
        if (mine)
                return trace_print(t, ev, raw, raw_len, false);
        return 0;
}

/* mxdeck.logtrace/1: see the man page. */
static int trace_json(TraceRun *t, const char *id, const LogSourceInfo *info) {
        json_t *root = json_object(), *q = json_array(), *m = json_array();
        if (!root || !q || !m) {
                json_decref(root), json_decref(q), json_decref(m);
                return -ENOMEM;
        }
        json_object_set_new(root, "schema", json_string("mxdeck.logtrace/1"));
        json_object_set_new(root, "id", json_safe_string(id));
        json_object_set_new(root, "source", json_safe_string(strempty(info->description)));
        for (size_t i = 0; i < t->qids.n; i++)
                json_array_append_new(q, json_safe_string(t->qids.v[i]));
        for (size_t i = 0; i < t->msgids.n; i++)
                json_array_append_new(m, json_safe_string(t->msgids.v[i]));
        json_object_set_new(root, "queue_ids", q);
        json_object_set_new(root, "message_ids", m);
        json_object_set(root, "events", t->events);
        json_object_set_new(root, "truncated", json_boolean(info->truncated));
        int r = json_print(root);
        json_decref(root);
        return r;
}

static int log_trace_verb(LogArgs *a) {
        TraceRun t = { .color = use_color(a->color) };
        bool json = streq(a->format, "json");
        LogSourceInfo info = {};
        int r, ret = EXIT_OK;
        const char *id = a->id;
        size_t il = strlen(id);

        /* "<x@y>" or "x@y" is a Message-ID, else a queue id */
        if (id[0] == '<' && il > 2 && id[il - 1] == '>')
                set_add(&t.msgids, (LogStr) { id + 1, il - 2 });
        else if (strchr(id, '@'))
                set_add(&t.msgids, (LogStr) { id, il });
        else if (log_is_queue_id(id, il))
                set_add(&t.qids, (LogStr) { id, il });
        else {
                _cleanup_free_ char *q = termsafe_strdup(id, 0);
                usage_error("log", _("'%s' is neither a queue id nor a Message-ID"), strempty(q));
                return EXIT_USAGE;
        }
        /* Collect the related ids until nothing new turns up (each pass reads the log). */
        for (int pass = 0; pass < 6; pass++) {
                t.grew = false;
                r = log_source_read(&a->src, trace_collect, &t, &info);
                if (r < 0) {
                        source_error(r, &info);
                        ret = EXIT_FAILED;
                        goto out;
                }
                log_source_info_done(&info);
                if (!t.grew)
                        break;
        }
        if (json && !(t.events = json_array())) {
                ret = EXIT_FAILED;
                goto out;
        }
        r = log_source_read(&a->src, trace_show, &t, &info);
        if (r < 0) {
                source_error(r, &info);
                ret = EXIT_FAILED;
                goto out;
        }
        if (json && trace_json(&t, id, &info) < 0)
                ret = EXIT_FAILED;
        if (t.printed == 0) {
                _cleanup_free_ char *q = termsafe_strdup(id, 0);
                fprintf(stderr, _("mxdeck log: no line about %s\n"), strempty(q));
                ret = EXIT_FAILED;
        }
out:
        for (size_t i = 0; i < SESSIONS_MAX; i++)
                session_clear(&t.sessions[i]);
        json_decref(t.events);
        set_done(&t.qids);
        set_done(&t.msgids);
        log_source_info_done(&info);
        return ret;
}

/* ---- user ---- */

typedef struct UserRun {
        const char *name;      /* as given */
        bool is_address;
        LogMap sent_qids;      /* queue ids of mail it sent */
        LogMap login_ips;      /* v[0] logins, v[1] failures */
        uint64_t sent, received, logins, login_failures, sasl_failures, rejected, deferred, bounced;
        bool color;
        json_t *events;        /* --format json */
        int error;
        size_t shown;
} UserRun;

#define USER_SHOWN_MAX 200

/* NAME matches an address when equal (case-insensitive) or, for a bare NAME, equal to its
 * local part; a login matches when equal either way. */
static bool user_match(const UserRun *u, LogStr s) {
        size_t nl = strlen(u->name);
        if (s.n == nl && strncasecmp(s.p, u->name, nl) == 0)
                return true;
        if (!u->is_address && s.n > nl && s.p[nl] == '@' && strncasecmp(s.p, u->name, nl) == 0)
                return true;
        return false;
}

static void user_show(UserRun *u, const LogEvent *ev, const char *raw, size_t raw_len) {
        if (u->shown < USER_SHOWN_MAX) {
                if (!u->events)
                        print_event(stdout, ev, raw, raw_len, u->color, true);
                else {
                        json_t *o = event_json(ev, raw, raw_len);
                        if (!o || json_array_append_new(u->events, o) < 0)
                                u->error = -ENOMEM;
                }
        }
        u->shown++;
}

static int user_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        UserRun *u = userdata;
        switch (ev->kind) {
        case LOG_KIND_CLIENT:
                if (ev->sasl_user.n && user_match(u, ev->sasl_user)) {
                        LogMapEntry *e = log_map_get(&u->sent_qids, ev->queue_id.p, ev->queue_id.n, false, NULL);
                        if (!e)
                                return -ENOMEM;
                        user_show(u, ev, raw, raw_len);
                }
                break;
        case LOG_KIND_QUEUED:
        case LOG_KIND_PICKUP:
                if (ev->from.n && user_match(u, ev->from)) {
                        bool isnew;
                        LogMapEntry *e = log_map_get(&u->sent_qids, ev->token.p, ev->token.n, false, &isnew);
                        if (!e)
                                return -ENOMEM;
                        if (e->v[0]++ == 0)
                                u->sent++;
                        user_show(u, ev, raw, raw_len);
                }
                break;
        case LOG_KIND_DELIVERY: {
                bool to_me = user_match(u, ev->to) || (ev->orig_to.n && user_match(u, ev->orig_to));
                LogMapEntry *e = ev->token.n ? log_map_find(&u->sent_qids, ev->token.p, ev->token.n, false) : NULL;
                bool from_me = e && e->v[0] > 0;
                if (!to_me && !from_me)
                        break;
                /* a hop to a content filter ("queued as") is not the mailbox receiving it */
                if (to_me && ev->status == LOG_STATUS_SENT && !ev->forwarded && !ev->new_queue_id.n)
                        u->received++;
                if (ev->status == LOG_STATUS_DEFERRED)
                        u->deferred++;
                if (ev->status == LOG_STATUS_BOUNCED)
                        u->bounced++;
                user_show(u, ev, raw, raw_len);
                break;
        }
        case LOG_KIND_REJECT:
                if ((ev->to.n && user_match(u, ev->to)) || (ev->from.n && user_match(u, ev->from))) {
                        u->rejected++;
                        user_show(u, ev, raw, raw_len);
                }
                break;
        case LOG_KIND_LOGIN:
        case LOG_KIND_LOGIN_FAILED:
                if (ev->user.n && user_match(u, ev->user)) {
                        LogMapEntry *e = log_map_get(&u->login_ips, ev->client_ip.p ? ev->client_ip.p : "",
                                                     ev->client_ip.n, false, NULL);
                        if (!e)
                                return -ENOMEM;
                        e->v[ev->kind == LOG_KIND_LOGIN ? 0 : 1]++;
                        if (ev->kind == LOG_KIND_LOGIN)
                                u->logins++;
                        else
                                u->login_failures++;
                        user_show(u, ev, raw, raw_len);
                }
                break;
        case LOG_KIND_SASL_FAILURE:
                if (ev->sasl_user.n && user_match(u, ev->sasl_user)) {
                        u->sasl_failures++;
                        user_show(u, ev, raw, raw_len);
                }
                break;
        default:
                break;
        }
        return u->error;
}

/* mxdeck.loguser/1: see the man page. */
static int user_json(UserRun *u, const LogSourceInfo *info) {
        json_t *root = json_object(), *totals = json_object(), *from = json_array();
        if (!root || !totals || !from) {
                json_decref(root), json_decref(totals), json_decref(from);
                return -ENOMEM;
        }
        json_object_set_new(root, "schema", json_string("mxdeck.loguser/1"));
        json_object_set_new(root, "user", json_safe_string(u->name));
        json_object_set_new(root, "source", json_safe_string(strempty(info->description)));
        const struct {
                const char *key;
                uint64_t v;
        } t[] = {
                { "sent", u->sent },         { "received", u->received }, { "deferred", u->deferred },
                { "bounced", u->bounced },   { "rejected", u->rejected }, { "logins", u->logins },
                { "login_failures", u->login_failures }, { "sasl_failures", u->sasl_failures },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                json_object_set_new(totals, t[i].key, json_integer((json_int_t) t[i].v));
        json_object_set_new(root, "totals", totals);
        /* every address it logged in from, or failed to: most logins, then most failures */
        size_t n = u->login_ips.n;
        _cleanup_free_ LogMapEntry **rows = calloc(MAX(n, (size_t) 1), sizeof(LogMapEntry *));
        if (!rows) {
                json_decref(root), json_decref(from);
                return -ENOMEM;
        }
        size_t k = log_map_top(&u->login_ips, 0, rows, n);
        for (size_t i = 0; i < u->login_ips.n; i++)
                if (u->login_ips.entries[i].v[0] == 0)
                        rows[k++] = &u->login_ips.entries[i];
        for (size_t i = 0; i < k; i++) {
                json_t *o = json_object();
                json_object_set_new(o, "address", json_safe_string(log_map_key(&u->login_ips, rows[i])));
                json_object_set_new(o, "logins", json_integer((json_int_t) rows[i]->v[0]));
                json_object_set_new(o, "failures", json_integer((json_int_t) rows[i]->v[1]));
                json_array_append_new(from, o);
        }
        json_object_set_new(root, "logins_from", from);
        json_object_set(root, "events", u->events);
        json_object_set_new(root, "events_omitted",
                            json_integer((json_int_t) (u->shown > USER_SHOWN_MAX ? u->shown - USER_SHOWN_MAX : 0)));
        json_object_set_new(root, "truncated", json_boolean(info->truncated));
        int r = json_print(root);
        json_decref(root);
        return r;
}

static int log_user_verb(LogArgs *a) {
        UserRun u = { .name = a->id, .is_address = strchr(a->id, '@') != NULL, .color = use_color(a->color) };
        LogSourceInfo info = {};
        _cleanup_free_ char *q = termsafe_strdup(a->id, 0);
        int ret = EXIT_OK;

        if (streq(a->format, "json") && !(u.events = json_array()))
                return EXIT_FAILED;
        int r = log_source_read(&a->src, user_record, &u, &info);
        if (r < 0) {
                source_error(r, &info);
                ret = EXIT_FAILED;
                goto out;
        }
        if (u.events) {
                if (user_json(&u, &info) < 0)
                        ret = EXIT_FAILED;
                goto out;
        }
        if (u.shown > USER_SHOWN_MAX)
                printf(_("(%zu more lines not shown)\n"), u.shown - USER_SHOWN_MAX);
        printf("\n");
        printf(_("Mailbox %s\n"), strempty(q));
        printf(_(" %10" PRIu64 "  messages sent\n"), u.sent);
        printf(_(" %10" PRIu64 "  messages received (delivered to it)\n"), u.received);
        printf(_(" %10" PRIu64 "  deferrals, %" PRIu64 " bounces (to or from it)\n"), u.deferred, u.bounced);
        printf(_(" %10" PRIu64 "  rejected at the door (to or from it)\n"), u.rejected);
        printf(_(" %10" PRIu64 "  logins, %" PRIu64 " failed (IMAP/POP3)\n"), u.logins, u.login_failures);
        printf(_(" %10" PRIu64 "  SASL authentication failures (SMTP)\n"), u.sasl_failures);
        LogMapEntry *rows[20];
        size_t n = log_map_top(&u.login_ips, 0, rows, ELEMENTSOF(rows));
        size_t nf = 0;
        if (n == 0)
                nf = log_map_top(&u.login_ips, 1, rows, ELEMENTSOF(rows));
        if (n + nf > 0) {
                fputs(_("Logins from (logins, failures):\n"), stdout);
                for (size_t i = 0; i < n + nf; i++) {
                        _cleanup_free_ char *ip = termsafe_strdup(log_map_key(&u.login_ips, rows[i]), 0);
                        printf(" %10" PRIu64 " %10" PRIu64 "  %s\n", rows[i]->v[0], rows[i]->v[1], strempty(ip));
                }
        }
out:
        json_decref(u.events);
        log_map_done(&u.sent_qids);
        log_map_done(&u.login_ips);
        log_source_info_done(&info);
        return ret;
}

int verb_log(int argc, char *argv[]) {
        static const struct {
                const char *name;
                bool want_id;
                int (*run)(LogArgs *a);
        } subs[] = {
                { "stats", false, log_stats_verb },
                { "tail", false, log_tail_verb },
                { "trace", true, log_trace_verb },
                { "user", true, log_user_verb },
        };
        if (argc < 2 || streq(argv[1], "-h") || streq(argv[1], "--help")) {
                fputs(_(verb_log_usage), argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : EXIT_OK;
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                if (!streq(argv[1], subs[i].name))
                        continue;
                LogArgs a;
                int r = parse_args(subs[i].name, argc - 1, argv + 1, &a, subs[i].want_id);
                if (r < 0) {
                        log_args_done(&a);
                        return -r - 1;
                }
                r = subs[i].run(&a);
                log_args_done(&a);
                return r;
        }
        _cleanup_free_ char *q = termsafe_strdup(argv[1], 0);
        usage_error("log", _("unknown sub-command '%s' (stats, tail, trace, user)"), strempty(q));
        return EXIT_USAGE;
}
