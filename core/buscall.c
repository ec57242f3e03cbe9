/* bus_call: sd_bus_call_async + fiber_suspend, so a slow or hung systemd holds only the
 * fiber that asked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buscall.h"
#include "fiber.h"
#include "macro.h"

typedef struct Pending {
        Fiber *fiber;
        sd_bus_message *reply;
        bool done;
} Pending;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        p->reply = sd_bus_message_ref(m);
        p->done = true;
        fiber_wake(p->fiber);
        return 0;
}

int bus_call(sd_bus *bus, sd_bus_message *m, Deadline deadline, sd_bus_error *ret_error, sd_bus_message **ret_reply) {
        Fiber *f = fiber_current();
        uint64_t left = deadline_left_ms(deadline);
        uint64_t usec = left == UINT64_MAX ? 0 : MAX(left, (uint64_t) 1) * USEC_PER_MSEC;
        int r;

        if (!f)
                return sd_bus_call(bus, m, usec, ret_error, ret_reply);
        if (fiber_is_cancelled())
                return -ECANCELED;
        if (left == 0)
                return -ETIMEDOUT;
        if (!sd_bus_get_event(bus)) {
                r = sd_bus_attach_event(bus, fiber_event(), 0);
                if (r < 0)
                        return r;
        }

        Pending p = { .fiber = f };
        sd_bus_slot *slot = NULL;
        r = sd_bus_call_async(bus, &slot, m, on_reply, &p, usec);
        if (r < 0)
                return r;
        while (!p.done) {
                r = fiber_suspend(deadline);
                if (r < 0)
                        break;
        }
        /* Dropping the slot forgets a call still in flight: its late reply is discarded. */
        sd_bus_slot_unref(slot);
        if (!p.done)
                return r;

        const sd_bus_error *e = sd_bus_message_get_error(p.reply);
        if (e) {
                r = -sd_bus_error_get_errno(e);
                if (ret_error)
                        sd_bus_error_copy(ret_error, e);
                sd_bus_message_unref(p.reply);
                return r < 0 ? r : -EIO;
        }
        if (ret_reply)
                *ret_reply = p.reply;
        else
                sd_bus_message_unref(p.reply);
        return 1;
}

int bus_get_property_string(sd_bus *bus, const char *destination, const char *path, const char *interface,
                            const char *member, Deadline deadline, sd_bus_error *ret_error, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *s;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, destination, path, "org.freedesktop.DBus.Properties", "Get");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", interface, member);
        if (r < 0)
                return r;
        r = bus_call(bus, m, deadline, ret_error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', "s");
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(reply, 's', &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}
