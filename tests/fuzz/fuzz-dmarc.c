/* libFuzzer target: DMARC record parser (and the tag-list grammar). */
#include <stdint.h>
#include <stdlib.h>

#include "dmarc.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DmarcRecord *rec = NULL;
        char *err = NULL;
        (void) dmarc_is_record((const char *) data, size);
        if (dmarc_parse((const char *) data, size, &rec, &err) >= 0) {
                for (size_t i = 0; i < rec->n_rua; i++)
                        if (rec->rua[i].domain)
                                (void) dmarc_destination_is_external("example.test", rec->rua[i].domain);
                dmarc_record_free(rec);
        }
        free(err);
        return 0;
}
