#include "agent/status_text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COL 14 /* width of the left column */

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v)
           : json_is_real(v)  ? (long long)json_real_value(v)
                              : 0;
}

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* "42 s", "5 min", "3 h 12 min", "2 d 4 h" */
static const char *age(double secs, char *buf, size_t len)
{
    long long s = secs < 0 ? 0 : (long long)(secs + 0.5);
    if (s < 120)
        snprintf(buf, len, "%lld s", s);
    else if (s < 7200)
        snprintf(buf, len, "%lld min", s / 60);
    else if (s < 172800)
        snprintf(buf, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%lld d %lld h", s / 86400, s % 86400 / 3600);
    return buf;
}

static const char *bytes(long long b, char *buf, size_t len)
{
    if (b < 1024)
        snprintf(buf, len, "%lld B", b);
    else if (b < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", (double)b / 1024);
    else if (b < 1024LL * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", (double)b / (1024 * 1024));
    else
        snprintf(buf, len, "%.1f GiB", (double)b / (1024.0 * 1024 * 1024));
    return buf;
}

static void credentials(FILE *f, const json_t *c, double now)
{
    char a[32];
    double exp = jnum(c, "expiration");
    fprintf(f, "%-*s%s", COL, "credentials", *jstr(c, "source") ? jstr(c, "source") : "none yet");
    if (*jstr(c, "access_key_id"))
        fprintf(f, ", key %s", jstr(c, "access_key_id"));
    if (!*jstr(c, "source"))
        ; /* nothing to say about an expiry */
    else if (exp <= 0)
        fprintf(f, ", static");
    else if (exp > now)
        fprintf(f, ", expire in %s", age(exp - now, a, sizeof a));
    else
        fprintf(f, ", EXPIRED %s ago", age(now - exp, a, sizeof a));
    fputc('\n', f);
    if (jint(c, "failures") > 0)
        fprintf(f, "%-*s%lld failed refreshes, last: %s\n", COL, "", jint(c, "failures"),
                jstr(c, "last_error"));
}

/* "shipping: last accepted 3 s ago" / "FAILING for ..." / "nothing sent yet". */
static void destination_state(FILE *f, const char *name, const json_t *api, double now)
{
    char a[32], b[32];
    double since = jnum(api, "failing_since"), last = jnum(api, "last_success");
    fprintf(f, "%-*s", COL, name);
    if (since > 0) {
        fprintf(f, "FAILING for %s (%lld attempts), retrying: %s", age(now - since, a, sizeof a),
                jint(api, "failing_attempts"), jstr(api, "last_error"));
        if (last > 0)
            fprintf(f, "; last accepted %s ago", age(now - last, b, sizeof b));
    } else if (last > 0) {
        fprintf(f, "shipping: last accepted %s ago", age(now - last, a, sizeof a));
    } else if (jint(api, "calls") == 0) {
        fprintf(f, "idle: nothing sent yet");
    } else {
        fprintf(f, "waiting for a first answer");
    }
    fputc('\n', f);
}

static void api_line(FILE *f, const json_t *api)
{
    fprintf(f, "%-*sAPI: %lld calls, %lld retries, %lld throttled, %lld failed", COL, "",
            jint(api, "calls"), jint(api, "retries"), jint(api, "throttled"),
            jint(api, "failures"));
    if (jint(api, "failures") > 0 && jnum(api, "failing_since") <= 0 && *jstr(api, "last_error"))
        fprintf(f, " (last error: %s)", jstr(api, "last_error"));
    fputc('\n', f);
}

/* A StatsD or collectd listener of the metrics job (agent/listeners.h). */
static void listener(FILE *f, const char *name, const json_t *l)
{
    if (!l)
        return;
    fprintf(f, "%-*s%s on port %lld: %lld received, %lld refused", COL, "", name, jint(l, "port"),
            jint(l, "received"), jint(l, "refused"));
    long long dropped = jint(l, "kernel_drops") + jint(l, "truncated") + jint(l, "series_dropped") +
                        jint(l, "datums_failed") + jint(l, "insecure");
    if (dropped)
        fprintf(f,
                ", dropped: %lld by the kernel, %lld truncated, %lld series, %lld datums, "
                "%lld insecure",
                jint(l, "kernel_drops"), jint(l, "truncated"), jint(l, "series_dropped"),
                jint(l, "datums_failed"), jint(l, "insecure"));
    if (!json_is_true(json_object_get(l, "listening")))
        fprintf(f, " (NOT LISTENING)");
    fputc('\n', f);
}

static void metrics(FILE *f, const json_t *m, double now)
{
    const json_t *api = json_object_get(m, "api"), *sp = json_object_get(m, "spool");
    char b[32];
    destination_state(f, "metrics", api, now);
    fprintf(f, "%-*s%lld datums sent, %lld rejected, %lld dropped; spool: %lld batches (%s)", COL,
            "", jint(m, "datums_sent"), jint(m, "datums_rejected"), jint(m, "datums_dropped"),
            jint(sp, "entries"), bytes(jint(sp, "bytes"), b, sizeof b));
    long long lost = jint(sp, "dropped_full") + jint(sp, "dropped_expired") + jint(sp, "corrupt");
    if (lost)
        fprintf(f, ", %lld batches dropped (full %lld, older than 14 days %lld, corrupt %lld)",
                lost, jint(sp, "dropped_full"), jint(sp, "dropped_expired"), jint(sp, "corrupt"));
    fputc('\n', f);
    api_line(f, api);
    listener(f, "statsd", json_object_get(m, "statsd"));
    listener(f, "collectd", json_object_get(m, "collectd"));
}

/* agent.cwagent.prometheus (agent/prom_exporter.h). */
static void prometheus(FILE *f, const json_t *p)
{
    char b[32];
    fprintf(f, "%-*shttp://%s/metrics: %lld scrapes, %lld series (%s), round %lld us", COL,
            "prometheus", jstr(p, "listen"), jint(p, "scrapes"), jint(p, "series"),
            bytes(jint(p, "page_bytes"), b, sizeof b), jint(p, "round_us"));
    long long bad = jint(p, "bad_requests") + jint(p, "not_found") + jint(p, "conns_refused") +
                    jint(p, "evicted") + jint(p, "timeouts") + jint(p, "render_failures");
    if (bad)
        fprintf(f,
                "; refused: %lld bad requests, %lld not found, %lld connections refused, "
                "%lld evicted, %lld timed out, %lld pages cut",
                jint(p, "bad_requests"), jint(p, "not_found"), jint(p, "conns_refused"),
                jint(p, "evicted"), jint(p, "timeouts"), jint(p, "render_failures"));
    fputc('\n', f);
}

static void file_line(FILE *f, const json_t *fl)
{
    char b[32], c[32], d[32];
    long long lag = jint(fl, "lag_bytes");
    fprintf(f, "  %s  ", jstr(fl, "path"));
    if (lag <= 0)
        fprintf(f, "up to date (%s)", bytes(jint(fl, "size"), b, sizeof b));
    else
        fprintf(f, "%s behind (committed %s of %s)", bytes(lag, b, sizeof b),
                bytes(jint(fl, "committed"), c, sizeof c), bytes(jint(fl, "size"), d, sizeof d));
    if (!json_is_true(json_object_get(fl, "open")))
        fprintf(f, ", not open");
    fputc('\n', f);
}

static void logs(FILE *f, const json_t *l, double now)
{
    const json_t *api = json_object_get(l, "api"), *files = json_object_get(l, "files");
    char b[32];
    destination_state(f, "logs", api, now);
    fprintf(f,
            "%-*s%lld events sent (%s) to %lld streams, %lld refused by CloudWatch, "
            "%lld too old/new not sent, %lld invalid dropped\n",
            COL, "", jint(l, "events_sent"), bytes(jint(l, "bytes_sent"), b, sizeof b),
            jint(l, "destinations"), jint(l, "rejected_by_service"),
            jint(l, "rejected_too_old") + jint(l, "rejected_too_new"), jint(l, "dropped_invalid"));
    if (jint(l, "truncated_unread_bytes") > 0)
        fprintf(f, "%-*s%s lost: truncated before read (copytruncate window, docs/rotation.md)\n",
                COL, "", bytes(jint(l, "truncated_unread_bytes"), b, sizeof b));
    api_line(f, api);
    size_t i;
    const json_t *fl;
    if (json_array_size(files))
        fprintf(f, "files (%zu)\n", json_array_size(files));
    json_array_foreach(files, i, fl) file_line(f, fl);
}

static void header(FILE *f, const json_t *o, double now)
{
    const char *status = jstr(o, "status");
    fprintf(f, "cwagent %s %s", jstr(o, "version"), status);
    if (strcmp(status, "running") != 0) {
        fprintf(f, " (%s)\n", jstr(o, "configstatus"));
        return;
    }
    struct tm tm = {0};
    char a[32];
    const char *st = jstr(o, "starttime");
    if (strptime(st, "%Y-%m-%dT%H:%M:%SZ", &tm))
        fprintf(f, " since %s (up %s)", st, age(now - (double)timegm(&tm), a, sizeof a));
    fprintf(f, ", pid %lld, region %s\n", jint(o, "pid"), jstr(o, "region"));
}

char *status_text(const char *doc, double now)
{
    json_t *o = json_loads(doc, 0, NULL);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "status"))) {
        json_decref(o);
        return NULL;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        json_decref(o);
        return NULL;
    }
    header(f, o, now);
    if (json_object_get(o, "credentials"))
        credentials(f, json_object_get(o, "credentials"), now);
    if (json_object_get(o, "metrics"))
        metrics(f, json_object_get(o, "metrics"), now);
    if (json_object_get(o, "logs"))
        logs(f, json_object_get(o, "logs"), now);
    if (json_object_get(o, "prometheus"))
        prometheus(f, json_object_get(o, "prometheus"));
    fclose(f);
    json_decref(o);
    return out;
}
