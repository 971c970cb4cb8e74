/* entry_internal.h - inside the entry modes: the mode table's members and
 * what only the unit tests call. */
#ifndef BERTH_ENTRY_INTERNAL_H
#define BERTH_ENTRY_INTERNAL_H

#include "berth/entry.h"

extern const struct berth_entry_mode berth_entry_mode_exec;
extern const struct berth_entry_mode berth_entry_mode_join;

/* Build the exec create body (User uid:gid, Env, WorkingDir, Tty, attach
 * flags, DetachKeys; ConsoleSize when the API offers it). */
json_t *berth_exec_spec(const struct berth_box *b, const struct berth_exec_req *r, unsigned rows,
                        unsigned cols, bool console_size, berth_error_t *err);

#endif
