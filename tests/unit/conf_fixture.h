/* conf_fixture.h - shared by test_config.c and test_policy.c. */
#ifndef BERTH_TEST_CONF_FIXTURE_H
#define BERTH_TEST_CONF_FIXTURE_H

#include <sys/types.h>

#include "berth/config.h"
#include "berth/user.h"

/* the temporary directory of the files below, made by the setup */
extern char tmpdir[];
/* cmocka group setup/teardown: tmpdir made and removed */
int conf_fixture_setup(void **state);
int conf_fixture_teardown(void **state);
/* text written as NAME in the directory with mode; the path (free it) */
char *write_conf_mode(const char *name, const char *text, mode_t mode);
char *write_conf(const char *text);
/* text loaded as berth.conf, failing the test when it does not load */
struct berth_config *load_ok(const char *text);
/* a user made by hand, freed as the core frees its own (test_policy.c's name) */
void free_user(struct berth_user *u);

#endif
