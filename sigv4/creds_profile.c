/* creds_profile — the shared config and credentials files.
 *
 * On each fetch both files are read again (the reference agent re-reads them every 10 min) and
 * the profile is resolved into a provider: static keys, credential_process, role_arn with
 * web_identity_token_file, or role_arn on top of source_profile / credential_source (roles may
 * chain through source profiles, at most PROFILE_MAX_DEPTH deep). Keys in the credentials file win
 * over the config file. The provider built for the last fetch is kept until the next fetch (never
 * freed inside its own callback).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"
#include "sigv4/ini.h"

#define PROFILE_MAX_FILE  (1024 * 1024) /* a shared file beyond 1 MiB is not hand-written */
#define PROFILE_MAX_DEPTH 4

struct profile_files {
    struct ini *cred, *conf;
    char cred_path[1024], conf_path[1024];
};

struct profile_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    char *profile;               /* NULL = AWS_PROFILE or "default" */
    char *cred_file, *conf_file; /* explicit paths, NULL = environment / ~/.aws */
    int warned_mode;
    int busy;
    struct creds_provider *sub;
    const char *orig_region; /* ctx->region as given */
    char region[64];         /* the profile's region, for STS (ctx.region points here when set) */
    char name[128];
    creds_done_fn done;
    void *ud;
};

/* ---- files ---- */

static void file_path(const struct creds_ctx *ctx, const char *var, const char *rel, char *out,
                      size_t outlen)
{
    const char *v = creds_getenv(ctx, var);
    const char *home = creds_getenv(ctx, "HOME");
    if (v)
        creds_fmt(out, outlen, "%s", v);
    else if (home)
        creds_fmt(out, outlen, "%s/%s", home, rel);
    else
        out[0] = '\0';
}

/* Loads one file. A missing file is not an error; an unreadable one is. */
static int load_ini(const char *path, struct ini **out, char *err, size_t el)
{
    char why[CREDS_ERR_MAX];
    size_t len = 0;
    struct stat st;
    *out = NULL;
    if (!*path || (stat(path, &st) != 0 && errno == ENOENT))
        return 0;
    char *text = creds_read_file(path, PROFILE_MAX_FILE, &len, why, sizeof why);
    if (!text) {
        creds_fmt(err, el, "%s", why);
        return -1;
    }
    *out = ini_parse(text, len);
    explicit_bzero(text, len);
    free(text);
    if (!*out) {
        creds_fmt(err, el, "out of memory parsing %s", path);
        return -1;
    }
    return 0;
}

static void check_mode(struct profile_provider *p, const char *path)
{
    struct stat st;
    if (p->warned_mode || !*path || stat(path, &st) != 0)
        return;
    /* group-readable is fine when the group is the agent's own (docs/install.md: 0640
     * root:cwagent); readable by another group or by everyone is not */
    bool group_ok = st.st_gid == getegid() && !(st.st_mode & S_IROTH);
    if ((st.st_mode & (S_IRGRP | S_IROTH)) && !group_ok) {
        p->warned_mode = 1;
        cw_warn("creds", "%s is readable by %s (mode %03o); run chmod 600 on it", path,
                (st.st_mode & S_IROTH) ? "everyone" : "its group", (unsigned)(st.st_mode & 0777));
    }
}

static int load_files(struct profile_provider *p, struct profile_files *f, char *err, size_t el)
{
    memset(f, 0, sizeof *f);
    file_path(&p->ctx, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", f->cred_path,
              sizeof f->cred_path);
    file_path(&p->ctx, "AWS_CONFIG_FILE", ".aws/config", f->conf_path, sizeof f->conf_path);
    if (p->cred_file)
        creds_fmt(f->cred_path, sizeof f->cred_path, "%s", p->cred_file);
    if (p->conf_file)
        creds_fmt(f->conf_path, sizeof f->conf_path, "%s", p->conf_file);
    if (load_ini(f->cred_path, &f->cred, err, el) != 0)
        return -1;
    check_mode(p, f->cred_path);
    if (load_ini(f->conf_path, &f->conf, err, el) != 0)
        return -1;
    return 0;
}

static void free_files(struct profile_files *f)
{
    ini_free(f->cred);
    ini_free(f->conf);
}

/* A key of `profile`: the credentials file's [profile] first, then the config file's
 * [profile name] (or [default]). */
static const char *pget(const struct profile_files *f, const char *profile, const char *key)
{
    char sec[300];
    const char *v = ini_get(f->cred, profile, key);
    if (v && *v)
        return v;
    creds_fmt(sec, sizeof sec, "profile %s", profile);
    v = ini_get(f->conf, sec, key);
    if (!v && strcmp(profile, "default") == 0)
        v = ini_get(f->conf, "default", key);
    return v && *v ? v : NULL;
}

static int profile_exists(const struct profile_files *f, const char *profile)
{
    char sec[300];
    creds_fmt(sec, sizeof sec, "profile %s", profile);
    return ini_has_section(f->cred, profile) || ini_has_section(f->conf, sec) ||
           (strcmp(profile, "default") == 0 && ini_has_section(f->conf, "default"));
}

/* ---- resolving a profile into a provider ---- */

static struct creds_provider *build(struct profile_provider *p, const struct profile_files *f,
                                    const char *profile, int depth, int static_only, char *err,
                                    size_t el);

static struct creds_provider *credential_source(struct profile_provider *p, const char *src,
                                                char *err, size_t el)
{
    struct creds_provider *q = NULL;
    if (strcmp(src, "Environment") == 0)
        q = creds_env_provider_new(&p->ctx);
    else if (strcmp(src, "Ec2InstanceMetadata") == 0)
        q = creds_imds_provider_new(&p->ctx);
    else if (strcmp(src, "EcsContainer") == 0)
        q = creds_ecs_provider_new(&p->ctx);
    else {
        creds_fmt(err, el,
                  "credential_source \"%.60s\" is not one of Environment, Ec2InstanceMetadata, "
                  "EcsContainer",
                  src);
        return NULL;
    }
    if (!q)
        creds_fmt(err, el, "cannot create the %s provider", src);
    return q;
}

static struct creds_provider *build_role(struct profile_provider *p, const struct profile_files *f,
                                         const char *profile, int depth, char *err, size_t el)
{
    const char *role = pget(f, profile, "role_arn");
    const char *srcp = pget(f, profile, "source_profile");
    const char *csrc = pget(f, profile, "credential_source");
    const char *dur = pget(f, profile, "duration_seconds");
    struct creds_provider *inner = NULL;
    if (srcp && csrc) {
        creds_fmt(err, el, "profile %s sets both source_profile and credential_source", profile);
        return NULL;
    }
    if (!srcp && !csrc) {
        creds_fmt(err, el, "profile %s has role_arn but no source_profile or credential_source",
                  profile);
        return NULL;
    }
    if (csrc)
        inner = credential_source(p, csrc, err, el);
    else if (strcmp(srcp, profile) == 0)
        inner = build(p, f, profile, depth, 1, err, el); /* its own static keys */
    else
        inner = build(p, f, srcp, depth + 1, 0, err, el);
    if (!inner)
        return NULL;
    struct creds_assume_role_options o = {role, pget(f, profile, "role_session_name"),
                                          pget(f, profile, "external_id"), 0};
    if (dur) {
        char *end;
        long d = strtol(dur, &end, 10);
        o.duration_seconds = (*end == '\0' && d >= 900 && d <= 43200) ? (int)d : 0;
    }
    struct creds_provider *q = creds_assume_role_provider_new(&p->ctx, inner, &o);
    if (!q)
        creds_fmt(err, el, "cannot create the assume-role provider for %s", role);
    return q;
}

/* `static_only`: ignore role_arn (a profile that is its own source_profile). */
static struct creds_provider *build(struct profile_provider *p, const struct profile_files *f,
                                    const char *profile, int depth, int static_only, char *err,
                                    size_t el)
{
    const char *akid = pget(f, profile, "aws_access_key_id");
    const char *secret = pget(f, profile, "aws_secret_access_key");
    const char *proc = pget(f, profile, "credential_process");
    if (!profile_exists(f, profile)) {
        creds_fmt(err, el, "profile %s not found in %s or %s", profile,
                  *f->cred_path ? f->cred_path : "(no credentials file)",
                  *f->conf_path ? f->conf_path : "(no config file)");
        return NULL;
    }
    if (depth > PROFILE_MAX_DEPTH) {
        creds_fmt(err, el, "profile %s: source_profile chain deeper than %d", profile,
                  PROFILE_MAX_DEPTH);
        return NULL;
    }
    if (!static_only && pget(f, profile, "role_arn") && pget(f, profile, "web_identity_token_file"))
        return creds_webid_provider_profile(&p->ctx, pget(f, profile, "role_arn"),
                                            pget(f, profile, "web_identity_token_file"),
                                            pget(f, profile, "role_session_name"));
    if (!static_only && pget(f, profile, "role_arn"))
        return build_role(p, f, profile, depth, err, el);
    if (akid || secret) {
        if (!akid || !secret) {
            creds_fmt(err, el, "profile %s has %s but not %s", profile,
                      akid ? "aws_access_key_id" : "aws_secret_access_key",
                      akid ? "aws_secret_access_key" : "aws_access_key_id");
            return NULL;
        }
        return creds_static_provider_named(akid, secret, pget(f, profile, "aws_session_token"),
                                           "profile");
    }
    if (proc)
        return creds_process_provider_new(&p->ctx, proc);
    creds_fmt(err, el, "profile %s has no credentials (no keys, credential_process or role_arn)",
              profile);
    return NULL;
}

/* ---- the provider ---- */

static void sub_done(void *ud, struct creds *c, const char *err)
{
    struct profile_provider *p = ud;
    char line[CREDS_ERR_MAX + 160];
    creds_done_fn done = p->done;
    void *dud = p->ud;
    if (!c)
        creds_fmt(line, sizeof line, "profile %s: %s", p->name, err);
    p->busy = 0;
    done(dud, c, c ? NULL : line);
}

static void profile_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct profile_provider *p = (struct profile_provider *)self;
    struct profile_files f;
    char err[CREDS_ERR_MAX];
    if (p->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    creds_provider_free(p->sub);
    p->sub = NULL;
    const char *name = p->profile ? p->profile : creds_getenv(&p->ctx, "AWS_PROFILE");
    creds_fmt(p->name, sizeof p->name, "%s", name ? name : "default");
    if (load_files(p, &f, err, sizeof err) == 0) {
        const char *region = pget(&f, p->name, "region");
        p->ctx.region = p->orig_region;
        if (region && !p->ctx.region) {
            creds_fmt(p->region, sizeof p->region, "%s", region);
            p->ctx.region = p->region;
        }
        p->sub = build(p, &f, p->name, 0, 0, err, sizeof err);
    }
    free_files(&f);
    if (!p->sub) {
        done(ud, NULL, err);
        return;
    }
    p->busy = 1;
    p->done = done;
    p->ud = ud;
    creds_provider_fetch(p->sub, sub_done, p);
}

static void profile_free(struct creds_provider *self)
{
    struct profile_provider *p = (struct profile_provider *)self;
    creds_provider_free(p->sub);
    free(p->profile);
    free(p->cred_file);
    free(p->conf_file);
    free(p);
}

struct creds_provider *creds_profile_provider_new(const struct creds_ctx *ctx, const char *profile)
{
    struct profile_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (profile && *profile && !(p->profile = strdup(profile))) {
        free(p);
        return NULL;
    }
    p->base.name = "profile";
    p->base.fetch = profile_fetch;
    p->base.free = profile_free;
    p->ctx = *ctx;
    p->orig_region = ctx->region;
    return &p->base;
}

struct creds_provider *creds_profile_provider_new_files(const struct creds_ctx *ctx,
                                                        const char *profile,
                                                        const char *credentials_file,
                                                        const char *config_file)
{
    struct creds_provider *base = creds_profile_provider_new(ctx, profile);
    struct profile_provider *p = (struct profile_provider *)base;
    if (!p)
        return NULL;
    if (credentials_file && *credentials_file)
        p->cred_file = strdup(credentials_file);
    if (config_file && *config_file)
        p->conf_file = strdup(config_file);
    if ((credentials_file && *credentials_file && !p->cred_file) ||
        (config_file && *config_file && !p->conf_file)) {
        profile_free(base);
        return NULL;
    }
    return base;
}
