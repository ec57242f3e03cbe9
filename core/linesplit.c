#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linesplit.h"
#include "macro.h"

int line_split_feed(LineSplitter *s, const char *data, size_t size, LineFunc on_line, LineTooLongFunc on_too_long,
                    void *userdata) {
        while (size > 0) {
                const char *nl = memchr(data, '\n', size);
                size_t n = nl ? (size_t) (nl - data) : size;
                int k;

                if (s->skipping) {
                        if (nl)
                                s->skipping = false;
                } else if (s->len + n > s->max) {
                        s->len = 0;
                        s->skipping = !nl;
                        if ((k = on_too_long(userdata)) < 0)
                                return k;
                } else if (nl && s->len == 0) {
                        /* the whole line is here: no copy */
                        if ((k = on_line(data, n, userdata)) < 0)
                                return k;
                } else {
                        if (s->len + n + 1 > s->allocated) {
                                size_t na = MAX(s->allocated * 2, s->len + n + 1);
                                char *p = realloc(s->buf, na);
                                if (!p)
                                        return -ENOMEM;
                                s->buf = p;
                                s->allocated = na;
                        }
                        memcpy(s->buf + s->len, data, n);
                        s->len += n;
                        if (nl) {
                                size_t len = s->len;
                                s->len = 0;
                                if ((k = on_line(s->buf, len, userdata)) < 0)
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

int line_split_finish(LineSplitter *s, LineFunc on_line, void *userdata) {
        int k = 0;
        size_t len = s->len;
        bool skipping = s->skipping;
        s->len = 0;
        s->skipping = false;
        if (len > 0 && !skipping)
                k = on_line(s->buf, len, userdata);
        return k;
}

void line_splitter_done(LineSplitter *s) {
        free(s->buf);
        *s = LINE_SPLITTER_INIT(s->max);
}
