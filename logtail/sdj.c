#include "logtail/sdj.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* dlsym into a typed pointer: memcpy, as ISO C has no conversion from void * to a function
 * pointer (POSIX guarantees the representation). */
static int sym(void *dl, const char *lib, const char *name, void *slot, size_t size, char *err,
               size_t errlen)
{
    void *p = dlsym(dl, name);
    if (!p) {
        snprintf(err, errlen, "%s has no %s", lib, name);
        return -1;
    }
    memcpy(slot, &p, size);
    return 0;
}

#define LOAD(field, name) sym(api->dl, library, #name, &api->field, sizeof api->field, err, errlen)

int lt_sdj_load(struct lt_sdj *api, char *err, size_t errlen)
{
    return lt_sdj_load_from(api, LT_SDJ_LIBRARY, err, errlen);
}

int lt_sdj_load_from(struct lt_sdj *api, const char *library, char *err, size_t errlen)
{
    memset(api, 0, sizeof *api);
    api->dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!api->dl) {
        const char *why = dlerror();
        snprintf(err, errlen, "cannot load %s (Debian: libsystemd0): %s", library,
                 why ? why : "unknown error");
        return -1;
    }
    int rc = 0;
    rc = rc ? rc : LOAD(open, sd_journal_open);
    rc = rc ? rc : LOAD(open_directory, sd_journal_open_directory);
    rc = rc ? rc : LOAD(close, sd_journal_close);
    rc = rc ? rc : LOAD(add_match, sd_journal_add_match);
    rc = rc ? rc : LOAD(add_disjunction, sd_journal_add_disjunction);
    rc = rc ? rc : LOAD(add_conjunction, sd_journal_add_conjunction);
    rc = rc ? rc : LOAD(get_cursor, sd_journal_get_cursor);
    rc = rc ? rc : LOAD(test_cursor, sd_journal_test_cursor);
    rc = rc ? rc : LOAD(seek_cursor, sd_journal_seek_cursor);
    rc = rc ? rc : LOAD(seek_head, sd_journal_seek_head);
    rc = rc ? rc : LOAD(seek_tail, sd_journal_seek_tail);
    rc = rc ? rc : LOAD(next, sd_journal_next);
    rc = rc ? rc : LOAD(previous, sd_journal_previous);
    rc = rc ? rc : LOAD(previous_skip, sd_journal_previous_skip);
    rc = rc ? rc : LOAD(set_data_threshold, sd_journal_set_data_threshold);
    rc = rc ? rc : LOAD(get_fd, sd_journal_get_fd);
    rc = rc ? rc : LOAD(get_events, sd_journal_get_events);
    rc = rc ? rc : LOAD(process, sd_journal_process);
    rc = rc ? rc : LOAD(get_monotonic_usec, sd_journal_get_monotonic_usec);
    rc = rc ? rc : LOAD(get_realtime_usec, sd_journal_get_realtime_usec);
    rc = rc ? rc : LOAD(get_data, sd_journal_get_data);
    rc = rc ? rc : LOAD(restart_data, sd_journal_restart_data);
    rc = rc ? rc : LOAD(enumerate_data, sd_journal_enumerate_data);
    if (rc != 0) {
        lt_sdj_unload(api);
        return -1;
    }
    return 0;
}

void lt_sdj_unload(struct lt_sdj *api)
{
    if (api->dl)
        dlclose(api->dl);
    memset(api, 0, sizeof *api);
}
