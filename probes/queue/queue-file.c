/* Queue-file record reader and defer-log reader (pure: no I/O). A record is a type byte,
 * a length in 7-bit groups (low first, high bit = more) and that many data bytes. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "queue-file.h"
#include "termsafe.h"

void qfile_parser_init(QfileParser *p, bool maildrop) {
        *p = (QfileParser) { .maildrop = maildrop };
}

void qfile_parser_done(QfileParser *p) {
        if (!p)
                return;
        free(p->sender);
        for (size_t i = 0; i < p->n_recipients; i++)
                free(p->recipients[i]);
        free(p->recipients);
        *p = (QfileParser) {};
}

/* atol() as Postfix uses it: leading blanks, optional sign, digits; garbage after is ignored. */
static long long lenient_number(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        bool neg = *s == '-';
        if (*s == '-' || *s == '+')
                s++;
        long long v = 0;
        for (; isdigit((unsigned char) *s); s++) {
                if (v > (INT64_MAX - 9) / 10)
                        return neg ? INT64_MIN : INT64_MAX;
                v = v * 10 + (*s - '0');
        }
        return neg ? -v : v;
}

static int add_recipient(QfileParser *p, const char *data, size_t len) {
        if (p->n_recipients == p->allocated) {
                size_t na = p->allocated ? p->allocated * 2 : 4;
                char **v = reallocarray(p->recipients, na, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                p->recipients = v;
                p->allocated = na;
        }
        char *s = strndup(data, len);
        if (!s)
                return -ENOMEM;
        p->recipients[p->n_recipients++] = s;
        return 0;
}

/* Record types whose data the parser reads; all others are skipped by length. */
static bool record_needed(int type) {
        return strchr("CTSRpEMX", type) != NULL && type != 0;
}

int qfile_feed(QfileParser *p, const uint8_t *buf, size_t len, uint64_t offset, bool eof) {
        if (offset != p->want)
                return -EINVAL;

        for (size_t pos = 0;;) {
                size_t rec = pos, rlen = 0, h;
                unsigned shift = 0;
                int type;

                if (pos >= len) {
                        if (eof)
                                return -EBADMSG; /* no end record */
                        p->want = offset + pos;
                        return 0;
                }
                type = buf[pos];
                for (h = pos + 1;; h++, shift += 7) {
                        if (shift + 7 >= 32)
                                return -EBADMSG; /* too many length bits */
                        if (h >= len) {
                                if (eof)
                                        return -EBADMSG;
                                p->want = offset + rec;
                                return 0;
                        }
                        rlen |= (size_t) (buf[h] & 0x7f) << shift;
                        if (!(buf[h] & 0x80))
                                break;
                }
                size_t data = h + 1;
                uint64_t end = (uint64_t) data + rlen;

                if (!record_needed(type)) {
                        p->n_records++;
                        if (end > len) {
                                if (eof)
                                        return -EBADMSG;
                                p->want = offset + end;
                                return 0;
                        }
                        pos = (size_t) end;
                        continue;
                }
                if (rlen > QFILE_MAX_RECORD)
                        return -E2BIG;
                if (end > len) {
                        if (eof)
                                return -EBADMSG;
                        p->want = offset + rec;
                        return 0;
                }
                p->n_records++;
                /* Postfix's records are C strings: data stops at a NUL, as it does there. */
                const char *d = (const char *) buf + data;
                size_t dlen = strnlen(d, rlen);
                char tmp[64];
                pos = (size_t) end;

                switch (type) {
                case 'C':
                        if (p->n_records == 1)
                                p->first_is_size = true;
                        if (!p->size_ok && !p->maildrop) {
                                size_t n = MIN(dlen, sizeof(tmp) - 1);
                                memcpy(tmp, d, n);
                                tmp[n] = 0;
                                long long v = lenient_number(tmp);
                                /* showq: only digits and spaces, and not negative */
                                bool digits = dlen == rlen;
                                for (size_t i = 0; i < dlen && digits; i++)
                                        digits = d[i] == ' ' || (d[i] >= '0' && d[i] <= '9');
                                p->size_ok = digits && v >= 0;
                                if (p->size_ok)
                                        p->content_size = (uint64_t) v;
                        }
                        break;
                case 'T':
                        if (p->n_records != 2)
                                p->first_is_size = false;
                        if (p->arrival_time == 0) {
                                size_t n = MIN(dlen, sizeof(tmp) - 1);
                                memcpy(tmp, d, n);
                                tmp[n] = 0;
                                p->arrival_time = (int64_t) lenient_number(tmp);
                        }
                        break;
                case 'S':
                        if (p->sender) {
                                p->duplicate_sender = true;
                                return 1; /* showq skips the rest of the file */
                        }
                        p->sender = strndup(d, dlen);
                        if (!p->sender)
                                return -ENOMEM;
                        break;
                case 'R':
                        if (!p->sender)
                                return 1; /* recipient before sender: showq stops here */
                        if (add_recipient(p, d, dlen) < 0)
                                return -ENOMEM;
                        break;
                case 'M':
                        if (p->size_ok && !p->maildrop) {
                                /* skip the content: the X record follows it */
                                uint64_t target = offset + end + p->content_size;
                                if (target - offset <= len) {
                                        pos = (size_t) (target - offset);
                                        continue;
                                }
                                if (eof)
                                        return -EBADMSG;
                                p->want = target;
                                return 0;
                        }
                        break;
                case 'p': {
                        size_t n = MIN(dlen, sizeof(tmp) - 1);
                        const char *q;
                        memcpy(tmp, d, n);
                        tmp[n] = 0;
                        for (q = tmp; *q == ' ' || *q == '\t'; q++)
                                ;
                        if (!isdigit((unsigned char) *q) || q[strspn(q, "0123456789")] != 0)
                                return -EBADMSG;
                        long long target = lenient_number(q);
                        if (target == 0)
                                break; /* a placeholder */
                        /* Postfix's own limit counts reverse jumps; a loop of forward and
                         * reverse jumps is cut off by the total as well */
                        if ((uint64_t) target <= p->last_jump && ++p->reverse_jumps > QFILE_REVERSE_JUMP_LIMIT)
                                return -EBADMSG;
                        if (++p->jumps > 2 * QFILE_REVERSE_JUMP_LIMIT + 16)
                                return -EBADMSG;
                        p->last_jump = (uint64_t) target;
                        if ((uint64_t) target >= offset && (uint64_t) target - offset <= len &&
                            !((uint64_t) target - offset == len && eof)) {
                                pos = (size_t) ((uint64_t) target - offset);
                                continue;
                        }
                        p->want = (uint64_t) target;
                        return 0;
                }
                case 'E':
                        p->ended = true;
                        return 1;
                default:
                        break;
                }
        }
}

/* --- how showq presents addresses --- */

static bool is_dot_string(const char *s, const char *end) {
        if (s == end || *s == '.')
                return false;
        for (const char *c = s; c < end; c++) {
                unsigned char ch = (unsigned char) *c;
                if (ch == '.' && c + 1 < end && c[1] == '.')
                        return false;
                if (ch == ' ' || ch < 0x20 || ch == 0x7f)
                        return false;
                if (strchr("()<>@,;:\\\"[]", ch) && ch != 0)
                        return false;
        }
        return end[-1] != '.';
}

/* printable(s, '?') with UTF-8 enabled: ASCII printables and valid UTF-8 stay, any other
 * byte becomes '?' and decoding restarts at the next byte. In place. */
static void postfix_printable(char *s) {
        size_t len = strlen(s);
        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x80) {
                        if (c < 0x20 || c == 0x7f)
                                s[i] = '?';
                        i++;
                        continue;
                }
                uint32_t cp;
                size_t n = utf8_decode(s + i, len - i, &cp);
                if (cp == UTF8_INVALID) {
                        s[i++] = '?';
                        continue;
                }
                i += n;
        }
}

char *postfix_printable_address(const char *address) {
        const char *start = address, *end, *colon;
        char *out, *o;

        if (address[0] == '@' && (colon = strchr(address, ':')))
                start = colon + 1;
        end = strrchr(start, '@');
        if (!end)
                end = start + strlen(start);
        out = malloc(strlen(address) * 2 + 3);
        if (!out)
                return NULL;
        if (is_dot_string(start, end))
                strcpy(out, address);
        else {
                o = out;
                memcpy(o, address, (size_t) (start - address));
                o += start - address;
                *o++ = '"';
                for (const char *c = start; c < end; c++) {
                        if (*c == '"' || *c == '\\' || *c == '\r')
                                *o++ = '\\';
                        *o++ = *c;
                }
                *o++ = '"';
                strcpy(o, end);
        }
        postfix_printable(out);
        return out;
}

/* --- defer logfile --- */

static void trim(char **s, char **e) {
        while (*s < *e && isspace((unsigned char) **s))
                (*s)++;
        while (*e > *s && isspace((unsigned char) (*e)[-1]))
                (*e)--;
}

int bouncelog_parse(const char *data, size_t size, BouncelogCallback cb, void *userdata) {
        _cleanup_free_ char *line = NULL, *address = NULL, *reason = NULL;
        bool found = false;
        size_t cap = 0;
        int r;

        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(data + pos, '\n', size - pos);
                size_t n = nl ? (size_t) (nl - data - pos) : size - pos;

                if (n + 1 > cap) {
                        char *p = realloc(line, n + 1);
                        if (!p)
                                return -ENOMEM;
                        line = p;
                        cap = n + 1;
                }
                memcpy(line, data + pos, n);
                line[n] = 0;
                pos += n + 1;
                /* a NUL ends the line for Postfix too */
                if (line[0] == 0) {
                        if (found) {
                                r = cb(address && *address ? address : "(recipient address unavailable)",
                                       reason && *reason ? reason : "(description unavailable)", userdata);
                                if (r < 0)
                                        return r;
                        }
                        found = false;
                        free(address);
                        free(reason);
                        address = reason = NULL;
                        continue;
                }
                postfix_printable(line);
                found = true;
                if (isalnum((unsigned char) line[0])) {
                        char *eq = strchr(line, '='), *ns = line, *ne, *vs, *ve;
                        if (!eq)
                                continue;
                        ne = eq;
                        vs = eq + 1;
                        ve = vs + strlen(vs);
                        trim(&ns, &ne);
                        trim(&vs, &ve);
                        if (ns == ne)
                                continue;
                        *ne = 0;
                        *ve = 0;
                        char **slot = streq(ns, "recipient") ? &address : streq(ns, "reason") ? &reason : NULL;
                        if (!slot)
                                continue;
                        free(*slot);
                        *slot = strdup(slot == &address && !*vs ? "(MAILER-DAEMON)" : vs);
                        if (!*slot)
                                return -ENOMEM;
                        continue;
                }
                if (line[0] != '<')
                        continue;
                char *gt = strstr(line + 1, ">: ");
                if (!gt)
                        continue;
                *gt = 0;
                free(address);
                address = strdup(line[1] ? line + 1 : "(MAILER-DAEMON)");
                const char *text = gt + 2;
                while (*text && isspace((unsigned char) *text))
                        text++;
                free(reason);
                reason = strdup(text);
                if (!address || !reason)
                        return -ENOMEM;
        }
        /* an entry without its closing blank line is not read (bounce_log_read) */
        return 0;
}

typedef struct LogCollect {
        QueueMessage *m;
} LogCollect;

static int collect_log(const char *address, const char *reason, void *userdata) {
        LogCollect *c = userdata;
        return queue_message_add_recipient(c->m, address, reason);
}

int qfile_to_message(const QfileParser *p, const char *id, QueueName queue, int64_t mtime,
                     uint64_t file_size, const char *defer_log, size_t defer_log_size,
                     QueueMessage *ret) {
        QueueMessage m = {};
        int r;

        if (!p->sender)
                return -EBADMSG; /* showq lists nothing without a sender */
        m.queue = queue;
        m.arrival_time = p->arrival_time > 0 ? p->arrival_time : mtime;
        m.message_size = p->size_ok && !p->maildrop ? p->content_size : file_size;
        m.queue_id = strdup(id);
        m.sender = postfix_printable_address(*p->sender ? p->sender : "MAILER-DAEMON");
        if (!m.queue_id || !m.sender) {
                r = -ENOMEM;
                goto fail;
        }
        if (defer_log) {
                LogCollect c = { .m = &m };
                r = bouncelog_parse(defer_log, defer_log_size, collect_log, &c);
                if (r < 0)
                        goto fail;
        }
        size_t from_log = m.n_recipients;
        for (size_t i = 0; i < p->n_recipients; i++) {
                _cleanup_free_ char *a = postfix_printable_address(*p->recipients[i] ? p->recipients[i]
                                                                                      : "MAILER-DAEMON");
                bool dup = false;
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t k = 0; k < from_log && !dup; k++)
                        dup = streq(m.recipients[k].address, a);
                if (dup)
                        continue;
                r = queue_message_add_recipient(&m, a, NULL);
                if (r < 0)
                        goto fail;
        }
        *ret = m;
        return 0;
fail:
        queue_message_done(&m);
        return r;
}
