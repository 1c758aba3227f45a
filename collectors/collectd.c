#include "collectors/collectd.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/kmap.h"
#include "common/log.h"

#define CD_MAX_STRING      128   /* DATA_MAX_NAME_LEN in collectd 5 */
#define CD_MAX_DS          64    /* data sources per type kept from types.db */
#define CD_MAX_TYPES       4096  /* types.db entries */
#define CD_MAX_USERS       1024  /* auth file lines */
#define CD_MAX_LINE        4096  /* types.db / auth file line */
#define CD_PACKET_MAX      65536 /* UDP payload */
#define CD_AUTH_RECHECK_MS 1000

enum {
    PART_HOST = 0x0000,
    PART_TIME = 0x0001,
    PART_PLUGIN = 0x0002,
    PART_PLUGIN_INSTANCE = 0x0003,
    PART_TYPE = 0x0004,
    PART_TYPE_INSTANCE = 0x0005,
    PART_VALUES = 0x0006,
    PART_TIME_HR = 0x0008,
    PART_SIGNATURE = 0x0200,
    PART_ENCRYPTION = 0x0210,
};

enum { DS_COUNTER = 0, DS_GAUGE = 1, DS_DERIVE = 2, DS_ABSOLUTE = 3 };

struct dataset {
    size_t n;
    char *names[]; /* n entries, one allocation with the struct */
};

struct user {
    char *name;
    char *pass; /* wiped when freed */
};

struct collectd {
    char prefix[256];
    enum collectd_level level;
    char *auth_file;
    struct user *users;
    size_t nusers;
    struct timespec auth_mtime;
    int64_t auth_checked_ms;
    struct kmap *types;
    uint8_t *plain; /* decryption buffer */
    struct collectd_stats st;
};

/* ---- types.db ---- */

static void dataset_free(void *p)
{
    struct dataset *d = p;
    for (size_t i = 0; d && i < d->n; i++)
        free(d->names[i]);
    free(d);
}

/* "name  ds:GAUGE:0:U, ds2:DERIVE:0:U": adds the type; returns 0 or -1 (memory or cap). */
static int types_line(struct collectd *c, char *line)
{
    char *p = line + strspn(line, " \t");
    if (!*p || *p == '#' || *p == '\n')
        return 0;
    char *name = p;
    p += strcspn(p, " \t\n");
    if (!*p)
        return 0; /* a type without data sources: not usable */
    *p++ = 0;
    char *ds[CD_MAX_DS];
    size_t n = 0;
    for (char *tok = p; tok && n < CD_MAX_DS;) {
        char *next = strchr(tok, ',');
        if (next)
            *next++ = 0;
        tok += strspn(tok, " \t\n");
        size_t l = strcspn(tok, ":");
        if (l > 0 && tok[l] == ':') {
            tok[l] = 0;
            ds[n++] = tok;
        }
        tok = next;
    }
    if (n == 0)
        return 0;
    struct dataset *d = calloc(1, sizeof *d + n * sizeof(char *));
    if (!d)
        return -1;
    for (size_t i = 0; i < n; i++) {
        d->names[i] = strdup(ds[i]);
        d->n = i + 1;
        if (!d->names[i]) {
            dataset_free(d);
            return -1;
        }
    }
    void *old = kmap_get(c->types, name, strlen(name));
    if (old) { /* a later file overrides: replace in place */
        struct dataset *o = old;
        if (o->n == d->n) {
            for (size_t i = 0; i < n; i++) {
                free(o->names[i]);
                o->names[i] = d->names[i];
            }
            free(d);
            return 0;
        }
    }
    if (old || kmap_put(c->types, name, strlen(name), d) != 0) {
        dataset_free(d);
        return old ? 0 : -1;
    }
    return 0;
}

static int read_types(struct collectd *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "collectd_typesdb: cannot read \"%s\": %s", path, strerror(errno));
        return -1;
    }
    char line[CD_MAX_LINE];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f))
        rc = types_line(c, line);
    fclose(f);
    if (rc != 0)
        snprintf(err, errlen, "collectd_typesdb: \"%s\": more than %d types or out of memory", path,
                 CD_MAX_TYPES);
    return rc;
}

/* ---- auth file ---- */

static void users_free(struct collectd *c)
{
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].name);
        OPENSSL_cleanse(c->users[i].pass, strlen(c->users[i].pass));
        free(c->users[i].pass);
    }
    free(c->users);
    c->users = NULL;
    c->nusers = 0;
}

static char *trimmed_dup(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    return strndup(s, (size_t)(e - s));
}

/* Reads "user: password" lines (split on the first ':'; '#' lines skipped). 0 or -1. */
static int load_users(struct collectd *c, char *err, size_t errlen)
{
    FILE *f = fopen(c->auth_file, "re");
    if (!f) {
        snprintf(err, errlen, "collectd_auth_file: cannot read \"%s\": %s", c->auth_file,
                 strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0)
        c->auth_mtime = sb.st_mtim;
    users_free(c);
    c->users = calloc(CD_MAX_USERS, sizeof *c->users);
    char line[CD_MAX_LINE];
    int rc = c->users ? 0 : -1;
    while (rc == 0 && c->nusers < CD_MAX_USERS && fgets(line, sizeof line, f)) {
        char *s = line + strspn(line, " \t");
        char *colon = strchr(s, ':');
        if (*s == '#' || !colon)
            continue;
        struct user *u = &c->users[c->nusers];
        u->name = trimmed_dup(s, colon);
        u->pass = trimmed_dup(colon + 1, colon + 1 + strlen(colon + 1));
        if (!u->name || !u->pass) {
            free(u->name);
            free(u->pass);
            rc = -1;
            break;
        }
        c->nusers++;
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (rc != 0)
        snprintf(err, errlen, "collectd_auth_file: \"%s\": out of memory", c->auth_file);
    return rc;
}

/* The password of `user` (borrowed), re-reading the file when it changed; NULL if unknown. */
static const char *password(struct collectd *c, const char *user, size_t ulen, int64_t now_ms)
{
    if (!c->auth_file)
        return NULL;
    if (now_ms - c->auth_checked_ms >= CD_AUTH_RECHECK_MS || now_ms < c->auth_checked_ms) {
        struct stat sb;
        c->auth_checked_ms = now_ms;
        if (stat(c->auth_file, &sb) == 0 && (sb.st_mtim.tv_sec != c->auth_mtime.tv_sec ||
                                             sb.st_mtim.tv_nsec != c->auth_mtime.tv_nsec)) {
            char e[256];
            (void)load_users(c, e, sizeof e);
        }
    }
    for (size_t i = 0; i < c->nusers; i++)
        if (strlen(c->users[i].name) == ulen && memcmp(c->users[i].name, user, ulen) == 0)
            return c->users[i].pass;
    return NULL;
}

/* ---- construction ---- */

struct collectd *collectd_new(const struct collectd_opts *o, char *err, size_t errlen)
{
    struct collectd *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->prefix, sizeof c->prefix, "%s", o->name_prefix ? o->name_prefix : "collectd_");
    c->level = o->level;
    c->types = kmap_new(CD_MAX_TYPES);
    c->plain = malloc(CD_PACKET_MAX);
    if (!c->types || !c->plain) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (o->ntypesdb == 0) {
        snprintf(err, errlen, "collectd_typesdb: no types.db file");
        goto fail;
    }
    for (size_t i = 0; i < o->ntypesdb; i++)
        if (read_types(c, o->typesdb[i], err, errlen) != 0)
            goto fail;
    if (o->auth_file && !(c->auth_file = strdup(o->auth_file))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (c->level != COLLECTD_NONE && !c->auth_file) {
        snprintf(err, errlen, "collectd_security_level needs collectd_auth_file");
        goto fail;
    }
    /* A missing auth file is reported, not fatal (the reference starts too): signed and
     * encrypted packets are refused, counted, until the file appears; it is then read. */
    char e[300];
    if (c->auth_file && load_users(c, e, sizeof e) != 0 && c->level != COLLECTD_NONE)
        cw_error("collectd", "%s; signed and encrypted packets are refused until it can be read",
                 e);
    return c;
fail:
    collectd_free(c);
    return NULL;
}

void collectd_free(struct collectd *c)
{
    if (!c)
        return;
    users_free(c);
    if (c->types)
        kmap_free(c->types, dataset_free);
    if (c->plain) {
        OPENSSL_cleanse(c->plain, CD_PACKET_MAX);
        free(c->plain);
    }
    free(c->auth_file);
    free(c);
}

void collectd_get_stats(const struct collectd *c, struct collectd_stats *out)
{
    *out = c->st;
}

size_t collectd_ntypes(const struct collectd *c)
{
    return kmap_len(c->types);
}

/* ---- packets ---- */

struct vl {
    char host[CD_MAX_STRING], plugin[CD_MAX_STRING], pinst[CD_MAX_STRING];
    char type[CD_MAX_STRING], tinst[CD_MAX_STRING];
    int64_t ts_ms;
};

struct pctx {
    struct collectd *c;
    collectd_emit_fn emit;
    void *ud;
    char *err;
    size_t errlen;
    size_t refusals;
    int64_t now_ms;
    struct vl vl;
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static double le_double(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static void refuse(struct pctx *p, const char *fmt, const char *arg)
{
    if (p->refusals++ == 0)
        snprintf(p->err, p->errlen, fmt, arg);
}

static int get_string(struct pctx *p, const uint8_t *pl, size_t n, char *out)
{
    if (n == 0 || n > CD_MAX_STRING || pl[n - 1] != 0 || memchr(pl, 0, n) != pl + n - 1) {
        refuse(p, "%s", "malformed string part");
        return -1;
    }
    memcpy(out, pl, n);
    return 0;
}

static void emit_values(struct pctx *p, const struct dataset *ds, const uint8_t *types,
                        const uint8_t *vals)
{
    struct collectd_dim dims[4];
    size_t nd = 0;
    const char *names[4] = {"host", "instance", "type", "type_instance"};
    const char *v[4] = {p->vl.host, p->vl.pinst, p->vl.type, p->vl.tinst};
    for (int i = 0; i < 4; i++)
        if (v[i][0])
            dims[nd++] = (struct collectd_dim){names[i], v[i]};
    for (size_t i = 0; i < ds->n; i++) {
        const uint8_t *x = vals + 8 * i;
        double d = types[i] == DS_GAUGE    ? le_double(x)
                   : types[i] == DS_DERIVE ? (double)(int64_t)be64(x)
                                           : (double)be64(x);
        char name[3 * CD_MAX_STRING + 256];
        snprintf(name, sizeof name, "%s%s_%s", p->c->prefix, p->vl.plugin, ds->names[i]);
        struct collectd_sample s = {name, dims, nd, d, p->vl.ts_ms ? p->vl.ts_ms : p->now_ms};
        if (isfinite(d))
            p->emit(p->ud, &s);
    }
}

static int values_part(struct pctx *p, const uint8_t *pl, size_t n, enum collectd_level level)
{
    if (n < 2 || n != 2 + (size_t)be16(pl) * 9) {
        refuse(p, "%s", "malformed values part");
        return -1;
    }
    size_t nv = be16(pl);
    if (level < p->c->level) {
        p->c->st.insecure++;
        refuse(p, "a value list of plugin \"%s\" below the configured security level",
               p->vl.plugin);
        return 0;
    }
    const struct dataset *ds = kmap_get(p->c->types, p->vl.type, strlen(p->vl.type));
    if (!ds || ds->n != nv) {
        p->c->st.refused_lists++;
        refuse(p,
               ds ? "type \"%s\": value count differs from types.db"
                  : "type \"%s\" is not in types.db",
               p->vl.type);
        return 0;
    }
    for (size_t i = 0; i < nv; i++)
        if (pl[2 + i] > DS_ABSOLUTE) {
            p->c->st.refused_lists++;
            refuse(p, "type \"%s\": unknown data source type", p->vl.type);
            return 0;
        }
    p->c->st.value_lists++;
    emit_values(p, ds, pl + 2, pl + 2 + nv);
    return 0;
}

static int parse_parts(struct pctx *p, const uint8_t *b, size_t len, enum collectd_level level);

/* 0x0200: hash[32] + username; HMAC-SHA-256(password, username + the rest of the packet). */
static int signed_part(struct pctx *p, const uint8_t *pl, size_t n, const uint8_t *rest,
                       size_t restlen, enum collectd_level level)
{
    if (n <= 32) {
        refuse(p, "%s", "malformed signature part");
        return -1;
    }
    if (level == COLLECTD_ENCRYPT) /* inside a decrypted part: already authenticated */
        return parse_parts(p, rest, restlen, level);
    const char *user = (const char *)pl + 32;
    size_t ulen = n - 32;
    const char *pass = password(p->c, user, ulen, p->now_ms);
    if (!pass) {
        if (p->c->level == COLLECTD_NONE) /* nothing to verify with: take it as plain */
            return parse_parts(p, rest, restlen, level);
        refuse(p, "signed by a user not in the auth file%s",
               p->c->nusers ? "" : " (collectd_auth_file missing or empty)");
        return -1;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    uint8_t *data = p->c->plain; /* username + rest <= one datagram */
    memcpy(data, user, ulen);
    memcpy(data + ulen, rest, restlen);
    int ok = HMAC(EVP_sha256(), pass, (int)strlen(pass), data, ulen + restlen, mac, &maclen) &&
             maclen == 32 && CRYPTO_memcmp(mac, pl, 32) == 0;
    if (!ok) {
        refuse(p, "%s", "bad signature (wrong password?)");
        return -1;
    }
    return parse_parts(p, rest, restlen, level > COLLECTD_SIGN ? level : COLLECTD_SIGN);
}

static int decrypt(const char *pass, const uint8_t *iv, const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t key[32];
    unsigned klen = 0;
    int outl = 0, fin = 0, ok = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (x && EVP_Digest(pass, strlen(pass), key, &klen, EVP_sha256(), NULL) &&
        EVP_DecryptInit_ex(x, EVP_aes_256_ofb(), NULL, key, iv) &&
        EVP_DecryptUpdate(x, out, &outl, in, (int)n) && EVP_DecryptFinal_ex(x, out + outl, &fin))
        ok = (size_t)(outl + fin) == n;
    EVP_CIPHER_CTX_free(x);
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

/* 0x0210: ulen u16 + username + IV[16] + AES-256-OFB(SHA-1(inner) + inner). */
static int encrypted_part(struct pctx *p, const uint8_t *pl, size_t n)
{
    size_t ulen = n >= 2 ? be16(pl) : 0;
    if (n < 2 || ulen == 0 || n < 2 + ulen + 16 + 20) {
        refuse(p, "%s", "malformed encryption part");
        return -1;
    }
    const char *user = (const char *)pl + 2;
    const char *pass = password(p->c, user, ulen, p->now_ms);
    if (!pass) {
        refuse(p, "encrypted by a user not in the auth file%s",
               p->c->nusers ? "" : " (collectd_auth_file missing or empty)");
        return -1;
    }
    const uint8_t *iv = pl + 2 + ulen, *ct = iv + 16;
    size_t ctlen = n - 2 - ulen - 16;
    uint8_t sum[20];
    unsigned slen = 0;
    if (decrypt(pass, iv, ct, ctlen, p->c->plain) != 0 ||
        !EVP_Digest(p->c->plain + 20, ctlen - 20, sum, &slen, EVP_sha1(), NULL) ||
        CRYPTO_memcmp(sum, p->c->plain, 20) != 0) {
        refuse(p, "%s", "cannot decrypt (wrong password?)");
        return -1;
    }
    return parse_parts(p, p->c->plain + 20, ctlen - 20, COLLECTD_ENCRYPT);
}

static int time_part(struct pctx *p, const uint8_t *pl, size_t n, int hr)
{
    if (n != 8) {
        refuse(p, "%s", "malformed time part");
        return -1;
    }
    uint64_t v = be64(pl);
    p->vl.ts_ms = hr ? (int64_t)((v >> 30) * 1000 + (((v & ((1u << 30) - 1)) * 1000) >> 30))
                     : (int64_t)(v * 1000);
    return 0;
}

static int one_part(struct pctx *p, uint16_t type, const uint8_t *pl, size_t n,
                    enum collectd_level level)
{
    switch (type) {
    case PART_HOST:
        return get_string(p, pl, n, p->vl.host);
    case PART_PLUGIN:
        return get_string(p, pl, n, p->vl.plugin);
    case PART_PLUGIN_INSTANCE:
        return get_string(p, pl, n, p->vl.pinst);
    case PART_TYPE:
        return get_string(p, pl, n, p->vl.type);
    case PART_TYPE_INSTANCE:
        return get_string(p, pl, n, p->vl.tinst);
    case PART_TIME:
        return time_part(p, pl, n, 0);
    case PART_TIME_HR:
        return time_part(p, pl, n, 1);
    case PART_VALUES:
        return values_part(p, pl, n, level);
    case PART_ENCRYPTION:
        return encrypted_part(p, pl, n);
    default:
        return 0; /* interval, messages, severity, unknown: skipped */
    }
}

static int parse_parts(struct pctx *p, const uint8_t *b, size_t len, enum collectd_level level)
{
    while (len > 0) {
        if (len < 4 || be16(b + 2) < 4 || be16(b + 2) > len) {
            refuse(p, "%s", "truncated or malformed part");
            return -1;
        }
        uint16_t type = be16(b), plen = be16(b + 2);
        if (type == PART_SIGNATURE)
            return signed_part(p, b + 4, plen - 4u, b + plen, len - plen, level);
        if (one_part(p, type, b + 4, plen - 4u, level) != 0)
            return -1;
        b += plen;
        len -= plen;
    }
    return 0;
}

size_t collectd_feed(struct collectd *c, const void *buf, size_t len, int64_t now_ms,
                     collectd_emit_fn emit, void *ud, char *err, size_t errlen)
{
    char dummy[8];
    struct pctx p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.emit = emit;
    p.ud = ud;
    p.err = err ? err : dummy;
    p.errlen = err ? errlen : sizeof dummy;
    p.now_ms = now_ms;
    p.err[0] = 0;
    c->st.packets++;
    if (parse_parts(&p, buf, len, COLLECTD_NONE) != 0)
        c->st.refused_packets++;
    return p.refusals;
}
