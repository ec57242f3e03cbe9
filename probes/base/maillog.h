/* Postfix's and Dovecot's own diagnostics, where they write them: the journal, else the
 * classic mail log. For evidence in findings ("what did Postfix say about this?"). */
#pragma once

/* The newest line from Postfix or Dovecot no older than max_age_sec that contains needle:
 * "postfix/smtpd: warning: ...", terminal-safe, in *ret (NULL when none). Reads at most
 * a bounded number of journal entries, or the last 256 KiB of /var/log/mail.log
 * (/var/log/maillog on RHEL). Returns 0 or -ENOMEM. */
int maillog_find_recent(const char *needle, unsigned max_age_sec, char **ret);
