/* Fuzzes the DKIM-Signature tag parser and the offline verifier (installer/dkimverify.c):
 * the input is tried as a DKIM-Signature value and as a whole message; no crash, no leak,
 * and a parsed signature always has the tags verification needs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dkimverify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *test_key(void) {
        static EVP_PKEY *k;
        if (!k)
                k = EVP_RSA_gen(1024);
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DkimSignature sig = {};
        DkimVerify v = {};
        char *err = NULL;

        if (size > 1 << 16)
                return 0;
        if (dkim_signature_parse((const char *) data, size, &sig, &err) == 0) {
                if (!sig.v || !sig.a || !sig.d || !sig.s || !sig.h || !sig.bh || !sig.b || !*sig.d)
                        abort();
                dkim_signature_done(&sig);
        }
        free(err);
        if (dkim_verify_message((const char *) data, size, test_key(), NULL, NULL, &v) == 0) {
                if (!dkim_verify_result_to_string(v.result))
                        abort();
                dkim_verify_done(&v);
        }
        return 0;
}
