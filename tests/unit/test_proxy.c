/* test_proxy.c - the stdio proxy over pipes (the session's stdio) and a
 * socketpair (the engine side): framed output kept apart, raw TTY bytes,
 * input EOF as a half-close, every byte value both ways in large transfers
 * with short reads, a peer that closes early, a reader of stdout that went
 * away (also with nothing written to it), and output held while the
 * command's start is in doubt. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/proxy.h"
#include "../lib/testlib.h"

/* The fixture: what the session and the engine hold. */
struct rig {
  int in_w, in_r;   /* the user's keyboard / the proxy's stdin */
  int out_r, out_w; /* the proxy's stdout / what the user sees */
  int err_r, err_w;
  int peer; /* the engine's end of the stream */
  struct berth_conn *conn;
  struct berth_proxy p;
};

static void
rig_up(struct rig *g, bool tty)
{
  berth_error_t err = NULL;
  int in[2], out[2], er[2], sv[2];

  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  assert_int_equal(pipe(er), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  g->in_r = in[0], g->in_w = in[1];
  g->out_r = out[0], g->out_w = out[1];
  g->err_r = er[0], g->err_w = er[1];
  g->peer = sv[1];
  assert_int_equal(berth_conn_from_fd(sv[0], &g->conn, &err), 0);
  assert_int_equal(berth_proxy_init(&g->p, g->in_r, g->out_w, g->err_w, g->conn, tty, &err), 0);
  assert_null(err);
}

static void
rig_close(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void
rig_down(struct rig *g)
{
  berth_proxy_release(&g->p);
  berth_conn_free(g->conn);
  rig_close(&g->in_w), rig_close(&g->in_r), rig_close(&g->out_r), rig_close(&g->out_w);
  rig_close(&g->err_r), rig_close(&g->err_w), rig_close(&g->peer);
}

static void
run_ok(struct rig *g)
{
  berth_error_t err = NULL;

  assert_int_equal(berth_proxy_run(&g->p, NULL, 0, &err), 0);
  assert_null(err);
  berth_proxy_drain(&g->p);
}

static void
write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    assert_true(w > 0);
    p += w;
    len -= (size_t) w;
  }
}

static void
frame(int fd, int stream, const void *data, uint32_t len)
{
  unsigned char h[8] = { (unsigned char) stream,
                         0,
                         0,
                         0,
                         (unsigned char) (len >> 24),
                         (unsigned char) (len >> 16),
                         (unsigned char) (len >> 8),
                         (unsigned char) len };
  write_all(fd, h, sizeof(h));
  write_all(fd, data, len);
}

/* What is in fd now, once its writer has closed. */
static size_t
slurp(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  ssize_t r;
  while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    n += (size_t) r;
  }
  return n;
}

TEST(test_framed_streams_apart)
{
  struct rig g;
  char out[64], err[64];
  size_t n;

  rig_up(&g, false);
  frame(g.peer, 1, "hello ", 6);
  frame(g.peer, 2, "oops", 4);
  frame(g.peer, 0, "", 0); /* an empty frame carries nothing */
  frame(g.peer, 1, "world", 5);
  shutdown(g.peer, SHUT_WR);
  rig_close(&g.in_w);
  run_ok(&g);
  rig_close(&g.out_w), rig_close(&g.err_w);
  berth_proxy_release(&g.p);
  n = slurp(g.out_r, out, sizeof(out));
  assert_int_equal(n, 11);
  assert_memory_equal(out, "hello world", 11);
  n = slurp(g.err_r, err, sizeof(err));
  assert_int_equal(n, 4);
  assert_memory_equal(err, "oops", 4);
  rig_down(&g);
}

TEST(test_tty_raw_bytes)
{
  /* looks like a frame header: in TTY mode it is the command's output */
  static const char raw[] = "\x01\0\0\0\0\0\0\x03"
                            "abc\r\n\x1b[0m";
  struct rig g;
  char out[64];

  rig_up(&g, true);
  write_all(g.peer, raw, sizeof(raw) - 1);
  shutdown(g.peer, SHUT_WR);
  run_ok(&g);
  rig_close(&g.out_w);
  berth_proxy_release(&g.p);
  assert_int_equal(slurp(g.out_r, out, sizeof(out)), sizeof(raw) - 1);
  assert_memory_equal(out, raw, sizeof(raw) - 1);
  rig_down(&g);
}

TEST(test_stdin_eof_half_closes)
{
  struct rig g;
  char got[64];
  size_t n;

  rig_up(&g, false);
  write_all(g.in_w, "input\n", 6);
  rig_close(&g.in_w);
  /* The engine reads stdin to its end before the command's output ends:
   * a peer that never saw EOF would block here and the run would hang. */
  {
    struct rig *gp = &g;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
      char buf[64];
      size_t m = slurp(gp->peer, buf, sizeof(buf));
      /* tell the parent what came, as stdout of the "command" */
      frame(gp->peer, 1, buf, (uint32_t) m);
      _exit(0);
    }
    rig_close(&g.peer);
    run_ok(&g);
    assert_int_equal(waitpid(child, NULL, 0), child);
  }
  rig_close(&g.out_w);
  berth_proxy_release(&g.p);
  n = slurp(g.out_r, got, sizeof(got));
  assert_int_equal(n, 6);
  assert_memory_equal(got, "input\n", 6);
  assert_false(g.p.wr_open);
  rig_down(&g);
}

/* ---- large binary transfers, both ways at once */

#define BIG (3 * 1024 * 1024 + 123)

struct pump {
  int fd;
  char *buf;
  size_t len;
  size_t chunk; /* short reads/writes */
  bool framed;
  bool close_after; /* the writer's end of input */
};

static void *
writer(void *arg)
{
  struct pump *w = arg;
  size_t off = 0;

  while (off < w->len) {
    size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
    if (w->framed)
      frame(w->fd, 1, w->buf + off, (uint32_t) n);
    else
      write_all(w->fd, w->buf + off, n);
    off += n;
  }
  if (w->close_after)
    close(w->fd);
  return NULL;
}

static void *
reader(void *arg)
{
  struct pump *r = arg;
  ssize_t n;

  while (r->len < BIG + 1 && (n = read(r->fd, r->buf + r->len, r->chunk)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    r->len += (size_t) n;
  }
  return NULL;
}

struct closer_args {
  pthread_t a, b;
  int fd;
};

static void *
closer_fn(void *arg)
{
  struct closer_args *c = arg;
  pthread_join(c->a, NULL);
  pthread_join(c->b, NULL);
  close(c->fd);
  return NULL;
}

TEST(test_binary_both_ways)
{
  struct rig g;
  char *src = malloc(BIG), *to_engine = malloc(BIG + 1), *to_user = malloc(BIG + 1);
  struct pump kb, eng_in, eng_out, user;
  pthread_t t[4];

  assert_non_null(src), assert_non_null(to_engine), assert_non_null(to_user);
  /* every byte value, in a sequence that does not repeat with the chunking */
  for (size_t i = 0; i < BIG; i++)
    src[i] = (char) (i * 7 + i / 256);
  rig_up(&g, false);
  kb = (struct pump){ .fd = g.in_w, .buf = src, .len = BIG, .chunk = 4093, .close_after = true };
  eng_in = (struct pump){ .fd = g.peer, .buf = to_engine, .chunk = 1021 };
  eng_out = (struct pump){ .fd = g.peer, .buf = src, .len = BIG, .chunk = 10007, .framed = true };
  user = (struct pump){ .fd = g.out_r, .buf = to_user, .chunk = 997 };
  pthread_create(&t[0], NULL, writer, &kb);
  pthread_create(&t[1], NULL, reader, &eng_in);
  pthread_create(&t[2], NULL, writer, &eng_out);
  pthread_create(&t[3], NULL, reader, &user);
  g.in_w = -1; /* the keyboard closes it when done */
  /* The proxy runs here until the engine closes; the engine closes once it
   * has read EOF (t[1]) and written everything (t[2]). */
  {
    struct closer_args c = { t[1], t[2], g.peer };
    pthread_t ct;
    pthread_create(&ct, NULL, closer_fn, &c);
    run_ok(&g);
    pthread_join(ct, NULL);
  }
  pthread_join(t[0], NULL);
  g.peer = -1; /* closed by the closer */
  rig_close(&g.out_w);
  berth_proxy_release(&g.p);
  pthread_join(t[3], NULL);
  assert_int_equal(eng_in.len, BIG);
  assert_memory_equal(to_engine, src, BIG);
  assert_int_equal(user.len, BIG);
  assert_memory_equal(to_user, src, BIG);
  rig_down(&g);
  free(src), free(to_engine), free(to_user);
}

TEST(test_peer_closes_early)
{
  static char data[32 * 1024];
  struct rig g;

  rig_up(&g, false);
  memset(data, 'x', sizeof(data));
  write_all(g.in_w, data, sizeof(data));
  rig_close(&g.peer); /* the engine went away: no SIGPIPE, no hang */
  run_ok(&g);
  assert_false(g.p.rd_open);
  assert_false(g.p.wr_open);
  assert_false(g.p.stdin_open);
  rig_down(&g);
}

/* ---- ops: the mode's hooks */

struct seen {
  int end_sig;
  int peer;    /* closed when asked to end: the command died */
  int started; /* what ops->started answers */
  int asked;
};

static void
seen_end(void *ctx, int sig)
{
  struct seen *s = ctx;
  if (s->end_sig == 0)
    s->end_sig = sig;
  rig_close(&s->peer);
}

static int
seen_started(void *ctx, berth_error_t *err)
{
  struct seen *s = ctx;
  (void) err;
  s->asked++;
  return s->started;
}

static const struct berth_proxy_ops seen_ops = { .started = seen_started, .end = seen_end };

/* A started non-tty command whose engine end s holds (closed when asked
 * to end, as the command's death would close it). */
static void
rig_up_seen(struct rig *g, struct seen *s)
{
  signal(SIGPIPE, SIG_IGN); /* as the entry mode does (signals.h) */
  rig_up(g, false);
  s->peer = g->peer;
  s->started = 1;
  g->peer = -1;
  g->p.ops = &seen_ops;
  g->p.ctx = s;
}

TEST(test_stdout_epipe)
{
  struct rig g;
  struct seen s = { 0 };
  char err[64];

  rig_up_seen(&g, &s);
  rig_close(&g.out_r); /* `cmd | head`: head has gone */
  frame(s.peer, 1, "to nobody", 9);
  frame(s.peer, 2, "still seen", 10);
  run_ok(&g);
  /* the command is asked to die as it would on the host: 128+13 */
  assert_int_equal(s.end_sig, SIGPIPE);
  assert_false(g.p.out_ok);
  assert_true(g.p.err_ok);
  rig_close(&g.err_w);
  berth_proxy_release(&g.p);
  assert_int_equal(slurp(g.err_r, err, sizeof(err)), 10);
  assert_memory_equal(err, "still seen", 10);
  rig_down(&g);
}

/* sshd closes the session's pipes when its connection drops; a command
 * that prints nothing must learn it too, without a write. */
TEST(test_readers_gone_silent)
{
  struct rig g;
  struct seen s = { 0 };

  rig_up_seen(&g, &s);
  rig_close(&g.out_r);
  rig_close(&g.err_r);
  /* the engine sends nothing: only the readers' absence ends it */
  run_ok(&g);
  assert_int_equal(s.end_sig, SIGPIPE);
  assert_false(g.p.out_ok);
  rig_down(&g);
}

/* ... and a reader that is still there ends nothing. */
TEST(test_reader_present_silent)
{
  struct rig g;
  struct seen s = { 0 };

  rig_up(&g, false);
  s.started = 1;
  g.p.ops = &seen_ops;
  g.p.ctx = &s;
  shutdown(g.peer, SHUT_WR); /* the command ended without a word */
  run_ok(&g);
  assert_int_equal(s.end_sig, 0);
  assert_true(g.p.out_ok);
  assert_true(g.p.err_ok);
  rig_down(&g);
}

TEST(test_start_failure_held)
{
  static const char msg[] = "OCI runtime exec failed: exec: \"nope\": not found\r\n";
  struct rig g;
  struct seen s = { .started = 0 };
  char *t;

  rig_up(&g, true);
  g.p.ops = &seen_ops;
  g.p.ctx = &s;
  g.p.verified = false;
  write_all(g.peer, msg, sizeof(msg) - 1);
  shutdown(g.peer, SHUT_WR);
  {
    berth_error_t err = NULL;
    assert_int_equal(berth_proxy_run(&g.p, NULL, 0, &err), 0);
  }
  /* nothing reached the user's stdout: the mode turns it into its error */
  assert_true(g.p.start_failed);
  assert_true(s.asked >= 1);
  rig_close(&g.out_w);
  {
    char out[8];
    int fl = fcntl(g.out_r, F_GETFL);
    fcntl(g.out_r, F_SETFL, fl | O_NONBLOCK);
    assert_true(read(g.out_r, out, sizeof(out)) <= 0);
  }
  t = berth_proxy_held_text(&g.p);
  assert_string_equal(t, "OCI runtime exec failed: exec: \"nope\": not found");
  free(t);
  rig_down(&g);
}

int
main(void)
{
  alarm(60); /* a proxy that hangs fails the test instead of the CI job */
  return testlib_run();
}
