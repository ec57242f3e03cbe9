/* TLS client handshakes over a mail connection and what the peer's certificate says. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#endif

#include "macro.h"
#include "termsafe.h"
#include "tlsprobe.h"

#define TLS_ERROR_MAX 1024u /* bytes of one drained error message */
#define SAN_MAX 64u         /* names listed in detail */

bool host_is_ip(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

char *tls_errors_drain(void) {
        char *msg = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&msg, &size);
        unsigned long e;
        const char *data;
        int flags;
        bool any = false;

        if (!f) {
                ERR_clear_error();
                return NULL;
        }
        while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
                if (size >= TLS_ERROR_MAX)
                        continue; /* keep draining, stop growing */
                const char *reason = ERR_reason_error_string(e);
                char code[32];
                if (!reason) {
                        snprintf(code, sizeof(code), "error %d", ERR_GET_REASON(e));
                        reason = code;
                }
                fprintf(f, "%s%s", any ? "; " : "", reason);
                if ((flags & ERR_TXT_STRING) && data && *data)
                        fprintf(f, " (%.200s)", data);
                any = true;
                fflush(f);
        }
        if (fclose(f) != 0 || !any) {
                free(msg);
                return NULL;
        }
        return msg;
}

static int fail_with(char **ret_error, const char *fallback) {
        char *e = tls_errors_drain();
        if (!e)
                e = strdup(fallback);
        if (ret_error)
                *ret_error = e;
        else
                free(e);
        return -ENOMEM; /* callers here only fail on setup: treat as resource trouble */
}

int tls_client_ctx_new(const char *ca_file, int pin_version, SSL_CTX **ret, char **ret_error) {
        return tls_client_ctx_new_range(ca_file, pin_version, pin_version, ret, ret_error);
}

int tls_client_ctx_new_range(const char *ca_file, int min_version, int max_version, SSL_CTX **ret,
                             char **ret_error) {
        SSL_CTX *ctx;

        ERR_clear_error();
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return fail_with(ret_error, "SSL_CTX_new failed");

        /* We complete every handshake and judge the certificate ourselves: an untrusted one
         * is a finding, not a reason to stop looking. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        if (min_version != 0 || max_version != 0) {
                SSL_CTX_set_security_level(ctx, 0);
                if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
                    SSL_CTX_set_max_proto_version(ctx, max_version) != 1 ||
                    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") != 1) {
                        SSL_CTX_free(ctx);
                        return fail_with(ret_error, "cannot pin the TLS version");
                }
        } else {
                int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(ctx);
                if (ok != 1) {
                        SSL_CTX_free(ctx);
                        return fail_with(ret_error, ca_file ? "cannot load the CA file" : "cannot load the system CA store");
                }
        }
        ERR_clear_error();
        *ret = ctx;
        return 0;
}

void tls_client_ctx_free(SSL_CTX *ctx) {
        SSL_CTX_free(ctx);
}

/* A socket BIO that writes with MSG_NOSIGNAL: OpenSSL's own uses write(2), and a peer that
 * hangs up mid-write would kill the whole program with SIGPIPE. */
static BIO_METHOD *nosig_method;
static pthread_once_t nosig_once = PTHREAD_ONCE_INIT;

static int nosig_write(BIO *b, const char *data, int len) {
        int fd = (int) (intptr_t) BIO_get_data(b);
        BIO_clear_retry_flags(b);
        ssize_t n = send(fd, data, (size_t) len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                BIO_set_retry_write(b);
        return (int) n;
}

static int nosig_read(BIO *b, char *data, int len) {
        int fd = (int) (intptr_t) BIO_get_data(b);
        BIO_clear_retry_flags(b);
        ssize_t n = recv(fd, data, (size_t) len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                BIO_set_retry_read(b);
        return (int) n;
}

static int nosig_puts(BIO *b, const char *s) {
        return nosig_write(b, s, (int) strlen(s));
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr) {
        int fd = (int) (intptr_t) BIO_get_data(b);
        switch (cmd) {
        case BIO_CTRL_FLUSH:
                return 1;
        case BIO_C_GET_FD:
                if (ptr)
                        *(int *) ptr = fd;
                return fd;
        default:
                return 0;
        }
}

static int nosig_create(BIO *b) {
        BIO_set_init(b, 1);
        return 1;
}

static void nosig_method_init(void) {
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mxdeck socket");
        if (!m)
                return;
        if (BIO_meth_set_write(m, nosig_write) != 1 || BIO_meth_set_read(m, nosig_read) != 1 ||
            BIO_meth_set_puts(m, nosig_puts) != 1 || BIO_meth_set_ctrl(m, nosig_ctrl) != 1 ||
            BIO_meth_set_create(m, nosig_create) != 1) {
                BIO_meth_free(m);
                return;
        }
        nosig_method = m;
}

static BIO *nosig_bio_new(int fd) {
        pthread_once(&nosig_once, nosig_method_init);
        if (!nosig_method)
                return NULL;
        BIO *b = BIO_new(nosig_method);
        if (b)
                BIO_set_data(b, (void *) (intptr_t) fd);
        return b;
}

int tls_handshake(MailConn *c, SSL_CTX *ctx, const char *sni, char **ret_error) {
        SSL *ssl;

        /* Plain text the server sent after its STARTTLS go-ahead is not part of the TLS
         * session: drop it rather than let it pass as protected data. */
        c->buf.start = c->buf.end = 0;

        ERR_clear_error();
        ssl = SSL_new(ctx);
        BIO *bio = ssl ? nosig_bio_new(c->fd) : NULL;
        if (!bio) {
                SSL_free(ssl);
                fail_with(ret_error, "SSL_new failed");
                return -ENOMEM;
        }
        SSL_set_bio(ssl, bio, bio); /* one reference, owned by ssl from here */
        if (sni && *sni && !host_is_ip(sni))
                (void) SSL_set_tlsext_host_name(ssl, sni);
        SSL_set_connect_state(ssl);

        for (;;) {
                ERR_clear_error();
                errno = 0;
                int n = SSL_connect(ssl);
                if (n == 1)
                        break;
                int e = SSL_get_error(ssl, n), r = 0;
                if (e == SSL_ERROR_WANT_READ)
                        r = mailconn_wait(c, POLLIN);
                else if (e == SSL_ERROR_WANT_WRITE)
                        r = mailconn_wait(c, POLLOUT);
                else {
                        int saved = errno;
                        bool eof = false;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
                        /* OpenSSL 3 reports a vanished peer as an error of its own. */
                        unsigned long last = ERR_peek_last_error();
                        eof = ERR_GET_LIB(last) == ERR_LIB_SSL &&
                              ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#endif
                        char *msg = tls_errors_drain();
                        if ((!msg || eof) && (eof || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)) {
                                free(msg);
                                /* No TLS reason: the peer went away mid-handshake. */
                                SSL_free(ssl);
                                if (ret_error && asprintf(ret_error, "%s",
                                                          saved && saved != EAGAIN ? strerror(saved)
                                                                                   : _("the server closed the connection during the handshake")) < 0)
                                        *ret_error = NULL;
                                return -ECONNRESET;
                        }
                        if (ret_error)
                                *ret_error = msg ? msg : strdup(_("TLS handshake failed"));
                        else
                                free(msg);
                        SSL_free(ssl);
                        return -EPROTO;
                }
                if (r < 0) {
                        SSL_free(ssl);
                        if (ret_error)
                                *ret_error = strdup(_("no TLS handshake within the time limit"));
                        return r;
                }
        }
        c->ssl = ssl;
        return 0;
}

static char *bio_take(BIO *b) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        char *s = n > 0 ? strndup(p, (size_t) MIN(n, 4096L)) : strdup("");
        BIO_free(b);
        return s;
}

static char *name_string(const X509_NAME *n) {
        BIO *b = BIO_new(BIO_s_mem());
        if (!b)
                return NULL;
        X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
        return bio_take(b);
}

static char *time_string(const ASN1_TIME *t) {
        BIO *b = BIO_new(BIO_s_mem());
        if (!b)
                return NULL;
        ASN1_TIME_print(b, t);
        return bio_take(b);
}

static char *sans_string(X509 *x) {
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f) {
                GENERAL_NAMES_free(names);
                return NULL;
        }
        int n = names ? sk_GENERAL_NAME_num(names) : 0;
        for (int i = 0; i < n && (unsigned) i < SAN_MAX; i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                const char *sep = i > 0 ? ", " : "";
                if (g->type == GEN_DNS) {
                        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
                        int l = ASN1_STRING_length(g->d.dNSName);
                        /* The name is the peer's text and detail keeps newlines: flatten it here,
                         * or a certificate could forge extra detail lines. */
                        _cleanup_free_ char *safe = NULL;
                        if (termsafe_dup((const char *) d, (size_t) MIN(MAX(l, 0), 255), 0, &safe) < 0)
                                continue;
                        fprintf(f, "%sDNS:%s", sep, safe);
                } else if (g->type == GEN_IPADD) {
                        char a[INET6_ADDRSTRLEN] = "?";
                        int l = ASN1_STRING_length(g->d.iPAddress);
                        const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
                        if (l == 4)
                                inet_ntop(AF_INET, d, a, sizeof(a));
                        else if (l == 16)
                                inet_ntop(AF_INET6, d, a, sizeof(a));
                        fprintf(f, "%sIP:%s", sep, a);
                }
        }
        if (n > (int) SAN_MAX)
                fprintf(f, ", … (%d names)", n);
        GENERAL_NAMES_free(names);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static char *key_string(X509 *x) {
        EVP_PKEY *k = X509_get0_pubkey(x);
        char *s = NULL;
        if (!k)
                return strdup("?");
        int id = EVP_PKEY_base_id(k), bits = EVP_PKEY_bits(k);
        const char *type = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : id == EVP_PKEY_ED25519 ? "Ed25519"
                         : id == EVP_PKEY_ED448 ? "Ed448" : OBJ_nid2sn(id);
        char curve[64] = "";
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        if (id == EVP_PKEY_EC) {
                size_t l = 0;
                char g[48];
                if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), &l) == 1)
                        snprintf(curve, sizeof(curve), " (%s)", g);
        }
#endif
        if (asprintf(&s, "%s %d bits%s", type ? type : "?", bits, curve) < 0)
                return NULL;
        return s;
}

static TlsChain chain_verify(SSL *ssl, SSL_CTX *ctx, X509 *leaf, char **ret_error) {
        X509_STORE_CTX *sc = X509_STORE_CTX_new();
        TlsChain result = TLS_CHAIN_UNTRUSTED;

        *ret_error = NULL;
        if (!sc || X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), leaf, SSL_get_peer_cert_chain(ssl)) != 1) {
                X509_STORE_CTX_free(sc);
                *ret_error = tls_errors_drain();
                return TLS_CHAIN_UNTRUSTED;
        }
        /* Expiry is its own finding: judge the chain as of its validity period. */
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(sc), X509_V_FLAG_NO_CHECK_TIME);
        X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER);
        if (X509_verify_cert(sc) == 1)
                result = TLS_CHAIN_OK;
        else {
                int e = X509_STORE_CTX_get_error(sc);
                result = e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ? TLS_CHAIN_SELF_SIGNED : TLS_CHAIN_UNTRUSTED;
                *ret_error = strdup(X509_verify_cert_error_string(e));
        }
        X509_STORE_CTX_free(sc);
        ERR_clear_error();
        return result;
}

int tls_inspect(MailConn *c, SSL_CTX *ctx, const char *host, TlsInfo *ret) {
        SSL *ssl = c->ssl;
        TlsInfo i = { .name_match = -1 };

        i.version = SSL_version(ssl);
        i.protocol = strdup(SSL_get_version(ssl));
        i.cipher = strdup(strempty(SSL_get_cipher_name(ssl)));
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        X509 *leaf = SSL_get1_peer_certificate(ssl);
#else
        X509 *leaf = SSL_get_peer_certificate(ssl);
#endif
        if (leaf) {
                i.has_cert = true;
                i.subject = name_string(X509_get_subject_name(leaf));
                i.issuer = name_string(X509_get_issuer_name(leaf));
                i.sans = sans_string(leaf);
                i.not_before = time_string(X509_get0_notBefore(leaf));
                i.not_after = time_string(X509_get0_notAfter(leaf));
                i.key = key_string(leaf);

                int days = 0, secs = 0;
                if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)) == 1) {
                        i.expiry_known = true;
                        i.seconds_left = (int64_t) days * 86400 + secs;
                        /* Whole days, rounded towards the safe side of the summary's words:
                         * 10.9 days left is 10 ("expires in 10 days"); expired 3.1 days ago is
                         * -3 ("expired 3 days ago"). Expired less than a day ago is -1, so the
                         * value is negative exactly when the certificate has expired. */
                        if (i.seconds_left >= 0)
                                i.days_left = i.seconds_left / 86400;
                        else
                                i.days_left = -MAX(-i.seconds_left / 86400, (int64_t) 1);
                }
                i.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0;

                if (host && *host) {
                        if (host_is_ip(host))
                                i.name_match = X509_check_ip_asc(leaf, host, 0) == 1;
                        else {
                                size_t l = strlen(host);
                                if (l > 1 && host[l - 1] == '.')
                                        l--; /* an absolute name is the same name */
                                i.name_match = X509_check_host(leaf, host, l, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                                               NULL) == 1;
                        }
                }
                i.chain = chain_verify(ssl, ctx, leaf, &i.chain_error);
                X509_free(leaf);
                leaf = NULL;
        } else
                i.chain = TLS_CHAIN_UNTRUSTED;
        ERR_clear_error();

        if (!i.protocol || !i.cipher || (i.has_cert && (!i.subject || !i.issuer || !i.sans || !i.not_after || !i.key))) {
                tls_info_done(&i);
                return -ENOMEM;
        }
        *ret = i;
        return 0;
}

void tls_info_done(TlsInfo *i) {
        free(i->protocol);
        free(i->cipher);
        free(i->subject);
        free(i->issuer);
        free(i->sans);
        free(i->not_before);
        free(i->not_after);
        free(i->key);
        free(i->chain_error);
        *i = (TlsInfo) {};
}

char *tls_info_detail(const TlsInfo *i) {
        char *s = NULL;
        if (!i->has_cert) {
                if (asprintf(&s, "protocol=%s\ncipher=%s\n(no certificate)", i->protocol, i->cipher) < 0)
                        return NULL;
                return s;
        }
        if (asprintf(&s,
                     "subject=%s\nSANs=%s\nissuer=%s\nnotBefore=%s\nnotAfter=%s\nkey=%s\nprotocol=%s\ncipher=%s",
                     i->subject, *i->sans ? i->sans : "(none)", i->issuer, strempty(i->not_before), i->not_after,
                     i->key, i->protocol, i->cipher) < 0)
                return NULL;
        return s;
}
