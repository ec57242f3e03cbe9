/* Fuzzes the opendkim.conf reader and editor (installer/opendkim.c): no crash, no leak,
 * and a key that was set always reads back as the value it was set to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "opendkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        const char *keys[] = { "Socket", "KeyTable", "Mode" };
        const char *values[] = { "local:/var/spool/postfix/opendkim/opendkim.sock", "/etc/opendkim/KeyTable", "sv" };
        char *out = NULL, *v = NULL;
        size_t out_size;

        if (size > 1 << 16)
                return 0;
        if (opendkim_conf_get(text, size, "Socket", &v) >= 0)
                free(v);
        if (opendkim_conf_set(text, size, keys, values, ELEMENTSOF(keys), &out, &out_size) < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (opendkim_conf_get(out, out_size, keys[i], &v) < 0 || strcmp(v, values[i]) != 0)
                        abort();
                free(v);
        }
        free(out);
        return 0;
}
