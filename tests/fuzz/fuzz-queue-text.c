/* Fuzzes the postqueue -p (text listing) reader: the first byte picks the chunk size bytes
 * arrive in; then
 * the model built on what was read (summary, shape, reason masking). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "queue-text.h"
#include "queue-model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        QueueSnapshot s = {};
        PqtextReader r;
        size_t chunk;

        if (size == 0)
                return 0;
        chunk = (size_t) data[0] + 1;
        data++;
        size--;
        (void) pqtext_looks_like((const char *) data, size);
        pqtext_init(&r, &s, "fuzz", 1796209026);
        for (size_t i = 0; i < size; i += chunk)
                if (pqtext_feed(&r, (const char *) data + i, MIN(chunk, size - i)) < 0)
                        break;
        (void) pqtext_finish(&r);
        pqtext_done(&r);
        (void) queue_snapshot_finish(&s);

        QueueSummary sum = {};
        if (queue_summary_build(&s, &sum) >= 0)
                queue_summary_done(&sum);
        QshapeOptions o;
        Qshape q = {};
        qshape_options_init(&o, 1700000000);
        o.parent = size & 1;
        o.sender = size & 2;
        o.linear = size & 4;
        if (qshape_build(&s, &o, &q) >= 0)
                qshape_done(&q);
        queue_snapshot_done(&s);
        return 0;
}
