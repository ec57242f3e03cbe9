/* The log panel: the mail log's last hour and its live tail (see logpanel.c). */
#pragma once

#include <systemd/sd-event.h>

#include "ui.h"

typedef void (*LogPanelChanged)(void *userdata);

/* Creates the panel: reads the last hour, then follows on e. A log that cannot be read
 * (no permission, no journal) is no error: the panel says why. */
int log_panel_new(sd_event *e, LogPanelChanged changed, void *userdata, Panel **ret);
