/* log.sasl-failures, log.warnings, log.deliverability: findings from a bounded window of the
 * mail log (the journal, else the tail of the default log file), within the check's time. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "logcheck.h"
#include "logsource.h"
#include "logstats.h"
#include "macro.h"

/* ---- remedies for known warning lines ---- */

typedef struct Remedy {
        const char *pattern;  /* substring of the warning text */
        const char *remedy;   /* N_(); may contain one %s: the file named in the line (see below) */
} Remedy;

static const Remedy remedies[] = {
        { "/etc/aliases", N_("The aliases database is missing or older than /etc/aliases: run 'newaliases'.") },
        { "queue file size limit exceeded",
          N_("A message was larger than message_size_limit (see 'postconf message_size_limit'); raise it with "
             "'postconf -e message_size_limit=BYTES' if such mail is legitimate.") },
        { "SASL: Connect to", N_("Postfix cannot reach Dovecot's authentication socket: give Dovecot a listener, e.g. "
                                 "'service auth { unix_listener /var/spool/postfix/private/auth { mode = 0660 user = "
                                 "postfix group = postfix } }', then 'systemctl restart dovecot'.") },
        { "dovecot-lmtp", N_("Postfix cannot hand mail to Dovecot over LMTP: check that Dovecot runs with 'protocols = "
                             "... lmtp' and a unix_listener /var/spool/postfix/private/dovecot-lmtp for user postfix.") },
        { "private key", N_("The TLS private key cannot be read or does not match the certificate: check "
                            "smtpd_tls_key_file / smtpd_tls_cert_file ('postconf -n | grep tls'), the key's mode "
                            "(0600, owner root) and that key and certificate belong together.") },
        { "certificate", N_("A TLS certificate cannot be loaded: check the file named in the line exists and is "
                            "PEM, and that smtpd_tls_cert_file names it.") },
        { "loops back to myself",
          N_("Mail for a domain loops: list the domain in mydestination (local) or virtual_mailbox_domains "
             "(virtual), or fix its MX records.") },
        { "Address already in use", N_("Another program listens on the port: find it with 'ss -ltnp' and stop it.") },
        { "No space left on device", N_("The disk is full: free space on the spool and the mail store.") },
        { "both mydestination and virtual_mailbox_domains",
          N_("A domain is in both mydestination and virtual_mailbox_domains: remove it from one (see config.domains).") },
        { "does not resolve to address",
          N_("A client's reverse DNS does not match: nothing to fix here unless the client is yours.") },
};

/* "open database /etc/postfix/x.db: No such file or directory" -> "postmap /etc/postfix/x" */
static int remedy_for(const char *text, char **ret) {
        const char *p = strstr(text, "open database ");
        if (p) {
                p += 14;
                const char *e = strstr(p, ".db:");
                if (e && e > p && (size_t) (e - p) < 4096) {
                        if (e - p >= 12 && memcmp(e - 12, "/etc/aliases", 12) == 0)
                                return asprintf(ret, "%s", _("Run 'newaliases'.")) < 0 ? -ENOMEM : 1;
                        return asprintf(ret, _("The lookup table is missing: run 'postmap %.*s'."), (int) (e - p), p) < 0
                                       ? -ENOMEM
                                       : 1;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(remedies); i++)
                if (strstr(text, remedies[i].pattern)) {
                        *ret = strdup(_(remedies[i].remedy));
                        return *ret ? 1 : -ENOMEM;
                }
        return 0;
}

/* ---- deliverability: the big providers' refusals ---- */

typedef struct Provider {
        const char *name;
        const char *const domains[8]; /* recipient domains / relay host suffixes */
} Provider;

static const Provider providers[] = {
        { "QQ", { "qq.com", "foxmail.com", NULL } },
        { "NetEase (163/126)", { "163.com", "126.com", "yeah.net", "netease.com", "188.com", NULL } },
        { "Gmail", { "gmail.com", "googlemail.com", "google.com", NULL } },
        { "Outlook", { "outlook.com", "hotmail.com", "live.com", "msn.com", "protection.outlook.com", NULL } },
};

typedef enum Refusal {
        REFUSAL_RATE,
        REFUSAL_CONTENT,
        REFUSAL_PTR,
        REFUSAL_AUTH,
        REFUSAL_BLOCKLIST,
        REFUSAL_OTHER,
        _REFUSAL_MAX,
} Refusal;

static const struct {
        const char *label;   /* N_() */
        const char *remedy;  /* N_() */
        const char *const words[10];
} refusals[_REFUSAL_MAX] = {
        [REFUSAL_RATE] = { N_("rate limiting"),
                           N_("Send more slowly to this provider: e.g. a transport with "
                              "'DEST_destination_concurrency_limit = 2' and 'DEST_destination_rate_delay = 1s' for its "
                              "domains (transport_maps), and warm up a new IP address gradually."),
                           { "rate limit", "too many", "frequency", "try again later", "temporarily deferred", "4.7.28",
                             "RP:", "exceeded", "throttl", NULL } },
        [REFUSAL_CONTENT] = { N_("content refused"),
                              N_("The provider judged the content as spam ('Mail content denied' at QQ, 'DT:SPM' at "
                                 "NetEase): send plain, personal messages, no URL shorteners or attachments to new "
                                 "contacts, sign with DKIM, and ask recipients to add you to their contacts."),
                              { "content denied", "DT:SPM", "spam", "junk", "Mail content", NULL } },
        [REFUSAL_PTR] = { N_("missing or mismatched reverse DNS"),
                          N_("Ask the hosting provider to set the PTR record of the server's address to the mail host "
                             "name, which must resolve back to the address (see dns.ptr and dns.fcrdns)."),
                          { "PTR", "reverse DNS", "rDNS", "reverse dns", "5.7.25", "hostname", NULL } },
        [REFUSAL_AUTH] = { N_("SPF/DKIM/DMARC failure"),
                           N_("Publish SPF that authorises this host, sign with DKIM and publish the key and a DMARC "
                              "record (see dns.spf, dns.dkim, dns.dmarc and 'mxdeck dns records')."),
                           { "SPF", "DKIM", "DMARC", "5.7.26", "5.7.27", "unauthenticated", "not authenticated",
                             "authentication", NULL } },
        [REFUSAL_BLOCKLIST] = { N_("address on a blocklist"),
                                N_("The server's address is listed: see the dnsbl.* findings and ask for delisting "
                                   "(Outlook: the sender support form; Spamhaus: its lookup page)."),
                                { "Spamhaus", "blacklist", "blocklist", "block list", "banned", "S3150", "5.7.606",
                                  "listed", NULL } },
        [REFUSAL_OTHER] = { N_("other refusal"), N_("Read the provider's reply in the detail."), { NULL } },
};

static bool ends_with_domain(LogStr s, const char *d) {
        size_t l = strlen(d);
        if (s.n < l || strncasecmp(s.p + s.n - l, d, l) != 0)
                return false;
        return s.n == l || s.p[s.n - l - 1] == '.' || s.p[s.n - l - 1] == '@';
}

static int provider_of(const LogEvent *ev) {
        LogStr dom = ev->to;
        const char *at = dom.n ? memchr(dom.p, '@', dom.n) : NULL;
        if (at)
                dom = (LogStr) { at + 1, (size_t) (dom.p + dom.n - at - 1) };
        /* relay=mx.qq.com[1.2.3.4]:25 -> mx.qq.com */
        LogStr relay = ev->relay;
        const char *b = relay.n ? memchr(relay.p, '[', relay.n) : NULL;
        if (b)
                relay.n = (size_t) (b - relay.p);
        for (size_t i = 0; i < ELEMENTSOF(providers); i++)
                for (const char *const *d = providers[i].domains; *d; d++)
                        if (ends_with_domain(dom, *d) || ends_with_domain(relay, *d))
                                return (int) i;
        return -1;
}

static Refusal refusal_of(LogStr reason) {
        char buf[1024];
        size_t n = MIN(reason.n, sizeof(buf) - 1);
        if (n)
                memcpy(buf, reason.p, n);
        buf[n] = 0;
        for (int r = 0; r < REFUSAL_OTHER; r++)
                for (const char *const *w = refusals[r].words; *w; w++)
                        if (strcasestr(buf, *w))
                                return (Refusal) r;
        return REFUSAL_OTHER;
}

/* ---- the run ---- */

#define EXAMPLE_MAX 300

typedef struct CheckRun {
        LogStats stats;
        unsigned refused[ELEMENTSOF(providers)][_REFUSAL_MAX];
        char *example[ELEMENTSOF(providers)][_REFUSAL_MAX]; /* one reply each */
} CheckRun;

static int check_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata) {
        CheckRun *c = userdata;
        int r = log_stats_add(&c->stats, ev);
        if (r < 0)
                return r;
        if (ev->kind == LOG_KIND_DELIVERY &&
            (ev->status == LOG_STATUS_DEFERRED || ev->status == LOG_STATUS_BOUNCED) && ev->reason.n) {
                int p = provider_of(ev);
                if (p >= 0) {
                        Refusal k = refusal_of(ev->reason);
                        c->refused[p][k]++;
                        if (!c->example[p][k])
                                c->example[p][k] = strndup(ev->reason.p, MIN(ev->reason.n, (size_t) EXAMPLE_MAX));
                }
        }
        return 0;
}

static int64_t real_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add_unknown(FindingList *out, const char *target, const char *why) {
        static const char *const ids[] = { "log.sasl-failures", "log.warnings", "log.deliverability" };
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                if (!findings_addf(out, ids[i], target, STATUS_UNKNOWN, "%s", why))
                        return -ENOMEM;
        return 0;
}

static int finding_sasl(const CheckContext *ctx, const CheckRun *c, const char *target, const char *window,
                        FindingList *out) {
        const LogStats *s = &c->stats;
        const Settings *st = ctx->settings;
        uint64_t n = s->sasl_failure_count + s->login_failure_count;
        unsigned warn = st ? st->log_sasl_failures_warning : 20, crit = st ? st->log_sasl_failures_critical : 200;
        Status status = n >= crit ? STATUS_CRITICAL : n >= warn ? STATUS_WARNING : STATUS_OK;
        Finding *f = findings_addf(out, "log.sasl-failures", target, status,
                                   _("%" PRIu64 " authentication failures %s (SMTP %" PRIu64 ", IMAP/POP3 %" PRIu64 ")"),
                                   n, window, s->sasl_failure_count, s->login_failure_count);
        if (!f)
                return -ENOMEM;
        LogMapEntry *rows[5];
        const LogMap *maps[] = { &s->sasl_failures, &s->login_failures };
        const char *what[] = { N_("SMTP AUTH failures from"), N_("IMAP/POP3 login failures from") };
        for (size_t m = 0; m < 2; m++) {
                size_t k = log_map_top(maps[m], 0, rows, ELEMENTSOF(rows));
                for (size_t i = 0; i < k; i++)
                        if (finding_append_detail(f, "%s %s: %" PRIu64, _(what[m]), log_map_key(maps[m], rows[i]),
                                                  rows[i]->v[0]) < 0)
                                return -ENOMEM;
        }
        if (status != STATUS_OK &&
            finding_set_remedy(f, "%s", _("Many failures from few addresses are password guessing: block them "
                                          "automatically with fail2ban (jails postfix-sasl and dovecot), and make "
                                          "sure every mailbox has a strong password. 'mxdeck log tail --kind "
                                          "sasl-failure,login-failed' shows them as they happen.")) < 0)
                return -ENOMEM;
        Metric *mt = finding_add_metric(f, "failures", (double) n, "");
        if (!mt)
                return -ENOMEM;
        metric_set_thresholds(mt, true, warn, true, crit);
        return 0;
}

static int finding_warnings(const CheckRun *c, const char *target, const char *window, FindingList *out) {
        const LogStats *s = &c->stats;
        /* SASL failures are warnings in Postfix's log but belong to log.sasl-failures. */
        uint64_t warnings = s->warning_count - MIN(s->warning_count, s->sasl_failure_count);
        Status status = s->fatal_count || s->panic_count ? STATUS_CRITICAL : warnings ? STATUS_WARNING : STATUS_OK;
        Finding *f;
        if (status == STATUS_OK)
                f = findings_addf(out, "log.warnings", target, status, _("no warning, fatal or panic line %s"), window);
        else
                f = findings_addf(out, "log.warnings", target, status,
                                  _("%" PRIu64 " warnings, %" PRIu64 " fatal errors, %" PRIu64 " panics %s"), warnings,
                                  s->fatal_count, s->panic_count, window);
        if (!f)
                return -ENOMEM;
        LogMapEntry *rows[10];
        size_t k = log_map_top(&s->warnings, 0, rows, ELEMENTSOF(rows));
        for (size_t i = 0; i < k; i++) {
                const char *text = log_map_key(&s->warnings, rows[i]);
                const char *level = rows[i]->v[1] == 2 ? "panic" : rows[i]->v[1] == 1 ? "fatal" : "warning";
                if (finding_append_detail(f, "%" PRIu64 "x %s: %s", rows[i]->v[0], level, text) < 0)
                        return -ENOMEM;
                _cleanup_free_ char *rem = NULL;
                int r = remedy_for(text, &rem);
                if (r < 0)
                        return r;
                if (r > 0 && (!f->remedy || !strstr(f->remedy, rem)) && finding_append_remedy(f, "%s", rem) < 0)
                        return -ENOMEM;
        }
        if (status != STATUS_OK && !f->remedy &&
            finding_set_remedy(f, "%s", _("Read the lines around them: 'mxdeck log tail --kind warning,fatal,panic'.")) < 0)
                return -ENOMEM;
        return 0;
}

static int finding_deliverability(const CheckRun *c, const char *target, const char *window, FindingList *out) {
        unsigned total = 0;
        for (size_t p = 0; p < ELEMENTSOF(providers); p++)
                for (int k = 0; k < _REFUSAL_MAX; k++)
                        total += c->refused[p][k];
        Finding *f;
        if (total == 0) {
                f = findings_addf(out, "log.deliverability", target, STATUS_OK,
                                  _("no deferral or bounce from QQ, NetEase, Gmail or Outlook %s"), window);
                return f ? 0 : -ENOMEM;
        }
        f = findings_addf(out, "log.deliverability", target, STATUS_WARNING,
                          _("%u deferrals or bounces from the big providers %s"), total, window);
        if (!f)
                return -ENOMEM;
        for (size_t p = 0; p < ELEMENTSOF(providers); p++)
                for (int k = 0; k < _REFUSAL_MAX; k++) {
                        if (!c->refused[p][k])
                                continue;
                        if (finding_append_detail(f, "%s: %u x %s: %s", providers[p].name, c->refused[p][k],
                                                  _(refusals[k].label), strempty(c->example[p][k])) < 0)
                                return -ENOMEM;
                        if ((!f->remedy || !strstr(f->remedy, _(refusals[k].remedy))) &&
                            finding_append_remedy(f, "%s", _(refusals[k].remedy)) < 0)
                                return -ENOMEM;
                }
        return 0;
}

int check_log(const CheckContext *ctx, FindingList *out) {
        const Settings *st = ctx->settings;
        unsigned minutes = st ? st->log_window_minutes : 60;
        unsigned timeout = st ? st->timeout_seconds : 10;
        CheckRun c = {};
        LogSourceInfo info = {};
        int r;

        if (!check_group_selected(ctx, "log"))
                return 0;
        /* The run's deadline; a little is left for the findings (and a run without one,
         * e.g. a test, gets the check timeout). */
        Deadline d = deadline_is_set(ctx->deadline) ? ctx->deadline : deadline_in_ms((uint64_t) timeout * 1000);
        if (deadline_left_ms(d) > 200)
                d.usec -= 100 * USEC_PER_MSEC;
        LogSourceOptions o = {
                .since_usec = real_usec() - (int64_t) minutes * 60 * 1000000,
                .deadline = d,
                .tail_bytes = (uint64_t) (st ? st->log_file_tail_mib : 16) << 20,
                .no_rotated = true,
        };
        r = log_stats_init(&c.stats);
        if (r < 0)
                goto out;
        r = log_source_read(&o, check_record, &c, &info);
        const char *target = info.description ? info.description : "journal";
        if (r == -ENOENT && info.n_files == 0) {
                r = add_unknown(out, target, _("no mail log to read: no journal, /var/log/maillog or /var/log/mail.log"));
                goto out;
        }
        if (r < 0 && r != -ETIME) {
                char why[256];
                snprintf(why, sizeof(why), _("cannot read the mail log: %s"), strerror(-r));
                r = add_unknown(out, target, why);
                goto out;
        }
        char window[96];
        if (r == -ETIME)
                snprintf(window, sizeof(window), _("in the part of the last %u minutes read in time"), minutes);
        else
                snprintf(window, sizeof(window), _("in the last %u minutes"), minutes);
        r = finding_sasl(ctx, &c, target, window, out);
        if (r >= 0)
                r = finding_warnings(&c, target, window, out);
        if (r >= 0)
                r = finding_deliverability(&c, target, window, out);
        if (r >= 0 && c.stats.suppressed_notices) {
                /* totals over a gap are not silently wrong */
                for (size_t i = out->n >= 3 ? out->n - 3 : 0; i < out->n; i++)
                        if (finding_append_detail(&out->items[i],
                                                  _("journald dropped %" PRIu64 " messages in this window (rate "
                                                    "limiting): the counts may be low."),
                                                  c.stats.suppressed) < 0)
                                r = -ENOMEM;
        }
out:
        for (size_t p = 0; p < ELEMENTSOF(providers); p++)
                for (int k = 0; k < _REFUSAL_MAX; k++)
                        free(c.example[p][k]);
        log_stats_done(&c.stats);
        log_source_info_done(&info);
        return r < 0 ? r : 0;
}
