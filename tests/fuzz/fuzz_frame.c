/* fuzz_frame.c - the demultiplexer of framed (non-TTY) exec streams
 * (lib/frame.c).  Properties: only streams 0, 1 and 2 come out, never more
 * payload than the input holds, and any chunking of the input yields the
 * same bytes on each stream and the same verdict. */
#include "config.h"

#include <stdbool.h>

#include "fuzz.h"
#include "berth/engine.h"

struct sink {
  char *out[3];
  size_t len[3], cap;
};

static int
collect(void *ctx, int stream, const char *data, size_t len)
{
  struct sink *s = ctx;
  FUZZ_ASSERT(stream >= 0 && stream <= 2);
  FUZZ_ASSERT(len > 0 && s->len[stream] + len <= s->cap);
  memcpy(s->out[stream] + s->len[stream], data, len);
  s->len[stream] += len;
  return 0;
}

static int
run(const uint8_t *data, size_t size, size_t step, struct sink *s, bool *idle)
{
  struct berth_demux d;
  berth_error_t err = NULL;
  int r = 0;

  s->cap = size + 1;
  for (int i = 0; i <= 2; i++) {
    s->out[i] = malloc(s->cap);
    s->len[i] = 0;
    if (s->out[i] == NULL)
      abort();
  }
  berth_demux_init(&d);
  for (size_t off = 0; off < size && r == 0; off += step) {
    size_t n = size - off < step ? size - off : step;
    r = berth_demux_feed(&d, (const char *) data + off, n, collect, s, &err);
    FUZZ_ASSERT((r < 0) == (err != NULL));
  }
  berth_error_release(&err);
  *idle = berth_demux_idle(&d);
  return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sink a, b;
  bool idle_a, idle_b;
  size_t step;
  int ra, rb;

  if (size == 0)
    return 0;
  step = (size_t) data[0] % 13 + 1;
  data++;
  size--;
  ra = run(data, size, size ? size : 1, &a, &idle_a);
  rb = run(data, size, step, &b, &idle_b);
  FUZZ_ASSERT(a.len[0] + a.len[1] + a.len[2] <= size);
  /* an error may show earlier in one chunking than in the other, so the
   * output is compared only when both ran through */
  FUZZ_ASSERT((ra == 0) == (rb == 0));
  if (ra == 0) {
    FUZZ_ASSERT(idle_a == idle_b);
    for (int i = 0; i <= 2; i++)
      FUZZ_ASSERT(a.len[i] == b.len[i] && memcmp(a.out[i], b.out[i], a.len[i]) == 0);
  }
  for (int i = 0; i <= 2; i++) {
    free(a.out[i]);
    free(b.out[i]);
  }
  return 0;
}
