/* The health panel: the check catalog refreshed on the loop (see health.c). */
#pragma once

#include <systemd/sd-event.h>

#include "probe.h"
#include "ui.h"

/* Called when the panel's data changed (a check finished, a run started or ended). */
typedef void (*HealthChanged)(void *userdata);

/* Fills in ctx's missing names (host, domain), called once in a fiber before the first
 * run; 0 or a negative errno (the checks then run without them). */
typedef int (*HealthNames)(CheckContext *ctx, void *userdata);

/* Creates the panel and starts its first run on e (after names(), when given, has filled
 * in the names, in a fiber: the caller's first frame is not held up); it refreshes every
 * interval seconds after the previous run ended. ctx is copied (its pointers must
 * outlive the panel). hold_log: as health_hold_log(p, true) from the start. */
int health_new(sd_event *e, const CheckContext *ctx, HealthNames names, void *names_userdata, bool hold_log,
               unsigned interval, HealthChanged changed, void *userdata, Panel **ret);

/* hold: leave the log checks out of the runs (while the log panel reads the same last
 * hour: both at once would double the memory at the peak); released, they run at once
 * (or right after the run going on). */
void health_hold_log(Panel *p, bool hold);

/* The host the checks look at (NULL until known). */
const char *health_host(Panel *p);

/* Starts a refresh now (one that runs is started over). */
void health_refresh(Panel *p);

bool health_running(Panel *p);
