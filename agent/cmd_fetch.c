/* cmd_fetch — `cwagent fetch-config`: the reference's config-downloader, with validation.
 *
 *   cwagent fetch-config -s SOURCE -o DIR [--multi-config default|append|remove]
 *                        [-m ec2|onPremise|auto] [--region REGION]
 *
 * SOURCE is `file:PATH`, `ssm:PARAMETER`, `default` or (remove only) `all`. The JSON is
 * fetched, validated with the config module (alone for `default`, merged with the other files
 * of DIR for `append`), and only then written into DIR under the reference ctl's name
 * (`file_<basename>`, `ssm_<name>` with '/', ' ' and ':' turned into '_', or `default`):
 * into a hidden temporary file first (mode 0640), then renamed over the target, so a reader
 * never sees half a file and a failure leaves DIR as it was. `default` multi-config then
 * removes every other configuration file of DIR (the new source replaces them); `append`
 * keeps them; `remove` deletes the source's file (or every file for `all`) after checking that
 * what remains is still valid.
 *
 * SSM: GetParameter (JSON 1.1, WithDecryption true) signed with the SDK credentials chain; the
 * region is --region, else AWS_REGION / AWS_DEFAULT_REGION, else the instance's (IMDS); the
 * endpoint is AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL, else https://ssm.<region>.amazonaws.com.
 *
 * Exit status: 0 done; 1 runtime failure (network, credentials, AWS errors other than a missing
 * parameter, writing DIR); 2 usage error, a source that does not exist (missing file,
 * ParameterNotFound) or an invalid configuration. */
#include "agent/commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/endpoint.h"
#include "agent/http_curl.h"
#include "agent/loop.h"
#include "agent/netconf.h"
#include "common/log.h"
#include "config/config.h"
#include "sigv4/creds.h"
#include "sigv4/imds.h"

extern char **environ;

#define EXIT_RUNTIME     1
#define EXIT_CONFIG      2
#define IMDS_WAIT_MS     6000
#define CREDS_WAIT_MS    20000
#define SSM_WAIT_MS      45000
#define SSM_MAX_RESPONSE (256u << 10) /* GetParameter: value ≤ 8 KB (advanced tier) */
#define MAX_DIR_FILES    256

enum multi { MULTI_DEFAULT, MULTI_APPEND, MULTI_REMOVE };
enum mode { MODE_EC2, MODE_ONPREM, MODE_AUTO };

struct fetch {
    const char *source;
    const char *out_dir;
    const char *region_arg;
    const char *common_path; /* common-config.toml: proxy, CA bundle, credentials */
    struct cw_netconf net;
    int net_loaded;
    enum multi multi;
    enum mode mode;
    char name[NAME_MAX + 1]; /* target file name in out_dir; "" for `all` */
    /* network, set up on first use */
    struct cw_loop *loop;
    struct cw_http_curl *curl;
    struct cw_http_transport http;
    int imds_done;
    int on_ec2;
    char imds_region[64];
    char region[64];
    struct creds_ctx cctx;
    char sts[512];
    struct creds_cache *creds;
    int flag;
    int rc; /* exit status of the SSM call */
    char *value;
};

static void fetch_usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent fetch-config -s SOURCE -o DIR [--multi-config default|append|remove]\n"
            "                            [-m ec2|onPremise|auto] [--region REGION]\n\n"
            "Fetches an amazon-cloudwatch-agent JSON configuration, validates it, and writes it\n"
            "atomically (mode 0640) into DIR as the reference ctl names it.\n"
            "  -s, --source SOURCE  file:PATH, ssm:PARAMETER, default, or all (remove only)\n"
            "  -o, --output-dir DIR the configuration directory (e.g. /etc/cwagent/cwagent.d)\n"
            "  --multi-config M     default: replace DIR's configuration with this one;\n"
            "                       append: add it to the others; remove: delete it\n"
            "  -m, --mode MODE      ec2 (default), onPremise or auto (asks instance metadata);\n"
            "                       `default` on EC2 adds the four EC2 append_dimensions\n"
            "  --region REGION      SSM region (else AWS_REGION, AWS_DEFAULT_REGION, IMDS)\n"
            "  --common-config FILE proxy, CA bundle and credentials (default\n"
            "                       " CW_COMMON_CONFIG_PATH ")\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage error, missing source or invalid\n"
            "configuration.\n");
}

/* ---- arguments and the target name ----------------------------------------------------------- */

static int parse_mode(const char *v, enum mode *out)
{
    if (strcmp(v, "ec2") == 0)
        *out = MODE_EC2;
    else if (strcmp(v, "onPremise") == 0 || strcmp(v, "onPrem") == 0)
        *out = MODE_ONPREM;
    else if (strcmp(v, "auto") == 0)
        *out = MODE_AUTO;
    else
        return -1;
    return 0;
}

static int parse_multi(const char *v, enum multi *out)
{
    if (strcmp(v, "default") == 0)
        *out = MULTI_DEFAULT;
    else if (strcmp(v, "append") == 0)
        *out = MULTI_APPEND;
    else if (strcmp(v, "remove") == 0)
        *out = MULTI_REMOVE;
    else
        return -1;
    return 0;
}

/* Returns 0, 1 for --help, -1 on a usage error (reported). */
static int parse_args(struct fetch *f, int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fetch_usage(stdout);
            return 1;
        }
        if (!v) {
            fprintf(stderr, "cwagent fetch-config: %s needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "-s") == 0 || strcmp(a, "--source") == 0 || strcmp(a, "-c") == 0) {
            f->source = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output-dir") == 0) {
            f->out_dir = v;
        } else if (strcmp(a, "--region") == 0) {
            f->region_arg = v;
        } else if (strcmp(a, "--common-config") == 0) {
            f->common_path = v;
        } else if ((strcmp(a, "-m") == 0 || strcmp(a, "--mode") == 0)) {
            if (parse_mode(v, &f->mode) != 0) {
                fprintf(stderr, "cwagent fetch-config: mode must be ec2, onPremise or auto\n");
                return -1;
            }
        } else if (strcmp(a, "--multi-config") == 0) {
            if (parse_multi(v, &f->multi) != 0) {
                fprintf(stderr, "cwagent fetch-config: --multi-config must be default, append "
                                "or remove\n");
                return -1;
            }
        } else {
            fprintf(stderr, "cwagent fetch-config: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (!f->source || !f->out_dir || !*f->out_dir) {
        fprintf(stderr, "cwagent fetch-config: -s SOURCE and -o DIR are required\n");
        return -1;
    }
    return 0;
}

/* The reference's EscapeFilePath: '/', ' ' and ':' become '_'. */
static int escaped_name(char *out, size_t cap, const char *prefix, const char *s)
{
    int n = snprintf(out, cap, "%s%s", prefix, s);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    for (char *p = out; *p; p++)
        if (*p == '/' || *p == ' ' || *p == ':')
            *p = '_';
    return 0;
}

/* The last path element of `path`, trailing slashes ignored (Go's filepath.Base), into out. */
static void base_name(const char *path, char *out, size_t cap)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(out, cap, "%.*s", (int)(len - start), path + start);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Sets f->name from f->source; -1 (reported) when the source is malformed. */
static int target_name(struct fetch *f)
{
    const char *s = f->source;
    char base[PATH_MAX];
    int rc = -1;
    if (strcmp(s, "default") == 0) {
        rc = escaped_name(f->name, sizeof f->name, "", "default");
    } else if (strcmp(s, "all") == 0) {
        if (f->multi == MULTI_REMOVE)
            return 0;
        fprintf(stderr, "cwagent fetch-config: 'all' is only valid with --multi-config remove\n");
        return -1;
    } else if (strncmp(s, "ssm:", 4) == 0 && s[4]) {
        rc = escaped_name(f->name, sizeof f->name, "ssm_", s + 4);
    } else if (strncmp(s, "file:", 5) == 0 && s[5]) {
        base_name(s + 5, base, sizeof base);
        rc = escaped_name(f->name, sizeof f->name, "file_", base);
    } else {
        fprintf(stderr,
                "cwagent fetch-config: source '%s' is malformed: expected file:PATH, "
                "ssm:PARAMETER, default or all\n",
                s);
        return -1;
    }
    if (rc != 0 || ends_with(f->name, ".tmp")) {
        fprintf(stderr, "cwagent fetch-config: source '%s' gives an unusable file name%s\n", s,
                rc != 0 ? " (too long)" : " (ending in .tmp)");
        return -1;
    }
    return 0;
}

/* ---- the configuration directory ------------------------------------------------------------- */

/* The names cw_config_load reads from a directory (config.h), hidden and pending ones aside. */
static int is_config_name(const char *n)
{
    if (n[0] == '.' || ends_with(n, ".tmp"))
        return 0;
    return ends_with(n, ".json") || strcmp(n, "default") == 0 || strncmp(n, "file_", 5) == 0 ||
           strncmp(n, "ssm_", 4) == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The configuration files of `dir` except `skip` (may be ""), in name order: names[] are
 * malloc'd (the caller frees each); returns the count or -1 (reported). A missing directory has
 * none. Stale "*.tmp" downloads are listed too when `tmp_too`. */
static int list_configs(const char *dir, const char *skip, int tmp_too, char **names, int cap)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, by_name), count = 0;
    if (n < 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "cwagent fetch-config: cannot read %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        int want = ents[i]->d_type != DT_DIR &&
                   (is_config_name(e) || (tmp_too && e[0] != '.' && ends_with(e, ".tmp")));
        if (want && strcmp(e, skip) != 0 && count < cap)
            names[count++] = strdup(e);
        free(ents[i]);
    }
    free(ents);
    return count;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

/* Reads a regular configuration file whole (capped like the loader); the caller frees *out.
 * Returns 0, -1 when the source is wrong (missing, not a regular file, too big), -2 on an I/O
 * error (both reported). */
static int read_text(const char *path, char **out)
{
    struct stat st;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cwagent fetch-config: cannot read %s: %s\n", path, strerror(errno));
        return errno == ENOENT ? -1 : -2;
    }
    const char *why = NULL;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > (off_t)CW_CONFIG_MAX_FILE_BYTES)
        why = "larger than 16 MiB";
    char *buf = why ? NULL : malloc((size_t)st.st_size + 1);
    size_t len = buf ? fread(buf, 1, (size_t)st.st_size, fp) : 0;
    if (!why && (!buf || ferror(fp)))
        why = "read error";
    fclose(fp);
    if (why) {
        fprintf(stderr, "cwagent fetch-config: cannot read %s: %s\n", path, why);
        free(buf);
        return strcmp(why, "read error") == 0 ? -2 : -1;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* ---- validation ------------------------------------------------------------------------------ */

static void print_diag(const struct cw_config_diag *d)
{
    for (size_t i = 0; i < d->n_warnings; i++)
        fprintf(stderr, "warning: %s\n", d->warnings[i]);
    for (size_t i = 0; i < d->n_errors; i++)
        fprintf(stderr, "error: %s\n", d->errors[i]);
}

/* Validates the documents together (names label the messages). Returns 0 or -1 (reported). */
static int validate_docs(const char **names, const char **texts, size_t n)
{
    char host[256] = "localhost";
    struct cw_config_meta meta = {0};
    if (gethostname(host, sizeof host - 1) == 0)
        meta.local_hostname = host;
    struct cw_config *cfg = NULL;
    struct cw_config_diag d = {0};
    int rc = cw_config_load_buffers(names, texts, n, &meta, &cfg, &d);
    print_diag(&d);
    if (rc != 0)
        fprintf(stderr, "configuration invalid: %zu error(s)\n", d.n_errors);
    cw_config_free(cfg);
    cw_config_diag_free(&d);
    return rc == 0 ? 0 : -1;
}

/* Validates the files of `dir` other than `skip`, plus (`label`, `text`) when text is set.
 * Returns 0, -1 invalid, -2 runtime error. Nothing to validate counts as valid. */
static int validate_with_dir(const char *dir, const char *skip, const char *label, const char *text)
{
    char *files[MAX_DIR_FILES];
    char *paths[MAX_DIR_FILES + 1], *texts[MAX_DIR_FILES + 1];
    int nf = list_configs(dir, skip, 0, files, MAX_DIR_FILES), n = 0, rc = 0;
    if (nf < 0)
        return -2;
    for (int i = 0; i < nf && rc == 0; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        paths[n] = strdup(path);
        if (!paths[n] || read_text(path, &texts[n]) != 0) {
            free(paths[n]);
            rc = -2;
            break;
        }
        n++;
    }
    if (rc == 0 && text) {
        paths[n] = strdup(label);
        texts[n++] = strdup(text);
    }
    if (rc == 0 && n > 0)
        rc = validate_docs((const char **)paths, (const char **)texts, (size_t)n);
    for (int i = 0; i < n; i++) {
        free(paths[i]);
        free(texts[i]);
    }
    free_names(files, nf);
    return rc;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Writes text to dir/name through a hidden temporary file and rename(2). Returns 0 or -1. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    snprintf(final, sizeof final, "%s/%s", dir, name);
    if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp)
        return -1;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "cwagent fetch-config: cannot write in %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    int rc = fchmod(fd, 0640) == 0 && write_all(fd, text, len) == 0 &&
                     (len == 0 || text[len - 1] == '\n' || write_all(fd, "\n", 1) == 0) &&
                     fsync(fd) == 0
                 ? 0
                 : -1;
    int err = errno;
    if (close(fd) != 0 && rc == 0)
        rc = -1, err = errno;
    if (rc == 0 && rename(tmp, final) != 0)
        rc = -1, err = errno;
    if (rc != 0) {
        fprintf(stderr, "cwagent fetch-config: cannot write %s: %s\n", final, strerror(err));
        unlink(tmp);
        return -1;
    }
    sync_dir(dir);
    return 0;
}

/* Deletes the configuration files (and stale *.tmp) of dir except `keep`. Returns 0 or -1. */
static int remove_others(const char *dir, const char *keep)
{
    char *files[MAX_DIR_FILES];
    int n = list_configs(dir, keep, 1, files, MAX_DIR_FILES), rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "cwagent fetch-config: cannot remove %s: %s\n", path, strerror(errno));
            rc = -1;
        } else {
            printf("removed %s\n", path);
        }
    }
    free_names(files, n < 0 ? 0 : n);
    if (n > 0)
        sync_dir(dir);
    return rc;
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0750) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "cwagent fetch-config: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
}

/* ---- instance metadata (mode auto, region) --------------------------------------------------- */

/* common-config.toml and the network environment, once; a bad file or CA bundle is reported
 * (the agent would refuse to start with it, as the reference's translator refuses it). */
static int load_net(struct fetch *f)
{
    char err[1024];
    if (f->net_loaded)
        return 0;
    if (cw_netconf_load(&f->net, f->common_path, (const char *const *)environ, err, sizeof err) !=
        0) {
        fprintf(stderr, "cwagent fetch-config: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < f->net.file.n_warnings; i++)
        fprintf(stderr, "warning: %s\n", f->net.file.warnings[i]);
    f->net_loaded = 1;
    return 0;
}

static int net_up(struct fetch *f)
{
    if (f->curl)
        return 0;
    if (load_net(f) != 0)
        return -1;
    struct cw_http_curl_options ho = {0};
    cw_netconf_curl_options(&f->net, &ho);
    f->loop = cw_loop_new();
    f->curl = f->loop ? cw_http_curl_new(f->loop, &ho) : NULL;
    if (!f->curl) {
        fprintf(stderr, "cwagent fetch-config: cannot start the HTTP client\n");
        return -1;
    }
    f->http = cw_http_curl_transport(f->curl);
    return 0;
}

static void on_identity(void *ud, const struct imds_identity *id, const char *err)
{
    struct fetch *f = ud;
    f->flag = 1;
    if (err || !id->instance_id[0])
        return;
    f->on_ec2 = 1;
    snprintf(f->imds_region, sizeof f->imds_region, "%s", id->region);
}

/* Asks IMDS once for the identity document; on_ec2 and imds_region say what it found. */
static void probe_imds(struct fetch *f)
{
    if (f->imds_done || net_up(f) != 0)
        return;
    f->imds_done = 1;
    struct imds_options io = {0};
    io.http = &f->http;
    imds_options_from_env(&io, (const char *const *)environ);
    if (io.disabled)
        return;
    struct imds_client *c = imds_client_new(&io);
    f->flag = 0;
    if (c && imds_identity_fetch(c, 0, on_identity, f) == 0)
        cw_loop_run_until(f->loop, &f->flag, IMDS_WAIT_MS);
    imds_client_free(c);
}

static int pick_region(struct fetch *f)
{
    const char *r = f->region_arg;
    if (!r || !*r)
        r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    if ((!r || !*r) && f->mode != MODE_ONPREM) {
        probe_imds(f);
        r = f->imds_region;
    }
    if (!r || !*r) {
        fprintf(stderr, "cwagent fetch-config: the AWS region is unknown: pass --region or set "
                        "AWS_REGION (instance metadata did not answer)\n");
        return -1;
    }
    snprintf(f->region, sizeof f->region, "%s", r);
    return 0;
}

/* ---- sources --------------------------------------------------------------------------------- */

/* translator/config/defaultConfig.go (Linux): memory and disk use; on EC2 the four dimensions. */
static const char DEFAULT_ONPREM[] =
    "{\n  \"agent\": {\n    \"run_as_user\": \"cwagent\"\n  },\n  \"metrics\": {\n"
    "    \"metrics_collected\": {\n"
    "      \"mem\": {\n        \"measurement\": [\"mem_used_percent\"]\n      },\n"
    "      \"disk\": {\n        \"measurement\": [\"used_percent\"],\n"
    "        \"resources\": [\"*\"]\n      }\n    }\n  }\n}\n";

static const char DEFAULT_EC2[] =
    "{\n  \"agent\": {\n    \"run_as_user\": \"cwagent\"\n  },\n  \"metrics\": {\n"
    "    \"metrics_collected\": {\n"
    "      \"mem\": {\n        \"measurement\": [\"mem_used_percent\"]\n      },\n"
    "      \"disk\": {\n        \"measurement\": [\"used_percent\"],\n"
    "        \"resources\": [\"*\"]\n      }\n    },\n"
    "    \"append_dimensions\": {\n"
    "      \"ImageId\": \"${aws:ImageId}\",\n"
    "      \"InstanceId\": \"${aws:InstanceId}\",\n"
    "      \"InstanceType\": \"${aws:InstanceType}\",\n"
    "      \"AutoScalingGroupName\": \"${aws:AutoScalingGroupName}\"\n    }\n  }\n}\n";

static int fetch_default(struct fetch *f, char **out)
{
    int ec2 = f->mode == MODE_EC2;
    if (f->mode == MODE_AUTO) {
        probe_imds(f);
        ec2 = f->on_ec2;
    }
    *out = strdup(ec2 ? DEFAULT_EC2 : DEFAULT_ONPREM);
    return *out ? 0 : EXIT_RUNTIME;
}

static void on_creds(void *ud, const struct creds *c)
{
    (void)c;
    ((struct fetch *)ud)->flag = 1;
}

/* Starts the SDK chain and waits for a first set of credentials. Returns 0 or -1 (reported). */
static int creds_up(struct fetch *f)
{
    f->cctx.http = &f->http;
    f->cctx.envp = (const char *const *)environ;
    f->cctx.sign = sigv4_sign;
    f->cctx.sign_free = sigv4_result_free;
    f->cctx.region = f->region;
    if (cw_endpoint_for("sts", "STS", f->region, NULL, f->sts, sizeof f->sts) == 0)
        f->cctx.sts_endpoint = f->sts;
    const struct cw_common_config *cc = &f->net.file;
    struct creds_provider *p =
        cc->credential_profile || cc->credential_file
            ? creds_profile_provider_new_files(&f->cctx, cc->credential_profile,
                                               cc->credential_file, NULL)
            : creds_default_chain_new(&f->cctx, NULL);
    f->creds = p ? creds_cache_new(p, &f->cctx, on_creds, f) : NULL;
    if (!f->creds)
        return -1;
    struct creds *c = NULL;
    f->flag = 0;
    creds_cache_tick(f->creds);
    if (!f->flag)
        cw_loop_run_until(f->loop, &f->flag, CREDS_WAIT_MS);
    if (creds_cache_get(f->creds, &c) == 0) {
        creds_release(c);
        return 0;
    }
    struct creds_cache_status st;
    creds_cache_status(f->creds, &st);
    fprintf(stderr, "cwagent fetch-config: no AWS credentials: %s\n",
            st.last_error[0] ? st.last_error : "timed out");
    return -1;
}

/* Takes Parameter.Value out of a GetParameter response. */
static char *parameter_value(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *v = json_object_get(json_object_get(root, "Parameter"), "Value");
    char *out = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    json_decref(root);
    return out;
}

static void on_parameter(void *ud, const struct aws_result *res)
{
    struct fetch *f = ud;
    const char *param = f->source + 4;
    f->flag = 1;
    if (res->ok) {
        f->value = parameter_value(res->body, res->body_len);
        f->rc = f->value ? 0 : EXIT_RUNTIME;
        if (!f->value)
            fprintf(stderr, "cwagent fetch-config: ssm:GetParameter answered without "
                            "Parameter.Value\n");
    } else if (strcmp(res->code, "ParameterNotFound") == 0) {
        fprintf(stderr,
                "cwagent fetch-config: SSM parameter '%s' not found in %s "
                "(ParameterNotFound)\n",
                param, f->region);
        f->rc = EXIT_CONFIG;
    } else {
        fprintf(stderr, "cwagent fetch-config: ssm:GetParameter '%s' failed: %s: %s\n", param,
                res->code[0] ? res->code : "error", res->message);
        f->rc = EXIT_RUNTIME;
    }
}

/* Runs one GetParameter call to the end. */
static int call_get_parameter(struct fetch *f, struct aws_client *ssm)
{
    json_t *req = json_pack("{s:s,s:b}", "Name", f->source + 4, "WithDecryption", 1);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return EXIT_RUNTIME;
    struct aws_call call = {0};
    call.target = "AmazonSSM.GetParameter";
    call.body = body;
    call.body_len = strlen(body);
    call.max_response = SSM_MAX_RESPONSE;
    f->flag = 0;
    f->rc = EXIT_RUNTIME;
    int started = aws_client_call(ssm, &call, on_parameter, f) == 0;
    free(body);
    if (!started)
        return EXIT_RUNTIME;
    if (cw_loop_run_until(f->loop, &f->flag, SSM_WAIT_MS) != 0 && !f->flag) {
        fprintf(stderr, "cwagent fetch-config: ssm:GetParameter did not answer within %d s\n",
                SSM_WAIT_MS / 1000);
        return EXIT_RUNTIME;
    }
    return f->rc;
}

static int fetch_ssm(struct fetch *f, char **out)
{
    char url[512];
    struct cw_clock_skew skew;
    if (net_up(f) != 0 || pick_region(f) != 0)
        return EXIT_RUNTIME;
    if (cw_endpoint_for("ssm", "SSM", f->region, NULL, url, sizeof url) != 0 || creds_up(f) != 0)
        return EXIT_RUNTIME;
    cw_clock_skew_init(&skew);
    struct aws_client_options ao = {0};
    ao.loop = f->loop;
    ao.http = &f->http;
    ao.creds = f->creds;
    ao.skew = &skew;
    ao.service = "ssm";
    ao.region = f->region;
    ao.endpoint = url;
    cw_retry_policy_init(&ao.policy);
    ao.policy.max_attempts = 4;
    struct aws_client *ssm = aws_client_new(&ao);
    int rc = ssm ? call_get_parameter(f, ssm) : EXIT_RUNTIME;
    aws_client_free(ssm);
    *out = f->value;
    f->value = NULL;
    return rc;
}

static int fetch_source(struct fetch *f, char **out)
{
    if (strcmp(f->source, "default") == 0)
        return fetch_default(f, out);
    if (strncmp(f->source, "ssm:", 4) == 0)
        return fetch_ssm(f, out);
    int rc = read_text(f->source + 5, out);
    return rc == 0 ? 0 : rc == -1 ? EXIT_CONFIG : EXIT_RUNTIME;
}

/* ---- the three multi-config actions ---------------------------------------------------------- */

static int do_remove(struct fetch *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", f->out_dir, f->name);
    if (f->name[0] && access(path, F_OK) != 0) {
        fprintf(stderr, "cwagent fetch-config: %s: no such configuration in %s\n", f->source,
                f->out_dir);
        return EXIT_CONFIG;
    }
    if (f->name[0]) {
        int v = validate_with_dir(f->out_dir, f->name, NULL, NULL);
        if (v != 0) {
            fprintf(stderr,
                    "cwagent fetch-config: the configuration left after removing %s "
                    "would be invalid; nothing removed\n",
                    path);
            return v == -1 ? EXIT_CONFIG : EXIT_RUNTIME;
        }
        if (unlink(path) != 0) {
            fprintf(stderr, "cwagent fetch-config: cannot remove %s: %s\n", path, strerror(errno));
            return EXIT_RUNTIME;
        }
        sync_dir(f->out_dir);
        printf("removed %s\n", path);
        return 0;
    }
    return remove_others(f->out_dir, "") == 0 ? 0 : EXIT_RUNTIME;
}

static int do_fetch(struct fetch *f)
{
    char *text = NULL;
    if (load_net(f) != 0)
        return EXIT_CONFIG;
    int rc = fetch_source(f, &text);
    if (rc != 0)
        return rc;
    int v = f->multi == MULTI_APPEND
                ? validate_with_dir(f->out_dir, f->name, f->source, text)
                : validate_docs((const char *[]){f->source}, (const char *[]){text}, 1);
    if (v != 0) {
        fprintf(stderr, "cwagent fetch-config: %s was not saved; %s is unchanged\n", f->source,
                f->out_dir);
        rc = v == -1 ? EXIT_CONFIG : EXIT_RUNTIME;
    } else if (ensure_dir(f->out_dir) != 0 || write_atomic(f->out_dir, f->name, text) != 0) {
        rc = EXIT_RUNTIME;
    } else {
        printf("saved %s as %s/%s\n", f->source, f->out_dir, f->name);
        if (f->multi == MULTI_DEFAULT && remove_others(f->out_dir, f->name) != 0)
            rc = EXIT_RUNTIME;
    }
    explicit_bzero(text, strlen(text)); /* a SecureString may carry secrets */
    free(text);
    return rc;
}

static void teardown(struct fetch *f)
{
    creds_cache_free(f->creds);
    cw_http_curl_free(f->curl);
    cw_loop_free(f->loop);
    cw_netconf_free(&f->net);
    free(f->value);
}

int cmd_fetch_config(int argc, char **argv)
{
    struct fetch f = {0};
    f.multi = MULTI_DEFAULT;
    f.mode = MODE_EC2;
    f.common_path = CW_COMMON_CONFIG_PATH;
    int rc = parse_args(&f, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : EXIT_CONFIG;
    if (target_name(&f) != 0)
        return EXIT_CONFIG;
    rc = f.multi == MULTI_REMOVE ? do_remove(&f) : do_fetch(&f);
    teardown(&f);
    return rc;
}
