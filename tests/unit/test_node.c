/* test_node — the node_exporter-compatible reader (collectors/node.c) on a hand-written fixture
 * tree (tests/fixtures/node), rendered by agent/prom_text.c and compared line by line with
 * tests/fixtures/node/expected.prom, whose values were computed by hand from the fixture:
 * ticks / 100 for cpu seconds, kB x 1024, sectors x 512, ms / 1000, pressure us / 1e6, statfs
 * blocks x f_bsize. Plus the text format's escaping and number formatting. */
#include "agent/prom_text.h"
#include "collectors/node.h"
#include "tests/unit/t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* statfs seam: "/" and "/run" and "/data disk" answer, everything else fails. */
static int fake_statfs(void *ud, const char *path, struct collectors_statfs *out)
{
    const char *root = ud;
    size_t rl = strlen(root);
    if (strncmp(path, root, rl) != 0)
        return -1;
    const char *mp = path + rl;
    memset(out, 0, sizeof *out);
    out->frsize = 4096;
    if (strcmp(mp, "/") == 0) {
        out->blocks = 1000, out->bfree = 400, out->bavail = 300, out->files = 100, out->ffree = 50;
        return 0;
    }
    if (strcmp(mp, "/run") == 0) {
        out->blocks = 10, out->bfree = 10, out->bavail = 10, out->files = 5, out->ffree = 5;
        return 0;
    }
    if (strcmp(mp, "/data disk") == 0) {
        out->frsize = 512;
        out->blocks = 8, out->bfree = 4, out->bavail = 2, out->files = 3, out->ffree = 1;
        return 0;
    }
    return -1;
}

/* Renders one round of the fixture, without node_uname_info (it comes from the running kernel). */
static char *render_fixture(size_t *nseries)
{
    char *root = t_repo_path("tests/fixtures/node");
    struct node_reader *r = node_reader_new(root, fake_statfs, root);
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    struct prom_text w;
    prom_text_init(&w, &b);
    *nseries = node_reader_round(r, 1700000123456, prom_text_emit, &w);
    node_reader_free(r);
    free(root);
    char *text = cw_buf_detach(&b, NULL);
    char *u = strstr(text, "# HELP node_uname_info");
    if (u)
        *u = '\0';
    return text;
}

TEST(fixture_round_matches_expected)
{
    if (sysconf(_SC_CLK_TCK) != 100) {
        t_skip("USER_HZ is not 100 here");
        return;
    }
    size_t n;
    char *got = render_fixture(&n);
    char *path = t_repo_path("tests/fixtures/node/expected.prom");
    char *want = t_read_file(path, NULL);
    free(path);
    T_ASSERT(want != NULL);
    if (getenv("CW_NODE_DUMP"))
        fputs(got, stdout);
    /* report the first differing line */
    const char *g = got, *w = want;
    int line = 1;
    while (*g && *w) {
        const char *ge = strchr(g, '\n'), *we = strchr(w, '\n');
        size_t gl = ge ? (size_t)(ge - g) : strlen(g), wl = we ? (size_t)(we - w) : strlen(w);
        if (gl != wl || memcmp(g, w, gl) != 0) {
            t_fail_at(__FILE__, __LINE__, "line %d: expected \"%.*s\", got \"%.*s\"", line, (int)wl,
                      w, (int)gl, g);
            break;
        }
        g += gl + (ge ? 1 : 0);
        w += wl + (we ? 1 : 0);
        line++;
    }
    if (!t_failed() && (*g || *w))
        t_fail_at(__FILE__, __LINE__, "length differs at line %d: extra %s", line,
                  *g ? "output" : "expected lines");
    T_CHECK(n > 100);
    free(got);
    free(want);
}

TEST(missing_root_emits_only_time_and_uname)
{
    struct node_reader *r = node_reader_new("/nonexistent/cwagent-node", NULL, NULL);
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    struct prom_text w;
    prom_text_init(&w, &b);
    size_t n = node_reader_round(r, 1000, prom_text_emit, &w);
    node_reader_free(r);
    T_EQ_INT(n, 2);
    T_CHECK(strstr(b.data, "node_time_seconds 1\n") != NULL);
    T_CHECK(strstr(b.data, "node_uname_info{domainname=") != NULL);
    cw_buf_free(&b);
}

TEST(text_escaping_and_values)
{
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    struct prom_text w;
    prom_text_init(&w, &b);
    struct node_label l[1] = {{"mountpoint", "/a\"b\\c\nd"}};
    struct node_series s = {"node_x", "Help with \\ and\nnewline.", NODE_GAUGE, l, 1, 0.1};
    prom_text_series(&w, &s);
    s.value = 1e21;
    prom_text_series(&w, &s);
    s.value = NAN;
    s.nlabels = 0;
    prom_text_series(&w, &s);
    const char *want = "# HELP node_x Help with \\\\ and\\nnewline.\n"
                       "# TYPE node_x gauge\n"
                       "node_x{mountpoint=\"/a\\\"b\\\\c\\nd\"} 0.1\n"
                       "node_x{mountpoint=\"/a\\\"b\\\\c\\nd\"} 1e+21\n"
                       "node_x NaN\n";
    if (strcmp(b.data, want) != 0)
        t_fail_at(__FILE__, __LINE__, "expected:\n%s\ngot:\n%s", want, b.data);
    char v[48];
    prom_text_value(1631.78, v, sizeof v);
    T_CHECK(strcmp(v, "1631.78") == 0);
    prom_text_value(0.1 + 0.2, v, sizeof v);
    T_CHECK(strcmp(v, "0.30000000000000004") == 0);
    prom_text_value(-INFINITY, v, sizeof v);
    T_CHECK(strcmp(v, "-Inf") == 0);
    prom_text_value(2.70553174016e+11, v, sizeof v);
    T_CHECK(strcmp(v, "270553174016") == 0);
    cw_buf_free(&b);
}

TEST(page_cap_is_reported)
{
    struct cw_buf b;
    cw_buf_init(&b, 200);
    struct prom_text w;
    prom_text_init(&w, &b);
    char *root = t_repo_path("tests/fixtures/node");
    struct node_reader *r = node_reader_new(root, fake_statfs, root);
    node_reader_round(r, 0, prom_text_emit, &w);
    node_reader_free(r);
    free(root);
    T_CHECK(prom_text_failed(&w));
    T_CHECK(b.len <= 200);
    cw_buf_free(&b);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(fixture_round_matches_expected),
        T_CASE(missing_root_emits_only_time_and_uname),
        T_CASE(text_escaping_and_values),
        T_CASE(page_cap_is_reported),
    };
    return t_run("test_node", cases, sizeof cases / sizeof cases[0], argc, argv);
}
