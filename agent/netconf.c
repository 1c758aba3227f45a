#include "agent/netconf.h"

#include "common/log.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static const char *env_get(const char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=' && envp[i][len + 1])
            return envp[i] + len + 1;
    return NULL;
}

/* A CA bundle must be readable and hold at least one PEM certificate. */
static int check_bundle(const char *path, const char *from, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "CA bundle %s (%s): cannot read: %s", path, from, strerror(errno));
        return -1;
    }
    BIO *b = BIO_new_fp(f, BIO_NOCLOSE);
    int certs = 0;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        certs++;
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    BIO_free(b);
    fclose(f);
    if (certs == 0) {
        snprintf(err, errlen, "CA bundle %s (%s): no PEM certificate in it", path, from);
        return -1;
    }
    return 0;
}

int cw_netconf_load(struct cw_netconf *n, const char *path, const char *const *envp, char *err,
                    size_t errlen)
{
    memset(n, 0, sizeof *n);
    cw_common_config_init(&n->file);
    if (path && *path) {
        snprintf(n->path, sizeof n->path, "%s", path);
        if (cw_common_config_load(path, &n->file, &n->missing, err, errlen) != 0)
            return -1;
    }
    n->proxy.http_proxy = n->file.http_proxy;
    n->proxy.https_proxy = n->file.https_proxy;
    n->proxy.no_proxy = n->file.no_proxy;
    cw_proxy_from_env(&n->proxy, envp);
    n->ca_bundle = n->file.ca_bundle_path;
    n->ca_bundle_from = "common-config.toml [ssl] ca_bundle_path";
    if (!n->ca_bundle) {
        n->ca_bundle = env_get(envp, "AWS_CA_BUNDLE");
        n->ca_bundle_from = "AWS_CA_BUNDLE";
    }
    if (n->ca_bundle && check_bundle(n->ca_bundle, n->ca_bundle_from, err, errlen) != 0) {
        cw_netconf_free(n);
        return -1;
    }
    return 0;
}

void cw_netconf_free(struct cw_netconf *n)
{
    cw_common_config_free(&n->file);
    memset(&n->proxy, 0, sizeof n->proxy);
    n->ca_bundle = NULL;
}

void cw_netconf_curl_options(const struct cw_netconf *n, struct cw_http_curl_options *o)
{
    o->proxy = n->proxy;
    o->ca_bundle = n->ca_bundle;
}

void cw_netconf_log(const struct cw_netconf *n)
{
    char red[512];
    for (size_t i = 0; i < n->file.n_warnings; i++)
        cw_warn("config", "%s", n->file.warnings[i]);
    if (n->file.n_warnings_dropped)
        cw_warn("config", "%s: %zu more keys not read by cwagent", n->path,
                n->file.n_warnings_dropped);
    if (n->path[0] && !n->missing)
        cw_info("agent", "read %s", n->path);
    if (n->proxy.https_proxy && *n->proxy.https_proxy) {
        cw_proxy_redact(n->proxy.https_proxy, red, sizeof red);
        cw_info("agent",
                "https proxy %s%s%s (never for instance metadata, container credentials "
                "or loopback)",
                red, n->proxy.no_proxy ? ", no_proxy " : "",
                n->proxy.no_proxy ? n->proxy.no_proxy : "");
    }
    if (n->proxy.http_proxy && *n->proxy.http_proxy) {
        cw_proxy_redact(n->proxy.http_proxy, red, sizeof red);
        cw_info("agent", "http proxy %s", red);
    }
    if (n->ca_bundle)
        cw_info("agent", "trusting the CA bundle %s (%s)", n->ca_bundle, n->ca_bundle_from);
}
