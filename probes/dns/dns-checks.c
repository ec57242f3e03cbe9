/* dns.* and dnsbl.*: what the world sees of this mail server in DNS, judged by content.
 * Each lookup chain runs in its own fiber against one DnsClient (one deadline, shared
 * cache), so the suite takes about as long as its slowest chain. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "postconf.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns-checks.h"
#include "dns-records.h"
#include "dns.h"
#include "deadline.h"
#include "fiber.h"
#include "http.h"
#include "macro.h"
#include "offload.h"
#include "mailproto.h"
#include "mtasts.h"
#include "tlsprobe.h"
#include "spf.h"

#define MAX_MX 16
#define MAX_HOST_ADDRS 8
#define MAX_TASKS 64

typedef struct DnsRun {
        const CheckContext *ctx;
        DnsClient *client;
        char *domain;   /* ASCII, lower case */
        char *host;     /* ASCII, lower case; NULL when unknown */
        const char *domain_shown, *host_shown; /* as the user wrote them (Unicode) */
        Deadline deadline; /* the run's: every chain ends by then */
} DnsRun;

typedef struct Task Task;
struct Task {
        int (*fn)(DnsRun *run, Task *t);
        const char *zone;
        FindingList out;
        int error;
        unsigned elapsed_ms;
        DnsRun *run;
};

/* --- a verdict built from several observations --- */

typedef struct Judge {
        Status status;
        bool set;
        char *summary;
        char *remedy;
        char *detail;    /* evidence */
        char *problems;  /* every non-ok observation, one per line */
        bool oom;
} Judge;

static void judge_done(Judge *j) {
        free(j->summary);
        free(j->remedy);
        free(j->detail);
        free(j->problems);
}

static void append_line(Judge *j, char **s, const char *text) {
        char *n = NULL;
        if (asprintf(&n, "%s%s%s", *s ? *s : "", *s ? "\n" : "", text) < 0) {
                j->oom = true;
                return;
        }
        free(*s);
        *s = n;
}

static void judge_detail(Judge *j, const char *fmt, ...) _printf_(2, 3);
static void judge_detail(Judge *j, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                line = NULL;
        va_end(ap);
        if (!line) {
                j->oom = true;
                return;
        }
        append_line(j, &j->detail, line);
}

/* An observation: the worst one gives the summary and remedy; all non-ok ones go to
 * the detail too. */
static void judge(Judge *j, Status s, const char *remedy, const char *fmt, ...) _printf_(4, 5);
static void judge(Judge *j, Status s, const char *remedy, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                line = NULL;
        va_end(ap);
        if (!line) {
                j->oom = true;
                return;
        }
        if (!j->set || (status_worst(j->status, s) == s && s != j->status)) {
                free(j->summary);
                free(j->remedy);
                j->summary = strdup(line);
                j->remedy = remedy ? strdup(remedy) : NULL;
                j->status = s;
                j->set = true;
        } else if (remedy && s == j->status && s != STATUS_OK && !(j->remedy && strstr(j->remedy, remedy)))
                append_line(j, &j->remedy, remedy);
        if (s != STATUS_OK)
                append_line(j, &j->problems, line);
}

static Finding *judge_emit(Judge *j, FindingList *out, const char *id, const char *target) {
        if (j->oom || !j->set)
                return NULL;
        Finding *f = findings_addf(out, id, target, j->status, "%s", j->summary);
        if (!f)
                return NULL;
        /* the other problems join the evidence; the summary is not repeated */
        bool skipped = false;
        for (const char *p = j->problems; p && *p;) {
                size_t n = strcspn(p, "\n");
                if (!skipped && n == strlen(j->summary) && strncmp(p, j->summary, n) == 0)
                        skipped = true;
                else {
                        _cleanup_free_ char *line = strndup(p, n);
                        if (!line)
                                return NULL;
                        append_line(j, &j->detail, line);
                }
                p += n;
                if (*p)
                        p++;
        }
        if (j->oom)
                return NULL;
        if (j->detail && finding_set_detail(f, "%s", j->detail) < 0)
                return NULL;
        if (j->remedy && finding_set_remedy(f, "%s", j->remedy) < 0)
                return NULL;
        return f;
}

/* --- helpers --- */

static const char *resolver_hint(void) {
        return _("Check that the resolver answers (dig @RESOLVER example.com), or name a working one with "
                 "--resolver ADDR[:PORT] or [dns] resolver in /etc/mxdeck/mxdeck.conf.");
}

/* A lookup that gave no usable answer: unknown, with why. */
static Finding *add_lookup_failure(DnsRun *run, FindingList *out, const char *id, const char *target,
                                   const char *what, const DnsAnswer *a) {
        Finding *f;
        if (a->status == DNS_STATUS_TIMEOUT)
                f = findings_addf(out, id, target, STATUS_UNKNOWN,
                                  _("%s: no answer from the resolver (%s) in time"), what,
                                  dns_client_servers(run->client));
        else
                f = findings_addf(out, id, target, STATUS_UNKNOWN, _("%s failed: %s%s%s"), what,
                                  dns_status_to_string(a->status), a->error ? ": " : "", strempty(a->error));
        if (f && finding_set_remedy(f, "%s", resolver_hint()) < 0)
                return NULL;
        return f;
}

static bool answer_failed(const DnsAnswer *a) {
        return a->status != DNS_STATUS_OK && !dns_status_is_void(a->status);
}

static const char *addr_text(const SpfAddr *a, char buf[static INET6_ADDRSTRLEN]) {
        inet_ntop(a->family, a->a, buf, INET6_ADDRSTRLEN);
        return buf;
}

/* The host's addresses from DNS (A then AAAA). Returns the count; *ret_failed when a
 * lookup gave no answer. */
static int host_addrs(DnsRun *run, const char *name, SpfAddr *ret, size_t max, bool *ret_failed,
                      DnsAnswer *ret_a4, DnsAnswer *ret_a6) {
        size_t n = 0;
        bool failed = false;
        DnsAnswer a[2] = {};
        int r;
        for (int k = 0; k < 2; k++) {
                r = dns_query(run->client, name, k == 0 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, &a[k]);
                if (r < 0) {
                        dns_answer_done(&a[0]);
                        return r;
                }
                failed = failed || answer_failed(&a[k]);
                for (size_t i = 0; i < a[k].n_records && n < max; i++)
                        ret[n++] = a[k].records[i].addr;
        }
        if (ret_failed)
                *ret_failed = failed;
        if (ret_a4)
                *ret_a4 = a[0];
        else
                dns_answer_done(&a[0]);
        if (ret_a6)
                *ret_a6 = a[1];
        else
                dns_answer_done(&a[1]);
        return (int) n;
}

/* TXT records of name that satisfy pred; returns the number found (first in *ret_text). */
static int txt_matching(const DnsAnswer *a, bool (*pred)(const char *, size_t), const char **ret_text) {
        int n = 0;
        *ret_text = NULL;
        for (size_t i = 0; i < a->n_records; i++)
                if (pred(a->records[i].text, strlen(a->records[i].text))) {
                        if (!*ret_text)
                                *ret_text = a->records[i].text;
                        n++;
                }
        return n;
}

/* --- dns.mx --- */

static int task_mx(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer mx = {};
        _cleanup_(judge_done) Judge j = {};
        SpfAddr mine[MAX_HOST_ADDRS];
        int n_mine = 0, r;
        bool to_host = false;

        r = dns_query(run->client, run->domain, LDNS_RR_TYPE_MX, &mx);
        if (r < 0)
                return r;
        if (answer_failed(&mx))
                return add_lookup_failure(run, &t->out, "dns.mx", run->domain_shown, _("MX lookup"), &mx) ? 0 : -ENOMEM;

        _cleanup_free_ char *remedy = NULL;
        int rr = run->host ? asprintf(&remedy, _("Publish: %s. 3600 IN MX 10 %s."), run->domain, run->host)
                          : asprintf(&remedy, _("Publish: %s. 3600 IN MX 10 mail.%s. (your mail host's name)"),
                                     run->domain, run->domain);
        if (rr < 0)
                return -ENOMEM;
        if (mx.status == DNS_STATUS_NXDOMAIN) {
                judge(&j, STATUS_CRITICAL, remedy, _("the domain %s does not exist in DNS"), run->domain_shown);
                return judge_emit(&j, &t->out, "dns.mx", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (mx.n_records == 0) {
                judge(&j, STATUS_CRITICAL, remedy, _("%s has no MX record"), run->domain_shown);
                return judge_emit(&j, &t->out, "dns.mx", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (run->host)
                n_mine = host_addrs(run, run->host, mine, ELEMENTSOF(mine), NULL, NULL, NULL);
        for (size_t i = 0; i < mx.n_records && i < MAX_MX; i++) {
                const DnsRecord *m = &mx.records[i];
                judge_detail(&j, "MX %u %s", m->preference, m->text);
                if (streq(m->text, ".")) {
                        judge(&j, STATUS_CRITICAL, remedy,
                              _("%s publishes a null MX (RFC 7505): it accepts no mail"), run->domain_shown);
                        continue;
                }
                SpfAddr addrs[MAX_HOST_ADDRS];
                _cleanup_(dns_answer_done) DnsAnswer a4 = {}, a6 = {};
                bool failed;
                int n = host_addrs(run, m->text, addrs, ELEMENTSOF(addrs), &failed, &a4, &a6);
                if (n < 0)
                        return n;
                if (a4.cname || a6.cname) {
                        _cleanup_free_ char *rem = NULL;
                        if (asprintf(&rem, _("Point the MX at the canonical name: %s. 3600 IN MX %u %s."),
                                     run->domain, m->preference, a4.cname ? a4.cname : a6.cname) < 0)
                                return -ENOMEM;
                        judge(&j, STATUS_CRITICAL, rem,
                              _("MX target %s is an alias (CNAME to %s); RFC 2181 10.3 forbids it and some senders "
                                "refuse it"), m->text, a4.cname ? a4.cname : a6.cname);
                }
                if (n == 0) {
                        if (failed)
                                judge(&j, STATUS_UNKNOWN, resolver_hint(), _("the addresses of MX target %s could not be "
                                                                             "looked up"), m->text);
                        else
                                judge(&j, STATUS_CRITICAL, _("Give the MX target A (and AAAA) records."),
                                      _("MX target %s has no A or AAAA record"), m->text);
                        continue;
                }
                for (int k = 0; k < n; k++) {
                        char buf[INET6_ADDRSTRLEN];
                        judge_detail(&j, "  %s -> %s", m->text, addr_text(&addrs[k], buf));
                        for (int q = 0; q < n_mine; q++)
                                if (addrs[k].family == mine[q].family && memcmp(addrs[k].a, mine[q].a, 16) == 0)
                                        to_host = true;
                }
                if (run->host && strcasecmp(m->text, run->host) == 0)
                        to_host = true;
        }
        if (mx.n_records > MAX_MX)
                judge_detail(&j, _("(%zu more MX records not checked)"), mx.n_records - MAX_MX);
        if (run->host && !to_host)
                judge(&j, STATUS_WARNING, remedy, _("no MX of %s points at this host %s"), run->domain_shown,
                      run->host_shown);
        judge(&j, STATUS_OK, NULL, _("%s has %zu MX record(s)%s"), run->domain_shown, mx.n_records,
              to_host ? _(", one points at this host") : "");
        return judge_emit(&j, &t->out, "dns.mx", run->domain_shown) ? 0 : -ENOMEM;
}

/* --- dns.host-a, dns.ptr, dns.fcrdns --- */

static int check_ptr(DnsRun *run, Task *t, const SpfAddr *addr) {
        _cleanup_free_ char *rev = NULL, *remedy = NULL;
        _cleanup_(dns_answer_done) DnsAnswer ptr = {};
        char buf[INET6_ADDRSTRLEN];
        const char *at = addr_text(addr, buf);
        Finding *f;
        int r;

        r = dns_reverse_name(addr, &rev);
        if (r < 0)
                return r;
        if (asprintf(&remedy, _("Ask your hosting provider (the owner of %s) to set its reverse DNS (PTR) to %s. "
                                "Receivers such as Gmail reject mail from addresses without a PTR that resolves back "
                                "(550-5.7.25)."), at, run->host) < 0)
                return -ENOMEM;
        r = dns_query(run->client, rev, LDNS_RR_TYPE_PTR, &ptr);
        if (r < 0)
                return r;
        if (dns_status_is_void(ptr.status)) {
                /* reverse zones are often slow or flaky: ask once more before judging */
                dns_answer_done(&ptr);
                r = dns_query(run->client, rev, LDNS_RR_TYPE_PTR, &ptr);
                if (r < 0)
                        return r;
        }
        if (answer_failed(&ptr))
                return add_lookup_failure(run, &t->out, "dns.ptr", at, _("PTR lookup"), &ptr) ? 0 : -ENOMEM;
        if (ptr.n_records == 0) {
                f = findings_addf(&t->out, "dns.ptr", at, STATUS_CRITICAL, _("%s has no PTR record"), at);
                if (!f || finding_set_remedy(f, "%s", remedy) < 0)
                        return -ENOMEM;
                f = findings_addf(&t->out, "dns.fcrdns", at, STATUS_CRITICAL,
                                  _("%s has no reverse DNS, so it cannot resolve back"), at);
                return f && finding_set_remedy(f, "%s", remedy) >= 0 ? 0 : -ENOMEM;
        }

        bool helo = false;
        for (size_t i = 0; i < ptr.n_records; i++)
                helo = helo || strcasecmp(ptr.records[i].text, run->host) == 0;
        if (helo)
                f = findings_addf(&t->out, "dns.ptr", at, STATUS_OK, _("PTR of %s is %s, the HELO name"), at, run->host);
        else {
                f = findings_addf(&t->out, "dns.ptr", at, STATUS_WARNING,
                                  _("PTR of %s is %s, not the HELO name %s"), at, ptr.records[0].text, run->host);
                if (f && finding_set_remedy(f, _("%s\nOr make Postfix introduce itself with the PTR name: postconf -e "
                                                 "myhostname=%s"), remedy, ptr.records[0].text) < 0)
                        return -ENOMEM;
        }
        if (!f)
                return -ENOMEM;
        if (ptr.n_records > 1 && finding_append_detail(f, _("%zu PTR records; receivers use one at random"),
                                                       ptr.n_records) < 0)
                return -ENOMEM;

        /* forward-confirmed: a PTR name resolves back to the address */
        bool back = false, failed = false;
        _cleanup_free_ char *seen = NULL;
        for (size_t i = 0; i < ptr.n_records && i < 4 && !back; i++) {
                _cleanup_(dns_answer_done) DnsAnswer fw = {};
                r = dns_query(run->client, ptr.records[i].text, addr->family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA,
                              &fw);
                if (r < 0)
                        return r;
                failed = failed || answer_failed(&fw);
                for (size_t k = 0; k < fw.n_records; k++) {
                        back = back || memcmp(fw.records[k].addr.a, addr->a, 16) == 0;
                        char *n = NULL;
                        if (asprintf(&n, "%s%s%s -> %s", seen ? seen : "", seen ? "\n" : "", ptr.records[i].text,
                                     fw.records[k].text) < 0)
                                return -ENOMEM;
                        free(seen);
                        seen = n;
                }
        }
        if (back)
                f = findings_addf(&t->out, "dns.fcrdns", at, STATUS_OK, _("%s resolves back to %s"), ptr.records[0].text, at);
        else if (failed)
                f = findings_addf(&t->out, "dns.fcrdns", at, STATUS_UNKNOWN, _("the forward lookup of %s failed"),
                                  ptr.records[0].text);
        else {
                f = findings_addf(&t->out, "dns.fcrdns", at, STATUS_CRITICAL, _("PTR name %s does not resolve back to %s"),
                                  ptr.records[0].text, at);
                if (f && finding_set_remedy(f, _("Publish %s. 3600 IN %s %s (or have the PTR changed to a name that has "
                                                 "this address)."), ptr.records[0].text,
                                            addr->family == AF_INET ? "A" : "AAAA", at) < 0)
                        return -ENOMEM;
        }
        if (!f)
                return -ENOMEM;
        if (seen && finding_set_detail(f, "%s", seen) < 0)
                return -ENOMEM;
        return 0;
}

static int task_host(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer a4 = {}, a6 = {};
        SpfAddr addrs[MAX_HOST_ADDRS];
        bool failed;
        Finding *f;
        int n, r;

        if (!run->host) {
                f = findings_addf(&t->out, "dns.host-a", "", STATUS_UNKNOWN, _("no mail host name to look up"));
                return f && finding_set_remedy(f, _("Pass --host NAME or set Postfix's myhostname.")) >= 0 ? 0 : -ENOMEM;
        }
        n = host_addrs(run, run->host, addrs, ELEMENTSOF(addrs), &failed, &a4, &a6);
        if (n < 0)
                return n;
        if (n == 0) {
                if (failed)
                        return add_lookup_failure(run, &t->out, "dns.host-a", run->host_shown, _("A/AAAA lookup"),
                                                  answer_failed(&a4) ? &a4 : &a6) ? 0 : -ENOMEM;
                f = findings_addf(&t->out, "dns.host-a", run->host_shown, STATUS_CRITICAL,
                                  _("%s has no A or AAAA record"), run->host_shown);
                return f && finding_set_remedy(f, _("Publish %s. 3600 IN A <the server's public IPv4 address> (and "
                                                    "AAAA for IPv6)."), run->host) >= 0 ? 0 : -ENOMEM;
        }
        f = findings_addf(&t->out, "dns.host-a", run->host_shown, STATUS_OK,
                          _("%s has %zu IPv4 and %zu IPv6 address(es)"), run->host_shown, a4.n_records, a6.n_records);
        if (!f)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                char buf[INET6_ADDRSTRLEN];
                if (finding_append_detail(f, "%s", addr_text(&addrs[i], buf)) < 0)
                        return -ENOMEM;
        }
        if ((a4.cname || a6.cname) && finding_append_detail(f, _("(through the alias %s)"), a4.cname ? a4.cname : a6.cname) < 0)
                return -ENOMEM;

        bool any_public = false;
        for (int i = 0; i < n; i++) {
                if (!addr_is_public(&addrs[i]))
                        continue;
                any_public = true;
                r = check_ptr(run, t, &addrs[i]);
                if (r < 0)
                        return r;
        }
        if (!any_public) {
                f = findings_addf(&t->out, "dns.ptr", run->host_shown, STATUS_WARNING,
                                  _("%s has only private or loopback addresses; other servers cannot reach it"),
                                  run->host_shown);
                return f ? 0 : -ENOMEM;
        }
        return 0;
}

/* --- dns.spf --- */

static int task_spf(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer txt = {};
        _cleanup_(judge_done) Judge j = {};
        _cleanup_(spf_record_freep) SpfRecord *rec = NULL;
        _cleanup_free_ char *error = NULL, *remedy = NULL;
        const char *text;
        SpfDns ops;
        int r;

        if (asprintf(&remedy, _("Publish one record: %s. 3600 IN TXT \"v=spf1 mx -all\" (mx: the servers in your MX may "
                                "send; add ip4:/ip6: or include: for other senders)"), run->domain) < 0)
                return -ENOMEM;
        r = dns_query(run->client, run->domain, LDNS_RR_TYPE_TXT, &txt);
        if (r < 0)
                return r;
        if (answer_failed(&txt))
                return add_lookup_failure(run, &t->out, "dns.spf", run->domain_shown, _("TXT lookup"), &txt) ? 0 : -ENOMEM;
        int n = txt_matching(&txt, spf_is_record, &text);
        if (n == 0) {
                judge(&j, STATUS_CRITICAL, remedy, _("%s has no SPF record"), run->domain_shown);
                return judge_emit(&j, &t->out, "dns.spf", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (n > 1) {
                judge(&j, STATUS_CRITICAL, _("Merge them into one TXT record: RFC 7208 makes two SPF records a "
                                             "permanent error, so receivers ignore both."),
                      _("%s has %d SPF records (a permanent error)"), run->domain_shown, n);
                for (size_t i = 0; i < txt.n_records; i++)
                        if (spf_is_record(txt.records[i].text, strlen(txt.records[i].text)))
                                judge_detail(&j, "%s", txt.records[i].text);
                return judge_emit(&j, &t->out, "dns.spf", run->domain_shown) ? 0 : -ENOMEM;
        }
        judge_detail(&j, "%s", text);
        if (txt.over_tcp)
                judge_detail(&j, _("(the TXT answer was truncated over UDP and read over TCP)"));
        r = spf_parse(text, strlen(text), &rec, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                judge(&j, STATUS_CRITICAL, remedy, _("the SPF record does not parse: %s"),
                      error ? error : _("longer than mxdeck reads"));
                return judge_emit(&j, &t->out, "dns.spf", run->domain_shown) ? 0 : -ENOMEM;
        }

        dns_spf_ops(run->client, &ops);
        SpfWalk w;
        r = spf_walk(&ops, run->domain, &w);
        if (r < 0) {
                spf_walk_done(&w);
                return r;
        }
        if (w.trace)
                judge_detail(&j, "%s", w.trace);
        if (w.plus_all)
                judge(&j, STATUS_CRITICAL, _("Replace +all with -all (or ~all): +all authorises every server on the "
                                             "Internet to send as your domain."),
                      _("the SPF record ends in +all: anyone may send as %s"), run->domain_shown);
        if (w.lookups > SPF_MAX_LOOKUPS)
                judge(&j, STATUS_CRITICAL, _("Flatten includes into ip4:/ip6: terms or drop unused ones: receivers stop "
                                             "at 10 DNS lookups with a permanent error."),
                      _("SPF needs %u DNS lookups (more than %d: permerror)"), w.lookups, SPF_MAX_LOOKUPS);
        if (w.error)
                judge(&j, STATUS_CRITICAL, _("Fix or remove the include/redirect that fails."), _("SPF: %s"), w.error);
        if (w.void_lookups > SPF_MAX_VOID_LOOKUPS)
                judge(&j, STATUS_WARNING, _("Remove terms that name domains without records."),
                      _("SPF has %u void lookups (more than %d make receivers fail it)"), w.void_lookups,
                      SPF_MAX_VOID_LOOKUPS);
        if (w.uses_ptr)
                judge(&j, STATUS_WARNING, _("Replace ptr with ip4:/ip6: or a: terms (RFC 7208 5.5: do not use ptr)."),
                      _("the SPF record uses the ptr mechanism"));
        if (!w.has_all)
                judge(&j, STATUS_WARNING, _("End the record with -all or ~all."),
                      _("the SPF record has no all term: unlisted senders get neutral"));
        if (w.temporary)
                judge(&j, STATUS_UNKNOWN, resolver_hint(), _("some SPF lookups failed: the counts are a lower bound"));
        unsigned lookups = w.lookups, voids = w.void_lookups;
        spf_walk_done(&w);

        /* Does it authorise this host? */
        if (run->host) {
                SpfAddr addrs[MAX_HOST_ADDRS];
                int na = host_addrs(run, run->host, addrs, ELEMENTSOF(addrs), NULL, NULL, NULL);
                _cleanup_free_ char *sender = NULL;
                if (asprintf(&sender, "postmaster@%s", run->domain) < 0)
                        return -ENOMEM;
                for (int i = 0; i < na; i++) {
                        char buf[INET6_ADDRSTRLEN];
                        SpfEvaluation e;
                        if (!addr_is_public(&addrs[i]))
                                continue;
                        r = spf_check_host(&ops, &addrs[i], run->domain, sender, run->host, &e);
                        if (r < 0) {
                                spf_evaluation_done(&e);
                                return r;
                        }
                        const char *at = addr_text(&addrs[i], buf);
                        _cleanup_free_ char *rem = NULL;
                        if (asprintf(&rem, _("Authorise this server: add ip%c:%s (or mx, when the MX points here) "
                                             "before the all term."), addrs[i].family == AF_INET ? '4' : '6', at) < 0) {
                                spf_evaluation_done(&e);
                                return -ENOMEM;
                        }
                        switch (e.result) {
                        case SPF_RESULT_PASS:
                                judge_detail(&j, _("%s: pass (%s)"), at, strempty(e.reason));
                                break;
                        case SPF_RESULT_FAIL:
                        case SPF_RESULT_PERMERROR:
                                judge(&j, STATUS_CRITICAL, rem, _("SPF gives %s for mail from this host %s: %s"),
                                      spf_result_to_string(e.result), at, strempty(e.reason));
                                break;
                        case SPF_RESULT_TEMPERROR:
                                judge(&j, STATUS_UNKNOWN, resolver_hint(), _("SPF evaluation for %s: temperror: %s"), at,
                                      strempty(e.reason));
                                break;
                        default:
                                judge(&j, STATUS_WARNING, rem, _("SPF gives %s for mail from this host %s"),
                                      spf_result_to_string(e.result), at);
                        }
                        spf_evaluation_done(&e);
                }
        }
        judge(&j, STATUS_OK, NULL, _("SPF record parses, %u of %d DNS lookups%s"), lookups, SPF_MAX_LOOKUPS,
              run->host ? _(", authorises this host") : "");
        Finding *f = judge_emit(&j, &t->out, "dns.spf", run->domain_shown);
        if (!f)
                return -ENOMEM;
        Metric *m = finding_add_metric(f, "lookups", lookups, "");
        if (!m)
                return -ENOMEM;
        metric_set_thresholds(m, false, 0, true, SPF_MAX_LOOKUPS);
        m = finding_add_metric(f, "void_lookups", voids, "");
        if (!m)
                return -ENOMEM;
        metric_set_thresholds(m, true, SPF_MAX_VOID_LOOKUPS, false, 0);
        return 0;
}

/* --- dns.dkim --- */

/* No selector given and no local key: does this server sign at all? Signing goes through a
 * milter (OpenDKIM, rspamd); with none in Postfix, mail leaves unsigned, and receivers
 * (Gmail, Yahoo) reject or junk it: a warning with the way to set it up, not "unknown". */
static int dkim_no_selector(DnsRun *run, Task *t) {
        static const char *const names[] = { "smtpd_milters", "non_smtpd_milters", NULL };
        _cleanup_strv_free_ char **v = NULL;
        const CheckContext *ctx = run->ctx;
        Finding *f;

        int r = postconf_get(ctx, names, &v, NULL);
        bool milters = r >= 0 && (*v[0] || *v[1]);
        if (r < 0 || milters) {
                f = findings_addf(&t->out, "dns.dkim", run->domain_shown, STATUS_UNKNOWN,
                                  milters ? _("a milter may sign mail for %s, but its DKIM selector is not known")
                                          : _("no DKIM selector known for %s, and Postfix's milters cannot be read"),
                                  run->domain_shown);
                if (!f)
                        return -ENOMEM;
                if (milters && finding_set_detail(f, "smtpd_milters = %s\nnon_smtpd_milters = %s", v[0], v[1]) < 0)
                        return -ENOMEM;
                return finding_set_remedy(f, _("Pass --selector NAME (the s= of a DKIM-Signature header of a mail "
                                               "sent from here). mxdeck looks for the key in /etc/opendkim/KeyTable "
                                               "and /etc/mxdeck/dkim/SELECTOR.private.")) < 0 ? -ENOMEM : 0;
        }
        f = findings_addf(&t->out, "dns.dkim", run->domain_shown, STATUS_WARNING,
                          _("mail from %s is not DKIM-signed: Postfix has no signing milter and there is no DKIM key"),
                          run->domain_shown);
        if (!f || finding_set_detail(f, "smtpd_milters = (empty)\nnon_smtpd_milters = (empty)\n"
                                        "no key in /etc/opendkim/KeyTable or /etc/mxdeck/dkim/") < 0)
                return -ENOMEM;
        /* The selector names the month, so the next key can come in beside it. */
        char sel[16];
        time_t now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&now, &tm) || strftime(sel, sizeof(sel), "%Y%m", &tm) == 0)
                strcpy(sel, "mail");
        _cleanup_free_ char *install = install_remedy(ctx, "opendkim opendkim-tools");
        if (!install)
                return -ENOMEM;
        if (finding_set_remedy(f, _("Sign with OpenDKIM: install it, make a key, tell opendkim.conf about it "
                                    "(Domain %s, Selector %s, KeyFile /etc/dkimkeys/%s.private, Socket "
                                    "local:/var/spool/postfix/opendkim/opendkim.sock), restart it, point Postfix at it, "
                                    "and publish the key record ('mxdeck dns records' prints it). 'mxdeck setup' "
                                    "with [dkim] enabled = yes does all of it."),
                               run->domain_shown, sel, sel) < 0 ||
            finding_add_command(f, "%s", install) < 0 ||
            finding_add_command(f, "opendkim-genkey -b 2048 -d %s -s %s -D /etc/dkimkeys", run->domain, sel) < 0 ||
            finding_add_command(f, "chown opendkim:opendkim /etc/dkimkeys/%s.private", sel) < 0 ||
            finding_add_command(f, "postconf -e 'smtpd_milters = local:opendkim/opendkim.sock' "
                                   "'non_smtpd_milters = $smtpd_milters' 'milter_default_action = accept'") < 0)
                return -ENOMEM;
        return 0;
}

static int task_dkim(DnsRun *run, Task *t) {
        _cleanup_free_ char *selector = NULL, *keypath = NULL, *name = NULL, *error = NULL, *target = NULL;
        _cleanup_(dns_answer_done) DnsAnswer txt = {};
        _cleanup_(judge_done) Judge j = {};
        _cleanup_(dkim_key_freep) DkimKey *key = NULL;
        const char *text;
        int r;

        r = dkim_local_key(NULL, run->domain, run->ctx->selector, &selector, &keypath);
        if (r < 0)
                return r;
        if (r == 0 && run->ctx->selector && !(selector = strdup(run->ctx->selector)))
                return -ENOMEM;
        if (!selector)
                return dkim_no_selector(run, t);
        if (asprintf(&name, "%s._domainkey.%s", selector, run->domain) < 0)
                return -ENOMEM;
        target = strdup(name);
        if (!target)
                return -ENOMEM;
        r = dns_query(run->client, name, LDNS_RR_TYPE_TXT, &txt);
        if (r < 0)
                return r;
        if (answer_failed(&txt))
                return add_lookup_failure(run, &t->out, "dns.dkim", target, _("TXT lookup"), &txt) ? 0 : -ENOMEM;
        int n = txt_matching(&txt, dkim_is_record, &text);
        if (n == 0) {
                judge(&j, STATUS_CRITICAL, _("Publish the key record that 'mxdeck dns records' prints."),
                      _("no DKIM key record at %s"), name);
                return judge_emit(&j, &t->out, "dns.dkim", target) ? 0 : -ENOMEM;
        }
        judge_detail(&j, "%s", text);
        if (n > 1)
                judge(&j, STATUS_WARNING, _("Keep one key record per selector."), _("%d DKIM key records at %s"), n, name);
        if (txt.truncated)
                judge(&j, STATUS_WARNING, NULL, _("the record is longer than mxdeck reads (%d bytes)"), DNS_MAX_TEXT);
        r = dkim_key_parse(text, strlen(text), &key, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                judge(&j, STATUS_CRITICAL, _("Publish the key again as 'mxdeck dns records' prints it (several quoted "
                                             "strings of at most 255 bytes, nothing lost between them)."),
                      _("the DKIM record at %s is broken: %s"), name, error ? error : _("too long"));
                return judge_emit(&j, &t->out, "dns.dkim", target) ? 0 : -ENOMEM;
        }
        if (key->revoked)
                judge(&j, STATUS_CRITICAL, _("Publish the current key, or sign with a selector that has one."),
                      _("the DKIM key at %s is revoked (empty p=)"), name);
        else if (key->type == DKIM_KEY_RSA && key->bits < 1024)
                judge(&j, STATUS_CRITICAL, _("Generate a 2048-bit key (opendkim-genkey -b 2048) under a new selector and "
                                             "publish it."),
                      _("the DKIM key is %u-bit RSA: receivers treat it as no signature"), key->bits);
        else if (key->type == DKIM_KEY_RSA && key->bits < 2048)
                judge(&j, STATUS_WARNING, _("Move to a 2048-bit key under a new selector (opendkim-genkey -b 2048 -s "
                                            "NEWSELECTOR); publish it, switch the signer, then retire the old one."),
                      _("the DKIM key is %u-bit RSA; 2048 bits is the norm"), key->bits);
        if (key->testing)
                judge(&j, STATUS_WARNING, _("Remove t=y once signatures verify."),
                      _("the DKIM key is in test mode (t=y): receivers may ignore failures"));
        if (keypath) {
                r = dkim_key_matches_private(key, keypath);
                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        _cleanup_free_ char *rem = NULL;
                        if (asprintf(&rem, _("Publish the public half of %s ('mxdeck dns records' prints it), or point "
                                             "the signer at the key that is published."), keypath) < 0)
                                return -ENOMEM;
                        judge(&j, STATUS_CRITICAL, rem, _("the published DKIM key is not the one this server signs "
                                                          "with (%s)"), keypath);
                } else if (r < 0)
                        judge_detail(&j, _("local key %s could not be read: %s"), keypath, strerror(-r));
                else
                        judge_detail(&j, _("matches the local key %s"), keypath);
        }
        judge(&j, STATUS_OK, NULL, _("DKIM key at %s: %s %u bits%s"), name, key->type == DKIM_KEY_RSA ? "RSA" : "Ed25519",
              key->bits, keypath ? _(", matches the local key") : "");
        Finding *f = judge_emit(&j, &t->out, "dns.dkim", target);
        return f && finding_add_metric(f, "key_bits", key->bits, "") ? 0 : -ENOMEM;
}

/* --- dns.dmarc --- */

static char *dmarc_staged_remedy(const char *domain) {
        char *s = NULL;
        if (asprintf(&s, _("Move in stages, watching the aggregate reports (rua) between them:\n"
                           "1. _dmarc.%s. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@%s\" (collect reports, a few weeks)\n"
                           "2. _dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; pct=25; rua=mailto:dmarc@%s\" (then pct=100)\n"
                           "3. _dmarc.%s. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@%s\""),
                     domain, domain, domain, domain, domain, domain) < 0)
                return NULL;
        return s;
}

static int task_dmarc(DnsRun *run, Task *t) {
        _cleanup_free_ char *name = NULL, *error = NULL, *staged = NULL;
        _cleanup_(dns_answer_done) DnsAnswer txt = {};
        _cleanup_(judge_done) Judge j = {};
        _cleanup_(dmarc_record_freep) DmarcRecord *rec = NULL;
        const char *text;
        int r;

        if (asprintf(&name, "_dmarc.%s", run->domain) < 0 || !(staged = dmarc_staged_remedy(run->domain)))
                return -ENOMEM;
        r = dns_query(run->client, name, LDNS_RR_TYPE_TXT, &txt);
        if (r < 0)
                return r;
        if (answer_failed(&txt))
                return add_lookup_failure(run, &t->out, "dns.dmarc", run->domain_shown, _("TXT lookup"), &txt) ? 0 : -ENOMEM;
        int n = txt_matching(&txt, dmarc_is_record, &text);
        if (n == 0) {
                judge(&j, STATUS_CRITICAL, staged, _("%s has no DMARC record (Gmail and Yahoo require one from bulk "
                                                     "senders)"), run->domain_shown);
                return judge_emit(&j, &t->out, "dns.dmarc", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (n > 1) {
                judge(&j, STATUS_CRITICAL, _("Keep exactly one DMARC record: with several, receivers apply none."),
                      _("%s has %d DMARC records"), name, n);
                return judge_emit(&j, &t->out, "dns.dmarc", run->domain_shown) ? 0 : -ENOMEM;
        }
        judge_detail(&j, "%s", text);
        r = dmarc_parse(text, strlen(text), &rec, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                judge(&j, STATUS_CRITICAL, staged, _("the DMARC record does not parse: %s"), error ? error : _("too long"));
                return judge_emit(&j, &t->out, "dns.dmarc", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (rec->p_missing)
                judge(&j, STATUS_WARNING, staged, _("the DMARC record has no p= (treated as p=none)"));
        else if (rec->p == DMARC_POLICY_NONE)
                judge(&j, STATUS_WARNING, staged, _("DMARC policy is p=none: forged mail is only reported, not "
                                                    "stopped"));
        else if (rec->pct < 100)
                judge(&j, STATUS_WARNING, _("Raise pct to 100 once the reports are clean."),
                      _("DMARC p=%s applies to %u%% of failing mail only"), dmarc_policy_to_string(rec->p), rec->pct);
        if (rec->n_rua == 0)
                judge(&j, STATUS_WARNING, staged, _("the DMARC record asks for no aggregate reports (rua=)"));

        /* Reports to another domain need its consent (RFC 7489 7.1). */
        for (size_t k = 0; k < rec->n_rua + rec->n_ruf; k++) {
                const DmarcUri *u = k < rec->n_rua ? &rec->rua[k] : &rec->ruf[k - rec->n_rua];
                if (!u->domain || !dmarc_destination_is_external(run->domain, u->domain))
                        continue;
                _cleanup_free_ char *auth = NULL, *dest = NULL, *rem = NULL;
                _cleanup_(dns_answer_done) DnsAnswer a = {};
                if (dns_name_to_ascii(u->domain, &dest) < 0) {
                        judge(&j, STATUS_WARNING, NULL, _("report address domain '%s' is not a valid name"), u->domain);
                        continue;
                }
                if (asprintf(&auth, "%s._report._dmarc.%s", run->domain, dest) < 0 ||
                    asprintf(&rem, _("The owner of %s must publish: %s. IN TXT \"v=DMARC1\""), dest, auth) < 0)
                        return -ENOMEM;
                r = dns_query(run->client, auth, LDNS_RR_TYPE_TXT, &a);
                if (r < 0)
                        return r;
                const char *ok_text;
                if (answer_failed(&a))
                        judge(&j, STATUS_UNKNOWN, resolver_hint(), _("the authorisation record %s could not be looked up"),
                              auth);
                else if (txt_matching(&a, dmarc_is_record, &ok_text) == 0)
                        judge(&j, STATUS_WARNING, rem, _("reports go to %s, which has not authorised them (%s)"), u->uri,
                              auth);
                else
                        judge_detail(&j, _("%s authorises reports (%s)"), dest, auth);
        }
        judge(&j, STATUS_OK, NULL, _("DMARC policy p=%s%s"), dmarc_policy_to_string(rec->p),
              rec->n_rua ? _(" with aggregate reports") : "");
        return judge_emit(&j, &t->out, "dns.dmarc", run->domain_shown) ? 0 : -ENOMEM;
}

/* --- dnsbl.ZONE --- */

/* Lists of domains rather than addresses (queried with the mail domain). */
bool dnsbl_zone_lists_domains(const char *zone) {
        static const char *const domain_lists[] = { "dbl.", "uribl.", "surbl.", "rhsbl." };
        for (size_t i = 0; i < ELEMENTSOF(domain_lists); i++)
                if (strncasecmp(zone, domain_lists[i], strlen(domain_lists[i])) == 0 ||
                    (strcasestr(zone, domain_lists[i]) && strcasestr(zone, domain_lists[i])[-1] == '.'))
                        return true;
        return false;
}

static int dnsbl_query(DnsRun *run, Judge *j, const char *zone, const char *what, const char *qname) {
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        _cleanup_free_ char *rem = NULL;
        int r = dns_query(run->client, qname, LDNS_RR_TYPE_A, &a);
        if (r < 0)
                return r;
        if (dns_status_is_void(a.status)) {
                judge_detail(j, _("%s: not listed"), qname);
                return 0;
        }
        if (answer_failed(&a)) {
                judge(j, STATUS_UNKNOWN, resolver_hint(), _("%s could not be looked up on %s: %s"), what, zone,
                      dns_status_to_string(a.status));
                return 0;
        }
        SpfAddr refusal, loop;
        (void) spf_addr_from_string("127.255.255.0", &refusal);
        (void) spf_addr_from_string("127.0.0.0", &loop);
        bool listed = false, refused = false, odd = false;
        for (size_t i = 0; i < a.n_records; i++) {
                judge_detail(j, "%s -> %s", qname, a.records[i].text);
                if (spf_addr_in_network(&a.records[i].addr, &refusal, 24))
                        refused = true;
                else if (spf_addr_in_network(&a.records[i].addr, &loop, 8))
                        listed = true;
                else
                        odd = true;
        }
        if (listed) {
                _cleanup_(dns_answer_done) DnsAnswer why = {};
                if (dns_query(run->client, qname, LDNS_RR_TYPE_TXT, &why) >= 0)
                        for (size_t i = 0; i < why.n_records && i < 2; i++)
                                judge_detail(j, "%s", why.records[i].text);
                if (asprintf(&rem, _("Find out why at the list's web site (the TXT reason above usually links it), fix "
                                     "the cause (an open relay, a compromised account, a missing PTR), then ask %s "
                                     "for delisting."), zone) < 0)
                        return -ENOMEM;
                judge(j, STATUS_CRITICAL, rem, _("%s is listed on %s"), what, zone);
        } else if (refused) {
                if (asprintf(&rem, _("%s refuses queries that come through public or forwarding resolvers. Run your own "
                                     "recursive resolver (e.g. unbound on 127.0.0.1) and use it: --resolver 127.0.0.1 "
                                     "or [dns] resolver = 127.0.0.1 in /etc/mxdeck/mxdeck.conf."), zone) < 0)
                        return -ENOMEM;
                judge(j, STATUS_UNKNOWN, rem, _("%s refused to answer for %s (127.255.255.x): cannot tell whether it is "
                                               "listed"), zone, what);
        } else if (odd)
                judge(j, STATUS_UNKNOWN, NULL, _("%s gave an answer outside 127.0.0.0/8 for %s (a wildcard or a dead "
                                                 "list?)"), zone, what);
        return 0;
}

static int task_dnsbl(DnsRun *run, Task *t) {
        _cleanup_(judge_done) Judge j = {};
        _cleanup_free_ char *id = NULL, *zone = NULL;
        int r;

        if (dns_name_to_ascii(t->zone, &zone) < 0)
                return 0; /* settings validated it; an odd one is skipped */
        if (asprintf(&id, "dnsbl.%s", zone) < 0)
                return -ENOMEM;
        if (dnsbl_zone_lists_domains(zone)) {
                _cleanup_free_ char *q = NULL;
                if (asprintf(&q, "%s.%s", run->domain, zone) < 0)
                        return -ENOMEM;
                r = dnsbl_query(run, &j, zone, run->domain_shown, q);
                if (r < 0)
                        return r;
                judge(&j, STATUS_OK, NULL, _("%s is not listed on %s"), run->domain_shown, zone);
                return judge_emit(&j, &t->out, id, run->domain_shown) ? 0 : -ENOMEM;
        }
        if (!run->host) {
                Finding *f = findings_addf(&t->out, id, zone, STATUS_UNKNOWN, _("no mail host name, so no address to look up"));
                return f ? 0 : -ENOMEM;
        }
        SpfAddr addrs[MAX_HOST_ADDRS];
        bool failed;
        int n = host_addrs(run, run->host, addrs, ELEMENTSOF(addrs), &failed, NULL, NULL);
        if (n < 0)
                return n;
        _cleanup_free_ char *targets = NULL;
        for (int i = 0; i < n; i++) {
                char buf[INET6_ADDRSTRLEN];
                _cleanup_free_ char *rev = NULL, *q = NULL;
                if (!addr_is_public(&addrs[i]))
                        continue;
                r = dns_reverse_name(&addrs[i], &rev);
                if (r < 0)
                        return r;
                char *suffix = strstr(rev, addrs[i].family == AF_INET ? ".in-addr.arpa" : ".ip6.arpa");
                if (suffix)
                        *suffix = 0;
                if (asprintf(&q, "%s.%s", rev, zone) < 0)
                        return -ENOMEM;
                const char *at = addr_text(&addrs[i], buf);
                r = dnsbl_query(run, &j, zone, at, q);
                if (r < 0)
                        return r;
                char *nt = NULL;
                if (asprintf(&nt, "%s%s%s", targets ? targets : "", targets ? " " : "", at) < 0)
                        return -ENOMEM;
                free(targets);
                targets = nt;
        }
        if (!targets) {
                judge(&j, failed ? STATUS_UNKNOWN : STATUS_WARNING, NULL,
                      _("%s has no public address to look up on %s"), run->host_shown, zone);
                return judge_emit(&j, &t->out, id, run->host_shown) ? 0 : -ENOMEM;
        }
        judge(&j, STATUS_OK, NULL, _("%s: not listed on %s"), targets, zone);
        return judge_emit(&j, &t->out, id, targets) ? 0 : -ENOMEM;
}

/* --- dns.mta-sts, dns.tlsrpt --- */

typedef struct Body {
        char *data;
        size_t size;
        bool too_big;
} Body;

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Body *b = userdata;
        size_t n = size * nmemb;
        if (b->size + n > MTASTS_POLICY_MAX) {
                b->too_big = true;
                return 0; /* aborts the transfer */
        }
        char *p = realloc(b->data, b->size + n + 1);
        if (!p)
                return 0;
        memcpy(p + b->size, ptr, n);
        b->data = p;
        b->size += n;
        p[b->size] = 0;
        return n;
}

/* GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt, connecting to the addresses our
 * resolver gives (not the system's), no redirects (RFC 8461 3.3), bounded body and time. */
static int fetch_policy(DnsRun *run, const char *host, Body *body, long *ret_http, char **ret_ctype, char **ret_error) {
        SpfAddr addrs[MAX_HOST_ADDRS];
        bool failed;
        int n = host_addrs(run, host, addrs, ELEMENTSOF(addrs), &failed, NULL, NULL);
        if (n < 0)
                return n;
        if (n == 0)
                return asprintf(ret_error, failed ? _("the addresses of %s could not be looked up")
                                                  : _("%s has no A or AAAA record"), host) < 0 ? -ENOMEM : -EHOSTUNREACH;

        const char *why = NULL;
        const CurlApi *c = http_curl(&why);
        if (!c)
                return asprintf(ret_error, _("libcurl could not be loaded (%s)"), why) < 0 ? -ENOMEM : -ENOPKG;
        CURL *curl = c->easy_init();
        struct curl_slist *resolve = NULL;
        char errbuf[CURL_ERROR_SIZE] = "", url[600], line[2048], buf[INET6_ADDRSTRLEN];
        if (!curl)
                return -ENOMEM;
        int k = snprintf(line, sizeof(line), "%s:443:", host);
        for (int i = 0; i < n && (size_t) k < sizeof(line); i++)
                k += snprintf(line + k, sizeof(line) - (size_t) k, "%s%s%s%s", i ? "," : "",
                              addrs[i].family == AF_INET6 ? "[" : "", addr_text(&addrs[i], buf),
                              addrs[i].family == AF_INET6 ? "]" : "");
        resolve = c->slist_append(NULL, line);
        snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt", host);
        c->easy_setopt(curl, CURLOPT_URL, url);
        c->easy_setopt(curl, CURLOPT_RESOLVE, resolve);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string form; the bit mask is deprecated there */
        c->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
#else
        c->easy_setopt(curl, CURLOPT_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
        c->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        c->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        c->easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) MAX(dns_client_remaining_ms(run->client), 1u));
        c->easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
        c->easy_setopt(curl, CURLOPT_WRITEDATA, body);
        c->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        c->easy_setopt(curl, CURLOPT_USERAGENT, "mxdeck/" VERSION);
        if (run->ctx->ca_file)
                c->easy_setopt(curl, CURLOPT_CAINFO, run->ctx->ca_file);
        CURLcode cc;
        int r = http_perform(curl, run->deadline, &cc);
        if (r < 0) {
                /* cancelled, or curl could not even start: nothing to judge */
        } else if (cc != CURLE_OK) {
                if (asprintf(ret_error, "%s", body->too_big ? _("the policy is larger than 64 KiB")
                                              : errbuf[0] ? errbuf : c->easy_strerror(cc)) < 0)
                        r = -ENOMEM;
                else
                        r = -EIO;
        } else {
                char *ct = NULL;
                c->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, ret_http);
                c->easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
                *ret_ctype = ct ? strdup(ct) : NULL;
        }
        c->slist_free_all(resolve);
        c->easy_cleanup(curl);
        return r;
}

static int task_mta_sts(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer txt = {}, mx = {}, rpt = {};
        _cleanup_(judge_done) Judge j = {}, jr = {};
        _cleanup_free_ char *name = NULL, *id = NULL, *error = NULL, *host = NULL, *ctype = NULL, *rpt_name = NULL;
        _cleanup_(mtasts_policy_freep) MtaStsPolicy *policy = NULL;
        _cleanup_free_ char *remedy = NULL;
        Body body = {};
        const char *text;
        long http = 0;
        int r;

        if (asprintf(&name, "_mta-sts.%s", run->domain) < 0 || asprintf(&host, "mta-sts.%s", run->domain) < 0 ||
            asprintf(&rpt_name, "_smtp._tls.%s", run->domain) < 0 ||
            asprintf(&remedy, _("'mxdeck dns records --mta-sts' prints the records and the policy file to serve at "
                                "https://mta-sts.%s/.well-known/mta-sts.txt"), run->domain) < 0)
                return -ENOMEM;

        /* TLS-RPT first: it needs no HTTPS */
        r = dns_query(run->client, rpt_name, LDNS_RR_TYPE_TXT, &rpt);
        if (r < 0)
                return r;
        if (answer_failed(&rpt)) {
                if (!add_lookup_failure(run, &t->out, "dns.tlsrpt", run->domain_shown, _("TXT lookup"), &rpt))
                        return -ENOMEM;
        } else {
                int n = txt_matching(&rpt, tlsrpt_is_record, &text);
                _cleanup_strv_free_ char **rua = NULL;
                if (n == 0)
                        judge(&jr, STATUS_WARNING, remedy, _("%s publishes no TLS-RPT record: nobody reports TLS "
                                                             "failures of mail to it"), run->domain_shown);
                else if (n > 1)
                        judge(&jr, STATUS_CRITICAL, _("Keep one TLS-RPT record."), _("%d TLS-RPT records at %s"), n,
                              rpt_name);
                else {
                        _cleanup_free_ char *err = NULL;
                        judge_detail(&jr, "%s", text);
                        int k = tlsrpt_txt_parse(text, strlen(text), &rua, &err);
                        if (k == -ENOMEM)
                                return k;
                        if (k < 0)
                                judge(&jr, STATUS_CRITICAL, remedy, _("the TLS-RPT record does not parse: %s"),
                                      err ? err : _("too long"));
                        else
                                judge(&jr, STATUS_OK, NULL, _("TLS-RPT reports go to %s"), rua[0]);
                }
                if (!judge_emit(&jr, &t->out, "dns.tlsrpt", run->domain_shown))
                        return -ENOMEM;
        }

        r = dns_query(run->client, name, LDNS_RR_TYPE_TXT, &txt);
        if (r < 0)
                return r;
        if (answer_failed(&txt))
                return add_lookup_failure(run, &t->out, "dns.mta-sts", run->domain_shown, _("TXT lookup"), &txt) ? 0
                                                                                                                : -ENOMEM;
        int n = txt_matching(&txt, mtasts_is_record, &text);
        if (n == 0) {
                judge(&j, STATUS_WARNING, remedy, _("%s publishes no MTA-STS policy: senders fall back to unverified "
                                                    "TLS"), run->domain_shown);
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (n > 1) {
                judge(&j, STATUS_CRITICAL, remedy, _("%d MTA-STS records at %s (senders ignore them all)"), n, name);
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }
        judge_detail(&j, "%s", text);
        r = mtasts_txt_parse(text, strlen(text), &id, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                judge(&j, STATUS_CRITICAL, remedy, _("the MTA-STS record does not parse: %s"), error ? error : _("too long"));
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }

        r = fetch_policy(run, host, &body, &http, &ctype, &error);
        if (r == -ENOMEM) {
                free(body.data);
                return r;
        }
        if (r == -ENOPKG) {
                /* our own missing library, not the domain's fault */
                judge(&j, STATUS_UNKNOWN, _("Install libcurl (Debian: libcurl4, RHEL: libcurl)."),
                      _("the MTA-STS policy was not fetched: %s"), strempty(error));
                free(body.data);
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (r < 0 || http != 200) {
                if (r >= 0 && asprintf(&error, _("HTTP status %ld"), http) < 0) {
                        free(body.data);
                        return -ENOMEM;
                }
                judge(&j, STATUS_CRITICAL, remedy, _("the MTA-STS policy https://%s/.well-known/mta-sts.txt cannot be "
                                                     "fetched: %s"), host, strempty(error));
                free(body.data);
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }
        free(error);
        error = NULL;
        if (!ctype || strncasecmp(ctype, "text/plain", 10) != 0)
                judge(&j, STATUS_WARNING, _("Serve the policy as text/plain (RFC 8461 3.3)."),
                      _("the MTA-STS policy is served as '%s', not text/plain"), ctype ? ctype : _("(none)"));
        r = mtasts_policy_parse(body.data ? body.data : "", body.size, &policy, &error);
        if (body.data)
                judge_detail(&j, "%.*s", (int) MIN(body.size, (size_t) 2048), body.data);
        free(body.data);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                judge(&j, STATUS_CRITICAL, remedy, _("the MTA-STS policy does not parse: %s"), strempty(error));
                return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
        }

        /* every MX must be covered by an mx: line, or enforcing senders will not deliver */
        r = dns_query(run->client, run->domain, LDNS_RR_TYPE_MX, &mx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < mx.n_records && i < MAX_MX; i++) {
                if (mtasts_policy_covers(policy, mx.records[i].text))
                        continue;
                _cleanup_free_ char *rem = NULL;
                if (asprintf(&rem, _("Add the line 'mx: %s' to the policy and change id= in %s."), mx.records[i].text,
                             name) < 0)
                        return -ENOMEM;
                judge(&j, policy->mode == MTASTS_MODE_ENFORCE ? STATUS_CRITICAL : STATUS_WARNING, rem,
                      _("MX %s is not in the MTA-STS policy (mode %s)%s"), mx.records[i].text,
                      mtasts_mode_to_string(policy->mode),
                      policy->mode == MTASTS_MODE_ENFORCE ? _(": senders that enforce it will not deliver there") : "");
        }
        if (policy->mode == MTASTS_MODE_TESTING)
                judge(&j, STATUS_WARNING, _("Switch the policy to 'mode: enforce' once the TLS-RPT reports are clean, "
                                            "and change id=."), _("MTA-STS is in testing mode"));
        else if (policy->mode == MTASTS_MODE_NONE)
                judge(&j, STATUS_WARNING, remedy, _("MTA-STS policy mode is none (withdrawn)"));
        if (policy->max_age < 86400)
                judge(&j, STATUS_WARNING, _("Use max_age of at least 604800 (a week)."),
                      _("MTA-STS max_age is only %llu seconds"), (unsigned long long) policy->max_age);
        judge(&j, STATUS_OK, NULL, _("MTA-STS policy id %s, mode %s, covers the MX"), id,
              mtasts_mode_to_string(policy->mode));
        return judge_emit(&j, &t->out, "dns.mta-sts", run->domain_shown) ? 0 : -ENOMEM;
}

/* --- dns.tlsa --- */

static bool tlsa_matches(const DnsRecord *t, X509 *cert) {
        unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        int n = t->tlsa_selector == 0 ? i2d_X509(cert, &der) : t->tlsa_selector == 1 ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
        bool ok = false;
        if (n <= 0)
                return false;
        switch (t->tlsa_matching) {
        case 0:
                ok = (size_t) n == t->data_size && memcmp(der, t->data, (size_t) n) == 0;
                break;
        case 1:
        case 2:
                if (EVP_Digest(der, (size_t) n, md, &mdlen, t->tlsa_matching == 1 ? EVP_sha256() : EVP_sha512(), NULL) == 1)
                        ok = mdlen == t->data_size && memcmp(md, t->data, mdlen) == 0;
                break;
        }
        OPENSSL_free(der);
        return ok;
}

static const char *tlsa_usage_name(uint8_t u) {
        switch (u) {
        case 0: return "PKIX-TA";
        case 1: return "PKIX-EE";
        case 2: return "DANE-TA";
        case 3: return "DANE-EE";
        default: return "?";
        }
}

/* The certificate chain the live SMTP server presents after STARTTLS. */
static int smtp_chain(DnsRun *run, STACK_OF(X509) **ret, char **ret_error) {
        SpfAddr addrs[MAX_HOST_ADDRS];
        int n = 0;
        if (run->ctx->connect) {
                if (spf_addr_from_string(run->ctx->connect, &addrs[0]) < 0)
                        return asprintf(ret_error, _("--connect %s is not an address"), run->ctx->connect) < 0 ? -ENOMEM
                                                                                                              : -EINVAL;
                n = 1;
        } else
                n = host_addrs(run, run->host, addrs, ELEMENTSOF(addrs), NULL, NULL, NULL);
        if (n <= 0)
                return asprintf(ret_error, _("%s has no address to connect to"), run->host) < 0 ? -ENOMEM : -EHOSTUNREACH;
        unsigned port = 25;
        for (size_t i = 0; i < run->ctx->n_ports; i++)
                if (streq(run->ctx->ports[i].service, "smtp"))
                        port = run->ctx->ports[i].port;

        struct sockaddr_storage ss = {};
        socklen_t len;
        if (addrs[0].family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                memcpy(&in->sin_addr, addrs[0].a, 4);
                len = sizeof(*in);
        } else {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                memcpy(&in6->sin6_addr, addrs[0].a, 16);
                len = sizeof(*in6);
        }
        MailConn c = { .fd = -1 };
        SmtpReply reply = {};
        SSL_CTX *sctx = NULL;
        uint64_t deadline = now_usec() + (uint64_t) dns_client_remaining_ms(run->client) * 1000u;
        char buf[INET6_ADDRSTRLEN];
        int r = mailconn_connect(&c, &ss, len, NULL, 0, deadline);
        if (r < 0)
                goto fail;
        r = mailconn_read_smtp_reply(&c, &reply);
        if (r < 0 || reply.code != 220)
                goto fail_proto;
        smtp_reply_done(&reply);
        reply = (SmtpReply) {};
        if ((r = mailconn_writef(&c, "EHLO mxdeck.invalid\r\n")) < 0 || (r = mailconn_read_smtp_reply(&c, &reply)) < 0)
                goto fail;
        if (reply.code != 250 || !smtp_ehlo_has(&reply, "STARTTLS"))
                goto fail_proto;
        smtp_reply_done(&reply);
        reply = (SmtpReply) {};
        if ((r = mailconn_writef(&c, "STARTTLS\r\n")) < 0 || (r = mailconn_read_smtp_reply(&c, &reply)) < 0)
                goto fail;
        if (reply.code != 220)
                goto fail_proto;
        r = tls_client_ctx_new(NULL, 0, &sctx, ret_error);
        if (r < 0)
                goto out;
        r = tls_handshake(&c, sctx, run->host, ret_error);
        if (r < 0)
                goto out;
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c.ssl);
        if (!chain || sk_X509_num(chain) == 0) {
                r = -EPROTO;
                if (asprintf(ret_error, _("the server sent no certificate")) < 0)
                        r = -ENOMEM;
                goto out;
        }
        *ret = sk_X509_dup(chain);
        for (int i = 0; *ret && i < sk_X509_num(*ret); i++)
                X509_up_ref(sk_X509_value(*ret, i));
        r = *ret ? 0 : -ENOMEM;
        goto out;
fail_proto:
        r = -EPROTO;
        if (asprintf(ret_error, _("%s port %u does not offer STARTTLS (reply %d)"), addr_text(&addrs[0], buf), port,
                     reply.code) < 0)
                r = -ENOMEM;
        goto out;
fail:
        if (asprintf(ret_error, _("SMTP at %s port %u: %s"), addr_text(&addrs[0], buf), port, mailproto_strerror(r)) < 0)
                r = -ENOMEM;
out:
        smtp_reply_done(&reply);
        mailconn_close(&c);
        if (sctx)
                tls_client_ctx_free(sctx);
        return r;
}

static int task_tlsa(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer tlsa = {};
        _cleanup_(judge_done) Judge j = {};
        _cleanup_free_ char *name = NULL, *error = NULL;
        STACK_OF(X509) *chain = NULL;
        int r;

        if (!run->host)
                return 0; /* dns.host-a already says there is no host */
        if (asprintf(&name, "_25._tcp.%s", run->host) < 0)
                return -ENOMEM;
        r = dns_query_full(run->client, name, LDNS_RR_TYPE_TLSA, DNS_QUERY_DO, &tlsa, NULL);
        if (r < 0)
                return r;
        if (answer_failed(&tlsa))
                return add_lookup_failure(run, &t->out, "dns.tlsa", name, _("TLSA lookup"), &tlsa) ? 0 : -ENOMEM;
        if (tlsa.n_records == 0) {
                Finding *f = findings_addf(&t->out, "dns.tlsa", name, STATUS_OK,
                                           _("no TLSA records at %s (DANE not used)"), name);
                return f ? 0 : -ENOMEM;
        }
        r = smtp_chain(run, &chain, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                Finding *f = findings_addf(&t->out, "dns.tlsa", name, STATUS_UNKNOWN,
                                           _("TLSA records exist but the live certificate could not be read: %s"),
                                           strempty(error));
                return f ? 0 : -ENOMEM;
        }
        bool any = false;
        for (size_t i = 0; i < tlsa.n_records; i++) {
                const DnsRecord *rec = &tlsa.records[i];
                bool m = false;
                int n = sk_X509_num(chain);
                /* usage 1/3 name the leaf; 0/2 a CA anywhere in the chain the server sends */
                for (int k = 0; k < n && !m; k++) {
                        bool leaf = k == 0;
                        if ((rec->tlsa_usage == 1 || rec->tlsa_usage == 3) != leaf)
                                continue;
                        m = tlsa_matches(rec, sk_X509_value(chain, k));
                }
                judge_detail(&j, "TLSA %u %u %u (%s): %s", rec->tlsa_usage, rec->tlsa_selector, rec->tlsa_matching,
                             tlsa_usage_name(rec->tlsa_usage), m ? _("matches") : _("does not match"));
                any = any || m;
        }
        sk_X509_pop_free(chain, X509_free);
        if (!any)
                judge(&j, STATUS_CRITICAL, _("Publish TLSA records for the certificate the server presents now (e.g. "
                                             "3 1 1 <SHA-256 of its public key>) before or when the certificate changes; "
                                             "DANE senders refuse to deliver while none matches."),
                      _("no TLSA record at %s matches the live certificate"), name);
        if (!tlsa.ad)
                judge(&j, STATUS_WARNING, _("Sign the zone (DNSSEC): TLSA records count only in a validated answer."),
                      _("the TLSA answer is not DNSSEC-validated, so DANE senders ignore it"));
        judge(&j, STATUS_OK, NULL, _("a TLSA record at %s matches the live certificate"), name);
        return judge_emit(&j, &t->out, "dns.tlsa", name) ? 0 : -ENOMEM;
}

/* --- dns.dnssec --- */

/* Trust anchors (DS or DNSKEY records in zone-file form) from file. */
static int load_anchors(const char *path, ldns_rr_list **ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return negative_errno();
        ldns_rr_list *l = ldns_rr_list_new();
        if (!l)
                return -ENOMEM;
        uint32_t ttl = 3600;
        ldns_rdf *origin = NULL, *prev = NULL;
        int line = 0;
        for (unsigned n = 0; n < 1000 && !feof(f); n++) {
                ldns_rr *rr = NULL;
                ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
                if (st != LDNS_STATUS_OK) {
                        if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
                            st == LDNS_STATUS_SYNTAX_ORIGIN || st == LDNS_STATUS_SYNTAX_INCLUDE)
                                continue;
                        break;
                }
                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS || ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY)
                        ldns_rr_list_push_rr(l, rr);
                else
                        ldns_rr_free(rr);
        }
        ldns_rdf_deep_free(origin);
        ldns_rdf_deep_free(prev);
        if (ldns_rr_list_rr_count(l) == 0) {
                ldns_rr_list_deep_free(l);
                return -EINVAL;
        }
        *ret = l;
        return 0;
}

/* ldns_verify_trusted walks the chain with its own blocking queries: it runs on an
 * offload worker, with everything it touches owned by the job (see core/offload.h). */
typedef struct Verify {
        ldns_resolver *res;
        ldns_rr_list *rrset, *sigs, *validating;
        ldns_status st;
} Verify;

static void verify_free(void *data) {
        Verify *v = data;
        if (!v)
                return;
        if (v->res)
                ldns_resolver_deep_free(v->res);
        ldns_rr_list_deep_free(v->rrset);
        ldns_rr_list_deep_free(v->sigs);
        ldns_rr_list_deep_free(v->validating);
        free(v);
}

static int verify_work(void *data) {
        Verify *v = data;
        v->st = ldns_verify_trusted(v->res, v->rrset, v->sigs, v->validating);
        return 0;
}

static int task_dnssec(DnsRun *run, Task *t) {
        _cleanup_(dns_answer_done) DnsAnswer a = {}, cd = {};
        _cleanup_(judge_done) Judge j = {};
        ldns_pkt *pkt = NULL;
        int r;

        const char *anchor = run->ctx->trust_anchor ? run->ctx->trust_anchor
                             : run->ctx->settings && run->ctx->settings->trust_anchor ? run->ctx->settings->trust_anchor
                             : access("/usr/share/dns/root.key", R_OK) >= 0 ? "/usr/share/dns/root.key" : NULL;
        const char *sign_remedy = _("Sign the zone at your DNS host (most offer one-click DNSSEC) and publish the DS "
                                    "record at the registrar.");

        r = dns_query_full(run->client, run->domain, LDNS_RR_TYPE_MX, DNS_QUERY_DO, &a, NULL);
        if (r < 0)
                return r;
        if (a.status == DNS_STATUS_SERVFAIL) {
                /* the same question with checking disabled: data that only fails validation is bogus */
                r = dns_query_full(run->client, run->domain, LDNS_RR_TYPE_MX, DNS_QUERY_DO | DNS_QUERY_CD, &cd, NULL);
                if (r < 0)
                        return r;
                if (!answer_failed(&cd))
                        judge(&j, STATUS_CRITICAL, _("Re-sign the zone (expired or wrong signatures) or fix the DS "
                                                     "record at the registrar; until then validating resolvers "
                                                     "(Gmail, most ISPs) cannot resolve the domain at all."),
                              _("DNSSEC validation fails for %s (bogus): the resolver refuses the answer"),
                              run->domain_shown);
                else
                        return add_lookup_failure(run, &t->out, "dns.dnssec", run->domain_shown, _("MX lookup"), &cd) ? 0
                                                                                                                     : -ENOMEM;
                return judge_emit(&j, &t->out, "dns.dnssec", run->domain_shown) ? 0 : -ENOMEM;
        }
        if (answer_failed(&a))
                return add_lookup_failure(run, &t->out, "dns.dnssec", run->domain_shown, _("MX lookup"), &a) ? 0 : -ENOMEM;
        if (a.ad) {
                judge(&j, STATUS_OK, NULL, _("the answers for %s are DNSSEC-validated (AD from the resolver %s)"),
                      run->domain_shown, dns_client_servers(run->client));
                return judge_emit(&j, &t->out, "dns.dnssec", run->domain_shown) ? 0 : -ENOMEM;
        }

        /* No AD: unsigned, or a resolver that does not validate. Look at the signatures. */
        r = dns_query_full(run->client, run->domain, LDNS_RR_TYPE_MX, DNS_QUERY_DO | DNS_QUERY_CD, &cd, &pkt);
        if (r < 0)
                return r;
        if (!pkt)
                return add_lookup_failure(run, &t->out, "dns.dnssec", run->domain_shown, _("MX lookup"), &cd) ? 0 : -ENOMEM;
        ldns_rr_list *rrsigs = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ANY_NOQUESTION);
        ldns_rr_list *rrset = ldns_pkt_rr_list_by_type(pkt, cd.n_records ? LDNS_RR_TYPE_MX : LDNS_RR_TYPE_SOA,
                                                       cd.n_records ? LDNS_SECTION_ANSWER : LDNS_SECTION_AUTHORITY);
        if (!rrsigs || ldns_rr_list_rr_count(rrsigs) == 0) {
                judge(&j, STATUS_WARNING, sign_remedy, _("%s is not signed (no DNSSEC): its answers can be forged"),
                      run->domain_shown);
        } else if (!anchor) {
                judge(&j, STATUS_WARNING, _("Use a validating resolver (--resolver), or give a trust anchor with "
                                            "--trust-anchor FILE."),
                      _("%s is signed, but the resolver did not validate it and there is no trust anchor"),
                      run->domain_shown);
        } else {
                ldns_rr_list *anchors = NULL;
                Verify *v = calloc(1, sizeof(Verify));
                r = load_anchors(anchor, &anchors);
                if (r < 0)
                        judge(&j, STATUS_UNKNOWN, NULL, _("the trust anchor %s cannot be read: %s"), anchor,
                              r == -EINVAL ? _("no DS or DNSKEY records in it") : strerror(-r));
                else if (!v || dns_client_ldns_resolver(run->client, &v->res) < 0 || !rrset ||
                         !(v->validating = ldns_rr_list_new()) || !(v->rrset = ldns_rr_list_clone(rrset)) ||
                         !(v->sigs = ldns_rr_list_new()))
                        r = -ENOMEM;
                else {
                        /* only the signatures over the answer RRset (copies: the job owns them) */
                        for (size_t i = 0; i < ldns_rr_list_rr_count(rrsigs); i++) {
                                ldns_rr *s = ldns_rr_list_rr(rrsigs, i), *c;
                                if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(s)) == ldns_rr_get_type(ldns_rr_list_rr(rrset, 0)) &&
                                    (c = ldns_rr_clone(s)) && !ldns_rr_list_push_rr(v->sigs, c))
                                        ldns_rr_free(c);
                        }
                        ldns_rr_list *sigs = v->sigs;
                        /* ldns walks from the signer up to a key the anchors vouch for */
                        ldns_resolver_set_dnssec_anchors(v->res, ldns_rr_list_clone(anchors));
                        int vr = offload_run(verify_work, v, verify_free, run->deadline, NULL);
                        if (vr < 0) {
                                v = NULL; /* the worker's now */
                                sigs = NULL;
                        }
                        ldns_status st = vr == 0 ? v->st : LDNS_STATUS_ERR;
                        /* A failure is bogus (not a missing chain) when an anchor names the signing zone
                         * itself or a signature is outside its validity period. */
                        bool bogus = st == LDNS_STATUS_CRYPTO_SIG_EXPIRED || st == LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED ||
                                     st == LDNS_STATUS_CRYPTO_BOGUS;
                        bool expired = false;
                        time_t now = time(NULL);
                        for (size_t i = 0; st != LDNS_STATUS_OK && sigs && i < ldns_rr_list_rr_count(sigs); i++) {
                                ldns_rr *sig = ldns_rr_list_rr(sigs, i);
                                int32_t exp = (int32_t) (ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(sig)) - now);
                                int32_t inc = (int32_t) (ldns_rdf2native_time_t(ldns_rr_rrsig_inception(sig)) - now);
                                if (exp < 0 || inc > 0)
                                        bogus = expired = true;
                                for (size_t k = 0; k < ldns_rr_list_rr_count(anchors); k++)
                                        if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(anchors, k)),
                                                               ldns_rr_rrsig_signame(sig)) == 0)
                                                bogus = true;
                        }
                        if (vr == -ECANCELED)
                                r = vr;
                        else if (vr < 0)
                                judge(&j, STATUS_UNKNOWN, NULL, _("validating the answers for %s %s"), run->domain_shown,
                                      vr == -ETIMEDOUT ? _("took too long (the chain's lookups did not answer in time)")
                                                       : strerror(-vr));
                        else if (st == LDNS_STATUS_OK)
                                judge(&j, STATUS_OK, NULL, _("the answers for %s validate against the trust anchor %s"),
                                      run->domain_shown, anchor);
                        else if (bogus)
                                judge(&j, STATUS_CRITICAL, _("Re-sign the zone; validating resolvers cannot resolve the "
                                                             "domain until then."),
                                      _("DNSSEC signatures of %s do not validate (bogus): %s"), run->domain_shown,
                                      expired ? _("signatures outside their validity period (expired?)")
                                              : ldns_get_errorstr_by_id(st));
                        else
                                judge(&j, STATUS_WARNING, _("Publish the DS record at the parent zone (registrar), so the "
                                                            "chain of trust reaches the signatures."),
                                      _("%s is signed but no chain of trust from %s reaches it: %s"), run->domain_shown,
                                      anchor, ldns_get_errorstr_by_id(st));
                        if (r != -ECANCELED)
                                r = 0;
                }
                verify_free(v);
                ldns_rr_list_deep_free(anchors);
        }
        ldns_rr_list_deep_free(rrsigs);
        ldns_rr_list_deep_free(rrset);
        ldns_pkt_free(pkt);
        if (r < 0)
                return r;
        return judge_emit(&j, &t->out, "dns.dnssec", run->domain_shown) ? 0 : -ENOMEM;
}

/* --- the runner --- */

static int task_fiber(void *userdata) {
        Task *t = userdata;
        uint64_t t0 = now_msec();
        t->error = t->fn(t->run, t);
        t->elapsed_ms = (unsigned) (now_msec() - t0);
        return 0;
}

static int name_arg(const char *in, char **ret) {
        if (!in || !*in) {
                *ret = NULL;
                return 0;
        }
        return dns_name_to_ascii(in, ret);
}

int check_dns(const CheckContext *ctx, FindingList *out) {
        _cleanup_(dns_client_freep) DnsClient *client = NULL;
        _cleanup_free_ char *domain = NULL, *host = NULL, *error = NULL;
        const Settings *s = ctx->settings;
        Task tasks[MAX_TASKS] = {};
        size_t n = 0;
        int r;

        bool dns = check_group_selected(ctx, "dns"), dnsbl = check_group_selected(ctx, "dnsbl");
        if (name_arg(ctx->domain, &domain) < 0 || name_arg(ctx->host, &host) < 0) {
                const char *bad = domain ? ctx->host : ctx->domain;
                Finding *f = findings_addf(out, dns ? "dns.mx" : "dnsbl.lookup", strempty(bad), STATUS_UNKNOWN,
                                           _("'%s' is not a valid domain name"), strempty(bad));
                return f ? 0 : -ENOMEM;
        }
        if (!domain) {
                Finding *f = findings_addf(out, dns ? "dns.mx" : "dnsbl.lookup", "", STATUS_UNKNOWN,
                                           _("no mail domain to check"));
                return f && finding_set_remedy(f, _("Pass --domain NAME or set Postfix's mydomain.")) >= 0 ? 0 : -ENOMEM;
        }
        /* A bare node name ("vm") is no mail host name: asking DNS about it and proposing
         * records for "vm." would mislead. The host checks then say what is missing. */
        if (host && !strchr(host, '.')) {
                free(host);
                host = NULL;
        }
        const char *resolver = ctx->resolver ? ctx->resolver : s ? s->resolver : NULL;
        Deadline deadline = deadline_is_set(ctx->deadline)
                                    ? ctx->deadline
                                    : deadline_in_ms((uint64_t) (s && s->timeout_seconds ? s->timeout_seconds : 10) * 1000u);
        uint64_t left = deadline_left_ms(deadline);
        r = dns_client_new(resolver, (unsigned) MIN(MAX(left, (uint64_t) 1), (uint64_t) UINT_MAX), &client, &error);
        if (r == -EINVAL) {
                Finding *f = findings_addf(out, dns ? "dns.mx" : "dnsbl.lookup", strempty(resolver), STATUS_UNKNOWN,
                                           _("bad resolver: %s"), strempty(error));
                return f ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;

        DnsRun run = {
                .ctx = ctx,
                .client = client,
                .domain = domain,
                .host = host,
                .domain_shown = ctx->domain,
                .host_shown = host ? ctx->host : NULL,
                .deadline = deadline,
        };
        if (dns) {
                tasks[n++] = (Task) { .fn = task_mx };
                tasks[n++] = (Task) { .fn = task_host };
                tasks[n++] = (Task) { .fn = task_spf };
                tasks[n++] = (Task) { .fn = task_dkim };
                tasks[n++] = (Task) { .fn = task_dmarc };
                tasks[n++] = (Task) { .fn = task_mta_sts };
                tasks[n++] = (Task) { .fn = task_tlsa };
                tasks[n++] = (Task) { .fn = task_dnssec };
        }
        size_t first_zone = n;
        if (dnsbl && s && s->dnsbl_zones)
                for (char **z = s->dnsbl_zones; *z; z++) {
                        if (n == MAX_TASKS) {
                                Finding *f = findings_addf(out, "dnsbl.lookup", *z, STATUS_UNKNOWN,
                                                           _("more than %d blocklist zones: %s and later ones are not "
                                                             "checked"), (int) (MAX_TASKS - first_zone), *z);
                                if (!f)
                                        return -ENOMEM;
                                break;
                        }
                        tasks[n++] = (Task) { .fn = task_dnsbl, .zone = *z };
                }

        /* Every lookup chain at once, each in its own fiber on the caller's loop. */
        void *args[MAX_TASKS];
        for (size_t i = 0; i < n; i++) {
                tasks[i].run = &run;
                args[i] = &tasks[i];
        }
        r = fiber_run_all(task_fiber, args, n, NULL);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        findings_done(&tasks[i].out);
                return r;
        }

        for (size_t i = 0; i < n; i++) {
                Task *t = &tasks[i];
                if (t->error < 0 && r == 0)
                        r = t->error;
                /* the time of the lookup chain behind each finding (for the benchmark and for
                 * spotting a slow resolver) */
                for (size_t k = 0; k < t->out.n; k++) {
                        /* An unknown finding had no answer: its time is no latency. */
                        if (t->out.items[k].status == STATUS_UNKNOWN)
                                continue;
                        if (!finding_add_metric(&t->out.items[k], "latency_ms", t->elapsed_ms, "ms") && r == 0)
                                r = -ENOMEM;
                }
                int k = findings_move(out, &t->out);
                if (k < 0 && r == 0)
                        r = k;
                findings_done(&t->out);
        }
        return r;
}
