/* DNS lookups through ldns for the dns.* and dnsbl.* checks: a client with one deadline for
 * all its queries, usable from several threads at once, with a small answer cache. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spf.h"

#define DNS_MAX_RECORDS 64        /* records kept per answer; more sets truncated */
#define DNS_MAX_TEXT 8192         /* bytes of one TXT record (strings joined) */
#define DNS_MAX_SERVERS 3
#define DNS_MAX_CNAME_CHAIN 8

typedef enum DnsStatus {
        DNS_STATUS_OK,         /* records of the type */
        DNS_STATUS_NODATA,     /* the name exists, no records of the type */
        DNS_STATUS_NXDOMAIN,
        DNS_STATUS_SERVFAIL,   /* includes a validating resolver's "bogus" */
        DNS_STATUS_REFUSED,
        DNS_STATUS_TIMEOUT,    /* no answer within the deadline */
        DNS_STATUS_ERROR,      /* malformed answer, other rcode, network error */
        _DNS_STATUS_MAX,
} DnsStatus;

typedef struct DnsRecord {
        uint16_t type;
        uint32_t ttl;
        char *text;           /* TXT: strings joined; MX/PTR/CNAME/NS: name (no final dot); A/AAAA: address */
        size_t n_strings;     /* TXT: character-strings it was made of */
        uint16_t preference;  /* MX */
        SpfAddr addr;         /* A / AAAA */
        uint8_t tlsa_usage, tlsa_selector, tlsa_matching; /* TLSA */
        unsigned char *data;  /* TLSA association data */
        size_t data_size;
} DnsRecord;

typedef struct DnsAnswer {
        DnsStatus status;
        int rcode;            /* -1 when there was no answer */
        bool ad;              /* the resolver says the data is authenticated (DNSSEC) */
        bool over_tcp;        /* the UDP answer was truncated and TCP was used */
        bool truncated;       /* more than DNS_MAX_RECORDS records or a record over DNS_MAX_TEXT: some dropped/cut */
        char *cname;          /* the name asked for is an alias of this (last of the chain) */
        DnsRecord *records;
        size_t n_records;
        unsigned elapsed_ms;
        char *error;          /* why, for ERROR (terminal-unsafe text never goes here) */
} DnsAnswer;

typedef struct DnsClient DnsClient;

/* resolver: "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address; NULL: the nameserver
 * lines of /etc/resolv.conf (127.0.0.1 when there are none). deadline_ms bounds every
 * query made through the client, counted from now. -EINVAL with *ret_error for a bad
 * resolver string. */
int dns_client_new(const char *resolver, unsigned deadline_ms, DnsClient **ret, char **ret_error);
DnsClient *dns_client_free(DnsClient *c);
static inline void dns_client_freep(DnsClient **c) {
        if (*c)
                dns_client_free(*c);
}
/* "127.0.0.1:53, ..." for the findings' detail. */
const char *dns_client_servers(const DnsClient *c);
/* Milliseconds left until the client's deadline. */
unsigned dns_client_remaining_ms(const DnsClient *c);
/* An ldns resolver for the same servers, asking with DO and CD, its timeout within the
 * client's deadline (for ldns' own DNSSEC chain walk). */
typedef struct ldns_struct_resolver ldns_resolver;
typedef struct ldns_struct_pkt ldns_pkt;
int dns_client_ldns_resolver(const DnsClient *c, ldns_resolver **ret);

/* Looks name (already ASCII) up. Thread-safe. Always fills *ret (free with
 * dns_answer_done); returns 0 or -ENOMEM. */
int dns_query(DnsClient *c, const char *name, uint16_t type, DnsAnswer *ret);
void dns_answer_done(DnsAnswer *a);

typedef enum DnsQueryFlags {
        DNS_QUERY_DO = 1 << 0,  /* EDNS DO: DNSSEC records wanted, AD meaningful */
        DNS_QUERY_CD = 1 << 1,  /* checking disabled: the data even when validation fails */
} DnsQueryFlags;
/* With flags, and the raw packet through ret_pkt when non-NULL (then never from the
 * cache; *ret_pkt stays NULL when there was no answer; free with ldns_pkt_free). */
int dns_query_full(DnsClient *c, const char *name, uint16_t type, unsigned flags, DnsAnswer *ret, ldns_pkt **ret_pkt);

/* Parses an answer packet for name/type as dns_query does (for the fuzzer). */
int dns_answer_from_wire(const uint8_t *wire, size_t len, const char *name, uint16_t type, DnsAnswer *ret);

const char *dns_status_to_string(DnsStatus s);
/* A void answer in the sense of RFC 7208 4.6.4. */
static inline bool dns_status_is_void(DnsStatus s) {
        return s == DNS_STATUS_NODATA || s == DNS_STATUS_NXDOMAIN;
}

/* Unicode (UTF-8) or ASCII name to lower-case ASCII (A-labels) without the final dot,
 * through libidn2 (IDNA2008 with the UTS#46 mapping). -EINVAL for a name that cannot be. */
int dns_name_to_ascii(const char *name, char **ret);
/* "4.3.2.1.in-addr.arpa" / nibbles.ip6.arpa */
int dns_reverse_name(const SpfAddr *a, char **ret);
/* SpfDns callbacks on top of a client (for spf_check_host and spf_walk). */
void dns_spf_ops(DnsClient *c, SpfDns *ret);
