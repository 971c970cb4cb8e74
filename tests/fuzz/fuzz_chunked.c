/* fuzz_chunked.c - berth_http_dechunk, chunked bodies of the engine's
 * replies.  Properties: the decoded length never exceeds the input, the
 * message end lies within the input, decoding in place gives what decoding
 * into a separate buffer gives, and a body once complete stays complete
 * with the same result when more bytes follow. */
#include "config.h"

#include "fuzz.h"
#include "berth/engine.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *) data;
  char *out = malloc(size + 1), *inplace = malloc(size + 1);
  size_t olen = 0, used = 0, olen2 = 0, used2 = 0;
  int r, r2;

  if (out == NULL || inplace == NULL)
    abort();
  r = berth_http_dechunk(in, size, out, size, &olen, &used);
  FUZZ_ASSERT(r >= -1 && r <= 1);
  if (r == 1) {
    FUZZ_ASSERT(olen <= size && used <= size);
    memcpy(inplace, in, size);
    r2 = berth_http_dechunk(inplace, size, inplace, size, &olen2, &used2);
    FUZZ_ASSERT(r2 == 1 && olen2 == olen && used2 == used);
    FUZZ_ASSERT(memcmp(inplace, out, olen) == 0);
    /* only scanning agrees */
    r2 = berth_http_dechunk(in, size, NULL, size, &olen2, &used2);
    FUZZ_ASSERT(r2 == 1 && olen2 == olen && used2 == used);
    /* the message ends at `used`: the same without what follows */
    r2 = berth_http_dechunk(in, used, out, size, &olen2, &used2);
    FUZZ_ASSERT(r2 == 1 && olen2 == olen && used2 == used);
  }
  /* without trailers (the error-body path) */
  r2 = berth_http_dechunk(in, size, out, size / 2, &olen2, NULL);
  FUZZ_ASSERT(r2 >= -1 && r2 <= 1);
  if (r2 == 1)
    FUZZ_ASSERT(olen2 <= size);
  free(out);
  free(inplace);
  return 0;
}
