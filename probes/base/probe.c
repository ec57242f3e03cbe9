/* The check-group selection every probe consults. */
#include <string.h>

#include "macro.h"
#include "probe.h"

bool check_group_selected(const CheckContext *ctx, const char *group) {
        if (!ctx->only)
                return true;
        for (const char *const *g = ctx->only; *g; g++)
                if (streq(*g, group))
                        return true;
        return false;
}
