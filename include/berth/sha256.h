/* sha256.h - SHA-256, used for name suffixes and the container spec hash. */
#ifndef BERTH_SHA256_H
#define BERTH_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct berth_sha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t buf[64];
  size_t fill;
};

void berth_sha256_init(struct berth_sha256 *c);
void berth_sha256_update(struct berth_sha256 *c, const void *data, size_t len);
void berth_sha256_final(struct berth_sha256 *c, uint8_t out[32]);
/* Hex digest of data into out (65 bytes incl. NUL). */
void berth_sha256_hex(const void *data, size_t len, char out[65]);

#endif
