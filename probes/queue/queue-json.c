/* postqueue -j reader: jansson per line; unknown members ignored, missing optional ones
 * defaulted, malformed lines reported with their number while the rest is still read. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "queue-json.h"

void pqjson_init(PqjsonReader *r, QueueSnapshot *s, const char *name) {
        *r = (PqjsonReader) { .snapshot = s, .name = name ? name : "postqueue -j",
                              .split = LINE_SPLITTER_INIT(PQJSON_MAX_LINE) };
}

void pqjson_done(PqjsonReader *r) {
        line_splitter_done(&r->split);
}

static const char *json_str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

int pqjson_parse_line(const char *line, size_t len, QueueMessage *ret, const char **ret_error) {
        QueueMessage m = {};
        json_error_t jerr;
        json_t *o, *v;
        const char *id, *queue, *sender;
        int r = -EINVAL;

        *ret_error = NULL;
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
                lead++;
        if (lead == len)
                return 1;

        o = json_loadb(line + lead, len - lead, 0, &jerr);
        if (!o) {
                *ret_error = "not valid JSON";
                return -EINVAL;
        }
        if (!json_is_object(o)) {
                *ret_error = "not a JSON object";
                goto out;
        }
        id = json_str(o, "queue_id");
        queue = json_str(o, "queue_name");
        sender = json_str(o, "sender");
        if (!id || !*id) {
                *ret_error = "no queue_id";
                goto out;
        }
        if (strlen(id) > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != strlen(id)) {
                *ret_error = "queue_id is not a Postfix queue id";
                goto out;
        }
        if (!queue || queue_name_from_string(queue) < 0) {
                *ret_error = "no known queue_name";
                goto out;
        }
        m.queue = queue_name_from_string(queue);
        v = json_object_get(o, "arrival_time");
        if (v && !json_is_integer(v)) {
                *ret_error = "arrival_time is not a number";
                goto out;
        }
        m.arrival_time = v ? (int64_t) json_integer_value(v) : 0;
        v = json_object_get(o, "message_size");
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
                *ret_error = "message_size is not a size";
                goto out;
        }
        m.message_size = v ? (uint64_t) json_integer_value(v) : 0;
        m.forced_expire = json_is_true(json_object_get(o, "forced_expire"));

        r = -ENOMEM;
        m.queue_id = strdup(id);
        /* postqueue writes the null sender as MAILER-DAEMON; keep what it says */
        m.sender = strdup(sender ? sender : "");
        if (!m.queue_id || !m.sender)
                goto out;

        v = json_object_get(o, "recipients");
        if (v && !json_is_array(v)) {
                *ret_error = "recipients is not a list";
                r = -EINVAL;
                goto out;
        }
        for (size_t i = 0; v && i < json_array_size(v); i++) {
                json_t *rc = json_array_get(v, i);
                const char *addr = json_is_object(rc) ? json_str(rc, "address") : NULL;
                if (!addr) {
                        *ret_error = "a recipient without an address";
                        r = -EINVAL;
                        goto out;
                }
                if (queue_message_add_recipient(&m, addr, json_str(rc, "delay_reason")) < 0)
                        goto out;
        }
        *ret = m;
        m = (QueueMessage) {};
        r = 0;
out:
        queue_message_done(&m);
        json_decref(o);
        return r;
}

static int one_line(PqjsonReader *r, const char *line, size_t len) {
        QueueMessage m = {};
        const char *error;
        char where[512];
        int k;

        r->line++;
        k = pqjson_parse_line(line, len, &m, &error);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                snprintf(where, sizeof(where), "%s:%lu", r->name, r->line);
                return queue_snapshot_issue(r->snapshot, where, "%s", error);
        }
        if (k > 0)
                return 0;
        return queue_snapshot_add(r->snapshot, &m);
}

static int on_line(const char *line, size_t len, void *userdata) {
        return one_line(userdata, line, len);
}

static int too_long(void *userdata) {
        PqjsonReader *r = userdata;
        char where[512];
        r->line++;
        snprintf(where, sizeof(where), "%s:%lu", r->name, r->line);
        return queue_snapshot_issue(r->snapshot, where, "line longer than %zu bytes", PQJSON_MAX_LINE);
}

int pqjson_feed(PqjsonReader *r, const char *data, size_t size) {
        return line_split_feed(&r->split, data, size, on_line, too_long, r);
}

int pqjson_finish(PqjsonReader *r) {
        return line_split_finish(&r->split, on_line, r);
}
