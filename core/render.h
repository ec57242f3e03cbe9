/* Renderers: a Report as text for people, JSON for programs, Nagios plugin output and
 * Prometheus text exposition for monitoring systems. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "finding.h"

typedef enum RenderFormat {
        RENDER_TEXT,
        RENDER_JSON,
        RENDER_NAGIOS,
        RENDER_PROMETHEUS,
        _RENDER_FORMAT_MAX,
        _RENDER_FORMAT_INVALID = -EINVAL,
} RenderFormat;

RenderFormat render_format_from_string(const char *s);
const char *render_format_to_string(RenderFormat f);

typedef struct RenderOptions {
        bool color;   /* text only: ANSI colours (the caller decides: TTY and NO_COLOR unset) */
        bool verbose; /* text only: detail and target for ok findings too */
} RenderOptions;

/* Writes the report to f. Returns 0, or negative errno (-EIO on a write error). */
int render_report(FILE *f, RenderFormat format, const Report *r, const RenderOptions *o);

int render_text(FILE *f, const Report *r, const RenderOptions *o);
int render_json(FILE *f, const Report *r);
int render_nagios(FILE *f, const Report *r);
int render_prometheus(FILE *f, const Report *r);

/* The Nagios exit code for a status (0..3). */
int render_nagios_exit_code(Status s);
