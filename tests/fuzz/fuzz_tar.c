/* libFuzzer target: opening a sealed archive (strict ustar reader, manifest
 * parser, signature check) and hashing its members, over a memory file.
 * Nothing may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sealroom/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz_tar", MFD_CLOEXEC);
        if (fd < 0)
            abort();
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    sr_error err;
    sr_archive *a = NULL;
    if (sr_archive_open_fd(fd, &a, &err) == SR_OK) {
        (void)sr_archive_verify_digests(a, &err);
        sr_archive_close(a);
    }
    return 0;
}
