/* Fuzzes the queue-file record reader (read through windows the way the source reads a
 * file, so content skips and pointer jumps land anywhere), the defer-log reader and the
 * message built from both. The first byte picks the window size and the maildrop flag. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "queue-file.h"
#include "queue-model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(const char *address, const char *reason, void *userdata) {
        (*(size_t *) userdata) += strlen(address) + strlen(reason);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        QfileParser p;
        size_t window;
        bool maildrop;
        int r = 0;

        if (size == 0)
                return 0;
        /* windows from 64 bytes up: a needed record must fit in the window (the real reader
         * uses QFILE_WINDOW); small ones exercise the refills */
        window = data[0] & 0x80 ? QFILE_WINDOW : 64 + (size_t) (data[0] & 0x3f) * 16;
        maildrop = data[0] & 0x40;
        data++;
        size--;

        qfile_parser_init(&p, maildrop);
        for (unsigned rounds = 0; rounds < 100000; rounds++) {
                uint64_t off = p.want;
                size_t n = off >= size ? 0 : MIN(window, size - (size_t) off);
                bool eof = off + n >= size;
                r = qfile_feed(&p, data + (off < size ? off : size), n, off, eof);
                if (r != 0 || (p.want == off && !eof))
                        break;
        }

        /* the same bytes as a defer log */
        size_t total = 0;
        (void) bouncelog_parse((const char *) data, size, count_cb, &total);

        QueueMessage m = {};
        if (qfile_to_message(&p, "ABCDEF1", maildrop ? QUEUE_MAILDROP : QUEUE_DEFERRED, 1, size,
                             (const char *) data, size, &m) >= 0) {
                for (size_t i = 0; i < m.n_recipients; i++)
                        if (m.recipients[i].delay_reason) {
                                char *n = queue_reason_normalise(m.recipients[i].delay_reason);
                                free(n);
                        }
                queue_message_done(&m);
        }
        qfile_parser_done(&p);
        return 0;
}
