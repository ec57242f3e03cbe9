/* Distro profiles as a table (DESIGN.md "Distros"). */
#include <stddef.h>

#include "macro.h"
#include "profile.h"

static const char *const apt_install[] = { "apt-get", "install", "-y", "--no-install-recommends", NULL };
static const char *const dnf_install[] = { "dnf", "install", "-y", NULL };
static const char *const deb_packages[] = {
        "postfix", "dovecot-core", "dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd", NULL,
};
static const char *const rhel_packages[] = { "postfix", "dovecot", NULL };

static const DistroProfile profiles[] = {
        {
                .family = DISTRO_DEBIAN,
                .name = "debian",
                .postfix_dir = "/etc/postfix",
                .dovecot_dir = "/etc/dovecot",
                .cert_dir = "/etc/ssl/certs",
                .key_dir = "/etc/ssl/private",
                .mail_log = "/var/log/mail.log",
                .nologin = "/usr/sbin/nologin",
                .mailname = true,
                .firewall = "nftables",
                .install_argv = apt_install,
                .packages = deb_packages,
                .dovecot_ssl_conf = "/etc/dovecot/conf.d/10-ssl.conf",
        },
        {
                .family = DISTRO_RHEL,
                .name = "rhel",
                .postfix_dir = "/etc/postfix",
                .dovecot_dir = "/etc/dovecot",
                .cert_dir = "/etc/pki/tls/certs",
                .key_dir = "/etc/pki/tls/private",
                .mail_log = "/var/log/maillog",
                .nologin = "/sbin/nologin",
                .mailname = false,
                .firewall = "firewalld",
                .install_argv = dnf_install,
                .packages = rhel_packages,
                .dovecot_ssl_conf = "/etc/dovecot/conf.d/10-ssl.conf",
        },
};

const DistroProfile *distro_profile(DistroFamily f) {
        for (size_t i = 0; i < ELEMENTSOF(profiles); i++)
                if (profiles[i].family == f)
                        return &profiles[i];
        return NULL;
}

const DistroProfile *distro_profile_by_name(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(profiles); i++)
                if (streq(profiles[i].name, name))
                        return &profiles[i];
        return NULL;
}
