/* Step preflight: can this system take the plan? Root, a supported distribution and
 * version, no other MTA in the way (unless the answers have the packages step remove it),
 * ports 25 and 587 free or Postfix's, disk space, SELinux's mode (RHEL), IPv6 without a
 * PTR record. Changes nothing; an error here stops the plan before any change, naming the
 * reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dns.h"
#include "listeners.h"
#include "macro.h"
#include "steps.h"

#define MIN_FREE_BYTES (UINT64_C(1) << 30)        /* below: a warning */
#define REFUSE_FREE_BYTES (UINT64_C(300) << 20)   /* below: a refusal (packages + queue) */
#define PTR_TIMEOUT_MS 3000

static bool exists_under(const Installer *ins, const char *path) {
        _cleanup_free_ char *full = installer_path(ins, path);
        return full && access(full, F_OK) >= 0;
}

static bool live(const Installer *ins) {
        return streq(installer_root(ins), "/") && !installer_offline(ins);
}

/* The supported list of issue 11: RHEL/CentOS Stream/Rocky/Alma 8-10, Fedora; Debian 12+,
 * Ubuntu 22.04+. Older is refused; an ID not on the list (a derivative) is a warning. */
static int version_check(Installer *ins, StepPlan *sp, const OsRelease *os) {
        static const struct { const char *id; unsigned major, minor, max_major; } supported[] = {
                { "debian", 12, 0, 0 }, { "ubuntu", 22, 4, 0 }, { "rhel", 8, 0, 10 },
                { "centos", 8, 0, 10 }, { "rocky", 8, 0, 10 }, { "almalinux", 8, 0, 10 },
                { "ol", 8, 0, 10 }, { "fedora", 38, 0, 0 },
        };
        unsigned major = 0, minor = 0;

        if (!os->id)
                return step_plan_note(sp, NOTE_WARNING, _("os-release names no distribution (ID=): "
                                                          "assuming the %s profile"),
                                      installer_profile(ins)->name);
        for (size_t i = 0; i < ELEMENTSOF(supported); i++) {
                if (!streq(os->id, supported[i].id))
                        continue;
                if (!os->version_id || sscanf(os->version_id, "%u.%u", &major, &minor) < 1)
                        return step_plan_note(sp, NOTE_WARNING, _("%s: no version in os-release "
                                                                  "(VERSION_ID=): a testing release?"),
                                              strempty(os->pretty_name ? os->pretty_name : os->id));
                if (major < supported[i].major || (major == supported[i].major && minor < supported[i].minor))
                        return step_plan_note(sp, NOTE_ERROR,
                                              _("%s is older than mxdeck supports (%s %u%s): upgrade "
                                                "the system first"),
                                              strempty(os->pretty_name ? os->pretty_name : os->id),
                                              supported[i].id, supported[i].major,
                                              supported[i].minor ? ".04+" : "+");
                if (supported[i].max_major && major > supported[i].max_major)
                        return step_plan_note(sp, NOTE_WARNING, _("%s is newer than mxdeck was tested "
                                                                  "with (up to %u)"),
                                              strempty(os->pretty_name ? os->pretty_name : os->id),
                                              supported[i].max_major);
                return 0;
        }
        return step_plan_note(sp, NOTE_WARNING, _("%s is not on mxdeck's list of supported systems "
                                                  "(Debian 12+, Ubuntu 22.04+, RHEL and clones 8-10, "
                                                  "Fedora): using the %s profile"),
                              strempty(os->pretty_name ? os->pretty_name : os->id),
                              installer_profile(ins)->name);
}

/* Ports 25 and 587: free, or held by Postfix's master (an adopted installation). */
static int ports_check(Installer *ins, StepPlan *sp) {
        static const uint16_t ports[] = { 25, 587 };
        int r;

        if (!live(ins))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                Listener l[LISTENERS_MAX];
                int n = listeners_on_port(ports[i], l, ELEMENTSOF(l));
                if (n < 0)
                        return step_plan_note(sp, NOTE_WARNING, _("cannot read /proc/net/tcp to see who "
                                                                  "uses port %u: %s"),
                                              ports[i], strerror(-n));
                for (int j = 0; j < n; j++) {
                        if (streq(l[j].comm, "master"))
                                continue; /* Postfix's master: ours to reconfigure */
                        if (l[j].pid > 0)
                                r = step_plan_note(sp, NOTE_ERROR, _("port %u is in use by %s (pid %d), not "
                                                                     "Postfix: stop and remove it first"),
                                                   ports[i], l[j].comm[0] ? l[j].comm : "?", (int) l[j].pid);
                        else
                                r = step_plan_note(sp, NOTE_ERROR, _("port %u is in use by a process "
                                                                     "mxdeck cannot see (another "
                                                                     "namespace?): free it first"),
                                                   ports[i]);
                        if (r < 0)
                                return r;
                        break;
                }
        }
        return 0;
}

/* RHEL: SELinux's mode, from ROOT/sys/fs/selinux/enforce (what getenforce reads). */
static int selinux_check(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (installer_profile(ins)->family != DISTRO_RHEL)
                return 0;
        r = installer_read(ins, "/sys/fs/selinux/enforce", &data, &size);
        if (r == -ENOENT)
                return step_plan_note(sp, NOTE_INFO, _("SELinux is disabled"));
        if (r < 0)
                return step_plan_note(sp, NOTE_WARNING, _("cannot read SELinux's mode: %s"), strerror(-r));
        if (size > 0 && data[0] == '1')
                return step_plan_note(sp, NOTE_INFO, _("SELinux is enforcing: mxdeck writes only in the "
                                                       "directories Postfix and Dovecot are labelled to "
                                                       "read (new files take the directory's label); "
                                                       "'restorecon -Rv /etc/postfix /etc/dovecot' if the "
                                                       "audit log shows denials"));
        return step_plan_note(sp, NOTE_WARNING, _("SELinux is permissive: denials are only logged, and "
                                                  "the setup is not tested as it will run once enforcing"));
}

/* A global IPv6 address: answers public_ipv6, else the first global one of the host. */
static bool global_ipv6(const Answers *a, struct in6_addr *ret) {
        struct ifaddrs *ifa = NULL;
        bool found = false;

        if (a->public_ipv6 && !streq(a->public_ipv6, "auto"))
                return inet_pton(AF_INET6, a->public_ipv6, ret) == 1;
        if (getifaddrs(&ifa) < 0)
                return false;
        for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
                const struct in6_addr *x;
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6)
                        continue;
                x = &((const struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
                /* 2000::/3: global unicast */
                if ((x->s6_addr[0] & 0xe0) == 0x20) {
                        *ret = *x;
                        found = true;
                }
        }
        freeifaddrs(ifa);
        return found;
}

/* IPv6 without a PTR naming the host: Gmail refuses mail sent over it ("The sending IP
 * does not have a PTR record"). A warning, with the answers key that makes Postfix send
 * over IPv4 first. */
static int ipv6_ptr_check(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_(dns_client_freep) DnsClient *c = NULL;
        _cleanup_free_ char *rev = NULL, *err = NULL;
        DnsAnswer ans = {};
        SpfAddr sa = { .family = AF_INET6 };
        struct in6_addr addr;
        char text[INET6_ADDRSTRLEN];
        int r;

        if (!live(ins) || !global_ipv6(a, &addr))
                return 0;
        inet_ntop(AF_INET6, &addr, text, sizeof(text));
        if (streq_ptr(a->smtp_address_preference, "ipv4"))
                return step_plan_note(sp, NOTE_INFO, _("IPv6 address %s: Postfix sends over IPv4 first "
                                                       "([postfix] smtp_address_preference = ipv4)"), text);
        memcpy(sa.a, &addr, 16);
        r = dns_client_new(NULL, PTR_TIMEOUT_MS, &c, &err);
        if (r >= 0)
                r = dns_reverse_name(&sa, &rev);
        if (r >= 0)
                r = dns_query(c, rev, 12 /* PTR */, &ans);
        if (r < 0 || ans.status == DNS_STATUS_TIMEOUT || ans.status == DNS_STATUS_ERROR ||
            ans.status == DNS_STATUS_SERVFAIL || ans.status == DNS_STATUS_REFUSED) {
                r = step_plan_note(sp, NOTE_WARNING, _("IPv6 address %s: cannot look up its PTR record "
                                                       "(%s): without one naming %s, Gmail refuses mail "
                                                       "sent over IPv6; [postfix] smtp_address_preference "
                                                       "= ipv4 sends over IPv4 first"),
                                   text, r < 0 ? strerror(-r) : dns_status_to_string(ans.status), a->hostname);
                dns_answer_done(&ans);
                return r;
        }
        bool named = false;
        for (size_t i = 0; i < ans.n_records; i++)
                if (ans.records[i].text && strcasecmp(ans.records[i].text, a->hostname) == 0)
                        named = true;
        dns_answer_done(&ans);
        if (named)
                return 0;
        return step_plan_note(sp, NOTE_WARNING, _("IPv6 address %s has no PTR record naming %s: Gmail "
                                                  "refuses mail sent over IPv6 from it. Ask the provider "
                                                  "for the PTR record, or set [postfix] "
                                                  "smtp_address_preference = ipv4 to send over IPv4 first"),
                              text, a->hostname);
}

static int other_mta_check(Installer *ins, StepPlan *sp) {
        static const char *const mtas[] = { "/usr/sbin/exim4", "/usr/sbin/exim", "/usr/sbin/sendmail.sendmail" };
        const char *found = NULL;

        for (size_t i = 0; i < ELEMENTSOF(mtas) && !found; i++)
                if (exists_under(ins, mtas[i]))
                        found = mtas[i];
        if (!found)
                return 0;
        if (installer_answers(ins)->remove_other_mta)
                return step_plan_note(sp, NOTE_INFO, _("another mail server is installed (%s): the packages "
                                                       "step removes it ([packages] remove_other_mta = yes)"),
                                      found);
        return step_plan_note(sp, NOTE_ERROR, _("another mail server is installed (%s): it competes for "
                                                "port 25. Remove it, or set [packages] remove_other_mta = "
                                                "yes to have mxdeck remove it"), found);
}

static int disk_check(Installer *ins, StepPlan *sp) {
        _cleanup_free_ char *var = installer_path(ins, "/var");
        struct statvfs sv;
        uint64_t avail;

        if (!var)
                return -ENOMEM;
        if (statvfs(var, &sv) < 0)
                return 0;
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (avail < REFUSE_FREE_BYTES)
                return step_plan_note(sp, NOTE_ERROR, _("only %" PRIu64 " MiB free under /var: packages, "
                                                        "the mail queue and mailboxes need more (at least "
                                                        "300 MiB, better some GiB)"), avail >> 20);
        if (avail < MIN_FREE_BYTES)
                return step_plan_note(sp, NOTE_WARNING, _("less than 1 GiB free under /var: mail will "
                                                          "soon fill it"));
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        const DistroProfile *p = installer_profile(ins);
        OsRelease os = {};
        int r;

        if (streq(installer_root(ins), "/") && geteuid() != 0)
                return step_plan_note(sp, NOTE_ERROR, _("mxdeck setup must run as root"));
        r = osrelease_load(installer_root(ins), &os);
        if (r >= 0) {
                r = version_check(ins, sp, &os);
                osrelease_done(&os);
        } else
                r = step_plan_note(sp, NOTE_WARNING, _("no os-release: assuming the %s profile"), p->name);
        if (r < 0)
                return r;
        r = other_mta_check(ins, sp);
        if (r >= 0)
                r = ports_check(ins, sp);
        if (r >= 0)
                r = disk_check(ins, sp);
        if (r >= 0)
                r = selinux_check(ins, sp);
        if (r >= 0)
                r = ipv6_ptr_check(ins, sp);
        if (r < 0)
                return r;
        _cleanup_free_ char *maincf = NULL;
        if (asprintf(&maincf, "%s/main.cf", p->postfix_dir) < 0)
                return -ENOMEM;
        if (!exists_under(ins, maincf))
                return step_plan_note(sp, NOTE_INFO, _("%s does not exist yet (a fresh \"No configuration\" "
                                                       "install): mxdeck creates it"), maincf);
        return step_plan_note(sp, NOTE_INFO, _("an existing configuration is adopted: only differences "
                                               "are changed"));
}

const Step step_preflight = {
        .name = "preflight",
        .title = N_("can this system take the plan"),
        .inspect = inspect,
};
