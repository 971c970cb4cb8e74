/* test_sha256.c - SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/sha256.h"
#include "../lib/testlib.h"

static void
hex_of(struct berth_sha256 *c, char out[65])
{
  uint8_t d[32];
  berth_sha256_final(c, d);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

TEST(test_empty)
{
  char hex[65];
  berth_sha256_hex("", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(test_abc)
{
  char hex[65];
  berth_sha256_hex("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(test_448_bits)
{
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char hex[65];
  berth_sha256_hex(m, strlen(m), hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(test_896_bits)
{
  const char *m
      = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmn"
        "opqrlmnopqrsmnopqrstnopqrstu";
  char hex[65];
  berth_sha256_hex(m, strlen(m), hex);
  assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a', fed in odd-sized pieces to exercise buffering. */
TEST(test_million_a)
{
  struct berth_sha256 c;
  char chunk[997], hex[65];
  size_t left = 1000000;

  memset(chunk, 'a', sizeof(chunk));
  berth_sha256_init(&c);
  while (left > 0) {
    size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
    berth_sha256_update(&c, chunk, n);
    left -= n;
  }
  hex_of(&c, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every split of a message across update calls gives the same digest,
 * including lengths around the 55/56/64-byte padding boundaries. */
TEST(test_incremental)
{
  char msg[200], one[65], split[65];

  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (char) (i * 7 + 3);
  for (size_t len = 0; len <= 130; len++) {
    berth_sha256_hex(msg, len, one);
    for (size_t cut = 0; cut <= len; cut += 13) {
      struct berth_sha256 c;
      berth_sha256_init(&c);
      berth_sha256_update(&c, msg, cut);
      berth_sha256_update(&c, msg + cut, len - cut);
      hex_of(&c, split);
      assert_string_equal(one, split);
    }
  }
  /* and known values at the padding boundaries */
  memset(msg, 'a', sizeof(msg));
  berth_sha256_hex(msg, 55, one);
  assert_string_equal(one, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  berth_sha256_hex(msg, 56, one);
  assert_string_equal(one, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  berth_sha256_hex(msg, 64, one);
  assert_string_equal(one, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
