/* What every probe is handed: the options of the run and the check-group selection. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "deadline.h"
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
        /* When the run must be over (--timeout from now, set by the runner): the only way a
         * probe learns how long it may take. Every wait and every tool ends by then. */
        Deadline deadline;
} CheckContext;

/* True when group is selected (ctx->only NULL means all). A check that covers several
 * groups emits only the findings of the selected ones. */
bool check_group_selected(const CheckContext *ctx, const char *group);

typedef int (*CheckFunc)(const CheckContext *ctx, FindingList *out);

typedef int (*CheckFunc)(const CheckContext *ctx, FindingList *out);
