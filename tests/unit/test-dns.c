/* The DNS client against a scripted server on loopback: timeouts, UDP truncation then TCP,
 * malformed and oversized answers, answers with the wrong id, CNAME chains; and the name
 * helpers (IDN, reverse names, TXT splitting, DNSBL zone kinds). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns-checks.h"
#include "dns-records.h"
#include "dns.h"
#include "deadline.h"
#include "http.h"
#include "macro.h"

static int udp_fd = -1, tcp_fd = -1, stop_fd[2] = { -1, -1 };
static uint16_t port;
static struct sockaddr_in last_peer;
static pthread_t server;

static void add_rr(ldns_pkt *p, const char *text) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

/* The scripted answers, chosen by the first label of the question. Returns the wire size,
 * 0 for no answer. */
static size_t respond(const uint8_t *q, size_t qlen, bool tcp, uint8_t *out, size_t max) {
        ldns_pkt *query = NULL;
        if (ldns_wire2pkt(&query, q, qlen) != LDNS_STATUS_OK)
                return 0;
        ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
        char *qname = ldns_rdf2str(ldns_rr_owner(question));
        ldns_pkt *a = ldns_pkt_new();
        ldns_pkt_set_id(a, ldns_pkt_id(query));
        ldns_pkt_set_qr(a, true);
        ldns_pkt_set_rd(a, true);
        ldns_pkt_set_ra(a, true);
        ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
        size_t n = 0;
        char buf[12000];

        if (strncmp(qname, "silent.", 7) == 0)
                goto out;
        if (strncmp(qname, "garbage.", 8) == 0) {
                /* the right id, then nonsense */
                out[0] = q[0];
                out[1] = q[1];
                for (size_t i = 2; i < 40; i++)
                        out[i] = (uint8_t) (i * 37);
                out[2] = 0x80;
                out[5] = 9; /* nine questions that are not there */
                n = 40;
                goto out;
        }
        if (strncmp(qname, "nx.", 3) == 0)
                ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
        else if (strncmp(qname, "servfail.", 9) == 0)
                ldns_pkt_set_rcode(a, LDNS_RCODE_SERVFAIL);
        else if (strncmp(qname, "big.", 4) == 0 || strncmp(qname, "huge.", 5) == 0) {
                if (!tcp)
                        ldns_pkt_set_tc(a, true);
                else {
                        unsigned strings = strncmp(qname, "big.", 4) == 0 ? 20 : 40;
                        int k = snprintf(buf, sizeof(buf), "%s TXT", qname);
                        for (unsigned i = 0; i < strings; i++) {
                                buf[k++] = ' ';
                                buf[k++] = '"';
                                memset(buf + k, 'a' + (char) (i % 26), 255);
                                k += 255;
                                buf[k++] = '"';
                        }
                        buf[k] = 0;
                        add_rr(a, buf);
                }
        } else if (strncmp(qname, "many.", 5) == 0) {
                for (unsigned i = 0; i < 100; i++) {
                        snprintf(buf, sizeof(buf), "%s A 192.0.2.%u", qname, i);
                        add_rr(a, buf);
                }
        } else if (strncmp(qname, "cname.", 6) == 0) {
                add_rr(a, "cname.test. CNAME b.test.");
                add_rr(a, "b.test. CNAME c.test.");
                add_rr(a, "c.test. A 192.0.2.3");
                add_rr(a, "other.test. A 192.0.2.4"); /* not on the chain: ignored */
        } else if (strncmp(qname, "nul.", 4) == 0) {
                add_rr(a, "nul.test. TXT \"v=spf1\\000 -all\"");
        } else if (strncmp(qname, "wrongid.", 8) == 0 && !tcp) {
                /* first a reply with another id (spoofing attempt), then the real one */
                ldns_pkt_set_id(a, (uint16_t) (ldns_pkt_id(query) + 1));
                add_rr(a, "wrongid.test. A 198.51.100.1");
                uint8_t *w = NULL;
                size_t wl;
                ldns_pkt2wire(&w, a, &wl);
                sendto(udp_fd, w, wl, 0, (struct sockaddr *) &last_peer, sizeof(last_peer));
                free(w);
                ldns_pkt_free(a);
                a = ldns_pkt_new();
                ldns_pkt_set_id(a, ldns_pkt_id(query));
                ldns_pkt_set_qr(a, true);
                ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
                add_rr(a, "wrongid.test. A 192.0.2.1");
        } else
                add_rr(a, "ok.test. A 192.0.2.1");

        uint8_t *w = NULL;
        size_t wl = 0;
        if (ldns_pkt2wire(&w, a, &wl) == LDNS_STATUS_OK && wl <= max) {
                memcpy(out, w, wl);
                n = wl;
        }
        free(w);
out:
        ldns_pkt_free(a);
        ldns_pkt_free(query);
        free(qname);
        return n;
}

static void *server_loop(void *userdata) {
        uint8_t q[2048], out[65536];
        for (;;) {
                struct pollfd p[3] = { { udp_fd, POLLIN, 0 }, { tcp_fd, POLLIN, 0 }, { stop_fd[0], POLLIN, 0 } };
                if (poll(p, 3, -1) < 0)
                        continue;
                if (p[2].revents)
                        return NULL;
                if (p[0].revents) {
                        socklen_t pl = sizeof(last_peer);
                        ssize_t n = recvfrom(udp_fd, q, sizeof(q), 0, (struct sockaddr *) &last_peer, &pl);
                        if (n <= 0)
                                continue;
                        size_t r = respond(q, (size_t) n, false, out, sizeof(out));
                        if (r > 0)
                                sendto(udp_fd, out, r, 0, (struct sockaddr *) &last_peer, pl);
                }
                if (p[1].revents) {
                        int c = accept(tcp_fd, NULL, NULL);
                        uint8_t hdr[2];
                        if (c < 0)
                                continue;
                        if (recv(c, hdr, 2, MSG_WAITALL) == 2) {
                                size_t len = (size_t) hdr[0] << 8 | hdr[1];
                                if (len <= sizeof(q) && recv(c, q, len, MSG_WAITALL) == (ssize_t) len) {
                                        size_t r = respond(q, len, true, out + 2, sizeof(out) - 2);
                                        out[0] = (uint8_t) (r >> 8);
                                        out[1] = (uint8_t) r;
                                        if (r > 0)
                                                send(c, out, r + 2, MSG_NOSIGNAL);
                                }
                        }
                        close(c);
                }
        }
}

static int setup(void **state) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(a);
        for (int tries = 0; tries < 20; tries++) {
                udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                a.sin_port = 0;
                assert_int_equal(bind(udp_fd, (struct sockaddr *) &a, sizeof(a)), 0);
                assert_int_equal(getsockname(udp_fd, (struct sockaddr *) &a, &l), 0);
                tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (bind(tcp_fd, (struct sockaddr *) &a, sizeof(a)) == 0 && listen(tcp_fd, 8) == 0)
                        break;
                close(udp_fd);
                close(tcp_fd);
                udp_fd = tcp_fd = -1;
        }
        assert_true(tcp_fd >= 0);
        port = ntohs(a.sin_port);
        assert_int_equal(pipe2(stop_fd, O_CLOEXEC), 0);
        assert_int_equal(pthread_create(&server, NULL, server_loop, NULL), 0);
        return 0;
}

static int teardown(void **state) {
        assert_int_equal(write(stop_fd[1], "x", 1), 1);
        pthread_join(server, NULL);
        close(udp_fd);
        close(tcp_fd);
        close(stop_fd[0]);
        close(stop_fd[1]);
        return 0;
}

static DnsClient *client(unsigned deadline_ms) {
        char resolver[32];
        DnsClient *c = NULL;
        snprintf(resolver, sizeof(resolver), "127.0.0.1:%u", port);
        assert_int_equal(dns_client_new(resolver, deadline_ms, &c, NULL), 0);
        return c;
}

static void test_answers(void **state) {
        _cleanup_(dns_client_freep) DnsClient *c = client(5000);
        static const struct {
                const char *name;
                uint16_t type;
                DnsStatus status;
                size_t n;
                bool tcp, truncated;
        } cases[] = {
                { "ok.test", LDNS_RR_TYPE_A, DNS_STATUS_OK, 1, false, false },
                { "nx.test", LDNS_RR_TYPE_A, DNS_STATUS_NXDOMAIN, 0, false, false },
                { "servfail.test", LDNS_RR_TYPE_A, DNS_STATUS_SERVFAIL, 0, false, false },
                { "garbage.test", LDNS_RR_TYPE_A, DNS_STATUS_ERROR, 0, false, false },
                { "big.test", LDNS_RR_TYPE_TXT, DNS_STATUS_OK, 1, true, false },
                { "huge.test", LDNS_RR_TYPE_TXT, DNS_STATUS_OK, 1, true, true },
                { "many.test", LDNS_RR_TYPE_A, DNS_STATUS_OK, DNS_MAX_RECORDS, false, true },
                { "cname.test", LDNS_RR_TYPE_A, DNS_STATUS_OK, 1, false, false },
                { "nul.test", LDNS_RR_TYPE_TXT, DNS_STATUS_OK, 1, false, true },
                { "wrongid.test", LDNS_RR_TYPE_A, DNS_STATUS_OK, 1, false, false },
                { "ok.test", LDNS_RR_TYPE_MX, DNS_STATUS_NODATA, 0, false, false }, /* type differs */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(dns_answer_done) DnsAnswer a = {};
                assert_int_equal(dns_query(c, cases[i].name, cases[i].type, &a), 0);
                if (a.status != cases[i].status || a.n_records != cases[i].n || a.over_tcp != cases[i].tcp ||
                    a.truncated != cases[i].truncated)
                        fail_msg("case %zu %s: status %s (%s) n %zu tcp %d truncated %d", i, cases[i].name,
                                 dns_status_to_string(a.status), strempty(a.error), a.n_records, a.over_tcp, a.truncated);
        }
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        assert_int_equal(dns_query(c, "big.test", LDNS_RR_TYPE_TXT, &a), 0);
        assert_int_equal(strlen(a.records[0].text), 20 * 255);
        assert_int_equal(a.records[0].n_strings, 20);
        dns_answer_done(&a);
        assert_int_equal(dns_query(c, "huge.test", LDNS_RR_TYPE_TXT, &a), 0);
        assert_int_equal(strlen(a.records[0].text), DNS_MAX_TEXT);
        dns_answer_done(&a);
        assert_int_equal(dns_query(c, "cname.test", LDNS_RR_TYPE_A, &a), 0);
        assert_string_equal(a.cname, "c.test");
        assert_string_equal(a.records[0].text, "192.0.2.3");
        dns_answer_done(&a);
        assert_int_equal(dns_query(c, "nul.test", LDNS_RR_TYPE_TXT, &a), 0);
        assert_string_equal(a.records[0].text, "v=spf1");
        dns_answer_done(&a);
        assert_int_equal(dns_query(c, "wrongid.test", LDNS_RR_TYPE_A, &a), 0);
        assert_string_equal(a.records[0].text, "192.0.2.1");
}

static void test_deadline(void **state) {
        _cleanup_(dns_client_freep) DnsClient *c = client(600);
        _cleanup_(dns_answer_done) DnsAnswer a = {}, b = {};
        uint64_t t0 = now_msec();
        assert_int_equal(dns_query(c, "silent.test", LDNS_RR_TYPE_A, &a), 0);
        assert_int_equal(a.status, DNS_STATUS_TIMEOUT);
        uint64_t took = now_msec() - t0;
        if (took < 500 || took > 1200)
                fail_msg("the silent server took %llu ms, the deadline was 600", (unsigned long long) took);
        /* after the deadline every query ends at once */
        t0 = now_msec();
        assert_int_equal(dns_query(c, "silent2.test", LDNS_RR_TYPE_A, &b), 0);
        assert_int_equal(b.status, DNS_STATUS_TIMEOUT);
        assert_true(now_msec() - t0 < 100);
}

static void test_resolver_strings(void **state) {
        static const struct {
                const char *s;
                int ret;
        } cases[] = {
                { "127.0.0.1", 0 }, { "127.0.0.1:5353", 0 }, { "::1", 0 }, { "[::1]:53", 0 }, { "[2001:db8::1]", 0 },
                { "localhost", -EINVAL }, { "127.0.0.1:0", -EINVAL }, { "127.0.0.1:65536", -EINVAL },
                { "[::1", -EINVAL }, { "[::1]x", -EINVAL }, { "1.2.3.4:x", -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                DnsClient *c = NULL;
                _cleanup_free_ char *err = NULL;
                int r = dns_client_new(cases[i].s, 1000, &c, &err);
                if (r != cases[i].ret)
                        fail_msg("case %zu '%s': %d", i, cases[i].s, r);
                dns_client_free(c);
        }
}

static void test_names(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "Example.TEST.", "example.test" },
                { "例子.test", "xn--fsqu00a.test" },
                { "Bücher.example", "xn--bcher-kva.example" },
                { "_dmarc.example.test", "_dmarc.example.test" },
                { "a..b", NULL },
                { ".a", NULL },
                { "a b.test", NULL },
                { "a\033[31m.test", NULL },
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test", NULL }, /* 64 */
                { "", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                int r = dns_name_to_ascii(cases[i].in, &out);
                if (cases[i].out ? (r != 0 || !streq(out, cases[i].out)) : r != -EINVAL)
                        fail_msg("case %zu '%s': %d '%s'", i, cases[i].in, r, strempty(out));
        }

        SpfAddr a;
        _cleanup_free_ char *r4 = NULL, *r6 = NULL;
        assert_int_equal(spf_addr_from_string("192.0.2.25", &a), 0);
        assert_int_equal(dns_reverse_name(&a, &r4), 0);
        assert_string_equal(r4, "25.2.0.192.in-addr.arpa");
        assert_int_equal(spf_addr_from_string("2001:db8::25", &a), 0);
        assert_int_equal(dns_reverse_name(&a, &r6), 0);
        assert_string_equal(r6, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");

        assert_true(dnsbl_zone_lists_domains("dbl.spamhaus.org"));
        assert_true(dnsbl_zone_lists_domains("multi.uribl.com"));
        assert_true(dnsbl_zone_lists_domains("dbl.lab.test"));
        assert_false(dnsbl_zone_lists_domains("zen.spamhaus.org"));
        assert_false(dnsbl_zone_lists_domains("b.barracudacentral.org"));
        assert_false(dnsbl_zone_lists_domains("xdbl.example"));
}

static void test_txt_split(void **state) {
        char text[601];
        memset(text, 'k', 600);
        text[600] = 0;
        _cleanup_strv_free_ char **v = NULL, **e = NULL;
        assert_int_equal(txt_split(text, 255, &v), 0);
        assert_int_equal(strlen(v[0]), 255);
        assert_int_equal(strlen(v[1]), 255);
        assert_int_equal(strlen(v[2]), 90);
        assert_null(v[3]);
        assert_int_equal(txt_split("", 255, &e), 0);
        assert_string_equal(e[0], "");
        assert_null(e[1]);
}

/* libcurl is loaded on first use (dlopen): the table resolves and a transfer runs through
 * it (to a port that refuses: a socket bound but not listening). */
static void test_curl_loaded(void **state) {
        (void) state;
        const char *why = NULL;
        const CurlApi *c = http_curl(&why);
        assert_non_null(c);
        assert_ptr_equal(http_curl(NULL), c); /* loaded once */

        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof(a);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &al), 0);
        char url[64];
        snprintf(url, sizeof(url), "https://127.0.0.1:%u/", ntohs(a.sin_port));

        CURL *curl = c->easy_init();
        assert_non_null(curl);
        assert_int_equal(c->easy_setopt(curl, CURLOPT_URL, url), CURLE_OK);
        assert_int_equal(c->easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
        CURLcode cc = CURLE_OK;
        assert_int_equal(http_perform(curl, deadline_in_ms(5000), &cc), 0);
        assert_int_equal(cc, CURLE_COULDNT_CONNECT);
        assert_non_null(c->easy_strerror(cc));
        c->easy_cleanup(curl);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answers),
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_resolver_strings),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_txt_split),
                cmocka_unit_test(test_curl_loaded),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
