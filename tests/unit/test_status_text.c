/* agent/status_text: the summary `cwagent status` prints for people, from the agent's JSON. */
#include "agent/status_text.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>

#define NOW 1764684000.0 /* 2025-12-02T14:00:00Z */

static void expect_lines(const char *doc, const char *const *want)
{
    char *text = status_text(doc, NOW);
    if (!text) {
        t_fail_at(__FILE__, __LINE__, "no text for %s", doc);
        return;
    }
    for (size_t i = 0; want[i]; i++)
        if (!strstr(text, want[i]))
            t_fail_at(__FILE__, __LINE__, "expected \"%s\" in:\n%s", want[i], text);
    free(text);
}

TEST(a_failing_destination_says_since_when_and_why)
{
    const char *doc =
        "{\"status\":\"running\",\"starttime\":\"2025-12-02T13:00:00Z\",\"configstatus\":"
        "\"configured\",\"version\":\"0.1.0\",\"pid\":42,\"region\":\"eu-west-1\","
        "\"credentials\":{\"source\":\"imds\",\"access_key_id\":\"ASIA****ABCD\",\"expiration\":"
        "1764687600.0,\"failures\":0,\"last_error\":\"\"},"
        "\"metrics\":{\"datums_sent\":10,\"datums_queued\":3,\"datums_rejected\":1,"
        "\"datums_dropped\":0,\"flushes\":5,\"spool\":{\"entries\":2,\"bytes\":2048,"
        "\"dropped_full\":0,\"dropped_expired\":4,\"corrupt\":0},\"api\":{\"calls\":9,\"attempts\":"
        "20,\"retries\":11,\"throttled\":0,\"failures\":0,\"credential_refreshes\":0,"
        "\"last_error\":\"TLS: SSL certificate problem\",\"last_success\":1764683400.0,"
        "\"failing_since\":1764683700.0,\"failing_attempts\":11},\"statsd\":{\"listening\":true,"
        "\"port\":8125,\"rcvbuf\":0,\"datagrams\":9,\"received\":12,\"refused\":2,\"insecure\":0,"
        "\"kernel_drops\":3,\"truncated\":0,\"series_dropped\":0,\"datums_failed\":0}},"
        "\"logs\":{\"events_read\":5,\"events_sent\":5,\"bytes_sent\":100,\"rejected_too_old\":1,"
        "\"rejected_too_new\":0,\"rejected_by_service\":0,\"dropped_invalid\":0,"
        "\"groups_created\":1,\"destinations\":1,\"files\":[{\"path\":\"/var/log/a.log\","
        "\"committed\":100,\"read\":100,\"size\":100,\"lag_bytes\":0,\"open\":true},{\"path\":"
        "\"/var/log/b.log\",\"committed\":1024,\"read\":2048,\"size\":4096,\"lag_bytes\":3072,"
        "\"open\":false}],\"api\":{\"calls\":3,\"retries\":0,\"throttled\":0,\"failures\":0,"
        "\"last_error\":\"\",\"last_success\":1764683997.0,\"failing_since\":0,"
        "\"failing_attempts\":0}}}";
    static const char *const want[] = {
        "cwagent 0.1.0 running since 2025-12-02T13:00:00Z (up 60 min), pid 42, region eu-west-1",
        "credentials   imds, key ASIA****ABCD, expire in 60 min",
        "metrics       FAILING for 5 min (11 attempts), retrying: TLS: SSL certificate problem; "
        "last accepted 10 min ago",
        "10 datums sent, 1 rejected, 0 dropped; spool: 2 batches (2.0 KiB), 4 batches dropped "
        "(full 0, older than 14 days 4, corrupt 0)",
        "statsd on port 8125: 12 received, 2 refused, dropped: 3 by the kernel, 0 truncated",
        "logs          shipping: last accepted 3 s ago",
        "5 events sent (100 B) to 1 streams, 0 refused by CloudWatch, 1 too old/new not sent",
        "files (2)",
        "  /var/log/a.log  up to date (100 B)",
        "  /var/log/b.log  3.0 KiB behind (committed 1.0 KiB of 4.0 KiB), not open",
        NULL};
    expect_lines(doc, want);
}

TEST(stopped_and_idle_documents_and_garbage)
{
    static const char *const stopped[] = {"cwagent 0.1.0 stopped (not configured)\n", NULL};
    expect_lines("{\"status\":\"stopped\",\"starttime\":\"\",\"configstatus\":\"not configured\","
                 "\"version\":\"0.1.0\"}",
                 stopped);
    static const char *const idle[] = {"metrics       idle: nothing sent yet",
                                       "credentials   none yet\n", NULL};
    expect_lines("{\"status\":\"running\",\"version\":\"0.1.0\",\"credentials\":{},"
                 "\"metrics\":{\"api\":{\"calls\":0}}}",
                 idle);
    T_CHECK(status_text("not json", NOW) == NULL);
    T_CHECK(status_text("[1,2]", NOW) == NULL);
    T_CHECK(status_text("{\"status\":3}", NOW) == NULL);
}

T_MAIN("status_text", T_CASE(a_failing_destination_says_since_when_and_why),
       T_CASE(stopped_and_idle_documents_and_garbage))
