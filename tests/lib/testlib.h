/* testlib.h - what the C tests share: a skip that CI refuses, checked core
 * calls, and shell commands.  Linked into every C test program as
 * tests/lib/libtestlib.la (Makefile.am); include it after <cmocka.h>.  The
 * fake engine is in fake_engine.h. */
#ifndef BERTH_TESTLIB_H
#define BERTH_TESTLIB_H

#include "berth/error.h"

/* Skip the whole test program: print "SKIP: why" and exit 77 (automake's
 * skip).  Under CI=true a skip is a failure instead: "FAIL: ..." and exit 1,
 * so a CI machine that lacks what a tier needs cannot pass by skipping. */
void die_skip(const char *why) __attribute__((noreturn));

/* A core call that must succeed: fails the current cmocka test with the
 * error's message when r < 0. */
void must(int r, berth_error_t *err);

/* Run a shell command built from fmt; returns its exit status (255 when it
 * did not exit normally or could not be run). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* stdout of a shell command built from fmt, trailing newlines stripped.
 * The buffer is static: the next call overwrites it.  Fails the current
 * cmocka test when the command cannot be started. */
const char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
