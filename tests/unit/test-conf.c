/* INI reader, answers file and settings: table-driven, every error checked by its text. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "answers.h"
#include "conf.h"
#include "macro.h"
#include "settings.h"

static char *data_path(const char *name) {
        const char *dir = getenv("MXDECK_TEST_DATA");
        char *p;

        assert_non_null(dir);
        assert_true(asprintf(&p, "%s/answers/%s", dir, name) >= 0);
        return p;
}

/* --- value parsers --- */

static void test_parse_values(void **state) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } sizes[] = {
                { "0", 0, 0 },
                { "512", 0, 512 },
                { "1K", 0, 1024 },
                { "1k", 0, 1024 },
                { "512M", 0, UINT64_C(512) << 20 },
                { "512MB", 0, UINT64_C(512) << 20 },
                { "512MiB", 0, UINT64_C(512) << 20 },
                { "2G", 0, UINT64_C(2) << 30 },
                { "3T", 0, UINT64_C(3) << 40 },
                { "100B", 0, 100 },
                { "16777215T", 0, UINT64_C(16777215) << 40 },
                { "16777216T", -ERANGE, 0 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "M", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1 M", -EINVAL, 0 },
                { "1.5G", -EINVAL, 0 },
                { "1X", -EINVAL, 0 },
                { "1MM", -EINVAL, 0 },
        };
        static const struct {
                const char *s;
                int r;
                bool v;
        } bools[] = {
                { "yes", 0, true }, { "no", 0, false }, { "YES", 0, true }, { "true", 0, true },
                { "false", 0, false }, { "on", 0, true }, { "off", 0, false }, { "1", 0, true },
                { "0", 0, false }, { "", -EINVAL, false }, { "yes ", -EINVAL, false },
                { "2", -EINVAL, false }, { "y", -EINVAL, false },
        };
        static const struct {
                const char *s;
                bool valid;
        } hosts[] = {
                { "mail.example.com", true },
                { "example", true },
                { "xn--bcher-kva.example", true },
                { "a-b.c", true },
                { "", false },
                { "-a.example", false },
                { "a-.example", false },
                { "a..example", false },
                { ".example", false },
                { "example.", false },
                { "mail_1.example", false },
                { "mail example", false },
                { "邮件.example", false },
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x", true }, /* 63 */
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x", false }, /* 64 */
        };
        uint64_t v;
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                v = 0;
                int r = parse_size(sizes[i].s, &v);
                if (r != sizes[i].r || (r == 0 && v != sizes[i].v))
                        fail_msg("parse_size(\"%s\") = %d, %" PRIu64, sizes[i].s, r, v);
        }
        for (size_t i = 0; i < ELEMENTSOF(bools); i++) {
                int r = parse_bool(bools[i].s, &b);
                if (r != bools[i].r || (r == 0 && b != bools[i].v))
                        fail_msg("parse_bool(\"%s\") = %d", bools[i].s, r);
        }
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                if (hostname_is_valid(hosts[i].s) != hosts[i].valid)
                        fail_msg("hostname_is_valid(\"%s\")", hosts[i].s);
        /* a 254-byte name */
        char longname[300] = "";
        for (int i = 0; i < 4; i++)
                strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
        strcat(longname, "bb"); /* 4 * 64 + 2 = 258 */
        assert_false(hostname_is_valid(longname));

        assert_int_equal(parse_uint64("42", &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(parse_uint64("42K", &v), -EINVAL);
        assert_int_equal(parse_uint64("0042", &v), 0);
        assert_int_equal(v, 42);
}

/* --- the INI reader on its own schema --- */

static const char *const colors[] = { "red", "green", NULL };
static const ConfKey main_keys[] = {
        { .name = "name", .type = CONF_STRING, .required = true },
        { .name = "flag", .type = CONF_BOOL },
        { .name = "count", .type = CONF_UINT },
        { .name = "size", .type = CONF_SIZE },
        { .name = "color", .type = CONF_ENUM, .choices = colors },
        { .name = "list", .type = CONF_LIST },
        { .name = "path", .type = CONF_PATH },
        { .name = "host", .type = CONF_HOSTNAME },
        {}
};
static const ConfKey item_keys[] = {
        { .name = "value", .type = CONF_STRING },
        {}
};
static const ConfSection test_sections[] = {
        { .name = "main", .keys = main_keys, .required = true },
        { .name = "item ", .keys = item_keys, .multiple = true },
        {}
};
static const ConfSchema test_schema = { test_sections };

static void test_hostname_is_fqdn(void **state) {
        static const struct {
                const char *s;
                bool fqdn;
        } cases[] = {
                { "mail.example.com", true },
                { "example.org", true },
                { "MAIL.Example.COM", true },
                { "xn--bcher-kva.example", true },
                { "a.b.c.d.e", true },
                { "mail", false },              /* one label */
                { "localhost", false },
                { "localhost.example.com", false },
                { "mail.localhost", false },
                { "mail.localdomain", false },
                { "mail.LOCALDOMAIN", false },
                { "mail.local", false },
                { "mail.internal", false },
                { "router.lan", false },
                { "nas.home", false },
                { "mail.homes", true },         /* only whole labels are local */
                { "mail.locale", true },
                { "192.0.2.1", false },         /* an address, not a name */
                { "mail.123", false },
                { "mail.example.", false },     /* absolute form: not in a setting */
                { "mail..example", false },
                { "-mail.example", false },
                { "mail_1.example", false },
                { "", false },
                { NULL, false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (hostname_is_fqdn(cases[i].s) != cases[i].fqdn)
                        fail_msg("hostname_is_fqdn(\"%s\") should be %s", strempty(cases[i].s),
                                 cases[i].fqdn ? "true" : "false");
}

static void test_conf_syntax(void **state) {
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_strv_free_ char **list = NULL;
        uint64_t u;
        bool b;

        assert_int_equal(conf_load_string("t.ini",
                "\xef\xbb\xbf; comment\r\n"
                "  # another comment\r\n"
                "[main]\r\n"
                "name = a=b;c ; inline comment\r\n"
                "\tflag\t=\tYes\t\r\n"
                "count = 0042\r\n"
                "size = 1G\r\n"
                "color = green\n"
                "list = a, b  c,,d\n"
                "path =\n"
                "host = Mail.Example.com\n"
                "[ item  first ]  ; comment after a header\n"
                "value = #not a comment\n"
                "[item second]\n",
                &test_schema, &c, &err), 0);
        assert_null(err);
        assert_string_equal(c->path, "t.ini");
        assert_string_equal(conf_get_string(c, "main", "name"), "a=b;c");
        assert_int_equal(conf_get(c, "main", "name")->line, 4);
        assert_int_equal(conf_get_bool(c, "main", "flag", &b), 0);
        assert_true(b);
        assert_int_equal(conf_get_uint(c, "main", "count", &u), 0);
        assert_int_equal(u, 42);
        assert_int_equal(conf_get_size(c, "main", "size", &u), 0);
        assert_int_equal(u, UINT64_C(1) << 30);
        assert_int_equal(conf_get_list(c, "main", "list", &list), 0);
        assert_string_equal(list[0], "a");
        assert_string_equal(list[1], "b");
        assert_string_equal(list[2], "c");
        assert_string_equal(list[3], "d");
        assert_null(list[4]);
        /* an empty value is "not set" for typed getters */
        assert_string_equal(conf_get_string(c, "main", "path"), "");
        assert_int_equal(conf_get_uint(c, "main", "path", &u), -ENOENT);
        assert_null(conf_get(c, "main", "nothing"));
        assert_int_equal(conf_get_bool(c, "main", "nothing", &b), -ENOENT);
        assert_int_equal(conf_get_list(c, "main", "nothing", &list), -ENOENT);
        /* named sections are normalised, values keep '#' */
        assert_int_equal(c->n_sections, 3);
        assert_string_equal(c->sections[1], "item first");
        assert_int_equal(c->section_lines[1], 12);
        assert_string_equal(conf_get_string(c, "item first", "value"), "#not a comment");
}

static void test_conf_long_lines(void **state) {
        _cleanup_free_ char *text = NULL, *err = NULL, *section = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;
        size_t valsize = 3000;
        char *value;

        /* long values and section names must come through whole (inih would cut them) */
        value = malloc(valsize + 1);
        assert_non_null(value);
        for (size_t i = 0; i < valsize; i++)
                value[i] = (char) ('a' + i % 26);
        value[valsize] = '\0';
        assert_true(asprintf(&section, "item %s", "a-very-long-mailbox-name-for-testing@subdomain.example.org") > 0);
        assert_true(asprintf(&text, "[main]\nname = %s\n[%s]\nvalue = x\n", value, section) > 0);
        assert_int_equal(conf_load_string("t.ini", text, &test_schema, &c, &err), 0);
        assert_string_equal(conf_get_string(c, "main", "name"), value);
        assert_string_equal(conf_get_string(c, section, "value"), "x");
        free(text);
        text = NULL;
        c = conf_free(c);

        /* exactly 4096 bytes (without CRLF) is fine, 4097 is not */
        char line[4098 + 3];
        memset(line, ' ', sizeof(line));
        memcpy(line, "name = ", 7);
        memset(line + 7, 'v', 4096 - 7);
        memcpy(line + 4096, "\r\n", 3);
        assert_true(asprintf(&text, "[main]\n%s", line) > 0);
        assert_int_equal(conf_load_string("t.ini", text, &test_schema, &c, &err), 0);
        assert_int_equal(strlen(conf_get_string(c, "main", "name")), 4096 - 7);
        free(text);
        text = NULL;
        c = conf_free(c);

        line[4096] = 'v';
        memcpy(line + 4097, "\n", 2);
        assert_true(asprintf(&text, "[main]\n%sname2 = x\n", line) > 0);
        assert_int_equal(conf_load_string("t.ini", text, &test_schema, &c, &err), -EINVAL);
        assert_string_equal(err, "t.ini:2: line too long (more than 4096 bytes)");
        assert_null(c);
        free(value);
}

static void test_conf_errors(void **state) {
        static const struct {
                const char *text;
                const char *error;
        } cases[] = {
                { "[main]\nname = x\nflag = perhaps\n",
                  "t.ini:3: key 'flag' in [main]: 'perhaps' is not a valid boolean (expected yes or no)" },
                { "[main]\nname = x\ncount = 12a\n",
                  "t.ini:3: key 'count' in [main]: '12a' is not a valid number (expected a whole number" },
                { "[main]\nname = x\ncount = 18446744073709551616\n",
                  "t.ini:3: key 'count' in [main]: '18446744073709551616' is not a valid number (out of range" },
                { "[main]\nname = x\nsize = 1.5G\n",
                  "t.ini:3: key 'size' in [main]: '1.5G' is not a valid size (expected a number of bytes" },
                { "[main]\nname = x\ncolor = blue\n",
                  "t.ini:3: key 'color' in [main]: 'blue' is not a valid choice (expected one of: red, green)" },
                { "[main]\nname = x\npath = relative/file\n",
                  "t.ini:3: key 'path' in [main]: 'relative/file' is not a valid path (expected an absolute path" },
                { "[main]\nname = x\nhost = -bad-\n",
                  "t.ini:3: key 'host' in [main]: '-bad-' is not a valid host name" },
                { "[main]\nname = x\nname = y\n",
                  "t.ini:3: duplicate key 'name' in section [main] (first set on line 2)" },
                { "[main]\nname = x\n[item a]\n[item a]\n",
                  "t.ini:4: duplicate section [item a] (first on line 3)" },
                { "[main]\nname = x\n[main]\n",
                  "t.ini:3: duplicate section [main] (first on line 1)" },
                { "[main]\nname = x\nnmae = y\n", "t.ini:3: unknown key 'nmae' in section [main]" },
                { "[main]\nNAME = x\n", "t.ini:2: unknown key 'NAME' in section [main] (keys are lower-case: 'name')" },
                { "[main]\nname = x\n[mian]\n", "t.ini:3: unknown section [mian]" },
                { "[main]\nname = x\n[item]\n", "t.ini:3: section [item] needs a name, as in [item NAME]" },
                { "[main]\nname = x\n[]\n", "t.ini:3: empty section name []" },
                { "[main]\nname = x\n[item a\n", "t.ini:3: section header without closing ']'" },
                { "[main]\nname = x\n[item a] b\n", "t.ini:3: unexpected text after the section header: 'b'" },
                { "name = x\n[main]\n", "t.ini:1: key 'name' is outside of any section" },
                { "[main]\nname = x\njust words\n", "t.ini:3: expected '[section]' or 'key = value'" },
                { "[main]\nname = x\n = y\n", "t.ini:3: missing key name before '='" },
                { "[main]\n", "t.ini: missing required key 'name' in section [main]" },
                { "[main]\nname =   ; nothing\n", "t.ini:2: required key 'name' in section [main] is empty" },
                { "[item a]\n", "t.ini: missing section [main]" },
                { "", "t.ini: missing section [main]" },
                { "[main]\nname = a\rb\n", "t.ini:2: control or invisible formatting character U+000D" },
                { "[main]\nname = \x1b]52;c;ZXZpbA==\x07\n", "t.ini:2: control or invisible formatting character U+001B" },
                { "[main]\nname = \xc2\x9b" "31m\n", "t.ini:2: control or invisible formatting character U+009B" },
                { "[main]\nname = x\xe2\x80\xaey\n", "t.ini:2: control or invisible formatting character U+202E" },
                { "[main]\nname = \xc0\xaf\n", "t.ini:2: invalid UTF-8" },
                { "[main]\nname = \xed\xa0\x80\n", "t.ini:2: invalid UTF-8" },
                { "[main]\nname = x\n[mi\x1b[2Jan]\n", "t.ini:3: control or invisible formatting character U+001B" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(conf_freep) Conf *c = NULL;
                _cleanup_free_ char *err = NULL;
                int r = conf_load_string("t.ini", cases[i].text, &test_schema, &c, &err);

                if (r != -EINVAL || !err || !startswith(err, cases[i].error))
                        fail_msg("case %zu: r=%d error '%s', expected '%s'", i, r,
                                 strempty(err), cases[i].error);
                assert_null(c);
        }

        /* NUL bytes only reach conf through a buffer */
        _cleanup_(conf_freep) Conf *c = NULL;
        _cleanup_free_ char *err = NULL;
        static const char nul[] = "[main]\nname = x\0y\n";
        assert_int_equal(conf_load_buffer("t.ini", nul, sizeof(nul) - 1, &test_schema, &c, &err), -EINVAL);
        assert_string_equal(err, "t.ini:2: NUL byte in the file (is it a text file?)");

        /* a message never carries the file's escape sequences to the terminal */
        free(err);
        err = NULL;
        assert_int_equal(conf_load_string("t\x1b[2J.ini", "[x]\n", &test_schema, &c, &err), -EINVAL);
        assert_null(strchr(err, '\x1b'));

        /* the file itself */
        free(err);
        err = NULL;
        assert_int_equal(conf_load("/nonexistent/mxdeck-test.ini", &test_schema, &c, &err), -ENOENT);
        assert_non_null(err);
        assert_non_null(strstr(err, "/nonexistent/mxdeck-test.ini: "));

        /* no error string wanted */
        assert_int_equal(conf_load_string("t.ini", "[x]\n", &test_schema, &c, NULL), -EINVAL);
}

static void test_conf_many_sections(void **state) {
        /* many named sections stay fast (hash set) and duplicates are still found */
        size_t n = 20000, size = 0;
        _cleanup_free_ char *text = malloc(n * 32 + 64), *err = NULL;
        _cleanup_(conf_freep) Conf *c = NULL;

        assert_non_null(text);
        size += (size_t) sprintf(text, "[main]\nname = x\n");
        for (size_t i = 0; i < n; i++)
                size += (size_t) sprintf(text + size, "[item n%zu]\nvalue = %zu\n", i, i);
        assert_int_equal(conf_load_string("t.ini", text, &test_schema, &c, &err), 0);
        assert_int_equal(c->n_sections, n + 1);
        assert_string_equal(conf_get_string(c, "item n19999", "value"), "19999");
        c = conf_free(c);

        sprintf(text + size, "[item n777]\n");
        assert_int_equal(conf_load_string("t.ini", text, &test_schema, &c, &err), -EINVAL);
        assert_non_null(strstr(err, "duplicate section [item n777] (first on line 1557)"));
}

/* --- answers --- */

static void test_answers_good_system(void **state) {
        _cleanup_free_ char *path = data_path("good-system.ini"), *err = NULL;
        _cleanup_(answers_freep) Answers *a = NULL;

        int r = answers_load(path, &a, &err);
        if (r < 0)
                fail_msg("%s", strempty(err));
        assert_string_equal(a->hostname, "mail.example.com");
        assert_string_equal(a->domain, "example.com");
        assert_null(a->domains[0]);
        assert_string_equal(a->public_ipv4, "192.0.2.25");
        assert_null(a->public_ipv6);
        assert_int_equal(a->users_mode, ANSWERS_USERS_SYSTEM);
        assert_int_equal(a->n_users, 2);
        assert_string_equal(a->users[0].name, "alice");
        assert_string_equal(a->users[0].password_file, "/root/alice.pw");
        assert_null(a->users[0].password_hash);
        assert_string_equal(a->users[0].aliases[0], "postmaster");
        assert_string_equal(a->users[0].aliases[1], "abuse");
        assert_string_equal(a->users[0].aliases[2], "root");
        assert_null(a->users[0].aliases[3]);
        assert_int_equal(a->users[0].line, 12);
        assert_string_equal(a->users[1].name, "bob");
        assert_null(a->users[1].password_file);
        assert_true(startswith(a->users[1].password_hash, "{SHA512-CRYPT}$6$"));
        assert_null(a->users[1].aliases[0]);
        assert_int_equal(a->tls_source, ANSWERS_TLS_FILES);
        assert_string_equal(a->tls_cert_file, "/etc/ssl/mail/fullchain.pem");
        assert_string_equal(a->tls_key_file, "/etc/ssl/mail/privkey.pem");
        assert_int_equal(a->firewall_backend, ANSWERS_FIREWALL_NFTABLES);
        assert_string_equal(a->firewall_services[4], "pop3s");
        assert_null(a->firewall_services[5]);
        assert_int_equal(a->message_size_limit, 25 * 1024 * 1024);
        assert_int_equal(a->mailbox_size_limit, UINT64_C(1) << 30);
        assert_string_equal(a->relayhost, "[smtp.relay.example.net]:587");
        assert_string_equal(a->mynetworks[2], "192.0.2.0/24");
        assert_string_equal(a->dovecot_protocols[0], "imap");
        assert_string_equal(a->dovecot_protocols[1], "lmtp");
        assert_null(a->dovecot_protocols[2]);
        assert_int_equal(a->quota, UINT64_C(2) << 30);
        assert_true(a->dkim_enabled);
        assert_string_equal(a->dkim_selector, "2025a");
        assert_true(a->fail2ban);
        assert_string_equal(answers_tls_source_to_string(a->tls_source), "files");
        assert_int_equal(answers_firewall_service_port("submission"), 587);
        assert_int_equal(answers_firewall_service_port("gopher"), -EINVAL);
}

static void test_answers_good_virtual(void **state) {
        _cleanup_free_ char *path = data_path("good-virtual.ini"), *err = NULL;
        _cleanup_(answers_freep) Answers *a = NULL;

        int r = answers_load(path, &a, &err);
        if (r < 0)
                fail_msg("%s", strempty(err));
        assert_int_equal(a->users_mode, ANSWERS_USERS_VIRTUAL);
        assert_string_equal(a->domains[0], "example.org");
        assert_string_equal(a->domains[1], "example.net");
        assert_int_equal(a->n_users, 2);
        assert_string_equal(a->users[0].name, "alice@example.com");
        assert_string_equal(a->users[0].aliases[0], "postmaster@example.com");
        assert_string_equal(a->users[0].aliases[1], "abuse@example.org");
        assert_string_equal(a->users[0].aliases[2], "info@example.net");
        assert_string_equal(a->users[1].name, "bob@example.org");
        assert_true(startswith(a->users[1].password_hash, "{BLF-CRYPT}$2y$"));
        assert_int_equal(a->tls_source, ANSWERS_TLS_ACME);
        assert_string_equal(a->acme_email, "hostmaster@example.com");
        assert_int_equal(a->acme_challenge, ANSWERS_ACME_WEBROOT);
        assert_string_equal(a->acme_webroot, "/var/www/html");
        assert_null(a->acme_directory);
        assert_int_equal(a->firewall_backend, ANSWERS_FIREWALL_AUTO);
        assert_string_equal(a->firewall_services[2], "imaps");
        /* defaults */
        assert_int_equal(a->message_size_limit, 52428800);
        assert_int_equal(a->mailbox_size_limit, 1073741824);
        assert_null(a->relayhost);
}

/* [firewall] plaintext and the [hardening] keys of the firewall and hardening steps. */
static void test_answers_firewall_hardening(void **state) {
        static const char base[] = "[server]\nhostname = mail.example.com\ndomain = example.com\n";
        static const struct {
                const char *text;
                const char *error;      /* NULL: loads */
                const char *services;   /* joined with ' ' */
        } cases[] = {
                { "[firewall]\nplaintext = yes\n", NULL, "smtp submission smtps imaps pop3s imap pop3" },
                { "[firewall]\nplaintext = yes\nservices = smtp, imap\n", NULL, "smtp imap pop3" },
                { "[firewall]\nplaintext = no\nservices = smtp, imaps\n", NULL, "smtp imaps" },
                /* without plaintext said, a list naming imap is taken as it is */
                { "[firewall]\nservices = smtp, imap\n", NULL, "smtp imap" },
                { "[firewall]\nplaintext = no\nservices = smtp, pop3\n",
                  "t.ini:6: [firewall] services lists pop3, but plaintext = no: remove it, or say plaintext = yes", NULL },
                { "[firewall]\nplaintext = perhaps\n",
                  "t.ini:5: key 'plaintext' in [firewall]: 'perhaps' is not a valid boolean (expected yes or no)", NULL },
                { "[hardening]\nrate_limits = often\n",
                  "t.ini:5: key 'rate_limits' in [hardening]: 'often' is not a valid boolean (expected yes or no)", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *err = NULL, *joined = strdup("");
                _cleanup_(answers_freep) Answers *a = NULL;
                int r;

                assert_true(asprintf(&text, "%s%s", base, cases[i].text) > 0);
                r = answers_load_buffer("t.ini", text, strlen(text), &a, &err);
                if (cases[i].error) {
                        if (r != -EINVAL || !err || !startswith(err, cases[i].error))
                                fail_msg("case %zu: r=%d error '%s', expected '%s'", i, r, strempty(err), cases[i].error);
                        continue;
                }
                if (r < 0)
                        fail_msg("case %zu: %s", i, strempty(err));
                for (char **s = a->firewall_services; *s; s++) {
                        char *n;
                        assert_true(asprintf(&n, "%s%s%s", joined, *joined ? " " : "", *s) > 0);
                        free(joined);
                        joined = n;
                }
                assert_string_equal(joined, cases[i].services);
        }
}

static void test_answers_defaults(void **state) {
        _cleanup_free_ char *path = data_path("good-minimal.ini"), *err = NULL;
        _cleanup_(answers_freep) Answers *a = NULL;

        assert_int_equal(answers_load(path, &a, &err), 0);
        assert_int_equal(a->users_mode, ANSWERS_USERS_SYSTEM);
        assert_int_equal(a->n_users, 0);
        assert_int_equal(a->tls_source, ANSWERS_TLS_SELF_SIGNED);
        assert_int_equal(a->acme_challenge, ANSWERS_ACME_STANDALONE);
        assert_int_equal(a->firewall_backend, ANSWERS_FIREWALL_AUTO);
        assert_string_equal(a->firewall_services[0], "smtp");
        assert_string_equal(a->mynetworks[0], "127.0.0.0/8");
        assert_string_equal(a->mynetworks[1], "[::1]/128");
        assert_null(a->mynetworks[2]);
        assert_string_equal(a->dovecot_protocols[2], "lmtp");
        assert_int_equal(a->quota, 0);
        assert_true(a->dkim_enabled);
        assert_null(a->dkim_selector);
        assert_false(a->fail2ban);
        assert_false(a->firewall_plaintext);
        assert_true(a->rate_limits);
        assert_null(a->public_ipv4);
        assert_null(a->smtp_address_preference);
        assert_true(a->install_packages);
        assert_false(a->remove_other_mta);
}

static void test_answers_packages(void **state) {
        _cleanup_free_ char *path = data_path("good-packages.ini"), *err = NULL;
        _cleanup_(answers_freep) Answers *a = NULL;

        assert_int_equal(answers_load(path, &a, &err), 0);
        assert_string_equal(a->smtp_address_preference, "ipv4");
        assert_false(a->install_packages);
        assert_true(a->remove_other_mta);
}

static void test_answers_bad_files(void **state) {
        static const struct {
                const char *file;
                const char *error;
        } cases[] = {
                { "bad-unknown-section.ini", "bad-unknown-section.ini:4: unknown section [servr]" },
                { "bad-unknown-key.ini", "bad-unknown-key.ini:2: unknown key 'hostnme' in section [server]" },
                { "bad-uppercase-key.ini", "bad-uppercase-key.ini:2: unknown key 'Hostname' in section [server] (keys are lower-case: 'hostname')" },
                { "bad-duplicate-key.ini", "bad-duplicate-key.ini:3: duplicate key 'hostname' in section [server] (first set on line 2)" },
                { "bad-duplicate-section.ini", "bad-duplicate-section.ini:7: duplicate section [tls] (first on line 4)" },
                { "bad-duplicate-user.ini", "bad-duplicate-user.ini:6: duplicate section [user alice] (first on line 4)" },
                { "bad-missing-hostname.ini", "bad-missing-hostname.ini: missing required key 'hostname' in section [server]" },
                { "bad-empty-hostname.ini", "bad-empty-hostname.ini:2: required key 'hostname' in section [server] is empty" },
                { "bad-missing-server.ini", "bad-missing-server.ini: missing section [server]" },
                { "bad-key-outside.ini", "bad-key-outside.ini:1: key 'hostname' is outside of any section" },
                { "bad-no-equals.ini", "bad-no-equals.ini:4: expected '[section]' or 'key = value'" },
                { "bad-section-unclosed.ini", "bad-section-unclosed.ini:4: section header without closing ']'" },
                { "bad-after-section.ini", "bad-after-section.ini:1: unexpected text after the section header" },
                { "bad-user-no-name.ini", "bad-user-no-name.ini:4: section [user] needs a name, as in [user NAME]" },
                { "bad-enum.ini", "bad-enum.ini:5: key 'mode' in [users]: 'virtul' is not a valid choice (expected one of: system, virtual)" },
                { "bad-address-preference.ini", "bad-address-preference.ini:5: key 'smtp_address_preference' in [postfix]: 'ipv5' is not a valid choice (expected one of: any, ipv4, ipv6)" },
                { "bad-bool.ini", "bad-bool.ini:5: key 'fail2ban' in [hardening]: 'maybe' is not a valid boolean (expected yes or no)" },
                { "bad-size.ini", "bad-size.ini:5: key 'message_size_limit' in [postfix]: '50X' is not a valid size" },
                { "bad-size-range.ini", "bad-size-range.ini:5: key 'message_size_limit' in [postfix]: '99999999999999999999' is not a valid size (out of range" },
                { "bad-path.ini", "bad-path.ini:5: key 'password_file' in [user alice]: 'alice.pw' is not a valid path (expected an absolute path" },
                { "bad-hostname.ini", "bad-hostname.ini:2: key 'hostname' in [server]: 'mail_server.example.com' is not a valid host name" },
                { "bad-not-fqdn.ini", "bad-not-fqdn.ini:2: [server] hostname 'mail' is not a fully qualified domain name" },
                { "bad-ip-hostname.ini", "bad-ip-hostname.ini:2: [server] hostname '192.0.2.1' is not a fully qualified domain name" },
                { "bad-ipv4.ini", "bad-ipv4.ini:4: [server] public_ipv4 '192.0.2.300' is not a valid address" },
                { "bad-user-no-password.ini", "bad-user-no-password.ini:5: [user alice] needs password_file" },
                { "bad-user-both-passwords.ini", "bad-user-both-passwords.ini:6: [user alice] sets both password_file and password_hash" },
                { "bad-plaintext-hash.ini", "bad-plaintext-hash.ini:5: [user alice] password_hash uses {PLAIN}, which is the password in clear text" },
                { "bad-weak-hash.ini", "bad-weak-hash.ini:5: [user alice] password_hash uses the weak scheme {MD5-CRYPT}" },
                { "bad-unknown-scheme.ini", "bad-unknown-scheme.ini:5: [user alice] password_hash has an unknown scheme {FOO}" },
                { "bad-no-scheme.ini", "bad-no-scheme.ini:5: [user alice] password_hash must start with its scheme" },
                { "bad-truncated-hash.ini", "bad-truncated-hash.ini:5: [user alice] password_hash does not look like a complete {SHA512-CRYPT} hash" },
                { "bad-argon-system.ini", "bad-argon-system.ini:5: [user alice] password_hash: {ARGON2ID} cannot be used for a system account" },
                { "bad-root-user.ini", "bad-root-user.ini:4: [user root] root should not be a mailbox" },
                { "bad-system-account.ini", "bad-system-account.ini:4: [user postfix] 'postfix' is a system account, not a mailbox" },
                { "bad-address-system.ini", "bad-address-system.ini:4: [user alice@example.com] user name 'alice@example.com' is an address, but in system mode" },
                { "bad-alias-other-domain.ini", "bad-alias-other-domain.ini:8: [user alice] alias 'info@example.org' is not in [server] domain or domains" },
                { "bad-dup-alias.ini", "bad-dup-alias.ini:10: 'postmaster' is claimed by [user bob] and by [user alice] (line 6)" },
                { "bad-same-mailbox.ini", "bad-same-mailbox.ini:8: [user alice@example.com] is the same mailbox as [user alice] on line 6" },
                { "bad-virtual-no-users.ini", "bad-virtual-no-users.ini:5: [users] mode = virtual needs at least one [user NAME] section" },
                { "bad-virtual-hostname-domain.ini", "bad-virtual-hostname-domain.ini:3: [server] domain 'example.com' is also a local name of this host" },
                { "bad-system-domains.ini", "bad-system-domains.ini:4: [server] domains lists further domains, which need [users] mode = virtual" },
                { "bad-tls-files.ini", "bad-tls-files.ini:5: [tls] source = files needs cert_file and key_file" },
                { "bad-cert-without-files.ini", "bad-cert-without-files.ini:5: [tls] cert_file is only used with source = files (source is self-signed)" },
                { "bad-acme-email.ini", "bad-acme-email.ini:5: [tls] source = acme needs acme_email" },
                { "bad-acme-webroot.ini", "bad-acme-webroot.ini:7: [tls] acme_challenge = webroot needs acme_webroot" },
                { "bad-acme-no-http.ini", "bad-acme-no-http.ini:8: [firewall] services does not include http" },
                { "bad-firewall-no-smtp.ini", "bad-firewall-no-smtp.ini:5: [firewall] services does not include smtp" },
                { "bad-firewall-service.ini", "bad-firewall-service.ini:5: [firewall] services: unknown service 'imapz'" },
                { "bad-mailbox-limit.ini", "bad-mailbox-limit.ini:6: [postfix] mailbox_size_limit (10485760) is smaller than message_size_limit (52428800)" },
                { "bad-message-size-small.ini", "bad-message-size-small.ini:5: [postfix] message_size_limit is only 50 bytes, which rejects nearly all mail (did you mean 50M?)" },
                { "bad-open-relay.ini", "bad-open-relay.ini:5: [postfix] mynetworks: '0.0.0.0/0' would let a large part of the Internet send mail through this server (an open relay)" },
                { "bad-host-bits.ini", "bad-host-bits.ini:5: [postfix] mynetworks: '192.168.1.5/24' has host bits set, which Postfix ignores (did you mean 192.168.1.0/24?)" },
                { "bad-ipv6-brackets.ini", "bad-ipv6-brackets.ini:5: [postfix] mynetworks: IPv6 '::1/128' must be written in brackets" },
                { "bad-relayhost.ini", "bad-relayhost.ini:5: [postfix] relayhost '[smtp.example.net]:99999' is not valid" },
                { "bad-protocol.ini", "bad-protocol.ini:5: [dovecot] protocols: unknown protocol 'pop4'" },
                { "bad-selector.ini", "bad-selector.ini:5: [dkim] selector 'my_selector' is not a valid DNS label" },
                { "bad-escape.ini", "bad-escape.ini:2: control or invisible formatting character U+001B" },
                { "bad-bidi.ini", "bad-bidi.ini:3: control or invisible formatting character U+202E" },
                { "bad-long-line.ini", "bad-long-line.ini:4: line too long (more than 4096 bytes)" },
                { "bad-nul.ini", "bad-nul.ini:2: NUL byte in the file" },
                { "bad-utf8.ini", "bad-utf8.ini:3: invalid UTF-8" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = data_path(cases[i].file), *err = NULL;
                _cleanup_(answers_freep) Answers *a = NULL;
                int r = answers_load(path, &a, &err);

                if (r != -EINVAL || !err || !strstr(err, cases[i].error))
                        fail_msg("%s: r=%d error '%s'\n  expected '%s'", cases[i].file, r,
                                 strempty(err), cases[i].error);
                assert_null(a);
                /* an error names the file it came from, at the start */
                assert_true(startswith(err, path) != NULL);
                /* nothing quoted from a password_hash line */
                assert_null(strstr(err, "hunter2"));
                assert_null(strstr(err, "$6$abc$def"));
                assert_null(strstr(err, "XUo/mdEB"));
                assert_null(strstr(err, "0123456789abcdefghijkl"));
        }
}

static void test_answers_buffer_and_missing(void **state) {
        _cleanup_(answers_freep) Answers *a = NULL;
        _cleanup_free_ char *err = NULL;
        static const char text[] =
                "[server]\r\nhostname = mail.example.com\r\ndomain = example.com\r\n"
                "[user carol]\r\npassword_file = /root/carol.pw\r\n";

        assert_int_equal(answers_load_buffer("wizard", text, sizeof(text) - 1, &a, &err), 0);
        assert_string_equal(a->users[0].name, "carol");
        assert_string_equal(a->users[0].password_file, "/root/carol.pw");
        a = answers_free(a);

        /* ACME standalone needs port 80: the default services open it */
        static const char acme[] =
                "[server]\nhostname = mail.example.com\ndomain = example.com\n"
                "[tls]\nsource = acme\nacme_email = me@example.com\n";
        assert_int_equal(answers_load_buffer("wizard", acme, sizeof(acme) - 1, &a, &err), 0);
        assert_string_equal(a->firewall_services[5], "http");
        a = answers_free(a);

        assert_int_equal(answers_load("/nonexistent/answers.ini", &a, &err), -ENOENT);
        assert_non_null(err);
        assert_null(a);
        assert_null(answers_free(NULL));
}

/* --- settings --- */

static char *write_temp(const char *dir, const char *name, const char *text) {
        char *path;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return path;
}

static void test_settings_defaults(void **state) {
        Settings s;

        assert_int_equal(settings_init(&s), 0);
        assert_int_equal(s.timeout_seconds, 10);
        assert_int_equal(s.tls_expiry_warning_days, 21);
        assert_int_equal(s.tls_expiry_critical_days, 7);
        assert_int_equal(s.disk_warning_percent, 15);
        assert_int_equal(s.disk_critical_percent, 5);
        assert_int_equal(s.disk_warning_bytes, UINT64_C(2) << 30);
        assert_int_equal(s.disk_critical_bytes, UINT64_C(512) << 20);
        assert_int_equal(s.queue_size_warning, 100);
        assert_int_equal(s.queue_size_critical, 1000);
        assert_int_equal(s.queue_oldest_warning_minutes, 60);
        assert_int_equal(s.queue_oldest_critical_minutes, 1440);
        assert_int_equal(s.queue_deferred_warning, 20);
        assert_int_equal(s.queue_deferred_critical, 200);
        assert_int_equal(s.log_window_minutes, 60);
        assert_int_equal(s.log_sasl_failures_warning, 20);
        assert_int_equal(s.log_sasl_failures_critical, 200);
        assert_null(s.resolver);
        assert_null(s.trust_anchor);
        assert_string_equal(s.dnsbl_zones[0], "zen.spamhaus.org");
        assert_string_equal(s.dnsbl_zones[3], "dbl.spamhaus.org");
        assert_null(s.dnsbl_zones[4]);
        assert_int_equal(s.refresh_seconds, 5);
        assert_true(s.color);
        settings_done(&s);
        settings_done(&s); /* idempotent */
}

static void test_settings_files(void **state) {
        char dir[] = "/tmp/mxdeck-test-settings-XXXXXX";
        _cleanup_free_ char *a = NULL, *b = NULL, *bad = NULL, *err = NULL,
                            *user = NULL, *cfgdir = NULL;
        Settings s;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(settings_init(&s), 0);

        a = write_temp(dir, "a.conf",
                       "[tls]\nexpiry_warning_days = 30\n"
                       "[disk]\ncritical_bytes = 1G\n"
                       "[dns]\nresolver = 127.0.0.1:5353\ndnsbl_zones = zen.spamhaus.org\n"
                       "[dashboard]\ncolor = no\n");
        assert_int_equal(settings_load_file(&s, a, &err), 0);
        assert_int_equal(s.tls_expiry_warning_days, 30);
        assert_int_equal(s.tls_expiry_critical_days, 7);
        assert_int_equal(s.disk_critical_bytes, UINT64_C(1) << 30);
        assert_string_equal(s.resolver, "127.0.0.1:5353");
        assert_string_equal(s.dnsbl_zones[0], "zen.spamhaus.org");
        assert_null(s.dnsbl_zones[1]);
        assert_false(s.color);

        /* a later file overrides key by key; an empty list turns DNSBL checks off */
        b = write_temp(dir, "b.conf", "[dns]\ndnsbl_zones =\nresolver = [::1]:53\n");
        assert_int_equal(settings_load_file(&s, b, &err), 0);
        assert_int_equal(s.tls_expiry_warning_days, 30);
        assert_null(s.dnsbl_zones[0]);
        assert_string_equal(s.resolver, "[::1]:53");

        /* a missing file is not an error */
        assert_int_equal(settings_load_file(&s, "/nonexistent/mxdeck.conf", &err), 0);
        assert_null(err);

        static const struct {
                const char *text;
                const char *error;
        } cases[] = {
                { "[tls]\nexpiry_warning_days = 5\n",
                  ":2: [tls] expiry_warning_days (5) must be greater than expiry_critical_days (7)" },
                { "[queue]\n\nsize_critical = 50\n",
                  ":3: [queue] size_warning (100) must be less than size_critical (50)" },
                { "[disk]\nwarning_percent = 5\n",
                  ":2: [disk] warning_percent (5) must be greater than critical_percent (5)" },
                { "[disk]\nwarning_percent = 101\n",
                  ":2: key 'warning_percent' in [disk]: '101' is out of range (expected 0 to 100)" },
                { "[check]\ntimeout_seconds = 0\n",
                  ":2: key 'timeout_seconds' in [check]: '0' is out of range (expected 1 to 3600)" },
                { "[check]\ntimeout_seconds = 4294967296\n", ":2: key 'timeout_seconds' in [check]: '4294967296' is out of range" },
                { "[check]\ntimeout_seconds =\n", ":2: key 'timeout_seconds' in [check] is empty (remove the line to keep the default 10)" },
                { "[check]\ntimeout = 5\n", ":2: unknown key 'timeout' in section [check]" },
                { "[colors]\n", ":1: unknown section [colors]" },
                { "[dashboard]\ncolor = sometimes\n", ":2: key 'color' in [dashboard]: 'sometimes' is not a valid boolean" },
                { "[dns]\nresolver = localhost\n", ":2: key 'resolver' in [dns]: 'localhost' is not a valid address" },
                { "[dns]\ndnsbl_zones = zen.spamhaus.org, bad_zone\n", ":2: key 'dnsbl_zones' in [dns]: 'bad_zone' is not a DNS zone" },
                { "[dns]\ntrust_anchor = root.key\n", ":2: key 'trust_anchor' in [dns]: 'root.key' is not a valid path" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = write_temp(dir, "bad.conf", cases[i].text), *e = NULL;
                unsigned before = s.queue_size_warning;

                int r = settings_load_file(&s, p, &e);
                if (r != -EINVAL || !e || !strstr(e, cases[i].error) || !startswith(e, p))
                        fail_msg("case %zu: r=%d error '%s', expected '%s'", i, r, strempty(e),
                                 cases[i].error);
                /* a failed file changes nothing */
                assert_int_equal(s.queue_size_warning, before);
                assert_int_equal(s.tls_expiry_warning_days, 30);
                unlink(p);
        }

        /* a partly good file is all or nothing */
        bad = write_temp(dir, "partial.conf", "[queue]\nsize_warning = 5\n[check]\ntimeout_seconds = x\n");
        assert_int_equal(settings_load_file(&s, bad, &err), -EINVAL);
        assert_int_equal(s.queue_size_warning, 100);
        free(err);
        err = NULL;

        /* the user's file through $XDG_CONFIG_HOME */
        assert_true(asprintf(&cfgdir, "%s/mxdeck", dir) > 0);
        assert_int_equal(mkdir(cfgdir, 0700), 0);
        user = write_temp(cfgdir, "mxdeck.conf", "[dashboard]\nrefresh_seconds = 2\n");
        assert_int_equal(setenv("XDG_CONFIG_HOME", dir, 1), 0);
        assert_int_equal(settings_load_default(&s, &err), 0);
        assert_int_equal(s.refresh_seconds, 2);
        /* a relative $XDG_CONFIG_HOME is ignored (XDG spec): falls back to $HOME */
        assert_int_equal(setenv("XDG_CONFIG_HOME", "relative", 1), 0);
        assert_int_equal(setenv("HOME", "/nonexistent", 1), 0);
        assert_int_equal(settings_load_default(&s, &err), 0);

        settings_done(&s);
        unlink(a);
        unlink(b);
        unlink(bad);
        unlink(user);
        rmdir(cfgdir);
        rmdir(dir);
}

static void test_settings_schema(void **state) {
        const ConfSchema *schema = settings_schema();
        size_t n = 0;

        /* every documented section is there, each key once */
        for (const ConfSection *s = schema->sections; s->name; s++)
                for (const ConfKey *k = s->keys; k->name; k++)
                        n++;
        assert_int_equal(n, 28); /* [general] language is the newest */
        assert_ptr_equal(settings_schema(), schema);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_values),
                cmocka_unit_test(test_hostname_is_fqdn),
                cmocka_unit_test(test_conf_syntax),
                cmocka_unit_test(test_conf_long_lines),
                cmocka_unit_test(test_conf_errors),
                cmocka_unit_test(test_conf_many_sections),
                cmocka_unit_test(test_answers_good_system),
                cmocka_unit_test(test_answers_good_virtual),
                cmocka_unit_test(test_answers_defaults),
                cmocka_unit_test(test_answers_packages),
                cmocka_unit_test(test_answers_firewall_hardening),
                cmocka_unit_test(test_answers_bad_files),
                cmocka_unit_test(test_answers_buffer_and_missing),
                cmocka_unit_test(test_settings_defaults),
                cmocka_unit_test(test_settings_files),
                cmocka_unit_test(test_settings_schema),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
