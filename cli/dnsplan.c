/* The DNS plan at the end of `mxdeck setup`: the records to publish (as `mxdeck dns
 * records` prints them, with the DKIM key of the signing selector), the reverse DNS to ask
 * the hosting provider for, then the dns.* checks: what is already right, and what is
 * still missing or wrong with its remedy. This is the part the guides leave to the reader. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"
#include "dnsplan.h"
#include "dns-records.h"
#include "dns.h"
#include "macro.h"
#include "probe.h"
#include "settings.h"

#define MAX_ADDRS 16
#define PROBE_TIMEOUT_MS 2000

static const char *mail_domain(const Answers *a, size_t i) {
        return i == 0 ? a->domain : a->domains[i - 1];
}

/* One quick question first: without a resolver that answers, every check would wait for its
 * whole time limit to say "unknown". */
static bool resolver_answers(const char *resolver, const char *domain) {
        _cleanup_(dns_client_freep) DnsClient *c = NULL;
        _cleanup_(dns_answer_done) DnsAnswer ans = {};
        _cleanup_free_ char *err = NULL;

        if (dns_client_new(resolver, PROBE_TIMEOUT_MS, &c, &err) < 0 || dns_query(c, domain, 6 /* SOA */, &ans) < 0)
                return false;
        return ans.status != DNS_STATUS_TIMEOUT && ans.status != DNS_STATUS_ERROR;
}

static size_t plan_addrs(const Answers *a, SpfAddr *addrs, bool *ret_detected) {
        size_t n = 0;

        *ret_detected = false;
        if (a->public_ipv4 && inet_pton(AF_INET, a->public_ipv4, addrs[n].a) == 1)
                addrs[n++].family = AF_INET;
        if (a->public_ipv6 && inet_pton(AF_INET6, a->public_ipv6, addrs[n].a) == 1)
                addrs[n++].family = AF_INET6;
        if (!a->public_ipv4 || !a->public_ipv6) {
                SpfAddr found[MAX_ADDRS];
                int k = local_public_addrs(found, ELEMENTSOF(found));
                for (int i = 0; i < k && n < MAX_ADDRS; i++) {
                        /* a family the answers name is theirs; the other one is detected */
                        if ((found[i].family == AF_INET && a->public_ipv4) ||
                            (found[i].family == AF_INET6 && a->public_ipv6))
                                continue;
                        addrs[n++] = found[i];
                        *ret_detected = true;
                }
        }
        return n;
}

static void print_ptr(FILE *f, const Answers *a, const SpfAddr *addrs, size_t n, bool detected) {
        char buf[INET6_ADDRSTRLEN];
        bool v4 = false, v6 = false;

        fputs(_("\nReverse DNS (PTR): not in your zone. Ask your hosting provider, who owns the addresses,\n"
                "to point each address of this host at its name (the name Postfix greets with):\n"), f);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *rev = NULL;
                inet_ntop(addrs[i].family, addrs[i].a, buf, sizeof(buf));
                (void) dns_reverse_name(&addrs[i], &rev);
                fprintf(f, "  %-40s -> %s.   (%s)\n", buf, a->hostname, rev ? rev : "");
                v4 = v4 || addrs[i].family == AF_INET;
                v6 = v6 || addrs[i].family == AF_INET6;
        }
        if (!v4)
                fputs(_("  no public IPv4 address known: set [server] public_ipv4 in the answers\n"), f);
        if (!v6)
                fputs(_("  no public IPv6 address known: if the host has one, it needs a PTR as well (Gmail refuses "
                        "mail over IPv6 without one), or let Postfix send over IPv4 only "
                        "(postconf -e inet_protocols=ipv4)\n"), f);
        if (detected)
                fputs(_("  (addresses detected on this machine's interfaces; behind NAT, set [server] public_ipv4 "
                        "and public_ipv6)\n"), f);
}

static void print_finding(FILE *f, const Finding *x) {
        fprintf(f, "  [%s] %s %s: %s\n", status_to_string(x->status), x->id, strempty(x->target), strempty(x->summary));
        if (x->status == STATUS_OK)
                return;
        for (const char *r = x->remedy; r && *r;) {
                size_t len = strcspn(r, "\n");
                fprintf(f, "      %.*s\n", (int) len, r);
                r += len;
                if (*r)
                        r++;
        }
        for (size_t i = 0; i < x->n_commands; i++)
                fprintf(f, "      $ %s\n", x->commands[i]);
}

int setup_dns_plan(FILE *f, const Answers *a, DistroFamily family, bool systemd) {
        SpfAddr addrs[MAX_ADDRS];
        bool detected;
        size_t n_addrs = plan_addrs(a, addrs, &detected);
        int r;

        fputs(_("\n=== DNS plan ===\nThe records to publish in the zone of each mail domain (zone-file syntax; a DNS "
                "panel takes the same name, type and value):\n\n"), f);
        for (size_t i = 0; mail_domain(a, i); i++) {
                _cleanup_(records_freep) RecordSet *set = NULL;
                RecordInput in = {
                        .domain = mail_domain(a, i),
                        .host = a->hostname,
                        .addrs = addrs,
                        .n_addrs = n_addrs,
                };
                r = records_compute(&in, &set);
                if (r < 0)
                        return r;
                render_records_zone(f, set, false);
                fputc('\n', f);
        }
        /* signed domains that do not receive mail here need only their DKIM record */
        for (char **d = a->dkim_domains; a->dkim_enabled && d && *d; d++) {
                bool mail = false;
                for (size_t i = 0; mail_domain(a, i); i++)
                        mail = mail || streq(mail_domain(a, i), *d);
                if (mail)
                        continue;
                _cleanup_(records_freep) RecordSet *set = NULL;
                RecordInput in = { .domain = *d, .host = a->hostname };
                r = records_compute(&in, &set);
                if (r < 0)
                        return r;
                fprintf(f, _("; %s: mail from it is signed here; its zone needs the DKIM record:\n"), *d);
                for (size_t i = 0; i < set->n_records; i++) {
                        if (!strstr(set->records[i].name, "._domainkey.") || !set->records[i].strings)
                                continue;
                        fprintf(f, "%s IN TXT", set->records[i].name);
                        for (char **s = set->records[i].strings; *s; s++)
                                fprintf(f, " \"%s\"", *s);
                        fputc('\n', f);
                }
                fputc('\n', f);
        }
        print_ptr(f, a, addrs, n_addrs, detected);
        return setup_dns_checks(f, a, family, systemd);
}

int setup_dns_checks(FILE *f, const Answers *a, DistroFamily family, bool systemd) {
        Settings settings = {};
        int r;

        r = settings_init(&settings);
        if (r < 0)
                return r;
        (void) settings_load_default(&settings, NULL);
        static const char *const only[] = { "dns", NULL };
        if (!resolver_answers(settings.resolver, a->domain)) {
                fprintf(f, _("\nDNS checks left out: the resolver (%s) does not answer from here. Run 'mxdeck check "
                             "--only dns' once it does.\n"),
                        settings.resolver ? settings.resolver : _("the resolvers of /etc/resolv.conf"));
                settings_done(&settings);
                return 0;
        }
        for (size_t i = 0; mail_domain(a, i); i++) {
                const char *d = mail_domain(a, i);
                FindingList list = {};
                CheckContext ctx = {
                        .settings = &settings,
                        .family = family,
                        .systemd = systemd,
                        .only = only,
                        .host = a->hostname,
                        .host_from_flag = true,
                        .domain = d,
                };
                fprintf(f, _("\nDNS checks for %s (asked %s):\n"), d,
                        settings.resolver ? settings.resolver : _("the resolvers of /etc/resolv.conf"));
                r = checks_run(&ctx, &list);
                if (r < 0) {
                        settings_done(&settings);
                        return r;
                }
                unsigned ok = 0, other = 0;
                for (size_t j = 0; j < list.n; j++)
                        list.items[j].status == STATUS_OK ? ok++ : other++;
                fprintf(f, _(" already right (%u):\n"), ok);
                for (size_t j = 0; j < list.n; j++)
                        if (list.items[j].status == STATUS_OK)
                                print_finding(f, &list.items[j]);
                fprintf(f, _(" still missing or wrong (%u), with what to do:\n"), other);
                for (size_t j = 0; j < list.n; j++)
                        if (list.items[j].status != STATUS_OK)
                                print_finding(f, &list.items[j]);
                findings_done(&list);
        }
        settings_done(&settings);
        fputs(_("\nRecords take the zone's TTL to be seen; run 'mxdeck check --only dns' to look again.\n"), f);
        return 0;
}
