/* Word lists: "a b c" strings as catalogs, os-release and Dovecot settings write them. */
#pragma once

#include <stdbool.h>

/* True when word is one of the words of list. Words are separated by any run of spaces,
 * tabs or commas ("imap pop3", "imap, pop3", "debian\tubuntu"); the comparison is exact
 * and case-sensitive. A NULL list or an empty word is never found. */
bool word_in(const char *list, const char *word);
