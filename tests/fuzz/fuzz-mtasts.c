/* libFuzzer target: MTA-STS policy file, MTA-STS and TLS-RPT TXT records. */
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"
#include "mtasts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;
        MtaStsPolicy *p = NULL;
        char *err = NULL, *id = NULL;
        char **rua = NULL;

        if (mtasts_policy_parse(s, size, &p, &err) >= 0) {
                (void) mtasts_policy_covers(p, "mail.example.test");
                mtasts_policy_free(p);
        }
        free(err);
        err = NULL;
        if (mtasts_txt_parse(s, size, &id, &err) >= 0)
                free(id);
        free(err);
        err = NULL;
        if (tlsrpt_txt_parse(s, size, &rua, &err) >= 0)
                strv_free(rua);
        free(err);
        return 0;
}
