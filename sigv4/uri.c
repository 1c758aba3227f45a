/* sigv4/uri — percent-encoding, path normalisation and query canonicalisation for SigV4. */
#include "sigv4/uri.h"

#include <stdlib.h>
#include <string.h>

int sigv4_uri_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int sigv4_uri_encode(struct cw_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < n) {
        /* Copy the longest run that needs no encoding in one append. */
        size_t run = i;
        while (run < n &&
               (sigv4_uri_is_unreserved((unsigned char)s[run]) || (keep_slash && s[run] == '/')))
            run++;
        if (run > i && cw_buf_append(out, s + i, run - i) != 0)
            return -1;
        if (run == n)
            break;
        unsigned char c = (unsigned char)s[run];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (cw_buf_append(out, esc, 3) != 0)
            return -1;
        i = run + 1;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sigv4_uri_decode(struct cw_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && n - i >= 3 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (cw_buf_append_char(out, c) != 0)
            return -1;
    }
    return 0;
}

int sigv4_uri_normalize_path(struct cw_buf *out, const char *path, size_t n)
{
    size_t start = out->len;
    if (n == 0 || path[0] == '/') {
        if (cw_buf_append_char(out, '/') != 0)
            return -1;
    }
    /* Segments are appended as "seg/"; the final '/' is dropped at the end when the input
     * did not end with one. */
    size_t base = out->len;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t seglen = j - i;
        if (seglen == 2 && path[i] == '.' && path[i + 1] == '.') {
            /* Pop the last segment: drop "seg/" back to the previous '/' or the base. */
            if (out->len > base) {
                size_t k = out->len - 1; /* the '/' after the last segment */
                while (k > base && out->data[k - 1] != '/')
                    k--;
                out->len = k;
                out->data[k] = '\0';
            }
        } else if (seglen > 0 && !(seglen == 1 && path[i] == '.')) {
            if (cw_buf_append(out, path + i, seglen) != 0 || cw_buf_append_char(out, '/') != 0)
                return -1;
        }
        i = j + 1;
    }
    int had_segment = out->len > base;
    /* Keep the final '/' only when the input ended with one and a segment remains. */
    if (had_segment && !(n > 0 && path[n - 1] == '/')) {
        out->len--;
        out->data[out->len] = '\0';
    }
    if (out->len == start && cw_buf_append_char(out, '/') != 0)
        return -1;
    return 0;
}

struct qpair {
    char *key;
    char *val;
};

/* Decodes then re-encodes s[0..n); *res is malloc'd (caller frees) or NULL on failure. */
static int recode(const char *s, size_t n, size_t max, char **res)
{
    struct cw_buf dec, enc;
    cw_buf_init(&dec, max);
    cw_buf_init(&enc, max);
    int rc = -1;
    *res = NULL;
    if (sigv4_uri_decode(&dec, s, n) != 0)
        goto out;
    if (sigv4_uri_encode(&enc, dec.data ? dec.data : "", dec.len, 0) != 0)
        goto out;
    /* Not cw_buf_detach: on a buffer that never grew it returns unterminated memory. */
    *res = strdup(enc.data ? enc.data : "");
    rc = *res ? 0 : -1;
out:
    cw_buf_free(&dec);
    cw_buf_free(&enc);
    return rc;
}

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->val, y->val);
}

/* Splits the query into recoded pairs; *np receives the count. */
static int split_query(const char *q, size_t max, struct qpair *pairs, size_t *np)
{
    size_t n = 0;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seglen = amp ? (size_t)(amp - p) : strlen(p);
        if (seglen > 0) {
            const char *eq = memchr(p, '=', seglen);
            size_t klen = eq ? (size_t)(eq - p) : seglen;
            const char *v = eq ? eq + 1 : p + seglen;
            size_t vlen = eq ? seglen - klen - 1 : 0;
            if (recode(p, klen, max, &pairs[n].key) != 0 || recode(v, vlen, max, &pairs[n].val))
                return -1;
            n++;
            *np = n;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return 0;
}

int sigv4_uri_canonical_query(struct cw_buf *out, const char *query)
{
    if (!query || !*query)
        return 0;
    size_t count = 1;
    for (const char *p = query; *p; p++)
        count += *p == '&';
    struct qpair *pairs = calloc(count, sizeof *pairs);
    if (!pairs)
        return -1;
    size_t n = 0;
    int rc = split_query(query, out->max, pairs, &n);
    if (rc == 0)
        qsort(pairs, n, sizeof *pairs, qpair_cmp);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((i > 0 && cw_buf_append_char(out, '&') != 0) ||
            cw_buf_append_str(out, pairs[i].key) != 0 || cw_buf_append_char(out, '=') != 0 ||
            cw_buf_append_str(out, pairs[i].val) != 0)
            rc = -1;
    }
    for (size_t i = 0; i < count; i++) {
        free(pairs[i].key);
        free(pairs[i].val);
    }
    free(pairs);
    return rc;
}
