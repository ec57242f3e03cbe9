/* One context for every verb: the options of argv and the settings file, built once into
 * what probes and renderers are handed. Nothing here prints or exits: errors come back as
 * text for the verb to show, so the TUI and the installer can build the same context. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "osrelease.h"
#include "probe.h"
#include "queue-actions.h"
#include "queue-model.h"
#include "queue-source.h"
#include "render.h"
#include "settings.h"
#include "spf.h"

#define CLI_MAX_PORTS 16
#define CLI_MAX_ADDRS 16

/* Which verb parses: each option of the table says which verbs take it. */
typedef enum CliVerb {
        CLI_VERB_CHECK = 1u << 0,
        CLI_VERB_DNS_RECORDS = 1u << 1,
        CLI_VERB_MONITOR = 1u << 2,
        CLI_VERB_QUEUE = 1u << 3,
} CliVerb;

/* `mxdeck queue COMMAND`: the word after the verb (none: the summary). */
typedef enum CliQueueCommand {
        CLI_QUEUE_SUMMARY,
        CLI_QUEUE_LIST,
        CLI_QUEUE_SHAPE,
        CLI_QUEUE_SHOW,
        CLI_QUEUE_ACTION, /* hold, release, delete, requeue, expire: see action */
        CLI_QUEUE_FLUSH,
} CliQueueCommand;

/* What `mxdeck queue` was given. Strings point into argv. */
typedef struct CliQueueOptions {
        CliQueueCommand command;
        QueueAction action;
        QueueFilter filter;       /* --queue, --domain, --sender ADDR, --recipient, --older-than,
                                   * --reason (its regex owned) */
        bool shape_sender;        /* shape: --sender without a value */
        QshapeOptions shape;      /* --parent, --linear, --tick, --buckets */
        bool all, dry_run, yes;
        const char *site;         /* flush --site */
        QueueSourceKind source;   /* --source, --input */
        const char *input;
        char **ids;               /* the arguments after the command (into argv) */
        size_t n_ids;
} CliQueueOptions;

typedef enum ColorWhen {
        COLOR_AUTO,
        COLOR_ALWAYS,
        COLOR_NEVER,
        _COLOR_WHEN_MAX,
        _COLOR_WHEN_INVALID = -EINVAL,
} ColorWhen;

/* What argv said, checked but not yet combined with the settings file or Postfix. Strings
 * point into argv unless owned (host, domain, only, skip). */
typedef struct CliOptions {
        CliVerb verb;
        bool help;                /* -h/--help: show the usage, nothing else */
        const char *config;       /* --config FILE */
        char *host, *domain;      /* --host, --domain (owned) */
        char **only, **skip;      /* --only, --skip: validated group names (owned; repeatable) */
        unsigned timeout;         /* --timeout, 0 = settings */
        const char *connect, *ca_file, *selector, *resolver, *trust_anchor;
        PortOverride ports[CLI_MAX_PORTS];
        size_t n_ports;
        /* check */
        RenderFormat format;
        const char *output;       /* -o FILE */
        ColorWhen color;
        bool verbose;
        /* dns records */
        SpfAddr addrs[CLI_MAX_ADDRS];
        size_t n_addrs;
        bool mta_sts;
        bool json;                /* --format json (else zone; queue: else text) */
        /* monitor */
        unsigned refresh;         /* --refresh, 0 = settings */
        bool ascii, low_bandwidth;
        bool no_mouse;            /* --no-mouse */
        const char *panel;        /* the optional PANEL argument */
        /* queue */
        CliQueueOptions queue;
} CliOptions;

void cli_options_done(CliOptions *o);

/* Parses argv (argv[0] the verb's name) with the option table for verb; for queue, argv[1]
 * may name the command (list, shape, show, flush or an action), and the arguments left
 * are its ids (what each command accepts is the verb's to check). Returns 0, or
 * -EINVAL with *ret_error a one-line message naming the bad option or value ("unknown
 * group 'x' in --only"), or -ENOMEM. Resets getopt's state first. */
int cli_options_parse(CliVerb verb, int argc, char *argv[], CliOptions *ret, char **ret_error);

/* Everything a run needs, built from the options. check points into the other fields:
 * build it in place and do not copy it afterwards. */
typedef struct RunContext {
        CliOptions opt;
        Settings settings;        /* defaults, then the file(s), then the flags */
        OsRelease os;
        char **groups;            /* the selected groups after --only and --skip; NULL = all */
        /* The mail host and domain: flags, then Postfix's myhostname/mydomain, then (check
         * only) the node name for the host. Terminal-safe; either may be NULL. */
        char *host, *domain;
        bool names_pending;       /* built with RUN_CONTEXT_NAMES_LATER, not asked yet */
        CheckContext check;       /* points into the fields above */
} RunContext;

typedef enum RunContextFlags {
        /* Do not ask Postfix (nor uname) for the names the flags left out: for tests and
         * callers that know them. */
        RUN_CONTEXT_NO_NAME_DEFAULTS = 1u << 0,
        /* Not now, but when run_context_default_names() is called (the dashboard: after
         * its first frame, in a fiber, since asking Postfix takes a while). */
        RUN_CONTEXT_NAMES_LATER = 1u << 1,
} RunContextFlags;

/* Builds *ret from *opt, which it takes over (opt is zeroed). Returns 0, or a negative
 * errno with *ret_error saying what is wrong ("bad settings: FILE:LINE: ...", "--skip
 * leaves no group to run"); on failure *ret is untouched and opt freed. */
int run_context_build(CliOptions *opt, RunContextFlags flags, RunContext *ret, char **ret_error);
void run_context_done(RunContext *c);

/* For a context built with RUN_CONTEXT_NAMES_LATER: fills in the names the flags left out
 * as run_context_build would have (Postfix's, then the node name), bounded by the
 * settings' timeout, and points c->check at them. Once; later calls do nothing. Works in
 * a fiber (waits through the loop) or outside one. 0 or -ENOMEM. */
int run_context_default_names(RunContext *c);

/* Whether to colour the text output: --color, whether it goes to a terminal, and NO_COLOR
 * (no-color.org: a non-empty value turns colour off). */
bool cli_color_wanted(ColorWhen when, bool to_terminal, const char *no_color_env);
