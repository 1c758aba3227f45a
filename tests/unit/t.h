/* t — the unit-test harness. A test file defines test functions with TEST(name) and lists them
 * in a table with T_LIST; the harness runs each and prints one line per case:
 *   PASS <file>.<case>      FAIL <file>.<case>: <what was expected and what came>
 *   SKIP <file>.<case>: <reason>
 * tests/run.sh counts these lines. Checks report and continue; a case fails if any check failed.
 *
 * Environment for tests: CW_REPO (repo root; vendored reference data under
 * tests/fixtures/reference), CWAGENT (the binary).
 */
#ifndef CW_T_H
#define CW_T_H

#include <stddef.h>
#include <string.h>

struct t_case {
    const char *name;
    void (*fn)(void);
};

#define TEST(name) static void name(void)
#define T_CASE(name)                                                                               \
    {                                                                                              \
#name, name                                                                                \
    }

/* Runs the cases; returns the exit status for main(). Optional argv[1] filters by substring. */
int t_run(const char *suite, const struct t_case *cases, size_t n, int argc, char **argv);

void t_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int t_failed(void);

/* Returns a path under $CW_REPO/tests/fixtures (rel starts with "reference/" for the vendored
 * reference data) or under $CW_REPO; the caller frees the malloc'd string. */
char *t_reference_path(const char *rel);
char *t_repo_path(const char *rel);
/* Reads a whole file (malloc'd, NUL-terminated); NULL on error. */
char *t_read_file(const char *path, size_t *len);

#define T_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            t_fail_at(__FILE__, __LINE__, "check failed: %s", #cond);                              \
    } while (0)

#define T_ASSERT(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            t_fail_at(__FILE__, __LINE__, "assertion failed: %s", #cond);                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define T_EQ_INT(got, want)                                                                        \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_)                                                                              \
            t_fail_at(__FILE__, __LINE__, "%s: expected %lld, got %lld", #got, w_, g_);            \
    } while (0)

#define T_EQ_DBL(got, want, tol)                                                                   \
    do {                                                                                           \
        double g_ = (double)(got), w_ = (double)(want);                                            \
        if (!(g_ - w_ <= (tol) && w_ - g_ <= (tol)))                                               \
            t_fail_at(__FILE__, __LINE__, "%s: expected %.17g (±%g), got %.17g", #got, w_,         \
                      (double)(tol), g_);                                                          \
    } while (0)

#define T_EQ_STR(got, want)                                                                        \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!g_ || !w_ || strcmp(g_, w_) != 0)                                                     \
            t_fail_at(__FILE__, __LINE__, "%s:\n  expected: \"%s\"\n  got:      \"%s\"", #got,     \
                      w_ ? w_ : "(null)", g_ ? g_ : "(null)");                                     \
    } while (0)

#define T_MAIN(suite, ...)                                                                         \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct t_case cases_[] = {__VA_ARGS__};                                       \
        return t_run(suite, cases_, sizeof cases_ / sizeof cases_[0], argc, argv);                 \
    }

#endif
