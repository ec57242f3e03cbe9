/* DNS client for the checks: ldns builds and parses the packets; the transport is ours so
 * that every query honours one deadline (UDP with retries, TCP when truncated). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <idn2.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dns.h"
#include "fileio.h"
#include "deadline.h"
#include "fiber.h"
#include "macro.h"

#define DNS_TRY_MS 1500u      /* wait for one UDP try before asking again */
#define DNS_CACHE_MAX 512
#define DNS_CACHE_MAX_BYTES (4u * 1024 * 1024) /* a hostile resolver cannot make us hoard */

typedef struct CacheEntry {
        char *name;
        uint16_t type;
        unsigned flags;
        DnsAnswer answer;
} CacheEntry;

struct DnsClient {
        struct sockaddr_storage servers[DNS_MAX_SERVERS];
        socklen_t server_len[DNS_MAX_SERVERS];
        size_t n_servers;
        char servers_text[256];
        uint64_t deadline_usec;   /* CLOCK_MONOTONIC */
        /* Used from the fibers of one loop only (one thread): no lock. */
        CacheEntry *cache;
        size_t n_cache;
        size_t cache_bytes;
};

static const char *const status_names[_DNS_STATUS_MAX] = {
        [DNS_STATUS_OK] = "ok",
        [DNS_STATUS_NODATA] = "no data",
        [DNS_STATUS_NXDOMAIN] = "NXDOMAIN",
        [DNS_STATUS_SERVFAIL] = "SERVFAIL",
        [DNS_STATUS_REFUSED] = "REFUSED",
        [DNS_STATUS_TIMEOUT] = "timeout",
        [DNS_STATUS_ERROR] = "error",
};

const char *dns_status_to_string(DnsStatus s) {
        return s < _DNS_STATUS_MAX ? status_names[s] : "?";
}

/* --- configuration --- */

static int parse_server(const char *s, uint16_t default_port, struct sockaddr_storage *ss, socklen_t *len) {
        _cleanup_free_ char *host = NULL;
        const char *port = NULL;
        uint64_t p = default_port;
        struct in6_addr a6;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET6, s, &a6) == 1)
                host = strdup(s);
        else if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || (end[1] && end[1] != ':'))
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (end - s - 1));
                port = end[1] ? end + 2 : NULL;
        } else {
                const char *colon = strchr(s, ':');
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
                port = colon ? colon + 1 : NULL;
        }
        if (!host)
                return -ENOMEM;
        if (port && (parse_uint64(port, &p) < 0 || p == 0 || p > 65535))
                return -EINVAL;
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) p);
                *len = sizeof(*in);
                return 0;
        }
        /* "fe80::1%eth0" scope ids are not supported: a resolver is a routable address */
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) p);
                *len = sizeof(*in6);
                return 0;
        }
        return -EINVAL;
}

static void add_server_text(DnsClient *c, const struct sockaddr_storage *ss) {
        char addr[INET6_ADDRSTRLEN] = "";
        size_t n = strlen(c->servers_text);
        uint16_t port;
        if (ss->ss_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *) ss)->sin_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in *) ss)->sin_port);
                snprintf(c->servers_text + n, sizeof(c->servers_text) - n, "%s%s:%u", n ? ", " : "", addr, port);
        } else {
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ss)->sin6_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
                snprintf(c->servers_text + n, sizeof(c->servers_text) - n, "%s[%s]:%u", n ? ", " : "", addr, port);
        }
}

static int load_resolv_conf(DnsClient *c) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        if (read_file_bounded("/etc/resolv.conf", 64 * 1024, &text, &size) >= 0)
                for (char *line = text; line && *line && c->n_servers < DNS_MAX_SERVERS;) {
                        char *next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        char *p = line + strspn(line, " \t");
                        if (strncmp(p, "nameserver", 10) == 0 && (p[10] == ' ' || p[10] == '\t')) {
                                p += 10;
                                p += strspn(p, " \t");
                                p[strcspn(p, " \t#;")] = 0;
                                size_t i = c->n_servers;
                                if (parse_server(p, 53, &c->servers[i], &c->server_len[i]) >= 0)
                                        c->n_servers++;
                        }
                        line = next;
                }
        if (c->n_servers == 0) {
                /* resolv.conf(5): no nameserver line means the local one */
                (void) parse_server("127.0.0.1", 53, &c->servers[0], &c->server_len[0]);
                c->n_servers = 1;
        }
        return 0;
}

int dns_client_new(const char *resolver, unsigned deadline_ms, DnsClient **ret, char **ret_error) {
        DnsClient *c = calloc(1, sizeof(DnsClient));
        int r;
        if (!c)
                return -ENOMEM;
        if (resolver && *resolver) {
                r = parse_server(resolver, 53, &c->servers[0], &c->server_len[0]);
                if (r < 0) {
                        free(c);
                        if (r == -EINVAL && ret_error &&
                            asprintf(ret_error, _("'%s' is not ADDR, ADDR:PORT or [IPv6]:PORT"), resolver) < 0)
                                *ret_error = NULL;
                        return r;
                }
                c->n_servers = 1;
        } else
                (void) load_resolv_conf(c);
        for (size_t i = 0; i < c->n_servers; i++)
                add_server_text(c, &c->servers[i]);
        c->deadline_usec = now_usec() + (uint64_t) MAX(deadline_ms, 1u) * 1000u;
        *ret = c;
        return 0;
}

DnsClient *dns_client_free(DnsClient *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_cache; i++) {
                free(c->cache[i].name);
                dns_answer_done(&c->cache[i].answer);
        }
        free(c->cache);
        free(c);
        return NULL;
}

const char *dns_client_servers(const DnsClient *c) {
        return c->servers_text;
}

unsigned dns_client_remaining_ms(const DnsClient *c) {
        uint64_t now = now_usec();
        return now >= c->deadline_usec ? 0 : (unsigned) ((c->deadline_usec - now) / 1000u);
}

int dns_client_ldns_resolver(const DnsClient *c, ldns_resolver **ret) {
        ldns_resolver *res = ldns_resolver_new();
        if (!res)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_servers; i++) {
                const struct sockaddr_storage *ss = &c->servers[i];
                ldns_rdf *a = ss->ss_family == AF_INET
                                      ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &((const struct sockaddr_in *) ss)->sin_addr)
                                      : ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16,
                                                              &((const struct sockaddr_in6 *) ss)->sin6_addr);
                if (!a || ldns_resolver_push_nameserver(res, a) != LDNS_STATUS_OK) {
                        ldns_rdf_deep_free(a);
                        ldns_resolver_deep_free(res);
                        return -ENOMEM;
                }
                ldns_rdf_deep_free(a);
        }
        const struct sockaddr_storage *ss = &c->servers[0];
        ldns_resolver_set_port(res, ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *) ss)->sin_port
                                                                    : ((const struct sockaddr_in6 *) ss)->sin6_port));
        /* ldns waits per try; one try per server within what is left of the deadline */
        unsigned ms = MAX(dns_client_remaining_ms(c) / (unsigned) MAX(c->n_servers, (size_t) 1), 1u);
        ldns_resolver_set_timeout(res, (struct timeval) { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 });
        ldns_resolver_set_retry(res, 1);
        ldns_resolver_set_retrans(res, 0);
        ldns_resolver_set_random(res, false);
        ldns_resolver_set_dnssec(res, true);
        ldns_resolver_set_dnssec_cd(res, true);
        ldns_resolver_set_edns_udp_size(res, 1232);
        ldns_resolver_set_fallback(res, true);
        *ret = res;
        return 0;
}

void dns_answer_done(DnsAnswer *a) {
        for (size_t i = 0; i < a->n_records; i++) {
                free(a->records[i].text);
                free(a->records[i].data);
        }
        free(a->records);
        free(a->cname);
        free(a->error);
        *a = (DnsAnswer) {};
}

static int answer_copy(const DnsAnswer *src, DnsAnswer *dst) {
        *dst = *src;
        dst->records = NULL;
        dst->cname = dst->error = NULL;
        dst->n_records = 0;
        if (src->cname && !(dst->cname = strdup(src->cname)))
                goto oom;
        if (src->error && !(dst->error = strdup(src->error)))
                goto oom;
        if (src->n_records > 0) {
                dst->records = calloc(src->n_records, sizeof(DnsRecord));
                if (!dst->records)
                        goto oom;
                for (size_t i = 0; i < src->n_records; i++) {
                        DnsRecord *d = &dst->records[i];
                        *d = src->records[i];
                        d->text = NULL;
                        d->data = NULL;
                        dst->n_records++;
                        if (src->records[i].text && !(d->text = strdup(src->records[i].text)))
                                goto oom;
                        if (src->records[i].data) {
                                d->data = malloc(src->records[i].data_size);
                                if (!d->data)
                                        goto oom;
                                memcpy(d->data, src->records[i].data, src->records[i].data_size);
                        }
                }
        }
        return 0;
oom:
        dns_answer_done(dst);
        return -ENOMEM;
}

/* --- transport --- */

/* Through the fiber's loop when in one, so every other lookup goes on meanwhile. */
static int wait_fd(int fd, short events, uint64_t until) {
        Deadline d = { until };
        if (deadline_passed(d))
                return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int r = fiber_poll(&p, 1, d);
        if (r < 0)
                return r;
        return r == 0 ? -ETIMEDOUT : 0;
}

/* One UDP exchange with a server; the reply must carry our id. */
static int udp_exchange(const struct sockaddr_storage *ss, socklen_t len, const uint8_t *q, size_t qlen, uint16_t id,
                        uint64_t until, uint8_t *buf, size_t bufsize, size_t *ret_len) {
        _cleanup_close_ int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* connected: the kernel drops datagrams from anyone else */
        if (connect(fd, (const struct sockaddr *) ss, len) < 0)
                return -errno;
        if (send(fd, q, qlen, 0) < 0)
                return -errno;
        for (;;) {
                int r = wait_fd(fd, POLLIN, until);
                if (r < 0)
                        return r;
                ssize_t n = recv(fd, buf, bufsize, 0);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return -errno; /* ECONNREFUSED: nothing listens there */
                }
                if (n >= 12 && ((buf[0] << 8) | buf[1]) == id) {
                        *ret_len = (size_t) n;
                        return 0;
                }
        }
}

static int read_full(int fd, uint8_t *p, size_t n, uint64_t until) {
        while (n > 0) {
                ssize_t k = read(fd, p, n);
                if (k == 0)
                        return -ECONNRESET;
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        int r = wait_fd(fd, POLLIN, until);
                        if (r < 0)
                                return r;
                        continue;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int tcp_exchange(const struct sockaddr_storage *ss, socklen_t len, const uint8_t *q, size_t qlen, uint64_t until,
                        uint8_t *buf, size_t bufsize, size_t *ret_len) {
        _cleanup_close_ int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        uint8_t hdr[2] = { (uint8_t) (qlen >> 8), (uint8_t) qlen };
        int r;

        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) ss, len) < 0) {
                if (errno != EINPROGRESS)
                        return -errno;
                r = wait_fd(fd, POLLOUT, until);
                if (r < 0)
                        return r;
                int err = 0;
                socklen_t el = sizeof(err);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                        return -errno;
                if (err)
                        return -err;
        }
        struct iovec iov[2] = { { hdr, 2 }, { (void *) q, qlen } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        r = wait_fd(fd, POLLOUT, until);
        if (r < 0)
                return r;
        /* a query is small: the socket buffer takes it at once */
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t) (qlen + 2))
                return -EIO;
        r = read_full(fd, hdr, 2, until);
        if (r < 0)
                return r;
        size_t n = (size_t) hdr[0] << 8 | hdr[1];
        if (n < 12 || n > bufsize)
                return -EBADMSG;
        r = read_full(fd, buf, n, until);
        if (r < 0)
                return r;
        *ret_len = n;
        return 0;
}

/* --- answers --- */

static char *dname_text(const ldns_rdf *rdf) {
        if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
                return NULL;
        char *s = ldns_rdf2str(rdf);
        if (!s)
                return NULL;
        size_t n = strlen(s);
        if (n > 1 && s[n - 1] == '.')
                s[n - 1] = 0;
        for (char *p = s; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return s;
}

static bool owner_is(const ldns_rr *rr, const char *name) {
        _cleanup_free_ char *o = dname_text(ldns_rr_owner(rr));
        return o && strcasecmp(o, name) == 0;
}

static int add_record(DnsAnswer *a, const ldns_rr *rr, uint16_t type) {
        DnsRecord rec = { .type = type, .ttl = ldns_rr_ttl(rr) };

        if (a->n_records >= DNS_MAX_RECORDS) {
                a->truncated = true;
                return 0;
        }
        switch (type) {
        case LDNS_RR_TYPE_A:
        case LDNS_RR_TYPE_AAAA: {
                const ldns_rdf *f = ldns_rr_rdf(rr, 0);
                size_t want = type == LDNS_RR_TYPE_A ? 4 : 16;
                char buf[INET6_ADDRSTRLEN];
                if (!f || ldns_rdf_size(f) != want)
                        return 0;
                rec.addr.family = type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6;
                memcpy(rec.addr.a, ldns_rdf_data(f), want);
                inet_ntop(rec.addr.family, rec.addr.a, buf, sizeof(buf));
                rec.text = strdup(buf);
                break;
        }
        case LDNS_RR_TYPE_TXT: {
                size_t total = 0;
                for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
                        const ldns_rdf *f = ldns_rr_rdf(rr, i);
                        if (ldns_rdf_size(f) >= 1)
                                total += ldns_rdf_data(f)[0];
                }
                size_t keep = MIN(total, (size_t) DNS_MAX_TEXT);
                if (total > keep)
                        a->truncated = true;
                rec.text = malloc(keep + 1);
                if (!rec.text)
                        return -ENOMEM;
                size_t n = 0;
                for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
                        const ldns_rdf *f = ldns_rr_rdf(rr, i);
                        if (ldns_rdf_size(f) < 1)
                                continue;
                        size_t l = MIN((size_t) ldns_rdf_data(f)[0], ldns_rdf_size(f) - 1);
                        l = MIN(l, keep - n);
                        memcpy(rec.text + n, ldns_rdf_data(f) + 1, l);
                        n += l;
                        rec.n_strings++;
                }
                rec.text[n] = 0;
                /* a NUL inside a TXT string: keep the bytes before it only, and say so */
                if (strlen(rec.text) != n)
                        a->truncated = true;
                return (a->records = reallocarray(a->records, a->n_records + 1, sizeof(DnsRecord)))
                               ? (a->records[a->n_records++] = rec, 0)
                               : (free(rec.text), -ENOMEM);
        }
        case LDNS_RR_TYPE_MX: {
                const ldns_rdf *p = ldns_rr_rdf(rr, 0);
                if (!p || ldns_rdf_size(p) != 2)
                        return 0;
                rec.preference = ldns_rdf2native_int16(p);
                rec.text = dname_text(ldns_rr_rdf(rr, 1));
                break;
        }
        case LDNS_RR_TYPE_PTR:
        case LDNS_RR_TYPE_CNAME:
        case LDNS_RR_TYPE_NS:
                rec.text = dname_text(ldns_rr_rdf(rr, 0));
                break;
        case LDNS_RR_TYPE_TLSA: {
                if (ldns_rr_rd_count(rr) != 4)
                        return 0;
                const ldns_rdf *d = ldns_rr_rdf(rr, 3);
                if (ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 1 || ldns_rdf_size(ldns_rr_rdf(rr, 1)) != 1 ||
                    ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 1 || ldns_rdf_size(d) > 1024)
                        return 0;
                rec.tlsa_usage = ldns_rdf_data(ldns_rr_rdf(rr, 0))[0];
                rec.tlsa_selector = ldns_rdf_data(ldns_rr_rdf(rr, 1))[0];
                rec.tlsa_matching = ldns_rdf_data(ldns_rr_rdf(rr, 2))[0];
                rec.data_size = ldns_rdf_size(d);
                rec.data = malloc(MAX(rec.data_size, (size_t) 1));
                if (!rec.data)
                        return -ENOMEM;
                memcpy(rec.data, ldns_rdf_data(d), rec.data_size);
                rec.text = strdup("TLSA");
                break;
        }
        default:
                rec.text = strdup("");
                break;
        }
        if (!rec.text) {
                free(rec.data);
                return 0; /* malformed rdata: skipped */
        }
        DnsRecord *n = reallocarray(a->records, a->n_records + 1, sizeof(DnsRecord));
        if (!n) {
                free(rec.text);
                free(rec.data);
                return -ENOMEM;
        }
        a->records = n;
        a->records[a->n_records++] = rec;
        return 0;
}

static int answer_from_packet(const ldns_pkt *pkt, const char *name, uint16_t type, DnsAnswer *a) {
        ldns_rr_list *an = ldns_pkt_answer(pkt);
        _cleanup_free_ char *current = strdup(name);
        int r;

        if (!current)
                return -ENOMEM;
        a->rcode = ldns_pkt_get_rcode(pkt);
        a->ad = ldns_pkt_ad(pkt);
        switch (a->rcode) {
        case LDNS_RCODE_NOERROR: break;
        case LDNS_RCODE_NXDOMAIN: a->status = DNS_STATUS_NXDOMAIN; return 0;
        case LDNS_RCODE_SERVFAIL: a->status = DNS_STATUS_SERVFAIL; return 0;
        case LDNS_RCODE_REFUSED: a->status = DNS_STATUS_REFUSED; return 0;
        default:
                a->status = DNS_STATUS_ERROR;
                if (asprintf(&a->error, _("rcode %d"), a->rcode) < 0)
                        a->error = NULL;
                return 0;
        }
        /* follow the CNAME chain the resolver sent along */
        for (unsigned hop = 0; hop < DNS_MAX_CNAME_CHAIN && type != LDNS_RR_TYPE_CNAME; hop++) {
                char *next = NULL;
                for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
                        const ldns_rr *rr = ldns_rr_list_rr(an, i);
                        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && owner_is(rr, current)) {
                                next = dname_text(ldns_rr_rdf(rr, 0));
                                break;
                        }
                }
                if (!next)
                        break;
                free(current);
                current = next;
                free(a->cname);
                a->cname = strdup(current);
                if (!a->cname)
                        return -ENOMEM;
        }
        for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
                const ldns_rr *rr = ldns_rr_list_rr(an, i);
                if (ldns_rr_get_type(rr) != type || !owner_is(rr, current))
                        continue;
                r = add_record(a, rr, type);
                if (r < 0)
                        return r;
        }
        a->status = a->n_records > 0 ? DNS_STATUS_OK : DNS_STATUS_NODATA;
        return 0;
}

static int answer_from_wire(const uint8_t *wire, size_t len, const char *name, uint16_t type, DnsAnswer *a,
                            ldns_pkt **ret_pkt) {
        ldns_pkt *reply = NULL;
        ldns_status st = ldns_wire2pkt(&reply, wire, len);
        if (st != LDNS_STATUS_OK) {
                a->status = DNS_STATUS_ERROR;
                if (asprintf(&a->error, _("malformed answer: %s"), ldns_get_errorstr_by_id(st)) < 0)
                        a->error = NULL;
                return 0;
        }
        int r = answer_from_packet(reply, name, type, a);
        if (ret_pkt && r >= 0)
                *ret_pkt = reply;
        else
                ldns_pkt_free(reply);
        return r;
}

int dns_answer_from_wire(const uint8_t *wire, size_t len, const char *name, uint16_t type, DnsAnswer *ret) {
        *ret = (DnsAnswer) { .rcode = -1 };
        return answer_from_wire(wire, len, name, type, ret, NULL);
}

static int query_network(DnsClient *c, const char *name, uint16_t type, unsigned flags, DnsAnswer *a,
                         ldns_pkt **ret_pkt) {
        ldns_rdf *dname = ldns_dname_new_frm_str(name);
        ldns_pkt *q = NULL;
        uint8_t *wire = NULL, *buf = NULL;
        size_t wlen = 0, rlen = 0;
        int r = 0, last = -ETIMEDOUT;

        a->rcode = -1;
        if (!dname) {
                a->status = DNS_STATUS_ERROR;
                a->error = strdup(_("not a valid DNS name"));
                return 0;
        }
        q = ldns_pkt_query_new(dname, type, LDNS_RR_CLASS_IN, LDNS_RD | ((flags & DNS_QUERY_CD) ? LDNS_CD : 0));
        if (!q)
                return -ENOMEM;
        uint16_t id;
        if (getrandom(&id, sizeof(id), 0) != (ssize_t) sizeof(id))
                id = (uint16_t) (now_usec() ^ (uintptr_t) &id);
        ldns_pkt_set_id(q, id);
        ldns_pkt_set_edns_udp_size(q, 1232);
        ldns_pkt_set_edns_do(q, (flags & DNS_QUERY_DO) != 0);
        if (ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK) {
                ldns_pkt_free(q);
                return -ENOMEM;
        }
        ldns_pkt_free(q);
        buf = malloc(65535);
        if (!buf) {
                free(wire);
                return -ENOMEM;
        }

        /* Two rounds over the servers, each try waiting DNS_TRY_MS at most, all within the
         * deadline. */
        bool got = false;
        for (size_t attempt = 0; attempt < 2 * c->n_servers && !got; attempt++) {
                size_t s = attempt % c->n_servers;
                uint64_t now = now_usec();
                if (now >= c->deadline_usec)
                        break;
                uint64_t until = MIN(c->deadline_usec, now + (uint64_t) DNS_TRY_MS * 1000u);
                r = udp_exchange(&c->servers[s], c->server_len[s], wire, wlen, id, until, buf, 65535, &rlen);
                if (r < 0) {
                        last = r;
                        if (r == -ECONNREFUSED && c->n_servers == 1)
                                break; /* nothing listens: asking again will not help */
                        continue;
                }
                if (rlen >= 3 && (buf[2] & 0x02)) { /* TC: the full answer over TCP */
                        r = tcp_exchange(&c->servers[s], c->server_len[s], wire, wlen, c->deadline_usec, buf, 65535,
                                         &rlen);
                        if (r < 0) {
                                last = r;
                                continue;
                        }
                        a->over_tcp = true;
                }
                got = true;
        }
        free(wire);
        if (!got) {
                free(buf);
                a->status = last == -ETIMEDOUT ? DNS_STATUS_TIMEOUT : DNS_STATUS_ERROR;
                if (last != -ETIMEDOUT)
                        a->error = strdup(strerror(-last));
                return 0;
        }
        r = answer_from_wire(buf, rlen, name, type, a, ret_pkt);
        free(buf);
        return r;
}

int dns_query(DnsClient *c, const char *name, uint16_t type, DnsAnswer *ret) {
        return dns_query_full(c, name, type, 0, ret, NULL);
}

int dns_query_full(DnsClient *c, const char *name, uint16_t type, unsigned flags, DnsAnswer *ret, ldns_pkt **ret_pkt) {
        uint64_t t0 = now_usec();
        DnsAnswer a = {};
        int r;

        *ret = (DnsAnswer) {};
        if (ret_pkt)
                *ret_pkt = NULL;
        for (size_t i = 0; i < c->n_cache && !ret_pkt; i++)
                if (c->cache[i].type == type && c->cache[i].flags == flags && strcasecmp(c->cache[i].name, name) == 0) {
                        r = answer_copy(&c->cache[i].answer, ret);
                                        return r;
                }

        if (strlen(name) > 253) {
                ret->status = DNS_STATUS_ERROR;
                ret->rcode = -1;
                ret->error = strdup(_("name longer than 253 bytes"));
                return 0;
        }
        r = query_network(c, name, type, flags, &a, ret_pkt);
        if (r < 0) {
                dns_answer_done(&a);
                return r;
        }
        a.elapsed_ms = (unsigned) ((now_usec() - t0) / 1000);

        size_t bytes = strlen(name) + sizeof(CacheEntry);
        for (size_t i = 0; i < a.n_records; i++)
                bytes += sizeof(DnsRecord) + (a.records[i].text ? strlen(a.records[i].text) : 0) + a.records[i].data_size;
        if (c->n_cache < DNS_CACHE_MAX && c->cache_bytes + bytes <= DNS_CACHE_MAX_BYTES &&
            a.status != DNS_STATUS_TIMEOUT) {
                CacheEntry *n = reallocarray(c->cache, c->n_cache + 1, sizeof(CacheEntry));
                if (n) {
                        c->cache = n;
                        n[c->n_cache].name = strdup(name);
                        n[c->n_cache].type = type;
                        n[c->n_cache].flags = flags;
                        if (n[c->n_cache].name && answer_copy(&a, &n[c->n_cache].answer) >= 0) {
                                c->n_cache++;
                                c->cache_bytes += bytes;
                        }
                        else
                                free(n[c->n_cache].name);
                }
        }
        *ret = a;
        return 0;
}

/* --- names --- */

int dns_name_to_ascii(const char *name, char **ret) {
        char *out = NULL;
        size_t n = strlen(name);
        if (n == 0 || n > 1024)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        if (n > 1 && copy[n - 1] == '.')
                copy[n - 1] = 0;
        bool ascii = true;
        for (const char *p = copy; *p; p++)
                ascii = ascii && (unsigned char) *p < 0x80;
        if (ascii) {
                /* letters, digits, '-', '_' (for _dmarc and the like) and dots */
                for (char *p = copy; *p; p++) {
                        if (!isalnum((unsigned char) *p) && !strchr("-_.", *p))
                                return -EINVAL;
                        *p = (char) tolower((unsigned char) *p);
                }
                out = TAKE_PTR(copy);
        } else {
                int rc = idn2_to_ascii_8z(copy, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
                if (rc != IDN2_OK)
                        rc = idn2_to_ascii_8z(copy, &out, IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
                if (rc != IDN2_OK)
                        return rc == IDN2_MALLOC ? -ENOMEM : -EINVAL;
        }
        if (strlen(out) > 253 || out[0] == '.' || strstr(out, "..")) {
                free(out);
                return -EINVAL;
        }
        for (const char *l = out; *l;) {
                size_t len = strcspn(l, ".");
                if (len > 63) {
                        free(out);
                        return -EINVAL;
                }
                l += len;
                if (*l)
                        l++;
        }
        *ret = out;
        return 0;
}

int dns_reverse_name(const SpfAddr *a, char **ret) {
        char buf[80];
        if (a->family == AF_INET)
                snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", a->a[3], a->a[2], a->a[1], a->a[0]);
        else {
                size_t k = 0;
                for (int i = 15; i >= 0; i--)
                        k += (size_t) snprintf(buf + k, sizeof(buf) - k, "%x.%x.", a->a[i] & 15, a->a[i] >> 4);
                snprintf(buf + k, sizeof(buf) - k, "ip6.arpa");
        }
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* --- SPF callbacks --- */

static int status_errno(DnsStatus s) {
        switch (s) {
        case DNS_STATUS_TIMEOUT: return -ETIMEDOUT;
        case DNS_STATUS_SERVFAIL: return -EIO;
        case DNS_STATUS_REFUSED: return -ECONNREFUSED;
        default: return -EBADMSG;
        }
}

static int names_of(DnsClient *c, const char *name, uint16_t type, char ***ret) {
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        int r = dns_query(c, name, type, &a);
        if (r < 0)
                return r;
        if (a.status != DNS_STATUS_OK && !dns_status_is_void(a.status))
                return status_errno(a.status);
        char **v = calloc(a.n_records + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < a.n_records; i++)
                if (!(v[i] = strdup(a.records[i].text))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return (int) a.n_records;
}

static int spf_txt(void *u, const char *name, char ***ret) {
        return names_of(u, name, LDNS_RR_TYPE_TXT, ret);
}

static int spf_mx(void *u, const char *name, char ***ret) {
        return names_of(u, name, LDNS_RR_TYPE_MX, ret);
}

static int spf_addrs(void *u, const char *name, int family, SpfAddr **ret) {
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        int r = dns_query(u, name, family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, &a);
        if (r < 0)
                return r;
        if (a.status != DNS_STATUS_OK && !dns_status_is_void(a.status))
                return status_errno(a.status);
        SpfAddr *v = calloc(a.n_records + 1, sizeof(SpfAddr));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < a.n_records; i++)
                v[i] = a.records[i].addr;
        *ret = v;
        return (int) a.n_records;
}

static int spf_ptr(void *u, const SpfAddr *addr, char ***ret) {
        _cleanup_free_ char *rev = NULL;
        int r = dns_reverse_name(addr, &rev);
        if (r < 0)
                return r;
        return names_of(u, rev, LDNS_RR_TYPE_PTR, ret);
}

void dns_spf_ops(DnsClient *c, SpfDns *ret) {
        *ret = (SpfDns) { spf_txt, spf_addrs, spf_mx, spf_ptr, c };
}
