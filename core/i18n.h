/* Which language mxdeck's messages are in: the environment (LC_ALL, LC_MESSAGES, LANG and
 * LANGUAGE, as gettext reads them), overridden by --lang or the [general] language setting;
 * and none at all for output meant for machines (JSON, Nagios, Prometheus). */
#pragma once

#include <stdbool.h>

typedef enum I18nFlags {
        /* Output for machines: messages stay in English whatever the language asked for, so
         * the output is the same byte for byte under every locale. */
        I18N_UNTRANSLATED = 1u << 0,
} I18nFlags;

/* A language as --lang and the setting take it: "C" or "POSIX" or "en" (no translation),
 * or a locale name such as zh_CN, zh_CN.UTF-8, pt_BR@euro. */
bool i18n_lang_is_valid(const char *lang);

/* Sets the process locale from the environment, then the message language from lang when
 * non-NULL (else the environment's), and binds mxdeck's catalogue (from $MXDECK_LOCALEDIR
 * when set: the build tree's po/, for tests; else the installed one), always as UTF-8.
 * A language whose locale is not generated on this host still works when a UTF-8 locale
 * is (C.UTF-8 is built into glibc >= 2.35): the catalogue is chosen through LANGUAGE.
 * Numbers are always formatted in the C locale (LC_NUMERIC), for the machine formats.
 * Returns 0, or -ENOENT when lang (or the environment's language) cannot be shown because
 * no UTF-8 locale exists at all (messages then stay English), -EINVAL for a bad lang. */
int i18n_init(const char *lang, I18nFlags flags);
