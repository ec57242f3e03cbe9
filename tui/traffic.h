/* The traffic panel: per-minute sparklines of the last hour (see traffic.c). */
#pragma once

#include "logsource.h"
#include "ui.h"

int traffic_new(Panel **ret);

/* A LogRecordFunc (userdata: the traffic Panel): counts one record of the mail log. The
 * log panel hands it everything it reads, the last hour first, then the live tail. */
int traffic_on_record(const LogEvent *ev, const char *raw, size_t raw_len, void *userdata);
