/* Unit tests for agent/retry: classification of real CloudWatch (query XML), CloudWatch Logs
 * (JSON __type) and STS errors, backoff bounds with a fixed random source, the decision rules
 * (once-only auth refresh, immediate first skew retry, max attempts), HTTP dates, clock skew. */
#include "agent/retry.h"
#include "tests/unit/t.h"

#include <stdint.h>

struct class_case {
    enum cw_http_error err;
    long status;
    const char *code;
    const char *message;
    enum cw_retry_class want;
};

static const struct class_case class_cases[] = {
    /* CloudWatch, query protocol (<Error><Code>) */
    {CW_HTTP_OK, 200, NULL, NULL, CW_RETRY_SUCCESS},
    {CW_HTTP_OK, 400, "Throttling", "Rate exceeded", CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 400, "InvalidParameterValue", "bad value", CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "MissingParameter", "x", CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "InvalidParameterCombination", "x", CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 500, "InternalServiceError", "x", CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 500, "InternalFailure", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 503, "ServiceUnavailable", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 400, "ThrottlingException", NULL, CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 403, "InvalidClientTokenId",
     "The security token included in the request is invalid.", CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 403, "SignatureDoesNotMatch",
     "The request signature we calculated does not match the signature you provided.",
     CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 403, "SignatureDoesNotMatch",
     "Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z (20260101T001500Z - "
     "15 min.)",
     CW_RETRY_CLOCK_SKEW},
    {CW_HTTP_OK, 403, "ExpiredToken", "The security token included in the request is expired",
     CW_RETRY_REFRESH_CREDENTIALS},
    {CW_HTTP_OK, 400, "RequestExpired", "Request has expired.", CW_RETRY_CLOCK_SKEW},
    {CW_HTTP_OK, 403, "IncompleteSignature", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, "MissingAuthenticationToken", NULL, CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 400, "AccessDeniedException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, "AccessDenied", "not authorized", CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "ValidationError", NULL, CW_RETRY_PERMANENT},
    /* CloudWatch Logs, awsJson1_1 (__type, possibly qualified) */
    {CW_HTTP_OK, 400, "ThrottlingException", "Rate exceeded", CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 400, "com.amazonaws.logs#ThrottlingException", NULL, CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 400, "ResourceNotFoundException", "The specified log group does not exist.",
     CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "InvalidParameterException",
     "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
     CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "DataAlreadyAcceptedException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "InvalidSequenceTokenException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "ResourceAlreadyExistsException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "LimitExceededException", NULL, CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 400, "OperationAbortedException", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 500, "ServiceUnavailableException", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 500, "InternalServerException:http://internal.amazon.com/coral/com.amazon.x/",
     NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 400, "UnrecognizedClientException",
     "The security token included in the request is invalid.", CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 400, "InvalidSignatureException",
     "Signature expired: 20260101T000000Z is now earlier", CW_RETRY_CLOCK_SKEW},
    {CW_HTTP_OK, 400, "InvalidSignatureException",
     "The request signature we calculated does not match", CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 400, "ExpiredTokenException",
     "The security token included in the request is expired", CW_RETRY_REFRESH_CREDENTIALS},
    {CW_HTTP_OK, 400, "ValidationException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, "MissingAuthenticationTokenException", NULL, CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 400, "aws.protocoltests#ThrottlingException:http://x", NULL, CW_RETRY_THROTTLE},
    /* STS */
    {CW_HTTP_OK, 400, "ExpiredTokenException", "Token expired", CW_RETRY_REFRESH_CREDENTIALS},
    {CW_HTTP_OK, 400, "IDPCommunicationError", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 400, "InvalidIdentityToken", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, "IDPRejectedClaim", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, "RegionDisabledException", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "MalformedPolicyDocument", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 400, "RequestTimeTooSkewed", NULL, CW_RETRY_CLOCK_SKEW},
    /* Status only (no parsable body) and unknown codes */
    {CW_HTTP_OK, 204, NULL, NULL, CW_RETRY_SUCCESS},
    {CW_HTTP_OK, 200, "Throttling", NULL, CW_RETRY_SUCCESS}, /* 2xx wins */
    {CW_HTTP_OK, 429, NULL, NULL, CW_RETRY_THROTTLE},
    {CW_HTTP_OK, 500, "", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 502, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 504, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 503, "SomethingNew", NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 408, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_OK, 400, NULL, NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 404, NULL, NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 403, NULL, NULL, CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 401, "", NULL, CW_RETRY_AUTH_INVALID},
    {CW_HTTP_OK, 400, "SomethingNew", NULL, CW_RETRY_PERMANENT},
    {CW_HTTP_OK, 301, NULL, NULL, CW_RETRY_PERMANENT},
    /* Transport outcomes */
    {CW_HTTP_ETIMEDOUT, 0, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_ECONNECT, 0, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_ECONNRESET, 0, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_EOTHER, 0, NULL, NULL, CW_RETRY_TRANSIENT},
    {CW_HTTP_ETOOBIG, 0, NULL, NULL, CW_RETRY_PERMANENT},
};

TEST(classification_table_of_real_error_codes)
{
    size_t n = sizeof class_cases / sizeof class_cases[0];
    for (size_t i = 0; i < n; i++) {
        const struct class_case *c = &class_cases[i];
        struct cw_retry_input in = {c->err, c->status, c->code, c->message};
        enum cw_retry_class got = cw_retry_classify(&in);
        if (got != c->want)
            t_fail_at(__FILE__, __LINE__, "case %zu (%ld %s): expected %s, got %s", i, c->status,
                      c->code ? c->code : "-", cw_retry_class_name(c->want),
                      cw_retry_class_name(got));
    }
}

TEST(json_error_types_are_normalised)
{
    char out[64];
    T_EQ_STR(cw_retry_normalize_code("FooError", out, sizeof out), "FooError");
    T_EQ_STR(
        cw_retry_normalize_code("FooError:http://internal.amazon.com/coral/x", out, sizeof out),
        "FooError");
    T_EQ_STR(cw_retry_normalize_code("aws.protocoltests.restjson#FooError", out, sizeof out),
             "FooError");
    T_EQ_STR(cw_retry_normalize_code("ns#FooError:http://x/y#z", out, sizeof out), "FooError");
    T_EQ_STR(cw_retry_normalize_code(NULL, out, sizeof out), "");
    T_EQ_STR(cw_retry_normalize_code("LongerThanBuffer", out, 7), "Longer");
    T_EQ_STR(cw_retry_class_name(CW_RETRY_CLOCK_SKEW), "clock_skew");
}

static struct cw_http_response error_resp(long status, const char *body, const char *const *hdrs)
{
    struct cw_http_response r = {.status = status,
                                 .error = CW_HTTP_OK,
                                 .body = body,
                                 .body_len = strlen(body),
                                 .headers = hdrs};
    for (r.nheaders = 0; hdrs && hdrs[r.nheaders]; r.nheaders++)
        ;
    return r;
}

TEST(error_codes_are_parsed_from_xml_json_and_headers)
{
    char code[64], msg[256];
    /* CloudWatch query XML (notes §1.6) */
    struct cw_http_response r = error_resp(
        400,
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\n"
        "  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
        "exceeded</Message></Error>\n"
        "  <RequestId>2f85f68d-980b-11e7-a296-21716fd2d2e3</RequestId>\n</ErrorResponse>",
        NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), 0);
    T_EQ_STR(code, "Throttling");
    T_EQ_STR(msg, "Rate exceeded");
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_THROTTLE);
    /* STS XML */
    r = error_resp(400,
                   "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                   "<Type>Sender</Type><Code>ExpiredTokenException</Code><Message>Token expired"
                   "</Message></Error><RequestId>x</RequestId></ErrorResponse>",
                   NULL);
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_REFRESH_CREDENTIALS);
    /* Logs JSON, qualified __type */
    r = error_resp(400,
                   "{\"__type\":\"com.amazonaws.logs#InvalidSignatureException\",\"message\":"
                   "\"Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z\"}",
                   NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), 0);
    T_EQ_STR(code, "InvalidSignatureException");
    T_CHECK(strncmp(msg, "Signature expired", 17) == 0);
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_CLOCK_SKEW);
    /* CloudWatch JSON with the query-compatible header: the header's code wins. */
    const char *qh[] = {"x-amzn-query-error: InvalidParameterValue;Sender", NULL};
    r = error_resp(400, "{\"__type\":\"InvalidParameterValueException\",\"Message\":\"bad\"}", qh);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), 0);
    T_EQ_STR(code, "InvalidParameterValue");
    T_EQ_STR(msg, "bad");
    /* Only X-Amzn-ErrorType */
    const char *eh[] = {"X-Amzn-ErrorType: ThrottlingException:http://internal.amazon.com/", NULL};
    r = error_resp(400, "", eh);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), 0);
    T_EQ_STR(code, "ThrottlingException");
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_THROTTLE);
    /* Nothing to find: the status decides. */
    r = error_resp(502, "<html>Bad Gateway</html>", NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), -1);
    T_EQ_STR(code, "");
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_TRANSIENT);
    r = error_resp(400, "{not json", NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), -1);
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_PERMANENT);
    /* Truncated XML (no closing tag) finds nothing; a tiny code buffer truncates. */
    r = error_resp(400, "<Error><Code>Throttling", NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), -1);
    r = error_resp(400, "<Code>Throttling</Code>", NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, 5, msg, sizeof msg), 0);
    T_EQ_STR(code, "Thro");
    /* XML entities in messages are decoded. */
    r = error_resp(400,
                   "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>"
                   "<Message>The value &lt;NaN&gt; &amp; more</Message></Error></ErrorResponse>",
                   NULL);
    T_EQ_INT(cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg), 0);
    T_EQ_STR(msg, "The value <NaN> & more");
    /* Success responses are not parsed. */
    r = error_resp(200, "<Code>Throttling</Code>", NULL);
    T_EQ_INT(cw_retry_classify_response(&r), CW_RETRY_SUCCESS);
}

static uint64_t rand_fixed(void *ud)
{
    return *(uint64_t *)ud;
}

TEST(backoff_doubles_is_capped_and_jitter_stays_in_bounds)
{
    uint64_t r = 0;
    struct cw_retry_policy p;
    cw_retry_policy_init(&p);
    T_EQ_INT(p.transient_base_ms, 200);
    T_EQ_INT(p.throttle_base_ms, 1000);
    T_EQ_INT(p.cap_ms, 60000);
    p.rand = rand_fixed;
    p.rand_ud = &r;
    /* Equal jitter: r = 0 gives the lower bound d - d/2, r = max the upper bound d. */
    long lo[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    for (unsigned n = 0; n < 11; n++) {
        r = 0;
        T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_TRANSIENT, n), lo[n]);
        r = UINT64_MAX - 1; /* ≡ d/2 modulo d/2 + 1 only by luck: check the bounds instead */
        long v = cw_retry_backoff_ms(&p, CW_RETRY_TRANSIENT, n);
        T_CHECK(v >= lo[n] && v <= 2 * lo[n]);
    }
    r = 100; /* d/2 = 100 for n = 0: 100 % 101 = 100 → upper bound 200 */
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_TRANSIENT, 0), 200);
    /* Throttling starts at 1 s; huge exponents stay at the cap without overflow. */
    r = 0;
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 0), 500);
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 3), 4000);
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 1000), 30000);
    r = 30000;
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 1000), 60000);
    /* Full jitter: [0, d]. */
    p.jitter = CW_RETRY_JITTER_FULL;
    r = 0;
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 2), 0);
    r = 4000;
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 2), 4000);
    r = 4001;
    T_EQ_INT(cw_retry_backoff_ms(&p, CW_RETRY_THROTTLE, 2), 0);
    /* The default random source stays in bounds too. */
    p.rand = NULL;
    for (int i = 0; i < 100; i++) {
        long v = cw_retry_backoff_ms(&p, CW_RETRY_TRANSIENT, 20);
        T_ASSERT(v >= 0 && v <= 60000);
    }
}

TEST(decisions_follow_the_class_rules)
{
    uint64_t r = 0;
    struct cw_retry_policy p;
    cw_retry_policy_init(&p);
    p.rand = rand_fixed;
    p.rand_ud = &r;
    struct cw_retry_state s;
    struct cw_retry_decision d;

    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_SUCCESS, &d);
    T_EQ_INT(d.action, CW_RETRY_DONE);

    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_PERMANENT, &d);
    T_EQ_INT(d.action, CW_RETRY_GIVE_UP);

    /* Transient backoff grows with each retry, shared across classes. */
    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_TRANSIENT, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    T_EQ_INT(d.delay_ms, 100);
    cw_retry_decide(&p, &s, CW_RETRY_TRANSIENT, &d);
    T_EQ_INT(d.delay_ms, 200);
    cw_retry_decide(&p, &s, CW_RETRY_THROTTLE, &d);
    T_EQ_INT(d.delay_ms, 2000); /* 1000·2^2, lower bound */
    T_EQ_INT(s.attempts, 3);

    /* Auth errors: refresh and retry at once, the second time it is permanent. */
    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_AUTH_INVALID, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    T_EQ_INT(d.refresh_credentials, 1);
    T_EQ_INT(d.delay_ms, 0);
    cw_retry_decide(&p, &s, CW_RETRY_AUTH_INVALID, &d);
    T_EQ_INT(d.action, CW_RETRY_GIVE_UP);
    T_EQ_INT(d.cls, CW_RETRY_PERMANENT);

    /* Expired tokens: refresh every time; the first retry is immediate, later ones back off. */
    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_REFRESH_CREDENTIALS, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    T_EQ_INT(d.refresh_credentials, 1);
    T_EQ_INT(d.delay_ms, 0);
    cw_retry_decide(&p, &s, CW_RETRY_REFRESH_CREDENTIALS, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    T_EQ_INT(d.refresh_credentials, 1);
    T_EQ_INT(d.delay_ms, 100);

    /* Clock skew: correct and retry at once; again → correct and back off. */
    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_CLOCK_SKEW, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    T_EQ_INT(d.correct_clock, 1);
    T_EQ_INT(d.delay_ms, 0);
    T_EQ_INT(d.refresh_credentials, 0);
    cw_retry_decide(&p, &s, CW_RETRY_CLOCK_SKEW, &d);
    T_EQ_INT(d.correct_clock, 1);
    T_EQ_INT(d.delay_ms, 100);

    /* max_attempts counts the first attempt. */
    p.max_attempts = 3;
    cw_retry_state_init(&s);
    cw_retry_decide(&p, &s, CW_RETRY_TRANSIENT, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    cw_retry_decide(&p, &s, CW_RETRY_THROTTLE, &d);
    T_EQ_INT(d.action, CW_RETRY_AGAIN);
    cw_retry_decide(&p, &s, CW_RETRY_TRANSIENT, &d);
    T_EQ_INT(d.action, CW_RETRY_GIVE_UP);
    T_EQ_INT(d.cls, CW_RETRY_TRANSIENT);
}

TEST(http_dates_parse_and_bad_ones_fail)
{
    struct {
        const char *s;
        int64_t want;
    } good[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Mon, 23 Nov 2026 12:00:00 GMT", 1795435200},
        {"Thu, 29 Feb 2024 23:59:59 GMT", 1709251199},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
        {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
        {"  Sun, 06 Nov 1994 08:49:37 GMT\r\n", 784111777},
        {"Wed, 31 Dec 2008 23:59:60 GMT", 1230767999}, /* leap second */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t t = -1;
        T_EQ_INT(cw_retry_parse_http_date(good[i].s, &t), 0);
        T_EQ_INT(t, good[i].want);
    }
    const char *bad[] = {
        "",
        "garbage",
        NULL,
        "Sun, 06 Nov 1994 08:49:37",      /* no zone */
        "Sun, 06 Nov 1994 08:49:37 PST",  /* not GMT */
        "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 */
        "Sun Nov  6 08:49:37 1994",       /* asctime */
        "Sun, 6 Nov 1994 08:49:37 GMT",   /* one-digit day */
        "Sun, 06 Foo 1994 08:49:37 GMT",  /* month */
        "Xyz, 06 Nov 1994 08:49:37 GMT",  /* weekday */
        "Fri, 30 Feb 2024 00:00:00 GMT",  /* no such day */
        "Sat, 29 Feb 2025 00:00:00 GMT",  /* not a leap year */
        "Sun, 00 Nov 1994 08:49:37 GMT",  /* day 0 */
        "Sun, 06 Nov 1994 24:00:00 GMT",  /* hour */
        "Sun, 06 Nov 1994 08:60:00 GMT",  /* minute */
        "Sun, 06 Nov 1994 08:49:61 GMT",  /* second */
        "Sun, 06 Nov 1994 08:49:37 GMTx", /* trailing junk */
        "Sun, 06 Nov 94 08:49:37 GMT",    /* two-digit year */
        "Sun, 06 Nov 1994 8:49:37 GMT",   /* one-digit hour */
        "Sun, 06 Nov 1994 08:49:3",       /* truncated */
        "Sun, 06 Nov -994 08:49:37 GMT",  /* sign */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        if (cw_retry_parse_http_date(bad[i], &t) != -1 || t != 42)
            t_fail_at(__FILE__, __LINE__, "bad date %zu \"%s\" was accepted", i,
                      bad[i] ? bad[i] : "(null)");
    }
}

TEST(clock_skew_is_measured_from_the_date_header)
{
    struct cw_clock_skew k;
    cw_clock_skew_init(&k);
    int64_t server_ms = 1795435200LL * 1000; /* Mon, 23 Nov 2026 12:00:00 GMT */
    T_EQ_INT(cw_clock_skew_now_ms(&k, 1000), 1000);
    /* Our clock is 20 minutes behind: the offset brings signing time to the server's. */
    int64_t local = server_ms - 20 * 60 * 1000;
    T_EQ_INT(cw_clock_skew_update(&k, "Mon, 23 Nov 2026 12:00:00 GMT", local), 0);
    T_EQ_INT(k.offset_ms, 20 * 60 * 1000 + 500);
    T_EQ_DBL(cw_clock_skew_now_ms(&k, local), server_ms, 1000);
    /* 20 minutes ahead. */
    local = server_ms + 20 * 60 * 1000;
    T_EQ_INT(cw_clock_skew_update(&k, "Mon, 23 Nov 2026 12:00:00 GMT", local), 0);
    T_EQ_DBL(cw_clock_skew_now_ms(&k, local), server_ms, 1000);
    /* A bad header leaves the offset alone. */
    int64_t before = k.offset_ms;
    T_EQ_INT(cw_clock_skew_update(&k, "yesterday", local), -1);
    T_EQ_INT(k.offset_ms, before);
    /* Within the header's resolution: no offset. */
    T_EQ_INT(cw_clock_skew_update(&k, "Mon, 23 Nov 2026 12:00:00 GMT", server_ms + 300), 0);
    T_EQ_INT(k.offset_ms, 0);
}

T_MAIN("retry", T_CASE(classification_table_of_real_error_codes),
       T_CASE(json_error_types_are_normalised),
       T_CASE(error_codes_are_parsed_from_xml_json_and_headers),
       T_CASE(backoff_doubles_is_capped_and_jitter_stays_in_bounds),
       T_CASE(decisions_follow_the_class_rules), T_CASE(http_dates_parse_and_bad_ones_fail),
       T_CASE(clock_skew_is_measured_from_the_date_header))
