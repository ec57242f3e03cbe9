/* Per-minute traffic counts (the dashboard's sparklines): which lines count where, the
 * window moving with the clock, old lines ignored. Real Postfix 3.7 / Dovecot 2.3 lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "logline.h"
#include "lograte.h"
#include "macro.h"

/* 2026-12-02 12:00:00 UTC; the lines below are in UTC (RFC 3339 with Z). */
#define NOW_USEC (INT64_C(1796212800) * 1000000)
#define MIN_USEC (INT64_C(60) * 1000000)

static LogRateSeries add_line(LogRate *r, const char *line) {
        LogClock clock;
        LogEvent ev;
        log_clock_init(&clock, NOW_USEC);
        logline_parse_syslog(line, strlen(line), &clock, &ev);
        return log_rate_add(r, &ev, NOW_USEC);
}

static void test_classify(void **state) {
        static const struct {
                const char *line;
                LogRateSeries want;
        } cases[] = {
                { "2026-12-02T11:59:10Z mail postfix/smtp[1]: D0DB5E7: to=<bob@example.org>, relay=mx.example.org[192.0.2.1]:25, "
                  "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4A1B2C3)",
                  LOG_RATE_SENT },
                { "2026-12-02T11:59:10Z mail postfix/local[1]: D0DB5E7: to=<root@mail.lab.test>, orig_to=<postmaster@lab.test>, "
                  "relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 5B2C3D4)",
                  _LOG_RATE_INVALID },
                { "2026-12-02T11:59:10Z mail postfix/smtp[1]: D0DB5E7: to=<bob@example.org>, relay=none, delay=30, "
                  "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to example.org[192.0.2.1]:25: Connection timed out)",
                  LOG_RATE_DEFERRED },
                { "2026-12-02T11:59:10Z mail postfix/smtp[1]: D0DB5E7: to=<nobody@example.org>, relay=mx.example.org[192.0.2.1]:25, "
                  "delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host said: 550 5.1.1 unknown user)",
                  LOG_RATE_BOUNCED },
                { "2026-12-02T11:59:10Z mail postfix/smtpd[1]: D0DB5E7: client=unknown[127.0.0.1]", LOG_RATE_RECEIVED },
                { "2026-12-02T11:59:10Z mail postfix/pickup[1]: D0DB5E7: uid=0 from=<root>", LOG_RATE_RECEIVED },
                { "2026-12-02T11:59:10Z mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 "
                  "<x@elsewhere.example>: Relay access denied; from=<a@example.org> to=<x@elsewhere.example> proto=ESMTP "
                  "helo=<h>",
                  LOG_RATE_REJECTED },
                { "2026-12-02T11:59:10Z mail postfix/smtpd[1]: NOQUEUE: reject_warning: RCPT from unknown[127.0.0.2]: 554 "
                  "5.7.1 <x@elsewhere.example>: Relay access denied; from=<a@example.org> to=<x@elsewhere.example> "
                  "proto=ESMTP helo=<h>",
                  _LOG_RATE_INVALID },
                { "2026-12-02T11:59:10Z mail postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: "
                  "UGFzc3dvcmQ6",
                  LOG_RATE_AUTH_FAILED },
                { "2026-12-02T11:59:10Z mail dovecot[1]: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
                  "user=<alice>, method=PLAIN, rip=192.0.2.8, lip=127.0.0.1, TLS, session=<abc>",
                  LOG_RATE_AUTH_FAILED },
                { "2026-12-02T11:59:10Z mail postfix/qmgr[1]: D0DB5E7: removed", _LOG_RATE_INVALID },
                { "2026-12-02T11:59:10Z mail sshd[1]: Failed password for root from 192.0.2.9 port 22 ssh2",
                  _LOG_RATE_INVALID },
                { "not a log line", _LOG_RATE_INVALID },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LogRate r;
                log_rate_init(&r, NOW_USEC);
                LogRateSeries got = add_line(&r, cases[i].line);
                if (got != cases[i].want)
                        fail_msg("case %zu: series %d, want %d: %s", i, got, cases[i].want, cases[i].line);
                if (got >= 0) {
                        uint32_t v[LOG_RATE_MINUTES], peak;
                        assert_int_equal(log_rate_series(&r, got, v, &peak), 1);
                        assert_int_equal(peak, 1);
                        assert_int_equal(v[LOG_RATE_MINUTES - 2], 1); /* 11:59, just before the newest minute (12:00) */
                }
        }
}

static LogEvent sent_at(int64_t usec) {
        return (LogEvent) { .family = LOG_FAMILY_POSTFIX, .kind = LOG_KIND_DELIVERY, .status = LOG_STATUS_SENT,
                            .usec = usec };
}

static void test_window(void **state) {
        LogRate r;
        uint32_t v[LOG_RATE_MINUTES], peak;
        log_rate_init(&r, NOW_USEC);
        LogEvent ev;

        /* three in the newest minute, one 59 minutes back, one an hour back (outside) */
        for (int i = 0; i < 3; i++) {
                ev = sent_at(NOW_USEC + 5 * 1000000);
                assert_int_equal(log_rate_add(&r, &ev, NOW_USEC), LOG_RATE_SENT);
        }
        ev = sent_at(NOW_USEC - 59 * MIN_USEC);
        assert_int_equal(log_rate_add(&r, &ev, NOW_USEC), LOG_RATE_SENT);
        ev = sent_at(NOW_USEC - 60 * MIN_USEC);
        assert_int_equal(log_rate_add(&r, &ev, NOW_USEC), _LOG_RATE_INVALID);
        assert_int_equal(r.too_old, 1);
        assert_int_equal(log_rate_series(&r, LOG_RATE_SENT, v, &peak), 4);
        assert_int_equal(peak, 3);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[LOG_RATE_MINUTES - 1], 3);
        assert_int_equal(log_rate_series(&r, LOG_RATE_BOUNCED, v, &peak), 0);
        assert_int_equal(peak, 0);

        /* a minute on: everything shifts left by one, the oldest falls out */
        log_rate_advance(&r, NOW_USEC + MIN_USEC);
        assert_int_equal(log_rate_series(&r, LOG_RATE_SENT, v, &peak), 3);
        assert_int_equal(v[LOG_RATE_MINUTES - 2], 3);
        assert_int_equal(v[LOG_RATE_MINUTES - 1], 0);

        /* the clock going back does not move the window */
        log_rate_advance(&r, NOW_USEC - 10 * MIN_USEC);
        assert_int_equal(log_rate_series(&r, LOG_RATE_SENT, v, NULL), 3);
        assert_int_equal(v[LOG_RATE_MINUTES - 2], 3);

        /* an event from the future moves it; more than an hour clears it */
        ev = sent_at(NOW_USEC + 3 * 60 * MIN_USEC);
        assert_int_equal(log_rate_add(&r, &ev, NOW_USEC), LOG_RATE_SENT);
        assert_int_equal(log_rate_series(&r, LOG_RATE_SENT, v, &peak), 1);
        assert_int_equal(v[LOG_RATE_MINUTES - 1], 1);

        /* an event without a time counts now */
        log_rate_init(&r, NOW_USEC);
        ev = sent_at(0);
        assert_int_equal(log_rate_add(&r, &ev, NOW_USEC), LOG_RATE_SENT);
        assert_int_equal(log_rate_series(&r, LOG_RATE_SENT, v, NULL), 1);
        assert_int_equal(v[LOG_RATE_MINUTES - 1], 1);
}

static void test_names(void **state) {
        for (int s = 0; s < _LOG_RATE_MAX; s++)
                assert_non_null(log_rate_series_to_string(s));
        assert_null(log_rate_series_to_string(_LOG_RATE_MAX));
        assert_string_equal(log_rate_series_to_string(LOG_RATE_AUTH_FAILED), "auth failures");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
