/* Runs a libFuzzer target over every file of its seed corpus, for builds without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[]) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        fprintf(stderr, "cannot open corpus %s: %m\n", argv[i]);
                        return 1;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *path = NULL, *buf = NULL;
                        size_t size;
                        if (asprintf(&path, "%s/%s", argv[i], de->d_name) < 0)
                                return 1;
                        int r = read_file_bounded(path, 16 * 1024 * 1024, &buf, &size);
                        if (r < 0) {
                                fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
                                closedir(d);
                                return 1;
                        }
                        LLVMFuzzerTestOneInput((const uint8_t *) buf, size);
                        n++;
                }
                closedir(d);
        }
        if (n == 0) {
                fprintf(stderr, "empty corpus\n");
                return 1;
        }
        printf("%u inputs ran without a crash\n", n);
        return 0;
}
