/* The log.* checks: log.sasl-failures, log.warnings, log.deliverability. */
#pragma once

#include "probe.h"

/* Reads the last [log] window_minutes of the mail log (the journal, else the last
 * [log] file_tail_mib of /var/log/maillog or /var/log/mail.log), stopping at the check's
 * time limit, and adds the three log.* findings (unknown with the reason when there is no
 * log to read). */
int check_log(const CheckContext *ctx, FindingList *out);
