/* The DNS records a mail domain should publish, computed from the local configuration
 * (for `mxdeck dns records`): data only, the CLI renders it as a zone or JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "spf.h"

#define TXT_STRING_MAX 255

typedef struct PublishRecord {
        char *name;         /* absolute, with the final dot */
        const char *type;   /* "MX", "A", "AAAA", "TXT" */
        char *value;        /* MX/A/AAAA rdata; TXT: the whole text */
        char **strings;     /* TXT: value cut into strings of at most TXT_STRING_MAX bytes */
        const char *purpose;/* N_()-marked, one line */
} PublishRecord;

typedef struct PtrRequest {
        SpfAddr addr;
        char *reverse;      /* "25.2.0.192.in-addr.arpa." */
        char *target;       /* "mail.example.com." */
} PtrRequest;

typedef struct RecordSet {
        char *domain, *host;
        PublishRecord *records;
        size_t n_records;
        PtrRequest *ptr;
        size_t n_ptr;
        char **dmarc_stages;   /* the later DMARC records, in order (NULL-terminated) */
        char *dkim_selector;   /* NULL when no key was found */
        char *dkim_key_path;
        unsigned dkim_bits;
        char *mta_sts_policy;  /* the policy file to serve, when asked for MTA-STS */
        bool host_outside;     /* the host is not under the domain: its A/AAAA belong to another zone */
} RecordSet;

typedef struct RecordInput {
        const char *domain;       /* ASCII */
        const char *host;         /* ASCII */
        const SpfAddr *addrs;     /* the server's public addresses */
        size_t n_addrs;
        const char *selector;     /* NULL: find the local key */
        bool mta_sts;             /* add MTA-STS and TLS-RPT */
        const char *mta_sts_id;   /* the policy id (e.g. a date stamp) */
        const char *root;         /* "/" override for the key lookup (tests) */
} RecordInput;

int records_compute(const RecordInput *in, RecordSet **ret);
RecordSet *records_free(RecordSet *s);
static inline void records_freep(RecordSet **s) {
        if (*s)
                records_free(*s);
}

/* Cuts text into NULL-terminated strings of at most max bytes. */
int txt_split(const char *text, size_t max, char ***ret);

/* The public (not loopback, private or link-local) addresses of this machine's interfaces. */
int local_public_addrs(SpfAddr *ret, size_t max);
bool addr_is_public(const SpfAddr *a);
