/* listeners_parse: the text of /proc/net/tcp{,6} (preflight: who holds port 25/587). */
#include <stddef.h>
#include <stdint.h>

#include "listeners.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint64_t inodes[LISTENERS_MAX];
        size_t n;

        listeners_parse((const char *) data, size, 25, inodes, LISTENERS_MAX, &n);
        if (n > LISTENERS_MAX)
                __builtin_trap();
        return 0;
}
