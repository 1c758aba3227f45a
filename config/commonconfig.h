/* commonconfig — the reference agent's common-config.toml: the settings shared by every AWS call
 * (its cfg/commonconfig package), read from the file that cwagent-ctl and the package install
 * beside the JSON configuration (/etc/cwagent/common-config.toml).
 *
 *   [credentials]  shared_credential_profile = "..."   shared_credential_file = "..."
 *   [proxy]        http_proxy = "..."  https_proxy = "..."  no_proxy = "..."
 *   [ssl]          ca_bundle_path = "..."
 *   [imds]         imds_retries = N
 *
 * The parser is strict and reads only the TOML subset that file uses: comments, [table] headers,
 * key = value lines with basic ("...") or literal ('...') strings, decimal integers and booleans.
 * Anything else (arrays, inline tables, multi-line strings, dotted keys, dates) is an error, as
 * are duplicate keys and tables, a value of the wrong type, and bytes after a value. Each error
 * reads "FILE:LINE: [table] key: what is wrong". A key or table the reference does not read is a
 * warning "FILE:LINE: [table] key: not read by cwagent; ignored" (the reference ignores it
 * silently). Ownership: every string in the struct belongs to it; free with
 * cw_common_config_free. */
#ifndef CW_COMMONCONFIG_H
#define CW_COMMONCONFIG_H

#include <stddef.h>

#define CW_COMMON_CONFIG_PATH      "/etc/cwagent/common-config.toml"
#define CW_COMMON_CONFIG_MAX_BYTES (1u << 20) /* a bigger file is refused */
#define CW_COMMON_CONFIG_MAX_WARN  16         /* warnings kept; more are counted */

struct cw_common_config {
    char *credential_profile; /* [credentials] shared_credential_profile; NULL when absent */
    char *credential_file;    /* [credentials] shared_credential_file */
    char *http_proxy;         /* [proxy] */
    char *https_proxy;
    char *no_proxy;
    char *ca_bundle_path; /* [ssl] */
    int imds_retries;     /* [imds]; -1 when absent */
    char *warnings[CW_COMMON_CONFIG_MAX_WARN];
    size_t n_warnings;
    size_t n_warnings_dropped;
};

/* Parses `len` bytes of `text` (need not be NUL-terminated); `name` is the file name used in
 * messages. Fills *out (initialised here). Returns 0, or -1 with the first error in err (and
 * *out freed). */
int cw_common_config_parse(const char *text, size_t len, const char *name,
                           struct cw_common_config *out, char *err, size_t errlen);

/* Reads and parses `path`. A missing file is not an error: *out is left empty and *missing set
 * to 1 (missing may be NULL). Returns 0, or -1 with the error in err. */
int cw_common_config_load(const char *path, struct cw_common_config *out, int *missing, char *err,
                          size_t errlen);

void cw_common_config_init(struct cw_common_config *c);
void cw_common_config_free(struct cw_common_config *c);

#endif
