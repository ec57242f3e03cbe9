/* The log panel: the mail log's last hour and its live tail (see logpanel.c). */
#pragma once

#include <systemd/sd-event.h>

#include "logsource.h"
#include "ui.h"

typedef void (*LogPanelChanged)(void *userdata);

/* Creates the panel: reads the last hour (in a fiber on e, so the first frame does not
 * wait for it), then follows on e. A log that cannot be read (no permission, no journal)
 * is no error: the panel says why. Every record read, history and tail, is handed to
 * observer too when it is not NULL (the traffic panel counts them). */
/* Whether it is still reading the last hour. */
bool log_panel_loading(Panel *p);

int log_panel_new(sd_event *e, LogPanelChanged changed, void *userdata, LogRecordFunc observer, void *observer_data,
                  Panel **ret);
