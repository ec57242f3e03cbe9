/* OpenDKIM as the guides configure it, shared by the setup step and `mxdeck dkim rotate`:
 * the paths, opendkim.conf as text (pure functions, fuzzed), the key, the tables, and the
 * DKIM state mxdeck records in its managed-state file (which selector signs, a rotation
 * in progress). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "installer.h"

#define OPENDKIM_CONF "/etc/opendkim.conf"
#define OPENDKIM_DIR "/etc/opendkim"
#define OPENDKIM_KEYTABLE OPENDKIM_DIR "/KeyTable"
#define OPENDKIM_SIGNINGTABLE OPENDKIM_DIR "/SigningTable"
#define OPENDKIM_TRUSTEDHOSTS OPENDKIM_DIR "/TrustedHosts"
#define OPENDKIM_KEYS OPENDKIM_DIR "/keys"
/* The milter socket in Postfix's queue directory: reachable from a chrooted smtpd and
 * cleanup (Debian), by the relative name Postfix resolves there. The directory is
 * opendkim:postfix 02750, so the socket opendkim creates (UMask 007) belongs to group
 * postfix and only Postfix can talk to the signer. */
#define OPENDKIM_SOCKET_DIR "/var/spool/postfix/opendkim"
#define OPENDKIM_SOCKET OPENDKIM_SOCKET_DIR "/opendkim.sock"
#define OPENDKIM_MILTER "local:opendkim/opendkim.sock"
#define OPENDKIM_RUN_DIR "/run/opendkim"
#define OPENDKIM_PIDFILE OPENDKIM_RUN_DIR "/opendkim.pid"
#define OPENDKIM_USER "opendkim"
#define DKIM_KEY_BITS 2048
#define DKIM_SELECTOR_MAX 63

/* --- opendkim.conf: "Keyword value" lines, '#' comments, keywords case-insensitive --- */

/* The value of the first uncommented line for key (surrounding blanks removed); -ENOENT. */
int opendkim_conf_get(const char *text, size_t size, const char *key, char **ret);

/* The file with keys[i] set to values[i]: the first line of a key is replaced (as
 * "Key<TAB>value"), later lines of the same key are commented out ("#mxdeck: " + line:
 * they would be ignored anyway, and the administrator sees them kept), missing keys are
 * appended after one marker comment. Everything else is kept byte for byte. */
int opendkim_conf_set(const char *text, size_t size, const char *const *keys,
                      const char *const *values, size_t n, char **ret, size_t *ret_size);

/* --- the state mxdeck records --- */

typedef struct DkimState {
        char **domains;     /* signed domains (NULL-terminated; NULL when DKIM is not set up) */
        char *selector;     /* the one that signs */
        char *next;         /* rotation: made, published (or not yet), not signing yet */
        char *old;          /* rotation: signed until the switch; its key stays until finish */
        int64_t started;    /* when next was made (0: no rotation) */
        int64_t switched;   /* when signing moved to the new selector (0: not yet) */
} DkimState;

void dkim_state_done(DkimState *s);
/* From the managed-state record; selector NULL when mxdeck has not set DKIM up. */
int dkim_state_load(const Installer *ins, DkimState *ret);
/* Records the differences between old and new in sp (managed keys "dkim:..."). */
int dkim_state_plan(StepPlan *sp, const DkimState *old, const DkimState *new);

/* "YYYYMM" of t (UTC); when taken, "YYYYMMb", "YYYYMMc"... up to z. */
int dkim_selector_default(int64_t t, const DkimState *avoid, char **ret);

/* Where the key of a domain and selector lives: /etc/opendkim/keys/DOMAIN/SELECTOR.private */
char *opendkim_key_path(const char *domain, const char *selector);

/* The KeyTable (every selector of the state: signing, next, old) and SigningTable (the
 * signing selector for *@DOMAIN, refile: patterns). */
int opendkim_keytable(const DkimState *s, char **ret);
int opendkim_signingtable(const DkimState *s, char **ret);

/* A fresh RSA key as PEM (PKCS#8), made with the OpenSSL API. On an OpenSSL failure
 * -EIO and *ret_error says why. */
int dkim_key_generate(unsigned bits, char **ret_pem, size_t *ret_size, char **ret_error);

/* Plans the key of every domain for selector: an existing usable one is kept (its mode and
 * owner fixed), a missing one is made. An existing unusable one is an error note. */
int dkim_plan_keys(Installer *ins, StepPlan *sp, const DkimState *s, const char *selector);
/* Plans KeyTable and SigningTable for the state. */
int dkim_plan_tables(Installer *ins, StepPlan *sp, const DkimState *s);
/* Plans opendkim re-reading its tables (running) or starting (not running; with systemd
 * also enabling the unit), with the undo for rollback. restart: the configuration file
 * changed (a reload does not move the socket). Nothing when offline. */
int dkim_plan_signal(Installer *ins, StepPlan *sp, bool restart);

/* Is opendkim running (its pid file names a live process)? */
bool opendkim_running(const Installer *ins);

/* The TXT record text for a key file under the root ("v=DKIM1; k=rsa; p=..."). */
int dkim_record_for_key(const Installer *ins, const char *key_path, char **ret, unsigned *ret_bits);

typedef enum DkimDnsState {
        DKIM_DNS_MATCHES,     /* the record is served and is the key's public half */
        DKIM_DNS_DIFFERENT,   /* a record is served, for another key (or broken) */
        DKIM_DNS_MISSING,     /* no key record at the name */
        DKIM_DNS_UNREACHABLE, /* the resolver did not answer */
        _DKIM_DNS_STATE_MAX,
} DkimDnsState;

/* Asks the resolver (NULL: settings, then /etc/resolv.conf) for SELECTOR._domainkey.DOMAIN
 * and compares the record with the key under the root. *ret_detail: one line saying what
 * was found (terminal-safe). */
int dkim_dns_lookup(const Installer *ins, const char *resolver, unsigned timeout_ms, const char *domain,
                    const char *selector, DkimDnsState *ret, char **ret_detail);
