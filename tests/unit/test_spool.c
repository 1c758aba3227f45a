/* Unit tests for agent/spool: durability across reopen, ordering, bounds, expiry, corruption. */
#include "agent/spool.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (86400LL * 1000)
#define T0     1795435200000LL

struct clock {
    int64_t now;
};

static int64_t fake_now(void *ud)
{
    return ((struct clock *)ud)->now;
}

struct fixture {
    char root[64];
    char dir[128];
};

static int fx_init(struct fixture *f)
{
    snprintf(f->root, sizeof f->root, "/tmp/cwspool-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/spool", f->root);
    cw_log_set_level(CW_LOG_OFF); /* the spool warns on every drop; tests count instead */
    return 0;
}

static void fx_done(struct fixture *f)
{
    DIR *d = opendir(f->dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    rmdir(f->root);
    cw_log_set_level(CW_LOG_INFO);
}

static int push_str(struct spool *sp, const char *body, int64_t newest)
{
    struct spool_meta m = {"CWAgent", newest - 1000, newest, 3, 0};
    return spool_push(sp, body, strlen(body), &m);
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (l > s && strcmp(de->d_name + l - s, suffix) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Path of the only/first entry file with sequence `seq`. */
static void entry_path(const struct fixture *f, unsigned seq, char *out, size_t n)
{
    snprintf(out, n, "%s/%016x.spl", f->dir, seq);
}

TEST(replays_oldest_first_and_survives_reopen)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    struct clock c = {T0};
    struct spool *sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    T_EQ_INT(push_str(sp, "body-one", T0), 0);
    T_EQ_INT(push_str(sp, "body-two", T0 + 1), 0);
    spool_close(sp);

    struct stat st;
    T_ASSERT(stat(f.dir, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0700);
    char p[256];
    entry_path(&f, 1, p, sizeof p);
    T_ASSERT(stat(p, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0600);

    sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    struct spool_stats ss;
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.entries, 2);
    T_EQ_INT(ss.bytes, 2 * (36 + 7 + 8));
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "body-one");
    T_EQ_INT(e.len, 8);
    T_EQ_STR(e.ns, "CWAgent");
    T_EQ_INT(e.newest_ms, T0);
    T_EQ_INT(e.oldest_ms, T0 - 1000);
    T_EQ_INT(e.ndatums, 3);
    spool_entry_release(&e);
    T_EQ_INT(spool_pop(sp), 0);
    T_EQ_INT(push_str(sp, "body-three", T0 + 2), 0); /* sequence continues after reopen */
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "body-two");
    spool_entry_release(&e);
    T_EQ_INT(spool_pop(sp), 0);
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "body-three");
    T_EQ_INT(e.seq, 3);
    spool_entry_release(&e);
    T_EQ_INT(spool_pop(sp), 0);
    T_EQ_INT(spool_peek_oldest(sp, &e), -1);
    T_EQ_INT(spool_pop(sp), -1);
    T_EQ_INT(count_files(f.dir, ".spl"), 0);
    spool_close(sp);
    fx_done(&f);
}

TEST(full_spool_drops_the_oldest)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    struct clock c = {T0};
    /* each entry: 36 header + 7 namespace + 10 body = 53 bytes; room for 3 */
    struct spool *sp = spool_open(f.dir, 53 * 3 + 10, fake_now, &c);
    T_ASSERT(sp);
    const char *bodies[] = {"entry-0000", "entry-0001", "entry-0002", "entry-0003", "entry-0004"};
    for (int i = 0; i < 5; i++)
        T_EQ_INT(push_str(sp, bodies[i], T0), 0);
    struct spool_stats ss;
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.entries, 3);
    T_EQ_INT(ss.dropped_full, 2);
    T_EQ_INT(ss.bytes, 53 * 3);
    T_EQ_INT(count_files(f.dir, ".spl"), 3);
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "entry-0002");
    spool_entry_release(&e);
    char huge[400];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    T_EQ_INT(push_str(sp, huge, T0), -1); /* larger than the whole spool */
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.dropped_full, 3);
    T_EQ_INT(ss.entries, 3);
    spool_close(sp);
    fx_done(&f);
}

TEST(expired_entries_are_dropped_with_the_injected_clock)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    struct clock c = {T0};
    struct spool *sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    T_EQ_INT(push_str(sp, "old", T0), 0);
    T_EQ_INT(push_str(sp, "newer", T0 + DAY_MS), 0);
    T_EQ_INT(push_str(sp, "ancient", T0 - 14 * DAY_MS), -1); /* already outside the window */
    c.now = T0 + 14 * DAY_MS - 3 * 3600 * 1000;              /* inside window minus margin */
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "old");
    spool_entry_release(&e);
    c.now = T0 + 14 * DAY_MS - 3600 * 1000; /* within the 2 h margin: dropped */
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "newer");
    spool_entry_release(&e);
    struct spool_stats ss;
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.dropped_expired, 2);
    T_EQ_INT(ss.entries, 1);
    spool_close(sp);
    c.now = T0 + 30 * DAY_MS; /* on reopen everything is stale */
    sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.entries, 0);
    T_EQ_INT(ss.dropped_expired, 1);
    T_EQ_INT(count_files(f.dir, ".spl"), 0);
    spool_close(sp);
    fx_done(&f);
}

static void write_raw(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        if (write(fd, p, n) != (ssize_t)n)
            perror("write");
        close(fd);
    }
}

TEST(temp_and_corrupt_files_are_removed_and_counted)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    struct clock c = {T0};
    struct spool *sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    T_EQ_INT(push_str(sp, "first-body", T0), 0);
    T_EQ_INT(push_str(sp, "second-body", T0), 0);
    T_EQ_INT(push_str(sp, "third-body", T0), 0);
    spool_close(sp);

    char p[256];
    snprintf(p, sizeof p, "%s/0000000000000009.spl.tmp", f.dir); /* crash mid-write */
    write_raw(p, "partial", 7);
    snprintf(p, sizeof p, "%s/000000000000000a.spl", f.dir); /* bad header */
    write_raw(p, "garbage that is not a spool file at all....", 43);
    snprintf(p, sizeof p, "%s/README", f.dir); /* not ours: left alone */
    write_raw(p, "keep", 4);
    entry_path(&f, 1, p, sizeof p); /* flip one body byte: caught by the CRC */
    int fd = open(p, O_RDWR);
    T_ASSERT(fd >= 0);
    T_ASSERT(pwrite(fd, "X", 1, 36 + 7 + 2) == 1);
    close(fd);

    sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    T_EQ_INT(count_files(f.dir, ".tmp"), 0);
    struct spool_stats ss;
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.corrupt, 1);
    T_EQ_INT(ss.entries, 3);
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "second-body");
    spool_entry_release(&e);
    spool_get_stats(sp, &ss);
    T_EQ_INT(ss.corrupt, 2);
    T_EQ_INT(ss.entries, 2);
    T_EQ_INT(push_str(sp, "after", T0), 0);
    T_ASSERT(spool_pop(sp) == 0 && spool_pop(sp) == 0);
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "after");
    T_EQ_INT(e.seq, 11); /* after the highest name seen, even a corrupt one */
    spool_entry_release(&e);
    spool_close(sp);
    snprintf(p, sizeof p, "%s/README", f.dir);
    T_EQ_INT(access(p, F_OK), 0);
    fx_done(&f);
}

TEST(tightens_an_open_directory_and_keeps_flags)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    T_ASSERT(mkdir(f.dir, 0755) == 0);
    T_ASSERT(chmod(f.dir, 0755) == 0);
    struct clock c = {T0};
    struct spool *sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    struct stat st;
    T_ASSERT(stat(f.dir, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0700);
    const unsigned char bin[] = {0x1f, 0x8b, 0, 1, 2, 0, 255};
    struct spool_meta m = {"NS", T0, T0, 1000, SPOOL_F_GZIP};
    T_EQ_INT(spool_push(sp, bin, sizeof bin, &m), 0);
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_INT(e.len, sizeof bin);
    T_CHECK(memcmp(e.body, bin, sizeof bin) == 0);
    T_EQ_INT(e.flags, SPOOL_F_GZIP);
    T_EQ_INT(e.ndatums, 1000);
    spool_entry_release(&e);
    struct spool_meta bad = {"", T0, T0, 1, 0};
    T_EQ_INT(spool_push(sp, bin, sizeof bin, &bad), -1);
    spool_close(sp);
    fx_done(&f);
}

TEST(open_fails_cleanly_on_a_file)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    write_raw(f.dir, "x", 1);
    T_CHECK(spool_open(f.dir, 1000, NULL, NULL) == NULL);
    unlink(f.dir);
    fx_done(&f);
}

/* spool_push_unsynced: the entry is a normal, readable entry at once; spool_unsynced counts
 * it until spool_sync, a pop or spool_close; a reopened spool replays it. */
TEST(unsynced_push_is_counted_until_synced_or_popped)
{
    struct fixture f;
    T_ASSERT(fx_init(&f) == 0);
    struct clock c = {T0};
    struct spool *sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    struct spool_meta m = {"CWAgent", T0 - 1000, T0, 2, 0};
    T_EQ_INT(spool_push_unsynced(sp, "lazy-one", 8, &m), 0);
    T_EQ_INT(spool_push_unsynced(sp, "lazy-two", 8, &m), 0);
    T_EQ_INT(push_str(sp, "durable", T0), 0);
    T_EQ_INT(spool_unsynced(sp), 2);
    T_EQ_INT(count_files(f.dir, ".spl"), 3);
    T_EQ_INT(count_files(f.dir, ".tmp"), 0);
    struct spool_entry e;
    T_ASSERT(spool_peek_oldest(sp, &e) == 0);
    T_EQ_STR(e.body, "lazy-one");
    spool_entry_release(&e);
    T_EQ_INT(spool_pop(sp), 0); /* delivered before any sync: nothing left to sync for it */
    T_EQ_INT(spool_unsynced(sp), 1);
    T_EQ_INT(spool_sync(sp), 0);
    T_EQ_INT(spool_unsynced(sp), 0);
    T_EQ_INT(spool_sync(sp), 0); /* nothing to do */
    T_EQ_INT(spool_push_unsynced(sp, "lazy-three", 10, &m), 0);
    T_EQ_INT(spool_unsynced(sp), 1);
    spool_close(sp); /* syncs */

    sp = spool_open(f.dir, 1 << 20, fake_now, &c);
    T_ASSERT(sp);
    T_EQ_INT(spool_unsynced(sp), 0);
    const char *want[] = {"lazy-two", "durable", "lazy-three"};
    for (int i = 0; i < 3; i++) {
        T_ASSERT(spool_peek_oldest(sp, &e) == 0);
        T_EQ_STR(e.body, want[i]);
        spool_entry_release(&e);
        T_EQ_INT(spool_pop(sp), 0);
    }
    T_EQ_INT(count_files(f.dir, ".spl"), 0);
    spool_close(sp);
    fx_done(&f);
}

T_MAIN("test_spool", T_CASE(replays_oldest_first_and_survives_reopen),
       T_CASE(full_spool_drops_the_oldest),
       T_CASE(expired_entries_are_dropped_with_the_injected_clock),
       T_CASE(temp_and_corrupt_files_are_removed_and_counted),
       T_CASE(tightens_an_open_directory_and_keeps_flags), T_CASE(open_fails_cleanly_on_a_file),
       T_CASE(unsynced_push_is_counted_until_synced_or_popped))
