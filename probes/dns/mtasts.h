/* MTA-STS (RFC 8461) TXT record and policy file, TLS-RPT (RFC 8460) TXT record. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MTASTS_POLICY_MAX (64 * 1024)  /* RFC 8461 3.3: policies are at most 64 KiB */
#define MTASTS_MAX_MX 64
#define MTASTS_MAX_AGE 31557600u

typedef enum MtaStsMode {
        MTASTS_MODE_ENFORCE,
        MTASTS_MODE_TESTING,
        MTASTS_MODE_NONE,
        _MTASTS_MODE_MAX,
        _MTASTS_MODE_INVALID = -EINVAL,
} MtaStsMode;

typedef struct MtaStsPolicy {
        MtaStsMode mode;
        char *mx[MTASTS_MAX_MX];
        size_t n_mx;
        uint64_t max_age;
} MtaStsPolicy;

const char *mtasts_mode_to_string(MtaStsMode m);

bool mtasts_is_record(const char *txt, size_t len);    /* "v=STSv1" first */
bool tlsrpt_is_record(const char *txt, size_t len);    /* "v=TLSRPTv1" first */

/* _mta-sts TXT: v=STSv1; id=1*32(ALPHA/DIGIT). Returns 0 and the id, -EINVAL. */
int mtasts_txt_parse(const char *text, size_t len, char **ret_id, char **ret_error);

/* _smtp._tls TXT: v=TLSRPTv1; rua=mailto:...,https://... Returns the number of rua URIs. */
int tlsrpt_txt_parse(const char *text, size_t len, char ***ret_rua, char **ret_error);

/* The policy file (key: value lines, LF or CRLF). version STSv1, mode, max_age required; mx
 * required unless mode is none. */
int mtasts_policy_parse(const char *text, size_t len, MtaStsPolicy **ret, char **ret_error);
MtaStsPolicy *mtasts_policy_free(MtaStsPolicy *p);
static inline void mtasts_policy_freep(MtaStsPolicy **p) {
        if (*p)
                mtasts_policy_free(*p);
}

/* RFC 8461 4.1: "mail.example.com" or "*.example.com" (one leftmost label). */
bool mtasts_mx_matches(const char *pattern, const char *host);
bool mtasts_policy_covers(const MtaStsPolicy *p, const char *host);
