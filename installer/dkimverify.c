/* Offline DKIM verification against a known key (RFC 6376): the tags of DKIM-Signature
 * (§3.5), the simple and relaxed canonicalizations of header and body (§3.4), the body hash
 * and the RSA-SHA256 signature over the fields h= names plus the DKIM-Signature itself with
 * b= emptied (§3.7). No DNS: the caller holds the key, here the one opendkim signs with. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkimverify.h"
#include "macro.h"

#define HEADERS_MAX 1000  /* header fields of one message */
#define H_NAMES_MAX 64    /* names in h= */
#define TAG_VALUE_MAX 8192

typedef struct Buf {
        char *p;
        size_t n, cap;
} Buf;

static int buf_add(Buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->n + n + 1);
                char *p = realloc(b->p, MAX(cap, 256u));
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = MAX(cap, 256u);
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
        return 0;
}

static void buf_done(Buf *b) {
        free(b->p);
        *b = (Buf) {};
}

static bool is_wsp(char c) {
        return c == ' ' || c == '\t';
}

static bool is_fws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One tag-spec of a tag-list: the name and the raw value (between '=' and ';' or the end). */
typedef struct Tag {
        const char *name, *value, *value_end;
        size_t name_len;
} Tag;

/* The next tag-spec from *p (before end): 1 with *t filled, 0 at the end of the list,
 * -EBADMSG when the spec has no '=' or a bad name. */
static int next_tag(const char **p, const char *end, Tag *t) {
        const char *s = *p, *semi, *eq;

        if (s >= end)
                return 0;
        semi = memchr(s, ';', (size_t) (end - s));
        if (!semi)
                semi = end;
        *p = semi < end ? semi + 1 : end;
        while (s < semi && is_fws(*s))
                s++;
        if (s == semi) /* an empty spec: allowed only as the trailing ';' */
                return *p == end ? 0 : -EBADMSG;
        eq = memchr(s, '=', (size_t) (semi - s));
        if (!eq)
                return -EBADMSG;
        t->name = s;
        const char *ne = eq;
        while (ne > s && is_fws(ne[-1]))
                ne--;
        t->name_len = (size_t) (ne - s);
        if (t->name_len == 0 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
                return -EBADMSG;
        for (const char *c = s; c < ne; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                        return -EBADMSG;
        t->value = eq + 1;
        t->value_end = semi;
        return 1;
}

/* The value trimmed of folding white space; with squeeze, all of it removed (b=, bh=, h=). */
static char *tag_value(const Tag *t, bool squeeze) {
        const char *s = t->value, *e = t->value_end;
        char *out, *o;

        while (s < e && is_fws(*s))
                s++;
        while (e > s && is_fws(e[-1]))
                e--;
        out = malloc((size_t) (e - s) + 1);
        if (!out)
                return NULL;
        o = out;
        for (; s < e; s++)
                if (!squeeze || !is_fws(*s))
                        *o++ = *s;
        *o = '\0';
        return out;
}

void dkim_signature_done(DkimSignature *sig) {
        free(sig->v);
        free(sig->a);
        free(sig->d);
        free(sig->s);
        free(sig->h);
        free(sig->bh);
        free(sig->b);
        *sig = (DkimSignature) {};
}

_printf_(2, 3)
static int bad(char **ret_error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EBADMSG;
}

static int parse_canon(const char *c, DkimSignature *sig) {
        const char *slash = strchr(c, '/');
        size_t hl = slash ? (size_t) (slash - c) : strlen(c);
        const char *body = slash ? slash + 1 : "simple";

        if (hl == 6 && strncmp(c, "simple", 6) == 0)
                sig->header_canon = DKIM_CANON_SIMPLE;
        else if (hl == 7 && strncmp(c, "relaxed", 7) == 0)
                sig->header_canon = DKIM_CANON_RELAXED;
        else
                return -EBADMSG;
        if (streq(body, "simple"))
                sig->body_canon = DKIM_CANON_SIMPLE;
        else if (streq(body, "relaxed"))
                sig->body_canon = DKIM_CANON_RELAXED;
        else
                return -EBADMSG;
        return 0;
}

int dkim_signature_parse(const char *value, size_t size, DkimSignature *ret, char **ret_error) {
        _cleanup_(dkim_signature_done) DkimSignature sig = {};
        const char *p = value, *end = value + size;
        bool seen_c = false;
        Tag t;
        int r;

        while ((r = next_tag(&p, end, &t)) > 0) {
                static const char *const names[] = { "v", "a", "d", "s", "h", "bh", "b", "c", "l" };
                size_t i;
                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (strlen(names[i]) == t.name_len && memcmp(names[i], t.name, t.name_len) == 0)
                                break;
                if (i == ELEMENTSOF(names))
                        continue; /* unknown tags are ignored (§3.2) */
                if ((size_t) (t.value_end - t.value) > TAG_VALUE_MAX)
                        return bad(ret_error, _("%s= is too long"), names[i]);
                char **slots[] = { &sig.v, &sig.a, &sig.d, &sig.s, &sig.h, &sig.bh, &sig.b, NULL, NULL };
                if (i == 7) { /* c= */
                        _cleanup_free_ char *c = tag_value(&t, true);
                        if (!c)
                                return -ENOMEM;
                        if (seen_c)
                                return bad(ret_error, _("c= appears twice"));
                        seen_c = true;
                        if (parse_canon(c, &sig) < 0)
                                return bad(ret_error, _("c= is neither simple nor relaxed"));
                        continue;
                }
                if (i == 8) { /* l= */
                        sig.has_l = true;
                        continue;
                }
                char **slot = slots[i];
                if (*slot)
                        return bad(ret_error, _("%s= appears twice"), names[i]);
                *slot = tag_value(&t, i >= 4);
                if (!*slot)
                        return -ENOMEM;
        }
        if (r < 0)
                return bad(ret_error, _("a tag without '=' or with a bad name"));
        static const char *const required[] = { "v", "a", "d", "s", "h", "bh", "b" };
        char *const have[] = { sig.v, sig.a, sig.d, sig.s, sig.h, sig.bh, sig.b };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!have[i] || !*have[i])
                        return bad(ret_error, _("the tag %s= is missing or empty"), required[i]);
        *ret = sig;
        sig = (DkimSignature) {};
        return 0;
}

void dkim_verify_done(DkimVerify *v) {
        free(v->d);
        free(v->s);
        free(v->detail);
        *v = (DkimVerify) {};
}

const char *dkim_verify_result_to_string(DkimVerifyResult r) {
        static const char *const table[_DKIM_VERIFY_MAX] = {
                [DKIM_VERIFY_OK] = "ok",
                [DKIM_VERIFY_NOT_SIGNED] = "not-signed",
                [DKIM_VERIFY_WRONG_SIGNER] = "wrong-signer",
                [DKIM_VERIFY_MALFORMED] = "malformed",
                [DKIM_VERIFY_UNSUPPORTED] = "unsupported",
                [DKIM_VERIFY_BODY_HASH] = "body-hash",
                [DKIM_VERIFY_BAD_SIGNATURE] = "bad-signature",
        };
        return r >= 0 && r < _DKIM_VERIFY_MAX ? table[r] : NULL;
}

int dkim_verify_load_key(const char *pem, size_t size, EVP_PKEY **ret) {
        BIO *b = BIO_new_mem_buf(pem, (int) MIN(size, (size_t) 1 << 20));
        EVP_PKEY *k = NULL, *pub = NULL;
        unsigned char *der = NULL;
        int n;

        if (!b)
                return -ENOMEM;
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *) "");
        if (!k) {
                (void) BIO_reset(b);
                pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        } else if ((n = i2d_PUBKEY(k, &der)) > 0) {
                /* only the public half goes on: what a receiver has from DNS */
                const unsigned char *q = der;
                pub = d2i_PUBKEY(NULL, &q, n);
        }
        OPENSSL_free(der);
        EVP_PKEY_free(k);
        BIO_free(b);
        ERR_clear_error();
        if (!pub)
                return -EBADMSG;
        *ret = pub;
        return 0;
}

/* The message with every bare LF turned into CRLF (Maildir files have LF ends). */
static int to_crlf(const char *msg, size_t size, Buf *out) {
        for (size_t i = 0, start = 0; i <= size; i++) {
                if (i == size || msg[i] == '\n') {
                        if (buf_add(out, msg + start, i - start) < 0)
                                return -ENOMEM;
                        if (i == size)
                                break;
                        bool cr = i > 0 && msg[i - 1] == '\r';
                        if (buf_add(out, cr ? "\n" : "\r\n", cr ? 1 : 2) < 0)
                                return -ENOMEM;
                        start = i + 1;
                }
        }
        return buf_add(out, "", 0);
}

typedef struct Field {
        const char *start;  /* the name */
        size_t len;         /* up to and including the final CRLF */
        size_t name_len;
        bool used;
} Field;

/* The header fields and where the body begins. */
static int split_header(const char *m, size_t n, Field *fields, size_t *ret_n, size_t *ret_body) {
        size_t i = 0, count = 0;

        while (i < n) {
                if (n - i >= 2 && m[i] == '\r' && m[i + 1] == '\n') {
                        i += 2;
                        break; /* the blank line */
                }
                if (is_wsp(m[i]))
                        return -EBADMSG; /* a continuation with no field before it */
                size_t s = i;
                for (;;) {
                        const char *nl = memchr(m + i, '\n', n - i);
                        i = nl ? (size_t) (nl - m) + 1 : n;
                        if (i >= n || !is_wsp(m[i]))
                                break;
                }
                const char *colon = memchr(m + s, ':', i - s);
                if (!colon)
                        return -EBADMSG;
                if (count == HEADERS_MAX)
                        return -E2BIG;
                size_t nl = (size_t) (colon - (m + s));
                while (nl > 0 && is_wsp(m[s + nl - 1]))
                        nl--;
                fields[count++] = (Field) { .start = m + s, .len = i - s, .name_len = nl };
        }
        *ret_n = count;
        *ret_body = i;
        return 0;
}

/* One header field canonicalized; the field is given as text (name, colon, value, CRLF). */
static int canon_header(DkimCanon c, const char *f, size_t len, size_t name_len, Buf *out) {
        if (c == DKIM_CANON_SIMPLE)
                return buf_add(out, f, len);
        const char *colon = memchr(f, ':', len);
        for (size_t i = 0; i < name_len; i++) {
                char ch = f[i] >= 'A' && f[i] <= 'Z' ? (char) (f[i] - 'A' + 'a') : f[i];
                if (buf_add(out, &ch, 1) < 0)
                        return -ENOMEM;
        }
        if (buf_add(out, ":", 1) < 0)
                return -ENOMEM;
        bool space = false, any = false;
        for (const char *p = colon + 1; p < f + len; p++) {
                if (*p == '\r' || *p == '\n')
                        continue; /* unfolding */
                if (is_wsp(*p)) {
                        space = true;
                        continue;
                }
                if (space && any && buf_add(out, " ", 1) < 0)
                        return -ENOMEM;
                space = false;
                any = true;
                if (buf_add(out, p, 1) < 0)
                        return -ENOMEM;
        }
        return buf_add(out, "\r\n", 2);
}

static int canon_body(DkimCanon c, const char *b, size_t n, Buf *out) {
        if (c == DKIM_CANON_SIMPLE) {
                if (buf_add(out, b, n) < 0)
                        return -ENOMEM;
                if (out->n < 2 || memcmp(out->p + out->n - 2, "\r\n", 2) != 0)
                        if (buf_add(out, "\r\n", 2) < 0)
                                return -ENOMEM;
                while (out->n >= 4 && memcmp(out->p + out->n - 4, "\r\n\r\n", 4) == 0)
                        out->n -= 2;
                return 0;
        }
        for (size_t i = 0; i < n;) {
                const char *nl = memchr(b + i, '\n', n - i);
                size_t e = nl ? (size_t) (nl - b) : n, le = e;
                if (nl && le > i && b[le - 1] == '\r')
                        le--;
                bool space = false;
                for (size_t j = i; j < le; j++) {
                        if (is_wsp(b[j])) {
                                space = true;
                                continue;
                        }
                        if (space && buf_add(out, " ", 1) < 0)
                                return -ENOMEM;
                        space = false;
                        if (buf_add(out, b + j, 1) < 0)
                                return -ENOMEM;
                }
                if (buf_add(out, "\r\n", 2) < 0)
                        return -ENOMEM;
                i = nl ? e + 1 : n;
        }
        while (out->n >= 4 && memcmp(out->p + out->n - 4, "\r\n\r\n", 4) == 0)
                out->n -= 2;
        if (out->n == 2) /* only empty lines: the relaxed body is empty */
                out->n = 0;
        return 0;
}

/* Base64 with white space ignored; -EBADMSG when it is not base64. */
static int b64_decode(const char *s, unsigned char **ret, size_t *ret_n) {
        size_t n = strlen(s), pad = 0;
        if (n == 0 || n % 4 != 0)
                return -EBADMSG;
        _cleanup_free_ unsigned char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int r = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
        if (r < 0)
                return -EBADMSG;
        for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
                pad++;
        if (pad > 2)
                return -EBADMSG;
        *ret_n = (size_t) r - pad;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool name_is(const Field *f, const char *name, size_t len) {
        return f->name_len == len && strncasecmp(f->start, name, len) == 0;
}

static int set_result(DkimVerify *v, DkimVerifyResult r, const DkimSignature *sig, const char *detail) {
        v->result = r;
        if (sig && sig->d && (!(v->d = strdup(sig->d)) || !(v->s = strdup(sig->s))))
                return -ENOMEM;
        if (detail && !(v->detail = strdup(detail)))
                return -ENOMEM;
        return 0;
}

/* The signature's own field, canonicalized, b= emptied, without its final CRLF. */
static int canon_self(const DkimSignature *sig, const Field *f, Buf *out) {
        const char *colon = memchr(f->start, ':', f->len), *end = f->start + f->len, *p;
        _cleanup_(buf_done) Buf blanked = {};
        Tag t;
        int r;

        if (end - f->start >= 2 && end[-2] == '\r')
                end -= 2;
        p = colon + 1;
        while ((r = next_tag(&p, end, &t)) > 0)
                if (t.name_len == 1 && t.name[0] == 'b')
                        break;
        if (r <= 0)
                return -EBADMSG;
        if (buf_add(&blanked, f->start, (size_t) (t.value - f->start)) < 0 ||
            buf_add(&blanked, t.value_end, (size_t) (f->start + f->len - t.value_end)) < 0)
                return -ENOMEM;
        r = canon_header(sig->header_canon, blanked.p, blanked.n, f->name_len, out);
        if (r < 0)
                return r;
        if (out->n >= 2 && memcmp(out->p + out->n - 2, "\r\n", 2) == 0)
                out->n -= 2; /* no CRLF after the signature's own field */
        return 0;
}

static int verify_one(const DkimSignature *sig, const Field *self, Field *fields, size_t n_fields, const char *body,
                      size_t body_n, EVP_PKEY *key, DkimVerify *v) {
        _cleanup_(buf_done) Buf cb = {}, ch = {};
        _cleanup_free_ unsigned char *bh = NULL, *b = NULL;
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned digest_n = 0;
        size_t bh_n, b_n, names = 0;
        int r;

        if (!streq(sig->v, "1"))
                return set_result(v, DKIM_VERIFY_UNSUPPORTED, sig, _("v= is not 1"));
        if (!streq(sig->a, "rsa-sha256"))
                return set_result(v, DKIM_VERIFY_UNSUPPORTED, sig, _("a= is not rsa-sha256"));
        if (sig->has_l)
                return set_result(v, DKIM_VERIFY_UNSUPPORTED, sig, _("l= (a body length limit) is not supported"));
        if (b64_decode(sig->bh, &bh, &bh_n) < 0 || b64_decode(sig->b, &b, &b_n) < 0)
                return set_result(v, DKIM_VERIFY_MALFORMED, sig, _("b= or bh= is not base64"));
        r = canon_body(sig->body_canon, body, body_n, &cb);
        if (r < 0)
                return r;
        if (EVP_Digest(cb.p ? cb.p : "", cb.n, digest, &digest_n, EVP_sha256(), NULL) != 1)
                return -ENOMEM;
        if (bh_n != digest_n || memcmp(bh, digest, digest_n) != 0)
                return set_result(v, DKIM_VERIFY_BODY_HASH, sig, NULL);

        /* h=: each name takes the last field of that name not taken yet (§5.4.2) */
        bool from = false;
        for (const char *p = sig->h; *p;) {
                const char *c = strchr(p, ':');
                size_t len = c ? (size_t) (c - p) : strlen(p);
                if (++names > H_NAMES_MAX)
                        return set_result(v, DKIM_VERIFY_MALFORMED, sig, _("h= names too many fields"));
                from = from || (len == 4 && strncasecmp(p, "from", 4) == 0);
                for (size_t i = n_fields; i > 0; i--) {
                        Field *f = &fields[i - 1];
                        if (f->used || f == self || !name_is(f, p, len))
                                continue;
                        f->used = true;
                        if ((r = canon_header(sig->header_canon, f->start, f->len, f->name_len, &ch)) < 0)
                                return r;
                        break;
                }
                p = c ? c + 1 : p + len;
        }
        if (!from)
                return set_result(v, DKIM_VERIFY_MALFORMED, sig, _("h= does not sign From"));
        if ((r = canon_self(sig, self, &ch)) < 0)
                return r == -EBADMSG ? set_result(v, DKIM_VERIFY_MALFORMED, sig, _("b= not found")) : r;

        if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
                return set_result(v, DKIM_VERIFY_BAD_SIGNATURE, sig, NULL);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        r = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestVerify(md, b, b_n, (const unsigned char *) ch.p, ch.n) == 1;
        EVP_MD_CTX_free(md);
        ERR_clear_error();
        return set_result(v, r ? DKIM_VERIFY_OK : DKIM_VERIFY_BAD_SIGNATURE, sig, NULL);
}

static bool ci_eq(const char *a, const char *b) {
        return !b || strcasecmp(a, b) == 0;
}

int dkim_verify_message(const char *msg, size_t size, EVP_PKEY *key, const char *expect_d, const char *expect_s,
                        DkimVerify *ret) {
        _cleanup_(buf_done) Buf m = {};
        _cleanup_free_ Field *fields = NULL;
        _cleanup_free_ char *first_error = NULL;
        DkimVerify v = {};
        size_t n_fields, body;
        const Field *first = NULL;
        int r;

        if (size > DKIM_VERIFY_MESSAGE_MAX)
                return -E2BIG;
        if ((r = to_crlf(msg, size, &m)) < 0)
                return r;
        fields = calloc(HEADERS_MAX, sizeof(Field));
        if (!fields)
                return -ENOMEM;
        r = split_header(m.p, m.n, fields, &n_fields, &body);
        if (r < 0) {
                r = set_result(&v, DKIM_VERIFY_MALFORMED, NULL, _("the message's header does not parse"));
                goto out;
        }
        for (size_t i = 0; i < n_fields; i++) {
                _cleanup_(dkim_signature_done) DkimSignature sig = {};
                _cleanup_free_ char *err = NULL;
                const Field *f = &fields[i];
                if (!name_is(f, "DKIM-Signature", 14))
                        continue;
                const char *colon = memchr(f->start, ':', f->len);
                r = dkim_signature_parse(colon + 1, (size_t) (f->start + f->len - colon - 1), &sig, &err);
                if (r == -ENOMEM)
                        goto out;
                if (r < 0) {
                        if (!first) {
                                first = f;
                                first_error = TAKE_PTR(err);
                        }
                        continue;
                }
                if (!ci_eq(sig.d, expect_d) || !ci_eq(sig.s, expect_s)) {
                        if (!first && !(r = set_result(&v, DKIM_VERIFY_WRONG_SIGNER, &sig, NULL)))
                                first = f;
                        if (r < 0)
                                goto out;
                        continue;
                }
                dkim_verify_done(&v);
                r = verify_one(&sig, f, fields, n_fields, m.p + body, m.n - body, key, &v);
                goto out;
        }
        r = 0;
        if (!first)
                v.result = DKIM_VERIFY_NOT_SIGNED;
        else if (v.result != DKIM_VERIFY_WRONG_SIGNER)
                r = set_result(&v, DKIM_VERIFY_MALFORMED, NULL, first_error ? first_error : _("malformed"));
out:
        if (r < 0) {
                dkim_verify_done(&v);
                return r;
        }
        *ret = v;
        return 0;
}
