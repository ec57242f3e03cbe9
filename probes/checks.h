/* The check catalog for `mxdeck check`: which checks exist, how they run together. */
#pragma once

#include <stdbool.h>

#include "finding.h"
#include "osrelease.h"
#include "settings.h"

/* --port SVC=PORT */
typedef struct PortOverride {
        char *service;  /* "smtp", "submission", "smtps", "imap", "imaps", "pop3", "pop3s" */
        unsigned port;
} PortOverride;

typedef struct CheckContext {
        const Settings *settings;
        DistroFamily family;   /* for remedies: apt or dnf */
        bool systemd;          /* systemd is PID 1: ask it over sd-bus */
        const char *const *only; /* selected groups, NULL = all */
        /* The mail host: name for SNI, certificate name checks and DNS (--host, default
         * Postfix's myhostname); may be NULL. */
        const char *host;
        bool host_from_flag;   /* --host was given (else host is Postfix's guess) */
        const char *domain;    /* --domain, default Postfix's mydomain; may be NULL */
        /* Network probes: connect here instead of resolving host (--connect ADDR). */
        const char *connect;
        const PortOverride *ports; /* --port overrides */
        size_t n_ports;
        const char *ca_file;   /* --ca-file: trust these CAs instead of the system store */
        /* DNS probes. */
        const char *selector;  /* --selector: DKIM selector */
        const char *resolver;  /* --resolver ADDR[:PORT], NULL = settings, then resolv.conf */
        const char *trust_anchor; /* --trust-anchor FILE */
} CheckContext;

/* True when group is selected (ctx->only NULL means all). A check that covers several
 * groups emits only the findings of the selected ones. */
bool check_group_selected(const CheckContext *ctx, const char *group);

typedef int (*CheckFunc)(const CheckContext *ctx, FindingList *out);

typedef struct Check {
        const char *groups; /* the --only groups it serves, space-separated */
        const char *id;     /* a catalog id it produces (the first): carries the finding
                             * that says the check could not run */
        CheckFunc run;
} Check;

/* All checks of this build, in catalog order. */
const Check *checks_table(size_t *ret_n);

/* True when `group` names a group of the catalog in DESIGN.md (even one without checks
 * in this build); *ret_available tells whether this build has checks for it. */
bool check_group_is_known(const char *group, bool *ret_available);

/* Runs the checks that serve a group of ctx->only (NULL: all) concurrently on a small fixed pool
 * of threads; findings come out in catalog order whatever the timing. A check that fails
 * to run (ENOMEM, ...) yields an unknown finding rather than aborting the others. */
int checks_run(const CheckContext *ctx, FindingList *ret);

/* Individual checks. */
int check_service_postfix(const CheckContext *ctx, FindingList *out);
int check_service_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_postfix(const CheckContext *ctx, FindingList *out);
int check_config_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_relay(const CheckContext *ctx, FindingList *out);
int check_config_domains(const CheckContext *ctx, FindingList *out);
int check_mail_listeners(const CheckContext *ctx, FindingList *out);
int check_system_hostname(const CheckContext *ctx, FindingList *out);
int check_system_disk(const CheckContext *ctx, FindingList *out);
int check_dns(const CheckContext *ctx, FindingList *out);
