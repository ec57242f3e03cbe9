/* Asking Postfix and Dovecot about themselves: postconf, doveconf, through spawn. */
#pragma once

#include "probe.h"
#include "subprocess.h"

/* spawn_run() for the probes: a Postfix tool that needs main.cf where there is none gets
 * its own fatal message at once (exit status 1), without the second it sleeps on it. */
int probe_spawn(const SpawnOptions *o, SpawnResult *ret);

/* Runs a tool with the probe timeout and output cap. -ENOENT: not installed. */
int probe_run(const CheckContext *ctx, const char *const *argv, SpawnResult *ret);
/* The same with an explicit time limit (what is left of a check's own deadline). */
int probe_run_ms(const CheckContext *ctx, const char *const *argv, unsigned timeout_ms, SpawnResult *ret);

/* `postconf -hx NAME...`: the expanded values, one per name (NULL-terminated, caller
 * strv_free()s). On failure (Postfix missing: -ENOENT; no main.cf, bad config: -EINVAL)
 * *ret_error (when non-NULL) gets postconf's own message, terminal-safe. */
int postconf_get(const CheckContext *ctx, const char *const *names, char ***ret, char **ret_error);

/* `postconf -Px`: master.cf per-service overrides as "service/type/name = value" lines. */
int postconf_overrides(const CheckContext *ctx, char ***ret, char **ret_error);

/* `doveconf -h NAME`: one setting. */
int doveconf_get(const CheckContext *ctx, const char *name, char **ret, char **ret_error);

/* The install remedy for a package ("apt-get install -y postfix"). */
char *install_remedy(const CheckContext *ctx, const char *packages);

/* Splits a Postfix list value (commas and/or whitespace) into words. */
int postfix_list_split(const char *value, char ***ret);
/* A tool's output (postconf -h, -P) as lines, each through termsafe. */
int postconf_split_lines(const char *s, size_t size, char ***ret);
