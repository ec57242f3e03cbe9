/* dns.* and dnsbl.* checks (check_dns runs them all). */
#pragma once

#include <stdbool.h>

#include "probe.h"

int check_dns(const CheckContext *ctx, FindingList *out);

/* True for blocklist zones that list domains (dbl., uribl., surbl., rhsbl. anywhere as a
 * label prefix) rather than addresses: they are asked about the mail domain. */
bool dnsbl_zone_lists_domains(const char *zone);
