/* main.c - berthctl, the admin CLI: options, the command table, dispatch.
 * One file per verb (check.c list.c status.c stop.c rm.c gc.c), each over
 * a few core functions; crun's src/ over libcrun is the shape. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "berth/login.h"
#include "ctl.h"

/* Which options a verb takes beyond -c and -d. */
enum {
  TAKES_JSON = 1 << 0,
  TAKES_FORCE = 1 << 1,
  TAKES_GC = 1 << 2,    /* --dry-run, --now, --verbose */
  TAKES_AUDIT = 1 << 3, /* --sshd-config, --pam-dir, --no-audit */
};

struct command {
  const char *name;
  int (*fn)(struct ctl *c, const char *arg);
  bool user_arg; /* takes exactly one USER */
  int takes;
  const char *usage;
};

static const struct command commands[] = {
  { "check", ctl_check, false, TAKES_JSON | TAKES_AUDIT,
    "validate the config, reach the engine, check images and keeper,\n"
    "                      and audit the deployment (sshd, PAM) for doors onto the host" },
  { "list", ctl_list, false, TAKES_JSON, "list every user's container (--json for scripts)" },
  { "status", ctl_status, true, TAKES_JSON,
    "policy, effective settings, container, spec and sessions" },
  { "stop", ctl_stop, true, TAKES_FORCE,
    "stop USER's container (refused while sessions are live)" },
  { "rm", ctl_rm, true, TAKES_FORCE, "remove USER's container (refused while sessions are live)" },
  { "gc", ctl_gc, false, TAKES_GC, "stop or remove containers idle longer than idle_timeout" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
  fprintf(f, "Usage: berthctl [OPTIONS] COMMAND [ARGS]\n"
             "Manage berth, the per-user SSH containers.  Run as root.\n"
             "\n"
             "Commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++) {
    char label[32];
    snprintf(label, sizeof(label), "%s%s", commands[i].name, commands[i].user_arg ? " USER" : "");
    fprintf(f, "  %-20s%s\n", label, commands[i].usage);
  }
  fprintf(f,
          "\n"
          "Options:\n"
          "  -c, --config PATH   read PATH instead of %s\n"
          "  -j, --json          JSON output (check: the audit's findings; list, status)\n"
          "  -f, --force         stop/rm: act even while sessions are live (ends them)\n"
          "  -n, --dry-run       gc: print what would be done, do nothing\n"
          "      --now EPOCH     gc: pretend the current time is EPOCH (seconds)\n"
          "  -v, --verbose       gc: also say why each container is left alone\n"
          "      --sshd-config FILE  check: audit sshd with -f FILE (default: sshd's own)\n"
          "      --pam-dir DIR   check: the sshd PAM stack is DIR/sshd (default /etc/pam.d)\n"
          "      --no-audit      check: config, keeper, engine and images only\n"
          "  -d, --debug         mirror the core's log lines on stderr\n"
          "  -h, --help          show this help\n"
          "  -V, --version       show the version\n"
          "\n"
          "Exit status: 0 ok; 1 a check failed or an operation failed or was refused;\n"
          "2 usage error; 3 no such user or container; 4 not run as root.\n"
          "See berthctl(8).\n",
          BERTH_CONFIG_PATH);
}

static int
usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  ctl_vwarn(fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try 'berthctl --help'.\n");
  return EXIT_USAGE;
}

enum { OPT_NOW = 0x100, OPT_SSHD_CONFIG, OPT_PAM_DIR, OPT_NO_AUDIT };

static int
parse_now(const char *arg, struct opts *o)
{
  char *end = NULL;
  long long v;

  errno = 0;
  v = strtoll(arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || v < 0)
    return -1;
  o->now = (time_t) v;
  o->have_now = true;
  return 0;
}

/* The options; -1 to go on with the verb at argv[optind], else an exit
 * status (--help, --version, a usage error). */
static int
parse_options(int argc, char **argv, struct opts *o)
{
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, 'j' },
    { "force", no_argument, NULL, 'f' },
    { "dry-run", no_argument, NULL, 'n' },
    { "now", required_argument, NULL, OPT_NOW },
    { "sshd-config", required_argument, NULL, OPT_SSHD_CONFIG },
    { "pam-dir", required_argument, NULL, OPT_PAM_DIR },
    { "no-audit", no_argument, NULL, OPT_NO_AUDIT },
    { "verbose", no_argument, NULL, 'v' },
    { "debug", no_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int opt;

  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":c:jfnvdhV", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': o->config_path = optarg; break;
    case 'j': o->json = true; break;
    case 'f': o->force = true; break;
    case 'n': o->dry_run = true; break;
    case 'v': o->verbose = true; break;
    case 'd': o->debug = true; break;
    case OPT_SSHD_CONFIG: o->sshd_config = optarg; break;
    case OPT_PAM_DIR: o->pam_dir = optarg; break;
    case OPT_NO_AUDIT: o->no_audit = true; break;
    case 'h': usage(stdout); return EXIT_OK;
    case 'V': printf("berthctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return EXIT_OK;
    case OPT_NOW:
      if (parse_now(optarg, o) < 0)
        return usage_error("--now: not a time in seconds since the epoch: '%s'", optarg);
      break;
    case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  return -1;
}

/* Options that mean something only to some verbs are errors elsewhere, so
 * a typo like `berthctl stop --dry-run alice` never acts for real. */
static int
check_verb(const struct command *cmd, const struct opts *o, int nargs, char **args)
{
  if ((o->dry_run || o->have_now || o->verbose) && !(cmd->takes & TAKES_GC))
    return usage_error("--dry-run, --now and --verbose are options of gc only");
  if (o->force && !(cmd->takes & TAKES_FORCE))
    return usage_error("--force is an option of stop and rm only");
  if (o->json && !(cmd->takes & TAKES_JSON))
    return usage_error("--json is an option of check, list and status only");
  if ((o->sshd_config || o->pam_dir || o->no_audit) && !(cmd->takes & TAKES_AUDIT))
    return usage_error("--sshd-config, --pam-dir and --no-audit are options of check only");
  if (o->json && o->no_audit)
    return usage_error("check --json prints the audit's findings: not with --no-audit");
  if (cmd->user_arg) {
    if (nargs != 1)
      return usage_error("%s takes exactly one USER", cmd->name);
    if (args[0][0] == '\0')
      return usage_error("%s: empty user name", cmd->name);
  } else if (nargs != 0) {
    return usage_error("%s takes no arguments", cmd->name);
  }
  return -1;
}

int
main(int argc, char **argv)
{
  struct ctl c = { .o = { .config_path = BERTH_CONFIG_PATH } };
  const struct command *cmd = NULL;
  int rc;

  rc = parse_options(argc, argv, &c.o);
  if (rc >= 0)
    return rc;
  if (optind >= argc)
    return usage_error("no command given");
  for (size_t i = 0; i < N_COMMANDS && cmd == NULL; i++)
    if (strcmp(commands[i].name, argv[optind]) == 0)
      cmd = &commands[i];
  if (cmd == NULL)
    return usage_error("unknown command '%s'", argv[optind]);
  rc = check_verb(cmd, &c.o, argc - optind - 1, argv + optind + 1);
  if (rc >= 0)
    return rc;

  if (geteuid() != 0) {
    ctl_warn("must be run as root");
    return EXIT_PERM;
  }
  ctl_log_init(c.o.debug);
  rc = cmd->fn(&c, cmd->user_arg ? argv[optind + 1] : NULL);

  berth_core_disconnect(c.engine);
  if (c.cfg)
    berth_config_free(c.cfg);
  if (fflush(stdout) != 0 && rc == EXIT_OK)
    rc = EXIT_PROBLEM;
  closelog();
  return rc;
}
