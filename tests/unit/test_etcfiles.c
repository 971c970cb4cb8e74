/* test_etcfiles.c - merging the user's entries into an image's /etc/passwd and
 * /etc/group, and the ustar writer/reader (checked against GNU tar). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../lib/etcfiles-internal.h"
#include "berth/util.h"
#include "../lib/testlib.h"
#include "../lib/fixture_users.h"

/* What berth-test:latest carries (tests/lib/build-image.sh). */
static const char image_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                   "imguser:x:1000:1000:image user:/home/imguser:/bin/sh\n"
                                   "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char image_group[] = "root:x:0:\n"
                                  "imggroup:x:1000:imguser\n"
                                  "nogroup:x:65534:\n";

static struct berth_group alice_groups[] = {
  { 1000, (char *) "alice" },
  { 2001, (char *) "devs" },
  { 2002, (char *) "ops" },
  { 2003, NULL }, /* no name in NSS */
};

static struct berth_user alice = TEST_USER("alice", 1000, 1000, "Alice Liddell", "/home/alice",
                                           "/bin/bash", "alice", alice_groups);

static size_t
count_lines(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    if (*s == '\n')
      n++;
  return n;
}

/* The line of `file` whose first field is `name` (NULL when none); also
 * checks there is exactly one. */
static char *
line_of(const char *file, const char *name)
{
  char *found = NULL;
  size_t nl = strlen(name);
  for (const char *s = file; *s;) {
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t) (e - s) : strlen(s);
    if (n > nl && strncmp(s, name, nl) == 0 && s[nl] == ':') {
      assert_null(found); /* duplicated entry */
      found = strndup(s, n);
    }
    s += n + (e ? 1 : 0);
  }
  return found;
}

/* The one line of `file` for `name` reads exactly `want`. */
static void
assert_line(const char *file, const char *name, const char *want)
{
  char *l = line_of(file, name);
  assert_string_equal(l, want);
  free(l);
}

/* The merge of `img` for `u`, which must succeed. */
static char *
passwd_ok(const char *img, const struct berth_user *u, const char *home, const char *shell)
{
  berth_error_t err = NULL;
  char *out = berth_merge_passwd(img, u, home, shell, &err);
  if (out == NULL)
    fail_msg("merge_passwd: %s", err->msg);
  assert_null(err);
  return out;
}

static char *
group_ok(const char *img, const struct berth_user *u)
{
  berth_error_t err = NULL;
  char *out = berth_merge_group(img, u, &err);
  if (out == NULL)
    fail_msg("merge_group: %s", err->msg);
  assert_null(err);
  return out;
}

/* `text` as a stream, for glibc's own fgetpwent/fgetgrent. */
static FILE *
open_text(char *text)
{
  FILE *f;
  assert_non_null(text);
  f = fmemopen(text, strlen(text), "r");
  assert_non_null(f);
  return f;
}

TEST(test_passwd_replaces_same_uid)
{
  char *out = passwd_ok(image_passwd, &alice, "/home/alice", "/bin/bash");

  /* imguser has uid 1000 too: alice's entry wins, imguser goes. */
  assert_null(strstr(out, "imguser"));
  assert_line(out, "alice", "alice:x:1000:1000:Alice Liddell:/home/alice:/bin/bash");
  assert_line(out, "root", "root:x:0:0:root:/root:/bin/sh");
  assert_non_null(strstr(out, "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
  assert_int_equal(count_lines(out), 3);
  free(out);
}

TEST(test_passwd_replaces_same_name)
{
  const char *img = "root:x:0:0:root:/root:/bin/sh\n"
                    "alice:x:4242:4242:old alice:/home/old:/bin/false\n"
                    "imguser:x:1001:1001::/home/imguser:/bin/sh\n";
  struct berth_user u = alice;
  char *out;

  u.uid = 5000;
  u.gid = 5000;
  out = passwd_ok(img, &u, "/srv/homes/alice", "/bin/sh");
  assert_line(out, "alice", "alice:x:5000:5000:Alice Liddell:/srv/homes/alice:/bin/sh");
  assert_null(strstr(out, "4242"));
  assert_line(out, "imguser", "imguser:x:1001:1001::/home/imguser:/bin/sh");
  assert_int_equal(count_lines(out), 3);
  free(out);
}

TEST(test_passwd_malformed_kept_and_gecos_cleaned)
{
  /* no trailing newline on the last line, a comment, a NIS line, a short
   * line that happens to mention uid 1000 */
  const char *img = "# comment: 1000\n"
                    "+::::::\n"
                    "broken:1000\n"
                    "root:x:0:0:root:/root:/bin/sh";
  struct berth_user u = alice;
  char *out;

  u.gecos = (char *) "Evil:x:0:0:\nroot2";
  out = passwd_ok(img, &u, "/home/alice", "/bin/sh");
  assert_non_null(strstr(out, "# comment: 1000\n"));
  assert_non_null(strstr(out, "+::::::\n"));
  assert_non_null(strstr(out, "broken:1000\n"));
  assert_non_null(strstr(out, "root:x:0:0:root:/root:/bin/sh\n"));
  assert_line(out, "alice", "alice:x:1000:1000:Evil x 0 0  root2:/home/alice:/bin/sh");
  assert_null(strstr(out, "\nroot2"));
  assert_int_equal(count_lines(out), 5);
  assert_int_equal(out[strlen(out) - 1], '\n');
  free(out);

  /* no image file at all */
  out = passwd_ok(NULL, &alice, "/home/alice", "/bin/sh");
  assert_string_equal(out, "alice:x:1000:1000:Alice Liddell:/home/alice:/bin/sh\n");
  free(out);
}

TEST(test_passwd_refuses_bad_input)
{
  berth_error_t err = NULL;
  struct berth_user u = alice;

  assert_null(berth_merge_passwd(image_passwd, &alice, "/home/a:b", "/bin/sh", &err));
  assert_int_equal(err->kind, BERTH_E_USER);
  berth_error_release(&err);
  assert_null(berth_merge_passwd(image_passwd, &alice, "/home/alice", "/bin/sh\nx", &err));
  berth_error_release(&err);
  u.name = (char *) "ev:il";
  assert_null(berth_merge_passwd(image_passwd, &u, "/home/alice", "/bin/sh", &err));
  berth_error_release(&err);
  u = alice;
  u.uid = 0;
  assert_null(berth_merge_passwd(image_passwd, &u, "/root", "/bin/sh", &err));
  assert_non_null(err);
  berth_error_release(&err);
}

TEST(test_group_merge)
{
  const char *img = "root:x:0:\n"
                    "imggroup:x:1000:imguser\n"
                    "devs:x:3000:imguser\n"      /* same name as alice's 2001 */
                    "wheel:x:10:alice,imguser\n" /* host does not give alice wheel */
                    "audio:x:29:alice\n"
                    "garbage line\n"
                    "nogroup:x:65534:\n";
  char *out = group_ok(img, &alice);

  /* primary: replaces imggroup (same gid 1000) */
  assert_null(strstr(out, "imggroup"));
  assert_line(out, "alice", "alice:x:1000:alice");
  /* same name, different gid: the host's gid wins */
  assert_line(out, "devs", "devs:x:2001:alice");
  assert_null(strstr(out, "3000"));
  assert_line(out, "ops", "ops:x:2002:alice");
  /* membership in groups the host does not grant is dropped */
  assert_line(out, "wheel", "wheel:x:10:imguser");
  assert_line(out, "audio", "audio:x:29:");
  assert_non_null(strstr(out, "garbage line\n"));
  assert_non_null(strstr(out, "root:x:0:\n"));
  assert_non_null(strstr(out, "nogroup:x:65534:\n"));
  /* the unnamed gid gets no line (GroupAdd still grants it) */
  assert_null(strstr(out, "2003"));
  assert_int_equal(count_lines(out), 8);
  free(out);
}

TEST(test_group_unnamed_primary)
{
  struct berth_group g[] = { { 7000, NULL }, { 1000, (char *) "staff" } };
  struct berth_user u = alice;
  char *out;

  u.gid = 7000;
  u.group = NULL;
  u.groups = g;
  u.n_groups = 2;
  out = group_ok(image_group, &u);
  /* the primary group needs a name: the user's */
  assert_line(out, "alice", "alice:x:7000:alice");
  assert_line(out, "staff", "staff:x:1000:alice");
  assert_null(strstr(out, "imggroup"));
  free(out);
}

/* Run `tar` on an archive file and return its output. */
static char *
run_tar(const char *args, const char *path)
{
  char cmd[512];
  static char out[8192];
  FILE *p;
  size_t n;

  snprintf(cmd, sizeof(cmd), "tar %s -f %s 2>&1", args, path);
  p = popen(cmd, "r");
  assert_non_null(p);
  n = fread(out, 1, sizeof(out) - 1, p);
  out[n] = '\0';
  assert_int_equal(pclose(p), 0);
  return out;
}

TEST(test_tar_roundtrip)
{
  berth_error_t err = NULL;
  char big[1500];
  char *tar = NULL, *data = NULL;
  size_t len = 0, dlen = 0;
  char path[] = "/tmp/bt-tar-XXXXXX";
  int fd;
  const char *listing;

  memset(big, 'x', sizeof(big));
  big[sizeof(big) - 1] = '\n';
  struct berth_tar_entry files[] = {
    { "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26, 0644 },
    { "etc/group", big, sizeof(big), 0600 },
    { "etc/empty", "", 0, 0644 },
  };
  assert_int_equal(berth_tar_build(files, 3, &tar, &len, &err), 0);
  /* 3 headers, 1 + 3 + 0 data blocks, 2 end blocks */
  assert_int_equal(len, 512 * (3 + 4 + 2));
  assert_int_equal(len % 512, 0);

  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, tar, len), (ssize_t) len);
  close(fd);
  listing = run_tar("-tv --numeric-owner", path);
  assert_non_null(strstr(listing, "-rw-r--r-- 0/0              26 "));
  assert_non_null(strstr(listing, "etc/passwd\n"));
  assert_non_null(strstr(listing, "-rw------- 0/0            1500 "));
  assert_non_null(strstr(listing, "etc/group\n"));
  assert_non_null(strstr(listing, "etc/empty\n"));
  assert_null(strstr(listing, "checksum"));
  /* content survives */
  listing = run_tar("-xO etc/group", path);
  assert_int_equal(strlen(listing), sizeof(big));
  assert_memory_equal(listing, big, sizeof(big));
  /* and GNU tar finds no trailing garbage or missing end blocks */
  listing = run_tar("-tv", path);
  assert_null(strstr(listing, "A lone zero block"));
  assert_null(strstr(listing, "Unexpected EOF"));

  /* our reader gets the first file back */
  assert_int_equal(berth_tar_first_file(tar, len, &data, &dlen, &err), 0);
  assert_int_equal(dlen, 26);
  assert_string_equal(data, "root:x:0:0::/root:/bin/sh\n");
  free(data);

  /* a corrupted header is refused */
  tar[10] ^= 1;
  assert_int_equal(berth_tar_first_file(tar, len, &data, &dlen, &err), -1);
  assert_int_equal(err->kind, BERTH_E_ENGINE_REPLY);
  berth_error_release(&err);
  free(tar);
  unlink(path);
}

TEST(test_tar_reader_gnu)
{
  /* an archive made by GNU tar in pax format (what engines may send) */
  char dir[] = "/tmp/bt-tar-dir-XXXXXX";
  char cmd[1024], path[600];
  berth_error_t err = NULL;
  char *tar = NULL, *data = NULL;
  size_t len = 0, dlen = 0;

  assert_non_null(mkdtemp(dir));
  snprintf(cmd, sizeof(cmd),
           "cd %s && printf 'hello:x:1:1::/:/bin/sh\\n' > passwd && "
           "tar --format=pax -cf a.tar passwd && ln -s passwd link && tar -cf l.tar link",
           dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/a.tar", dir);
  assert_int_equal(berth_read_file(path, 1 << 20, &tar, &len, &err), 0);
  assert_int_equal(berth_tar_first_file(tar, len, &data, &dlen, &err), 0);
  assert_string_equal(data, "hello:x:1:1::/:/bin/sh\n");
  free(data);
  free(tar);
  snprintf(path, sizeof(path), "%s/l.tar", dir);
  assert_int_equal(berth_read_file(path, 1 << 20, &tar, &len, &err), 0);
  assert_int_equal(berth_tar_first_file(tar, len, &data, &dlen, &err), -1);
  assert_int_equal(err->status, EINVAL);
  berth_error_release(&err);
  free(tar);
  /* an empty archive (two zero blocks) holds no file */
  tar = calloc(1, 1024);
  assert_int_equal(berth_tar_first_file(tar, 1024, &data, &dlen, &err), -1);
  assert_int_equal(err->status, ENOENT);
  berth_error_release(&err);
  /* truncated */
  assert_int_equal(berth_tar_first_file(tar, 100, &data, &dlen, &err), -1);
  berth_error_release(&err);
  free(tar);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- as glibc reads it */

/* Image lines that glibc's nss_files reads as alice or as uid 1000 although
 * their fields are not literally "alice" / "1000". */
static const char hostile_passwd[]
    = "root:x:0:0:root:/root:/bin/sh\n"
      " alice:x:0:0::/root:/bin/bash\n" /* leading blank: getpwnam("alice") = uid 0 */
      "\talice:x:0:0::/root:/bin/bash\n"
      "alice:x:0:0::/root:/bin/bash:extra\n" /* 8 fields: the shell takes the rest */
      "+alice:x:0:0:::\n"                    /* nss_compat */
      "m1:x: 1000:0::/:/bin/sh\n"            /* strtoul skips blanks */
      "m2:x:+1000:0::/:/bin/sh\n"            /* and takes a sign */
      "m3:x:01000:0::/:/bin/sh\n"
      "m4:x:4294968296:0::/:/bin/sh\n"  /* 2^32 + 1000, truncated to uid_t */
      "m5:x:-4294966296:0::/:/bin/sh\n" /* wraps to 1000 as well */
      "   # comment\n"
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";

static const char hostile_group[] = "root:x:0:\n"
                                    "wheel:x:10: alice\n" /* leading blank in the member list */
                                    "adm:x:4:bob,\talice,carol\n"
                                    " devs:x:0:\n"       /* alice's group name, leading blank */
                                    "e1:x: 2001:\n"      /* devs' gid with a blank */
                                    "e2:x:+1000:\n"      /* alice's primary gid with a sign */
                                    "e3:x:4294969298:\n" /* 2^32 + 2002: ops */
                                    "ops:x:0\n"          /* no member field: still a group */
                                    "+devs:x:0:\n"
                                    "+devs\n" /* nss_compat: glibc reads gid 0 */
                                    "staff:x:50:bob\n";

TEST(test_passwd_as_glibc_reads_it)
{
  char *out = passwd_ok(hostile_passwd, &alice, "/home/alice", "/bin/bash");
  size_t mine = 0;
  bool root = false, daemon_kept = false;
  FILE *f;
  struct passwd *pw;

  /* glibc's own parser over the merged file: only berth's line is alice or
   * uid 1000 */
  f = open_text(out);
  while ((pw = fgetpwent(f)) != NULL) {
    root |= strcmp(pw->pw_name, "root") == 0 && pw->pw_uid == 0;
    daemon_kept |= strcmp(pw->pw_name, "daemon") == 0;
    if (strcmp(pw->pw_name, "alice") == 0
        || (pw->pw_name[0] && strcmp(pw->pw_name + 1, "alice") == 0) || pw->pw_uid == 1000) {
      assert_string_equal(pw->pw_name, "alice");
      assert_int_equal(pw->pw_uid, 1000);
      assert_int_equal(pw->pw_gid, 1000);
      assert_string_equal(pw->pw_dir, "/home/alice");
      mine++;
    }
  }
  fclose(f);
  assert_int_equal(mine, 1);
  assert_true(root);
  assert_true(daemon_kept);
  assert_non_null(strstr(out, "   # comment\n"));
  free(out);
}

TEST(test_group_as_glibc_reads_it)
{
  char *out = group_ok(hostile_group, &alice);
  const char *ours[] = { "alice", "devs", "ops" };
  const gid_t our_gids[] = { 1000, 2001, 2002 };
  size_t seen[3] = { 0 };
  bool wheel = false, adm = false;
  FILE *f;
  struct group *gr;

  f = open_text(out);
  while ((gr = fgetgrent(f)) != NULL) {
    bool is_ours = false;
    for (size_t i = 0; i < 3; i++) {
      const char *nm
          = gr->gr_name[0] == '+' || gr->gr_name[0] == '-' ? gr->gr_name + 1 : gr->gr_name;
      if (strcmp(nm, ours[i]) == 0 || gr->gr_gid == our_gids[i]) {
        /* only the host's line for that group */
        assert_string_equal(gr->gr_name, ours[i]);
        assert_int_equal(gr->gr_gid, our_gids[i]);
        assert_non_null(gr->gr_mem[0]);
        assert_string_equal(gr->gr_mem[0], "alice");
        assert_null(gr->gr_mem[1]);
        seen[i]++;
        is_ours = true;
      }
    }
    if (is_ours)
      continue;
    /* no other group has alice as a member, however it was spelled */
    for (char **m = gr->gr_mem; *m; m++)
      if (strcmp(*m, "alice") == 0)
        fail_msg("alice is still a member of %s (gid %u)", gr->gr_name, (unsigned) gr->gr_gid);
    if (strcmp(gr->gr_name, "wheel") == 0)
      wheel = gr->gr_gid == 10 && gr->gr_mem[0] == NULL;
    if (strcmp(gr->gr_name, "adm") == 0)
      adm = gr->gr_mem[0] && strcmp(gr->gr_mem[0], "bob") == 0 && gr->gr_mem[1]
            && strcmp(gr->gr_mem[1], "carol") == 0 && gr->gr_mem[2] == NULL;
  }
  fclose(f);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(seen[i], 1);
  /* the groups themselves stay, without alice */
  assert_true(wheel);
  assert_true(adm);
  assert_non_null(strstr(out, "staff:x:50:bob\n"));
  free(out);
}
