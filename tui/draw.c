/* Drawing helpers: colours with graceful fallbacks, width-aware UTF-8 text. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "macro.h"
#include "termsafe.h"
#include "ui.h"

Ui ui;

attr_t ui_attr(UiColor c) {
        if (ui.color)
                switch (c) {
                case UI_NORMAL:
                        return A_NORMAL;
                case UI_SELECTED:
                        return A_REVERSE;
                case UI_HEADER:
                        return COLOR_PAIR(c) | A_BOLD;
                case UI_TITLE:
                case UI_BAR_KEY:
                        return COLOR_PAIR(c) | A_BOLD;
                case UI_DIM:
                        return COLOR_PAIR(c) | A_DIM;
                case UI_CRITICAL:
                        return COLOR_PAIR(c) | A_BOLD;
                default:
                        return COLOR_PAIR(c);
                }
        /* Monochrome: meaning through weight and reverse video only. */
        switch (c) {
        case UI_CRITICAL:
        case UI_HEADER:
        case UI_BAR_KEY:
                return A_BOLD;
        case UI_TITLE:
        case UI_SELECTED:
        case UI_BAR_TEXT:
                return A_REVERSE;
        case UI_WARNING:
        case UI_MATCH:
                return A_UNDERLINE;
        case UI_DIM:
                return A_DIM;
        default:
                return A_NORMAL;
        }
}

attr_t ui_status_attr(Status s) {
        switch (s) {
        case STATUS_OK:
                return ui_attr(UI_OK);
        case STATUS_WARNING:
                return ui_attr(UI_WARNING);
        case STATUS_CRITICAL:
                return ui_attr(UI_CRITICAL);
        default:
                return ui_attr(UI_UNKNOWN);
        }
}

const char *ui_status_word(Status s) {
        switch (s) {
        case STATUS_OK:
                return "OK  ";
        case STATUS_WARNING:
                return "WARN";
        case STATUS_CRITICAL:
                return "CRIT";
        default:
                return "UNKN";
        }
}

int ui_text(int y, int x, int width, const char *s, attr_t attr, bool pad) {
        if (width <= 0 || y < 0 || y >= ui.rows || x >= ui.cols)
                return 0;
        width = MIN(width, ui.cols - x);
        const char *p = s ? s : "";
        size_t len = strlen(p);
        int used = 0;
        attr_set(attr, 0, NULL);
        move(y, x);
        while (len > 0) {
                uint32_t cp;
                size_t n = utf8_decode(p, len, &cp);
                if (n == 0)
                        break;
                if (cp == UTF8_INVALID || !termsafe_codepoint_is_safe(cp)) {
                        /* Never raw: an undecodable or control byte shows as '?'. */
                        if (used + 1 > width)
                                break;
                        addch('?' | attr);
                        used++;
                } else {
                        int w = (int) termsafe_codepoint_width(cp);
                        if (used + w > width)
                                break;
                        if (w > 0 || used > 0) {
                                wchar_t wc[2] = { (wchar_t) cp, 0 };
                                cchar_t cc;
                                if (setcchar(&cc, wc, attr, 0, NULL) == OK)
                                        add_wch(&cc);
                                used += w;
                        }
                }
                p += n;
                len -= n;
        }
        if (pad)
                for (; used < width; used++)
                        addch(' ' | attr);
        attr_set(A_NORMAL, 0, NULL);
        return used;
}

size_t ui_wrap_bytes(const char *s, size_t len, int width) {
        size_t off = 0, last_space = 0;
        int used = 0;
        while (off < len) {
                uint32_t cp;
                size_t n = utf8_decode(s + off, len - off, &cp);
                if (n == 0)
                        break;
                int w = cp == UTF8_INVALID || !termsafe_codepoint_is_safe(cp) ? 1 : (int) termsafe_codepoint_width(cp);
                if (used + w > width)
                        break;
                used += w;
                off += n;
                if (cp == ' ')
                        last_space = off;
        }
        if (off < len && last_space > 0 && last_space > off / 2)
                return last_space; /* break after a space when one is not too far back */
        return off > 0 ? off : MIN(len, (size_t) 1);
}

void ui_fill(int y, int x, int width, attr_t attr) {
        ui_text(y, x, width, "", attr, true);
}

void ui_age(uint64_t s, char buf[static 16]) {
        if (s < 60)
                snprintf(buf, 16, "%us", (unsigned) s);
        else if (s < 3600)
                snprintf(buf, 16, "%um", (unsigned) (s / 60));
        else if (s < 86400)
                snprintf(buf, 16, "%uh", (unsigned) (s / 3600));
        else
                snprintf(buf, 16, "%ud", (unsigned) (s / 86400));
}
