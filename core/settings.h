/* mxdeck's own settings: thresholds and knobs, with documented defaults, read from
 * /etc/mxdeck/mxdeck.conf then ~/.config/mxdeck/mxdeck.conf (later files override earlier
 * ones key by key); command-line flags override both. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Settings {
        /* [general] */
        char *language;                    /* messages: zh_CN, C...; NULL = LANG/LC_MESSAGES */
        /* [check] */
        unsigned timeout_seconds;          /* per probe, default 10 */
        /* [tls] */
        unsigned tls_expiry_warning_days;  /* default 21 */
        unsigned tls_expiry_critical_days; /* default 7 */
        /* [disk] free space on the queue and the mail store */
        unsigned disk_warning_percent;     /* free below this: warning, default 15 */
        unsigned disk_critical_percent;    /* free below this: critical, default 5 */
        uint64_t disk_warning_bytes;       /* free below this: warning, default 2G */
        uint64_t disk_critical_bytes;      /* free below this: critical, default 512M */
        /* [queue] */
        unsigned queue_size_warning;       /* messages, default 100 */
        unsigned queue_size_critical;      /* default 1000 */
        unsigned queue_oldest_warning_minutes;  /* default 60 */
        unsigned queue_oldest_critical_minutes; /* default 1440 */
        unsigned queue_deferred_warning;   /* default 20 */
        unsigned queue_deferred_critical;  /* default 200 */
        unsigned queue_sender_burst_messages; /* queue.sender-burst looks at queues this large, default 100 */
        unsigned queue_sender_burst_percent;  /* ... where one sender holds this share, default 50 */
        bool queue_read_only;              /* no queue actions at all (monitoring), default no */
        /* [log] */
        unsigned log_window_minutes;       /* how far back log checks look, default 60 */
        unsigned log_sasl_failures_warning;  /* default 20 */
        unsigned log_sasl_failures_critical; /* default 200 */
        unsigned log_file_tail_mib;        /* without a journal: MiB read from the end of the log file, default 16 */
        /* [dns] */
        char *resolver;                    /* ADDR[:PORT], NULL = /etc/resolv.conf */
        char *trust_anchor;                /* file, NULL = system default */
        char **dnsbl_zones;                /* NULL-terminated; default list in settings.c */
        /* [dkim] */
        unsigned dkim_grace_days;          /* old key kept after `dkim rotate switch`, default 7 */
        /* [dashboard] */
        unsigned refresh_seconds;          /* default 5 */
        bool color;                        /* default yes (NO_COLOR still wins) */
        bool mouse;                        /* default yes (clicks and the wheel; --no-mouse) */
} Settings;

/* Fills *s with the documented defaults. Returns 0 or -ENOMEM. */
int settings_init(Settings *s);
void settings_done(Settings *s);

/* Applies one INI file (schema: settings_schema()) on top of *s. A missing file is not an
 * error (returns 0); a malformed one returns -EINVAL with *ret_error naming file:line. */
int settings_load_file(Settings *s, const char *path, char **ret_error);

/* Loads the system file then the user's ($XDG_CONFIG_HOME or ~/.config). */
int settings_load_default(Settings *s, char **ret_error);

struct ConfSchema;
const struct ConfSchema *settings_schema(void);
