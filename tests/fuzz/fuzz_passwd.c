/* fuzz_passwd.c - merging the user's entries into an image's /etc/passwd
 * and /etc/group (lib/etcfiles.c); input: passwd, "\n--\n", group.  The
 * property is the security one, checked with glibc's own parser (fgetpwent,
 * fgetgrent: the nss_files parser the container's libc uses): in the merged
 * files only berth's lines have the user's name or uid or one of the user's
 * groups, and no other group lists the user as a member. */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>

#include "fuzz.h"
#include "../../lib/etcfiles-internal.h"
#include "../lib/fixture_users.h"

static struct berth_group groups[] = {
  { 1000, (char *) "alice" },
  { 2001, (char *) "devs" },
  { 2003, NULL },
};
static struct berth_user alice
    = TEST_USER("alice", 1000, 1000, "Alice", "/home/alice", "/bin/sh", "alice", groups);

static const char *
bare(const char *name)
{
  return name[0] == '+' || name[0] == '-' ? name + 1 : name;
}

static void
check_passwd(char *out)
{
  FILE *f = fmemopen(out, strlen(out), "r");
  struct passwd *pw;
  int mine = 0;

  if (f == NULL)
    abort();
  while ((pw = fgetpwent(f)) != NULL)
    if (strcmp(bare(pw->pw_name), "alice") == 0 || pw->pw_uid == 1000) {
      FUZZ_ASSERT(strcmp(pw->pw_name, "alice") == 0 && pw->pw_uid == 1000 && pw->pw_gid == 1000);
      mine++;
    }
  fclose(f);
  FUZZ_ASSERT(mine == 1);
}

static void
check_group(char *out)
{
  FILE *f = fmemopen(out, strlen(out), "r");
  struct group *gr;

  if (f == NULL)
    abort();
  while ((gr = fgetgrent(f)) != NULL) {
    bool ours = false;
    for (size_t i = 0; i < 2; i++)
      if (strcmp(bare(gr->gr_name), groups[i].name) == 0 || gr->gr_gid == groups[i].gid) {
        FUZZ_ASSERT(strcmp(gr->gr_name, groups[i].name) == 0 && gr->gr_gid == groups[i].gid);
        ours = true;
      }
    if (ours)
      continue;
    for (char **m = gr->gr_mem; *m; m++)
      FUZZ_ASSERT(strcmp(*m, "alice") != 0);
  }
  fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *pw, *gr, *out;
  berth_error_t err = NULL;

  fuzz_split(data, size, &pw, &gr);
  out = berth_merge_passwd(pw, &alice, "/home/alice", "/bin/sh", &err);
  FUZZ_ASSERT(out != NULL);
  check_passwd(out);
  free(out);
  out = berth_merge_group(gr, &alice, &err);
  FUZZ_ASSERT(out != NULL);
  check_group(out);
  free(out);
  free(pw);
  free(gr);
  return 0;
}
