/* frame.h - framed (non-TTY) exec stream demultiplexing.
 * Frame: [type:1][0 0 0][len:4 big-endian][payload].  type 0 stdin, 1 stdout,
 * 2 stderr.  The demuxer is incremental: feed any chunking, get callbacks. */
#ifndef BERTH_FRAME_H
#define BERTH_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "berth/error.h"

/* The callback returns 0, or < 0 to stop (-errno, e.g. -EPIPE, becomes the
 * error's status).  Payload is passed on as it arrives, so one frame may
 * take several calls; zero-length frames make none. */
typedef int (*berth_frame_cb)(void *ctx, int stream, const char *data, size_t len);
struct berth_demux {
  unsigned char hdr[8];
  size_t hdr_fill;
  int stream;
  uint32_t remaining;
};
void berth_demux_init(struct berth_demux *d);
/* Returns 0, or -1 with err on a malformed frame or a callback failure. */
int berth_demux_feed(struct berth_demux *d, const char *buf, size_t len, berth_frame_cb cb,
                     void *ctx, berth_error_t *err);
/* true when no partial frame is pending (clean end of stream). */
bool berth_demux_idle(const struct berth_demux *d);

#endif
