/* The queue.* checks of the catalog: queue.size, queue.oldest, queue.deferred,
 * queue.sender-burst. */
#pragma once

#include "probe.h"
#include "queue-model.h"

int check_queue(const CheckContext *ctx, FindingList *out);

/* The findings for a snapshot (exposed for tests); target names the source. */
int queue_findings(const Settings *settings, const QueueSnapshot *s, int64_t now, const char *target,
                   FindingList *out);
