/* The mail log line parser and the statistics model: real Postfix 3.7 / Dovecot 2.3 lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logline.h"
#include "logstats.h"
#include "macro.h"

/* 2026-12-02 12:00:00 UTC */
#define NOW_USEC (INT64_C(1796212800) * 1000000)

static bool str_is(LogStr s, const char *want) {
        if (!want)
                return true;
        return s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0);
}

static char *dup_str(LogStr s) {
        return strndup(s.p ? s.p : "", s.n);
}

static void test_lines(void **state) {
        static const struct {
                const char *line;
                LogKind kind;
                LogFamily family;
                const char *service, *qid, *a, *b; /* a/b: per kind, see below */
                LogStatus status;
                uint64_t size;
        } cases[] = {
                /* a = client, b = client ip */
                { "Dec  2 08:10:46 mail.lab.test postfix/smtpd[133]: connect from unknown[127.0.0.1]", LOG_KIND_CONNECT,
                  LOG_FAMILY_POSTFIX, "smtpd", NULL, "unknown[127.0.0.1]", "127.0.0.1", 0, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/submission/smtpd[133]: D0DB5E7: client=unknown[127.0.0.1], "
                  "sasl_method=PLAIN, sasl_username=alice@lab.test",
                  LOG_KIND_CLIENT, LOG_FAMILY_POSTFIX, "smtpd", "D0DB5E7", "unknown[127.0.0.1]", "127.0.0.1", 0, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/smtpd[133]: disconnect from unknown[127.0.0.1] ehlo=2 "
                  "starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8",
                  LOG_KIND_DISCONNECT, LOG_FAMILY_POSTFIX, "smtpd", NULL, "unknown[127.0.0.1]", "127.0.0.1", 0, 0 },
                /* a = message-id */
                { "Dec 02 08:10:46 mail.lab.test postfix/cleanup[157]: D0DB5E7: message-id=<oracle-1@lab.test>",
                  LOG_KIND_MESSAGE_ID, LOG_FAMILY_POSTFIX, "cleanup", "D0DB5E7", "oracle-1@lab.test", NULL, 0, 0 },
                /* a = from */
                { "Dec 02 08:10:46 mail.lab.test postfix/qmgr[122]: D0DB5E7: from=<alice@lab.test>, size=430, nrcpt=1 "
                  "(queue active)",
                  LOG_KIND_QUEUED, LOG_FAMILY_POSTFIX, "qmgr", "D0DB5E7", "alice@lab.test", NULL, 0, 430 },
                { "Dec 02 08:10:46 mail.lab.test postfix/qmgr[122]: D0DB5E7: from=<>, size=2291, nrcpt=1 (queue active)",
                  LOG_KIND_QUEUED, LOG_FAMILY_POSTFIX, "qmgr", "D0DB5E7", "", NULL, 0, 2291 },
                { "Dec 02 08:10:46 mail.lab.test postfix/qmgr[122]: D0DB5E7: removed", LOG_KIND_REMOVED,
                  LOG_FAMILY_POSTFIX, "qmgr", "D0DB5E7", NULL, NULL, 0, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/qmgr[122]: 4NRt2b0Tqkz9sQ1: from=<a@b.example>, "
                  "status=expired, returned to sender",
                  LOG_KIND_EXPIRED, LOG_FAMILY_POSTFIX, "qmgr", "4NRt2b0Tqkz9sQ1", "a@b.example", NULL, LOG_STATUS_EXPIRED, 0 },
                /* a = to, b = relay */
                { "Dec 02 08:10:46 mail.lab.test postfix/smtp[158]: D0DB5E7: to=<bob@lab.test>, "
                  "relay=127.0.0.1[127.0.0.1]:10025, delay=0.53, delays=0.2/0.25/0.03/0.06, dsn=2.0.0, status=sent "
                  "(250 2.0.0 Ok: queued as 2F298EA)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "smtp", "D0DB5E7", "bob@lab.test", "127.0.0.1[127.0.0.1]:10025",
                  LOG_STATUS_SENT, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/lmtp[160]: 2F298EA: to=<bob@lab.test>, "
                  "relay=mail.lab.test[private/dovecot-lmtp], delay=0.22, delays=0.01/0.11/0.08/0.01, dsn=2.0.0, "
                  "status=sent (250 2.0.0 <bob@lab.test> nhZKMX/QD2uhAAAAyMCXRw Saved)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "lmtp", "2F298EA", "bob@lab.test",
                  "mail.lab.test[private/dovecot-lmtp]", LOG_STATUS_SENT, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/local[161]: 3A1B2C4D5E: to=<root@mail.lab.test>, orig_to=<root>, "
                  "relay=local, delay=0.1, delays=0.05/0.01/0/0.04, dsn=2.0.0, status=sent (delivered to mailbox)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "local", "3A1B2C4D5E", "root@mail.lab.test", "local", LOG_STATUS_SENT, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/smtp[158]: 4NRt2b0Tqkz9sQ1: to=<friend@unreachable.test>, "
                  "relay=none, delay=0.05, delays=0.02/0.01/0.02/0, dsn=4.4.1, status=deferred (connect to "
                  "127.0.0.1[127.0.0.1]:2525: Connection refused)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "smtp", "4NRt2b0Tqkz9sQ1", "friend@unreachable.test", "none",
                  LOG_STATUS_DEFERRED, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/smtp[158]: ABCDEF123: to=<x@qq.com>, relay=mx1.qq.com[1.2.3.4]:25, "
                  "conn_use=2, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.0.0, status=bounced (host mx1.qq.com[1.2.3.4] "
                  "said: 550 Mail content denied. (in reply to end of DATA command))",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "smtp", "ABCDEF123", "x@qq.com", "mx1.qq.com[1.2.3.4]:25",
                  LOG_STATUS_BOUNCED, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/virtual[9]: ABCDEF123: to=<u@v.example>, relay=virtual, "
                  "delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "virtual", "ABCDEF123", "u@v.example", "virtual", LOG_STATUS_SENT, 0 },
                { "Dec 02 08:10:46 mail.lab.test postfix/pipe[9]: ABCDEF123: to=<u@v.example>, relay=spamassassin, "
                  "delay=0.5, delays=0.1/0/0/0.4, dsn=2.0.0, status=sent (delivered via spamassassin service)",
                  LOG_KIND_DELIVERY, LOG_FAMILY_POSTFIX, "pipe", "ABCDEF123", "u@v.example", "spamassassin", LOG_STATUS_SENT, 0 },
                /* a = new queue id */
                { "Dec 02 08:10:47 mail.lab.test postfix/bounce[170]: 5E6F7A8: sender non-delivery notification: 6A7B8C9",
                  LOG_KIND_BOUNCE, LOG_FAMILY_POSTFIX, "bounce", "5E6F7A8", "6A7B8C9", NULL, 0, 0 },
                /* a = client ip, b = reason */
                { "Dec 02 08:10:52 mail.lab.test postfix/smtpd[132]: NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 "
                  "5.7.1 <victim@example.com>: Relay access denied; from=<eve@example.org> to=<victim@example.com> "
                  "proto=ESMTP helo=<mail.lab.test>",
                  LOG_KIND_REJECT, LOG_FAMILY_POSTFIX, "smtpd", NULL, "127.0.0.2",
                  "554 5.7.1 <victim@example.com>: Relay access denied", 0, 0 },
                { "Dec 02 08:10:51 mail.lab.test postfix/smtpd[132]: NOQUEUE: reject_warning: RCPT from unknown[127.0.0.1]: "
                  "504 5.5.2 <nodot>: Helo command rejected: need fully-qualified hostname; from=<dave@Example.NET> "
                  "to=<Bob@LAB.test> proto=ESMTP helo=<nodot>",
                  LOG_KIND_REJECT_WARNING, LOG_FAMILY_POSTFIX, "smtpd", NULL, "127.0.0.1", NULL, 0, 0 },
                { "Dec 02 08:10:52 mail.lab.test postfix/postscreen[40]: NOQUEUE: reject: RCPT from [192.0.2.7]:40123: 550 "
                  "5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org; from=<a@b.example>, "
                  "to=<c@lab.test>, proto=ESMTP, helo=<x>",
                  LOG_KIND_REJECT, LOG_FAMILY_POSTFIX, "postscreen", NULL, "192.0.2.7", NULL, 0, 0 },
                { "Dec 02 08:10:50 mail.lab.test postfix/cleanup[157]: 16958128: hold: header Subject: HOLDME from "
                  "unknown[127.0.0.1]; from=<carol@example.org> to=<bob@lab.test> proto=ESMTP helo=<mail.lab.test>",
                  LOG_KIND_HOLD, LOG_FAMILY_POSTFIX, "cleanup", "16958128", "127.0.0.1", "Subject: HOLDME from unknown[127.0.0.1]", 0, 0 },
                { "Dec 02 08:10:50 mail.lab.test postfix/cleanup[157]: 16958129: milter-reject: END-OF-MESSAGE from "
                  "unknown[127.0.0.1]: 5.7.1 spam; from=<a@b.example> to=<c@lab.test> proto=ESMTP helo=<x>",
                  LOG_KIND_REJECT, LOG_FAMILY_POSTFIX, "cleanup", "16958129", "127.0.0.1", NULL, 0, 0 },
                { "Dec 02 08:10:53 mail.lab.test postfix/smtpd[132]: warning: unknown[127.0.0.1]: SASL LOGIN authentication "
                  "failed: UGFzc3dvcmQ6, sasl_username=alice@lab.test",
                  LOG_KIND_SASL_FAILURE, LOG_FAMILY_POSTFIX, "smtpd", NULL, "127.0.0.1", "UGFzc3dvcmQ6", 0, 0 },
                { "Dec 02 08:10:53 mail.lab.test postfix/smtpd[132]: warning: 16958128: queue file size limit exceeded",
                  LOG_KIND_WARNING, LOG_FAMILY_POSTFIX, "smtpd", NULL, NULL, NULL, 0, 0 },
                { "Dec 02 08:10:53 mail.lab.test postfix/local[9]: fatal: open database /etc/aliases.db: No such file",
                  LOG_KIND_FATAL, LOG_FAMILY_POSTFIX, "local", NULL, NULL, NULL, 0, 0 },
                { "Dec 02 08:10:53 mail.lab.test postfix/master[9]: panic: myfree: corrupt or unallocated memory",
                  LOG_KIND_PANIC, LOG_FAMILY_POSTFIX, "master", NULL, NULL, NULL, 0, 0 },
                /* a = from */
                { "Dec 02 08:10:54 mail.lab.test postfix/pickup[121]: 8C7D6E5: uid=0 from=<root>", LOG_KIND_PICKUP,
                  LOG_FAMILY_POSTFIX, "pickup", "8C7D6E5", "root", NULL, 0, 0 },
                /* Dovecot: a = user, b = remote ip */
                { "Dec 02 08:11:20 mail.lab.test dovecot[129]: imap-login: Login: user=<bob@lab.test>, method=PLAIN, "
                  "rip=127.0.0.1, lip=127.0.0.1, mpid=230, TLS, session=<cT3qL6JhUrB/AAAB>",
                  LOG_KIND_LOGIN, LOG_FAMILY_DOVECOT, "imap-login", NULL, "bob@lab.test", "127.0.0.1", 0, 0 },
                { "Dec 02 08:11:17 mail.lab.test dovecot[129]: pop3-login: Disconnected: Connection closed (auth failed, 1 "
                  "attempts in 6 secs): user=<bob@lab.test>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, secured, "
                  "session=<f/6bL6JhELB/AAAB>",
                  LOG_KIND_LOGIN_FAILED, LOG_FAMILY_DOVECOT, "pop3-login", NULL, "bob@lab.test", "127.0.0.1", 0, 0 },
                { "Dec 02 08:11:17 mail.lab.test dovecot: imap-login: Aborted login (auth failed, 3 attempts in 15 secs): "
                  "user=<admin>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, TLS, session=<abc>",
                  LOG_KIND_LOGIN_FAILED, LOG_FAMILY_DOVECOT, "imap-login", NULL, "admin", "203.0.113.9", 0, 0 },
                /* a = message-id */
                { "Dec 02 08:10:47 mail.lab.test dovecot[128]: lmtp(bob@lab.test)<161><nhZKMX/QD2uhAAAAyMCXRw>: "
                  "msgid=<oracle-1@lab.test>: saved mail to INBOX",
                  LOG_KIND_LMTP_SAVED, LOG_FAMILY_DOVECOT, "lmtp", NULL, "oracle-1@lab.test", NULL, 0, 0 },
                { "Dec 02 08:10:47 mail.lab.test dovecot: lmtp(bob)<161><s>: sieve: msgid=<m@x>: stored mail into mailbox 'Junk'",
                  LOG_KIND_SIEVE, LOG_FAMILY_DOVECOT, "lmtp", NULL, "m@x", NULL, 0, 0 },
                /* OpenDKIM: a = domain */
                { "Dec 02 08:10:47 mail.lab.test opendkim[77]: D0DB5E7: DKIM-Signature field added (s=202612, d=lab.test)",
                  LOG_KIND_DKIM, LOG_FAMILY_OPENDKIM, NULL, "D0DB5E7", "lab.test", NULL, 0, 0 },
                /* journald */
                { "Dec 02 08:10:47 mail.lab.test systemd-journald[2]: Suppressed 1234 messages from postfix@-.service",
                  LOG_KIND_SUPPRESSED, LOG_FAMILY_JOURNALD, NULL, NULL, NULL, NULL, 0, 0 },
                /* RFC 3339 and other programs */
                { "2026-12-02T08:10:46.307897+01:00 mail.lab.test postfix/qmgr[122]: D0DB5E7: removed", LOG_KIND_REMOVED,
                  LOG_FAMILY_POSTFIX, "qmgr", "D0DB5E7", NULL, NULL, 0, 0 },
                { "Dec 02 08:10:35 mail.lab.test groupadd[9]: group added to /etc/group: name=vmail, GID=5000",
                  LOG_KIND_OTHER, LOG_FAMILY_OTHER, NULL, NULL, NULL, NULL, 0, 0 },
                /* bad input */
                { "", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER, NULL, NULL, NULL, NULL, 0, 0 },
                { "hello world", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER, NULL, NULL, NULL, NULL, 0, 0 },
                { "Dec 02 08:10:4", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER, NULL, NULL, NULL, NULL, 0, 0 },
                { "Foo 02 08:10:46 host postfix/qmgr[1]: ABCDEF1: removed", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER, NULL,
                  NULL, NULL, NULL, 0, 0 },
                { "Dec 02 08:10:46 host postfix/smtpd[1]: warning: \033[2Jevil", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER,
                  NULL, NULL, NULL, NULL, 0, 0 },
                { "Dec 02 08:10:46 host postfix/smtpd[1]: warning: bad \xc3\x28 utf-8", LOG_KIND_UNPARSED,
                  LOG_FAMILY_OTHER, NULL, NULL, NULL, NULL, 0, 0 },
                { "2026-13-02T08:10:46Z host postfix/qmgr[1]: ABCDEF1: removed", LOG_KIND_UNPARSED, LOG_FAMILY_OTHER,
                  NULL, NULL, NULL, NULL, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LogClock clock;
                LogEvent ev;
                log_clock_init(&clock, NOW_USEC);
                LogKind k = logline_parse_syslog(cases[i].line, strlen(cases[i].line), &clock, &ev);
                if (k != cases[i].kind || ev.family != cases[i].family)
                        fail_msg("case %zu '%s': kind %s family %d, want %s %d", i, cases[i].line, log_kind_to_string(k),
                                 ev.family, log_kind_to_string(cases[i].kind), cases[i].family);
                if (!str_is(ev.service, cases[i].service))
                        fail_msg("case %zu: service '%s'", i, dup_str(ev.service));
                if (!str_is(ev.queue_id, cases[i].qid))
                        fail_msg("case %zu: queue id '%s'", i, dup_str(ev.queue_id));
                LogStr a = {}, b = {};
                switch (k) {
                case LOG_KIND_CONNECT:
                case LOG_KIND_DISCONNECT:
                case LOG_KIND_CLIENT:
                        a = ev.client, b = ev.client_ip;
                        break;
                case LOG_KIND_MESSAGE_ID:
                case LOG_KIND_LMTP_SAVED:
                case LOG_KIND_SIEVE:
                        a = ev.message_id;
                        break;
                case LOG_KIND_QUEUED:
                case LOG_KIND_EXPIRED:
                case LOG_KIND_PICKUP:
                        a = ev.from;
                        break;
                case LOG_KIND_DELIVERY:
                        a = ev.to, b = ev.relay;
                        break;
                case LOG_KIND_BOUNCE:
                        a = ev.new_queue_id;
                        break;
                case LOG_KIND_REJECT:
                case LOG_KIND_REJECT_WARNING:
                case LOG_KIND_HOLD:
                case LOG_KIND_SASL_FAILURE:
                        a = ev.client_ip, b = ev.reason;
                        break;
                case LOG_KIND_LOGIN:
                case LOG_KIND_LOGIN_FAILED:
                        a = ev.user, b = ev.client_ip;
                        break;
                case LOG_KIND_DKIM:
                        a = ev.dkim_domain;
                        break;
                default:
                        break;
                }
                if (!str_is(a, cases[i].a) || !str_is(b, cases[i].b))
                        fail_msg("case %zu: a '%s' b '%s', want '%s' '%s'", i, dup_str(a), dup_str(b), strempty(cases[i].a),
                                 strempty(cases[i].b));
                assert_int_equal(ev.status, cases[i].status);
                assert_int_equal(ev.size, cases[i].size);
        }
}

static void test_fields(void **state) {
        LogClock clock;
        LogEvent ev;
        log_clock_init(&clock, NOW_USEC);

        const char *l = "Dec 02 08:10:46 h postfix/smtp[158]: D0DB5E7: to=<bob@lab.test>, relay=127.0.0.1[127.0.0.1]:10025, "
                        "delay=0.53, delays=0.2/0.25/0.03/0.06, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2F298EA)";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_DELIVERY);
        assert_true(LOGSTR_IS(ev.new_queue_id, "2F298EA"));
        assert_true(LOGSTR_IS(ev.delay, "0.53"));
        assert_true(LOGSTR_IS(ev.delays, "0.2/0.25/0.03/0.06"));
        assert_true(LOGSTR_IS(ev.dsn, "2.0.0"));
        assert_true(LOGSTR_IS(ev.reason, "250 2.0.0 Ok: queued as 2F298EA"));
        assert_int_equal(ev.hour, 8);

        l = "Dec 02 08:10:52 h postfix/smtpd[132]: NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 "
            "<nobody@lab.test>: Recipient address rejected: User unknown in virtual mailbox table; "
            "from=<carol@example.org> to=<nobody@lab.test> proto=ESMTP helo=<mail.lab.test>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_REJECT);
        assert_int_equal(ev.reject_class, LOG_REJECT_UNKNOWN_USER);
        assert_true(LOGSTR_IS(ev.stage, "RCPT"));
        assert_true(LOGSTR_IS(ev.code, "550"));
        assert_true(LOGSTR_IS(ev.dsn, "5.1.1"));
        assert_true(LOGSTR_IS(ev.from, "carol@example.org"));
        assert_true(LOGSTR_IS(ev.to, "nobody@lab.test"));

        l = "Dec 02 08:10:52 h postfix/postscreen[40]: NOQUEUE: reject: RCPT from [192.0.2.7]:40123: 550 5.7.1 Service "
            "unavailable; client [192.0.2.7] blocked using zen.spamhaus.org; from=<a@b.example>, to=<c@lab.test>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_REJECT);
        assert_int_equal(ev.reject_class, LOG_REJECT_RBL);
        l = "Dec 02 08:10:52 h postfix/postscreen[40]: NOQUEUE: reject: RCPT from [192.0.2.7]:40123: 550 5.5.1 Protocol "
            "error; from=<a@b.example>, to=<c@lab.test>, proto=ESMTP, helo=<x>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_REJECT);
        assert_int_equal(ev.reject_class, LOG_REJECT_POSTSCREEN);
        assert_true(LOGSTR_IS(ev.client_ip, "192.0.2.7"));

        l = "Dec 02 08:10:52 h postfix/smtpd[4]: NOQUEUE: reject: RCPT from x[192.0.2.7]: 554 5.7.1 Service unavailable; "
            "Client host [192.0.2.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.7; "
            "from=<a@b.example> to=<c@lab.test> proto=ESMTP helo=<x>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_REJECT);
        assert_int_equal(ev.reject_class, LOG_REJECT_RBL);
        assert_true(LOGSTR_IS(ev.rbl, "zen.spamhaus.org"));

        l = "Dec 02 08:10:52 h postfix/smtpd[4]: NOQUEUE: reject: MAIL from x[192.0.2.7]: 552 5.3.4 Message size exceeds "
            "fixed limit; proto=ESMTP helo=<x>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_REJECT);
        assert_int_equal(ev.reject_class, LOG_REJECT_SIZE);

        l = "Dec 02 08:11:20 h dovecot: imap-login: Login: user=<bob@lab.test>, method=PLAIN, rip=127.0.0.1, "
            "lip=127.0.0.1, mpid=230, secured, session=<x>";
        assert_int_equal(logline_parse_syslog(l, strlen(l), &clock, &ev), LOG_KIND_LOGIN);
        assert_false(ev.tls);
        assert_true(LOGSTR_IS(ev.protocol, "imap"));
        assert_true(LOGSTR_IS(ev.sasl_method, "PLAIN"));

        /* journal entries: fields given separately, MESSAGE absent or binary */
        assert_int_equal(logline_parse_entry("postfix/qmgr", 12, 122, "D0DB5E7: removed", 16, NOW_USEC, &clock, &ev),
                         LOG_KIND_REMOVED);
        assert_int_equal(ev.pid, 122);
        assert_true(LOGSTR_IS(ev.queue_id, "D0DB5E7"));
        assert_int_equal(logline_parse_entry("postfix/qmgr", 12, 1, NULL, 0, NOW_USEC, &clock, &ev), LOG_KIND_UNPARSED);
        assert_int_equal(logline_parse_entry("postfix/qmgr", 12, 1, "A\0B: removed", 12, NOW_USEC, &clock, &ev),
                         LOG_KIND_UNPARSED);
}

static void test_queue_ids(void **state) {
        static const struct {
                const char *s;
                bool want;
        } cases[] = {
                { "D0DB5E7", true }, { "3A1B2C4D5E", true }, { "4NRt2b0Tqkz9sQ1", true }, { "NOQUEUE", false },
                { "warning", false }, { "abc", false }, { "0123456789ABCDEF0123456789", false }, { "12:34", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (log_is_queue_id(cases[i].s, strlen(cases[i].s)) != cases[i].want)
                        fail_msg("'%s'", cases[i].s);
}

/* Traditional timestamps have no year: the first line is placed no later than a day after
 * now, later lines follow across New Year. */
static void test_year(void **state) {
        LogClock clock;
        LogEvent ev;
        /* now: 2026-01-02 12:00 UTC */
        int64_t now = (log_days_from_civil(2026, 0, 2) * 86400 + 12 * 3600) * INT64_C(1000000);
        static const char *const lines[] = {
                "Dec 31 23:59:59 h postfix/qmgr[1]: ABCDEF1: removed",
                "Jan  1 00:00:01 h postfix/qmgr[1]: ABCDEF2: removed",
                "Dec 31 23:59:58 h postfix/qmgr[1]: ABCDEF3: removed", /* out of order, back across the boundary */
        };
        static const int years[] = { 2025, 2026, 2025 };
        setenv("TZ", "UTC", 1);
        tzset();
        log_clock_init(&clock, now);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                assert_int_equal(logline_parse_syslog(lines[i], strlen(lines[i]), &clock, &ev), LOG_KIND_REMOVED);
                time_t t = (time_t) (ev.usec / 1000000);
                struct tm tm;
                gmtime_r(&t, &tm);
                if (tm.tm_year + 1900 != years[i])
                        fail_msg("line %zu: year %d, want %d", i, tm.tm_year + 1900, years[i]);
        }
        /* Same instant in RFC 3339 and traditional form */
        const char *iso = "2025-12-31T23:59:59+00:00 h postfix/qmgr[1]: ABCDEF1: removed";
        LogEvent ev2;
        log_clock_init(&clock, now);
        assert_int_equal(logline_parse_syslog(lines[0], strlen(lines[0]), &clock, &ev), LOG_KIND_REMOVED);
        assert_int_equal(logline_parse_syslog(iso, strlen(iso), &clock, &ev2), LOG_KIND_REMOVED);
        assert_int_equal(ev.usec, ev2.usec);
}

typedef struct Collected {
        size_t n, too_long;
        size_t lens[8];
} Collected;

static void collect(const char *line, size_t len, bool too_long, void *userdata) {
        Collected *c = userdata;
        if (c->n < ELEMENTSOF(c->lens))
                c->lens[c->n] = len;
        c->n++;
        c->too_long += too_long;
}

static void test_splitter(void **state) {
        LogSplitter s;
        Collected c = {};
        assert_int_equal(log_splitter_init(&s), 0);
        /* byte at a time, a line over the bound, a last line without newline */
        char *big = malloc(LOGLINE_MAX * 2 + 1);
        assert_non_null(big);
        memset(big, 'x', LOGLINE_MAX * 2);
        big[LOGLINE_MAX * 2] = '\n';
        const char *a = "one\ntwo\n";
        for (const char *p = a; *p; p++)
                log_splitter_feed(&s, p, 1, collect, &c);
        log_splitter_feed(&s, big, LOGLINE_MAX * 2 + 1, collect, &c);
        log_splitter_feed(&s, "tail", 4, collect, &c);
        log_splitter_finish(&s, collect, &c);
        assert_int_equal(c.n, 4);
        assert_int_equal(c.lens[0], 3);
        assert_int_equal(c.lens[1], 3);
        assert_int_equal(c.lens[2], LOGLINE_MAX);
        assert_int_equal(c.too_long, 1);
        assert_int_equal(c.lens[3], 4);
        free(big);
        log_splitter_done(&s);
}

static void test_client_domain(void **state) {
        /* pflogsumm's gimme_domain() on the same inputs */
        static const struct {
                const char *client, *want;
        } cases[] = {
                { "mail.Example.COM[192.0.2.1]", "example.com" }, { "unknown[192.0.2.1]", "192.0.2.1" },
                { "mail.lab.test[127.0.0.1]", "mail.lab.test" },   { "a.b.co.uk[192.0.2.1]", "b.co.uk" },
                { "localhost[127.0.0.1]", "localhost" },           { "x.y.com.au[192.0.2.1]", "y.com.au" },
                { "host.example.de[192.0.2.1]", "host.example.de" }, { "unknown[2001:db8::1]", "2001:db8::1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[64];
                log_client_domain(cases[i].client, strlen(cases[i].client), buf, sizeof(buf));
                if (!streq(buf, cases[i].want))
                        fail_msg("'%s': '%s', want '%s'", cases[i].client, buf, cases[i].want);
        }
}

/* Queue ids pack into the in-flight key without collisions (bijective: no length kept, so
 * "A" and "0A" must differ), and what does not fit is refused, not truncated. */
static void test_qid_pack(void **state) {
        static const char *const fit[] = {
                "A", "0A", "A0", "00A", "D0DB5E7", "D0DB5E70", "0D0DB5E7", "1C419111", "3vLcZt1Fpgz4xG9",
                "4Wz1Zq3Xb7z2Kx9AbCdE", "4Wz1Zq3Xb7z2Kx9AbCdF", "4Wz1Zq3Xb7z2Kx9AbCd", "_", "NOQUEUE", "noqueue",
                "zzzzzzzzzz", "zzzzzzzzzzz", "0000000000", "00000000000", "warning",
        };
        static const char *const refused[] = {
                "", "4Wz1Zq3Xb7z2Kx9AbCdEf" /* 21 */, "AB-C", "AB:C", "A B", "ab\xc3\xa9",
        };
        uint64_t keys[ELEMENTSOF(fit)][2];
        for (size_t i = 0; i < ELEMENTSOF(fit); i++) {
                assert_true(log_qid_pack(fit[i], strlen(fit[i]), keys[i]));
                assert_true((keys[i][0] | keys[i][1]) != 0);
                for (size_t j = 0; j < i; j++)
                        if (keys[i][0] == keys[j][0] && keys[i][1] == keys[j][1])
                                fail_msg("'%s' and '%s' pack alike", fit[i], fit[j]);
        }
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                uint64_t k[2];
                if (log_qid_pack(refused[i], strlen(refused[i]), k))
                        fail_msg("'%s' packed", refused[i]);
        }
}

/* Messages whose removal never shows up do not grow the in-flight table without bound. */
static void test_inflight_bound(void **state) {
        LogStats s;
        LogClock clock;
        char line[200];
        assert_int_equal(log_stats_init(&s), 0);
        log_clock_init(&clock, NOW_USEC);
        for (unsigned i = 0; i < LOG_INFLIGHT_MAX * 3; i++) {
                LogEvent ev;
                int n = snprintf(line, sizeof(line),
                                 "Dec 02 08:10:46 h postfix/qmgr[1]: %08X: from=<a@b.example>, size=10, nrcpt=1 (queue active)",
                                 i + 0x10000000u);
                assert_int_equal(logline_parse_syslog(line, (size_t) n, &clock, &ev), LOG_KIND_QUEUED);
                assert_int_equal(log_stats_add(&s, &ev), 0);
                if (i % 3 == 0) {
                        n = snprintf(line, sizeof(line), "Dec 02 08:10:46 h postfix/qmgr[1]: %08X: removed", i + 0x10000000u);
                        assert_int_equal(logline_parse_syslog(line, (size_t) n, &clock, &ev), LOG_KIND_REMOVED);
                        assert_int_equal(log_stats_add(&s, &ev), 0);
                }
        }
        assert_true(s.inflight.n <= LOG_INFLIGHT_MAX);
        assert_true(s.inflight.evicted > 0);
        /* what is left is recent: the sweep keeps the newest half of the bound */
        for (size_t k = 0; k < s.inflight.n_slots; k++)
                if (s.inflight.slots[k].key[0] | s.inflight.slots[k].key[1])
                        assert_true(s.inflight.slots[k].seq + LOG_INFLIGHT_MAX * 3 / 2 > s.inflight.seq);
        /* the newest are still there, and still found after backward-shift deletions */
        for (unsigned i = LOG_INFLIGHT_MAX * 3 - 10; i < LOG_INFLIGHT_MAX * 3; i++) {
                char q[16];
                snprintf(q, sizeof(q), "%08X", i + 0x10000000u);
                bool removed = i % 3 == 0, found = false;
                uint64_t key[2];
                assert_true(log_qid_pack(q, strlen(q), key));
                for (size_t k = 0; k < s.inflight.n_slots; k++)
                        found |= s.inflight.slots[k].key[0] == key[0] && s.inflight.slots[k].key[1] == key[1];
                assert_int_equal(found, !removed);
                assert_int_equal(log_inflight_contains(&s.inflight, q, strlen(q)), !removed);
        }
        log_stats_done(&s);
}

/* A line with the previous line's timestamp takes the cached time: the same as a fresh
 * parse, also when the rest of the line differs or is not a log line at all. */
static void test_stamp_cache(void **state) {
        static const char *const lines[] = {
                "Dec  2 08:10:46 h postfix/qmgr[1]: ABCDEF1: removed",
                "Dec  2 08:10:46 h postfix/qmgr[1]: ABCDEF2: removed",
                "Dec  2 08:10:46 ",                      /* the stamp and nothing: unparsed */
                "Dec  2 08:10:46 h",                     /* no tag: unparsed */
                "Dec  2 08:10:47 h postfix/qmgr[1]: ABCDEF3: removed",
                "Dec 02 08:10:47 h postfix/qmgr[1]: ABCDEF4: removed", /* zero-padded day: another stamp */
                "Dec  2 08:10:47 h dovecot: lmtp(bob): Connect from local",
        };
        static const LogKind kinds[] = { LOG_KIND_REMOVED,  LOG_KIND_REMOVED, LOG_KIND_UNPARSED, LOG_KIND_UNPARSED,
                                         LOG_KIND_REMOVED,  LOG_KIND_REMOVED, LOG_KIND_OTHER };
        LogClock cached, fresh;
        log_clock_init(&cached, NOW_USEC);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                LogEvent a, b;
                log_clock_init(&fresh, NOW_USEC);
                assert_int_equal(logline_parse_syslog(lines[i], strlen(lines[i]), &cached, &a), kinds[i]);
                assert_int_equal(logline_parse_syslog(lines[i], strlen(lines[i]), &fresh, &b), kinds[i]);
                assert_int_equal(a.usec, b.usec);
                assert_int_equal(a.hour, b.hour);
                assert_int_equal(a.yday_key, b.yday_key);
                if (kinds[i] != LOG_KIND_UNPARSED)
                        assert_true(a.usec > 0);
        }
}

/* A control byte, DEL or invalid UTF-8 anywhere in a line makes it unparsed, whichever
 * part of the vector check (16 at a time, the overlapping tail, 8 at a time, bytes) sees it. */
static void test_clean_positions(void **state) {
        const char *base = "Dec  2 08:10:46 h postfix/qmgr[1]: ABCDEF1: removed and some more text to be long";
        static const char bad[] = { '\x1b', '\x00', '\x7f', '\r', '\x80' };
        size_t full = strlen(base);
        LogClock clock;
        log_clock_init(&clock, NOW_USEC);
        for (size_t len = 52; len <= full; len++)
                for (size_t pos = 0; pos < len; pos++)
                        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                                char line[128];
                                LogEvent ev;
                                memcpy(line, base, len);
                                line[pos] = bad[k];
                                if (bad[k] == '\r' && pos == len - 1)
                                        continue; /* a trailing CR is a line end */
                                if (logline_parse_syslog(line, len, &clock, &ev) != LOG_KIND_UNPARSED)
                                        fail_msg("byte 0x%02x at %zu of %zu was accepted", (unsigned char) bad[k], pos, len);
                        }
        /* valid UTF-8 and a tab are text */
        const char *ok = "Dec  2 08:10:46 h postfix/smtpd[1]: warning: caf\xc3\xa9\tna\xc3\xafve text, long enough to vector";
        LogEvent ev;
        assert_int_equal(logline_parse_syslog(ok, strlen(ok), &clock, &ev), LOG_KIND_WARNING);
}

/* LogMap: keys folded from '@' on, found again after the index grew, counted, bounded,
 * and the top list ordered by value then key. */
static void test_map(void **state) {
        LogMap m = {};
        char key[64];
        for (unsigned i = 0; i < 5000; i++) {
                int n = snprintf(key, sizeof(key), "User%u@Dom%u.EXAMPLE", i, i % 7);
                bool isnew = false;
                LogMapEntry *e = log_map_get(&m, key, (size_t) n, true, &isnew);
                assert_non_null(e);
                assert_true(isnew);
                e->v[0] += i % 10;
        }
        assert_int_equal(m.n, 5000);
        for (unsigned i = 0; i < 5000; i += 97) {
                int n = snprintf(key, sizeof(key), "User%u@dom%u.example", i, i % 7); /* domain case differs */
                bool isnew = true;
                LogMapEntry *e = log_map_get(&m, key, (size_t) n, true, &isnew);
                assert_non_null(e);
                assert_false(isnew);
                assert_string_equal(log_map_key(&m, e), key);
                n = snprintf(key, sizeof(key), "user%u@dom%u.example", i, i % 7); /* local part differs: another key */
                assert_null(log_map_find(&m, key, (size_t) n, true));
        }
        assert_int_equal(log_map_count(&m, 0), 4500); /* i % 10 == 0 has 0 */
        LogMapEntry *top[3];
        assert_int_equal(log_map_top(&m, 0, top, 3), 3);
        assert_int_equal(top[0]->v[0], 9);
        assert_int_equal(top[2]->v[0], 9);
        assert_true(strcmp(log_map_key(&m, top[0]), log_map_key(&m, top[1])) < 0);
        log_map_done(&m);

        LogMap b = { .max_entries = 3 };
        for (unsigned i = 0; i < 5; i++) {
                int n = snprintf(key, sizeof(key), "k%u", i);
                LogMapEntry *e = log_map_get(&b, key, (size_t) n, false, NULL);
                assert_true(i < 3 ? e != NULL : e == NULL);
        }
        assert_int_equal(b.dropped, 2);
        log_map_done(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines),         cmocka_unit_test(test_fields),
                cmocka_unit_test(test_queue_ids),     cmocka_unit_test(test_year),
                cmocka_unit_test(test_splitter),      cmocka_unit_test(test_client_domain),
                cmocka_unit_test(test_qid_pack),
                cmocka_unit_test(test_inflight_bound), cmocka_unit_test(test_stamp_cache),
                cmocka_unit_test(test_clean_positions), cmocka_unit_test(test_map),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
