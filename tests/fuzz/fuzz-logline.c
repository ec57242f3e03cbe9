/* Fuzzes the mail log line parser (syslog lines and journal entries), the line splitter
 * and the statistics model on top. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logline.h"
#include "logstats.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Ctx {
        LogClock clock;
        LogStats *stats;
} Ctx;

static void one_line(const char *line, size_t len, bool too_long, void *userdata) {
        Ctx *c = userdata;
        LogEvent ev;
        (void) logline_parse_syslog(line, len, &c->clock, &ev);
        (void) log_stats_add(c->stats, &ev);
        /* the same bytes as a journal entry: "IDENT\tMESSAGE" */
        const char *tab = memchr(line, '\t', len);
        if (tab) {
                (void) logline_parse_entry(line, (size_t) (tab - line), 42, tab + 1, len - (size_t) (tab - line) - 1,
                                           INT64_C(1796212800000000), &c->clock, &ev);
                (void) log_stats_add(c->stats, &ev);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static LogStats stats;
        static bool init;
        LogSplitter sp;
        Ctx c = { .stats = &stats };

        if (size == 0)
                return 0;
        if (!init) {
                if (log_stats_init(&stats) < 0)
                        return 0;
                init = true;
        }
        if (log_splitter_init(&sp) < 0)
                return 0;
        log_clock_init(&c.clock, INT64_C(1796212800000000));
        /* The first byte picks how the bytes arrive: one at a time up to 256 at once. */
        size_t chunk = (size_t) data[0] + 1;
        data++;
        size--;
        while (size > 0) {
                size_t n = MIN(chunk, size);
                log_splitter_feed(&sp, (const char *) data, n, one_line, &c);
                data += n;
                size -= n;
        }
        log_splitter_finish(&sp, one_line, &c);
        log_splitter_done(&sp);
        return 0;
}
