/* The message language: locale from the environment, --lang/setting override, English for
 * the machine formats, and a fallback through LANGUAGE when the locale is not generated. */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "macro.h"

/* Longest language name --lang and the setting take. */
#define LANG_MAX 64

static bool is_c(const char *l) {
        return !l || !*l || streq(l, "C") || streq(l, "POSIX") || streq(l, "en") ||
               strncmp(l, "C.", 2) == 0 || strncmp(l, "en_", 3) == 0 || strncmp(l, "en.", 3) == 0;
}

bool i18n_lang_is_valid(const char *l) {
        size_t i = 0, n;

        if (!l || !*l || strlen(l) >= LANG_MAX)
                return false;
        if (streq(l, "C") || streq(l, "POSIX") || strncmp(l, "C.", 2) == 0)
                return true;
        /* ll or lll, then _CC, .codeset, @modifier, each optional and in this order */
        for (n = 0; l[i] >= 'a' && l[i] <= 'z'; i++)
                n++;
        if (n < 2 || n > 3)
                return false;
        if (l[i] == '_') {
                i++;
                for (n = 0; (l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= '0' && l[i] <= '9'); i++)
                        n++;
                if (n < 2 || n > 3)
                        return false;
        }
        if (l[i] == '.') {
                i++;
                for (n = 0; l[i] && l[i] != '@'; i++, n++)
                        if (!((l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= 'a' && l[i] <= 'z') ||
                              (l[i] >= '0' && l[i] <= '9') || l[i] == '-' || l[i] == '_'))
                                return false;
                if (n == 0)
                        return false;
        }
        if (l[i] == '@') {
                i++;
                for (n = 0; (l[i] >= 'a' && l[i] <= 'z') || (l[i] >= 'A' && l[i] <= 'Z'); i++)
                        n++;
                if (n == 0)
                        return false;
        }
        return l[i] == 0;
}

static bool ctype_is_utf8(void) {
        const char *cs = nl_langinfo(CODESET);
        return cs && (streq(cs, "UTF-8") || streq(cs, "utf8"));
}

static bool utf8_ctype(void) {
        static const char *const tries[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };

        if (ctype_is_utf8())
                return true;
        for (size_t i = 0; i < ELEMENTSOF(tries); i++)
                if (setlocale(LC_CTYPE, tries[i]) && ctype_is_utf8())
                        return true;
        return false;
}

/* Messages in lang (not C): its own locale when generated; else any UTF-8 locale for
 * LC_MESSAGES (gettext ignores LANGUAGE only when LC_MESSAGES is "C") with LANGUAGE naming
 * the catalogue. LANGUAGE is set in both cases, since it wins over LC_MESSAGES; children
 * do not see it (spawn gives them a fixed environment with LC_ALL=C). */
static int messages_in(const char *lang) {
        char name[LANG_MAX + 8];
        bool have;

        if (strchr(lang, '.'))
                snprintf(name, sizeof(name), "%s", lang);
        else
                snprintf(name, sizeof(name), "%s.UTF-8", lang);
        have = setlocale(LC_MESSAGES, name) || setlocale(LC_MESSAGES, lang);
        /* The text is UTF-8 (the catalogue is bound so); the terminal library needs a UTF-8
         * LC_CTYPE to draw it. */
        if (!utf8_ctype())
                return -ENOENT;
        if (!have && !setlocale(LC_MESSAGES, "C.UTF-8") && !setlocale(LC_MESSAGES, "C.utf8"))
                return -ENOENT;
        if (setenv("LANGUAGE", lang, 1) < 0)
                return -errno;
        return 0;
}

static const char *env_messages(void) {
        static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };

        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                const char *v = getenv(vars[i]);
                if (v && *v)
                        return v;
        }
        return NULL;
}

int i18n_init(const char *lang, I18nFlags flags) {
        const char *dir = secure_getenv("MXDECK_LOCALEDIR");
        bool env_ok;
        int r = 0;

        if (lang && !i18n_lang_is_valid(lang))
                return -EINVAL;

        env_ok = setlocale(LC_ALL, "") != NULL;
        if (!env_ok) {
                /* One category's locale is missing: setlocale(LC_ALL) changed nothing. Take
                 * each category that exists. */
                static const int cats[] = { LC_CTYPE, LC_COLLATE, LC_TIME, LC_MESSAGES, LC_MONETARY };
                for (size_t i = 0; i < ELEMENTSOF(cats); i++)
                        (void) setlocale(cats[i], "");
        }
        /* Numbers in every output are C's (a decimal point, no grouping). */
        setlocale(LC_NUMERIC, "C");

        bindtextdomain(GETTEXT_PACKAGE, dir && *dir ? dir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);

        if (flags & I18N_UNTRANSLATED) {
                /* gettext ignores LANGUAGE when LC_MESSAGES is exactly "C"; so does libc's
                 * strerror. */
                setlocale(LC_MESSAGES, "C");
                return 0;
        }

        if (lang) {
                if (is_c(lang)) {
                        setlocale(LC_MESSAGES, "C");
                        return 0;
                }
                return messages_in(lang);
        }

        /* The environment's language. When its locale is generated, gettext does the rest
         * (LANGUAGE included). When not, the same fallback as --lang. */
        const char *cur = setlocale(LC_MESSAGES, NULL);
        const char *want = env_messages();
        if (cur && !streq(cur, "C") && !streq(cur, "POSIX"))
                return 0; /* the user's locale as it is: gettext reads LANGUAGE too */
        if (want && !is_c(want) && i18n_lang_is_valid(want))
                r = messages_in(want);
        return r;
}
