/* testlib_main.c - main() for a C test program that has none: run the cases
 * it registered (testlib.h).  A file of its own in libtestlib.a, so a
 * program with its own main() never pulls it in. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testlib.h"

int
main(void)
{
  return testlib_run();
}
