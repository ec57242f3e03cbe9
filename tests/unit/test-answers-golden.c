/* Golden files for the answers parser's errors: every tests/data/answers/bad-*.ini is
 * refused with exactly the message in bad-*.err beside it (file, line, reason), and every
 * good-*.ini loads. A bad-*.ini without its .err fails the test.
 *
 * Regenerate after an intended change of wording, then review the diff:
 *     MXDECK_UPDATE_GOLDEN=1 meson test -C build test-answers-golden
 *     git diff tests/data/answers/ */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answers.h"
#include "fileio.h"
#include "macro.h"

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void test_answers_golden(void **state) {
        const char *data = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *dir = NULL;
        char *names[512];
        size_t n = 0, bad = 0, good = 0;
        DIR *d;
        struct dirent *de;
        (void) state;

        assert_non_null(data);
        assert_true(asprintf(&dir, "%s/answers", data) > 0);
        /* chdir: messages name the file as given, and the golden files hold the bare name */
        assert_int_equal(chdir(dir), 0);
        d = opendir(".");
        assert_non_null(d);
        while ((de = readdir(d)) && n < ELEMENTSOF(names)) {
                size_t l = strlen(de->d_name);
                if (l > 4 && streq(de->d_name + l - 4, ".ini"))
                        assert_non_null(names[n++] = strdup(de->d_name));
        }
        closedir(d);
        qsort(names, n, sizeof(char *), name_cmp);

        for (size_t i = 0; i < n; i++) {
                _cleanup_(answers_freep) Answers *a = NULL;
                _cleanup_free_ char *err = NULL, *ref = NULL, *want = NULL;
                size_t size;
                int r = answers_load(names[i], &a, &err);

                if (startswith(names[i], "good-")) {
                        if (r < 0)
                                fprintf(stderr, "%s: %s\n", names[i], err);
                        assert_int_equal(r, 0);
                        good++;
                        free(names[i]);
                        continue;
                }
                if (r >= 0)
                        fprintf(stderr, "%s: accepted, but it is a bad-*.ini\n", names[i]);
                assert_true(r < 0);
                assert_non_null(err);
                assert_true(asprintf(&ref, "%.*s.err", (int) (strlen(names[i]) - 4), names[i]) > 0);
                if (getenv("MXDECK_UPDATE_GOLDEN")) {
                        FILE *f = fopen(ref, "we");
                        assert_non_null(f);
                        fprintf(f, "%s\n", err);
                        assert_int_equal(fclose(f), 0);
                }
                if (read_file_bounded(ref, 1 << 16, &want, &size) < 0) {
                        fprintf(stderr, "%s: no golden file %s (see the top of this test)\n", names[i], ref);
                        fail();
                }
                want[strcspn(want, "\n")] = '\0';
                if (!streq(want, err))
                        fprintf(stderr, "%s:\n  want: %s\n  got:  %s\n", names[i], want, err);
                assert_string_equal(err, want);
                bad++;
                free(names[i]);
        }
        /* the directory was read: a test over nothing would pass */
        assert_true(bad >= 50);
        assert_true(good >= 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answers_golden),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
