/* Fuzzes the transaction journal's reader: journal_check_manifest on any bytes (exactly
 * one outcome, the damaged line within the input, the torn tail only ever the last
 * unterminated line), then history and a rollback of the manifest under a temporary root,
 * with commands recorded instead of run: whatever the manifest says, nothing outside the
 * root is touched (a directory and a file beside it must survive every input). Step calls
 * (steps' own undo, e.g. the firewall's over D-Bus, which does not honour a root) are
 * left out: the journal hands them over as they are. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "journal.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "20261118-000000-abcd"

static char base[64];   /* /tmp/fuzz-journal-XXXXXX: root/, beside-dir/, beside-file */
static char root[96];

static int fake_spawn(const SpawnOptions *opts, SpawnResult *ret, void *userdata) {
        *ret = (SpawnResult) { .exited = true, .exit_status = 0, .out = strdup(""), .err = strdup("") };
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void setup(void) {
        char p[160];

        if (base[0])
                return;
        snprintf(base, sizeof(base), "/tmp/fuzz-journal-XXXXXX");
        if (!mkdtemp(base))
                abort();
        snprintf(root, sizeof(root), "%s/root", base);
        snprintf(p, sizeof(p), "%s/beside-dir", base);
        if (mkdir(p, 0755) < 0)
                abort();
        snprintf(p, sizeof(p), "%s/beside-file", base);
        if (atomic_write_file(p, "x", 1, &(AtomicWriteOptions) { .set_mode = true, .mode = 0644 }, NULL) < 0)
                abort();
}

static void check_beside(void) {
        char p[160];
        struct stat st;

        snprintf(p, sizeof(p), "%s/beside-dir", base);
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                abort();
        snprintf(p, sizeof(p), "%s/beside-file", base);
        if (stat(p, &st) < 0 || st.st_size != 1)
                abort();
}

static bool has_call(json_t *entries) {
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e)
                if (json_is_string(json_object_get(e, "type")) &&
                    streq(json_string_value(json_object_get(e, "type")), "call"))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *entries = NULL;
        JournalCheck c;
        size_t lines = 0, last_nl = 0;
        int r;

        if (size > 64 * 1024)
                return 0;
        for (size_t i = 0; i < size; i++)
                if (data[i] == '\n') {
                        lines++;
                        last_nl = i + 1;
                }
        r = journal_check_manifest((const char *) data, size, ID, &entries, &c);
        if (r == -ENOMEM)
                return 0;
        if (r != 0 && r != -EBADMSG)
                abort();
        if (!entries || !json_is_array(entries))
                abort();
        if (r == 0) {
                /* every whole line an entry; the torn tail only what follows the last newline */
                if (c.reason || c.line || json_array_size(entries) != lines || c.whole != last_nl ||
                    c.torn != (size > last_nl))
                        abort();
        } else if (!c.reason || c.line == 0 || c.line > lines || json_array_size(entries) != c.line - 1 ||
                   c.whole > size)
                abort();
        bool calls = has_call(entries);
        json_decref(entries);
        journal_check_done(&c);
        if (calls)
                return 0;

        /* the same bytes as a transaction under a temporary root */
        setup();
        char tdir[200], mpath[240], bdir[240];
        snprintf(tdir, sizeof(tdir), "%s" JOURNAL_TRANSACTIONS "/" ID, root);
        snprintf(mpath, sizeof(mpath), "%s/manifest.jsonl", tdir);
        snprintf(bdir, sizeof(bdir), "%s/backups", tdir);
        if (mkdir_p(bdir, 0700) < 0 || atomic_write_file(mpath, data, size, &(AtomicWriteOptions) { .set_mode = true, .mode = 0600 }, NULL) < 0)
                abort();

        TransactionInfo *list = NULL;
        size_t n = 0;
        r = journal_list(root, &list, &n);
        if (r == 0) {
                if (n != 1 || (list[0].status == TRANSACTION_DAMAGED) != (list[0].damaged_reason != NULL))
                        abort();
                transaction_infos_free(list, n);
        } else if (r != -ENOMEM)
                abort();

        r = journal_rollback(root, ID, fake_spawn, NULL, NULL, NULL);
        (void) r;
        check_beside();
        (void) nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
