/* fuzz_tar.c - berth_tar_first_file, the reader of the archive the engine
 * returns for /etc/passwd and /etc/group (lib/passwd.c).  Properties: the
 * file lies within the archive and is NUL-terminated, and what
 * berth_tar_build writes reads back. */
#include "config.h"

#include "fuzz.h"
#include "berth/container.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *file = NULL, *tar = NULL, *back = NULL;
  size_t flen = 0, tlen = 0, blen = 0;
  berth_error_t err = NULL;

  if (berth_tar_first_file((const char *) data, size, &file, &flen, &err) < 0) {
    FUZZ_ASSERT(err != NULL && file == NULL);
    berth_error_release(&err);
  } else {
    FUZZ_ASSERT(flen <= size && file[flen] == '\0');
    free(file);
  }
  /* round trip of the input as a file's contents */
  struct berth_tar_entry e = { "passwd", (const char *) data, size, 0644 };
  if (berth_tar_build(&e, 1, &tar, &tlen, &err) < 0) {
    berth_error_release(&err);
    return 0;
  }
  FUZZ_ASSERT(berth_tar_first_file(tar, tlen, &back, &blen, &err) == 0);
  FUZZ_ASSERT(blen == size && memcmp(back, data, size) == 0);
  free(back);
  free(tar);
  return 0;
}
