/* Postfix's and Dovecot's own diagnostics, where they write them: the journal, else the
 * classic mail log. For evidence in findings ("what did Postfix say about this?"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "deadline.h"

/* The newest line from Postfix or Dovecot no older than max_age_sec that contains needle:
 * "postfix/smtpd: warning: ...", terminal-safe, in *ret (NULL when none). Reads at most
 * a bounded number of journal entries, or the last 256 KiB of /var/log/mail.log
 * (/var/log/maillog on RHEL). Returns 0 or -ENOMEM. */
int maillog_find_recent(const char *needle, unsigned max_age_sec, char **ret);

/* The newest line from Postfix or Dovecot written at or after since_usec (CLOCK_REALTIME)
 * that contains any of the needles, the first needle found winning (most telling first:
 * a warning that names the cause before the reject line that follows it). For evidence of something just provoked: when since
 * is within the last seconds and the journal has nothing yet, waits up to 1.5 s for
 * journald to write it. Returns 0 or -ENOMEM; *ret NULL when none. */
int maillog_find_newest(const char *const *needles, size_t n, uint64_t since_usec, char **ret);

/* The same on an offload worker, awaited through the fiber's loop (other fibers and key
 * presses go on meanwhile) until the deadline; needles must be a static table. */
int maillog_find_newest_async(const char *const *needles, size_t n, uint64_t since_usec, Deadline deadline,
                              char **ret);
