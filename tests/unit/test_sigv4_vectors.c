/* The official SigV4 test vectors, every one of them, one PASS/FAIL line each.
 *
 * Both suites are vendored under tests/fixtures/reference/sigv4-test-suite/ (SUITE below).
 *   classic/<name>  SUITE/aws-sig-v4-test-suite/ (botocore's copy):
 *                   parse <name>.req, compare .creq, .sts and .authz. The signing values are not
 *                   in the files; they are the suite's (README.txt): AKIDEXAMPLE,
 *                   20150830T123600Z, us-east-1, service "service", normalised paths.
 *   v4/<name>       SUITE/aws-signing-test-suite/v4/ (aws-c-auth):
 *                   context.json gives the values; compare header-canonical-request.txt,
 *                   header-string-to-sign.txt, header-signature.txt and the Authorization header
 *                   of header-signed-request.txt.
 * Query-string (presigned URL) signing is not implemented: each query-*.txt set is one SKIP line.
 *
 * The harness's static case table does not fit a directory walk, so this file prints the
 * harness's line format itself. The counts are checked too, so a vector that silently vanishes
 * (a bad path, an unreadable file) fails the run.
 */
#include "sigv4/rawreq.h"
#include "sigv4/sigv4.h"
#include "tests/unit/t.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUITE           "sigv4_vectors"
#define CLASSIC_DIR     "reference/sigv4-test-suite/aws-sig-v4-test-suite"
#define V4_DIR          "reference/sigv4-test-suite/aws-signing-test-suite/v4"
#define CLASSIC_VECTORS 34         /* README.txt: "All 34 cases" */
#define V4_VECTORS      38         /* README.txt: "All 38 cases" */
#define SUITE_TIME      1440938160 /* 2015-08-30T12:36:00Z */

static const char *const suite_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const char *const sts_token =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSP"
    "fIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8"
    "FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/* The classic format carries no context: the session-token cases, per README.txt. */
static const struct {
    const char *name;
    const char *token;
    int sign_token;
} classic_tokens[] = {
    {"get-vanilla-with-session-token",
     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267", 1},
    {"post-sts-header-before", NULL, 1}, /* token filled in below (sts_token) */
    {"post-sts-header-after", NULL, 0},
};

struct tally {
    int pass, fail, skip, classic, v4;
};

struct verdict {
    char why[8192];
    size_t len;
};

static void note(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct verdict *v, const char *fmt, ...)
{
    if (v->len >= sizeof v->why - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v->why + v->len, sizeof v->why - v->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        v->len += (size_t)n;
    if (v->len >= sizeof v->why)
        v->len = sizeof v->why - 1;
}

/* Prints a string on one line, with newlines shown as \n. */
static void oneline(char *out, size_t n, const char *s)
{
    size_t j = 0;
    for (; s && *s && j + 3 < n; s++) {
        if (*s == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = *s;
        }
    }
    out[j] = '\0';
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

/* Compares got with the file's contents (a trailing newline in the file is ignored). */
static void expect_file(struct verdict *v, const char *what, const char *path, const char *got)
{
    size_t len = 0;
    char *want = t_read_file(path, &len);
    if (!want) {
        note(v, "[%s: cannot read %s] ", what, path);
        return;
    }
    while (len > 0 && want[len - 1] == '\n')
        want[--len] = '\0';
    if (!got || strcmp(got, want) != 0) {
        char w[2048], g[2048];
        oneline(w, sizeof w, want);
        oneline(g, sizeof g, got ? got : "(null)");
        note(v, "[%s: expected \"%s\" got \"%s\"] ", what, w, g);
    }
    free(want);
}

static void report(struct tally *t, const char *name, struct verdict *v)
{
    if (v->len) {
        printf("FAIL %s.%s: %s\n", SUITE, name, v->why);
        t->fail++;
    } else {
        printf("PASS %s.%s\n", SUITE, name);
        t->pass++;
    }
}

/* Parses the request file and signs it; returns 0 with *res filled, or -1 with a note. */
static int sign_file(struct verdict *v, const char *req_path, const struct sigv4_credentials *cr,
                     const struct sigv4_params *params, struct sigv4_result *res)
{
    size_t len = 0;
    char *raw = t_read_file(req_path, &len);
    if (!raw) {
        note(v, "cannot read %s", req_path);
        return -1;
    }
    struct rawreq rr;
    char err[256];
    int rc = rawreq_parse(raw, len, &rr, err, sizeof err);
    free(raw);
    if (rc != 0) {
        note(v, "rawreq_parse: %s", err);
        return -1;
    }
    struct sigv4_request req = {rr.method,   rr.path, rr.query,    rr.headers,
                                rr.nheaders, rr.body, rr.body_len, NULL};
    rc = sigv4_sign(&req, cr, params, NULL, res);
    rawreq_free(&rr);
    if (rc != 0)
        note(v, "sigv4_sign returned %d", rc);
    return rc;
}

/* ---- classic ------------------------------------------------------------------------- */

static void run_classic(struct tally *t, const char *dir, const char *rel, const char *base)
{
    struct sigv4_credentials cr = {"AKIDEXAMPLE", suite_secret, NULL};
    struct sigv4_params params = {"service", "us-east-1", SUITE_TIME, 1, 0, 1, 0};
    for (size_t i = 0; i < sizeof classic_tokens / sizeof classic_tokens[0]; i++) {
        if (strcmp(base, classic_tokens[i].name) == 0) {
            cr.session_token = classic_tokens[i].token ? classic_tokens[i].token : sts_token;
            params.sign_session_token = classic_tokens[i].sign_token;
        }
    }
    char name[512];
    snprintf(name, sizeof name, "classic/%s", rel);
    struct verdict v = {{0}, 0};
    char *stem = join(dir, "/", base);
    char *req = join(stem, ".req", ""), *creq = join(stem, ".creq", "");
    char *sts = join(stem, ".sts", ""), *authz = join(stem, ".authz", "");
    struct sigv4_result res = {0};
    if (stem && req && creq && sts && authz && sign_file(&v, req, &cr, &params, &res) == 0) {
        expect_file(&v, "canonical request", creq, res.canonical_request);
        expect_file(&v, "string to sign", sts, res.string_to_sign);
        expect_file(&v, "authorization", authz, res.authorization);
        if (cr.session_token &&
            strcmp(res.security_token ? res.security_token : "", cr.session_token) != 0)
            note(&v, "[security_token not returned] ");
    } else if (!v.len) {
        note(&v, "out of memory");
    }
    report(t, name, &v);
    t->classic++;
    sigv4_result_free(&res);
    free(stem);
    free(req);
    free(creq);
    free(sts);
    free(authz);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the entries of dir (without . and ..), sorted; returns the count or -1. */
static int list_dir(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(v, (size_t)n, sizeof *v, cmp_names);
    *names = v;
    return n;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int is_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* A directory holding <its name>.req is a vector; any other directory is searched. */
static void walk_classic(struct tally *t, const char *dir, const char *rel)
{
    char **names = NULL;
    int n = list_dir(dir, &names);
    for (int i = 0; i < n; i++) {
        char *sub = join(dir, "/", names[i]);
        char *subrel = *rel ? join(rel, "/", names[i]) : join(names[i], "", "");
        char *stem = sub ? join(sub, "/", names[i]) : NULL;
        char *reqf = stem ? join(stem, ".req", "") : NULL;
        DIR *d = sub ? opendir(sub) : NULL;
        if (d) {
            closedir(d);
            if (reqf && is_file(reqf))
                run_classic(t, sub, subrel, names[i]);
            else if (subrel)
                walk_classic(t, sub, subrel);
        }
        free(sub);
        free(subrel);
        free(stem);
        free(reqf);
    }
    free_list(names, n);
}

/* ---- v4 (aws-c-auth) ----------------------------------------------------------------- */

/* Parses "YYYY-MM-DDTHH:MM:SSZ" to epoch seconds. */
static int parse_timestamp(const char *s, time_t *out)
{
    int f[6] = {0};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < width[i]; k++, s++) {
            if (*s < '0' || *s > '9')
                return -1;
            f[i] = f[i] * 10 + (*s - '0');
        }
        if (*s++ != sep[i])
            return -1;
    }
    struct tm tm = {0};
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    *out = timegm(&tm);
    return 0;
}

/* Fills cr/params from context.json; strings borrow from ctx. */
static int read_context(struct verdict *v, json_t *ctx, struct sigv4_credentials *cr,
                        struct sigv4_params *params)
{
    json_t *c = json_object_get(ctx, "credentials");
    cr->access_key_id = json_string_value(json_object_get(c, "access_key_id"));
    cr->secret_access_key = json_string_value(json_object_get(c, "secret_access_key"));
    cr->session_token = json_string_value(json_object_get(c, "token"));
    params->region = json_string_value(json_object_get(ctx, "region"));
    params->service = json_string_value(json_object_get(ctx, "service"));
    const char *ts = json_string_value(json_object_get(ctx, "timestamp"));
    if (!cr->access_key_id || !cr->secret_access_key || !params->region || !params->service ||
        !ts || parse_timestamp(ts, &params->now) != 0) {
        note(v, "context.json lacks a field this test needs");
        return -1;
    }
    /* aws-c-auth's suite runs with use_double_uri_encode on and normalisation per vector. */
    params->normalize_path = json_is_true(json_object_get(ctx, "normalize"));
    params->encode_path = 1;
    params->add_content_sha256 = json_is_true(json_object_get(ctx, "sign_body"));
    params->sign_session_token = !json_is_true(json_object_get(ctx, "omit_session_token"));
    return 0;
}

/* The Authorization header of the expected signed request must equal ours. */
static void expect_signed_auth(struct verdict *v, const char *path, const char *got)
{
    size_t len = 0;
    char *raw = t_read_file(path, &len);
    struct rawreq rr;
    char err[256];
    if (!raw || rawreq_parse(raw, len, &rr, err, sizeof err) != 0) {
        note(v, "[cannot read or parse %s] ", path);
        free(raw);
        return;
    }
    const char *want = rawreq_header(&rr, "authorization");
    if (!want || !got || strcmp(want, got) != 0)
        note(v, "[signed request Authorization: expected \"%s\" got \"%s\"] ",
             want ? want : "(none)", got ? got : "(null)");
    rawreq_free(&rr);
    free(raw);
}

static void run_v4(struct tally *t, const char *dir, const char *base)
{
    char name[512];
    snprintf(name, sizeof name, "v4/%s", base);
    struct verdict v = {{0}, 0};
    char *ctxf = join(dir, "/context.json", ""), *req = join(dir, "/request.txt", "");
    char *creq = join(dir, "/header-canonical-request.txt", "");
    char *sts = join(dir, "/header-string-to-sign.txt", "");
    char *sig = join(dir, "/header-signature.txt", "");
    char *sreq = join(dir, "/header-signed-request.txt", "");
    char *qcreq = join(dir, "/query-canonical-request.txt", "");
    json_error_t jerr;
    json_t *ctx = ctxf ? json_load_file(ctxf, 0, &jerr) : NULL;
    struct sigv4_credentials cr = {0};
    struct sigv4_params params = {0};
    struct sigv4_result res = {0};
    if (!ctx) {
        note(&v, "cannot load context.json");
    } else if (req && creq && sts && sig && sreq && read_context(&v, ctx, &cr, &params) == 0 &&
               sign_file(&v, req, &cr, &params, &res) == 0) {
        expect_file(&v, "canonical request", creq, res.canonical_request);
        expect_file(&v, "string to sign", sts, res.string_to_sign);
        expect_file(&v, "signature", sig, res.signature);
        expect_signed_auth(&v, sreq, res.authorization);
    }
    report(t, name, &v);
    t->v4++;
    if (qcreq && is_file(qcreq)) {
        printf("SKIP %s.%s.query: presigned URLs are not used by cwagent\n", SUITE, name);
        t->skip++;
    }
    sigv4_result_free(&res);
    json_decref(ctx);
    free(ctxf);
    free(req);
    free(creq);
    free(sts);
    free(sig);
    free(sreq);
    free(qcreq);
}

static void walk_v4(struct tally *t, const char *dir)
{
    char **names = NULL;
    int n = list_dir(dir, &names);
    for (int i = 0; i < n; i++) {
        char *sub = join(dir, "/", names[i]);
        char *ctxf = sub ? join(sub, "/context.json", "") : NULL;
        if (ctxf && is_file(ctxf))
            run_v4(t, sub, names[i]);
        free(sub);
        free(ctxf);
    }
    free_list(names, n);
}

static void check_count(struct tally *t, const char *what, int got, int want)
{
    struct verdict v = {{0}, 0};
    if (got != want)
        note(&v, "expected %d vectors, found %d (vendored suite incomplete?)", want, got);
    char name[64];
    snprintf(name, sizeof name, "%s_count", what);
    report(t, name, &v);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tally t = {0, 0, 0, 0, 0};
    char *classic = t_reference_path(CLASSIC_DIR);
    char *v4 = t_reference_path(V4_DIR);
    if (!classic || !v4)
        return 1;
    walk_classic(&t, classic, "");
    walk_v4(&t, v4);
    check_count(&t, "classic", t.classic, CLASSIC_VECTORS);
    check_count(&t, "v4", t.v4, V4_VECTORS);
    free(classic);
    free(v4);
    fprintf(stderr, "%d passed, %d failed, %d skipped\n", t.pass, t.fail, t.skip);
    return t.fail ? 1 : 0;
}
