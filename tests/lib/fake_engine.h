/* fake_engine.h - a scripted engine on a unix socket for the unit tests:
 * a forked server that answers each request with the first route whose
 * prefix matches its request line (404 "no route" otherwise) and logs every
 * request as one line
 *   <pid> <request line> ct=<Content-Type> up=<Connection>/<Upgrade> body=<body>
 * (<pid> is the connection's server process, so the log also tells how many
 * connections the client opened). */
#ifndef BERTH_TESTS_FAKE_ENGINE_H
#define BERTH_TESTS_FAKE_ENGINE_H

#include <stddef.h>
#include <sys/types.h>

enum action {
  RESPOND,       /* send the response, keep the connection for the next request */
  RESPOND_CLOSE, /* send it and close */
  HANG,          /* send nothing for 30 s (timeouts) */
  STREAM_MORE,   /* send it, then "MORE" 50 ms later, then close (hijacked streams) */
};

struct route {
  const char *prefix;   /* "METHOD /target..." prefix of the request line */
  const char *response; /* raw bytes */
  size_t len;           /* 0: strlen(response) */
  enum action action;
};

/* Listen on sock_path and serve routes (a {NULL} terminated array that must
 * outlive the server) from a child process in its own process group, one
 * grandchild per connection; all die with the test.  Returns the server's
 * pid; fails the current cmocka test when the socket cannot be set up. */
pid_t fake_engine_start(const char *sock_path, const char *log_path, const struct route *routes);
/* Kill the server started above and every connection it serves; pid <= 0 is a no-op. */
void fake_engine_stop(pid_t pid);
/* The request log so far ("" when there is none yet); the caller frees it. */
char *fake_engine_log(const char *log_path);
/* How many distinct connections the log shows. */
int fake_engine_connections(const char *log);

#endif
