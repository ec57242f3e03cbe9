/* Fuzzes the parsers of what outside tools print: dpkg-query -W and rpm -q output
 * (installer/step-packages.c), postconf -h / -P output split into lines (probes/base/
 * postconf.c), Postfix lists, the relay-restriction walk and the mynetworks width check
 * (probes/base/restrictions.c) on them. No crash, no leak; every line handed on is
 * terminal-safe, and a package is reported installed only when it was asked about. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "postconf.h"
#include "restrictions.h"
#include "steps.h"
#include "termsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "postfix", "dovecot-core", "dovecot-imapd", "opendkim", "certbot", NULL };

static bool asked(const char *s) {
        for (size_t i = 0; names[i]; i++)
                if (strcmp(s, names[i]) == 0)
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *out = (const char *) data;
        if (size > 1 << 16)
                return 0;

        for (int deb = 0; deb <= 1; deb++) {
                char **v = NULL;
                if (packages_parse_query(out, size, deb, names, &v) >= 0) {
                        for (char **p = v; *p; p++)
                                if (!asked(*p))
                                        abort();
                        strv_free(v);
                }
        }

        char **lines = NULL;
        if (postconf_split_lines(out, size, &lines) < 0)
                return 0;
        for (char **l = lines; *l; l++) {
                if (!utf8_is_valid(*l, strlen(*l)) || strpbrk(*l, "\x1b\r\n\a"))
                        abort();
                char **words = NULL;
                if (postfix_list_split(*l, &words) < 0)
                        continue;
                RelayWalk w = relay_walk(words);
                if (w.verdict == RELAY_OPEN && !w.culprit)
                        abort();
                const char *wide = NULL;
                if (mynetworks_is_open(words, &wide) && !wide)
                        abort();
                strv_free(words);
        }
        strv_free(lines);
        return 0;
}
