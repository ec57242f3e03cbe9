/* What to publish: MX, A/AAAA, SPF, DKIM (from the key file), DMARC in stages, optional
 * MTA-STS and TLS-RPT, and the PTR records to request from the hosting provider. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dns-records.h"
#include "dns.h"
#include "macro.h"

bool addr_is_public(const SpfAddr *a) {
        static const struct {
                const char *net;
                int prefix;
        } private_nets[] = {
                { "0.0.0.0", 8 }, { "10.0.0.0", 8 }, { "127.0.0.0", 8 }, { "169.254.0.0", 16 },
                { "172.16.0.0", 12 }, { "192.168.0.0", 16 }, { "100.64.0.0", 10 },
                { "::1", 128 }, { "::", 128 }, { "fc00::", 7 }, { "fe80::", 10 }, { "::ffff:0.0.0.0", 96 },
        };
        for (size_t i = 0; i < ELEMENTSOF(private_nets); i++) {
                SpfAddr n;
                if (spf_addr_from_string(private_nets[i].net, &n) >= 0 &&
                    spf_addr_in_network(a, &n, private_nets[i].prefix))
                        return false;
        }
        return true;
}

int local_public_addrs(SpfAddr *ret, size_t max) {
        struct ifaddrs *ifa = NULL;
        size_t n = 0;
        if (getifaddrs(&ifa) < 0)
                return negative_errno();
        for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next) {
                SpfAddr a = {};
                if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
                        continue;
                if (i->ifa_addr->sa_family == AF_INET) {
                        a.family = AF_INET;
                        memcpy(a.a, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
                } else if (i->ifa_addr->sa_family == AF_INET6) {
                        a.family = AF_INET6;
                        memcpy(a.a, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
                } else
                        continue;
                if (!addr_is_public(&a))
                        continue;
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        dup = dup || (ret[k].family == a.family && memcmp(ret[k].a, a.a, 16) == 0);
                if (!dup)
                        ret[n++] = a;
        }
        freeifaddrs(ifa);
        return (int) n;
}

int txt_split(const char *text, size_t max, char ***ret) {
        size_t len = strlen(text), n = len / max + 2;
        char **v = calloc(n, sizeof(char *));
        size_t k = 0;
        if (!v)
                return -ENOMEM;
        for (size_t off = 0; off < len || k == 0; off += max) {
                if (!(v[k++] = strndup(text + off, MIN(max, len - off)))) {
                        strv_free(v);
                        return -ENOMEM;
                }
                if (len == 0)
                        break;
        }
        *ret = v;
        return 0;
}

RecordSet *records_free(RecordSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_records; i++) {
                free(s->records[i].name);
                free(s->records[i].value);
                strv_free(s->records[i].strings);
        }
        free(s->records);
        for (size_t i = 0; i < s->n_ptr; i++) {
                free(s->ptr[i].reverse);
                free(s->ptr[i].target);
        }
        free(s->ptr);
        strv_free(s->dmarc_stages);
        free(s->domain);
        free(s->host);
        free(s->dkim_selector);
        free(s->dkim_key_path);
        free(s->mta_sts_policy);
        free(s);
        return NULL;
}

static int add(RecordSet *s, const char *name, const char *type, const char *value, const char *purpose) {
        PublishRecord *n = reallocarray(s->records, s->n_records + 1, sizeof(PublishRecord));
        if (!n)
                return -ENOMEM;
        s->records = n;
        PublishRecord *r = &n[s->n_records];
        *r = (PublishRecord) { .type = type, .purpose = purpose };
        if (asprintf(&r->name, "%s.", name) < 0) {
                r->name = NULL;
                return -ENOMEM;
        }
        r->value = strdup(value);
        if (!r->value) {
                free(r->name);
                return -ENOMEM;
        }
        if (streq(type, "TXT") && txt_split(value, TXT_STRING_MAX, &r->strings) < 0) {
                free(r->name);
                free(r->value);
                return -ENOMEM;
        }
        s->n_records++;
        return 0;
}

static int addf(RecordSet *s, const char *name, const char *type, const char *purpose, const char *fmt, ...)
        _printf_(5, 6);
static int addf(RecordSet *s, const char *name, const char *type, const char *purpose, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return add(s, name, type, v, purpose);
}

int records_compute(const RecordInput *in, RecordSet **ret) {
        _cleanup_(records_freep) RecordSet *s = calloc(1, sizeof(RecordSet));
        _cleanup_free_ char *name = NULL;
        char buf[INET6_ADDRSTRLEN];
        int r;

        if (!s)
                return -ENOMEM;
        if (!(s->domain = strdup(in->domain)) || !(s->host = strdup(in->host)))
                return -ENOMEM;

        r = addf(s, in->domain, "MX", N_("mail for the domain goes to this host"), "10 %s.", in->host);
        if (r < 0)
                return r;
        /* A zone may only hold names under its own; a host elsewhere gets its A/AAAA there */
        size_t hl = strlen(in->host), dl = strlen(in->domain);
        s->host_outside = !(hl == dl ? strcasecmp(in->host, in->domain) == 0
                                     : hl > dl && in->host[hl - dl - 1] == '.' &&
                                               strcasecmp(in->host + hl - dl, in->domain) == 0);
        for (size_t i = 0; i < in->n_addrs && !s->host_outside; i++) {
                inet_ntop(in->addrs[i].family, in->addrs[i].a, buf, sizeof(buf));
                r = add(s, in->host, in->addrs[i].family == AF_INET ? "A" : "AAAA", buf,
                        N_("the host's address (the PTR must lead back to this name)"));
                if (r < 0)
                        return r;
        }
        r = add(s, in->domain, "TXT", "v=spf1 mx -all", N_("SPF: only the servers in MX send mail for the domain"));
        if (r < 0)
                return r;

        /* DKIM from the key this server signs with */
        _cleanup_free_ char *selector = NULL, *path = NULL, *b64 = NULL;
        r = dkim_local_key(in->root, in->domain, in->selector, &selector, &path);
        if (r < 0)
                return r;
        if (r > 0) {
                DkimKeyType type;
                r = dkim_public_from_private(path, &type, &b64, &s->dkim_bits);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        if (asprintf(&name, "%s._domainkey.%s", selector, in->domain) < 0)
                                return -ENOMEM;
                        r = addf(s, name, "TXT", N_("DKIM: the public key receivers verify signatures with"),
                                 "v=DKIM1; k=%s; p=%s", type == DKIM_KEY_RSA ? "rsa" : "ed25519", b64);
                        if (r < 0)
                                return r;
                        s->dkim_selector = TAKE_PTR(selector);
                        s->dkim_key_path = TAKE_PTR(path);
                }
        }

        /* DMARC: start by only watching */
        free(name);
        if (asprintf(&name, "_dmarc.%s", in->domain) < 0)
                return -ENOMEM;
        r = addf(s, name, "TXT", N_("DMARC, stage 1: report only (p=none); reports to a local mailbox"),
                 "v=DMARC1; p=none; rua=mailto:dmarc@%s", in->domain);
        if (r < 0)
                return r;
        s->dmarc_stages = calloc(4, sizeof(char *));
        if (!s->dmarc_stages ||
            asprintf(&s->dmarc_stages[0], "v=DMARC1; p=quarantine; pct=25; rua=mailto:dmarc@%s", in->domain) < 0 ||
            asprintf(&s->dmarc_stages[1], "v=DMARC1; p=quarantine; rua=mailto:dmarc@%s", in->domain) < 0 ||
            asprintf(&s->dmarc_stages[2], "v=DMARC1; p=reject; rua=mailto:dmarc@%s", in->domain) < 0)
                return -ENOMEM;

        if (in->mta_sts) {
                free(name);
                if (asprintf(&name, "_mta-sts.%s", in->domain) < 0)
                        return -ENOMEM;
                r = addf(s, name, "TXT", N_("MTA-STS: a policy exists (change id when the policy changes)"),
                         "v=STSv1; id=%s", in->mta_sts_id);
                if (r < 0)
                        return r;
                free(name);
                if (asprintf(&name, "mta-sts.%s", in->domain) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < in->n_addrs; i++) {
                        inet_ntop(in->addrs[i].family, in->addrs[i].a, buf, sizeof(buf));
                        r = add(s, name, in->addrs[i].family == AF_INET ? "A" : "AAAA", buf,
                                N_("MTA-STS: the HTTPS host serving /.well-known/mta-sts.txt"));
                        if (r < 0)
                                return r;
                }
                free(name);
                if (asprintf(&name, "_smtp._tls.%s", in->domain) < 0)
                        return -ENOMEM;
                r = addf(s, name, "TXT", N_("TLS-RPT: where senders report TLS failures"),
                         "v=TLSRPTv1; rua=mailto:tlsrpt@%s", in->domain);
                if (r < 0)
                        return r;
                if (asprintf(&s->mta_sts_policy, "version: STSv1\nmode: testing\nmx: %s\nmax_age: 604800\n",
                             in->host) < 0)
                        return -ENOMEM;
        }

        /* PTR: not in this zone; the owner of the address block sets it */
        s->ptr = calloc(MAX(in->n_addrs, (size_t) 1), sizeof(PtrRequest));
        if (!s->ptr)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_addrs; i++) {
                PtrRequest *p = &s->ptr[s->n_ptr];
                _cleanup_free_ char *rev = NULL;
                p->addr = in->addrs[i];
                if (dns_reverse_name(&in->addrs[i], &rev) < 0 || asprintf(&p->reverse, "%s.", rev) < 0 ||
                    asprintf(&p->target, "%s.", in->host) < 0)
                        return -ENOMEM;
                s->n_ptr++;
        }
        *ret = TAKE_PTR(s);
        return 0;
}
