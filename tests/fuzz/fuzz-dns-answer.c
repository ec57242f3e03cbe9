/* libFuzzer target: DNS answer packets from the network, as the checks read them (A, AAAA,
 * TXT, MX, PTR, CNAME chains, TLSA), chosen by the first byte. */
#include <stdint.h>
#include <stdlib.h>

#include "dns.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint16_t types[] = { 1, 28, 16, 15, 12, 5, 52 };
        if (size < 1 || size > 65535)
                return 0;
        DnsAnswer a;
        if (dns_answer_from_wire(data + 1, size - 1, "example.test", types[data[0] % ELEMENTSOF(types)], &a) >= 0)
                dns_answer_done(&a);
        return 0;
}
