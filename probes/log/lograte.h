/* Per-minute counts of mail traffic over the last hour (the dashboard's sparklines): a
 * fixed ring of minutes per series, fed with parsed events (from history, then the live
 * tail) and moved on with the clock. No allocation; counting rules as logstats.c's. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "logline.h"

#define LOG_RATE_MINUTES 60u

typedef enum LogRateSeries {
        LOG_RATE_SENT,        /* delivery status=sent, not "forwarded as" (pflogsumm's delivered) */
        LOG_RATE_RECEIVED,    /* smtpd client= and pickup (pflogsumm's received) */
        LOG_RATE_DEFERRED,    /* delivery status=deferred: every deferral */
        LOG_RATE_BOUNCED,     /* delivery status=bounced */
        LOG_RATE_REJECTED,    /* reject lines (not reject_warning, hold or discard) */
        LOG_RATE_AUTH_FAILED, /* Postfix SASL failures and Dovecot failed logins */
        _LOG_RATE_MAX,
        _LOG_RATE_INVALID = -22,
} LogRateSeries;

const char *log_rate_series_to_string(LogRateSeries s); /* "sent", "received", ... */

typedef struct LogRate {
        int64_t newest_minute; /* minutes since the epoch of the newest bucket; 0 before any */
        uint32_t count[_LOG_RATE_MAX][LOG_RATE_MINUTES]; /* ring: minute m at m % LOG_RATE_MINUTES */
        uint64_t too_old;      /* events before the window (ignored) */
} LogRate;

void log_rate_init(LogRate *r, int64_t now_usec);

/* The series an event counts in, or _LOG_RATE_INVALID when none. */
LogRateSeries log_rate_classify(const LogEvent *ev);

/* Counts ev in its minute (an event without a time counts at now_usec). An event newer
 * than the window moves it forward; one older than the window is ignored. Returns the
 * series counted in, or _LOG_RATE_INVALID. */
LogRateSeries log_rate_add(LogRate *r, const LogEvent *ev, int64_t now_usec);

/* Moves the window so its newest minute is now_usec's (minutes passed are zeroed). A
 * clock that went back does not move it. */
void log_rate_advance(LogRate *r, int64_t now_usec);

/* The window of one series, oldest minute first, into ret[LOG_RATE_MINUTES]; returns its
 * total and, in *ret_peak (may be NULL), its largest minute. */
uint64_t log_rate_series(const LogRate *r, LogRateSeries s, uint32_t ret[static LOG_RATE_MINUTES], uint32_t *ret_peak);
