/* Fuzzes the SMTP, IMAP and POP3 reply parsers and the bounded line splitter. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "mailproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *line, size_t len, SmtpReply *smtp, Pop3Capa *capa) {
        ImapLine l;

        int k = smtp_reply_feed(smtp, line, len);
        if (k != 0) {
                if (k > 0) {
                        (void) smtp_ehlo_has(smtp, "STARTTLS");
                        (void) smtp_ehlo_has(smtp, "AUTH");
                        char *t = smtp_reply_text(smtp);
                        free(t);
                }
                smtp_reply_done(smtp);
        }
        if (imap_parse_line(line, &l) >= 0 && l.rest) {
                (void) imap_capability_has(l.rest, "STARTTLS");
                (void) imap_capability_has(l.rest, "AUTH=PLAIN");
        }
        (void) pop3_parse_status(line);
        k = pop3_capa_feed(capa, line, len);
        if (k != 0) {
                const char *sasl = pop3_capa_has(capa, "SASL");
                if (sasl)
                        (void) sasl_list_has_plaintext(sasl);
                (void) pop3_capa_has(capa, "USER");
                pop3_capa_done(capa);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(smtp_reply_done) SmtpReply smtp = {};
        _cleanup_(pop3_capa_done) Pop3Capa capa = {};
        LineBuf b = {};
        size_t chunk;

        if (size == 0)
                return 0;
        /* The first byte picks how the bytes arrive: one at a time up to 256 at once. */
        chunk = (size_t) data[0] + 1;
        data++;
        size--;

        while (size > 0) {
                size_t room;
                char *p = linebuf_space(&b, &room);
                if (room == 0)
                        break; /* a line too long: the reader gives up here too */
                size_t n = MIN(MIN(room, chunk), size);
                memcpy(p, data, n);
                linebuf_advance(&b, n);
                data += n;
                size -= n;
                for (;;) {
                        const char *line;
                        size_t len;
                        int r = linebuf_next(&b, &line, &len);
                        if (r <= 0)
                                break;
                        one_line(line, len, &smtp, &capa);
                }
        }
        return 0;
}
