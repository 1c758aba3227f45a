/* cwagent sign — signs a raw HTTP request with SigV4 and shows the canonical request, the
 * string to sign and the signed request (a debugging aid for signature mismatches).
 *
 * The secret key comes from --secret-key-file or AWS_SECRET_ACCESS_KEY only, is wiped after use
 * and never printed. Exit status: 0 signed, 1 the request cannot be read or signed, 2 usage.
 */
#include "agent/commands.h"
#include "common/buf.h"
#include "sigv4/rawreq.h"
#include "sigv4/sigv4.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIGN_MAX_INPUT  (64u << 20) /* a raw request; API bodies are at most 1 MiB */
#define SIGN_MAX_SECRET 4096        /* AWS secrets are 40 characters */

struct sign_opts {
    const char *file; /* NULL or "-" = stdin */
    const char *service, *region, *access_key, *secret_file, *token, *date;
    int unsigned_token, json, batch;
};

static void sign_usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent sign [FILE|-] --service S --region R --access-key ID\n"
            "                    [--secret-key-file F] [--session-token T]\n"
            "                    [--date YYYYMMDDTHHMMSSZ] [--unsigned-token] [--json] [--batch]\n"
            "\n"
            "Signs the raw HTTP/1.1 request in FILE (or stdin) with AWS Signature Version 4 and\n"
            "prints the canonical request, the string to sign and the signed request.\n"
            "\n"
            "  --service S          signing name, e.g. monitoring, logs, sts\n"
            "  --region R           signing region, e.g. us-east-1\n"
            "  --access-key ID      access key id (default: $AWS_ACCESS_KEY_ID)\n"
            "  --secret-key-file F  file holding the secret access key (default:\n"
            "                       $AWS_SECRET_ACCESS_KEY). The secret is never accepted as an\n"
            "                       argument: arguments are visible to every local user through\n"
            "                       ps and /proc/<pid>/cmdline, and end up in shell history.\n"
            "  --session-token T    session token of temporary credentials\n"
            "                       (default: $AWS_SESSION_TOKEN)\n"
            "  --date D             signing time as YYYYMMDDTHHMMSSZ (UTC). Default: the\n"
            "                       request's X-Amz-Date header if it has one, else now.\n"
            "  --unsigned-token     add X-Amz-Security-Token after signing instead of signing it\n"
            "  --json               print one JSON object: canonical_request, string_to_sign,\n"
            "                       signature, authorization, amz_date, signed_request\n"
            "  --batch              the input is a stream of pipelined requests (a body needs\n"
            "                       Content-Length); prints one JSON object per line for each,\n"
            "                       or {\"error\": ...} for one that cannot be signed\n"
            "\n"
            "Paths are normalised and encoded twice, as for every AWS service except S3.\n"
            "An Authorization header in the input is replaced. The signed request is shown\n"
            "without its body, which signing does not change.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "cwagent sign: <message>" and a pointer to --help; returns the usage exit status. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cwagent sign: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'cwagent sign --help' for usage.\n");
    va_end(ap);
    return 2;
}

/* Matches "--name value" and "--name=value"; advances *i past what it used. Returns 1 when
 * matched (with *val set, or NULL when the value is missing), 0 otherwise. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static const struct {
    const char *name;
    size_t off;
} value_opts[] = {
    {"--service", offsetof(struct sign_opts, service)},
    {"--region", offsetof(struct sign_opts, region)},
    {"--access-key", offsetof(struct sign_opts, access_key)},
    {"--secret-key-file", offsetof(struct sign_opts, secret_file)},
    {"--session-token", offsetof(struct sign_opts, token)},
    {"--date", offsetof(struct sign_opts, date)},
};

/* Returns -1 to go on, 0 after --help, 2 on a usage error (message printed). */
static int parse_one(int argc, char **argv, int *i, struct sign_opts *o)
{
    const char *a = argv[*i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        sign_usage(stdout);
        return 0;
    }
    if (strcmp(a, "--json") == 0) {
        o->json = 1;
        return -1;
    }
    if (strcmp(a, "--batch") == 0) {
        o->batch = o->json = 1;
        return -1;
    }
    if (strcmp(a, "--unsigned-token") == 0) {
        o->unsigned_token = 1;
        return -1;
    }
    for (size_t k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++) {
        const char *val = NULL;
        if (!opt_value(argc, argv, i, value_opts[k].name, &val))
            continue;
        if (!val || !*val)
            return usage_error("%s needs a value", value_opts[k].name);
        *(const char **)((char *)o + value_opts[k].off) = val;
        return -1;
    }
    if (strncmp(a, "--secret", 8) == 0)
        return usage_error("%s: the secret key is read from --secret-key-file or "
                           "$AWS_SECRET_ACCESS_KEY, never from the command line",
                           a);
    if (a[0] == '-' && a[1] != '\0')
        return usage_error("unknown option '%s'", a);
    if (o->file)
        return usage_error("only one request file may be given (extra: '%s')", a);
    o->file = a;
    return -1;
}

static int parse_args(int argc, char **argv, struct sign_opts *o)
{
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, o);
        if (rc >= 0)
            return rc;
    }
    if (!o->access_key)
        o->access_key = getenv("AWS_ACCESS_KEY_ID");
    if (!o->token) {
        const char *t = getenv("AWS_SESSION_TOKEN");
        o->token = t && *t ? t : NULL;
    }
    if (!o->service)
        return usage_error("--service is required (e.g. monitoring, logs)");
    if (!o->region)
        return usage_error("--region is required (e.g. us-east-1)");
    if (!o->access_key || !*o->access_key)
        return usage_error("no access key: give --access-key or set AWS_ACCESS_KEY_ID");
    if (o->unsigned_token && !o->token)
        return usage_error("--unsigned-token needs a session token (--session-token or "
                           "AWS_SESSION_TOKEN)");
    return -1;
}

/* Parses YYYYMMDDTHHMMSSZ strictly (a real calendar time) into *out. */
static int parse_amz_date(const char *s, time_t *out)
{
    int v[6] = {0};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++) {
        if (f == 3 && *s++ != 'T')
            return -1;
        for (int k = 0; k < width[f]; k++, s++) {
            if (*s < '0' || *s > '9')
                return -1;
            v[f] = v[f] * 10 + (*s - '0');
        }
    }
    if (s[0] != 'Z' || s[1] != '\0')
        return -1;
    struct tm tm = {0}, back;
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out = timegm(&tm);
    if (!gmtime_r(out, &back) || back.tm_year != tm.tm_year || back.tm_mon != v[1] - 1 ||
        back.tm_mday != v[2] || back.tm_hour != v[3] || back.tm_min != v[4] || back.tm_sec != v[5])
        return -1;
    return 0;
}

/* Reads a whole stream into b (capped). Returns 0 or -1. */
static int read_all(FILE *f, struct cw_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cw_buf_append(b, chunk, n) != 0)
            return -1;
    return ferror(f) ? -1 : 0;
}

/* Loads the secret into *out (malloc'd; the caller wipes and frees it). Returns 0 or 2. */
static int load_secret(const struct sign_opts *o, char **out)
{
    *out = NULL;
    if (!o->secret_file) {
        const char *env = getenv("AWS_SECRET_ACCESS_KEY");
        if (!env || !*env)
            return usage_error("no secret key: give --secret-key-file or set "
                               "AWS_SECRET_ACCESS_KEY");
        *out = strdup(env);
        return *out ? 0 : 2;
    }
    FILE *f = fopen(o->secret_file, "rb");
    if (!f) {
        fprintf(stderr, "cwagent sign: cannot open secret key file %s: %s\n", o->secret_file,
                strerror(errno));
        return 2;
    }
    struct cw_buf b;
    cw_buf_init(&b, SIGN_MAX_SECRET);
    int rc = read_all(f, &b);
    fclose(f);
    while (rc == 0 && b.len > 0 && strchr(" \t\r\n", b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    if (rc != 0 || b.len == 0 || memchr(b.data, '\0', b.len)) {
        fprintf(stderr, "cwagent sign: secret key file %s is empty, unreadable or too long\n",
                o->secret_file);
        cw_buf_free_secret(&b);
        return 2;
    }
    *out = strdup(b.data);
    cw_buf_free_secret(&b);
    return *out ? 0 : 2;
}

/* Reads FILE or stdin into b (capped). Returns 0, 1 (read error) or 2 (cannot open). */
static int read_input(const struct sign_opts *o, struct cw_buf *b)
{
    int use_stdin = !o->file || strcmp(o->file, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(o->file, "rb");
    if (!f) {
        fprintf(stderr, "cwagent sign: cannot open %s: %s\n", o->file, strerror(errno));
        return 2;
    }
    int rc = read_all(f, b);
    if (!use_stdin)
        fclose(f);
    if (rc != 0) {
        fprintf(stderr, "cwagent sign: cannot read the input (read error or over %u bytes)\n",
                SIGN_MAX_INPUT);
        return 1;
    }
    return 0;
}

/* The request headers that stay: Authorization goes (it is recomputed), X-Amz-Date goes when
 * --date overrides it, X-Amz-Security-Token goes when a token replaces it. */
static int keep_header(const struct sign_opts *o, const char *name)
{
    if (strcasecmp(name, "authorization") == 0)
        return 0;
    if (o->date && strcasecmp(name, "x-amz-date") == 0)
        return 0;
    return !(o->token && strcasecmp(name, "x-amz-security-token") == 0);
}

/* Writes the signed request's head (request line, headers, empty line) into b. */
static int format_signed(const struct rawreq *rr, const struct sigv4_header *h, size_t n,
                         const struct sigv4_result *res, struct cw_buf *b)
{
    int had_date = 0;
    if (cw_buf_printf(b, "%s %s%s%s %s\r\n", rr->method, rr->path, rr->query ? "?" : "",
                      rr->query ? rr->query : "", rr->version) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        had_date |= strcasecmp(h[i].name, "x-amz-date") == 0;
        if (cw_buf_printf(b, "%s: %s\r\n", h[i].name, h[i].value) != 0)
            return -1;
    }
    if ((!had_date && cw_buf_printf(b, "X-Amz-Date: %s\r\n", res->amz_date) != 0) ||
        (res->security_token &&
         cw_buf_printf(b, "X-Amz-Security-Token: %s\r\n", res->security_token) != 0) ||
        cw_buf_printf(b, "Authorization: %s\r\n\r\n", res->authorization) != 0)
        return -1;
    return 0;
}

static int print_json(const struct sigv4_result *res, const char *head)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "canonical_request",
                          res->canonical_request, "string_to_sign", res->string_to_sign,
                          "signature", res->signature, "authorization", res->authorization,
                          "amz_date", res->amz_date, "signed_request", head);
    if (!o) {
        fprintf(stderr, "cwagent sign: the output is not valid UTF-8; use the human form\n");
        return 1;
    }
    int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 1;
    putchar('\n');
    json_decref(o);
    return rc;
}

static void print_human(const struct sigv4_result *res, const char *head, size_t body_len)
{
    printf("--- canonical request\n%s\n\n--- string to sign\n%s\n\n--- signature\n%s\n\n"
           "--- signed request (body of %zu bytes not shown)\n%s",
           res->canonical_request, res->string_to_sign, res->signature, body_len, head);
}

/* Signs rr with the options: fills *res and the signed request's head. Returns 0, or -1 with
 * *why saying what is wrong. */
static int sign_request(const struct sign_opts *o, const struct rawreq *rr, const char *secret,
                        time_t now, struct sigv4_result *res, struct cw_buf *head, const char **why)
{
    struct sigv4_header *h = calloc(rr->nheaders ? rr->nheaders : 1, sizeof *h);
    *why = "out of memory";
    if (!h)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < rr->nheaders; i++)
        if (keep_header(o, rr->headers[i].name))
            h[n++] = rr->headers[i];
    struct sigv4_request req = {rr->method, rr->path, rr->query,    h,
                                n,          rr->body, rr->body_len, NULL};
    struct sigv4_credentials cr = {o->access_key, secret, o->token};
    struct sigv4_params p = {o->service, o->region, now, !o->unsigned_token, 0, 1, 0};
    int rc = -1;
    if (!rawreq_header(rr, "host"))
        *why = "the request has no Host header";
    else if (sigv4_sign(&req, &cr, &p, NULL, res) != 0)
        *why = "the request cannot be signed (check the header names, the X-Amz-Date format, "
               "the region and service names)";
    else if (format_signed(rr, h, n, res, head) == 0)
        rc = 0;
    free(h);
    return rc;
}

/* One request (FILE or stdin). Returns the exit status. */
static int sign_single(const struct sign_opts *o, const struct cw_buf *in, const char *secret,
                       time_t now)
{
    struct rawreq rr;
    char err[256];
    if (rawreq_parse(in->data, in->len, &rr, err, sizeof err) != 0) {
        fprintf(stderr, "cwagent sign: cannot parse the request: %s\n", err);
        return 1;
    }
    struct sigv4_result res = {0};
    struct cw_buf head;
    cw_buf_init(&head, SIGN_MAX_INPUT);
    const char *why = NULL;
    int rc = 1;
    if (sign_request(o, &rr, secret, now, &res, &head, &why) != 0) {
        fprintf(stderr, "cwagent sign: %s\n", why);
    } else if (o->json) {
        rc = print_json(&res, head.data);
    } else {
        print_human(&res, head.data, rr.body_len);
        rc = 0;
    }
    cw_buf_free(&head);
    sigv4_result_free(&res);
    rawreq_free(&rr);
    return rc;
}

static void print_json_error(const char *why)
{
    json_t *o = json_pack("{s:s}", "error", why);
    if (o)
        json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

/* A stream of pipelined requests: one JSON line each. A request that cannot be signed gets an
 * error line (and exit status 1); one that cannot be parsed ends the stream. */
static int sign_batch(const struct sign_opts *o, const struct cw_buf *in, const char *secret,
                      time_t now)
{
    size_t off = 0, index = 0;
    int rc = 0;
    while (off < in->len && strspn(in->data + off, "\r\n") < in->len - off) {
        struct rawreq rr;
        char err[256];
        if (rawreq_parse_next(in->data + off, in->len - off, &rr, err, sizeof err) != 0) {
            fprintf(stderr, "cwagent sign: request %zu: cannot parse: %s\n", index, err);
            print_json_error(err);
            return 1;
        }
        off += rr.consumed;
        struct sigv4_result res = {0};
        struct cw_buf head;
        cw_buf_init(&head, SIGN_MAX_INPUT);
        const char *why = NULL;
        if (sign_request(o, &rr, secret, now, &res, &head, &why) != 0) {
            fprintf(stderr, "cwagent sign: request %zu: %s\n", index, why);
            print_json_error(why);
            rc = 1;
        } else if (print_json(&res, head.data) != 0) {
            rc = 1;
        }
        cw_buf_free(&head);
        sigv4_result_free(&res);
        rawreq_free(&rr);
        index++;
    }
    return rc;
}

int cmd_sign(int argc, char **argv)
{
    struct sign_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    time_t now = time(NULL);
    if (o.date && parse_amz_date(o.date, &now) != 0)
        return usage_error("--date '%s' is not a UTC time as YYYYMMDDTHHMMSSZ", o.date);
    char *secret = NULL;
    if ((rc = load_secret(&o, &secret)) != 0)
        return rc;
    struct cw_buf in;
    cw_buf_init(&in, SIGN_MAX_INPUT);
    rc = read_input(&o, &in);
    if (rc == 0 && in.len == 0) {
        fprintf(stderr, "cwagent sign: the input is empty\n");
        rc = 1;
    }
    if (rc == 0)
        rc = o.batch ? sign_batch(&o, &in, secret, now) : sign_single(&o, &in, secret, now);
    cw_buf_free(&in);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return rc;
}
