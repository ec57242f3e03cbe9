/* dns.* and dnsbl.* checks (check_dns in checks.h runs them all). */
#pragma once

#include <stdbool.h>

/* True for blocklist zones that list domains (dbl., uribl., surbl., rhsbl. anywhere as a
 * label prefix) rather than addresses: they are asked about the mail domain. */
bool dnsbl_zone_lists_domains(const char *zone);
