/* fake_engine.c - the scripted engine of fake_engine.h (moved out of
 * tests/unit/test_http.c unchanged, so other tests can serve replies too). */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/util.h"
#include "fake_engine.h"

/* where the serving process logs requests (set in the server child) */
static const char *log_path;

static const char *
header_value(const char *head, const char *name, char *out, size_t outsz)
{
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
    const char *l = p + 2;
    if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      const char *v = l + nl + 1, *e = strstr(v, "\r\n");
      while (*v == ' ')
        v++;
      snprintf(out, outsz, "%.*s", (int) (e - v), v);
      return out;
    }
  }
  return NULL;
}

static void
write_all_fd(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0)
      _exit(0);
    p += w;
    n -= (size_t) w;
  }
}

/* One connection: requests in sequence, each logged as one line
 *   <pid> <request line> ct=<Content-Type> up=<Connection>/<Upgrade> body=<body> */
static void
serve_connection(int c, const struct route *routes)
{
  char buf[65536];
  size_t n = 0;

  for (;;) {
    char *end;
    while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
      ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
      if (r <= 0)
        _exit(0);
      n += (size_t) r;
    }
    size_t head_len = (size_t) (end - buf) + 4;
    char head[8192], v[256], ct[256] = "-", conn[64] = "-", up[64] = "-";
    snprintf(head, sizeof(head), "%.*s", (int) head_len, buf);
    size_t clen = header_value(head, "Content-Length", v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;
    header_value(head, "Content-Type", ct, sizeof(ct));
    header_value(head, "Connection", conn, sizeof(conn));
    header_value(head, "Upgrade", up, sizeof(up));
    while (n < head_len + clen) {
      ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
      if (r <= 0)
        _exit(0);
      n += (size_t) r;
    }
    char line[16384];
    int ll = snprintf(line, sizeof(line), "%d %.*s ct=%s up=%s/%s body=%.*s\n", (int) getpid(),
                      (int) (strstr(head, "\r\n") - head), head, ct, conn, up,
                      (int) (clen > 4096 ? 4096 : clen), buf + head_len);
    int lf = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    write_all_fd(lf, line, (size_t) ll);
    close(lf);

    const struct route *rt = NULL;
    for (const struct route *r = routes; r->prefix; r++)
      if (strncmp(head, r->prefix, strlen(r->prefix)) == 0) {
        rt = r;
        break;
      }
    memmove(buf, buf + head_len + clen, n - head_len - clen);
    n -= head_len + clen;
    if (rt == NULL) {
      static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                               "Content-Length: 24\r\n\r\n{\"message\":\"no route\"}\r\n";
      write_all_fd(c, nf, sizeof(nf) - 1);
      continue;
    }
    if (rt->action == HANG) {
      sleep(30);
      _exit(0);
    }
    write_all_fd(c, rt->response, rt->len ? rt->len : strlen(rt->response));
    if (rt->action == RESPOND_CLOSE)
      _exit(0);
    if (rt->action == STREAM_MORE) {
      usleep(50 * 1000);
      write_all_fd(c, "MORE", 4);
      _exit(0);
    }
  }
}

pid_t
fake_engine_start(const char *sock_path, const char *log, const struct route *routes)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  pid_t server_pid;

  assert_true(l >= 0);
  unlink(sock_path);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
  assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
  assert_int_equal(listen(l, 16), 0);
  server_pid = fork();
  assert_true(server_pid >= 0);
  if (server_pid == 0) {
    log_path = log;
    /* a test that dies (an ASan report) must not leave the engine behind */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
      int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      if (fork() == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(l);
        serve_connection(c, routes);
        _exit(0);
      }
      close(c);
    }
  }
  setpgid(server_pid, server_pid);
  close(l);
  return server_pid;
}

void
fake_engine_stop(pid_t pid)
{
  if (pid <= 0)
    return;
  kill(-pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

char *
fake_engine_log(const char *log)
{
  char *s = NULL;
  size_t len = 0;
  berth_error_t err = NULL;
  if (berth_read_file(log, 1 << 20, &s, &len, &err) < 0) {
    berth_error_release(&err);
    return strdup("");
  }
  return s;
}

int
fake_engine_connections(const char *log)
{
  long pids[64];
  int n = 0;
  for (const char *p = log; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
    long pid = strtol(p, NULL, 10);
    bool seen = false;
    for (int i = 0; i < n; i++)
      seen |= pids[i] == pid;
    if (!seen && n < 64)
      pids[n++] = pid;
  }
  return n;
}
