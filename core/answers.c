/* The answers file: schema table, typed struct, and the cross-field checks an experienced
 * mail administrator would make before letting an installer touch a server. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "answers.h"
#include "conf.h"
#include "macro.h"

/* --- schema --- */

static const char *const users_mode_names[_ANSWERS_USERS_MAX + 1] = {
        [ANSWERS_USERS_SYSTEM] = "system",
        [ANSWERS_USERS_VIRTUAL] = "virtual",
};
static const char *const tls_source_names[_ANSWERS_TLS_MAX + 1] = {
        [ANSWERS_TLS_SELF_SIGNED] = "self-signed",
        [ANSWERS_TLS_FILES] = "files",
        [ANSWERS_TLS_ACME] = "acme",
};
static const char *const acme_challenge_names[_ANSWERS_ACME_MAX + 1] = {
        [ANSWERS_ACME_STANDALONE] = "standalone",
        [ANSWERS_ACME_WEBROOT] = "webroot",
};
static const char *const firewall_names[_ANSWERS_FIREWALL_MAX + 1] = {
        [ANSWERS_FIREWALL_AUTO] = "auto",
        [ANSWERS_FIREWALL_FIREWALLD] = "firewalld",
        [ANSWERS_FIREWALL_NFTABLES] = "nftables",
        [ANSWERS_FIREWALL_UFW] = "ufw",
        [ANSWERS_FIREWALL_NONE] = "none",
};

#define KEY(n, t, ...) { .name = (n), .type = (t), __VA_ARGS__ }

static const ConfKey server_keys[] = {
        KEY("hostname", CONF_HOSTNAME, .required = true),
        KEY("domain", CONF_HOSTNAME, .required = true),
        KEY("domains", CONF_LIST),
        KEY("public_ipv4", CONF_STRING),
        KEY("public_ipv6", CONF_STRING),
        {}
};
static const ConfKey users_keys[] = {
        KEY("mode", CONF_ENUM, .choices = users_mode_names),
        {}
};
static const ConfKey user_keys[] = {
        KEY("password_file", CONF_PATH),
        KEY("password_hash", CONF_STRING),
        KEY("aliases", CONF_LIST),
        {}
};
static const ConfKey tls_keys[] = {
        KEY("source", CONF_ENUM, .choices = tls_source_names),
        KEY("cert_file", CONF_PATH),
        KEY("key_file", CONF_PATH),
        KEY("acme_directory", CONF_STRING),
        KEY("acme_email", CONF_STRING),
        KEY("acme_challenge", CONF_ENUM, .choices = acme_challenge_names),
        KEY("acme_webroot", CONF_PATH),
        {}
};
static const ConfKey firewall_keys[] = {
        KEY("backend", CONF_ENUM, .choices = firewall_names),
        KEY("services", CONF_LIST),
        {}
};
static const char *const address_preference_names[] = { "any", "ipv4", "ipv6", NULL };

static const ConfKey postfix_keys[] = {
        KEY("message_size_limit", CONF_SIZE),
        KEY("mailbox_size_limit", CONF_SIZE),
        KEY("relayhost", CONF_STRING),
        KEY("mynetworks", CONF_LIST),
        KEY("smtp_address_preference", CONF_ENUM, .choices = address_preference_names),
        {}
};
static const ConfKey dovecot_keys[] = {
        KEY("protocols", CONF_LIST),
        KEY("quota", CONF_SIZE),
        {}
};
static const ConfKey dkim_keys[] = {
        KEY("enabled", CONF_BOOL),
        KEY("selector", CONF_STRING),
        {}
};
static const ConfKey hardening_keys[] = {
        KEY("fail2ban", CONF_BOOL),
        {}
};

static const ConfKey packages_keys[] = {
        KEY("install", CONF_BOOL),
        KEY("remove_other_mta", CONF_BOOL),
        {}
};

static const ConfSection answers_sections[] = {
        { .name = "server", .keys = server_keys, .required = true },
        { .name = "users", .keys = users_keys },
        { .name = "user ", .keys = user_keys, .multiple = true },
        { .name = "tls", .keys = tls_keys },
        { .name = "firewall", .keys = firewall_keys },
        { .name = "postfix", .keys = postfix_keys },
        { .name = "dovecot", .keys = dovecot_keys },
        { .name = "dkim", .keys = dkim_keys },
        { .name = "hardening", .keys = hardening_keys },
        { .name = "packages", .keys = packages_keys },
        {}
};

static const ConfSchema schema = { answers_sections };

const ConfSchema *answers_schema(void) {
        return &schema;
}

#define DEFAULT_SERVICES "smtp, submission, smtps, imaps, pop3s"
#define DEFAULT_MYNETWORKS "127.0.0.0/8 [::1]/128"
#define DEFAULT_PROTOCOLS "imap pop3 lmtp"
#define DEFAULT_MESSAGE_SIZE_LIMIT UINT64_C(52428800)      /* 50M */
#define DEFAULT_MAILBOX_SIZE_LIMIT UINT64_C(1073741824)    /* 1G */
/* below this a message limit is almost certainly a unit mistake ("50" meant "50M") */
#define MIN_MESSAGE_SIZE_LIMIT (UINT64_C(1) << 20)

static const struct {
        const char *name;
        int port;
} firewall_services[] = {
        { "smtp", 25 },
        { "submission", 587 },
        { "smtps", 465 },
        { "imap", 143 },
        { "imaps", 993 },
        { "pop3", 110 },
        { "pop3s", 995 },
        { "sieve", 4190 },
        { "http", 80 },
        { "https", 443 },
};

static const char *const dovecot_protocol_names[] = {
        "imap", "pop3", "lmtp", "submission", "sieve", NULL,
};

static const char *enum_to_string(const char *const *names, int max, int v) {
        return v >= 0 && v < max ? names[v] : NULL;
}

const char *answers_users_mode_to_string(AnswersUsersMode m) {
        return enum_to_string(users_mode_names, _ANSWERS_USERS_MAX, m);
}
const char *answers_tls_source_to_string(AnswersTlsSource s) {
        return enum_to_string(tls_source_names, _ANSWERS_TLS_MAX, s);
}
const char *answers_acme_challenge_to_string(AnswersAcmeChallenge c) {
        return enum_to_string(acme_challenge_names, _ANSWERS_ACME_MAX, c);
}
const char *answers_firewall_to_string(AnswersFirewall f) {
        return enum_to_string(firewall_names, _ANSWERS_FIREWALL_MAX, f);
}

int answers_firewall_service_port(const char *service) {
        for (size_t i = 0; service && i < ELEMENTSOF(firewall_services); i++)
                if (streq(firewall_services[i].name, service))
                        return firewall_services[i].port;
        return -EINVAL;
}

/* --- freeing --- */

Answers *answers_free(Answers *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_users; i++) {
                free(a->users[i].name);
                free(a->users[i].password_file);
                free(a->users[i].password_hash);
                strv_free(a->users[i].aliases);
        }
        free(a->users);
        free(a->path);
        free(a->hostname);
        free(a->domain);
        strv_free(a->domains);
        free(a->public_ipv4);
        free(a->public_ipv6);
        free(a->tls_cert_file);
        free(a->tls_key_file);
        free(a->acme_directory);
        free(a->acme_email);
        free(a->acme_webroot);
        strv_free(a->firewall_services);
        free(a->relayhost);
        free(a->smtp_address_preference);
        strv_free(a->mynetworks);
        strv_free(a->dovecot_protocols);
        free(a->dkim_selector);
        free(a);
        return NULL;
}

/* --- helpers --- */

typedef struct Loader {
        const Conf *conf;
        Answers *a;
        unsigned *aliases_lines; /* per user: line of its aliases key, or of its header */
        char **written;          /* per user: terminal-safe NAME as in [user NAME] */
        char **error;
} Loader;

/* Reports a problem at the line of section/key when that key was written (line 0 when
 * section or key is NULL, or it was not). */
_printf_(5, 6)
static int fail_at(Loader *l, const char *section, const char *key, unsigned line,
                   const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *where = NULL;
        va_list ap;
        int r;

        if (!l->error)
                return -EINVAL;
        if (line == 0 && section && key) {
                const ConfValue *v = conf_get(l->conf, section, key);
                line = v ? v->line : 0;
        }
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        where = conf_where(l->conf->path, line);
        if (!where)
                return -ENOMEM;
        return conf_error(l->error, where, "%s", msg);
}

/* Copies the value when set and non-empty; *ret stays NULL otherwise. */
static int get_string(const Conf *c, const char *section, const char *key, char **ret) {
        const char *s = conf_get_string(c, section, key);

        *ret = NULL;
        if (!s || !*s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static bool is_set(const Conf *c, const char *section, const char *key) {
        const char *s = conf_get_string(c, section, key);
        return s && *s;
}

/* The value split into words, or the default when absent or empty ("key =" = not set). */
static int get_list(const Conf *c, const char *section, const char *key, const char *def,
                    char ***ret) {
        const char *s = conf_get_string(c, section, key);
        return conf_split_list(s && *s ? s : def, ret);
}

static int get_enum(const Conf *c, const char *section, const char *key,
                    const char *const *names, int max, int def) {
        const char *s = conf_get_string(c, section, key);

        if (!s || !*s)
                return def;
        for (int i = 0; i < max; i++)
                if (streq(names[i], s))
                        return i;
        return def; /* cannot happen: conf checked the choices */
}

static void ascii_lower(char *s) {
        for (; s && *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        *s = (char) (*s - 'A' + 'a');
}

static bool has_upper(const char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        return true;
        return false;
}

static size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

static bool strv_contains(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* A mailbox local part as mxdeck creates them: lower-case letters, digits, '.', '_', '-'.
 * No '+': it is the recipient delimiter for sub-addressing. */
static bool local_part_is_valid(const char *s, size_t len) {
        if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
                if (c == '.' && i > 0 && s[i - 1] == '.')
                        return false;
        }
        return true;
}

/* A Unix account name as useradd accepts it on both families. */
static bool unix_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* --- [server] --- */

static int load_server(Loader *l) {
        const Conf *c = l->conf;
        Answers *a = l->a;
        int r;

        r = get_string(c, "server", "hostname", &a->hostname);
        if (r < 0)
                return r;
        ascii_lower(a->hostname);
        if (!hostname_is_fqdn(a->hostname))
                return fail_at(l, "server", "hostname", 0,
                               _("[server] hostname '%s' is not a fully qualified domain name "
                                 "(expected a name such as mail.example.com: Postfix greets other "
                                 "servers with it, and they reject bare names)"), a->hostname);

        r = get_string(c, "server", "domain", &a->domain);
        if (r < 0)
                return r;
        ascii_lower(a->domain);
        if (!hostname_is_fqdn(a->domain))
                return fail_at(l, "server", "domain", 0,
                               _("[server] domain '%s' is not a mail domain "
                                 "(expected a name such as example.com)"), a->domain);

        r = get_list(c, "server", "domains", "", &a->domains);
        if (r < 0)
                return r;
        for (size_t i = 0; a->domains[i]; i++) {
                _cleanup_free_ char *q = NULL;

                ascii_lower(a->domains[i]);
                q = conf_quote(a->domains[i]);
                if (!q)
                        return -ENOMEM;
                if (!hostname_is_fqdn(a->domains[i]))
                        return fail_at(l, "server", "domains", 0,
                                       _("[server] domains: '%s' is not a mail domain "
                                         "(expected names such as example.org)"), q);
                if (streq(a->domains[i], a->domain))
                        return fail_at(l, "server", "domains", 0,
                                       _("[server] domains: '%s' is already [server] domain"), q);
                for (size_t j = 0; j < i; j++)
                        if (streq(a->domains[j], a->domains[i]))
                                return fail_at(l, "server", "domains", 0,
                                               _("[server] domains: '%s' is listed twice"), q);
        }

        static const struct {
                const char *key;
                int family;
                const char *example;
                size_t offset;
        } addresses[] = {
                { "public_ipv4", AF_INET,  "192.0.2.10",  offsetof(Answers, public_ipv4) },
                { "public_ipv6", AF_INET6, "2001:db8::10", offsetof(Answers, public_ipv6) },
        };
        for (size_t i = 0; i < ELEMENTSOF(addresses); i++) {
                char **field = (char **) ((uint8_t *) a + addresses[i].offset);
                unsigned char buf[sizeof(struct in6_addr)];
                const char *s = conf_get_string(c, "server", addresses[i].key);

                if (!s || !*s || streq(s, "auto"))
                        continue; /* NULL = detect */
                if (inet_pton(addresses[i].family, s, buf) != 1) {
                        _cleanup_free_ char *q = conf_quote(s);
                        if (!q)
                                return -ENOMEM;
                        return fail_at(l, "server", addresses[i].key, 0,
                                       _("[server] %s '%s' is not a valid address "
                                         "(expected auto or an address such as %s)"),
                                       addresses[i].key, q, addresses[i].example);
                }
                *field = strdup(s);
                if (!*field)
                        return -ENOMEM;
        }
        return 0;
}

/* Postfix VIRTUAL_README: "NEVER list a virtual mailbox domain name as a mydestination
 * domain". mydestination defaults to $myhostname, localhost.$mydomain, localhost, where
 * $mydomain is $myhostname minus its first label. */
static int check_virtual_domains(Loader *l) {
        const Answers *a = l->a;
        const char *mydomain = strchr(a->hostname, '.') + 1; /* FQDN: has a dot */
        _cleanup_free_ char *localhost = NULL;

        if (asprintf(&localhost, "localhost.%s", mydomain) < 0)
                return -ENOMEM;

        for (size_t i = 0; i <= strv_length(a->domains); i++) {
                const char *d = i == 0 ? a->domain : a->domains[i - 1];
                const char *key = i == 0 ? "domain" : "domains";

                if (streq(d, a->hostname) || streq(d, localhost))
                        return fail_at(l, "server", key, 0,
                                       _("[server] %s '%s' is also a local name of this host "
                                         "(Postfix mydestination holds $myhostname and "
                                         "localhost.$mydomain); in virtual mode a domain must not "
                                         "be both (Postfix VIRTUAL_README): use a host name such as "
                                         "mx.%s, or [users] mode = system"),
                                       key, d, a->domain);
        }
        return 0;
}

/* --- [user NAME] --- */

typedef struct HashScheme {
        const char *name;
        const char *prefixes[3];        /* the crypt(3)-style body starts with one of these */
        bool strong;
        bool crypt3;                    /* usable for a system account (libxcrypt) */
} HashScheme;

/* Dovecot password schemes (doveadm pw -l). Only salted, slow schemes are accepted: the
 * design asks for SHA512-CRYPT or stronger. */
static const HashScheme hash_schemes[] = {
        { .name = "SHA512-CRYPT", .prefixes = { "$6$" }, .strong = true, .crypt3 = true },
        { .name = "BLF-CRYPT", .prefixes = { "$2y$", "$2b$", "$2a$" }, .strong = true, .crypt3 = true },
        { .name = "ARGON2I", .prefixes = { "$argon2i$" }, .strong = true },
        { .name = "ARGON2ID", .prefixes = { "$argon2id$" }, .strong = true },
        { .name = "SHA256-CRYPT", .prefixes = { "$5$" } },
        { .name = "MD5-CRYPT", .prefixes = { "$1$" } },
        { .name = "CRYPT" },
        { .name = "DES-CRYPT" },
        { .name = "PBKDF2" },
        { .name = "SCRAM-SHA-1" },
        { .name = "SCRAM-SHA-256" },
        { .name = "SHA" },
        { .name = "SSHA" },
        { .name = "SHA256" },
        { .name = "SSHA256" },
        { .name = "SHA512" },
        { .name = "SSHA512" },
        { .name = "SMD5" },
        { .name = "MD5" },
        { .name = "PLAIN-MD5" },
        { .name = "LDAP-MD5" },
        { .name = "CRAM-MD5" },
        { .name = "DIGEST-MD5" },
        { .name = "NTLM" },
        { .name = "LANMAN" },
        { .name = "OTP" },
        { .name = "SKEY" },
        { .name = "RPA" },
};

static const char *const cleartext_schemes[] = {
        "PLAIN", "CLEARTEXT", "PLAIN-TRUNC", "PLAIN-BASE64", "PLAIN-HEX", NULL,
};

static bool crypt_alphabet(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", s[i]) ||
                    s[i] == '\0')
                        return false;
        return true;
}

/* Checks the shape of the body, to catch a hash cut short by copy and paste. */
static bool hash_body_is_complete(const HashScheme *h, const char *body) {
        const char *last = strrchr(body, '$');

        if (!last)
                return false;
        if (streq(h->name, "SHA512-CRYPT"))
                return strlen(last + 1) == 86 && crypt_alphabet(last + 1, 86);
        if (streq(h->name, "BLF-CRYPT"))
                /* $2y$NN$ + 22 salt + 31 hash */
                return strlen(body) == 60 && body[4] >= '0' && body[4] <= '3' &&
                       body[5] >= '0' && body[5] <= '9' && body[6] == '$' &&
                       crypt_alphabet(body + 7, 53);
        /* Argon2: $argon2id$v=19$m=...,t=...,p=...$salt$hash */
        size_t dollars = 0;
        for (const char *p = body; *p; p++)
                dollars += *p == '$';
        return dollars == 5 && strlen(last + 1) >= 16;
}

static int check_password_hash(Loader *l, const char *section, const char *user, const char *hash) {
        const HashScheme *h = NULL;
        const char *end, *body;
        _cleanup_free_ char *scheme = NULL;

        /* the hash itself is never quoted back */
        if (hash[0] != '{' || !(end = strchr(hash, '}')))
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash must start with its scheme, as in "
                                 "{SHA512-CRYPT}$6$... (create one with: doveadm pw -s SHA512-CRYPT)"),
                               user);
        scheme = strndup(hash + 1, (size_t) (end - hash - 1));
        if (!scheme)
                return -ENOMEM;
        for (char *p = scheme; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 'a' + 'A');
        /* "{SHA512-CRYPT.b64}" is the same scheme with a base64 body: not produced by doveadm
         * pw for these schemes, so not accepted */
        body = end + 1;

        for (const char *const *p = cleartext_schemes; *p; p++)
                if (streq(scheme, *p))
                        return fail_at(l, section, "password_hash", 0,
                                       _("[user %s] password_hash uses {%s}, which is the password "
                                         "in clear text: use password_file, or a hash from "
                                         "doveadm pw -s SHA512-CRYPT"), user, *p);

        for (size_t i = 0; i < ELEMENTSOF(hash_schemes); i++)
                if (streq(hash_schemes[i].name, scheme))
                        h = &hash_schemes[i];
        if (!h) {
                _cleanup_free_ char *q = conf_quote(scheme);
                if (!q)
                        return -ENOMEM;
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash has an unknown scheme {%s} (expected "
                                 "SHA512-CRYPT, BLF-CRYPT, ARGON2I or ARGON2ID)"), user, q);
        }
        if (!h->strong)
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash uses the weak scheme {%s}: use "
                                 "SHA512-CRYPT or stronger (doveadm pw -s SHA512-CRYPT)"),
                               user, h->name);

        bool prefix_ok = false;
        for (size_t i = 0; i < ELEMENTSOF(h->prefixes) && h->prefixes[i]; i++)
                if (startswith(body, h->prefixes[i]))
                        prefix_ok = true;
        if (!prefix_ok || !hash_body_is_complete(h, body))
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash does not look like a complete {%s} hash "
                                 "(expected it to start with {%s}%s; was it cut short?)"),
                               user, h->name, h->name, h->prefixes[0]);
        if (strpbrk(body, ": \t"))
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash contains a space or ':'"), user);

        if (l->a->users_mode == ANSWERS_USERS_SYSTEM && !h->crypt3)
                return fail_at(l, section, "password_hash", 0,
                               _("[user %s] password_hash: {%s} cannot be used for a system "
                                 "account (crypt(3) does not support it); use SHA512-CRYPT or "
                                 "BLF-CRYPT, or [users] mode = virtual"), user, h->name);
        return 0;
}

/* Service accounts that Debian and RHEL create (base-passwd, setup, and the mail stack). */
static const char *const system_accounts[] = {
        "adm", "avahi", "backup", "bin", "chrony", "clamav", "daemon", "dbus", "dovecot",
        "dovenull", "ftp", "games", "gnats", "halt", "irc", "list", "lp", "mail", "man",
        "messagebus", "news", "nobody", "ntp", "opendkim", "opendmarc", "operator", "polkitd",
        "postdrop", "postfix", "proxy", "redis", "rspamd", "shutdown", "sshd", "sync", "sys",
        "tss", "uucp", "vmail", "www-data", NULL,
};

/* Turns NAME (from [user NAME] or aliases) into the stored form: system mode keeps the
 * account name, virtual mode makes a full address. */
static int normalize_mailbox(Loader *l, unsigned line, const char *user, const char *name,
                             bool is_alias, char **ret) {
        const Answers *a = l->a;
        _cleanup_free_ char *q = conf_quote(name);
        const char *what = is_alias ? _("alias") : _("user name");
        const char *at;

        if (!q)
                return -ENOMEM;
        if (has_upper(name))
                return fail_at(l, NULL, NULL, line,
                               _("[user %s] %s '%s' must be lower-case"), user, what, q);

        at = strchr(name, '@');
        if (a->users_mode == ANSWERS_USERS_SYSTEM) {
                if (at)
                        return fail_at(l, NULL, NULL, line,
                                       _("[user %s] %s '%s' is an address, but in system mode "
                                         "mailboxes are Unix accounts: use [users] mode = virtual "
                                         "for addresses"), user, what, q);
                if (is_alias && !local_part_is_valid(name, strlen(name)))
                        return fail_at(l, NULL, NULL, line,
                                       _("[user %s] alias '%s' is not a valid local part "
                                         "(letters, digits, '.', '_' and '-', at most 64)"), user, q);
                if (!is_alias && !unix_name_is_valid(name))
                        return fail_at(l, NULL, NULL, line,
                                       _("[user %s] '%s' is not a valid account name (lower-case "
                                         "letters, digits, '_' and '-', starting with a letter, "
                                         "at most 32)"), user, q);
                if (!is_alias && streq(name, "root"))
                        return fail_at(l, NULL, NULL, line,
                                       _("[user root] root should not be a mailbox: make 'root' an "
                                         "alias of an administrator's user instead"));
                /* the installer sets the password of a system-mode user: never on a service
                 * account */
                if (!is_alias && (strv_contains((char *const *) system_accounts, name) ||
                                  startswith(name, "systemd-") || name[0] == '_'))
                        return fail_at(l, NULL, NULL, line,
                                       _("[user %s] '%s' is a system account, not a mailbox: make "
                                         "it an alias of a real user instead"), user, q);
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }

        size_t local_len = at ? (size_t) (at - name) : strlen(name);
        if (!local_part_is_valid(name, local_len))
                return fail_at(l, NULL, NULL, line,
                               _("[user %s] %s '%s' does not have a valid local part "
                                 "(letters, digits, '.', '_' and '-', at most 64)"), user, what, q);
        if (at) {
                if (!streq(at + 1, a->domain) && !strv_contains(a->domains, at + 1))
                        return fail_at(l, NULL, NULL, line,
                                       _("[user %s] %s '%s' is not in [server] domain or domains"),
                                       user, what, q);
                *ret = strdup(name);
        } else if (asprintf(ret, "%s@%s", name, a->domain) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

typedef struct Mailbox {
        const char *address;
        size_t user;
        bool alias;
        unsigned line;
} Mailbox;

static int mailbox_compare(const void *x, const void *y) {
        const Mailbox *a = x, *b = y;
        int r = strcmp(a->address, b->address);

        if (r != 0)
                return r;
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        return a->alias - b->alias;
}

/* Every address, user or alias, may deliver to one mailbox only. Sorting keeps this
 * O(n log n) for large virtual setups. */
static int check_unique_mailboxes(Loader *l) {
        const Answers *a = l->a;
        _cleanup_free_ Mailbox *all = NULL;
        const Mailbox *dup = NULL, *first = NULL;
        size_t n = 0, k = 0;

        for (size_t i = 0; i < a->n_users; i++)
                n += 1 + strv_length(a->users[i].aliases);
        if (n < 2)
                return 0;
        all = calloc(n, sizeof(Mailbox));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_users; i++) {
                all[k++] = (Mailbox) { a->users[i].name, i, false, a->users[i].line };
                for (char **al = a->users[i].aliases; *al; al++)
                        all[k++] = (Mailbox) { *al, i, true, l->aliases_lines[i] };
        }
        qsort(all, n, sizeof(Mailbox), mailbox_compare);

        /* report the repeat that comes earliest in the file */
        for (size_t i = 1; i < n; i++)
                if (streq(all[i].address, all[i - 1].address) && (!dup || all[i].line < dup->line)) {
                        dup = &all[i];
                        first = &all[i - 1];
                        /* the first occurrence of this address */
                        for (size_t j = i - 1; j > 0 && streq(all[j - 1].address, dup->address); j--)
                                first = &all[j - 1];
                }
        if (!dup)
                return 0;

        const char *qu = l->written[dup->user], *qo = l->written[first->user];
        _cleanup_free_ char *qaddr = conf_quote(dup->address);
        if (!qaddr)
                return -ENOMEM;
        if (dup->user == first->user)
                return fail_at(l, NULL, NULL, dup->line,
                               _("[user %s] '%s' is listed twice (as its name or as an alias)"),
                               qu, qaddr);
        if (!dup->alias && !first->alias)
                return fail_at(l, NULL, NULL, dup->line,
                               _("[user %s] is the same mailbox as [user %s] on line %u"),
                               qu, qo, first->line);
        return fail_at(l, NULL, NULL, dup->line,
                       _("'%s' is claimed by [user %s] and by [user %s] (line %u): an address "
                         "delivers to one mailbox only"),
                       qaddr, qu, qo, first->line);
}

static int load_users(Loader *l) {
        const Conf *c = l->conf;
        Answers *a = l->a;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < c->n_sections; i++)
                n += startswith(c->sections[i], "user ") != NULL;
        if (n == 0) {
                if (a->users_mode == ANSWERS_USERS_VIRTUAL)
                        return fail_at(l, "users", "mode", 0,
                                       _("[users] mode = virtual needs at least one [user NAME] "
                                         "section: a virtual domain has no other mailboxes"));
                return 0;
        }
        a->users = calloc(n, sizeof(AnswersUser));
        l->aliases_lines = calloc(n, sizeof(unsigned));
        l->written = calloc(n + 1, sizeof(char *));
        if (!a->users || !l->aliases_lines || !l->written)
                return -ENOMEM;

        for (size_t i = 0; i < c->n_sections; i++) {
                const char *section = c->sections[i], *written, *qname;
                _cleanup_strv_free_ char **aliases = NULL;
                const ConfValue *v;
                AnswersUser *u;
                size_t idx;

                written = startswith(section, "user ");
                if (!written)
                        continue;
                idx = a->n_users++;
                u = &a->users[idx];
                u->line = c->section_lines[i];
                l->written[idx] = conf_quote(written);
                if (!l->written[idx])
                        return -ENOMEM;
                qname = l->written[idx];

                r = normalize_mailbox(l, u->line, qname, written, false, &u->name);
                if (r < 0)
                        return r;

                r = get_string(c, section, "password_file", &u->password_file);
                if (r < 0)
                        return r;
                r = get_string(c, section, "password_hash", &u->password_hash);
                if (r < 0)
                        return r;
                if (!u->password_file && !u->password_hash)
                        return fail_at(l, NULL, NULL, u->line,
                                       _("[user %s] needs password_file (a 0600 file holding the "
                                         "password) or password_hash"), qname);
                if (u->password_file && u->password_hash)
                        return fail_at(l, section, "password_hash", 0,
                                       _("[user %s] sets both password_file and password_hash: "
                                         "keep one"), qname);
                if (u->password_hash) {
                        r = check_password_hash(l, section, qname, u->password_hash);
                        if (r < 0)
                                return r;
                }

                v = conf_get(c, section, "aliases");
                l->aliases_lines[idx] = v ? v->line : u->line;
                r = get_list(c, section, "aliases", "", &aliases);
                if (r < 0)
                        return r;
                u->aliases = calloc(strv_length(aliases) + 1, sizeof(char *));
                if (!u->aliases)
                        return -ENOMEM;
                for (size_t j = 0; aliases[j]; j++) {
                        r = normalize_mailbox(l, l->aliases_lines[idx], qname, aliases[j], true,
                                              &u->aliases[j]);
                        if (r < 0)
                                return r;
                }
        }
        return check_unique_mailboxes(l);
}

/* --- [tls] --- */

static bool email_is_valid(const char *s) {
        const char *at = strrchr(s, '@');
        static const char local_chars[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-";

        if (!at || at == s || at - s > 64)
                return false;
        if (strspn(s, local_chars) != (size_t) (at - s))
                return false;
        return hostname_is_fqdn(at + 1);
}

static int load_tls(Loader *l) {
        static const struct {
                const char *key;
                AnswersTlsSource source;
        } source_keys[] = {
                { "cert_file",      ANSWERS_TLS_FILES },
                { "key_file",       ANSWERS_TLS_FILES },
                { "acme_directory", ANSWERS_TLS_ACME },
                { "acme_email",     ANSWERS_TLS_ACME },
                { "acme_challenge", ANSWERS_TLS_ACME },
                { "acme_webroot",   ANSWERS_TLS_ACME },
        };
        const Conf *c = l->conf;
        Answers *a = l->a;
        int r;

        a->tls_source = get_enum(c, "tls", "source", tls_source_names, _ANSWERS_TLS_MAX,
                                 ANSWERS_TLS_SELF_SIGNED);
        a->acme_challenge = get_enum(c, "tls", "acme_challenge", acme_challenge_names,
                                     _ANSWERS_ACME_MAX, ANSWERS_ACME_STANDALONE);

        /* a key of another source is most likely a forgotten "source =" line */
        for (size_t i = 0; i < ELEMENTSOF(source_keys); i++)
                if (a->tls_source != source_keys[i].source && is_set(c, "tls", source_keys[i].key))
                        return fail_at(l, "tls", source_keys[i].key, 0,
                                       _("[tls] %s is only used with source = %s (source is %s)"),
                                       source_keys[i].key,
                                       tls_source_names[source_keys[i].source],
                                       tls_source_names[a->tls_source]);

        if ((r = get_string(c, "tls", "cert_file", &a->tls_cert_file)) < 0 ||
            (r = get_string(c, "tls", "key_file", &a->tls_key_file)) < 0 ||
            (r = get_string(c, "tls", "acme_directory", &a->acme_directory)) < 0 ||
            (r = get_string(c, "tls", "acme_email", &a->acme_email)) < 0 ||
            (r = get_string(c, "tls", "acme_webroot", &a->acme_webroot)) < 0)
                return r;

        switch (a->tls_source) {
        case ANSWERS_TLS_FILES:
                if (!a->tls_cert_file || !a->tls_key_file)
                        return fail_at(l, "tls", "source", 0,
                                       _("[tls] source = files needs cert_file and key_file "
                                         "(the certificate chain and its private key, PEM)"));
                break;
        case ANSWERS_TLS_ACME:
                if (!a->acme_email)
                        return fail_at(l, "tls", "source", 0,
                                       _("[tls] source = acme needs acme_email (the CA sends "
                                         "expiry warnings there)"));
                if (!email_is_valid(a->acme_email)) {
                        _cleanup_free_ char *q = conf_quote(a->acme_email);
                        return q ? fail_at(l, "tls", "acme_email", 0,
                                           _("[tls] acme_email '%s' is not an e-mail address"), q)
                                 : -ENOMEM;
                }
                if (a->acme_directory && (!startswith(a->acme_directory, "https://") ||
                                          strlen(a->acme_directory) <= strlen("https://"))) {
                        _cleanup_free_ char *q = conf_quote(a->acme_directory);
                        return q ? fail_at(l, "tls", "acme_directory", 0,
                                           _("[tls] acme_directory '%s' is not an https:// URL"), q)
                                 : -ENOMEM;
                }
                if (a->acme_challenge == ANSWERS_ACME_WEBROOT && !a->acme_webroot)
                        return fail_at(l, "tls", "acme_challenge", 0,
                                       _("[tls] acme_challenge = webroot needs acme_webroot (the "
                                         "directory your web server serves for %s)"), a->hostname);
                if (a->acme_challenge == ANSWERS_ACME_STANDALONE && a->acme_webroot)
                        return fail_at(l, "tls", "acme_webroot", 0,
                                       _("[tls] acme_webroot is only used with acme_challenge = webroot"));
                break;
        default:
                break;
        }
        return 0;
}

/* --- [firewall] --- */

/* Runs after load_tls(): the defaults and checks depend on the certificate source. */
static int load_firewall(Loader *l) {
        const Conf *c = l->conf;
        Answers *a = l->a;
        int r;

        a->firewall_backend = get_enum(c, "firewall", "backend", firewall_names,
                                       _ANSWERS_FIREWALL_MAX, ANSWERS_FIREWALL_AUTO);
        /* ACME's http-01 standalone challenge needs port 80; the default list opens it */
        r = get_list(c, "firewall", "services",
                     a->tls_source == ANSWERS_TLS_ACME && a->acme_challenge == ANSWERS_ACME_STANDALONE ?
                     DEFAULT_SERVICES ", http" : DEFAULT_SERVICES,
                     &a->firewall_services);
        if (r < 0)
                return r;
        for (char **s = a->firewall_services; *s; s++)
                if (answers_firewall_service_port(*s) < 0) {
                        _cleanup_free_ char *q = conf_quote(*s);
                        return q ? fail_at(l, "firewall", "services", 0,
                                           _("[firewall] services: unknown service '%s' (expected "
                                             "smtp, submission, smtps, imap, imaps, pop3, pop3s, "
                                             "sieve, http or https)"), q)
                                 : -ENOMEM;
                }
        if (a->firewall_backend == ANSWERS_FIREWALL_NONE)
                return 0;
        if (!strv_contains(a->firewall_services, "smtp"))
                return fail_at(l, "firewall", "services", 0,
                               _("[firewall] services does not include smtp: other servers could "
                                 "not deliver mail to this host (port 25)"));
        if (a->tls_source == ANSWERS_TLS_ACME && a->acme_challenge == ANSWERS_ACME_STANDALONE &&
            !strv_contains(a->firewall_services, "http"))
                return fail_at(l, "firewall", "services", 0,
                               _("[firewall] services does not include http, but [tls] "
                                 "acme_challenge = standalone answers the CA on port 80: add http"));
        return 0;
}

/* --- [postfix] --- */

static bool port_is_valid(const char *s) {
        uint64_t port;

        if (!*s)
                return false;
        if (s[0] >= '0' && s[0] <= '9')
                return parse_uint64(s, &port) >= 0 && port >= 1 && port <= 65535;
        /* a service name from /etc/services, as Postfix allows */
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

/* Postfix relayhost: domain, host, host:port, [host], [host]:port, [address]:port. */
static bool relay_is_valid(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        _cleanup_free_ char *host = NULL;
        const char *port = NULL;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end)
                        return false;
                host = strndup(s + 1, (size_t) (end - s - 1));
                if (!host)
                        return false;
                if (end[1] == ':')
                        port = end + 2;
                else if (end[1])
                        return false;
                const char *h = host;
                if (strncasecmp(h, "ipv6:", 5) == 0)
                        h += 5;
                if (!hostname_is_valid(h) && inet_pton(AF_INET, h, buf) != 1 &&
                    inet_pton(AF_INET6, h, buf) != 1)
                        return false;
        } else {
                const char *colon = strchr(s, ':');
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
                if (!host)
                        return false;
                if (colon)
                        port = colon + 1;
                if (!hostname_is_valid(host))
                        return false;
        }
        return !port || port_is_valid(port);
}

/* One mynetworks entry: IPv4 address or network, or [IPv6] address or network. Sets
 * *ret_hint to the corrected network when host bits are set. */
static int network_check(const char *s, char **ret_hint, bool *ret_too_wide) {
        unsigned char addr[sizeof(struct in6_addr)] = {};
        char text[INET6_ADDRSTRLEN];
        _cleanup_free_ char *host = NULL;
        const char *slash, *h;
        uint64_t prefix;
        bool v6 = s[0] == '[';
        int family = v6 ? AF_INET6 : AF_INET;
        unsigned bits = v6 ? 128 : 32;

        *ret_hint = NULL;
        *ret_too_wide = false;
        if (v6) {
                const char *end = strchr(s, ']');
                if (!end || (end[1] && end[1] != '/'))
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (end - s - 1));
                slash = end[1] ? end + 1 : NULL;
        } else {
                slash = strchr(s, '/');
                host = slash ? strndup(s, (size_t) (slash - s)) : strdup(s);
        }
        if (!host)
                return -ENOMEM;
        h = host;
        if (inet_pton(family, h, addr) != 1)
                return -EINVAL;
        prefix = bits;
        if (slash && (parse_uint64(slash + 1, &prefix) < 0 || prefix > bits))
                return -EINVAL;

        /* host bits: Postfix skips such an entry with only a warning */
        unsigned char masked[sizeof(struct in6_addr)];
        memcpy(masked, addr, sizeof(masked));
        for (unsigned i = 0; i < bits / 8; i++) {
                unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? (unsigned) prefix - i * 8 : 0;
                masked[i] &= (unsigned char) (0xFF00u >> keep);
        }
        if (memcmp(masked, addr, bits / 8) != 0) {
                if (!inet_ntop(family, masked, text, sizeof(text)))
                        return -EINVAL;
                if (asprintf(ret_hint, v6 ? "[%s]/%u" : "%s/%u", text, (unsigned) prefix) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        /* wider than a /8 (IPv4) or /16 (IPv6) lets much of the Internet relay */
        *ret_too_wide = prefix < (v6 ? 16u : 8u);
        return 0;
}

static int load_postfix(Loader *l) {
        const Conf *c = l->conf;
        Answers *a = l->a;
        int r;

        a->message_size_limit = DEFAULT_MESSAGE_SIZE_LIMIT;
        a->mailbox_size_limit = DEFAULT_MAILBOX_SIZE_LIMIT;
        r = conf_get_size(c, "postfix", "message_size_limit", &a->message_size_limit);
        if (r < 0 && r != -ENOENT)
                return r;
        r = conf_get_size(c, "postfix", "mailbox_size_limit", &a->mailbox_size_limit);
        if (r < 0 && r != -ENOENT)
                return r;
        if (a->message_size_limit > INT64_MAX || a->mailbox_size_limit > INT64_MAX) {
                const char *key = a->message_size_limit > INT64_MAX ? "message_size_limit"
                                                                    : "mailbox_size_limit";
                return fail_at(l, "postfix", key, 0,
                               _("[postfix] %s is larger than Postfix can count (use 0 for no "
                                 "limit)"), key);
        }
        if (a->message_size_limit != 0 && a->message_size_limit < MIN_MESSAGE_SIZE_LIMIT)
                return fail_at(l, "postfix", "message_size_limit", 0,
                               _("[postfix] message_size_limit is only %" PRIu64 " bytes, which "
                                 "rejects nearly all mail (did you mean %" PRIu64 "M?)"),
                               a->message_size_limit, a->message_size_limit);
        /* Postfix local(8) refuses to start otherwise ("mailbox_size_limit is smaller than
         * message_size_limit"); 0 means no limit. */
        if (a->mailbox_size_limit != 0 &&
            (a->mailbox_size_limit < a->message_size_limit || a->message_size_limit == 0))
                return fail_at(l, "postfix", "mailbox_size_limit", 0,
                               _("[postfix] mailbox_size_limit (%" PRIu64 ") is smaller than "
                                 "message_size_limit (%" PRIu64 "%s): Postfix's local delivery "
                                 "refuses to start; raise it, or set it to 0 for no limit"),
                               a->mailbox_size_limit, a->message_size_limit,
                               a->message_size_limit == 0 ? _(", unlimited") : "");

        r = get_string(c, "postfix", "smtp_address_preference", &a->smtp_address_preference);
        if (r < 0)
                return r;
        r = get_string(c, "postfix", "relayhost", &a->relayhost);
        if (r < 0)
                return r;
        if (a->relayhost) {
                _cleanup_strv_free_ char **relays = NULL;
                r = conf_split_list(a->relayhost, &relays);
                if (r < 0)
                        return r;
                for (char **s = relays; *s; s++)
                        if (!relay_is_valid(*s)) {
                                _cleanup_free_ char *q = conf_quote(*s);
                                return q ? fail_at(l, "postfix", "relayhost", 0,
                                                   _("[postfix] relayhost '%s' is not valid (expected "
                                                     "host, host:port or [host]:port, such as "
                                                     "[smtp.example.net]:587)"), q)
                                         : -ENOMEM;
                        }
        }

        r = get_list(c, "postfix", "mynetworks", DEFAULT_MYNETWORKS, &a->mynetworks);
        if (r < 0)
                return r;
        for (char **s = a->mynetworks; *s; s++) {
                _cleanup_free_ char *hint = NULL, *q = conf_quote(*s);
                bool too_wide;
                unsigned char buf[sizeof(struct in6_addr)];

                if (!q)
                        return -ENOMEM;
                r = network_check(*s, &hint, &too_wide);
                if (r == -ENOMEM)
                        return r;
                if (hint)
                        return fail_at(l, "postfix", "mynetworks", 0,
                                       _("[postfix] mynetworks: '%s' has host bits set, which "
                                         "Postfix ignores (did you mean %s?)"), q, hint);
                if (r < 0) {
                        _cleanup_free_ char *h = strndup(*s, strcspn(*s, "/"));
                        if (!h)
                                return -ENOMEM;
                        if (inet_pton(AF_INET6, h, buf) == 1)
                                return fail_at(l, "postfix", "mynetworks", 0,
                                               _("[postfix] mynetworks: IPv6 '%s' must be written "
                                                 "in brackets, as in [::1]/128"), q);
                        return fail_at(l, "postfix", "mynetworks", 0,
                                       _("[postfix] mynetworks: '%s' is not an address or network "
                                         "(expected entries such as 192.0.2.0/24 or "
                                         "[2001:db8::]/32)"), q);
                }
                if (too_wide)
                        return fail_at(l, "postfix", "mynetworks", 0,
                                       _("[postfix] mynetworks: '%s' would let a large part of the "
                                         "Internet send mail through this server (an open relay); "
                                         "list only your own networks"), q);
        }
        return 0;
}

/* --- [dovecot], [dkim], [hardening] --- */

static int load_rest(Loader *l) {
        const Conf *c = l->conf;
        Answers *a = l->a;
        _cleanup_free_ char *selector = NULL;
        int r;

        r = get_list(c, "dovecot", "protocols", DEFAULT_PROTOCOLS, &a->dovecot_protocols);
        if (r < 0)
                return r;
        for (char **p = a->dovecot_protocols; *p; p++)
                if (!strv_contains((char *const *) dovecot_protocol_names, *p)) {
                        _cleanup_free_ char *q = conf_quote(*p);
                        return q ? fail_at(l, "dovecot", "protocols", 0,
                                           _("[dovecot] protocols: unknown protocol '%s' (expected "
                                             "imap, pop3, lmtp, submission or sieve)"), q)
                                 : -ENOMEM;
                }
        r = conf_get_size(c, "dovecot", "quota", &a->quota);
        if (r < 0 && r != -ENOENT)
                return r;

        a->dkim_enabled = true;
        r = conf_get_bool(c, "dkim", "enabled", &a->dkim_enabled);
        if (r < 0 && r != -ENOENT)
                return r;
        r = get_string(c, "dkim", "selector", &selector);
        if (r < 0)
                return r;
        if (selector && !streq(selector, "auto")) {
                ascii_lower(selector);
                if (!hostname_is_valid(selector)) {
                        _cleanup_free_ char *q = conf_quote(selector);
                        return q ? fail_at(l, "dkim", "selector", 0,
                                           _("[dkim] selector '%s' is not a valid DNS label (expected "
                                             "auto, or letters, digits and '-', such as 202501)"), q)
                                 : -ENOMEM;
                }
                a->dkim_selector = TAKE_PTR(selector);
        }

        a->fail2ban = false;
        r = conf_get_bool(c, "hardening", "fail2ban", &a->fail2ban);
        if (r < 0 && r != -ENOENT)
                return r;

        a->install_packages = true;
        r = conf_get_bool(c, "packages", "install", &a->install_packages);
        if (r < 0 && r != -ENOENT)
                return r;
        a->remove_other_mta = false;
        r = conf_get_bool(c, "packages", "remove_other_mta", &a->remove_other_mta);
        if (r < 0 && r != -ENOENT)
                return r;
        return 0;
}

/* --- entry points --- */

static int answers_from_conf(const Conf *c, Answers **ret, char **ret_error) {
        _cleanup_(answers_freep) Answers *a = NULL;
        Loader l = { .conf = c, .error = ret_error };
        int r;

        a = calloc(1, sizeof(Answers));
        if (!a)
                return -ENOMEM;
        a->path = strdup(c->path);
        if (!a->path)
                return -ENOMEM;
        l.a = a;

        a->users_mode = get_enum(c, "users", "mode", users_mode_names, _ANSWERS_USERS_MAX,
                                 ANSWERS_USERS_SYSTEM);

        r = load_server(&l);
        if (r >= 0 && a->users_mode == ANSWERS_USERS_SYSTEM && a->domains[0])
                r = fail_at(&l, "server", "domains", 0,
                            _("[server] domains lists further domains, which need [users] mode = "
                              "virtual (system accounts receive mail for [server] domain only)"));
        if (r >= 0 && a->users_mode == ANSWERS_USERS_VIRTUAL)
                r = check_virtual_domains(&l);
        if (r >= 0)
                r = load_users(&l);
        if (r >= 0)
                r = load_tls(&l);
        if (r >= 0)
                r = load_firewall(&l);
        if (r >= 0)
                r = load_postfix(&l);
        if (r >= 0)
                r = load_rest(&l);
        free(l.aliases_lines);
        strv_free(l.written);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(a);
        return 0;
}

int answers_load_buffer(const char *name, const char *data, size_t size,
                        Answers **ret, char **ret_error) {
        _cleanup_(conf_freep) Conf *c = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = conf_load_buffer(name, data, size, &schema, &c, ret_error);
        if (r < 0)
                return r;
        return answers_from_conf(c, ret, ret_error);
}

int answers_load(const char *path, Answers **ret, char **ret_error) {
        _cleanup_(conf_freep) Conf *c = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = conf_load(path, &schema, &c, ret_error);
        if (r < 0)
                return r;
        return answers_from_conf(c, ret, ret_error);
}
