/* postqueue -j reader: jansson per line; unknown members ignored, missing optional ones
 * defaulted, malformed lines reported with their number while the rest is still read. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "queue-json.h"

void pqjson_init(PqjsonReader *r, QueueSnapshot *s, const char *name) {
        *r = (PqjsonReader) { .snapshot = s, .name = name ? name : "postqueue -j" };
}

void pqjson_done(PqjsonReader *r) {
        free(r->buf);
        r->buf = NULL;
        r->len = r->allocated = 0;
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

int pqjson_feed(PqjsonReader *r, const char *data, size_t size) {
        while (size > 0) {
                const char *nl = memchr(data, '\n', size);
                size_t n = nl ? (size_t) (nl - data) : size;
                int k;

                if (r->skipping) {
                        if (nl)
                                r->skipping = false;
                } else if (r->len + n > PQJSON_MAX_LINE) {
                        char where[512];
                        r->line++;
                        r->len = 0;
                        snprintf(where, sizeof(where), "%s:%lu", r->name, r->line);
                        if ((k = queue_snapshot_issue(r->snapshot, where, "line longer than %zu bytes",
                                                      PQJSON_MAX_LINE)) < 0)
                                return k;
                        r->skipping = !nl;
                } else if (nl && r->len == 0) {
                        /* the whole line is here: no copy */
                        if ((k = one_line(r, data, n)) < 0)
                                return k;
                } else {
                        if (r->len + n + 1 > r->allocated) {
                                size_t na = MAX(r->allocated * 2, r->len + n + 1);
                                char *p = realloc(r->buf, na);
                                if (!p)
                                        return -ENOMEM;
                                r->buf = p;
                                r->allocated = na;
                        }
                        memcpy(r->buf + r->len, data, n);
                        r->len += n;
                        if (nl) {
                                k = one_line(r, r->buf, r->len);
                                r->len = 0;
                                if (k < 0)
                                        return k;
                        }
                }
                if (!nl)
                        break;
                data = nl + 1;
                size -= n + 1;
        }
        return 0;
}

int pqjson_finish(PqjsonReader *r) {
        int k = 0;
        if (r->len > 0 && !r->skipping)
                k = one_line(r, r->buf, r->len);
        r->len = 0;
        r->skipping = false;
        return k;
}
