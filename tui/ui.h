/* What panels share inside tui/: the screen, drawing helpers, the panel vtable. */
#pragma once

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "finding.h"

/* Colour pairs (attributes fall back to bold/reverse without colour). */
typedef enum UiColor {
        UI_NORMAL,
        UI_OK,
        UI_WARNING,
        UI_CRITICAL,
        UI_UNKNOWN,
        UI_TITLE,
        UI_BAR_KEY,
        UI_BAR_TEXT,
        UI_HEADER,
        UI_DIM,
        UI_SELECTED,
        UI_MATCH,
        _UI_COLOR_MAX,
} UiColor;

typedef struct Ui {
        int rows, cols;
        bool color;
        bool ascii;
        bool low_bandwidth;
} Ui;

extern Ui ui;

attr_t ui_attr(UiColor c);
attr_t ui_status_attr(Status s);
/* Short fixed-width word for a status: "OK  ", "WARN", "CRIT", "UNKN". */
const char *ui_status_word(Status s);

/* Draws UTF-8 text at (y, x) in at most width columns (wide characters measured, never
 * cut in half); pads with spaces to width when pad. Text must be terminal-safe already
 * (findings are); anything else goes through termsafe first. Returns columns drawn. */
int ui_text(int y, int x, int width, const char *s, attr_t attr, bool pad);
/* How many bytes of s (len bytes) to put on a line of width columns when wrapping:
 * whole characters, after a space when there is one in the second half; at least one
 * character so wrapping always advances. */
size_t ui_wrap_bytes(const char *s, size_t len, int width);
/* Fills a line with spaces in attr. */
void ui_fill(int y, int x, int width, attr_t attr);
/* Formats a duration for "updated 3s ago", "2m", "1h". */
void ui_age(uint64_t seconds, char buf[static 16]);

/* The result of a key handed to a panel. */
typedef enum KeyResult {
        KEY_IGNORED,
        KEY_HANDLED,
} KeyResult;

typedef struct Panel Panel;

/* A panel: data handed to it, never fetched by it while drawing. */
struct Panel {
        const char *name;   /* "health" */
        const char *title;  /* N_() marked, shown in the tab line */
        void (*draw)(Panel *p, int top, int height);
        KeyResult (*key)(Panel *p, int key);
        /* Keys this panel adds to the function bar: "F5", "Refresh", ... NULL-terminated pairs. */
        const char *const *bar;
        void (*free)(Panel *p);
        /* Called once a second (less in low-bandwidth mode): true when something shown changed. */
        bool (*tick)(Panel *p);
        /* Search (/ then n/N): move to the next match of text in direction dir (+1/-1);
         * false when there is none. Filter (\): show only what matches text ("" = all). */
        bool (*search)(Panel *p, const char *text, int dir);
        void (*filter)(Panel *p, const char *text);
        /* A click (mouse button 1) at screen row y, column x inside the panel's area (may be
         * NULL): select what is there; a click on what is already selected acts as Enter. */
        KeyResult (*click)(Panel *p, int y, int x);
};
