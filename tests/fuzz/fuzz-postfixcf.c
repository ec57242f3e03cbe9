/* Fuzzes the main.cf/master.cf readers and the postconf previews (installer/postfixcf.c),
 * and the unified diff between the text and its edited form: no crash, no leak, and an
 * edit always yields the value it set when read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "macro.h"
#include "postfixcf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        char *names[] = { (char *) "myhostname", (char *) "smtpd_banner" };
        char *values[] = { (char *) "mail.example.test", (char *) "$myhostname ESMTP" };
        char *out = NULL, *v = NULL, *d = NULL, *m = NULL, *m2 = NULL;
        size_t out_size, m_size, m2_size;
        MasterEntry e = {};

        if (size > 1 << 16)
                return 0;
        if (maincf_get(text, size, "myhostname", &v) >= 0)
                free(v);
        if (maincf_set(text, size, names, values, 2, &out, &out_size) >= 0) {
                /* what was set reads back, whatever the text around it -- unless the text
                 * lacks its final newline: postconf then glues the first new line onto the
                 * last one, and so does the preview (the installer adds the newline first) */
                if (size == 0 || text[size - 1] == '\n') {
                        if (maincf_get(out, out_size, "myhostname", &v) < 0 || strcmp(v, values[0]) != 0)
                                abort();
                        free(v);
                }
                (void) diff_unified("/etc/postfix/main.cf", text, size, out, out_size, &d);
                free(d);
                free(out);
        }
        if (mastercf_get(text, size, "smtp", "inet", &e) >= 0) {
                free(master_entry_fields(&e));
                (void) master_entry_option(&e, "syslog_name");
                master_entry_done(&e);
        }
        if (mastercf_set_entry(text, size, "submission inet n - y - - smtpd", &m, &m_size) >= 0) {
                if (mastercf_set_option(m, m_size, "submission", "inet", "syslog_name", "postfix/submission",
                                        &m2, &m2_size) < 0)
                        abort(); /* the entry was just written */
                if (mastercf_get(m2, m2_size, "submission", "inet", &e) < 0 ||
                    !streq_ptr(master_entry_option(&e, "syslog_name"), "postfix/submission"))
                        abort();
                master_entry_done(&e);
                free(m2);
                free(m);
        }
        return 0;
}
