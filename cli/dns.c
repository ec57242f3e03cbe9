/* `mxdeck dns records`: the DNS records to publish for this mail server, as a zone file
 * fragment or JSON. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "dns-records.h"
#include "dns.h"
#include "dnsplan.h"
#include "macro.h"
#include "termsafe.h"
#include "verbs.h"

const char verb_dns_usage[] = N_(
        "Usage: mxdeck dns records [OPTIONS]\n"
        "\n"
        "Print the DNS records this mail server needs, computed from its configuration:\n"
        "MX, A/AAAA, SPF, DKIM (from the signing key; long keys split into strings of at\n"
        "most 255 bytes, which DNS panels accept), DMARC to start with and its later\n"
        "stages, optionally MTA-STS and TLS-RPT, and the PTR records to ask the hosting\n"
        "provider for. The zone output is a zone-file fragment: add it after the SOA and\n"
        "NS records of the domain's zone.\n"
        "\n"
        "Options:\n"
        "      --domain NAME      mail domain (default: Postfix's mydomain; Unicode names\n"
        "                         are converted with IDNA2008)\n"
        "      --host NAME        mail host name (default: Postfix's myhostname)\n"
        "      --address ADDR     the server's public address (repeatable; default: the\n"
        "                         public addresses of this machine's interfaces)\n"
        "      --selector NAME    DKIM selector (default: from the OpenDKIM KeyTable or\n"
        "                         /etc/mxdeck/dkim/SELECTOR.private)\n"
        "      --mta-sts          add MTA-STS and TLS-RPT records and the policy to serve\n"
        "      --format FORMAT    zone (default) or json\n"
        "      --config FILE      settings file instead of /etc/mxdeck/mxdeck.conf and\n"
        "                         ~/.config/mxdeck/mxdeck.conf\n"
        "  -h, --help             show this help\n");

static int ascii_or_usage(const char *what, const char *in, char **ret) {
        int r = dns_name_to_ascii(in, ret);
        if (r == -EINVAL) {
                _cleanup_free_ char *q = termsafe_strdup(in, 0);
                usage_error("dns", _("%s '%s' is not a valid domain name"), what, q ? q : "?");
        }
        return r;
}

static void print_txt(FILE *f, char *const *strings) {
        for (char *const *s = strings; *s; s++) {
                fputc('"', f);
                for (const char *c = *s; *c; c++) {
                        if (*c == '"' || *c == '\\')
                                fputc('\\', f);
                        fputc(*c, f);
                }
                fputs(s[1] ? "\" " : "\"", f);
        }
}

void render_records_zone(FILE *f, const RecordSet *s, bool mta_sts) {
        fprintf(f, _("; DNS records for %s (mail host %s), computed by mxdeck.\n"), s->domain, s->host);
        fputs(_("; Add them to the zone of the domain, after its SOA and NS records.\n"), f);
        fputs("$TTL 3600\n", f);
        for (size_t i = 0; i < s->n_records; i++) {
                const PublishRecord *r = &s->records[i];
                fprintf(f, "\n; %s\n", _(r->purpose));
                if (r->strings && r->strings[0] && r->strings[1])
                        fprintf(f, _("; (%zu bytes, published as several strings of at most 255 bytes: receivers join "
                                     "them without spaces)\n"), strlen(r->value));
                fprintf(f, "%s IN %s ", r->name, r->type);
                if (r->strings)
                        print_txt(f, r->strings);
                else
                        fputs(r->value, f);
                fputc('\n', f);
        }
        if (s->host_outside)
                fprintf(f, _("\n; %s is not under %s: publish its A/AAAA records in its own zone.\n"), s->host,
                        s->domain);
        if (!s->dkim_selector)
                fputs(_("\n; No DKIM key found (looked in /etc/opendkim/KeyTable, /etc/opendkim/key.table and\n"
                        "; /etc/mxdeck/dkim/SELECTOR.private): set up DKIM signing first, then run this again.\n"), f);
        fputs(_("\n; DMARC, later stages: replace the _dmarc record step by step once the reports\n"
                "; (rua) show that all your mail passes SPF or DKIM:\n"), f);
        for (char **st = s->dmarc_stages; st && *st; st++)
                fprintf(f, ";   _dmarc.%s. IN TXT \"%s\"\n", s->domain, *st);
        if (mta_sts && s->mta_sts_policy) {
                fprintf(f, _("\n; MTA-STS: serve this file over HTTPS (a valid certificate for mta-sts.%s) as\n"
                             "; https://mta-sts.%s/.well-known/mta-sts.txt, then move mode to enforce:\n"),
                        s->domain, s->domain);
                for (const char *l = s->mta_sts_policy; *l;) {
                        size_t n = strcspn(l, "\n");
                        fprintf(f, ";   %.*s\n", (int) n, l);
                        l += n;
                        if (*l)
                                l++;
                }
        }
        if (s->n_ptr > 0) {
                fputs(_("\n; PTR (reverse DNS): not part of this zone. Ask your hosting provider, who owns\n"
                        "; the address, to set:\n"), f);
                for (size_t i = 0; i < s->n_ptr; i++)
                        fprintf(f, ";   %s IN PTR %s\n", s->ptr[i].reverse, s->ptr[i].target);
        } else
                fputs(_("\n; No public address found: pass --address ADDR to get the A/AAAA records and the\n"
                        "; PTR request.\n"), f);
}

static int render_records_json(FILE *f, const RecordSet *s) {
        json_t *root = json_object(), *recs = json_array(), *ptr = json_array(), *stages = json_array();
        char buf[64];
        int r = -ENOMEM;

        if (!root || !recs || !ptr || !stages)
                goto out;
        json_object_set_new(root, "schema", json_string("mxdeck.records/1"));
        json_object_set_new(root, "domain", json_string(s->domain));
        json_object_set_new(root, "host", json_string(s->host));
        json_object_set_new(root, "host_outside_domain", json_boolean(s->host_outside));
        for (size_t i = 0; i < s->n_records; i++) {
                const PublishRecord *p = &s->records[i];
                json_t *o = json_object();
                if (!o)
                        goto out;
                json_object_set_new(o, "name", json_string(p->name));
                json_object_set_new(o, "type", json_string(p->type));
                json_object_set_new(o, "ttl", json_integer(3600));
                json_object_set_new(o, "value", json_string(p->value));
                if (p->strings) {
                        json_t *a = json_array();
                        for (char **x = p->strings; a && *x; x++)
                                json_array_append_new(a, json_string(*x));
                        json_object_set_new(o, "strings", a);
                }
                json_object_set_new(o, "purpose", json_string(_(p->purpose)));
                json_array_append_new(recs, o);
        }
        for (size_t i = 0; i < s->n_ptr; i++) {
                json_t *o = json_object();
                if (!o)
                        goto out;
                json_object_set_new(o, "address", json_string(inet_ntop(s->ptr[i].addr.family, s->ptr[i].addr.a, buf,
                                                                        sizeof(buf))));
                json_object_set_new(o, "name", json_string(s->ptr[i].reverse));
                json_object_set_new(o, "ptr", json_string(s->ptr[i].target));
                json_array_append_new(ptr, o);
        }
        for (char **st = s->dmarc_stages; st && *st; st++)
                json_array_append_new(stages, json_string(*st));
        json_object_set_new(root, "records", recs);
        json_object_set_new(root, "ptr_requests", ptr);
        json_object_set_new(root, "dmarc_later_stages", stages);
        recs = ptr = stages = NULL;
        if (s->dkim_selector)
                json_object_set_new(root, "dkim", json_pack("{s:s, s:s, s:i}", "selector", s->dkim_selector, "key_file",
                                                            s->dkim_key_path, "bits", (int) s->dkim_bits));
        if (s->mta_sts_policy)
                json_object_set_new(root, "mta_sts_policy", json_string(s->mta_sts_policy));
        r = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? -EIO : 0;
        fputc('\n', f);
out:
        json_decref(root);
        json_decref(recs);
        json_decref(ptr);
        json_decref(stages);
        return r;
}

static int verb_dns_records(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL, *domain = NULL, *host = NULL;
        CliOptions opt;
        RunContext rc;
        int r;

        r = cli_options_parse(CLI_VERB_DNS_RECORDS, argc, argv, &opt, &error);
        if (r < 0) {
                usage_error("dns", "%s", error ? error : strerror(-r));
                return EXIT_USAGE;
        }
        if (opt.help) {
                cli_options_done(&opt);
                fputs(_(verb_dns_usage), stdout);
                return EXIT_OK;
        }
        /* Settings (for the time limit of postconf) and Postfix's names when not given. */
        r = run_context_build(&opt, 0, &rc, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck dns records: %s\n"), error ? error : strerror(-r));
                return EXIT_FAILED;
        }
        if (!rc.domain || !rc.host) {
                usage_error("dns", _("no %s: pass it with %s (Postfix is not configured)"), !rc.domain ? "domain" : "host",
                            !rc.domain ? "--domain" : "--host");
                run_context_done(&rc);
                return EXIT_USAGE;
        }
        if (ascii_or_usage("--domain", rc.domain, &domain) < 0 || ascii_or_usage("--host", rc.host, &host) < 0) {
                run_context_done(&rc);
                return EXIT_USAGE;
        }
        SpfAddr addrs[CLI_MAX_ADDRS];
        size_t n_addrs = rc.opt.n_addrs;
        memcpy(addrs, rc.opt.addrs, sizeof(addrs));
        if (n_addrs == 0) {
                r = local_public_addrs(addrs, ELEMENTSOF(addrs));
                n_addrs = r > 0 ? (size_t) r : 0;
        }
        const char *selector = rc.opt.selector;
        bool mta_sts = rc.opt.mta_sts, json = rc.opt.json;

        char id[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(id, sizeof(id), "%Y%m%d%H%M%S", gmtime_r(&now, &tm));
        RecordInput in = {
                .domain = domain,
                .host = host,
                .addrs = addrs,
                .n_addrs = n_addrs,
                .selector = selector,
                .mta_sts = mta_sts,
                .mta_sts_id = id,
        };
        _cleanup_(records_freep) RecordSet *set = NULL;
        r = records_compute(&in, &set);
        run_context_done(&rc); /* selector pointed into argv, not into rc */
        if (r < 0) {
                fprintf(stderr, _("mxdeck dns records: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        if (json)
                r = render_records_json(stdout, set);
        else
                render_records_zone(stdout, set, mta_sts);
        if (fflush(stdout) != 0 || r < 0) {
                fprintf(stderr, _("mxdeck dns records: cannot write: %s\n"), strerror(r < 0 ? -r : EIO));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

int verb_dns(int argc, char *argv[]) {
        if (argc < 2) {
                usage_error("dns", _("missing sub-command (records)"));
                return EXIT_USAGE;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                fputs(_(verb_dns_usage), stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "records"))
                return verb_dns_records(argc - 1, argv + 1);
        _cleanup_free_ char *q = termsafe_strdup(argv[1], 0);
        usage_error("dns", _("unknown sub-command '%s' (records)"), q ? q : "?");
        return EXIT_USAGE;
}
