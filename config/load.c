/* load — reading configuration sources, merging them as the reference agent does, tracking
 * where each value came from, and running schema validation and the model build. */
#include "config/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SOURCES 4096 /* files per load, directories included */

/* ---- diagnostics ---- */

static int push_line(char ***v, size_t *n, const char *line)
{
    char *copy = strdup(line);
    char **nv = copy ? realloc(*v, (*n + 1) * sizeof **v) : NULL;
    if (!nv) {
        free(copy);
        return -1;
    }
    nv[(*n)++] = copy;
    *v = nv;
    return 0;
}

void cw_diag_add(struct cw_config_diag *d, int is_error, const char *line)
{
    if (!d)
        return;
    if (is_error)
        (void)push_line(&d->errors, &d->n_errors, line);
    else
        (void)push_line(&d->warnings, &d->n_warnings, line);
}

static void diag_addf(struct cw_config_diag *d, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag_addf(struct cw_config_diag *d, int is_error, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n >= 0)
        cw_diag_add(d, is_error, line);
    free(line);
}

void cw_config_diag_free(struct cw_config_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_errors; i++)
        free(d->errors[i]);
    for (size_t i = 0; i < d->n_warnings; i++)
        free(d->warnings[i]);
    free(d->errors);
    free(d->warnings);
    memset(d, 0, sizeof *d);
}

/* ---- origins ---- */

static int add_origin(struct cw_load_ctx *lc, const char *merged, size_t file, const char *fpath)
{
    if (lc->n_origins == lc->cap_origins) {
        size_t cap = lc->cap_origins ? lc->cap_origins * 2 : 64;
        struct cw_origin *o = realloc(lc->origins, cap * sizeof *o);
        if (!o)
            return -1;
        lc->origins = o;
        lc->cap_origins = cap;
    }
    struct cw_origin *o = &lc->origins[lc->n_origins];
    o->merged_path = strdup(merged);
    o->file_path = strdup(fpath);
    o->file = file;
    if (!o->merged_path || !o->file_path) {
        free(o->merged_path);
        free(o->file_path);
        return -1;
    }
    lc->n_origins++;
    return 0;
}

static size_t prefix_len(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (strncmp(prefix, path, n) != 0)
        return 0;
    if (n && path[n] && path[n] != '.' && path[n] != '[')
        return 0;
    return n + 1; /* +1 so that the root record ("") counts as a match */
}

/* Finds the origin of a merged path; returns the record or NULL. */
static const struct cw_origin *find_origin(const struct cw_load_ctx *lc, const char *path)
{
    const struct cw_origin *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < lc->n_origins; i++) {
        size_t n = prefix_len(lc->origins[i].merged_path, path);
        if (n > best_len) { /* later records win ties: they are more specific */
            best = &lc->origins[i];
            best_len = n;
        } else if (n && n == best_len) {
            best = &lc->origins[i];
        }
    }
    return best;
}

void cw_load_report(struct cw_load_ctx *lc, int is_error, const char *path, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    const struct cw_origin *o = find_origin(lc, path);
    const char *file = o && o->file < lc->n_files ? lc->files[o->file] : "(config)";
    const char *rest = o ? path + strlen(o->merged_path) : "";
    const char *fpath = o ? o->file_path : path;
    if (!*fpath && *rest == '.') /* below the root record: no leading dot */
        rest++;
    if (!*fpath && !*rest)
        diag_addf(lc->diag, is_error, "%s: (root): %s", file, msg);
    else
        diag_addf(lc->diag, is_error, "%s: %s%s: %s", file, fpath, rest, msg);
    free(msg);
}

/* ---- merge ---- */

static void value_text(const json_t *v, char *out, size_t outlen)
{
    if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else
        cw_json_brief(v, out, outlen);
}

static int merge_object(struct cw_load_ctx *lc, json_t *dst, json_t *src, const char *path,
                        size_t file);

static int append_array(struct cw_load_ctx *lc, json_t *dst, json_t *src, const char *path,
                        size_t file)
{
    size_t j;
    json_t *item;
    json_array_foreach(src, j, item)
    {
        size_t i, n = json_array_size(dst);
        int dup = 0;
        for (i = 0; i < n && !dup; i++)
            dup = cw_json_equal(json_array_get(dst, i), item);
        if (dup)
            continue;
        char *mp = cw_path_index(path, n), *fp = cw_path_index(path, j);
        int rc = mp && fp ? add_origin(lc, mp, file, fp) : -1;
        free(mp);
        free(fp);
        if (rc < 0 || json_array_append(dst, item) < 0)
            return -1;
    }
    return 0;
}

/* Merges the value `sv` from `file` into dst[key]. Conflicts are reported, not fatal. */
static int merge_value(struct cw_load_ctx *lc, json_t *dst, const char *key, json_t *sv,
                       const char *path, size_t file)
{
    json_t *dv = json_object_get(dst, key);
    if (!dv) {
        if (add_origin(lc, path, file, path) < 0)
            return -1;
        return json_object_set(dst, key, sv);
    }
    if (json_is_object(dv) && json_is_object(sv))
        return merge_object(lc, dv, sv, path, file);
    if (json_is_array(dv) && json_is_array(sv))
        return append_array(lc, dv, sv, path, file);
    if (cw_json_equal(dv, sv))
        return 0;
    const struct cw_origin *o = find_origin(lc, path);
    char a[128], b[128];
    value_text(dv, a, sizeof a);
    value_text(sv, b, sizeof b);
    diag_addf(lc->diag, 1, "Different values are specified for %s: '%s' in %s, '%s' in %s", path, a,
              o ? lc->files[o->file] : "?", b, lc->files[file]);
    return 0;
}

static int merge_object(struct cw_load_ctx *lc, json_t *dst, json_t *src, const char *path,
                        size_t file)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        char *p = cw_path_key(path, k);
        int rc = p ? merge_value(lc, dst, k, v, p, file) : -1;
        free(p);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- sources ---- */

struct source {
    char *name;
    char *text; /* owned */
    size_t len;
};

struct sources {
    struct source *v;
    size_t n;
};

static int add_source(struct sources *s, const char *name, char *text, size_t len)
{
    if (s->n >= MAX_SOURCES)
        return -1;
    struct source *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    s->v = nv;
    s->v[s->n].name = strdup(name);
    s->v[s->n].text = text;
    s->v[s->n].len = len;
    if (!s->v[s->n].name)
        return -1;
    s->n++;
    return 0;
}

static void free_sources(struct sources *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].text);
    }
    free(s->v);
}

/* Reads a whole file (capped); the caller frees *out. Reports failures to diag. */
static int read_file(const char *path, char **out, size_t *len, struct cw_config_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        diag_addf(d, 1, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_size > (off_t)CW_CONFIG_MAX_FILE_BYTES) {
        diag_addf(d, 1, "%s: file too large (%lld bytes, limit %u)", path, (long long)st.st_size,
                  CW_CONFIG_MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    ssize_t r = 0;
    while (buf && n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    if (!buf || r < 0) {
        diag_addf(d, 1, "%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* The names a directory contributes: *.json and the reference ctl's names. */
static int dir_entry_wanted(const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".tmp") == 0) /* a download the ctl has not applied */
        return 0;
    if (n > 5 && strcmp(name + n - 5, ".json") == 0)
        return 1;
    return strcmp(name, "default") == 0 || strncmp(name, "file_", 5) == 0 ||
           strncmp(name, "ssm_", 4) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(struct sources *s, const char *path, struct cw_config_diag *d);

static int add_dir(struct sources *s, const char *dir, struct cw_config_diag *d)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        diag_addf(d, 1, "%s: cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dp)) && n < MAX_SOURCES) {
        if (de->d_name[0] == '.')
            continue;
        char **nv = realloc(names, (n + 1) * sizeof *nv);
        if (!nv || !(nv[n] = strdup(de->d_name))) {
            names = nv ? nv : names;
            rc = -1;
            break;
        }
        names = nv;
        n++;
    }
    closedir(dp);
    size_t before = s->n;
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *full = NULL;
        struct stat st;
        if (rc == 0 && asprintf(&full, "%s/%s", dir, names[i]) >= 0) {
            if (stat(full, &st) == 0 && S_ISDIR(st.st_mode))
                diag_addf(d, 0, "%s: subdirectory skipped", full);
            else if (!dir_entry_wanted(names[i]))
                diag_addf(d, 0,
                          "%s: skipped (not *.json, default, file_* or ssm_*; *.tmp are pending "
                          "downloads)",
                          full);
            else if (add_path(s, full, d) < 0)
                rc = -1;
        }
        free(full);
        free(names[i]);
    }
    free(names);
    if (rc == 0 && s->n == before)
        diag_addf(d, 0, "%s: no configuration file in this directory", dir);
    return rc;
}

static int add_path(struct sources *s, const char *path, struct cw_config_diag *d)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        diag_addf(d, 1, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return add_dir(s, path, d);
    char *text;
    size_t len;
    if (read_file(path, &text, &len, d) < 0)
        return -1;
    if (add_source(s, path, text, len) < 0) {
        free(text);
        diag_addf(d, 1, "%s: too many configuration files or out of memory", path);
        return -1;
    }
    return 0;
}

/* ---- the pipeline ---- */

static json_t *parse_source(const struct source *src, struct cw_config_diag *d)
{
    json_error_t err;
    json_t *doc = json_loadb(src->text, src->len, 0, &err);
    if (!doc) {
        diag_addf(d, 1, "%s:%d:%d: invalid JSON: %s", src->name, err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        char b[96];
        cw_json_brief(doc, b, sizeof b);
        diag_addf(d, 1, "%s: (root): found %s, expected an object", src->name, b);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Reports schema errors; a summary error (oneOf/anyOf/allOf) is shown only when no detailed
 * error lies at or below its path. */
static void report_schema(struct cw_load_ctx *lc, const struct cw_schema_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct cw_schema_error *e = &r->errors[i];
        if (e->hidden)
            continue;
        if (cw_schema_err_is_summary(e->type)) {
            int covered = 0;
            for (size_t j = 0; j < r->n && !covered; j++)
                covered = !cw_schema_err_is_summary(r->errors[j].type) && !r->errors[j].hidden &&
                          prefix_len(e->path, r->errors[j].path);
            if (covered)
                continue;
        }
        cw_load_report(lc, 1, e->path, "%s", e->msg ? e->msg : "invalid value");
    }
}

static void free_ctx(struct cw_load_ctx *lc)
{
    for (size_t i = 0; i < lc->n_origins; i++) {
        free(lc->origins[i].merged_path);
        free(lc->origins[i].file_path);
    }
    free(lc->origins);
}

static int load_sources(const struct sources *s, const struct cw_config_meta *meta,
                        struct cw_config **out, struct cw_config_diag *diag)
{
    struct cw_load_ctx lc = {.diag = diag, .n_files = s->n};
    json_t *root = json_object();
    char **names = calloc(s->n ? s->n : 1, sizeof *names);
    int rc = -1;
    size_t errors_before = diag->n_errors;
    if (!root || !names)
        goto out;
    for (size_t i = 0; i < s->n; i++)
        names[i] = s->v[i].name;
    lc.files = names;
    if (s->n == 0) {
        diag_addf(diag, 1, "no configuration file found");
        goto out;
    }
    if (add_origin(&lc, "", 0, "") < 0)
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        json_t *doc = parse_source(&s->v[i], diag);
        if (doc && merge_object(&lc, root, doc, "", i) < 0)
            diag_addf(diag, 1, "%s: out of memory while merging", s->v[i].name);
        json_decref(doc);
    }
    if (diag->n_errors > errors_before)
        goto out;
    struct cw_schema_result sr;
    if (cw_schema_validate(root, &sr) < 0) {
        diag_addf(diag, 1, "internal error: the embedded schema does not parse");
        goto out;
    }
    report_schema(&lc, &sr);
    cw_schema_result_free(&sr);
    if (diag->n_errors > errors_before)
        goto out;
    rc = cw_model_build(&lc, root, meta, out);
out:
    free_ctx(&lc);
    free(names);
    json_decref(root);
    return rc;
}

int cw_config_load(const char *const *paths, size_t n_paths, const struct cw_config_meta *meta,
                   struct cw_config **out, struct cw_config_diag *diag)
{
    struct sources s = {0};
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < n_paths; i++)
        if (add_path(&s, paths[i], diag) < 0)
            rc = -1;
    if (rc == 0)
        rc = load_sources(&s, meta, out, diag);
    free_sources(&s);
    return rc;
}

int cw_config_load_buffers(const char *const *names, const char *const *texts, size_t n,
                           const struct cw_config_meta *meta, struct cw_config **out,
                           struct cw_config_diag *diag)
{
    struct sources s = {0};
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(texts[i]);
        char *copy = malloc(len + 1);
        if (!copy || add_source(&s, names[i], copy, len) < 0) {
            free(copy);
            diag_addf(diag, 1, "%s: out of memory", names[i]);
            rc = -1;
            break;
        }
        memcpy(copy, texts[i], len + 1);
    }
    if (rc == 0)
        rc = load_sources(&s, meta, out, diag);
    free_sources(&s);
    return rc;
}
