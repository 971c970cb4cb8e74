/* fuzz_engine.c - the engine client end to end (lib/engine.c over libcurl
 * and jansson): version negotiation, inspect, list, exec inspect, create,
 * the pull progress stream and archive replies, against a fake engine (a
 * thread on a unix socket in a private directory) that answers with the
 * input.  The first byte picks the call; the rest is the raw HTTP reply.
 * Each call runs twice on one client, so the second transfer follows a
 * hostile first one (how libcurl 7.88.1's use-after-free on a reused handle
 * showed: docs/security.md).  Properties: the calls' contracts (return
 * values and outputs agree), and no sanitizer report in berth or libcurl. */
#include "config.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "berth/engine.h"

static const char ping_ok[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK";
static char dir[64], sock[128];
/* The current input, copied: a connection of an earlier input may still be
 * served when libFuzzer has freed that input. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t reply[65536];
static size_t reply_len;
static bool fuzz_ping;

static void
send_all(int fd, const void *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    p = (const char *) p + w;
    n -= (size_t) w;
  }
}

/* One connection: requests in sequence; /_ping is answered as a sound
 * engine would unless the ping is being fuzzed; anything else gets the
 * input, and the connection is closed after it (a reply without a length
 * ends there). */
static void
serve(int c)
{
  char buf[16384];
  size_t n = 0;

  for (;;) {
    char *end;
    while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
      ssize_t r = recv(c, buf + n, sizeof(buf) - n, 0);
      if (r <= 0 || n + (size_t) r >= sizeof(buf))
        return;
      n += (size_t) r;
    }
    size_t head = (size_t) (end - buf) + 4, clen = 0;
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    if (cl != NULL)
      clen = strtoul(cl + 16, NULL, 10);
    while (n < head + clen && n < sizeof(buf)) {
      ssize_t r = recv(c, buf + n, sizeof(buf) - n, 0);
      if (r <= 0)
        return;
      n += (size_t) r;
    }
    bool ping = strncmp(buf, "GET /_ping ", 11) == 0, fuzzed;
    size_t used = head + clen < n ? head + clen : n;
    memmove(buf, buf + used, n - used);
    n -= used;
    static uint8_t out[sizeof(reply)];
    size_t out_len;
    pthread_mutex_lock(&lock);
    fuzzed = !ping || fuzz_ping;
    out_len = reply_len;
    memcpy(out, reply, out_len);
    pthread_mutex_unlock(&lock);
    if (!fuzzed) {
      send_all(c, ping_ok, sizeof(ping_ok) - 1);
      continue;
    }
    send_all(c, out, out_len);
    return;
  }
}

static void *
engine_thread(void *arg)
{
  int l = *(int *) arg;
  for (;;) {
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
      continue;
    serve(c);
    shutdown(c, SHUT_RDWR);
    close(c);
  }
  return NULL;
}

static void
start_engine(void)
{
  static int l;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  pthread_t t;

  snprintf(dir, sizeof(dir), "/tmp/berth-fuzz-engine-XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  snprintf(sock, sizeof(sock), "%s/engine.sock", dir);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
  l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0 || bind(l, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(l, 8) < 0)
    abort();
  if (pthread_create(&t, NULL, engine_thread, &l) != 0)
    abort();
  pthread_detach(t);
}

static void
call(struct berth_engine *e, int op)
{
  berth_error_t err = NULL;
  json_t *j = NULL;
  char *s = NULL;
  size_t len = 0;
  bool running = false;
  int code = 0, r = 0;
  long pid = 0;

  switch (op) {
  case 0:
    r = berth_engine_ping(e, &err);
    if (r == 0)
      FUZZ_ASSERT(berth_engine_api_at_least(e, BERTH_API_MIN_MAJOR, BERTH_API_MIN_MINOR));
    break;
  case 1:
    r = berth_engine_image_inspect(e, "img:1", &s, &err);
    FUZZ_ASSERT(r != 0 || s != NULL);
    break;
  case 2:
    r = berth_engine_container_inspect(e, "box", &j, &err);
    FUZZ_ASSERT(r != 0 || json_is_object(j));
    break;
  case 3:
    r = berth_engine_container_list(e, "berth.user=alice", &j, &err);
    FUZZ_ASSERT(r != 0 || json_is_array(j));
    break;
  case 4: r = berth_engine_exec_inspect(e, "exec1", &running, &code, &pid, &err); break;
  case 5: r = berth_engine_image_pull(e, "img:1", &err); break;
  case 6: {
    json_t *spec = json_pack("{s:s}", "Image", "img");
    r = berth_engine_container_create(e, "box", spec, &s, &err);
    FUZZ_ASSERT(r != 0 || (s != NULL && *s != '\0'));
    json_decref(spec);
    break;
  }
  default:
    r = berth_engine_archive_get(e, "box", "/etc/passwd", 4096, &s, &len, &err);
    FUZZ_ASSERT(r != 0 || (s != NULL && len <= 4096));
    break;
  }
  FUZZ_ASSERT((r < 0) == (err != NULL));
  berth_error_release(&err);
  json_decref(j);
  free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  int op;

  if (sock[0] == '\0')
    start_engine();
  if (size == 0 || size > 65536)
    return 0;
  op = data[0] % 8;
  pthread_mutex_lock(&lock);
  memcpy(reply, data + 1, size - 1);
  reply_len = size - 1;
  fuzz_ping = op == 0;
  pthread_mutex_unlock(&lock);
  if (berth_engine_new(sock, 1000, &e, &err) < 0)
    abort();
  call(e, op);
  call(e, op);
  berth_engine_free(e);
  return 0;
}
