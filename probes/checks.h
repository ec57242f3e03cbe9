/* The check catalog for `mxdeck check`: which checks exist, how they run together. */
#pragma once

#include <stdbool.h>

#include "finding.h"
#include "osrelease.h"
#include "settings.h"

typedef struct CheckContext {
        const Settings *settings;
        DistroFamily family;   /* for remedies: apt or dnf */
        bool systemd;          /* systemd is PID 1: ask it over sd-bus */
        const char *host;      /* --host, may be NULL */
        const char *domain;    /* --domain, may be NULL */
} CheckContext;

typedef int (*CheckFunc)(const CheckContext *ctx, FindingList *out);

typedef struct Check {
        const char *group;  /* the --only group */
        const char *id;     /* catalog id (or id prefix) it produces */
        CheckFunc run;
} Check;

/* All checks of this build, in catalog order. */
const Check *checks_table(size_t *ret_n);

/* True when `group` names a group of the catalog in DESIGN.md (even one without checks
 * in this build); *ret_available tells whether this build has checks for it. */
bool check_group_is_known(const char *group, bool *ret_available);

/* Runs the checks whose group is in only (NULL: all) concurrently on a small fixed pool
 * of threads; findings come out in catalog order whatever the timing. A check that fails
 * to run (ENOMEM, ...) yields an unknown finding rather than aborting the others. */
int checks_run(const CheckContext *ctx, const char *const *only, FindingList *ret);

/* Individual checks. */
int check_service_postfix(const CheckContext *ctx, FindingList *out);
int check_service_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_postfix(const CheckContext *ctx, FindingList *out);
int check_config_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_relay(const CheckContext *ctx, FindingList *out);
int check_config_domains(const CheckContext *ctx, FindingList *out);
int check_system_hostname(const CheckContext *ctx, FindingList *out);
int check_system_disk(const CheckContext *ctx, FindingList *out);
