/* Per-minute traffic counts over the last hour (see lograte.h). */
#include <string.h>

#include "lograte.h"
#include "macro.h"

#define USEC_PER_MINUTE INT64_C(60000000)

static const char *const series_names[_LOG_RATE_MAX] = {
        [LOG_RATE_SENT] = "sent",
        [LOG_RATE_RECEIVED] = "received",
        [LOG_RATE_DEFERRED] = "deferred",
        [LOG_RATE_BOUNCED] = "bounced",
        [LOG_RATE_REJECTED] = "rejected",
        [LOG_RATE_AUTH_FAILED] = "auth failures",
};

const char *log_rate_series_to_string(LogRateSeries s) {
        return s >= 0 && s < _LOG_RATE_MAX ? series_names[s] : NULL;
}

static int64_t minute_of(int64_t usec) {
        /* floor division: times before 1970 do not occur in mail logs, but stay correct */
        return usec >= 0 ? usec / USEC_PER_MINUTE : -((-usec + USEC_PER_MINUTE - 1) / USEC_PER_MINUTE);
}

static size_t slot_of(int64_t minute) {
        int64_t m = minute % (int64_t) LOG_RATE_MINUTES;
        return (size_t) (m < 0 ? m + LOG_RATE_MINUTES : m);
}

void log_rate_init(LogRate *r, int64_t now_usec) {
        *r = (LogRate) { .newest_minute = minute_of(now_usec) };
}

LogRateSeries log_rate_classify(const LogEvent *ev) {
        switch (ev->family) {
        case LOG_FAMILY_POSTFIX:
                switch (ev->kind) {
                case LOG_KIND_DELIVERY:
                        if (ev->status == LOG_STATUS_SENT)
                                return ev->forwarded ? _LOG_RATE_INVALID : LOG_RATE_SENT;
                        if (ev->status == LOG_STATUS_DEFERRED)
                                return LOG_RATE_DEFERRED;
                        if (ev->status == LOG_STATUS_BOUNCED)
                                return LOG_RATE_BOUNCED;
                        return _LOG_RATE_INVALID;
                case LOG_KIND_CLIENT:
                case LOG_KIND_PICKUP:
                        return LOG_RATE_RECEIVED;
                case LOG_KIND_REJECT:
                        return LOG_RATE_REJECTED;
                case LOG_KIND_SASL_FAILURE:
                        return LOG_RATE_AUTH_FAILED;
                default:
                        return _LOG_RATE_INVALID;
                }
        case LOG_FAMILY_DOVECOT:
                return ev->kind == LOG_KIND_LOGIN_FAILED ? LOG_RATE_AUTH_FAILED : _LOG_RATE_INVALID;
        default:
                return _LOG_RATE_INVALID;
        }
}

static void advance_to(LogRate *r, int64_t minute) {
        if (minute <= r->newest_minute)
                return;
        int64_t gap = minute - r->newest_minute;
        if (gap >= (int64_t) LOG_RATE_MINUTES)
                memset(r->count, 0, sizeof(r->count));
        else
                for (int64_t m = r->newest_minute + 1; m <= minute; m++)
                        for (size_t s = 0; s < _LOG_RATE_MAX; s++)
                                r->count[s][slot_of(m)] = 0;
        r->newest_minute = minute;
}

void log_rate_advance(LogRate *r, int64_t now_usec) {
        advance_to(r, minute_of(now_usec));
}

LogRateSeries log_rate_add(LogRate *r, const LogEvent *ev, int64_t now_usec) {
        LogRateSeries s = log_rate_classify(ev);
        if (s < 0)
                return s;
        int64_t minute = minute_of(ev->usec ? ev->usec : now_usec);
        if (minute > r->newest_minute)
                advance_to(r, minute);
        else if (minute <= r->newest_minute - (int64_t) LOG_RATE_MINUTES) {
                r->too_old++;
                return _LOG_RATE_INVALID;
        }
        uint32_t *c = &r->count[s][slot_of(minute)];
        if (*c < UINT32_MAX)
                (*c)++;
        return s;
}

uint64_t log_rate_series(const LogRate *r, LogRateSeries s, uint32_t ret[static LOG_RATE_MINUTES], uint32_t *ret_peak) {
        uint64_t total = 0;
        uint32_t peak = 0;
        for (size_t i = 0; i < LOG_RATE_MINUTES; i++) {
                int64_t minute = r->newest_minute - (int64_t) (LOG_RATE_MINUTES - 1) + (int64_t) i;
                uint32_t v = s >= 0 && s < _LOG_RATE_MAX ? r->count[s][slot_of(minute)] : 0;
                ret[i] = v;
                total += v;
                peak = MAX(peak, v);
        }
        if (ret_peak)
                *ret_peak = peak;
        return total;
}
