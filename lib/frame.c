/* frame.c - incremental demultiplexer for the engine's framed (non-TTY) streams. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "berth/frame.h"

/* Without a TTY the engine multiplexes stdout and stderr on the one hijacked
 * connection (moby stdcopy): every frame starts with an 8-byte header
 *   [stream type][0][0][0][payload length, 32-bit big-endian]
 * with type 0 stdin, 1 stdout, 2 stderr.  Frames arrive split at arbitrary
 * byte boundaries (the engine writes them as the process produces output and
 * the kernel hands them out as it likes), so the state machine below keeps a
 * partial header across calls and hands payload on as soon as it arrives
 * instead of buffering whole frames (they can be megabytes long). */

void
berth_demux_init(struct berth_demux *d)
{
  memset(d, 0, sizeof(*d));
}

bool
berth_demux_idle(const struct berth_demux *d)
{
  return d->hdr_fill == 0 && d->remaining == 0;
}

static int
parse_header(struct berth_demux *d, berth_error_t *err)
{
  const unsigned char *h = d->hdr;

  if (h[0] > 2 || h[1] != 0 || h[2] != 0 || h[3] != 0)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "malformed stream frame header %02x %02x %02x %02x", h[0], h[1], h[2],
                            h[3]);
  d->stream = h[0];
  d->remaining = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];
  d->hdr_fill = 0;
  return 0;
}

int
berth_demux_feed(struct berth_demux *d, const char *buf, size_t len, berth_frame_cb cb, void *ctx,
                 berth_error_t *err)
{
  while (len > 0) {
    if (d->remaining == 0) {
      size_t take = sizeof(d->hdr) - d->hdr_fill;
      if (take > len)
        take = len;
      memcpy(d->hdr + d->hdr_fill, buf, take);
      d->hdr_fill += take;
      buf += take;
      len -= take;
      if (d->hdr_fill < sizeof(d->hdr))
        return 0;
      if (parse_header(d, err) < 0)
        return -1;
      continue; /* a zero-length frame is legal and carries nothing */
    }
    size_t take = len < d->remaining ? len : d->remaining;
    int r = cb(ctx, d->stream, buf, take);
    if (r < 0)
      return berth_error_errno(err, BERTH_E_INTERNAL, r < -1 ? -r : EIO,
                               "passing on output of stream %d", d->stream);
    d->remaining -= (uint32_t) take;
    buf += take;
    len -= take;
  }
  return 0;
}
