/* cert.renewal: each TLS listener's certificate compared with the file on disk. */
#pragma once

#include "probe.h"

int check_cert_renewal(const CheckContext *ctx, FindingList *out);
