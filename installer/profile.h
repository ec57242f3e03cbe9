/* Distro profiles: the paths and commands that differ between Debian and the RHEL family,
 * as one table. */
#pragma once

#include <stdbool.h>

#include "osrelease.h"

typedef struct DistroProfile {
        DistroFamily family;
        const char *name;             /* "debian", "rhel" */
        const char *postfix_dir;      /* /etc/postfix */
        const char *dovecot_dir;      /* /etc/dovecot */
        const char *cert_dir;         /* where mxdeck's certificate goes */
        const char *key_dir;          /* where its private key goes (0700 or 0710) */
        const char *mail_log;         /* where syslog writes the mail log */
        const char *nologin;          /* the shell of mailbox-only accounts */
        bool mailname;                /* /etc/mailname exists on this family */
        const char *firewall;         /* the distribution's firewall front end */
        /* Packages: the install command and the package list for Postfix + Dovecot. */
        const char *const *install_argv;
        const char *const *packages;
        /* Distribution defaults in Dovecot's conf.d that point at files mxdeck replaces
         * (Debian: a certificate made by the package's postinst, missing on a fresh
         * "No configuration" install). */
        const char *dovecot_ssl_conf; /* conf.d/10-ssl.conf */
} DistroProfile;

/* The profile of a family (DISTRO_UNKNOWN: NULL). */
const DistroProfile *distro_profile(DistroFamily f);
/* By name, for --profile in tests: "debian" or "rhel". */
const DistroProfile *distro_profile_by_name(const char *name);
