#include "sigv4/xml.h"

#include <string.h>

static int is_name_end(char c)
{
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does the tag name at p (up to end) have local name `name`? Sets *qlen to the qualified
 * name's length. */
static int tag_matches(const char *p, const char *end, const char *name, size_t *qlen)
{
    size_t q = 0;
    while (p + q < end && !is_name_end(p[q]))
        q++;
    if (p + q >= end)
        return 0;
    const char *local = p;
    for (size_t i = 0; i < q; i++)
        if (p[i] == ':')
            local = p + i + 1;
    size_t llen = q - (size_t)(local - p);
    *qlen = q;
    return llen == strlen(name) && memcmp(local, name, llen) == 0;
}

/* Returns the '>' closing the tag opened at p, or NULL. */
static const char *tag_close(const char *p, const char *end)
{
    const char *gt = memchr(p, '>', (size_t)(end - p));
    return gt;
}

static const char *find_end_tag(const char *p, const char *end, const char *qname, size_t qlen)
{
    while (p + qlen + 3 <= end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || lt + qlen + 3 > end)
            return NULL;
        if (lt[1] == '/' && memcmp(lt + 2, qname, qlen) == 0 && lt[2 + qlen] == '>')
            return lt;
        p = lt + 1;
    }
    return NULL;
}

int xml_find(const char *doc, size_t len, const char *name, const char **content, size_t *clen)
{
    const char *p = doc, *end = doc + len;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        size_t qlen;
        if (!lt || lt + 1 >= end)
            return -1;
        p = lt + 1;
        if (*p == '/' || *p == '?' || *p == '!' || !tag_matches(p, end, name, &qlen))
            continue;
        const char *gt = tag_close(p + qlen, end);
        if (!gt)
            return -1;
        if (gt[-1] == '/') {
            *content = gt + 1;
            *clen = 0;
            return 0;
        }
        const char *etag = find_end_tag(gt + 1, end, p, qlen);
        if (!etag)
            return -1;
        *content = gt + 1;
        *clen = (size_t)(etag - (gt + 1));
        return 0;
    }
    return -1;
}

static int decode_entity(const char *p, const char *end, char *c, size_t *used)
{
    static const struct {
        const char *e;
        char c;
    } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
        size_t n = strlen(ents[i].e);
        if ((size_t)(end - p) >= n && memcmp(p, ents[i].e, n) == 0) {
            *c = ents[i].c;
            *used = n;
            return 0;
        }
    }
    if (end - p < 4 || p[1] != '#')
        return -1;
    int hex = p[2] == 'x', v = 0;
    size_t i = hex ? 3 : 2;
    for (; p + i < end && p[i] != ';' && i < 8; i++) {
        char d = p[i];
        int dv = d >= '0' && d <= '9'          ? d - '0'
                 : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                 : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                               : -1;
        if (dv < 0)
            return -1;
        v = v * (hex ? 16 : 10) + dv;
    }
    if (p + i >= end || p[i] != ';' || v <= 0 || v >= 128)
        return -1;
    *c = (char)v;
    *used = i + 1;
    return 0;
}

int xml_text(const char *content, size_t clen, char *out, size_t outlen)
{
    const char *p = content, *end = content + clen;
    size_t k = 0;
    static const char cdata[] = "<![CDATA[";
    if (clen >= sizeof cdata - 1 + 3 && memcmp(p, cdata, sizeof cdata - 1) == 0 &&
        memcmp(end - 3, "]]>", 3) == 0) {
        size_t n = clen - (sizeof cdata - 1) - 3;
        if (n + 1 > outlen)
            return -1;
        memcpy(out, p + sizeof cdata - 1, n);
        out[n] = '\0';
        return 0;
    }
    while (p < end) {
        char c = *p;
        size_t used = 1;
        if (c == '<')
            return -1;
        if (c == '&' && decode_entity(p, end, &c, &used) != 0)
            return -1;
        if (k + 1 >= outlen)
            return -1;
        out[k++] = c;
        p += used;
    }
    if (outlen == 0)
        return -1;
    out[k] = '\0';
    return 0;
}

int xml_get(const char *doc, size_t len, const char *name, char *out, size_t outlen)
{
    const char *c;
    size_t n;
    if (xml_find(doc, len, name, &c, &n) != 0)
        return -1;
    return xml_text(c, n, out, outlen);
}
