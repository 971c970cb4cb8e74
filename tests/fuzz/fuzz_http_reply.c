/* fuzz_http_reply.c - berth_http_raw_request, the small HTTP/1.1 client of
 * the pinned engine's spare connections (lib/hijack.c): head, Connection,
 * Transfer-Encoding, Content-Length, chunked or until-EOF bodies.  The
 * input is the engine's reply, sent by a thread on the other end of a
 * socketpair once the request arrived.  Properties: a reply is never larger
 * than the bound, is NUL-terminated, and its status is 100..599. */
#include "config.h"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "berth/engine.h"

#define MAX_REPLY 1024

struct peer {
  int fd;
  const uint8_t *data;
  size_t size;
};

static void *
engine_side(void *arg)
{
  struct peer *p = arg;
  char buf[4096];
  size_t n = 0;

  /* the request first: bytes before it would make the client refuse the
   * connection as out of step */
  while (memmem(buf, n, "\r\n\r\n", 4) == NULL && n < sizeof(buf)) {
    ssize_t r = read(p->fd, buf + n, sizeof(buf) - n);
    if (r <= 0)
      break;
    n += (size_t) r;
  }
  for (size_t off = 0; off < p->size;) {
    ssize_t w = write(p->fd, p->data + off, p->size - off);
    if (w <= 0)
      break;
    off += (size_t) w;
  }
  shutdown(p->fd, SHUT_WR);
  return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int sv[2];
  pthread_t t;
  struct peer p;
  char *reply = NULL;
  size_t len = 0;
  bool reusable = false;
  int status = 0, r;
  berth_error_t err = NULL;

  if (size > 65536)
    return 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    abort();
  p = (struct peer){ sv[1], data, size };
  if (pthread_create(&t, NULL, engine_side, &p) != 0)
    abort();
  r = berth_http_raw_request(sv[0], "GET /v1.43/containers/json HTTP/1.1\r\nHost: localhost\r\n\r\n",
                             NULL, 0, MAX_REPLY, 2000, &status, &reply, &len, &reusable, &err);
  FUZZ_ASSERT(r >= -1 && r <= 1);
  FUZZ_ASSERT((r < 0) == (err != NULL));
  if (r == 0) {
    FUZZ_ASSERT(reply != NULL && len <= MAX_REPLY && reply[len] == '\0');
    FUZZ_ASSERT(status >= 100 && status <= 599);
  }
  berth_error_release(&err);
  free(reply);
  close(sv[0]);
  pthread_join(t, NULL);
  close(sv[1]);
  return 0;
}
