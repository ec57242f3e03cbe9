/* DKIM key records: tag list, base64 key, size through OpenSSL, local key match. */
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dkim.h"
#include "dns-tags.h"
#include "fileio.h"
#include "macro.h"

bool dkim_is_record(const char *txt, size_t len) {
        size_t i = 0;
        while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
                i++;
        if (len - i >= 7 && strncmp(txt + i, "v=DKIM1", 7) == 0)
                return true;
        /* without v=: any tag list holding p= */
        for (size_t k = 0; k + 1 < len; k++)
                if (txt[k] == 'p' && (k == 0 || txt[k - 1] == ';' || txt[k - 1] == ' ' || txt[k - 1] == '\t')) {
                        size_t e = k + 1;
                        while (e < len && (txt[e] == ' ' || txt[e] == '\t'))
                                e++;
                        if (e < len && txt[e] == '=')
                                return true;
                }
        return false;
}

DkimKey *dkim_key_free(DkimKey *k) {
        if (!k)
                return NULL;
        free(k->hashes);
        free(k->services);
        free(k->der);
        free(k);
        return NULL;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int dkim_base64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_size) {
        _cleanup_free_ unsigned char *out = malloc(len / 4 * 3 + 3);
        size_t n = 0, quad = 0, pad = 0;
        uint32_t acc = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                        continue;
                if (c == '=') {
                        pad++;
                        if (pad > 2)
                                return -EINVAL;
                        acc <<= 6;
                        quad++;
                } else {
                        int v = b64_value(c);
                        if (v < 0 || pad > 0)
                                return -EINVAL;
                        acc = acc << 6 | (uint32_t) v;
                        quad++;
                }
                if (quad == 4) {
                        out[n++] = (unsigned char) (acc >> 16);
                        if (pad < 2)
                                out[n++] = (unsigned char) (acc >> 8);
                        if (pad < 1)
                                out[n++] = (unsigned char) acc;
                        quad = 0;
                        acc = 0;
                        if (pad)
                                pad = 3; /* nothing may follow padding */
                }
        }
        if (quad != 0 || n == 0)
                return -EINVAL;
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

static int decode_key(DkimKey *k, char **ret_error) {
        if (k->type == DKIM_KEY_ED25519) {
                if (k->der_size != 32)
                        return record_error(ret_error, _("an ed25519 key is 32 bytes, this one is %zu"), k->der_size);
                k->bits = 256;
                return 0;
        }
        const unsigned char *p = k->der;
        EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long) k->der_size);
        if (!pkey || p != k->der + k->der_size) {
                EVP_PKEY_free(pkey);
                /* Some publish the bare PKCS#1 RSAPublicKey; verifiers differ on it. */
                p = k->der;
                pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long) k->der_size);
                if (pkey) {
                        EVP_PKEY_free(pkey);
                        return record_error(ret_error, _("p= holds a bare RSAPublicKey, not the SubjectPublicKeyInfo "
                                                 "RFC 6376 asks for; many verifiers reject it"));
                }
                return record_error(ret_error, _("p= does not decode as a public key"));
        }
        int id = EVP_PKEY_get_base_id(pkey);
        int bits = EVP_PKEY_get_bits(pkey);
        EVP_PKEY_free(pkey);
        if (id != EVP_PKEY_RSA)
                return record_error(ret_error, _("k=rsa but p= holds a key of another type"));
        k->bits = bits > 0 ? (unsigned) bits : 0;
        return 0;
}

int dkim_key_parse(const char *text, size_t len, DkimKey **ret, char **ret_error) {
        _cleanup_(tags_done) TagList tags = {};
        _cleanup_(dkim_key_freep) DkimKey *k = NULL;
        int r;

        if (len > 8192)
                return -E2BIG;
        r = tags_parse(text, len, &tags, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < tags.n; i++)
                if (streq(tags.tags[i].name, "v") && (i != 0 || !streq(tags.tags[i].value, "DKIM1")))
                        return record_error(ret_error, _("v= must be the first tag and DKIM1"));
        k = calloc(1, sizeof(DkimKey));
        if (!k)
                return -ENOMEM;
        const char *v = tags_get(&tags, "k");
        if (v && strcasecmp(v, "ed25519") == 0)
                k->type = DKIM_KEY_ED25519;
        else if (v && strcasecmp(v, "rsa") != 0)
                return record_error(ret_error, _("k=%s: unknown key type (rsa or ed25519)"), v);
        if ((v = tags_get(&tags, "h"))) {
                for (const char *c = v; *c; c++)
                        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789: \t", *c))
                                return record_error(ret_error, _("h=%s: not a list of hash names"), v);
                if (!(k->hashes = strdup(v)))
                        return -ENOMEM;
        }
        if ((v = tags_get(&tags, "s")) && !(k->services = strdup(v)))
                return -ENOMEM;
        if ((v = tags_get(&tags, "t")))
                for (const char *c = v; *c;) {
                        size_t l = strcspn(c, ":");
                        size_t s = 0;
                        while (s < l && (c[s] == ' ' || c[s] == '\t'))
                                s++;
                        if (l - s == 1 && c[s] == 'y')
                                k->testing = true;
                        if (l - s == 1 && c[s] == 's')
                                k->strict = true;
                        c += l;
                        if (*c)
                                c++;
                }
        v = tags_get(&tags, "p");
        if (!v)
                return record_error(ret_error, _("the required tag p= is missing"));
        if (!*v) {
                k->revoked = true;
                *ret = TAKE_PTR(k);
                return 0;
        }
        r = dkim_base64_decode(v, strlen(v), &k->der, &k->der_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return record_error(ret_error, _("p= is not valid base64"));
        r = decode_key(k, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static int load_private(const char *path, EVP_PKEY **ret) {
        _cleanup_free_ char *pem = NULL;
        size_t size;
        int r = read_file_bounded(path, 64 * 1024, &pem, &size);
        if (r < 0)
                return r;
        BIO *b = BIO_new_mem_buf(pem, (int) size);
        if (!b)
                return -ENOMEM;
        EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        explicit_bzero(pem, size);
        if (!k)
                return -EBADMSG;
        *ret = k;
        return 0;
}

static int public_der(EVP_PKEY *k, unsigned char **ret, size_t *ret_size) {
        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519) {
                unsigned char *raw = malloc(32);
                size_t n = 32;
                if (!raw)
                        return -ENOMEM;
                if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != 32) {
                        free(raw);
                        return -EBADMSG;
                }
                *ret = raw;
                *ret_size = n;
                return 0;
        }
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k, &der);
        if (n <= 0)
                return -EBADMSG;
        *ret = der;
        *ret_size = (size_t) n;
        return 0;
}

int dkim_public_from_private(const char *path, DkimKeyType *ret_type, char **ret_base64, unsigned *ret_bits) {
        EVP_PKEY *k = NULL;
        unsigned char *der = NULL;
        size_t size = 0;
        int r = load_private(path, &k);
        if (r < 0)
                return r;
        int id = EVP_PKEY_get_base_id(k);
        if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
                EVP_PKEY_free(k);
                return -EPROTONOSUPPORT;
        }
        unsigned bits = (unsigned) MAX(EVP_PKEY_get_bits(k), 0);
        r = public_der(k, &der, &size);
        EVP_PKEY_free(k);
        if (r < 0)
                return r;
        char *b64 = malloc(4 * ((size + 2) / 3) + 1);
        if (!b64) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        EVP_EncodeBlock((unsigned char *) b64, der, (int) size);
        if (id == EVP_PKEY_ED25519)
                free(der);
        else
                OPENSSL_free(der);
        *ret_type = id == EVP_PKEY_RSA ? DKIM_KEY_RSA : DKIM_KEY_ED25519;
        *ret_base64 = b64;
        *ret_bits = bits;
        return 0;
}

int dkim_key_matches_private(const DkimKey *key, const char *path) {
        EVP_PKEY *k = NULL;
        unsigned char *der = NULL;
        size_t size = 0;
        int r = load_private(path, &k);
        if (r < 0)
                return r;
        bool ed = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
        r = public_der(k, &der, &size);
        EVP_PKEY_free(k);
        if (r < 0)
                return r;
        r = !key->revoked && size == key->der_size && memcmp(der, key->der, size) == 0;
        if (ed)
                free(der);
        else
                OPENSSL_free(der);
        return r;
}

static int keytable_lookup(const char *path, const char *domain, const char *selector, char **ret_selector,
                           char **ret_path) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        if (read_file_bounded(path, 1024 * 1024, &text, &size) < 0)
                return 0;
        for (char *line = text; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *p = line + strspn(line, " \t");
                if (*p && *p != '#') {
                        p += strcspn(p, " \t");          /* key name */
                        p += strspn(p, " \t");
                        p[strcspn(p, " \t\r")] = 0;      /* DOMAIN:SELECTOR:PATH */
                        char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        if (c2) {
                                *c1 = *c2 = 0;
                                if (strcasecmp(p, domain) == 0 && (!selector || streq(c1 + 1, selector)) && c2[1] == '/') {
                                        *ret_selector = strdup(c1 + 1);
                                        *ret_path = strdup(c2 + 1);
                                        if (!*ret_selector || !*ret_path) {
                                                /* the caller sees no freed pointers */
                                                free(*ret_selector);
                                                free(*ret_path);
                                                *ret_selector = *ret_path = NULL;
                                                return -ENOMEM;
                                        }
                                        return 1;
                                }
                        }
                }
                line = next;
        }
        return 0;
}

int dkim_local_key(const char *root, const char *domain, const char *selector, char **ret_selector, char **ret_path) {
        static const char *const tables[] = { "/etc/opendkim/KeyTable", "/etc/opendkim/key.table" };
        char path[4096];
        int r;

        root = root ? root : "";
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                snprintf(path, sizeof(path), "%s%s", root, tables[i]);
                r = keytable_lookup(path, domain, selector, ret_selector, ret_path);
                if (r != 0)
                        return r;
        }
        if (selector) {
                if (strchr(selector, '/') || selector[0] == '.')
                        return 0;
                snprintf(path, sizeof(path), "%s/etc/mxdeck/dkim/%s.private", root, selector);
                if (access(path, F_OK) < 0)
                        return 0;
                *ret_selector = strdup(selector);
                *ret_path = strdup(path);
        } else {
                snprintf(path, sizeof(path), "%s/etc/mxdeck/dkim", root);
                DIR *d = opendir(path);
                struct dirent *de;
                char found[256] = "";
                unsigned n = 0;
                if (!d)
                        return 0;
                while ((de = readdir(d))) {
                        size_t l = strlen(de->d_name);
                        if (l > 8 && l < sizeof(found) && streq(de->d_name + l - 8, ".private") && de->d_name[0] != '.') {
                                snprintf(found, sizeof(found), "%.*s", (int) (l - 8), de->d_name);
                                n++;
                        }
                }
                closedir(d);
                if (n != 1)
                        return 0;
                *ret_selector = strdup(found);
                if (asprintf(ret_path, "%s/%s.private", path, found) < 0)
                        *ret_path = NULL;
        }
        if (!*ret_selector || !*ret_path) {
                free(*ret_selector);
                free(*ret_path);
                *ret_selector = *ret_path = NULL;
                return -ENOMEM;
        }
        return 1;
}
