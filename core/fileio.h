/* File helpers: atomic replace with backup, bounded reads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct AtomicWriteOptions {
        /* When the file exists its mode and owner are kept unless set_mode/set_owner
         * say otherwise; a new file gets `mode` (0644 when set_mode is false). */
        bool set_mode;
        mode_t mode;
        bool set_owner;
        uid_t uid;
        gid_t gid;
        /* When non-NULL and the file exists, a byte-for-byte copy of the original (same
         * mode) is written into this directory first, fsynced, before anything changes. */
        const char *backup_dir;
} AtomicWriteOptions;

/* Replaces path with data: temp file in the same directory (created with O_EXCL and the
 * final mode from the start, so a secret is never readable by others even briefly),
 * write, fsync, rename over the target, fsync of the directory. On any failure the
 * original is untouched and the temp file removed (if the process dies mid-write, a stray
 * ".#NAME.XXXXXX" may remain beside it; the original is still intact). When a backup is
 * made and ret_backup is non-NULL, its path is returned there (caller frees); the backup
 * is named after the absolute path ("/etc/postfix/main.cf" -> "etc_postfix_main.cf", '_'
 * and other bytes outside [A-Za-z0-9.-] as %XX, "~N" appended when the name is taken) and
 * backup_dir is created 0700 when missing. The last path component must not be a symlink:
 * following it would silently write somewhere else, so that is -ELOOP (directories on the
 * way are followed); a directory is -EISDIR, any other non-regular file -EINVAL. Replacing
 * breaks hard links and does not carry over ACLs, xattrs or SELinux labels. Returns 0 or
 * negative errno; after the rename only the directory fsync can fail, and then the new
 * content is in place but may not be durable yet. */
int atomic_write_file(const char *path, const void *data, size_t size,
                      const AtomicWriteOptions *opts, char **ret_backup);

/* Reads a whole regular file of at most max_size bytes into a NUL-terminated buffer.
 * Returns 0, -EFBIG when larger than max_size, -EBADFD when it is not a regular file
 * (a FIFO, socket or device), -EISDIR, or negative errno. */
/* mkdir -p: creates path and every missing parent with mode (existing directories are
 * left as they are). Returns 0, -ENOTDIR when path or a parent exists but is not a
 * directory, or another negative errno. */
int mkdir_p(const char *path, mode_t mode);

int read_file_bounded(const char *path, size_t max_size, char **ret, size_t *ret_size);
