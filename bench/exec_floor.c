/* exec_floor.c - the engine's own cost, measured from a minimal client, as
 * the yardstick bench/run holds berth-shell against.
 *
 *   exec_floor exec   [-n N] [-u USER] [-w DIR] CONTAINER CMD...
 *       N times: exec create + start + inspect, what any client must do to run
 *       a command and learn its status.  Create and inspect share ONE kept
 *       connection (libcurl keeps it alive); the start is hijacked, so it gets
 *       a fresh unix-socket connection, as it must (the engine hands the
 *       connection to the stream and closes it when the command ends).  stdin
 *       is attached and half-closed at once, like `berth-shell -c true
 *       </dev/null`.
 *   exec_floor create [-n N] TEMPLATE
 *       N times: create + start of a container with TEMPLATE's Config and
 *       HostConfig (labels dropped), on one kept connection; each is removed
 *       afterwards, untimed.
 *   exec_floor nop
 *       exits at once: what starting a process linked with libcurl costs.
 *
 * Prints one line per iteration, its wall time in microseconds, on stdout;
 * the median on stderr.  With -n 0 it runs one iteration per line read from
 * stdin instead, so bench/run can interleave it with the other contenders.  Talks to -s SOCKET (default /var/run/docker.sock),
 * API version -a VERSION (default 1.41, the oldest berth supports).
 * Straight libcurl + jansson, nothing from berth's library: the floor must
 * not inherit berth's own overheads. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

static const char *sock_path = "/var/run/docker.sock";
static const char *api = "1.41";
static CURL *curl;
static struct curl_slist *json_headers;

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
die(const char *fmt, ...)
{
  va_list ap;
  fputs("exec_floor: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static long long
now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- kept connection */

struct reply {
  char *data;
  size_t len;
};

static size_t
collect(char *p, size_t size, size_t n, void *ctx)
{
  struct reply *r = ctx;
  char *d = realloc(r->data, r->len + size * n + 1);
  if (d == NULL)
    return 0;
  memcpy(d + r->len, p, size * n);
  r->len += size * n;
  d[r->len] = '\0';
  r->data = d;
  return size * n;
}

/* One request on the kept connection; returns the HTTP status, *out the
 * parsed JSON body (NULL when empty). */
static long
request(const char *method, const char *path, json_t *body, json_t **out)
{
  char url[1024];
  struct reply r = { 0 };
  char *text = NULL;
  long status = 0;
  CURLcode rc;

  snprintf(url, sizeof(url), "http://localhost/v%s%s", api, path);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
  } else {
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) (text ? strlen(text) : 0));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
  }
  rc = curl_easy_perform(curl);
  free(text);
  if (rc != CURLE_OK)
    die("%s %s: %s", method, path, curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (out != NULL)
    *out = r.len ? json_loads(r.data, 0, NULL) : NULL;
  if (status >= 400)
    fprintf(stderr, "exec_floor: %s %s: HTTP %ld %s\n", method, path, status, r.data ? r.data : "");
  free(r.data);
  return status;
}

static void
setup_curl(void)
{
  if (curl_global_init(CURL_GLOBAL_NOTHING) != 0 || (curl = curl_easy_init()) == NULL)
    die("cannot initialise libcurl");
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock_path);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
  json_headers = curl_slist_append(NULL, "Content-Type: application/json");
  json_headers = curl_slist_append(json_headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, json_headers);
}

/* ---------------------------------------------------------------- hijacked start */

/* POST /exec/ID/start with Upgrade: tcp on a new connection, half-close our
 * side (no stdin), read the stream to its end.  Returns the stream's bytes. */
static size_t
exec_start(const char *id)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  const char *body = "{\"Detach\":false,\"Tty\":false}";
  char req[512], buf[65536];
  size_t have = 0, total = 0;
  char *end;
  ssize_t n;
  int fd;

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket: %s", strerror(errno));
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
  if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    die("connect %s: %s", sock_path, strerror(errno));
  n = snprintf(req, sizeof(req),
               "POST /v%s/exec/%s/start HTTP/1.1\r\nHost: localhost\r\n"
               "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
               "Content-Length: %zu\r\n\r\n%s",
               api, id, strlen(body), body);
  if (write(fd, req, (size_t) n) != n)
    die("write: %s", strerror(errno));
  /* Nothing may be sent before the 101: the engine drops bytes that arrive
   * with the request head. */
  for (;;) {
    n = read(fd, buf + have, sizeof(buf) - 1 - have);
    if (n <= 0)
      die("exec start: connection closed before the response head");
    have += (size_t) n;
    buf[have] = '\0';
    if ((end = strstr(buf, "\r\n\r\n")) != NULL)
      break;
    if (have == sizeof(buf) - 1)
      die("exec start: response head too long");
  }
  if (strncmp(buf, "HTTP/1.1 101", 12) != 0)
    die("exec start: %.*s", (int) (end - buf), buf);
  total = have - (size_t) (end + 4 - buf);
  shutdown(fd, SHUT_WR);
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    total += (size_t) n;
  close(fd);
  return total;
}

/* ---------------------------------------------------------------- modes */

struct exec_job {
  json_t *spec;
  char path[512];
};

static void
exec_prepare(struct exec_job *j, const char *user, const char *workdir, const char *container,
             char **cmd)
{
  json_t *argv = json_array();

  for (char **c = cmd; *c; c++)
    json_array_append_new(argv, json_string(*c));
  j->spec = json_pack("{s:b, s:b, s:b, s:b, s:o}", "AttachStdin", 1, "AttachStdout", 1,
                      "AttachStderr", 1, "Tty", 0, "Cmd", argv);
  if (user)
    json_object_set_new(j->spec, "User", json_string(user));
  if (workdir)
    json_object_set_new(j->spec, "WorkingDir", json_string(workdir));
  snprintf(j->path, sizeof(j->path), "/containers/%s/exec", container);
}

/* One exec create + start + inspect; its wall time in microseconds. */
static long long
exec_once(struct exec_job *j)
{
  long long t0 = now_us();
  char id[128], ipath[512];
  json_t *reply;
  bool running;
  int polls = 0;

  if (request("POST", j->path, j->spec, &reply) != 201 ||
      !json_is_string(json_object_get(reply, "Id")))
    die("exec create failed");
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "Id")));
  json_decref(reply);
  exec_start(id);
  snprintf(ipath, sizeof(ipath), "/exec/%s/json", id);
  /* The exit code can trail the stream's end by a little. */
  do {
    json_int_t code;
    if (polls++ > 0)
      usleep(500);
    if (request("GET", ipath, NULL, &reply) != 200)
      die("exec inspect failed");
    running = json_is_true(json_object_get(reply, "Running"));
    code = json_integer_value(json_object_get(reply, "ExitCode"));
    json_decref(reply);
    if (!running && code != 0)
      die("the command exited %lld", (long long) code);
  } while (running && polls < 2000);
  return now_us() - t0;
}

struct create_job {
  json_t *body;
  int serial;
};

/* The create body: TEMPLATE's Config with its HostConfig, labels dropped
 * (berth finds its containers by label: the clones must not look like one). */
static void
create_prepare(struct create_job *j, const char *template)
{
  char path[512];
  json_t *info;

  snprintf(path, sizeof(path), "/containers/%s/json", template);
  if (request("GET", path, NULL, &info) != 200 || !json_is_object(info))
    die("cannot inspect %s", template);
  j->body = json_deep_copy(json_object_get(info, "Config"));
  if (!json_is_object(j->body))
    die("%s has no Config", template);
  json_object_del(j->body, "Labels");
  json_object_set(j->body, "HostConfig", json_object_get(info, "HostConfig"));
  json_decref(info);
}

/* One create + start (timed), then remove (untimed). */
static long long
create_once(struct create_job *j)
{
  char name[128], id[128], path[512];
  json_t *reply;
  long long t0 = now_us(), t;

  snprintf(name, sizeof(name), "bte-floor-%ld-%d", (long) getpid(), j->serial++);
  snprintf(path, sizeof(path), "/containers/create?name=%s", name);
  if (request("POST", path, j->body, &reply) != 201 ||
      !json_is_string(json_object_get(reply, "Id")))
    die("create failed");
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "Id")));
  json_decref(reply);
  snprintf(path, sizeof(path), "/containers/%s/start", id);
  if (request("POST", path, NULL, NULL) != 204)
    die("start failed");
  t = now_us() - t0;
  snprintf(path, sizeof(path), "/containers/%s?force=1", id);
  if (request("DELETE", path, NULL, NULL) != 204)
    die("cannot remove %s", name);
  return t;
}

static int
cmp_ll(const void *a, const void *b)
{
  long long x = *(const long long *) a, y = *(const long long *) b;
  return (x > y) - (x < y);
}

/* n > 0: n iterations back to back, then the median on stderr.  n == 0: one
 * iteration per line read from stdin, its time printed at once, so a caller
 * can interleave the floor with other contenders on one kept connection. */
static void
drive(const char *what, int n, long long (*once)(void *), void *job)
{
  long long *t;
  char line[64];

  if (n == 0) {
    while (fgets(line, sizeof(line), stdin) != NULL) {
      printf("%lld\n", once(job));
      fflush(stdout);
    }
    return;
  }
  t = calloc((size_t) n, sizeof(*t));
  if (t == NULL)
    die("out of memory");
  for (int i = 0; i < n; i++) {
    t[i] = once(job);
    printf("%lld\n", t[i]);
  }
  fflush(stdout);
  qsort(t, (size_t) n, sizeof(*t), cmp_ll);
  fprintf(stderr, "exec_floor: %s: median %.2f ms over %d runs (min %.2f, max %.2f)\n", what,
          (n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2) / 1000.0, n, t[0] / 1000.0,
          t[n - 1] / 1000.0);
  free(t);
}

static long long
exec_once_v(void *j)
{
  return exec_once(j);
}

static long long
create_once_v(void *j)
{
  return create_once(j);
}

static _Noreturn void
usage(void)
{
  fputs("usage: exec_floor [-s SOCKET] [-a API] exec [-n N] [-u USER] [-w DIR] CONTAINER CMD...\n"
        "       exec_floor [-s SOCKET] [-a API] create [-n N] TEMPLATE\n"
        "       exec_floor nop\n"
        "  -n 0: one iteration per line on stdin\n",
        stderr);
  exit(2);
}

int
main(int argc, char **argv)
{
  const char *user = NULL, *workdir = NULL, *mode;
  int n = 20, opt;

  while ((opt = getopt(argc, argv, "+s:a:")) != -1) {
    switch (opt) {
    case 's': sock_path = optarg; break;
    case 'a': api = optarg; break;
    default: usage();
    }
  }
  if (optind >= argc)
    usage();
  mode = argv[optind];
  argv += optind;
  argc -= optind;
  optind = 1;
  while ((opt = getopt(argc, argv, "+n:u:w:")) != -1) {
    switch (opt) {
    case 'n': n = atoi(optarg); break;
    case 'u': user = optarg; break;
    case 'w': workdir = optarg; break;
    default: usage();
    }
  }
  if (n < 0)
    usage();
  /* "nop": the cost of starting a process linked with libcurl, for context */
  if (strcmp(mode, "nop") == 0)
    return 0;
  setup_curl();
  if (strcmp(mode, "exec") == 0 && argc - optind >= 2) {
    struct exec_job j;
    exec_prepare(&j, user, workdir, argv[optind], argv + optind + 1);
    drive("exec create + start + inspect", n, exec_once_v, &j);
    json_decref(j.spec);
  } else if (strcmp(mode, "create") == 0 && argc - optind == 1) {
    struct create_job j = { 0 };
    create_prepare(&j, argv[optind]);
    drive("container create + start", n, create_once_v, &j);
    json_decref(j.body);
  } else {
    usage();
  }
  curl_slist_free_all(json_headers);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  return 0;
}
