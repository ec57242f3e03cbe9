/* The health panel: the check catalog refreshed on the loop (see health.c). */
#pragma once

#include <systemd/sd-event.h>

#include "probe.h"
#include "ui.h"

/* Called when the panel's data changed (a check finished, a run started or ended). */
typedef void (*HealthChanged)(void *userdata);

/* Creates the panel and starts its first run on e; it refreshes every interval seconds
 * after the previous run ended. ctx is copied (its pointers must outlive the panel). */
int health_new(sd_event *e, const CheckContext *ctx, unsigned interval, HealthChanged changed, void *userdata,
               Panel **ret);

/* Starts a refresh now (one that runs is started over). */
void health_refresh(Panel *p);

bool health_running(Panel *p);
