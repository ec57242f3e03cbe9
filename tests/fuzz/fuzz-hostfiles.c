/* Fuzzes the readers of the host's own files: os-release (core/osrelease.c) and the
 * /etc/hosts line that gives the wizard its default host name (tui/wizard.c). No crash,
 * no leak, and what they hand on is terminal-safe: os-release values hold no control
 * character, the host name from /etc/hosts is a valid host name. (/etc/hostname and
 * /etc/mailname are only written by mxdeck, never read.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "osrelease.h"
#include "termsafe.h"
#include "wizard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_safe(const char *s) {
        if (!s)
                return;
        if (!utf8_is_valid(s, strlen(s)))
                abort();
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        abort();
        if (strstr(s, "\xc2\x9b")) /* the 8-bit CSI */
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 1 << 16)
                return 0;
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        OsRelease os;
        if (osrelease_parse(text, &os) >= 0) {
                check_safe(os.id);
                check_safe(os.id_like);
                check_safe(os.version_id);
                check_safe(os.pretty_name);
                osrelease_done(&os);
        }

        /* the host is the first word of the input's first line when there is one */
        static const char *const hosts[] = { "mail", "localhost", "" };
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++) {
                char *fqdn = NULL;
                int r = wizard_fqdn_from_hosts(text, hosts[i], &fqdn);
                if (r > 0 && (!fqdn || !hostname_is_valid(fqdn) || !strchr(fqdn, '.')))
                        abort();
                if (r == 0 && fqdn)
                        abort();
                free(fqdn);
        }
        free(text);
        return 0;
}
