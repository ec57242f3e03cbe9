/* libFuzzer target: DKIM key record tags, base64 and key decoding. */
#include <stdint.h>
#include <stdlib.h>

#include "dkim.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DkimKey *k = NULL;
        char *err = NULL;
        unsigned char *raw = NULL;
        size_t n;
        (void) dkim_is_record((const char *) data, size);
        if (dkim_key_parse((const char *) data, size, &k, &err) >= 0)
                dkim_key_free(k);
        free(err);
        if (dkim_base64_decode((const char *) data, size, &raw, &n) >= 0)
                free(raw);
        return 0;
}
