/* sdj — the part of libsystemd's journal API that logtail/journal.c uses, loaded with dlopen
 * when a journald source is set up, so that an agent without one never maps libsystemd and
 * what it pulls in (libgcrypt, libgpg-error, liblzma, liblz4, libcap: ~0.7 MB of RSS, nearly
 * all of it private to the agent). The function pointers have the exact types of the
 * declarations in <systemd/sd-journal.h> (checked by the compiler through __typeof__).
 *
 * Ownership: each lt_sdj holds its own dlopen reference (the loader counts them); no state is
 * shared between tables. A table is usable from a successful lt_sdj_load to lt_sdj_unload.
 */
#ifndef CW_LT_SDJ_H
#define CW_LT_SDJ_H

#include <stddef.h>
#include <systemd/sd-journal.h>

#define LT_SDJ_LIBRARY "libsystemd.so.0"

struct lt_sdj {
    void *dl;
    __typeof__(&sd_journal_open) open;
    __typeof__(&sd_journal_open_directory) open_directory;
    __typeof__(&sd_journal_close) close;
    __typeof__(&sd_journal_add_match) add_match;
    __typeof__(&sd_journal_add_disjunction) add_disjunction;
    __typeof__(&sd_journal_add_conjunction) add_conjunction;
    __typeof__(&sd_journal_get_cursor) get_cursor;
    __typeof__(&sd_journal_test_cursor) test_cursor;
    __typeof__(&sd_journal_seek_cursor) seek_cursor;
    __typeof__(&sd_journal_seek_head) seek_head;
    __typeof__(&sd_journal_seek_tail) seek_tail;
    __typeof__(&sd_journal_next) next;
    __typeof__(&sd_journal_previous) previous;
    __typeof__(&sd_journal_previous_skip) previous_skip;
    __typeof__(&sd_journal_set_data_threshold) set_data_threshold;
    __typeof__(&sd_journal_get_fd) get_fd;
    __typeof__(&sd_journal_get_events) get_events;
    __typeof__(&sd_journal_process) process;
    __typeof__(&sd_journal_get_monotonic_usec) get_monotonic_usec;
    __typeof__(&sd_journal_get_realtime_usec) get_realtime_usec;
    __typeof__(&sd_journal_get_data) get_data;
    __typeof__(&sd_journal_restart_data) restart_data;
    __typeof__(&sd_journal_enumerate_data) enumerate_data;
};

/* Loads LT_SDJ_LIBRARY and every symbol above. Returns 0, or -1 with a reason in err (the
 * library is missing, or lacks a symbol) and *api cleared. */
int lt_sdj_load(struct lt_sdj *api, char *err, size_t errlen);
/* The same from another library file name (tests: a missing one, one without the symbols). */
int lt_sdj_load_from(struct lt_sdj *api, const char *library, char *err, size_t errlen);
/* Drops the table's reference to the library (a cleared table is ignored). */
void lt_sdj_unload(struct lt_sdj *api);

#endif
