/* netconf — the network settings every AWS call of a command shares: common-config.toml
 * (config/commonconfig.h) merged with the environment the SDKs read.
 *
 *  - proxy: [proxy] http_proxy / https_proxy / no_proxy, else HTTP(S)_PROXY / NO_PROXY
 *    (agent/proxy.h); the file wins, as the reference turns it into those variables;
 *  - CA bundle: [ssl] ca_bundle_path, else AWS_CA_BUNDLE; it must be a readable file holding
 *    at least one PEM certificate (checked here: a bad bundle is a start-up error). TLS
 *    verification itself cannot be switched off;
 *  - credentials: [credentials] shared_credential_profile / shared_credential_file;
 *  - IMDS: [imds] imds_retries.
 *
 * Ownership: the struct owns the parsed file; the proxy and CA strings point into it or into
 * the environment array passed to cw_netconf_load, which must outlive the struct. */
#ifndef CW_NETCONF_H
#define CW_NETCONF_H

#include <stddef.h>

#include "agent/http_curl.h"
#include "agent/proxy.h"
#include "config/commonconfig.h"

struct cw_netconf {
    struct cw_common_config file;
    char path[4096]; /* "" when no file was read */
    int missing;     /* the file named does not exist (not an error) */
    struct cw_proxy_settings proxy;
    const char *ca_bundle;      /* NULL = the system's trust store */
    const char *ca_bundle_from; /* "common-config.toml" or "AWS_CA_BUNDLE" */
};

/* Reads `path` (NULL = no file; a missing file is fine) and the environment `envp`. Returns 0,
 * or -1 with a one-line error naming the file, line and key (or the CA bundle and why). On
 * failure *n is freed. */
int cw_netconf_load(struct cw_netconf *n, const char *path, const char *const *envp, char *err,
                    size_t errlen);
void cw_netconf_free(struct cw_netconf *n);

/* Sets the proxy and CA members of `o` (views into `n`). */
void cw_netconf_curl_options(const struct cw_netconf *n, struct cw_http_curl_options *o);

/* Logs what is in effect (proxies with credentials redacted, the CA bundle) and the file's
 * warnings, once at start-up. */
void cw_netconf_log(const struct cw_netconf *n);

#endif
