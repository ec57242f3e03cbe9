/* The DNS plan printed at the end of a successful `mxdeck setup`, and the zone renderer it
 * shares with `mxdeck dns records`. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "answers.h"
#include "dns-records.h"
#include "osrelease.h"

/* Records to publish for every mail domain, the PTR request, then the dns.* checks with
 * what is right and what is missing (with remedies). Returns 0 or a negative errno. */
int setup_dns_plan(FILE *f, const Answers *a, DistroFamily family, bool systemd);
/* Its last part: the dns.* checks of every mail domain, what is right and what is still
 * missing (with remedies), or why they were left out (a resolver that does not answer). */
int setup_dns_checks(FILE *f, const Answers *a, DistroFamily family, bool systemd);

/* cli/dns.c: a RecordSet as a zone-file fragment. */
void render_records_zone(FILE *f, const RecordSet *s, bool mta_sts);
