/* dkim_local_key on allocation failure: -ENOMEM and both out-parameters NULL, never a
 * pointer it has freed. strdup is replaced here (the probes are a static library: their
 * calls come to this definition) so that its Nth call fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim.h"
#include "macro.h"

static int strdup_calls, strdup_fail_at; /* 0: never fail */

char *strdup(const char *s) {
        if (strdup_fail_at > 0 && ++strdup_calls == strdup_fail_at)
                return NULL;
        size_t n = strlen(s) + 1;
        char *p = malloc(n);
        return p ? memcpy(p, s, n) : NULL;
}

static void mkdir_p(const char *root, const char *sub) {
        char p[256];
        snprintf(p, sizeof(p), "%s%s", root, sub);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void test_local_key_oom(void **state) {
        char root[] = "/tmp/mxdeck-dkim-oom-XXXXXX", path[256];
        assert_non_null(mkdtemp(root));
        mkdir_p(root, "/etc");
        mkdir_p(root, "/etc/opendkim");
        mkdir_p(root, "/etc/mxdeck");
        mkdir_p(root, "/etc/mxdeck/dkim");
        snprintf(path, sizeof(path), "%s/etc/opendkim/KeyTable", root);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs("s1._domainkey.example.com example.com:s1:/etc/mxdeck/dkim/s1.private\n", f);
        fclose(f);
        char key[256];
        snprintf(key, sizeof(key), "%s/etc/mxdeck/dkim/s2.private", root);
        f = fopen(key, "we");
        assert_non_null(f);
        fclose(f);

        /* the KeyTable's line (selector given or not), then the key file by selector */
        static const struct {
                const char *domain, *selector;
        } cases[] = { { "example.com", NULL }, { "example.com", "s1" }, { "example.org", "s2" } };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *sel = NULL, *kp = NULL;
                strdup_calls = 0, strdup_fail_at = 0;
                assert_int_equal(dkim_local_key(root, cases[i].domain, cases[i].selector, &sel, &kp), 1);
                assert_non_null(sel);
                assert_non_null(kp);
                free(sel);
                free(kp);
                for (int at = 1; at <= 2; at++) {
                        sel = kp = NULL;
                        strdup_calls = 0, strdup_fail_at = at;
                        assert_int_equal(dkim_local_key(root, cases[i].domain, cases[i].selector, &sel, &kp), -ENOMEM);
                        strdup_fail_at = 0;
                        assert_null(sel);
                        assert_null(kp);
                }
        }
        unlink(key);
        unlink(path);
        snprintf(path, sizeof(path), "%s/etc/mxdeck/dkim", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc/mxdeck", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc/opendkim", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/etc", root);
        rmdir(path);
        rmdir(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_local_key_oom),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
