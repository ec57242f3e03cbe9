/* Checks a message's DKIM-Signature against a known RSA key, offline (RFC 6376 §3.4-3.7):
 * the verify step's proof that what the server sends is signed with the key it publishes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

typedef enum DkimVerifyResult {
        DKIM_VERIFY_OK,
        DKIM_VERIFY_NOT_SIGNED,      /* no DKIM-Signature header field */
        DKIM_VERIFY_WRONG_SIGNER,    /* signed, but not with the expected d= and s= */
        DKIM_VERIFY_MALFORMED,       /* the DKIM-Signature does not parse (detail says how) */
        DKIM_VERIFY_UNSUPPORTED,     /* well-formed, but beyond this checker (a=rsa-sha1, l=) */
        DKIM_VERIFY_BODY_HASH,       /* bh= is not the hash of the body */
        DKIM_VERIFY_BAD_SIGNATURE,   /* b= does not verify over the signed header fields */
        _DKIM_VERIFY_MAX,
        _DKIM_VERIFY_INVALID = -1,
} DkimVerifyResult;

typedef enum DkimCanon {
        DKIM_CANON_SIMPLE,
        DKIM_CANON_RELAXED,
} DkimCanon;

/* The tags of one DKIM-Signature header field value. */
typedef struct DkimSignature {
        char *v, *a, *d, *s, *h, *bh, *b;
        DkimCanon header_canon, body_canon;
        bool has_l;
} DkimSignature;

void dkim_signature_done(DkimSignature *sig);
/* Parses the value of a DKIM-Signature field (after the colon, folded or not). 0, -EBADMSG
 * with a one-line reason in *ret_error (the tag at fault) when malformed, -ENOMEM. */
int dkim_signature_parse(const char *value, size_t size, DkimSignature *ret, char **ret_error);

typedef struct DkimVerify {
        DkimVerifyResult result;
        char *d, *s;     /* of the signature looked at, when one was found */
        char *detail;    /* for MALFORMED and UNSUPPORTED: what */
} DkimVerify;

void dkim_verify_done(DkimVerify *v);

/* The public key of a PEM private key (as opendkim's key files hold), or of a PEM public
 * key. 0, -EBADMSG, -ENOMEM. */
int dkim_verify_load_key(const char *pem, size_t size, EVP_PKEY **ret);

/* Verifies the signature of expect_d/expect_s in msg (headers, blank line, body; CRLF or
 * bare LF line ends) against key. 0 with ret filled (ret->result says the outcome), or a
 * negative errno (-ENOMEM, -E2BIG for a message beyond DKIM_VERIFY_MESSAGE_MAX). */
#define DKIM_VERIFY_MESSAGE_MAX (4u << 20)
int dkim_verify_message(const char *msg, size_t size, EVP_PKEY *key, const char *expect_d, const char *expect_s,
                        DkimVerify *ret);

const char *dkim_verify_result_to_string(DkimVerifyResult r);
