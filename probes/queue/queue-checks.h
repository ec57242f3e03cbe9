/* The queue.* checks of the catalog: queue.size, queue.oldest, queue.deferred,
 * queue.sender-burst. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "queue-model.h"

int check_queue(const CheckContext *ctx, FindingList *out);

/* The findings for a snapshot (exposed for tests); target names the source. */
int queue_findings(const Settings *settings, const QueueSnapshot *s, int64_t now, const char *target,
                   FindingList *out);

/* "90 s", "12 min", "5 h", "3 days": a message age as a person reads it (into buf). */
char *queue_format_age(int64_t s, char *buf, size_t size);
