/* creds_fixture — helpers shared by the credentials tests (header-only): a callback that records
 * a provider's answer, a temporary directory with files, and environment arrays. */
#ifndef CW_CREDS_FIXTURE_H
#define CW_CREDS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigv4/creds.h"
#include "tests/unit/fake_http.h"

struct result {
    int calls;
    struct creds *c;
    char err[4096];
};

static inline void result_cb(void *ud, struct creds *c, const char *err)
{
    struct result *r = ud;
    r->calls++;
    creds_release(r->c);
    r->c = c;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static inline void result_clear(struct result *r)
{
    creds_release(r->c);
    memset(r, 0, sizeof *r);
}

struct tmpdir {
    char path[64];
    char files[16][256];
    int nfiles;
};

static inline int tmpdir_make(struct tmpdir *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/cwcreds.XXXXXX");
    return mkdtemp(d->path) ? 0 : -1;
}

/* Writes name under the directory with `mode`; returns the full path (owned by d). */
static inline const char *tmpdir_file(struct tmpdir *d, const char *name, const char *text,
                                      mode_t mode)
{
    char *p = d->files[d->nfiles++], full[256];
    snprintf(full, sizeof full, "%s/%s", d->path, name);
    memcpy(p, full, sizeof full);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(p, mode);
    return p;
}

static inline void tmpdir_remove(struct tmpdir *d)
{
    for (int i = 0; i < d->nfiles; i++)
        unlink(d->files[i]);
    rmdir(d->path);
}

/* A context with a fake transport and a fake clock. */
static inline void ctx_init(struct creds_ctx *ctx, struct fake_http *f, struct fake_clock *clk,
                            const char *const *envp)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->http = &f->t;
    ctx->envp = envp;
    ctx->now = fake_clock_now;
    ctx->now_ud = clk;
}

#endif
