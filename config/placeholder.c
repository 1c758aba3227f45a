/* placeholder — ${ENV} expansion, {instance_id}-style log name placeholders and ${aws:...}
 * append_dimensions values, resolved from caller-supplied metadata (no I/O here). */
#include "config/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define PLACEHOLDER_MAX_BYTES (64u << 10) /* an expanded string longer than this is refused */

static const char *or_default(const char *v, const char *dflt)
{
    return v && *v ? v : dflt;
}

static int env_name_char(char c, int first)
{
    return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

/* Adds `name` to the comma-separated list *unset. */
static void note_unset(char **unset, const char *name, size_t len)
{
    char *old = *unset, *nv = NULL;
    if (asprintf(&nv, "%s%s%.*s", old ? old : "", old ? ", " : "", (int)len, name) < 0)
        return;
    free(old);
    *unset = nv;
}

char *cw_expand_env(const char *s, const char *(*getenv_fn)(const char *), char **unset)
{
    struct cw_buf b;
    cw_buf_init(&b, PLACEHOLDER_MAX_BYTES);
    for (const char *p = s; *p;) {
        size_t n = 0;
        if (p[0] == '$' && p[1] == '{' && env_name_char(p[2], 1)) {
            n = 3;
            while (env_name_char(p[n], 0))
                n++;
            if (p[n] != '}')
                n = 0;
        }
        if (n == 0) {
            if (cw_buf_append_char(&b, *p++) < 0)
                goto fail;
            continue;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 2), p + 2);
        const char *v = getenv_fn(name);
        if (!v && unset)
            note_unset(unset, name, strlen(name));
        if (v && cw_buf_append_str(&b, v) < 0)
            goto fail;
        p += n + 1;
    }
    if (cw_buf_append(&b, "", 0) < 0)
        goto fail;
    return cw_buf_detach(&b, NULL);
fail:
    cw_buf_free(&b);
    return NULL;
}

static void format_date(time_t now, char *out, size_t outlen)
{
    struct tm tm;
    if (now == 0)
        now = time(NULL);
    if (!gmtime_r(&now, &tm) || strftime(out, outlen, "%Y-%m-%d", &tm) == 0)
        snprintf(out, outlen, "1970-01-01");
}

char *cw_resolve_placeholders(const char *s, const struct cw_config_meta *meta, const char *region)
{
    static const struct cw_config_meta empty;
    char date[32];
    if (!meta)
        meta = &empty;
    format_date(meta->now, date, sizeof date);
    const char *local = or_default(meta->local_hostname, "UNKNOWN-HOST");
    const struct {
        const char *key, *value;
    } subst[] = {
        {"{instance_id}", or_default(meta->instance_id, "i-UNKNOWN")},
        {"{hostname}", or_default(meta->hostname, local)},
        {"{local_hostname}", local},
        {"{ip_address}", or_default(meta->ip_address, "UNKNOWN-IP")},
        {"{aws_region}", or_default(region, "UNKNOWN-REGION")},
        {"{account_id}", or_default(meta->account_id, "UNKNOWN-ACCOUNT")},
        {"{date}", date},
    };
    struct cw_buf b;
    cw_buf_init(&b, PLACEHOLDER_MAX_BYTES);
    for (const char *p = s; *p;) {
        size_t i, n = sizeof subst / sizeof subst[0];
        for (i = 0; i < n; i++)
            if (strncmp(p, subst[i].key, strlen(subst[i].key)) == 0)
                break;
        int rc;
        if (i < n) {
            rc = cw_buf_append_str(&b, subst[i].value);
            p += strlen(subst[i].key);
        } else {
            rc = cw_buf_append_char(&b, *p++);
        }
        if (rc < 0) {
            cw_buf_free(&b);
            return NULL;
        }
    }
    if (cw_buf_append(&b, "", 0) < 0) {
        cw_buf_free(&b);
        return NULL;
    }
    return cw_buf_detach(&b, NULL);
}

int cw_resolve_aws_value(const char *value, const struct cw_config_meta *meta, char **out)
{
    static const struct cw_config_meta empty;
    if (!meta)
        meta = &empty;
    *out = NULL;
    if (!strstr(value, "${aws:")) {
        *out = strdup(value);
        return *out ? 0 : -1;
    }
    const char *v;
    if (strcmp(value, "${aws:InstanceId}") == 0)
        v = or_default(meta->instance_id, "i-UNKNOWN");
    else if (strcmp(value, "${aws:InstanceType}") == 0)
        v = or_default(meta->instance_type, "UNKNOWN-TYPE");
    else if (strcmp(value, "${aws:ImageId}") == 0)
        v = or_default(meta->image_id, "UNKNOWN-AMI");
    else if (strcmp(value, "${aws:AutoScalingGroupName}") == 0)
        v = meta->asg_name && *meta->asg_name ? meta->asg_name : NULL;
    else
        return -1;
    if (v && !(*out = strdup(v)))
        return -1;
    return 0;
}
