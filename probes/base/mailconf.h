/* Where Postfix and Dovecot keep what a remedy must change, and remedies built from it:
 * the Dovecot file line that sets a setting, reload and start commands. */
#pragma once

#include "probe.h"

/* The Dovecot configuration files in the order Dovecot applies them, last one winning
 * (dovecot.conf, conf.d/ in name order, local.conf); under root (NULL = "/"). */
int dovecot_conf_files(const char *root, char ***ret);

#define DOVECOT_LINE_SHOWN 256

/* The line that sets `name` at the top level (not inside a section) in the file that
 * wins: *ret_file and *ret_line, the line without its newline made terminal-safe
 * (termsafe) and cut to DOVECOT_LINE_SHOWN bytes ("…" then). Returns 0 when *ret_line is
 * the line exactly as written, 1 when it had to be changed, -ENOENT when no file sets
 * it. */
int dovecot_setting_find(const char *root, const char *name, char **ret_file, char **ret_line);

/* Adds to f the command that makes Dovecot's `name` equal `value`: a sed -i that changes
 * the line in force, or that appends "name = value" to local.conf (else
 * conf.d/10-FALLBACK) when no file sets it. 0 when a command was added, -ENOENT when no
 * safe command can be made (the caller says it in words). */
int remedy_dovecot_set(Finding *f, const char *root, const char *name, const char *value, const char *fallback);

/* Commands that make the daemons re-read their configuration, or start them: systemctl
 * where systemd runs them, else Postfix's and Dovecot's own. */
int remedy_reload(Finding *f, const CheckContext *ctx, bool postfix, bool dovecot);
int remedy_start(Finding *f, const CheckContext *ctx, bool postfix, bool dovecot);
const char *reload_cmd_postfix(const CheckContext *ctx);
const char *reload_cmd_dovecot(const CheckContext *ctx);
const char *start_cmd_postfix(const CheckContext *ctx);
const char *start_cmd_dovecot(const CheckContext *ctx);

/* Postfix's SASL socket for Dovecot (smtpd_sasl_type = dovecot): the path, relative ones
 * under queue_directory. *ret_enabled: smtpd_sasl_auth_enable is yes in main.cf or in a
 * master.cf service. -ENODATA when SASL goes elsewhere (cyrus, inet:). */
int postfix_sasl_socket(const CheckContext *ctx, char **ret_path, bool *ret_enabled);

/* 1 when path is a listening Unix socket (a connect succeeds), 0 when it exists but
 * nobody listens, -errno (-ENOENT missing, -ENOTSOCK not a socket) otherwise. */
int unix_socket_state(const char *path);
