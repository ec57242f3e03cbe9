/* TLS over an already connected socket (after STARTTLS or at once) and what the server's
 * certificate and session say: chain, name, expiry, protocol, cipher. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "mailproto.h"

typedef struct ssl_ctx_st SSL_CTX;

/* A client context. pin_version 0: the library's defaults, verifying against ca_file (when
 * non-NULL) or the system store. Else (TLS1_VERSION, TLS1_1_VERSION) exactly that version,
 * at security level 0 so OpenSSL 3 offers it at all. *ret_error gets the reason on failure. */
int tls_client_ctx_new(const char *ca_file, int pin_version, SSL_CTX **ret, char **ret_error);
/* The same for a range of versions (both 0: the defaults), e.g. TLS1_VERSION..TLS1_1_VERSION. */
int tls_client_ctx_new_range(const char *ca_file, int min_version, int max_version, SSL_CTX **ret,
                             char **ret_error);
void tls_client_ctx_free(SSL_CTX *ctx);

/* Drains OpenSSL's error queue of this thread into one message ("a; b; c"), or NULL when
 * it is empty. Caller frees. */
char *tls_errors_drain(void);

/* Runs a client handshake on c->fd by c's deadline; on success c->ssl is set (reads and
 * writes then go through TLS). sni: server name to send (NULL or an IP address: none).
 * Returns 0, -ETIMEDOUT, -ECONNRESET (closed mid-handshake) or -EPROTO with *ret_error
 * (the OpenSSL reasons). */
int tls_handshake(MailConn *c, SSL_CTX *ctx, const char *sni, char **ret_error);

typedef enum TlsChain {
        TLS_CHAIN_OK,
        TLS_CHAIN_SELF_SIGNED,  /* the leaf is its own issuer (or a self-signed root nobody trusts) */
        TLS_CHAIN_UNTRUSTED,    /* does not verify: unknown CA, missing intermediate, bad signature */
        _TLS_CHAIN_MAX,
        _TLS_CHAIN_INVALID = -EINVAL,
} TlsChain;

typedef struct TlsInfo {
        char *protocol;       /* "TLSv1.3" */
        int version;          /* TLS1_3_VERSION, ... */
        char *cipher;
        char *subject, *issuer, *sans, *not_before, *not_after, *key; /* "RSA 2048 bits" */
        bool has_cert;
        bool expiry_known;    /* notAfter could be compared with the clock; if not, the
                               * two fields below mean nothing */
        int64_t days_left;    /* whole days until notAfter, negative when expired */
        int64_t seconds_left;
        bool not_yet_valid;
        int name_match;       /* 1 matches, 0 does not, -1 no name to check */
        TlsChain chain;
        char *chain_error;    /* OpenSSL's words when chain != OK */
} TlsInfo;

/* Reads the session and certificate of c->ssl. host: the name the certificate must carry
 * (DNS name or IP address; NULL: no name check). Chain verification ignores time (expiry
 * is its own finding) and uses the store of ctx. Returns 0 or -ENOMEM. */
int tls_inspect(MailConn *c, SSL_CTX *ctx, const char *host, TlsInfo *ret);
void tls_info_done(TlsInfo *i);

/* "subject=...\nSANs=...\n..." for a finding's detail; caller frees. */
char *tls_info_detail(const TlsInfo *i);

/* True when s is an IPv4 or IPv6 literal. */
bool host_is_ip(const char *s);
