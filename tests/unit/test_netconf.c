/* common-config.toml parsing (config/commonconfig.h) and proxy selection (agent/proxy.h). */
#include "agent/proxy.h"
#include "config/commonconfig.h"
#include "tests/unit/t.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, struct cw_common_config *c, char *err, size_t errlen)
{
    err[0] = '\0';
    return cw_common_config_parse(text, strlen(text), "cc.toml", c, err, errlen);
}

/* The reference's template (every key commented) and every key set. */
TEST(every_key_of_the_reference_file_is_read)
{
    const char *text = "# This common-config is used to configure items used for both ssm and "
                       "cloudwatch access\n"
                       "\n"
                       "## Configuration for shared credential.\n"
                       "[credentials]\n"
                       "   shared_credential_profile = \"AmazonCloudWatchAgent\"\n"
                       "   shared_credential_file = \"/etc/cwagent/credentials\"  # on-premises\n"
                       "\r\n"
                       "[proxy]\n"
                       "    http_proxy = \"http://user:pw@proxy.example.com:3128\"\n"
                       "    https_proxy = 'http://proxy.example.com:3128'\n"
                       "    no_proxy = \"169.254.169.254,.internal\"\n"
                       "[ssl]\n"
                       "  ca_bundle_path = \"C:\\\\certs\\\\ca \\u00e9.pem\"\n"
                       "[ imds ]\n"
                       "  imds_retries = 3\n";
    struct cw_common_config c;
    char err[512];
    T_ASSERT(parse(text, &c, err, sizeof err) == 0);
    T_EQ_STR(c.credential_profile, "AmazonCloudWatchAgent");
    T_EQ_STR(c.credential_file, "/etc/cwagent/credentials");
    T_EQ_STR(c.http_proxy, "http://user:pw@proxy.example.com:3128");
    T_EQ_STR(c.https_proxy, "http://proxy.example.com:3128");
    T_EQ_STR(c.no_proxy, "169.254.169.254,.internal");
    T_EQ_STR(c.ca_bundle_path, "C:\\certs\\ca \xc3\xa9.pem");
    T_EQ_INT(c.imds_retries, 3);
    T_EQ_INT(c.n_warnings, 0);
    cw_common_config_free(&c);

    const char *tmpl = "# [credentials]\n#    shared_credential_profile = \"{profile_name}\"\n"
                       "# [proxy]\n#    http_proxy = \"{http_url}\"\n# [ssl]\n"
                       "#    ca_bundle_path = \"{ca_bundle_file_path}\"\n";
    T_ASSERT(parse(tmpl, &c, err, sizeof err) == 0);
    T_CHECK(!c.credential_profile && !c.http_proxy && !c.ca_bundle_path);
    T_EQ_INT(c.imds_retries, -1);
    cw_common_config_free(&c);
}

TEST(unknown_tables_and_keys_are_warnings_and_empty_strings_are_absent)
{
    const char *text = "top = 1\n[proxy]\nhttps_proxy = \"\"\nhttp_prox = \"x\"\n"
                       "[telemetry]\nenabled = true\nother = 'y'\n[credentials]\n"
                       "access_key = \"AKIA\"\n";
    struct cw_common_config c;
    char err[512];
    T_ASSERT(parse(text, &c, err, sizeof err) == 0);
    T_CHECK(c.https_proxy == NULL);
    T_EQ_INT(c.n_warnings, 4);
    if (c.n_warnings == 4) {
        T_EQ_STR(c.warnings[0], "cc.toml:1: top: not read by cwagent; ignored");
        T_EQ_STR(c.warnings[1], "cc.toml:4: [proxy] http_prox: not read by cwagent; ignored");
        T_EQ_STR(c.warnings[2], "cc.toml:5: [telemetry]: not read by cwagent; ignored");
        T_EQ_STR(c.warnings[3], "cc.toml:9: [credentials] access_key: not read by cwagent; "
                                "ignored");
    }
    cw_common_config_free(&c);
}

/* Each malformed file is refused with FILE:LINE, the key when there is one, and the cause. */
TEST(malformed_files_are_errors_naming_file_line_and_key)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[proxy]\nhttps_proxy = http://p:3128\n",
         "cc.toml:2: [proxy] https_proxy: 'http://p:3128' is not a value (strings need quotes: "
         "\"...\")"},
        {"[proxy]\nhttps_proxy = \"http://p:3128\n",
         "cc.toml:2: [proxy] https_proxy: unterminated string (strings end on the same line)"},
        {"[proxy]\nhttps_proxy = \"a\"\nhttps_proxy = \"b\"\n",
         "cc.toml:3: [proxy] https_proxy: defined twice"},
        {"[proxy]\n[ssl]\n[proxy]\n", "cc.toml:3: table [proxy] is defined twice"},
        {"[imds]\nimds_retries = \"2\"\n",
         "cc.toml:2: [imds] imds_retries: expected an integer, got a string"},
        {"[imds]\nimds_retries = -1\n", "cc.toml:2: [imds] imds_retries: expected 0..100, got -1"},
        {"[imds]\nimds_retries = 1.5\n",
         "cc.toml:2: [imds] imds_retries: '1.5' is not a decimal integer (floats and dates are not "
         "supported)"},
        {"[imds]\nimds_retries = 0x10\n",
         "cc.toml:2: [imds] imds_retries: only decimal integers are supported"},
        {"[imds]\nimds_retries = 01\n",
         "cc.toml:2: [imds] imds_retries: leading zeros are not allowed in an integer"},
        {"[imds]\nimds_retries = 99999999999999999999\n",
         "cc.toml:2: [imds] imds_retries: integer out of range"},
        {"[ssl]\nca_bundle_path = true\n",
         "cc.toml:2: [ssl] ca_bundle_path: expected a string, got a boolean"},
        {"[ssl]\nca_bundle_path = \"C:\\certs\"\n",
         "cc.toml:2: [ssl] ca_bundle_path: invalid escape '\\c' in a string (Windows paths: use "
         "'...' or \\\\)"},
        {"[ssl]\nca_bundle_path = \"a\" \"b\"\n",
         "cc.toml:2: [ssl] ca_bundle_path: unexpected '\"' (a line holds one key = value, a "
         "[table] or a comment)"},
        {"[proxy\n", "cc.toml:1: a table header ends with ']'"},
        {"[[proxy]]\n",
         "cc.toml:1: arrays of tables ([[...]]) are not supported in common-config.toml"},
        {"proxy.https_proxy = \"x\"\n",
         "cc.toml:1: dotted names ('proxy.') are not supported in common-config.toml"},
        {"[proxy]\nno_proxy = [\"a\", \"b\"]\n",
         "cc.toml:2: [proxy] no_proxy: arrays are not supported in common-config.toml"},
        {"[proxy]\nno_proxy = {a = 1}\n",
         "cc.toml:2: [proxy] no_proxy: inline tables are not supported in common-config.toml"},
        {"[proxy]\nno_proxy = \"\"\"\na\"\"\"\n",
         "cc.toml:2: [proxy] no_proxy: multi-line strings (\"\"\") are not supported in "
         "common-config.toml"},
        {"[proxy]\nno_proxy\n", "cc.toml:2: [proxy] no_proxy: expected '=' after the key"},
        {"[proxy]\nno_proxy =\n", "cc.toml:2: [proxy] no_proxy: a value is missing after '='"},
        {"[proxy]\n= \"x\"\n", "cc.toml:2: unexpected '=' where a name belongs"},
        {"[proxy]\nno_proxy = \"a\x01\"\n",
         "cc.toml:2: [proxy] no_proxy: control character 0x01 in a string"},
        {"[proxy]\nno_proxy = \"\\u0000\"\n",
         "cc.toml:2: [proxy] no_proxy: a string holds a NUL character"},
        {"[proxy]\nno_proxy = \"\\uD800\"\n",
         "cc.toml:2: [proxy] no_proxy: \\u escape U+D800 is not a Unicode scalar value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cw_common_config c;
        char err[512];
        int rc = parse(cases[i].text, &c, err, sizeof err);
        if (rc != -1) {
            t_fail_at(__FILE__, __LINE__, "case %zu was accepted: %s", i, cases[i].text);
            cw_common_config_free(&c);
            continue;
        }
        T_EQ_STR(err, cases[i].want);
    }
}

TEST(load_reports_missing_and_unreadable_files)
{
    struct cw_common_config c;
    char err[512] = "";
    int missing = 0;
    T_EQ_INT(
        cw_common_config_load("/nonexistent/cw/common-config.toml", &c, &missing, err, sizeof err),
        0);
    T_EQ_INT(missing, 1);
    T_EQ_INT(cw_common_config_load("/", &c, &missing, err, sizeof err), -1);
    T_EQ_STR(err, "/: cannot read: not a regular file");
}

/* Random mutations of a valid file: every outcome is a clean accept or a clean error (run under
 * ASan by make check-asan), and an error always names the file and a line. */
TEST(mutated_files_never_crash)
{
    const char *base = "[credentials]\nshared_credential_profile = \"p\"\n[proxy]\n"
                       "https_proxy = 'http://u:p@h:1'\nno_proxy = \"a,\\u00e9\"\n[imds]\n"
                       "imds_retries = 1_0 # x\n[ssl]\nca_bundle_path = \"/x\"\n";
    size_t n = strlen(base);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char *buf = malloc(n + 8);
    static const char alphabet[] = "[]=\"'\\#.\n\r\t ,{}u0x-+_aZ\x01\xc3";
    T_ASSERT(buf);
    for (int round = 0; round < 5000; round++) {
        memcpy(buf, base, n);
        size_t len = n;
        for (int k = 0; k < 1 + round % 4; k++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            size_t pos = (size_t)(seed % len);
            char ch = alphabet[(seed >> 32) % (sizeof alphabet - 1)];
            if ((seed >> 40) % 3 == 0 && len > 1) { /* delete */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
            } else {
                buf[pos] = ch;
            }
        }
        struct cw_common_config c;
        char err[512] = "";
        if (cw_common_config_parse(buf, len, "m.toml", &c, err, sizeof err) == 0)
            cw_common_config_free(&c);
        else if (strncmp(err, "m.toml:", 7) != 0) {
            t_fail_at(__FILE__, __LINE__, "round %d: error without a location: %s", round, err);
            break;
        }
    }
    free(buf);
}

TEST(metadata_and_loopback_are_never_proxied)
{
    struct cw_proxy_settings s = {"http://proxy:3128", "http://proxy:3128", NULL};
    static const char *const direct[] = {
        "http://169.254.169.254/latest/api/token",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://169.254.170.2/v2/credentials/x",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "http://127.0.0.1:4566/",
        "https://127.9.8.7/",
        "http://[::1]:80/",
        "http://localhost:1/",
        "https://LOCALHOST./",
        "http://a.localhost/",
        "https://user:pw@127.0.0.1:99/x",
    };
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
        if (cw_proxy_for_url(&s, direct[i]) != NULL)
            t_fail_at(__FILE__, __LINE__, "%s would go through the proxy", direct[i]);
    T_EQ_STR(cw_proxy_for_url(&s, "https://monitoring.us-east-1.amazonaws.com"),
             "http://proxy:3128");
    T_EQ_STR(cw_proxy_for_url(&s, "https://169.254.169.253/"), "http://proxy:3128");
    T_EQ_STR(cw_proxy_for_url(&s, "https://localhost.example.com/"), "http://proxy:3128");
    struct cw_proxy_settings only_http = {"http://p:1", NULL, NULL};
    T_CHECK(cw_proxy_for_url(&only_http, "https://logs.us-east-1.amazonaws.com/") == NULL);
    T_EQ_STR(cw_proxy_for_url(&only_http, "http://logs.example/"), "http://p:1");
}

TEST(no_proxy_matches_names_suffixes_addresses_cidr_and_ports)
{
    static const struct {
        const char *list, *url;
        int bypass;
    } cases[] = {
        {"*", "https://logs.us-east-1.amazonaws.com", 1},
        {"amazonaws.com", "https://logs.us-east-1.amazonaws.com", 1},
        {".amazonaws.com", "https://logs.us-east-1.amazonaws.com", 1},
        {"*.amazonaws.com", "https://logs.us-east-1.amazonaws.com", 1},
        {"amazonaws.com", "https://amazonaws.com", 1},
        {"zonaws.com", "https://logs.us-east-1.amazonaws.com", 0},
        {"example.com, amazonaws.com.cn", "https://logs.cn-north-1.amazonaws.com.cn", 1},
        {"example.com amazonaws.com", "https://LOGS.AMAZONAWS.COM.", 1},
        {"10.0.0.0/8", "https://10.1.2.3/", 1},
        {"10.0.0.0/8", "https://11.1.2.3/", 0},
        {"10.0.0.0/8", "https://ten.example/", 0},
        {"192.168.1.7", "https://192.168.1.7:8443/", 1},
        {"fd00::/8", "https://[fd12::1]/", 1},
        {"[fd12::1]", "https://[fd12::1]:443/", 1},
        {"fd12::1", "https://[fd12::1]/", 1},
        {"proxy.internal:8443", "https://proxy.internal:8443/", 1},
        {"proxy.internal:8443", "https://proxy.internal/", 0},
        {"", "https://logs.us-east-1.amazonaws.com", 0},
        {",,  ,", "https://logs.us-east-1.amazonaws.com", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cw_proxy_settings s = {"http://p:1", "http://p:1", cases[i].list};
        int bypass = cw_proxy_for_url(&s, cases[i].url) == NULL;
        if (bypass != cases[i].bypass)
            t_fail_at(__FILE__, __LINE__, "NO_PROXY \"%s\", %s: expected %s, got %s", cases[i].list,
                      cases[i].url, cases[i].bypass ? "direct" : "proxied",
                      bypass ? "direct" : "proxied");
    }
}

TEST(environment_is_read_upper_case_first_and_the_file_wins)
{
    const char *env[] = {"https_proxy=http://lower:1", "HTTPS_PROXY=http://upper:1",
                         "http_proxy=http://h:2",      "no_proxy=.lower",
                         "ALL_PROXY=http://all:3",     NULL};
    struct cw_proxy_settings s = {0};
    cw_proxy_from_env(&s, env);
    T_EQ_STR(s.https_proxy, "http://upper:1");
    T_EQ_STR(s.http_proxy, "http://h:2");
    T_EQ_STR(s.no_proxy, ".lower");
    struct cw_proxy_settings f = {NULL, "http://file:9", "file.example"};
    cw_proxy_from_env(&f, env);
    T_EQ_STR(f.https_proxy, "http://file:9");
    T_EQ_STR(f.no_proxy, "file.example");
    const char *none[] = {"ALL_PROXY=http://all:3", "HTTPS_PROXY=", NULL};
    struct cw_proxy_settings e = {0};
    cw_proxy_from_env(&e, none);
    T_CHECK(!e.https_proxy && !e.http_proxy && !e.no_proxy);
}

TEST(proxy_credentials_are_redacted)
{
    char out[128];
    cw_proxy_redact("http://alice:s3cret@proxy:3128", out, sizeof out);
    T_EQ_STR(out, "http://***@proxy:3128");
    cw_proxy_redact("alice:s3cret@proxy:3128/x@y", out, sizeof out);
    T_EQ_STR(out, "***@proxy:3128/x@y");
    cw_proxy_redact("http://proxy:3128", out, sizeof out);
    T_EQ_STR(out, "http://proxy:3128");
}

T_MAIN("netconf", T_CASE(every_key_of_the_reference_file_is_read),
       T_CASE(unknown_tables_and_keys_are_warnings_and_empty_strings_are_absent),
       T_CASE(malformed_files_are_errors_naming_file_line_and_key),
       T_CASE(load_reports_missing_and_unreadable_files), T_CASE(mutated_files_never_crash),
       T_CASE(metadata_and_loopback_are_never_proxied),
       T_CASE(no_proxy_matches_names_suffixes_addresses_cidr_and_ports),
       T_CASE(environment_is_read_upper_case_first_and_the_file_wins),
       T_CASE(proxy_credentials_are_redacted))
