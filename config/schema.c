/* schema — a JSON-schema (draft-04) validator for the subset schema.json uses, built to give
 * the verdicts and error types of gojsonschema, the library the reference agent uses:
 *   - $ref (JSON pointer into the same document) replaces the schema it appears in;
 *   - a type mismatch stops all other checks on that value;
 *   - allOf merges every branch's errors and adds number_all_of;
 *   - anyOf/oneOf add number_any_of/number_one_of and the errors of the branch that got
 *     furthest (gojsonschema's "score");
 *   - keywords: type (string or list), properties, additionalProperties (bool or schema),
 *     patternProperties, required, enum, const, minimum/maximum (+ draft-04 boolean
 *     exclusive*), minLength/maxLength (in characters), pattern (PCRE2), minItems/maxItems,
 *     uniqueItems, items (schema or list), minProperties/maxProperties, not.
 * Unknown keywords ("description", "descriptions", ...) are ignored, as gojsonschema does.
 */
#include "config/internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_names[CW_SE_COUNT] = {
    [CW_SE_INVALID_TYPE] = "invalid_type",
    [CW_SE_REQUIRED] = "required",
    [CW_SE_ADDITIONAL_PROPERTY] = "additional_property_not_allowed",
    [CW_SE_ENUM] = "enum",
    [CW_SE_NUMBER_GTE] = "number_gte",
    [CW_SE_NUMBER_GT] = "number_gt",
    [CW_SE_NUMBER_LTE] = "number_lte",
    [CW_SE_NUMBER_LT] = "number_lt",
    [CW_SE_STRING_GTE] = "string_gte",
    [CW_SE_STRING_LTE] = "string_lte",
    [CW_SE_PATTERN] = "pattern",
    [CW_SE_ARRAY_MIN_ITEMS] = "array_min_items",
    [CW_SE_ARRAY_MAX_ITEMS] = "array_max_items",
    [CW_SE_UNIQUE] = "unique",
    [CW_SE_MIN_PROPERTIES] = "array_min_properties",
    [CW_SE_MAX_PROPERTIES] = "array_max_properties",
    [CW_SE_NUMBER_ONE_OF] = "number_one_of",
    [CW_SE_NUMBER_ANY_OF] = "number_any_of",
    [CW_SE_NUMBER_ALL_OF] = "number_all_of",
    [CW_SE_NUMBER_NOT] = "number_not",
    [CW_SE_CONST] = "const",
};

const char *cw_schema_err_name(enum cw_schema_err e)
{
    return (unsigned)e < CW_SE_COUNT ? err_names[e] : "unknown";
}

int cw_schema_err_is_summary(enum cw_schema_err e)
{
    return e == CW_SE_NUMBER_ONE_OF || e == CW_SE_NUMBER_ANY_OF || e == CW_SE_NUMBER_ALL_OF ||
           e == CW_SE_NUMBER_NOT;
}

/* ---- paths and value formatting ---- */

static int plain_key(const char *k)
{
    if (!*k)
        return 0;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

char *cw_path_key(const char *path, const char *key)
{
    char *out = NULL;
    int n;
    if (plain_key(key))
        n = asprintf(&out, "%s%s%s", path, *path ? "." : "", key);
    else
        n = asprintf(&out, "%s[\"%s\"]", path, key);
    return n < 0 ? NULL : out;
}

char *cw_path_index(const char *path, size_t index)
{
    char *out = NULL;
    return asprintf(&out, "%s[%zu]", path, index) < 0 ? NULL : out;
}

void cw_json_brief(const json_t *v, char *out, size_t outlen)
{
    if (!v) {
        snprintf(out, outlen, "nothing");
    } else if (json_is_object(v)) {
        snprintf(out, outlen, json_object_size(v) ? "an object" : "an empty object");
    } else if (json_is_array(v)) {
        snprintf(out, outlen, json_array_size(v) ? "an array" : "an empty array");
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (!s) {
            snprintf(out, outlen, "a value");
            return;
        }
        if (strlen(s) > 80)
            snprintf(out, outlen, "%.77s...", s);
        else
            snprintf(out, outlen, "%s", s);
        free(s);
    }
}

int cw_json_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!cw_json_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        const json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, v)
        {
            const json_t *w = json_object_get(b, k);
            if (!w || !cw_json_equal(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* ---- results ---- */

static void add_error(struct cw_schema_result *r, enum cw_schema_err type, const json_t *node,
                      const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add_error(struct cw_schema_result *r, enum cw_schema_err type, const json_t *node,
                      const char *path, const char *key, const char *fmt, ...)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct cw_schema_error *e = realloc(r->errors, cap * sizeof *e);
        if (!e)
            return;
        r->errors = e;
        r->cap = cap;
    }
    struct cw_schema_error *e = &r->errors[r->n];
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&e->msg, fmt, ap) < 0)
        e->msg = NULL;
    va_end(ap);
    e->type = type;
    e->node = node;
    e->path = strdup(path);
    e->key = key ? strdup(key) : NULL;
    e->hidden = 0;
    r->n++;
}

void cw_schema_result_free(struct cw_schema_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->errors[i].msg);
        free(r->errors[i].path);
        free(r->errors[i].key);
    }
    free(r->errors);
    memset(r, 0, sizeof *r);
}

/* Moves every error of `from` into `to` and empties `from`. */
static void merge_errors(struct cw_schema_result *to, struct cw_schema_result *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n == to->cap) {
            size_t cap = to->cap ? to->cap * 2 : 8;
            struct cw_schema_error *e = realloc(to->errors, cap * sizeof *e);
            if (!e)
                break;
            to->errors = e;
            to->cap = cap;
        }
        to->errors[to->n++] = from->errors[i];
        from->errors[i].msg = from->errors[i].path = from->errors[i].key = NULL;
    }
    cw_schema_result_free(from);
}

/* ---- the validator ---- */

struct vctx {
    const json_t *root; /* the schema document */
    int depth;
};

#define MAX_DEPTH 64 /* the schema nests about 15 deep; guards against $ref cycles */

static void validate(struct vctx *c, const json_t *schema, const json_t *node, const char *path,
                     struct cw_schema_result *r);

/* Resolves "#/a/b" in the schema document (JSON pointer, ~0 ~1 escapes). */
static const json_t *resolve_ref(const json_t *root, const char *ref)
{
    if (strncmp(ref, "#", 1) != 0)
        return NULL;
    const json_t *cur = root;
    const char *p = ref + 1;
    while (*p == '/') {
        p++;
        char tok[256];
        size_t n = 0;
        while (*p && *p != '/' && n + 1 < sizeof tok) {
            if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = p[1] == '0' ? '~' : '/';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = 0;
        cur = json_object_get(cur, tok);
        if (!cur)
            return NULL;
    }
    return cur;
}

static int type_listed(const json_t *types, const char *t)
{
    if (json_is_string(types))
        return strcmp(json_string_value(types), t) == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(types, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), t) == 0) return 1;
    return 0;
}

static void types_text(const json_t *types, char *out, size_t outlen)
{
    if (json_is_string(types)) {
        snprintf(out, outlen, "%s", json_string_value(types));
        return;
    }
    size_t i, len = 0;
    const json_t *v;
    out[0] = 0;
    json_array_foreach(types, i, v)
    {
        int n = snprintf(out + len, outlen - len, "%s%s", i ? " or " : "", json_string_value(v));
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
}

static int is_integer_value(const json_t *v)
{
    if (json_is_integer(v))
        return 1;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) && floor(d) == d;
    }
    return 0;
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return is_integer_value(v) ? "integer" : "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* gojsonschema's type gate: 1 when the value's type is allowed (or no type is given). */
static int type_ok(const json_t *schema, const json_t *node)
{
    const json_t *types = json_object_get(schema, "type");
    if (!types)
        return 1;
    const char *k = kind_of(node);
    if (strcmp(k, "integer") == 0)
        return type_listed(types, "integer") || type_listed(types, "number");
    return type_listed(types, k);
}

/* Runs `sub` on `node` into a fresh result. */
static void sub_validate(struct vctx *c, const json_t *sub, const json_t *node, const char *path,
                         struct cw_schema_result *out)
{
    memset(out, 0, sizeof *out);
    validate(c, sub, node, path, out);
}

/* For an anyOf whose branches are all {"required": [KEY]} (procstat's pid_file/exe/pattern,
 * logs' logs_collected/metrics_collected), writes "\"a\", \"b\"" into out and returns 1. */
static int required_alternatives(const json_t *list, char *out, size_t outlen)
{
    size_t i, len = 0;
    const json_t *sub;
    out[0] = 0;
    json_array_foreach(list, i, sub)
    {
        const json_t *req = json_object_get(sub, "required");
        if (json_object_size(sub) != 1 || json_array_size(req) != 1 ||
            !json_is_string(json_array_get(req, 0)))
            return 0;
        int n = snprintf(out + len, outlen - len, "%s\"%s\"", i ? ", " : "",
                         json_string_value(json_array_get(req, 0)));
        if (n < 0 || (size_t)n >= outlen - len)
            return 0;
        len += (size_t)n;
    }
    return len > 0;
}

static void check_any_of(struct vctx *c, const json_t *list, const json_t *node, const char *path,
                         struct cw_schema_result *r)
{
    struct cw_schema_result best = {0};
    int have_best = 0, ok = 0;
    size_t i;
    const json_t *sub;
    json_array_foreach(list, i, sub)
    {
        struct cw_schema_result sr;
        sub_validate(c, sub, node, path, &sr);
        if (sr.n == 0) {
            ok = 1;
            cw_schema_result_free(&sr);
            break;
        }
        if (!have_best || sr.score > best.score) {
            cw_schema_result_free(&best);
            best = sr;
            have_best = 1;
        } else {
            cw_schema_result_free(&sr);
        }
    }
    if (!ok) {
        char b[96], keys[512];
        size_t first = r->n + 1;
        int req_only = required_alternatives(list, keys, sizeof keys);
        cw_json_brief(node, b, sizeof b);
        if (req_only)
            add_error(r, CW_SE_NUMBER_ANY_OF, node, path, NULL,
                      "found none of %s, expected at least one of them", keys);
        else
            add_error(r, CW_SE_NUMBER_ANY_OF, node, path, NULL,
                      "found %s, expected a value matching at least one of the allowed forms", b);
        merge_errors(r, &best);
        for (size_t k = first; req_only && k < r->n; k++)
            r->errors[k].hidden = 1;
    }
    cw_schema_result_free(&best);
}

static void check_one_of(struct vctx *c, const json_t *list, const json_t *node, const char *path,
                         struct cw_schema_result *r)
{
    struct cw_schema_result best = {0};
    int have_best = 0, nvalid = 0;
    size_t i;
    const json_t *sub;
    json_array_foreach(list, i, sub)
    {
        struct cw_schema_result sr;
        sub_validate(c, sub, node, path, &sr);
        if (sr.n == 0) {
            nvalid++;
        } else if (nvalid == 0 && (!have_best || sr.score > best.score)) {
            cw_schema_result_free(&best);
            best = sr;
            have_best = 1;
            continue;
        }
        cw_schema_result_free(&sr);
    }
    if (nvalid != 1) {
        char b[96];
        cw_json_brief(node, b, sizeof b);
        add_error(r, CW_SE_NUMBER_ONE_OF, node, path, NULL,
                  "found %s, expected a value matching exactly one of the allowed forms", b);
        if (nvalid == 0)
            merge_errors(r, &best);
    }
    cw_schema_result_free(&best);
}

static void check_all_of(struct vctx *c, const json_t *list, const json_t *node, const char *path,
                         struct cw_schema_result *r)
{
    size_t i, nvalid = 0;
    const json_t *sub;
    json_array_foreach(list, i, sub)
    {
        struct cw_schema_result sr;
        sub_validate(c, sub, node, path, &sr);
        if (sr.n == 0)
            nvalid++;
        merge_errors(r, &sr);
    }
    if (nvalid != json_array_size(list)) {
        char b[96];
        cw_json_brief(node, b, sizeof b);
        add_error(r, CW_SE_NUMBER_ALL_OF, node, path, NULL,
                  "found %s, expected a value matching all of the required forms", b);
    }
}

/* gojsonschema's validateSchema: the combinators. */
static void validate_combinators(struct vctx *c, const json_t *schema, const json_t *node,
                                 const char *path, struct cw_schema_result *r)
{
    const json_t *v;
    if ((v = json_object_get(schema, "anyOf")) && json_array_size(v))
        check_any_of(c, v, node, path, r);
    if ((v = json_object_get(schema, "oneOf")) && json_array_size(v))
        check_one_of(c, v, node, path, r);
    if ((v = json_object_get(schema, "allOf")) && json_array_size(v))
        check_all_of(c, v, node, path, r);
    if ((v = json_object_get(schema, "not")) && json_is_object(v)) {
        struct cw_schema_result sr;
        sub_validate(c, v, node, path, &sr);
        if (sr.n == 0) {
            char b[96];
            cw_json_brief(node, b, sizeof b);
            add_error(r, CW_SE_NUMBER_NOT, node, path, NULL, "found %s, expected anything else", b);
        }
        cw_schema_result_free(&sr);
    }
    r->score++;
}

static void enum_text(const json_t *list, char *out, size_t outlen)
{
    size_t i, len = 0;
    const json_t *v;
    out[0] = 0;
    json_array_foreach(list, i, v)
    {
        char b[96];
        cw_json_brief(v, b, sizeof b);
        int n = snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", b);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
}

/* gojsonschema's validateCommon: const and enum. */
static void validate_common(const json_t *schema, const json_t *node, const char *path,
                            struct cw_schema_result *r)
{
    const json_t *v;
    char b[96];
    if ((v = json_object_get(schema, "const")) && !cw_json_equal(v, node)) {
        char w[96];
        cw_json_brief(node, b, sizeof b);
        cw_json_brief(v, w, sizeof w);
        add_error(r, CW_SE_CONST, node, path, NULL, "found %s, expected %s", b, w);
    }
    if ((v = json_object_get(schema, "enum")) && json_is_array(v)) {
        size_t i;
        const json_t *e;
        int found = 0;
        json_array_foreach(v, i, e) if (cw_json_equal(e, node))
        {
            found = 1;
            break;
        }
        if (!found) {
            char list[512];
            enum_text(v, list, sizeof list);
            cw_json_brief(node, b, sizeof b);
            add_error(r, CW_SE_ENUM, node, path, NULL, "found %s, expected one of %s", b, list);
        }
    }
    r->score++;
}

static void validate_number(const json_t *schema, const json_t *node, const char *path,
                            struct cw_schema_result *r)
{
    double x = json_number_value(node);
    const json_t *v;
    char b[96];
    cw_json_brief(node, b, sizeof b);
    if ((v = json_object_get(schema, "maximum")) && json_is_number(v)) {
        double m = json_number_value(v);
        if (json_is_true(json_object_get(schema, "exclusiveMaximum")) ? x >= m : x > m)
            add_error(r,
                      json_is_true(json_object_get(schema, "exclusiveMaximum")) ? CW_SE_NUMBER_LT
                                                                                : CW_SE_NUMBER_LTE,
                      node, path, NULL, "found %s, expected a number %s %.17g", b,
                      json_is_true(json_object_get(schema, "exclusiveMaximum")) ? "<" : "<=", m);
    }
    if ((v = json_object_get(schema, "minimum")) && json_is_number(v)) {
        double m = json_number_value(v);
        if (json_is_true(json_object_get(schema, "exclusiveMinimum")) ? x <= m : x < m)
            add_error(r,
                      json_is_true(json_object_get(schema, "exclusiveMinimum")) ? CW_SE_NUMBER_GT
                                                                                : CW_SE_NUMBER_GTE,
                      node, path, NULL, "found %s, expected a number %s %.17g", b,
                      json_is_true(json_object_get(schema, "exclusiveMinimum")) ? ">" : ">=", m);
    }
    r->score++;
}

/* Length in Unicode code points (gojsonschema counts runes). */
static size_t utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

static int regex_matches(const char *re, const char *s, size_t n)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (!code)
        return 1; /* an unusable pattern in the schema does not fail the user's config */
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = md ? pcre2_match(code, (PCRE2_SPTR)s, n, 0, 0, md, NULL) : 0;
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return rc >= 0;
}

static void validate_string(const json_t *schema, const json_t *node, const char *path,
                            struct cw_schema_result *r)
{
    size_t len = utf8_len(json_string_value(node), json_string_length(node));
    const json_t *v;
    char b[96];
    cw_json_brief(node, b, sizeof b);
    if ((v = json_object_get(schema, "minLength")) && json_is_integer(v) &&
        (json_int_t)len < json_integer_value(v))
        add_error(r, CW_SE_STRING_GTE, node, path, NULL,
                  "found %s, expected a string of at least %" JSON_INTEGER_FORMAT " character(s)",
                  b, json_integer_value(v));
    if ((v = json_object_get(schema, "maxLength")) && json_is_integer(v) &&
        (json_int_t)len > json_integer_value(v))
        add_error(r, CW_SE_STRING_LTE, node, path, NULL,
                  "found %s, expected a string of at most %" JSON_INTEGER_FORMAT " character(s)", b,
                  json_integer_value(v));
    if ((v = json_object_get(schema, "pattern")) && json_is_string(v) &&
        !regex_matches(json_string_value(v), json_string_value(node), json_string_length(node)))
        add_error(r, CW_SE_PATTERN, node, path, NULL, "found %s, expected a string matching %s", b,
                  json_string_value(v));
    r->score++;
}

static void check_unique(const json_t *node, const char *path, struct cw_schema_result *r)
{
    size_t n = json_array_size(node);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cw_json_equal(json_array_get(node, i), json_array_get(node, j))) {
                char b[96];
                cw_json_brief(json_array_get(node, j), b, sizeof b);
                add_error(r, CW_SE_UNIQUE, node, path, NULL,
                          "found %s twice (items %zu and %zu), expected unique items", b, i, j);
                return; /* gojsonschema reports the first duplicate only */
            }
}

static void validate_array(struct vctx *c, const json_t *schema, const json_t *node,
                           const char *path, struct cw_schema_result *r)
{
    const json_t *items = json_object_get(schema, "items"), *v;
    size_t n = json_array_size(node);
    for (size_t i = 0; i < n && items; i++) {
        const json_t *sub = json_is_array(items) ? json_array_get(items, i) : items;
        if (!json_is_object(sub))
            continue;
        char *p = cw_path_index(path, i);
        if (p)
            validate(c, sub, json_array_get(node, i), p, r);
        free(p);
    }
    if ((v = json_object_get(schema, "minItems")) && json_is_integer(v) &&
        (json_int_t)n < json_integer_value(v))
        add_error(r, CW_SE_ARRAY_MIN_ITEMS, node, path, NULL,
                  "found %zu item(s), expected at least %" JSON_INTEGER_FORMAT, n,
                  json_integer_value(v));
    if ((v = json_object_get(schema, "maxItems")) && json_is_integer(v) &&
        (json_int_t)n > json_integer_value(v))
        add_error(r, CW_SE_ARRAY_MAX_ITEMS, node, path, NULL,
                  "found %zu item(s), expected at most %" JSON_INTEGER_FORMAT, n,
                  json_integer_value(v));
    if (json_is_true(json_object_get(schema, "uniqueItems")))
        check_unique(node, path, r);
    r->score++;
}

static void keys_text(const json_t *props, char *out, size_t outlen)
{
    const char *k;
    const json_t *v;
    size_t len = 0;
    int first = 1;
    out[0] = 0;
    json_object_foreach((json_t *)props, k, v)
    {
        int n = snprintf(out + len, outlen - len, "%s%s", first ? "" : ", ", k);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
        first = 0;
    }
}

static int pattern_property(const json_t *pp, const char *key)
{
    const char *re;
    const json_t *v;
    if (!pp)
        return 0;
    json_object_foreach((json_t *)pp, re, v) if (regex_matches(re, key, strlen(key))) return 1;
    return 0;
}

static void check_additional(struct vctx *c, const json_t *schema, const json_t *node,
                             const char *path, struct cw_schema_result *r)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *pp = json_object_get(schema, "patternProperties");
    const json_t *ap = json_object_get(schema, "additionalProperties");
    const char *k;
    const json_t *v;
    if (!ap || json_is_true(ap))
        return;
    json_object_foreach((json_t *)node, k, v)
    {
        if ((props && json_object_get(props, k)) || pattern_property(pp, k))
            continue;
        char *p = cw_path_key(path, k);
        if (!p)
            continue;
        if (json_is_false(ap)) {
            char allowed[1024];
            keys_text(props, allowed, sizeof allowed);
            add_error(r, CW_SE_ADDITIONAL_PROPERTY, v, p, NULL,
                      "found unknown key \"%s\", expected one of: %s", k,
                      *allowed ? allowed : "(no keys)");
        } else if (json_is_object(ap)) {
            validate(c, ap, v, p, r);
        }
        free(p);
    }
}

static void validate_object(struct vctx *c, const json_t *schema, const json_t *node,
                            const char *path, struct cw_schema_result *r)
{
    const json_t *v;
    size_t n = json_object_size(node);
    if ((v = json_object_get(schema, "maxProperties")) && json_is_integer(v) &&
        (json_int_t)n > json_integer_value(v))
        add_error(r, CW_SE_MAX_PROPERTIES, node, path, NULL,
                  "found %zu key(s), expected at most %" JSON_INTEGER_FORMAT, n,
                  json_integer_value(v));
    if ((v = json_object_get(schema, "minProperties")) && json_is_integer(v) &&
        (json_int_t)n < json_integer_value(v))
        add_error(r, CW_SE_MIN_PROPERTIES, node, path, NULL,
                  "found %zu key(s), expected at least %" JSON_INTEGER_FORMAT, n,
                  json_integer_value(v));
    if ((v = json_object_get(schema, "required")) && json_is_array(v)) {
        size_t i;
        const json_t *req;
        json_array_foreach(v, i, req)
        {
            const char *k = json_string_value(req);
            if (k && !json_object_get(node, k)) {
                char *p = cw_path_key(path, k);
                add_error(r, CW_SE_REQUIRED, node, p ? p : path, k,
                          "found nothing, expected the required key \"%s\"", k);
                free(p);
            }
        }
    }
    check_additional(c, schema, node, path, r);
    /* patternProperties values */
    const json_t *pp = json_object_get(schema, "patternProperties");
    const char *re, *k;
    const json_t *sub, *val;
    if (pp)
        json_object_foreach((json_t *)pp, re, sub) json_object_foreach((json_t *)node, k, val)
        {
            if (!regex_matches(re, k, strlen(k)))
                continue;
            char *p = cw_path_key(path, k);
            if (p)
                validate(c, sub, val, p, r);
            free(p);
        }
    r->score++;
}

static void validate_properties(struct vctx *c, const json_t *schema, const json_t *node,
                                const char *path, struct cw_schema_result *r)
{
    const json_t *props = json_object_get(schema, "properties"), *sub;
    const char *k;
    if (!json_is_object(props))
        return;
    json_object_foreach((json_t *)props, k, sub)
    {
        const json_t *val = json_object_get(node, k);
        if (!val || !json_is_object(sub))
            continue;
        char *p = cw_path_key(path, k);
        if (p)
            validate(c, sub, val, p, r);
        free(p);
    }
}

static void validate(struct vctx *c, const json_t *schema, const json_t *node, const char *path,
                     struct cw_schema_result *r)
{
    const json_t *ref = json_object_get(schema, "$ref");
    if (c->depth >= MAX_DEPTH)
        return;
    c->depth++;
    if (json_is_string(ref)) {
        const json_t *target = resolve_ref(c->root, json_string_value(ref));
        if (target)
            validate(c, target, node, path, r);
        c->depth--;
        return;
    }
    if (!type_ok(schema, node)) {
        char b[96], t[96];
        cw_json_brief(node, b, sizeof b);
        types_text(json_object_get(schema, "type"), t, sizeof t);
        add_error(r, CW_SE_INVALID_TYPE, node, path, NULL, "found %s (%s), expected %s", b,
                  kind_of(node), t);
        c->depth--;
        return;
    }
    validate_combinators(c, schema, node, path, r);
    if (json_is_number(node))
        validate_number(schema, node, path, r);
    else if (json_is_string(node))
        validate_string(schema, node, path, r);
    else if (json_is_array(node))
        validate_array(c, schema, node, path, r);
    else if (json_is_object(node))
        validate_object(c, schema, node, path, r);
    validate_common(schema, node, path, r);
    if (json_is_object(node))
        validate_properties(c, schema, node, path, r);
    r->score++;
    c->depth--;
}

int cw_schema_validate(const json_t *doc, struct cw_schema_result *out)
{
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    json_t *schema = json_loads(cw_schema_json, 0, &jerr);
    if (!schema)
        return -1;
    struct vctx c = {.root = schema, .depth = 0};
    validate(&c, schema, doc, "", out);
    json_decref(schema);
    return 0;
}
