/* EMF documents: routing, checks and the split of directives over 100 metrics
 * (logtail/emf.h lt_emf_parse), and the listener over loopback TCP and UDP. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "logtail/emf.h"
#include "t.h"

#define NOW 1700000000000LL

static int parse(const char *doc, struct lt_emf_doc *d, char *why, char *inv)
{
    return lt_emf_parse(doc, strlen(doc), "dflt", NOW, d, why, 256, inv, 256);
}

TEST(routing_by_aws_names_older_keys_and_default_stream)
{
    struct lt_emf_doc d;
    char why[256], inv[256];
    const char *a = "{\"_aws\":{\"LogGroupName\":\"g\",\"LogStreamName\":\"s\",\"Timestamp\":5,"
                    "\"CloudWatchMetrics\":[]}}";
    T_ASSERT(parse(a, &d, why, inv) == 0);
    T_EQ_STR(d.group, "g");
    T_EQ_STR(d.stream, "s");
    T_EQ_INT(d.timestamp_ms, 5);
    T_EQ_INT(d.n_parts, 1);
    T_EQ_STR(d.parts[0], a); /* verbatim */
    T_EQ_STR(inv, "");
    lt_emf_doc_free(&d);
    T_ASSERT(parse("{\"_aws\":{\"logGroupName\":\"g2\",\"Timestamp\":1,\"CloudWatchMetrics\":[]}}",
                   &d, why, inv) == 0);
    T_EQ_STR(d.group, "g2"); /* Go's case-insensitive decoding */
    T_EQ_STR(d.stream, "dflt");
    lt_emf_doc_free(&d);
    T_ASSERT(parse("{\"log_group_name\":\"old\",\"log_stream_name\":\"os\",\"v\":1}", &d, why,
                   inv) == 0);
    T_EQ_STR(d.group, "old");
    T_EQ_STR(d.stream, "os");
    T_EQ_INT(d.timestamp_ms, NOW); /* no _aws.Timestamp: time of receipt */
    T_EQ_STR(inv, "");             /* a structured log, not EMF */
    lt_emf_doc_free(&d);
}

TEST(refused_documents_say_why)
{
    struct lt_emf_doc d;
    char why[256], inv[256];
    T_CHECK(parse("{\"_aws\":{\"Timestamp\":1}}", &d, why, inv) == -1);
    T_CHECK(strstr(why, "no log group") != NULL);
    T_CHECK(parse("[1,2]", &d, why, inv) == -1);
    T_CHECK(strstr(why, "not a JSON object") != NULL);
    T_CHECK(parse("{\"a\":", &d, why, inv) == -1);
    T_CHECK(strstr(why, "not a JSON object") != NULL);
    T_CHECK(parse("{\"log_group_name\":\"a b\"}", &d, why, inv) == -1);
    T_CHECK(strstr(why, "invalid log group name \"a b\"") != NULL);
    T_CHECK(parse("{\"log_group_name\":\"ok\",\"log_stream_name\":\"x:y\"}", &d, why, inv) == -1);
    T_CHECK(strstr(why, "invalid log stream name \"x:y\"") != NULL);
}

TEST(invalid_emf_is_sent_with_a_reason)
{
    static const struct {
        const char *doc, *reason;
    } cases[] = {
        {"{\"_aws\":{\"LogGroupName\":\"g\",\"CloudWatchMetrics\":[]}}", "Timestamp"},
        {"{\"_aws\":{\"LogGroupName\":\"g\",\"Timestamp\":1}}", "CloudWatchMetrics is not"},
        {"{\"_aws\":{\"LogGroupName\":\"g\",\"Timestamp\":1,\"CloudWatchMetrics\":[{"
         "\"Dimensions\":[],\"Metrics\":[]}]}}",
         "Namespace"},
        {"{\"_aws\":{\"LogGroupName\":\"g\",\"Timestamp\":1,\"CloudWatchMetrics\":[{"
         "\"Namespace\":\"n\",\"Dimensions\":[[1]],\"Metrics\":[]}]}}",
         "Dimensions[0][0]"},
        {"{\"_aws\":{\"LogGroupName\":\"g\",\"Timestamp\":1,\"CloudWatchMetrics\":[{"
         "\"Namespace\":\"n\",\"Dimensions\":[],\"Metrics\":[{\"Unit\":\"Count\"}]}]}}",
         "Metrics[0] has no Name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lt_emf_doc d;
        char why[256], inv[256];
        if (parse(cases[i].doc, &d, why, inv) != 0) {
            t_fail_at(__FILE__, __LINE__, "case %zu refused: %s", i, why);
            continue;
        }
        if (!strstr(inv, cases[i].reason))
            t_fail_at(__FILE__, __LINE__, "case %zu: reason \"%s\", want \"%s\"", i, inv,
                      cases[i].reason);
        T_EQ_INT(d.n_parts, 1);
        lt_emf_doc_free(&d);
    }
}

/* A document with `n` metrics in directive A and 3 in directive B. */
static char *big_doc(int n)
{
    json_t *mets = json_array(), *root = json_object();
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", i);
        json_array_append_new(mets, json_pack("{s:s,s:s}", "Name", name, "Unit", "Count"));
        json_object_set_new(root, name, json_integer(i));
    }
    json_t *b = json_pack("[{s:s},{s:s},{s:s}]", "Name", "m0", "Name", "b1", "Name", "b2");
    json_object_set_new(root, "b1", json_integer(-1));
    json_object_set_new(root, "b2", json_integer(-2));
    json_object_set_new(root, "Host", json_string("h"));
    json_object_set_new(root, "Note", json_string("kept"));
    json_t *dirs = json_pack("[{s:s,s:[[s]],s:o},{s:s,s:[],s:o}]", "Namespace", "A", "Dimensions",
                             "Host", "Metrics", mets, "Namespace", "B", "Dimensions", "Metrics", b);
    json_object_set_new(root, "_aws",
                        json_pack("{s:s,s:I,s:o}", "LogGroupName", "g", "Timestamp",
                                  (json_int_t)NOW, "CloudWatchMetrics", dirs));
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

TEST(split_over_100_metrics)
{
    char *s = big_doc(250);
    struct lt_emf_doc d;
    char why[256], inv[256];
    T_ASSERT(parse(s, &d, why, inv) == 0);
    T_EQ_STR(inv, "");
    T_ASSERT(d.n_parts == 3);
    int seen[250] = {0};
    for (size_t k = 0; k < d.n_parts; k++) {
        json_error_t e;
        json_t *r = json_loads(d.parts[k], 0, &e);
        T_ASSERT(r);
        json_t *dirs = json_object_get(json_object_get(r, "_aws"), "CloudWatchMetrics");
        json_t *a = json_array_get(dirs, 0);
        T_EQ_STR(json_string_value(json_object_get(a, "Namespace")), "A");
        size_t n = json_array_size(json_object_get(a, "Metrics"));
        T_EQ_INT(n, k < 2 ? 100 : 50);
        for (size_t i = 0; i < n; i++) {
            const char *name = json_string_value(
                json_object_get(json_array_get(json_object_get(a, "Metrics"), i), "Name"));
            int idx = atoi(name + 1);
            seen[idx]++;
            T_CHECK(json_integer_value(json_object_get(r, name)) == idx); /* value kept */
        }
        /* directive B (3 metrics) only in the first part, its values with it */
        T_EQ_INT(json_array_size(dirs), k == 0 ? 2 : 1);
        T_CHECK((json_object_get(r, "b1") != NULL) == (k == 0));
        /* values of metrics declared in other parts are removed; other members kept */
        T_CHECK((json_object_get(r, "m150") != NULL) == (k == 1));
        T_EQ_STR(json_string_value(json_object_get(r, "Note")), "kept");
        T_EQ_STR(json_string_value(json_object_get(r, "Host")), "h");
        json_decref(r);
    }
    for (int i = 0; i < 250; i++)
        if (seen[i] != 1)
            t_fail_at(__FILE__, __LINE__, "metric m%d in %d parts", i, seen[i]);
    lt_emf_doc_free(&d);
    free(s);
    s = big_doc(100); /* exactly 100: not split, verbatim */
    T_ASSERT(parse(s, &d, why, inv) == 0);
    T_EQ_INT(d.n_parts, 1);
    T_EQ_STR(d.parts[0], s);
    lt_emf_doc_free(&d);
    free(s);
}

static int connect_to(int port, int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Pumps the listener until n events came out (or 200 rounds). */
static int drain(struct lt_emf *e, char out[][128], int n)
{
    int got = 0;
    for (int round = 0; round < 200 && got < n; round++) {
        lt_emf_on_readable(e);
        struct lt_emf_event ev;
        while (got < n && lt_emf_next(e, &ev) == 1)
            snprintf(out[got++], 128, "%s/%s %.*s", ev.group, ev.stream, (int)ev.len, ev.message);
        usleep(5000);
    }
    return got;
}

TEST(listener_tcp_lines_and_udp_datagrams)
{
    char err[256];
    struct lt_emf_options o = {0};
    o.tcp = "127.0.0.1:0";
    o.udp = "127.0.0.1:0";
    o.default_stream = "d";
    struct lt_emf *e = lt_emf_new(&o, err, sizeof err);
    if (!e) {
        t_skip("cannot listen on loopback: %s", err);
        return;
    }
    int tfd = connect_to(lt_emf_port(e, false), SOCK_STREAM);
    int ufd = connect_to(lt_emf_port(e, true), SOCK_DGRAM);
    T_ASSERT(tfd >= 0 && ufd >= 0);
    const char *part1 = "{\"log_group_name\":\"g\",\"n\":1}\r\n{\"log_group_na";
    const char *part2 = "me\":\"g\",\"n\":2}\nnot json\n\n{\"log_group_name\":\"g\",\"n\":3}";
    T_CHECK(write(tfd, part1, strlen(part1)) == (ssize_t)strlen(part1));
    char out[8][128];
    T_EQ_INT(drain(e, out, 1), 1);
    T_CHECK(write(tfd, part2, strlen(part2)) == (ssize_t)strlen(part2));
    close(tfd); /* the last line has no newline: taken at close */
    const char *dg = "{\"log_group_name\":\"u\",\"log_stream_name\":\"us\"}\n";
    T_CHECK(send(ufd, dg, strlen(dg), 0) == (ssize_t)strlen(dg));
    int got = 1 + drain(e, out + 1, 3);
    T_EQ_INT(got, 4);
    T_EQ_STR(out[0], "g/d {\"log_group_name\":\"g\",\"n\":1}");
    int tcp2 = 0, tcp3 = 0, udp = 0;
    for (int i = 1; i < got; i++) {
        tcp2 += strcmp(out[i], "g/d {\"log_group_name\":\"g\",\"n\":2}") == 0;
        tcp3 += strcmp(out[i], "g/d {\"log_group_name\":\"g\",\"n\":3}") == 0;
        udp += strcmp(out[i], "u/us {\"log_group_name\":\"u\",\"log_stream_name\":\"us\"}") == 0;
    }
    T_CHECK(tcp2 == 1 && tcp3 == 1 && udp == 1);
    struct lt_emf_stats st;
    lt_emf_stats(e, &st);
    T_EQ_INT(st.received, 5);
    T_EQ_INT(st.not_json, 1);
    T_EQ_INT(st.events, 4);
    close(ufd);
    lt_emf_free(e);
}

TEST(bad_address_is_refused)
{
    char err[256];
    struct lt_emf_options o = {0};
    o.tcp = "127.0.0.1";
    T_CHECK(lt_emf_new(&o, err, sizeof err) == NULL);
    T_CHECK(strstr(err, "host:port") != NULL);
    o.tcp = "256.1.1.1:80";
    T_CHECK(lt_emf_new(&o, err, sizeof err) == NULL);
    T_CHECK(strstr(err, "tcp://256.1.1.1:80") != NULL);
}

T_MAIN("test_emf", T_CASE(routing_by_aws_names_older_keys_and_default_stream),
       T_CASE(refused_documents_say_why), T_CASE(invalid_emf_is_sent_with_a_reason),
       T_CASE(split_over_100_metrics), T_CASE(listener_tcp_lines_and_udp_datagrams),
       T_CASE(bad_address_is_refused))
