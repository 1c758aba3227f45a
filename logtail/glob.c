/* glob — expands a file_path pattern: fnmatch(3) per path component (a leading dot is matched
 * by `*`, as Go's filepath.Match), and a component "**" matching zero or more directories
 * (at most LT_GLOB_MAX_DEPTH deep; symlinked directories are not descended by "**", which
 * rules out loops). Matches are regular files; a symlink (to a file or a directory) is followed
 * only when links.c allows it, and each one refused is reported. Every directory read or
 * expected to hold a match is reported, so the caller can watch it.
 */
#include "logtail/lt_int.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LT_GLOB_MAX_DEPTH 32
#define LT_GLOB_MAX_PATH  4096

int64_t lt_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

uint64_t lt_fnv1a(const void *p, size_t n)
{
    const unsigned char *u = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct walk {
    char **comps;
    size_t ncomps;
    lt_skip_fn skip;
    void *ud;
    struct lt_matches *out;
    int err;
};

static int add_dir(struct lt_matches *m, const char *dir)
{
    for (size_t i = 0; i < m->ndirs; i++)
        if (strcmp(m->dirs[i], dir) == 0)
            return 0;
    if (m->ndirs == m->dcap) {
        size_t ncap = m->dcap ? m->dcap * 2 : 8;
        char **v = realloc(m->dirs, ncap * sizeof *v);
        if (!v)
            return -1;
        m->dirs = v;
        m->dcap = ncap;
    }
    m->dirs[m->ndirs] = strdup(dir);
    return m->dirs[m->ndirs++] ? 0 : -1;
}

int lt_matches_add(struct lt_matches *m, const char *path, const struct stat *st)
{
    for (size_t i = 0; i < m->n; i++) /* two "**" can reach a file twice */
        if (m->v[i].dev == (uint64_t)st->st_dev && m->v[i].ino == (uint64_t)st->st_ino)
            return 0;
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct lt_match *v = realloc(m->v, ncap * sizeof *v);
        if (!v)
            return -1;
        m->v = v;
        m->cap = ncap;
    }
    struct lt_match *x = &m->v[m->n];
    x->path = strdup(path);
    if (!x->path)
        return -1;
    x->dev = (uint64_t)st->st_dev;
    x->ino = (uint64_t)st->st_ino;
    x->mtime_ns = lt_mtime_ns(st);
    m->n++;
    return 0;
}

static int add_refused(struct lt_matches *m, const char *path, const char *why)
{
    if (m->nrefused + 2 > m->rfcap) {
        size_t ncap = m->rfcap ? m->rfcap * 2 : 8;
        char **v = realloc(m->refused, ncap * sizeof *v);
        if (!v)
            return -1;
        m->refused = v;
        m->rfcap = ncap;
    }
    char *p = strdup(path), *y = strdup(why);
    if (!p || !y) {
        free(p);
        free(y);
        return -1;
    }
    m->refused[m->nrefused++] = p;
    m->refused[m->nrefused++] = y;
    return 0;
}

/* stat(2) of path under the symlink rule; false when absent or refused (then reported). */
static bool safe_stat(struct walk *w, const char *path, struct stat *st)
{
    char why[160];
    bool link;
    int rc = lt_link_check(path, st, &link, why, sizeof why);
    if (rc < 0 && add_refused(w->out, path, why) != 0)
        w->err = -1;
    return rc == 0;
}

static void candidate(struct walk *w, const char *path)
{
    struct stat st;
    if (!safe_stat(w, path, &st) || !S_ISREG(st.st_mode))
        return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (w->skip && w->skip(w->ud, path, base))
        return;
    if (lt_matches_add(w->out, path, &st) != 0)
        w->err = -1;
}

static void join(char *out, const char *dir, const char *name)
{
    if (strcmp(dir, "/") == 0)
        snprintf(out, LT_GLOB_MAX_PATH, "/%s", name);
    else
        snprintf(out, LT_GLOB_MAX_PATH, "%s/%s", dir, name);
}

static bool is_dir(struct walk *w, const char *path, bool follow)
{
    struct stat st;
    if (follow)
        return safe_stat(w, path, &st) && S_ISDIR(st.st_mode);
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void walk(struct walk *w, const char *dir, size_t idx, int depth);

/* "**": zero directories, then every real subdirectory at the same component. */
static void walk_super(struct walk *w, const char *dir, size_t idx, int depth)
{
    walk(w, dir, idx + 1, depth);
    if (depth >= LT_GLOB_MAX_DEPTH)
        return;
    if (add_dir(w->out, dir) != 0)
        w->err = -1;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char sub[LT_GLOB_MAX_PATH];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        join(sub, dir, e->d_name);
        if (is_dir(w, sub, false))
            walk(w, sub, idx, depth + 1);
    }
    closedir(d);
}

static void walk_wild(struct walk *w, const char *dir, size_t idx, int depth)
{
    bool last = idx + 1 == w->ncomps;
    if (last && add_dir(w->out, dir) != 0)
        w->err = -1;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char sub[LT_GLOB_MAX_PATH];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fnmatch(w->comps[idx], e->d_name, 0) != 0)
            continue;
        join(sub, dir, e->d_name);
        if (last)
            candidate(w, sub);
        else if (is_dir(w, sub, true))
            walk(w, sub, idx + 1, depth);
    }
    closedir(d);
}

static void walk(struct walk *w, const char *dir, size_t idx, int depth)
{
    if (w->err)
        return;
    if (idx == w->ncomps)
        return;
    const char *c = w->comps[idx];
    if (strcmp(c, "**") == 0) {
        walk_super(w, dir, idx, depth);
        return;
    }
    if (strpbrk(c, "*?[")) {
        walk_wild(w, dir, idx, depth);
        return;
    }
    char sub[LT_GLOB_MAX_PATH];
    join(sub, dir, c);
    if (idx + 1 == w->ncomps) {
        if (add_dir(w->out, dir) != 0)
            w->err = -1;
        candidate(w, sub);
    } else if (is_dir(w, sub, true)) {
        walk(w, sub, idx + 1, depth);
    }
}

/* Splits pattern on '/' into w->comps (owned by the caller of split). */
static int split(char *pat, struct walk *w)
{
    size_t cap = 8;
    w->comps = malloc(cap * sizeof *w->comps);
    if (!w->comps)
        return -1;
    char *save = NULL;
    for (char *c = strtok_r(pat, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (w->ncomps == cap) {
            cap *= 2;
            char **v = realloc(w->comps, cap * sizeof *v);
            if (!v)
                return -1;
            w->comps = v;
        }
        w->comps[w->ncomps++] = c;
    }
    /* a trailing "**" means every file below: "**" + "*" */
    if (w->ncomps > 0 && strcmp(w->comps[w->ncomps - 1], "**") == 0) {
        if (w->ncomps == cap) {
            char **v = realloc(w->comps, (cap + 1) * sizeof *v);
            if (!v)
                return -1;
            w->comps = v;
        }
        w->comps[w->ncomps++] = "*";
    }
    return 0;
}

int lt_glob(const char *pattern, lt_skip_fn skip, void *ud, struct lt_matches *out)
{
    memset(out, 0, sizeof *out);
    struct walk w = {NULL, 0, skip, ud, out, 0};
    char *pat = strdup(pattern);
    if (!pat || split(pat, &w) != 0) {
        free(pat);
        free(w.comps);
        return -1;
    }
    walk(&w, pattern[0] == '/' ? "/" : ".", 0, 0);
    free(w.comps);
    free(pat);
    return w.err;
}

void lt_matches_free(struct lt_matches *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    for (size_t i = 0; i < m->ndirs; i++)
        free(m->dirs[i]);
    for (size_t i = 0; i < m->nrefused; i++)
        free(m->refused[i]);
    free(m->v);
    free(m->dirs);
    free(m->refused);
    memset(m, 0, sizeof *m);
}
