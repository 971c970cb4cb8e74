/* fuzz.h - what every libFuzzer target under tests/fuzz shares
 * (docs/fuzzing.md).  A target aborts when a property that berth promises
 * is broken, so a finding is not only a crash. */
#ifndef BERTH_FUZZ_H
#define BERTH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (an embedded NUL ends it early, as
 * it would for the C string the code under test receives). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Split the input at the first "\n--\n" into two strings (the second empty
 * when there is none). */
static inline void
fuzz_split(const uint8_t *data, size_t size, char **a, char **b)
{
  const char *sep = memmem(data, size, "\n--\n", 4);
  size_t n = sep ? (size_t) (sep - (const char *) data) : size;
  *a = fuzz_str(data, n);
  *b = sep ? fuzz_str(data + n + 4, size - n - 4) : fuzz_str(data, 0);
}

#define FUZZ_ASSERT(cond)                                                         \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                    \
    }                                                                             \
  } while (0)

#endif
