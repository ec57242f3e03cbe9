/* The listener suite: port.*, tls.*, smtp.*, imap.* and pop3.* findings for the seven mail listeners. */
#pragma once

#include "probe.h"

int check_mail_listeners(const CheckContext *ctx, FindingList *out);
