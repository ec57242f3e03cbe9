/* DMARC policy records (RFC 7489 6.3): parser and the external-destination rule. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum DmarcPolicy {
        DMARC_POLICY_NONE,
        DMARC_POLICY_QUARANTINE,
        DMARC_POLICY_REJECT,
        _DMARC_POLICY_MAX,
        _DMARC_POLICY_INVALID = -EINVAL,
} DmarcPolicy;

typedef struct DmarcUri {
        char *uri;      /* as written, without the size limit */
        char *domain;   /* mailto: the mailbox's domain (lower case), else NULL */
        uint64_t limit; /* "!10m": bytes, 0 = none */
} DmarcUri;

#define DMARC_MAX_URIS 16

typedef struct DmarcRecord {
        DmarcPolicy p;
        bool p_missing;     /* no p= (RFC 7489 6.6.3: treated as none when rua is valid) */
        DmarcPolicy sp;     /* = p when absent */
        bool sp_set;
        DmarcUri rua[DMARC_MAX_URIS];
        size_t n_rua;
        DmarcUri ruf[DMARC_MAX_URIS];
        size_t n_ruf;
        char adkim, aspf;   /* 'r' or 's' */
        unsigned pct;       /* 0..100, default 100 */
        char *fo;           /* default "0" */
        uint32_t ri;        /* default 86400 */
        unsigned n_unknown_tags;
} DmarcRecord;

const char *dmarc_policy_to_string(DmarcPolicy p);
DmarcPolicy dmarc_policy_from_string(const char *s);

/* True for a TXT string that claims to be DMARC: "v=DMARC1" as the first tag. */
bool dmarc_is_record(const char *txt, size_t len);

/* Returns 0, -EINVAL with *ret_error, -E2BIG, -ENOMEM. */
int dmarc_parse(const char *text, size_t len, DmarcRecord **ret, char **ret_error);
DmarcRecord *dmarc_record_free(DmarcRecord *r);
static inline void dmarc_record_freep(DmarcRecord **r) {
        if (*r)
                dmarc_record_free(*r);
}

/* True when reports for `domain` to a mailbox in `dest` need the authorisation record
 * DOMAIN._report._dmarc.DEST (RFC 7489 7.1). Without a public suffix list, "same
 * organisation" is approximated as one name being the other or under it. */
bool dmarc_destination_is_external(const char *domain, const char *dest);
