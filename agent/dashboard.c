#include "agent/dashboard.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_WIDTH       24 /* API: the dashboard grid has 24 columns */
#define WIDGET_W         12
#define WIDGET_H         6
#define LINES_PER_WIDGET 100 /* a graph shows at most 500 series; keep them readable */

struct layout {
    json_t *widgets;
    int x, y;
};

static void place(struct layout *l, json_t *w, int width, int height)
{
    if (l->x + width > GRID_WIDTH) {
        l->x = 0;
        l->y += WIDGET_H;
    }
    json_object_set_new(w, "x", json_integer(l->x));
    json_object_set_new(w, "y", json_integer(l->y));
    json_object_set_new(w, "width", json_integer(width));
    json_object_set_new(w, "height", json_integer(height));
    json_array_append_new(l->widgets, w);
    l->x += width;
}

/* One metrics line: [namespace, name, dim, value, ..., {stat, label}]. */
/* The label is the metric name when the widget shows several, then the values of the dimensions
 * that tell the lines apart (not the instance's identity). */
static json_t *metric_line(const char *ns, const struct series_item *it, const char *stat,
                           int with_name)
{
    static const char *const identity[] = {"InstanceId", "ImageId", "InstanceType", "host",
                                           "AutoScalingGroupName"};
    json_t *line = json_pack("[s,s]", ns, it->name);
    char label[512] = "";
    size_t used = with_name ? (size_t)snprintf(label, sizeof label, "%s", it->name) : 0;
    for (size_t i = 0; i < it->ndims; i++) {
        json_array_append_new(line, json_string(it->dims[i].name));
        json_array_append_new(line, json_string(it->dims[i].value));
        int skip = 0;
        for (size_t k = 0; k < sizeof identity / sizeof identity[0]; k++)
            skip |= strcmp(it->dims[i].name, identity[k]) == 0;
        if (!skip && used < sizeof label)
            used += (size_t)snprintf(label + used, sizeof label - used, "%s%s", used ? " " : "",
                                     it->dims[i].value);
    }
    json_array_append_new(line,
                          json_pack("{s:s,s:s}", "stat", stat, "label", used ? label : it->name));
    return line;
}

/* A metric widget with every original series (or, with group != NULL, every series whose only
 * dimension is AutoScalingGroupName) of the given names; NULL when none is published. */
static json_t *metric_widget(const struct series_set *s, const struct dashboard_opts *o,
                             const char *title, const char *const *names, size_t nnames,
                             const char *stat, int group, double annotation, int percent)
{
    json_t *metrics = json_array();
    for (size_t k = 0; k < nnames; k++)
        for (size_t i = 0; i < series_count(s) && json_array_size(metrics) < LINES_PER_WIDGET;
             i++) {
            const struct series_item *it = series_get(s, i);
            int is_group = it->ndims == 1 && strcmp(it->dims[0].name, "AutoScalingGroupName") == 0;
            if (strcmp(it->name, names[k]) != 0 || (group ? !is_group : it->is_rollup))
                continue;
            if (!group && strcmp(it->name, "cpu_usage_active") == 0 &&
                strcmp(series_dim(it, "cpu") ? series_dim(it, "cpu") : "", "cpu-total") != 0)
                continue;
            json_array_append_new(metrics, metric_line(series_namespace(s), it, stat, nnames > 1));
        }
    if (json_array_size(metrics) == 0) {
        json_decref(metrics);
        return NULL;
    }
    json_t *props = json_pack("{s:s,s:s,s:s,s:b,s:i,s:s,s:o}", "title", title, "region", o->region,
                              "view", "timeSeries", "stacked", 0, "period",
                              o->period > 0 ? o->period : 60, "stat", stat, "metrics", metrics);
    if (percent)
        json_object_set_new(props, "yAxis",
                            json_pack("{s:{s:i,s:i}}", "left", "min", 0, "max", 100));
    if (annotation > 0)
        json_object_set_new(
            props, "annotations",
            json_pack("{s:[{s:f,s:s}]}", "horizontal", "value", annotation, "label", "alarm"));
    return json_pack("{s:s,s:o}", "type", "metric", "properties", props);
}

static void add_metric(struct layout *l, json_t *w)
{
    if (w)
        place(l, w, WIDGET_W, WIDGET_H);
}

static void add_alarms(struct layout *l, const struct dashboard_opts *o)
{
    if (o->nalarms == 0)
        return;
    json_t *arns = json_array();
    for (size_t i = 0; i < o->nalarms; i++)
        json_array_append_new(arns, json_string(o->alarm_arns[i]));
    place(l,
          json_pack("{s:s,s:{s:s,s:o,s:s}}", "type", "alarm", "properties", "title",
                    "cwagent alarms", "alarms", arns, "sortBy", "stateUpdatedTimestamp"),
          WIDGET_W, WIDGET_H);
}

static void add_logs(struct layout *l, const struct dashboard_opts *o)
{
    if (o->nlogs == 0)
        return;
    char query[2048];
    size_t used = (size_t)snprintf(query, sizeof query, "SOURCE");
    for (size_t i = 0; i < o->nlogs && used < sizeof query; i++)
        used += (size_t)snprintf(query + used, sizeof query - used, "%s '%s'", i ? " |" : "",
                                 o->log_groups[i]);
    if (used < sizeof query)
        snprintf(query + used, sizeof query - used,
                 " | fields @timestamp, @message | sort @timestamp desc | limit 20");
    place(l,
          json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "type", "log", "properties", "title",
                    "Recent log events", "region", o->region, "view", "table", "query", query),
          WIDGET_W, WIDGET_H);
}

char *dashboard_body(const struct series_set *s, const struct dashboard_opts *o)
{
    static const char *const cpu[] = {"cpu_usage_active", "cpu_usage_user", "cpu_usage_system",
                                      "cpu_usage_iowait"};
    static const char *const mem[] = {"mem_used_percent"};
    static const char *const swap[] = {"swap_used_percent"};
    static const char *const disk[] = {"disk_used_percent"};
    static const char *const net[] = {"net_bytes_recv", "net_bytes_sent"};
    static const char *const dio[] = {"diskio_io_time", "diskio_reads", "diskio_writes"};
    struct layout l = {json_array(), 0, 1};
    char md[512];
    snprintf(md, sizeof md, "# %s — cwagent", o->title);
    json_array_append_new(l.widgets, json_pack("{s:s,s:i,s:i,s:i,s:i,s:{s:s}}", "type", "text", "x",
                                               0, "y", 0, "width", GRID_WIDTH, "height", 1,
                                               "properties", "markdown", md));
    add_metric(&l, metric_widget(s, o, "CPU %", cpu, 4, "Average", 0, 0, 1));
    add_metric(&l, metric_widget(s, o, "Memory used %", mem, 1, "Average", 0, o->mem_threshold, 1));
    add_metric(&l, metric_widget(s, o, "Disk used % per mount", disk, 1, "Average", 0,
                                 o->disk_threshold, 1));
    add_metric(&l, metric_widget(s, o, "Swap used %", swap, 1, "Average", 0, 0, 1));
    add_metric(&l, metric_widget(s, o, "Network bytes per period", net, 2, "Sum", 0, 0, 0));
    add_metric(&l, metric_widget(s, o, "Disk I/O per period", dio, 3, "Sum", 0, 0, 0));
    add_metric(&l, metric_widget(s, o, "Group memory used % (AutoScalingGroupName)", mem, 1,
                                 "Average", 1, 0, 1));
    add_metric(
        &l, metric_widget(s, o, "Group CPU % (AutoScalingGroupName)", cpu, 1, "Average", 1, 0, 1));
    add_alarms(&l, o);
    add_logs(&l, o);
    json_t *body = json_pack("{s:s,s:o}", "start", "-PT3H", "widgets", l.widgets);
    char *out = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    return out;
}

void dashboard_name(const char *prefix, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s-%s", prefix, id);
    for (char *c = out; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            *c = '-';
}
