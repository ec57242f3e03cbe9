/* The queue panel: the mail queue at a glance and safe actions on it (see queuepanel.c). */
#pragma once

#include <systemd/sd-event.h>

#include "settings.h"
#include "ui.h"

typedef void (*QueuePanelChanged)(void *userdata);

/* Creates the panel and starts its first read of the queue on e (on a worker, through the
 * loop: the view never waits). While the panel is shown it reads the queue again every
 * interval seconds and after every action. settings must outlive the panel (read-only
 * mode, time limits). */
int queue_panel_new(sd_event *e, const Settings *settings, unsigned interval, QueuePanelChanged changed,
                    void *userdata, Panel **ret);
