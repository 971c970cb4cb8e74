/* config_load.c - what loading a large berth.conf costs (every login loads
 * it, in pam_berth and in berth-shell).
 *
 *   config_load [-n N] [-g GROUPS] [-u USERS] [-t TMPFS] [-m MOUNTS]
 *
 * Writes a config with GROUPS group overrides and USERS user overrides (a
 * pids limit each), TMPFS tmpfs paths and MOUNTS mounts in `container`
 * (defaults 600, 600, 40, 40: about 26 KB), then loads it N
 * times (default 5) and prints the milliseconds of each load and the median.
 * It asserts nothing: no timed test belongs in `make check`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/config.h"
#include "berth/util.h"

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
  int n = 5, groups = 600, users = 600, tmpfs = 40, mounts = 40, opt;
  char path[] = "/tmp/berth-config-load-XXXXXX";
  FILE *f;
  int fd;
  struct stat st;

  while ((opt = getopt(argc, argv, "n:g:u:t:m:")) != -1) {
    switch (opt) {
    case 'n': n = atoi(optarg); break;
    case 'g': groups = atoi(optarg); break;
    case 'u': users = atoi(optarg); break;
    case 't': tmpfs = atoi(optarg); break;
    case 'm': mounts = atoi(optarg); break;
    default:
      fprintf(stderr, "usage: %s [-n N] [-g GROUPS] [-u USERS] [-t TMPFS] [-m MOUNTS]\n", argv[0]);
      return 2;
    }
  }
  if (n < 1 || (fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
    perror("config_load");
    return 1;
  }
  fprintf(f, "image = \"debian:12\";\ncontainer = {\n  tmpfs = [");
  for (int i = 0; i < tmpfs; i++)
    fprintf(f, "%s\"/scratch/t%d:size=1m\"", i ? ", " : " ", i);
  fprintf(f, " ];\n  mounts = (");
  for (int i = 0; i < mounts; i++)
    fprintf(f, "%s{ source = \"/srv/m%d\"; target = \"/m/%d\"; }", i ? ",\n    " : "\n    ", i, i);
  fprintf(f, "\n  );\n};\ngroups = (");
  for (int i = 0; i < groups; i++)
    fprintf(f, "%s{ group = \"g%d\"; pids = 100; }", i ? ",\n  " : "\n  ", i);
  fprintf(f, "\n);\nusers = (");
  for (int i = 0; i < users; i++)
    fprintf(f, "%s{ user = \"u%d\"; pids = 100; }", i ? ",\n  " : "\n  ", i);
  fprintf(f, "\n);\n");
  if (fclose(f) != 0 || stat(path, &st) < 0) {
    perror(path);
    unlink(path);
    return 1;
  }
  double *ms = calloc((size_t) n, sizeof(*ms));
  if (ms == NULL)
    return 1;
  printf("config: %lld bytes, %d groups, %d users, %d tmpfs, %d mounts\n", (long long) st.st_size,
         groups, users, tmpfs, mounts);
  for (int i = 0; i < n; i++) {
    struct berth_config *cfg = NULL;
    berth_error_t err = NULL;
    int64_t t0 = berth_now_ms();
    if (berth_config_load(path, &cfg, &err) < 0) {
      fprintf(stderr, "config_load: %s\n", err->msg);
      berth_error_release(&err);
      unlink(path);
      return 1;
    }
    ms[i] = (double) (berth_now_ms() - t0);
    berth_config_free(cfg);
    printf("load %d: %.0f ms\n", i + 1, ms[i]);
  }
  qsort(ms, (size_t) n, sizeof(*ms), cmp_double);
  printf("median: %.0f ms\n", ms[n / 2]);
  free(ms);
  unlink(path);
  return 0;
}
