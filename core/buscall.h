/* D-Bus method calls that wait through the fiber's loop (sd_bus_call_async). */
#pragma once

#include <systemd/sd-bus.h>

#include "deadline.h"

/* Sends m on bus and waits for the reply until the deadline: in a fiber the bus is
 * attached to the fiber's loop and only this fiber waits; outside, sd_bus_call. Returns
 * like sd_bus_call (the method's error in *ret_error, the reply in *ret_reply),
 * -ETIMEDOUT at the deadline, -ECANCELED when the fiber was cancelled. */
int bus_call(sd_bus *bus, sd_bus_message *m, Deadline deadline, sd_bus_error *ret_error, sd_bus_message **ret_reply);

/* org.freedesktop.DBus.Properties.Get of a string property, through bus_call. */
int bus_get_property_string(sd_bus *bus, const char *destination, const char *path, const char *interface,
                            const char *member, Deadline deadline, sd_bus_error *ret_error, char **ret);
