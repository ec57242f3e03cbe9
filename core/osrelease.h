/* Which distribution family this is, from os-release(5): picks package commands,
 * paths and remedies. The installer's distro profiles build on it. */
#pragma once

typedef enum DistroFamily {
        DISTRO_DEBIAN,  /* Debian, Ubuntu and derivatives: apt */
        DISTRO_RHEL,    /* RHEL, CentOS Stream, Rocky, Alma, Oracle, Fedora: dnf */
        DISTRO_UNKNOWN,
        _DISTRO_FAMILY_MAX,
} DistroFamily;

typedef struct OsRelease {
        char *id;           /* "debian", "rocky", ... */
        char *id_like;      /* "rhel centos fedora" */
        char *version_id;   /* "12", "9.4" */
        char *pretty_name;
        DistroFamily family;
} OsRelease;

/* Reads ROOT/etc/os-release, else ROOT/usr/lib/os-release (root NULL or "/" for the live
 * system). Values are unquoted per os-release(5) and made terminal-safe (termsafe: controls,
 * escape sequences, invalid UTF-8 replaced). Returns 0 or negative errno. */
int osrelease_load(const char *root, OsRelease *ret);
/* The same from the file's text (NUL-terminated). */
int osrelease_parse(const char *text, OsRelease *ret);
void osrelease_done(OsRelease *o);

/* "apt-get install -y" / "dnf install -y" for the family (never NULL). */
const char *distro_install_command(DistroFamily f);
