/* libFuzzer target: SPF parser, macro expansion, and check_host()/the static walk on a fake
 * DNS where every name publishes the fuzzed record. */
#include <stdint.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *record;

static int f_txt(void *u, const char *name, char ***ret) {
        char **v = calloc(2, sizeof(char *));
        if (!v)
                return -ENOMEM;
        v[0] = strdup(record);
        *ret = v;
        return v[0] ? 1 : -ENOMEM;
}

static int f_addrs(void *u, const char *name, int family, SpfAddr **ret) {
        SpfAddr *a = calloc(1, sizeof(SpfAddr));
        if (!a)
                return -ENOMEM;
        *ret = a;
        if (strlen(name) % 3 == 0)
                return 0; /* some void answers */
        (void) spf_addr_from_string(family == AF_INET ? "192.0.2.1" : "2001:db8::1", a);
        return 1;
}

static int f_mx(void *u, const char *name, char ***ret) {
        char **v = calloc(2, sizeof(char *));
        if (!v)
                return -ENOMEM;
        v[0] = strdup("mail.example.test");
        *ret = v;
        return v[0] ? 1 : -ENOMEM;
}

static int f_ptr(void *u, const SpfAddr *a, char ***ret) {
        return f_mx(u, NULL, ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        SpfRecord *rec = NULL;

        if (size > 8192)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        if (spf_parse(text, size, &rec, &err) >= 0) {
                SpfAddr ip;
                (void) spf_addr_from_string(size % 2 ? "192.0.2.1" : "2001:db8::1", &ip);
                SpfMacroEnv env = { "user@example.test", "example.test", "helo.example.test", &ip };
                for (size_t i = 0; i < rec->n_terms; i++)
                        if (rec->terms[i].domain) {
                                char *out = NULL;
                                if (spf_expand(rec->terms[i].domain, &env, false, &out) >= 0)
                                        free(out);
                        }
                spf_record_free(rec);
                if (!memchr(text, 0, size)) {
                        record = text;
                        SpfDns dns = { f_txt, f_addrs, f_mx, f_ptr, NULL };
                        SpfEvaluation e;
                        SpfWalk w;
                        if (spf_check_host(&dns, &ip, "example.test", "user@example.test", "helo.test", &e) >= 0)
                                spf_evaluation_done(&e);
                        else
                                spf_evaluation_done(&e);
                        (void) spf_walk(&dns, "example.test", &w);
                        spf_walk_done(&w);
                }
        }
        /* the expander on its own, as exp= text */
        char *out = NULL;
        SpfAddr ip6;
        (void) spf_addr_from_string("2001:db8::cb01", &ip6);
        SpfMacroEnv env6 = { "a.b-c@example.test", "example.test", "h", &ip6 };
        if (!memchr(text, 0, size) && spf_expand(text, &env6, true, &out) >= 0)
                free(out);
        return 0;
}
