/* DKIM key records (RFC 6376 3.6.1): tags, key decoding and size, and the match with the
 * local private key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum DkimKeyType {
        DKIM_KEY_RSA,
        DKIM_KEY_ED25519,
        _DKIM_KEY_TYPE_MAX,
} DkimKeyType;

typedef struct DkimKey {
        DkimKeyType type;   /* k=, default rsa */
        char *hashes;       /* h=, NULL = all */
        char *services;     /* s=, NULL = "*" */
        bool testing;       /* t=y */
        bool strict;        /* t=s */
        bool revoked;       /* p= empty */
        unsigned char *der; /* p= decoded: SubjectPublicKeyInfo (RSA) or 32 raw bytes (ed25519) */
        size_t der_size;
        unsigned bits;      /* key size; 0 when revoked */
} DkimKey;

/* True for a TXT string that could be a key record ("v=DKIM1" first, or any tag list
 * with p=). */
bool dkim_is_record(const char *txt, size_t len);

/* Parses the tags and decodes the key. -EINVAL with *ret_error for bad tags, unknown k=,
 * v= not first or not DKIM1, a missing p=, bad base64, a key that does not decode or is
 * not of type k=; -E2BIG for records over 8 KiB. */
int dkim_key_parse(const char *text, size_t len, DkimKey **ret, char **ret_error);
DkimKey *dkim_key_free(DkimKey *k);
static inline void dkim_key_freep(DkimKey **k) {
        if (*k)
                dkim_key_free(*k);
}

/* Strict base64 (whitespace ignored, '=' padding only at the end). */
int dkim_base64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_size);

/* Reads a PEM private key (at most 64 KiB) and gives its public half as base64
 * SubjectPublicKeyInfo (RSA) or raw ed25519 key, ready for p=, with the type and size. */
int dkim_public_from_private(const char *path, DkimKeyType *ret_type, char **ret_base64, unsigned *ret_bits);

/* 1 when the published key is the public half of the private key in path, 0 when not. */
int dkim_key_matches_private(const DkimKey *key, const char *path);

/* The local private key of domain: an OpenDKIM KeyTable (/etc/opendkim/KeyTable or
 * /etc/opendkim/key.table, lines "NAME DOMAIN:SELECTOR:/path") first, then mxdeck's
 * /etc/mxdeck/dkim/SELECTOR.private (with no selector given: the only *.private file
 * there). root overrides "/" (for tests). Returns 1 with the selector and path, 0 when
 * none is configured. */
int dkim_local_key(const char *root, const char *domain, const char *selector, char **ret_selector, char **ret_path);
