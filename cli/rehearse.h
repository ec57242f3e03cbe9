/* The rehearsal's traffic: deliveries, a deferral, a refused relay attempt, failed IMAP
 * logins, against the lab host the wizard has just set up. */
#pragma once

#include <stdio.h>

/* Sends the traffic, saying what it does on f. Returns 0, -EPERM outside a lab
 * (MXDECK_LAB=1), -EINVAL without an address, -EIO when some of it did not work (said on f). */
int rehearse_traffic(const char *address, FILE *f);
