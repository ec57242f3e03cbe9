/* Word lists: "a b c" strings as catalogs, os-release and Dovecot settings write them. */
#include <string.h>

#include "words.h"

#define WORD_SEPARATORS " \t,"

bool word_in(const char *list, const char *word) {
        size_t l;

        if (!list || !word || !*word)
                return false;
        l = strlen(word);
        for (const char *p = list;;) {
                p += strspn(p, WORD_SEPARATORS);
                if (!*p)
                        return false;
                size_t n = strcspn(p, WORD_SEPARATORS);
                if (n == l && strncmp(p, word, l) == 0)
                        return true;
                p += n;
        }
}
