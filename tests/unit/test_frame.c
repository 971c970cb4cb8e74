/* test_frame.c - the framed-stream demultiplexer under every chunking. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/engine.h"
#include "../lib/testlib.h"

/* What the consumer saw: stdout and stderr reassembled, and the order in
 * which the streams were seen (one letter per callback run of a stream). */
struct sink {
  char out[4096], err[4096];
  size_t n_out, n_err;
  char order[256];
  size_t n_order;
  int calls;
  int fail_with; /* return this from the callback when non-zero */
  int last_stream;
};

static int
collect(void *ctx, int stream, const char *data, size_t len)
{
  struct sink *s = ctx;

  s->calls++;
  assert_true(len > 0); /* zero-length frames must not reach the consumer */
  if (s->fail_with)
    return s->fail_with;
  if ((s->n_order == 0 || stream != s->last_stream) && s->n_order < sizeof(s->order) - 1) {
    s->order[s->n_order++] = stream == 1 ? 'o' : stream == 2 ? 'e' : 'i';
    s->last_stream = stream;
  }
  if (stream == 2) {
    assert_true(s->n_err + len <= sizeof(s->err));
    memcpy(s->err + s->n_err, data, len);
    s->n_err += len;
  } else {
    assert_true(s->n_out + len <= sizeof(s->out));
    memcpy(s->out + s->n_out, data, len);
    s->n_out += len;
  }
  return 0;
}

/* One demuxer feeding one sink, fresh for each stream a test sends. */
struct rig {
  struct berth_demux d;
  struct sink s;
  berth_error_t err;
  char frame[64]; /* the one frame rig_frame built */
};

static void
rig_init(struct rig *r)
{
  memset(r, 0, sizeof(*r));
  berth_demux_init(&r->d);
}

static int
feed(struct rig *r, const char *buf, size_t n)
{
  return berth_demux_feed(&r->d, buf, n, collect, &r->s, &r->err);
}

static size_t
put_frame(char *buf, int type, const char *payload, size_t len)
{
  buf[0] = (char) type;
  buf[1] = buf[2] = buf[3] = 0;
  buf[4] = (char) (len >> 24);
  buf[5] = (char) (len >> 16);
  buf[6] = (char) (len >> 8);
  buf[7] = (char) len;
  memcpy(buf + 8, payload, len);
  return 8 + len;
}

/* stdout "hello\n", stderr "oops", an empty stdout frame, stdout "bye" */
static size_t
sample(char *buf)
{
  size_t n = 0;
  n += put_frame(buf + n, 1, "hello\n", 6);
  n += put_frame(buf + n, 2, "oops", 4);
  n += put_frame(buf + n, 1, "", 0);
  n += put_frame(buf + n, 1, "bye", 3);
  return n;
}

static void
check_sample(const struct sink *s)
{
  assert_int_equal(s->n_out, 9);
  assert_memory_equal(s->out, "hello\nbye", 9);
  assert_int_equal(s->n_err, 4);
  assert_memory_equal(s->err, "oops", 4);
  assert_string_equal(s->order, "oeo");
}

/* A fresh rig holding one frame of TYPE in r->frame; returns its length. */
static size_t
rig_frame(struct rig *r, int type, const char *payload, size_t len)
{
  rig_init(r);
  return put_frame(r->frame, type, payload, len);
}

/* The whole sample went in: no error, all of it out, nothing half read. */
static void
sample_done(const struct rig *r)
{
  assert_null(r->err);
  check_sample(&r->s);
  assert_true(berth_demux_idle(&r->d));
}

TEST(test_whole_buffer)
{
  char buf[128];
  size_t n = sample(buf);
  struct rig r;

  rig_init(&r);
  assert_true(berth_demux_idle(&r.d));
  assert_int_equal(feed(&r, buf, n), 0);
  sample_done(&r);
}

/* Split the sample in two at every byte offset, then in three at every pair. */
TEST(test_every_split)
{
  char buf[128];
  size_t n = sample(buf);

  for (size_t i = 0; i <= n; i++) {
    for (size_t j = i; j <= n; j++) {
      struct rig r;
      rig_init(&r);
      assert_int_equal(feed(&r, buf, i), 0);
      assert_int_equal(feed(&r, buf + i, j - i), 0);
      assert_int_equal(feed(&r, buf + j, n - j), 0);
      sample_done(&r);
    }
  }
}

TEST(test_one_byte_at_a_time)
{
  char buf[128];
  size_t n = sample(buf);
  struct rig r;

  rig_init(&r);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(feed(&r, buf + i, 1), 0);
    /* idle exactly at frame boundaries: after byte 14, 26, 34 and 45 */
    bool boundary = i + 1 == 14 || i + 1 == 26 || i + 1 == 34 || i + 1 == n;
    assert_int_equal(berth_demux_idle(&r.d), boundary);
  }
  check_sample(&r.s);
}

TEST(test_partial_frame_not_idle)
{
  struct rig r;
  size_t n = rig_frame(&r, 1, "abcdef", 6);

  /* header only: not idle, nothing delivered */
  assert_int_equal(feed(&r, r.frame, 8), 0);
  assert_false(berth_demux_idle(&r.d));
  assert_int_equal(r.s.calls, 0);
  /* part of the payload is passed on at once, not held back */
  assert_int_equal(feed(&r, r.frame + 8, 2), 0);
  assert_int_equal(r.s.n_out, 2);
  assert_false(berth_demux_idle(&r.d));
  assert_int_equal(feed(&r, r.frame + 10, n - 10), 0);
  assert_true(berth_demux_idle(&r.d));
  assert_memory_equal(r.s.out, "abcdef", 6);
  /* three header bytes of the next frame: a truncated stream is visible */
  assert_int_equal(feed(&r, r.frame, 3), 0);
  assert_false(berth_demux_idle(&r.d));
}

TEST(test_interleaved)
{
  char buf[1024];
  size_t n = 0;
  struct rig r;

  for (int i = 0; i < 10; i++) {
    char p[8];
    snprintf(p, sizeof(p), "%d", i);
    n += put_frame(buf + n, (i % 2) ? 2 : 1, p, 1);
  }
  rig_init(&r);
  /* feed in chunks of 5: frames and headers straddle every call */
  for (size_t i = 0; i < n; i += 5)
    assert_int_equal(feed(&r, buf + i, n - i < 5 ? n - i : 5), 0);
  assert_int_equal(r.s.n_out, 5);
  assert_memory_equal(r.s.out, "02468", 5);
  assert_int_equal(r.s.n_err, 5);
  assert_memory_equal(r.s.err, "13579", 5);
  assert_string_equal(r.s.order, "oeoeoeoeoe");
}

TEST(test_zero_length_frames)
{
  char buf[64];
  size_t n = 0;
  struct rig r;

  n += put_frame(buf + n, 1, "", 0);
  n += put_frame(buf + n, 2, "", 0);
  n += put_frame(buf + n, 1, "x", 1);
  rig_init(&r);
  assert_int_equal(feed(&r, buf, 16), 0);
  assert_int_equal(r.s.calls, 0);
  assert_true(berth_demux_idle(&r.d));
  assert_int_equal(feed(&r, buf + 16, n - 16), 0);
  assert_int_equal(r.s.calls, 1);
  assert_memory_equal(r.s.out, "x", 1);
}

TEST(test_bad_type)
{
  static const char bad[][8] = {
    { 3, 0, 0, 0, 0, 0, 0, 1 }, /* unknown stream */
    { (char) 0xff, 0, 0, 0, 0, 0, 0, 1 },
    { 1, 1, 0, 0, 0, 0, 0, 1 }, /* padding must be zero */
    { 1, 0, 0, 7, 0, 0, 0, 1 },
    { 'H', 'T', 'T', 'P', '/', '1', '.', '1' }, /* an HTTP reply read as frames */
  };

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct rig r;
    rig_init(&r);
    /* also byte by byte: the header is judged once complete */
    for (size_t j = 0; j < 7; j++)
      assert_int_equal(feed(&r, bad[i] + j, 1), 0);
    assert_int_equal(feed(&r, bad[i] + 7, 1), -1);
    assert_non_null(r.err);
    assert_int_equal(r.err->kind, BERTH_E_ENGINE_REPLY);
    assert_int_equal(r.err->status, EPROTO);
    assert_int_equal(r.s.calls, 0);
    berth_error_release(&r.err);
  }
}

TEST(test_stdin_type_accepted)
{
  struct rig r;
  size_t n = rig_frame(&r, 0, "in", 2);

  assert_int_equal(feed(&r, r.frame, n), 0);
  assert_string_equal(r.s.order, "i");
}

struct big_sink {
  size_t total;
  size_t calls;
  uint32_t sum;
  int stream;
};

static int
big_collect(void *ctx, int stream, const char *data, size_t len)
{
  struct big_sink *b = ctx;
  b->calls++;
  b->stream = stream;
  for (size_t i = 0; i < len; i++)
    b->sum = b->sum * 31 + (unsigned char) data[i];
  b->total += len;
  return 0;
}

TEST(test_large_frame)
{
  const size_t len = 1024 * 1024;
  char *buf = malloc(len + 16);
  struct berth_demux d;
  struct big_sink b = { 0 };
  uint32_t want = 0;
  berth_error_t err = NULL;

  assert_non_null(buf);
  for (size_t i = 0; i < len; i++)
    buf[8 + i] = (char) (i * 7 + 3);
  for (size_t i = 0; i < len; i++)
    want = want * 31 + (unsigned char) buf[8 + i];
  buf[0] = 2;
  buf[1] = buf[2] = buf[3] = 0;
  buf[4] = 0x00;
  buf[5] = 0x10;
  buf[6] = 0x00;
  buf[7] = 0x00; /* 1 MiB, big-endian */
  berth_demux_init(&d);
  /* odd chunk size so chunk edges never line up with the header */
  for (size_t off = 0; off < len + 8; off += 4093) {
    size_t take = len + 8 - off < 4093 ? len + 8 - off : 4093;
    assert_int_equal(berth_demux_feed(&d, buf + off, take, big_collect, &b, &err), 0);
  }
  assert_int_equal(b.total, len);
  assert_int_equal(b.sum, want);
  assert_int_equal(b.stream, 2);
  assert_true(b.calls > 1); /* streamed, not buffered */
  assert_true(berth_demux_idle(&d));
  free(buf);
}

TEST(test_callback_failure)
{
  struct rig r;
  size_t n = rig_frame(&r, 1, "abc", 3);

  r.s.fail_with = -EPIPE;
  assert_int_equal(feed(&r, r.frame, n), -1);
  assert_non_null(r.err);
  assert_int_equal(r.err->status, EPIPE);
  berth_error_release(&r.err);
}
