/* Unit tests for common/logfile: lines land in the file, the file rotates by size into
 * FILE.1..FILE.N and the oldest backup is removed. */
#include "common/logfile.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

TEST(rotates_by_size_and_keeps_n_backups)
{
    char dir[] = "/tmp/cwlogfileXXXXXX";
    T_ASSERT(mkdtemp(dir));
    char path[256], b1[300], b2[300], b3[300];
    snprintf(path, sizeof path, "%s/agent.log", dir);
    snprintf(b1, sizeof b1, "%s.1", path);
    snprintf(b2, sizeof b2, "%s.2", path);
    snprintf(b3, sizeof b3, "%s.3", path);
    struct cw_logfile *lf = cw_logfile_open(path, 100, 2);
    T_ASSERT(lf);
    const char line[] = "0123456789012345678901234567890123456789\n"; /* 41 bytes */
    for (int i = 0; i < 10; i++) /* 2 lines per file: 82 bytes, a third would pass 100 */
        cw_logfile_sink(lf, CW_LOG_INFO, line, sizeof line - 1);
    cw_logfile_close(lf);
    T_EQ_INT(file_size(path), 82);
    T_EQ_INT(file_size(b1), 82);
    T_EQ_INT(file_size(b2), 82);
    T_EQ_INT(file_size(b3), -1); /* only 2 backups are kept */
    struct stat st;
    T_ASSERT(stat(path, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0640 & ~0022 & 0777);
    unlink(path);
    unlink(b1);
    unlink(b2);
    rmdir(dir);
}

TEST(appends_to_an_existing_file_and_counts_it)
{
    char dir[] = "/tmp/cwlogfileXXXXXX";
    T_ASSERT(mkdtemp(dir));
    char path[256], b1[300];
    snprintf(path, sizeof path, "%s/agent.log", dir);
    snprintf(b1, sizeof b1, "%s.1", path);
    FILE *f = fopen(path, "w");
    T_ASSERT(f);
    fputs("previous run\n", f); /* 13 bytes */
    fclose(f);
    struct cw_logfile *lf = cw_logfile_open(path, 20, 1);
    T_ASSERT(lf);
    cw_logfile_sink(lf, CW_LOG_INFO, "abc\n", 4); /* 17: fits */
    T_EQ_INT(file_size(path), 17);
    cw_logfile_sink(lf, CW_LOG_INFO, "defgh\n", 6); /* 23 > 20: rotate first */
    cw_logfile_close(lf);
    T_EQ_INT(file_size(b1), 17);
    T_EQ_INT(file_size(path), 6);
    T_CHECK(cw_logfile_open("/nonexistent-dir/x.log", 0, 0) == NULL);
    unlink(path);
    unlink(b1);
    rmdir(dir);
}

T_MAIN("logfile", T_CASE(rotates_by_size_and_keeps_n_backups),
       T_CASE(appends_to_an_existing_file_and_counts_it))
