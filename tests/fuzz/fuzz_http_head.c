/* fuzz_http_head.c - berth_http_parse_head, the strict parser of the engine's
 * response heads on hijacked and spare connections.  Properties: a head
 * length never exceeds the input, a status is 100..599, and a head accepted
 * whole is accepted again when fed in two pieces (incremental reads). */
#include "config.h"

#include "fuzz.h"
#include "berth/engine.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *buf = (const char *) data;
  berth_error_t err = NULL;
  int status = 0;
  long r;

  if (size == 0)
    return 0;
  r = berth_http_parse_head(buf, size, &status, &err);
  FUZZ_ASSERT(r <= (long) size);
  FUZZ_ASSERT((r < 0) == (err != NULL));
  berth_error_release(&err);
  if (r > 0) {
    FUZZ_ASSERT(status >= 100 && status <= 599);
    /* every proper prefix of the head is "incomplete", never an error */
    size_t cut = (size_t) data[0] % (size_t) r;
    if (cut > 0) {
      int st2 = 0;
      long r2 = berth_http_parse_head(buf, cut, &st2, &err);
      FUZZ_ASSERT(r2 == 0 && err == NULL);
    }
  }
  return 0;
}
