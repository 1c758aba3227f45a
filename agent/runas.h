/* runas — honours agent.run_as_user: a process started as root switches to that user (as the
 * reference agent does) before it reads credentials or opens state; one started as another
 * user cannot switch and says so once. */
#ifndef CW_RUNAS_H
#define CW_RUNAS_H

#include <stddef.h>

/* user NULL or "" is a no-op. As root and user not root: the state directory (created 0700 if
 * missing) and the agent's log file (if any) are given to the user, then the process takes the
 * user's groups, gid and uid for good. Returns 0, or -1 with a message in err (unknown user,
 * a failed switch: the caller must not go on as root). */
int cw_run_as_user(const char *user, const char *state_dir, const char *logfile, char *err,
                   size_t errlen);

#endif
