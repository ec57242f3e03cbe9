/* Fuzzes the INI reader with the answers schema, and the answers checks on top: no crash,
 * no leak, exactly one outcome, and every error message safe to print on a terminal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "conf.h"
#include "macro.h"
#include "termsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_outcome(int r, void *object, const char *error) {
        if (r >= 0) {
                if (!object || error)
                        abort();
                return;
        }
        if (object)
                abort();
        if (r == -EINVAL && !error)
                abort();
        if (error) {
                size_t len = strlen(error);
                if (!utf8_is_valid(error, len))
                        abort();
                for (size_t i = 0; i < len;) {
                        uint32_t cp;
                        i += utf8_decode(error + i, len - i, &cp);
                        if (!termsafe_codepoint_is_safe(cp))
                                abort();
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;

        {
                _cleanup_(conf_freep) Conf *c = NULL;
                _cleanup_free_ char *error = NULL;
                int r = conf_load_buffer("fuzz.ini", (const char *) data, size, answers_schema(),
                                         &c, &error);
                check_outcome(r, c, error);
                if (c)
                        for (size_t i = 0; i < c->n_values; i++) {
                                /* every value found again by lookup, with its line */
                                const ConfValue *v = conf_get(c, c->values[i].section, c->values[i].key);
                                if (v != &c->values[i] || v->line == 0)
                                        abort();
                        }
        }
        {
                _cleanup_(answers_freep) Answers *a = NULL;
                _cleanup_free_ char *error = NULL;
                int r = answers_load_buffer("fuzz.ini", (const char *) data, size, &a, &error);
                check_outcome(r, a, error);
        }
        return 0;
}
