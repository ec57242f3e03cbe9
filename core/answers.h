/* The answers file (mxdeck setup --answers FILE; the wizard fills the same struct): the
 * schema of DESIGN.md "Answers file", parsed into typed fields and checked across fields
 * the way a mail administrator would check it before running the installer. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ConfSchema;

typedef enum AnswersUsersMode {
        ANSWERS_USERS_SYSTEM,   /* mailboxes are Unix accounts (PAM, /home/NAME/Maildir) */
        ANSWERS_USERS_VIRTUAL,  /* mailboxes exist only for Postfix/Dovecot (passwd-file) */
        _ANSWERS_USERS_MAX,
        _ANSWERS_USERS_INVALID = -EINVAL,
} AnswersUsersMode;

typedef enum AnswersTlsSource {
        ANSWERS_TLS_SELF_SIGNED,
        ANSWERS_TLS_FILES,
        ANSWERS_TLS_ACME,
        _ANSWERS_TLS_MAX,
        _ANSWERS_TLS_INVALID = -EINVAL,
} AnswersTlsSource;

typedef enum AnswersAcmeChallenge {
        ANSWERS_ACME_STANDALONE, /* http-01 answered by the ACME client itself on port 80 */
        ANSWERS_ACME_WEBROOT,    /* http-01 answered by an existing web server */
        _ANSWERS_ACME_MAX,
        _ANSWERS_ACME_INVALID = -EINVAL,
} AnswersAcmeChallenge;

typedef enum AnswersFirewall {
        ANSWERS_FIREWALL_AUTO,
        ANSWERS_FIREWALL_FIREWALLD,
        ANSWERS_FIREWALL_NFTABLES,
        ANSWERS_FIREWALL_UFW,
        ANSWERS_FIREWALL_NONE,
        _ANSWERS_FIREWALL_MAX,
        _ANSWERS_FIREWALL_INVALID = -EINVAL,
} AnswersFirewall;

typedef struct AnswersUser {
        /* As in [user NAME], lower-case. System mode: the Unix account name. Virtual mode:
         * the full address; a bare local part in the file gets [server] domain appended. */
        char *name;
        /* Exactly one of these is set. The file is NOT read here: the installer reads it
         * (and checks it is 0600) when it needs the password. */
        char *password_file;
        /* "{SCHEME}hash" with a strong scheme (see answers.c). A hash, not the password,
         * but still never put it in argv, logs or the transaction journal. */
        char *password_hash;
        /* Further addresses delivered to this mailbox, normalised like name. Never NULL. */
        char **aliases;
        unsigned line; /* of the [user NAME] header, for later messages */
} AnswersUser;

typedef struct Answers {
        char *path;

        /* [server] */
        char *hostname;         /* FQDN, lower-case */
        char *domain;           /* the mail domain, lower-case */
        char **domains;         /* further domains (virtual mode); never NULL */
        char *public_ipv4;      /* NULL = auto (detect) */
        char *public_ipv6;      /* NULL = auto */

        /* [users] and [user NAME] */
        AnswersUsersMode users_mode;
        AnswersUser *users;
        size_t n_users;

        /* [tls] */
        AnswersTlsSource tls_source;
        char *tls_cert_file;    /* files */
        char *tls_key_file;
        char *acme_directory;   /* NULL = the ACME client's default (Let's Encrypt) */
        char *acme_email;
        AnswersAcmeChallenge acme_challenge;
        char *acme_webroot;     /* webroot */

        /* [firewall] */
        AnswersFirewall firewall_backend;
        char **firewall_services; /* never NULL; see answers_firewall_service_port() */

        /* [postfix] */
        uint64_t message_size_limit;   /* bytes, 0 = unlimited */
        uint64_t mailbox_size_limit;   /* bytes, 0 = unlimited */
        char *relayhost;               /* NULL = deliver directly; else as Postfix writes it */
        char **mynetworks;             /* never NULL */
        /* smtp_address_preference: "ipv4" (e.g. IPv6 without a PTR record: Gmail refuses
         * such mail), "ipv6", "any"; NULL = not set by mxdeck */
        char *smtp_address_preference;

        /* [dovecot] */
        char **dovecot_protocols;      /* never NULL */
        uint64_t quota;                /* bytes per mailbox, 0 = none */

        /* [dkim] */
        bool dkim_enabled;
        char *dkim_selector;           /* NULL = auto (YYYYMM at install time) */

        /* [hardening] */
        bool fail2ban;

        /* [packages] */
        bool install_packages;         /* install what is missing (default yes) */
        bool remove_other_mta;         /* remove Exim or Sendmail (default no: refuse) */
} Answers;

/* Reads, parses and validates an answers file. On any problem returns -EINVAL (or the
 * errno of reading the file) and, when ret_error is non-NULL, one message naming the file
 * and, where there is one, the line: "answers.ini:7: [tls] source = files needs cert_file".
 * Messages never quote a password hash. */
int answers_load(const char *path, Answers **ret, char **ret_error);
/* The same from memory (the wizard, tests, fuzzing); name is used in messages. */
int answers_load_buffer(const char *name, const char *data, size_t size,
                        Answers **ret, char **ret_error);
Answers *answers_free(Answers *a);
static inline void answers_freep(Answers **a) { if (*a) answers_free(*a); }

const struct ConfSchema *answers_schema(void);

const char *answers_users_mode_to_string(AnswersUsersMode m);
const char *answers_tls_source_to_string(AnswersTlsSource s);
const char *answers_acme_challenge_to_string(AnswersAcmeChallenge c);
const char *answers_firewall_to_string(AnswersFirewall f);

/* The TCP port of a [firewall] services word (smtp 25, submission 587, smtps 465, imap 143,
 * imaps 993, pop3 110, pop3s 995, sieve 4190, http 80, https 443), or -EINVAL. */
int answers_firewall_service_port(const char *service);
