/* config/internal.h — shared between the files of the config module only (not part of its API;
 * agent code includes config/config.h). Tests include it to reach the schema validator and the
 * merge step directly.
 *
 * The pipeline: load.c reads and parses every source, records where each JSON value came from
 * (file and path inside that file), and merges the sources; schema.c validates the merged tree
 * against the reference agent's schema.json; model.c runs the semantic checks, reports keys
 * cwagent does not implement, and builds the typed struct cw_config; placeholder.c resolves
 * {instance_id}-style and ${aws:...}/${ENV} placeholders; show.c turns the model back into JSON.
 */
#ifndef CW_CONFIG_INTERNAL_H
#define CW_CONFIG_INTERNAL_H

#include "config/config.h"

#include <jansson.h>
#include <stddef.h>

/* The reference schema text, generated into schema_data.c by config/gen_schema.sh. */
extern const char cw_schema_json[];

/* gojsonschema's error types (the names its ResultError.Type() returns). */
enum cw_schema_err {
    CW_SE_INVALID_TYPE = 0,
    CW_SE_REQUIRED,
    CW_SE_ADDITIONAL_PROPERTY,
    CW_SE_ENUM,
    CW_SE_NUMBER_GTE,
    CW_SE_NUMBER_GT,
    CW_SE_NUMBER_LTE,
    CW_SE_NUMBER_LT,
    CW_SE_STRING_GTE,
    CW_SE_STRING_LTE,
    CW_SE_PATTERN,
    CW_SE_ARRAY_MIN_ITEMS,
    CW_SE_ARRAY_MAX_ITEMS,
    CW_SE_UNIQUE,
    CW_SE_MIN_PROPERTIES,
    CW_SE_MAX_PROPERTIES,
    CW_SE_NUMBER_ONE_OF,
    CW_SE_NUMBER_ANY_OF,
    CW_SE_NUMBER_ALL_OF,
    CW_SE_NUMBER_NOT,
    CW_SE_CONST,
    CW_SE_COUNT
};

/* Returns gojsonschema's name for an error type ("invalid_type", "required", ...). */
const char *cw_schema_err_name(enum cw_schema_err e);

/* One schema violation. `node` is the offending instance value (borrowed from the validated
 * tree), `key` the missing or unexpected key below it (or NULL), `path` the path in the
 * validated tree, `msg` "found ..., expected ...". */
struct cw_schema_error {
    enum cw_schema_err type;
    const json_t *node;
    char *key;
    char *path;
    char *msg;
    int hidden; /* counted like gojsonschema does, but a clearer summary line says it */
};

struct cw_schema_result {
    struct cw_schema_error *errors;
    size_t n, cap;
    int score; /* gojsonschema's "how far did validation get", used to pick oneOf/anyOf branches */
};

/* Validates `doc` against the embedded schema. Returns 0 when validation ran (the result may
 * hold errors), -1 when the schema itself could not be loaded. The caller frees `out` with
 * cw_schema_result_free. */
int cw_schema_validate(const json_t *doc, struct cw_schema_result *out);
void cw_schema_result_free(struct cw_schema_result *r);
/* Non-zero for errors that summarise sub-errors (oneOf/anyOf/allOf/not). */
int cw_schema_err_is_summary(enum cw_schema_err e);

/* Path helpers: appends ".key" (or ["key"] when the key is not a plain identifier) or "[i]" to
 * a path; the caller frees the result. An empty path is the document root. */
char *cw_path_key(const char *path, const char *key);
char *cw_path_index(const char *path, size_t index);
/* A short printable form of a JSON value for messages ("\"abc\"", "12", "an object"). */
void cw_json_brief(const json_t *v, char *out, size_t outlen);
/* Numeric-aware deep equality (1 and 1.0 are equal), as gojsonschema and reflect.DeepEqual of
 * decoded JSON see it. */
int cw_json_equal(const json_t *a, const json_t *b);

/* Where the values of the merged tree came from: one record per subtree inserted by the merge
 * (merged path -> file and path inside that file). A path's origin is its longest recorded
 * prefix. */
struct cw_origin {
    char *merged_path;
    size_t file;
    char *file_path;
};

/* Load context: sources, origins and diagnostics collected while loading. */
struct cw_load_ctx {
    char **files; /* display names of the sources, in load order */
    size_t n_files;
    struct cw_origin *origins;
    size_t n_origins, cap_origins;
    struct cw_config_diag *diag;
};

/* Reports an error or warning about the value at `path` (a path in the merged tree); the line
 * becomes "FILE: PATH-IN-THAT-FILE: message". */
void cw_load_report(struct cw_load_ctx *lc, int is_error, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a ready line to the diagnostics. */
void cw_diag_add(struct cw_config_diag *d, int is_error, const char *line);

/* model.c: semantic checks, not-supported warnings and the typed model from the merged,
 * schema-valid tree. Returns 0, or -1 when an error was reported (then *out is NULL). */
int cw_model_build(struct cw_load_ctx *lc, const json_t *root, const struct cw_config_meta *meta,
                   struct cw_config **out);

/* placeholder.c */
/* Expands ${NAME} environment references (NAME = [A-Za-z_][A-Za-z0-9_]*) using `getenv_fn`
 * (getenv in production). Unset names expand to "" and are listed in *unset (a malloc'd,
 * comma-separated list, or NULL). Returns a malloc'd string or NULL on allocation failure. */
char *cw_expand_env(const char *s, const char *(*getenv_fn)(const char *), char **unset);
/* Replaces {instance_id}, {hostname}, {local_hostname}, {ip_address}, {aws_region},
 * {account_id} and {date} using `meta` (unknown values become the reference's UNKNOWN
 * strings). `region` is the effective region (may be NULL). Returns a malloc'd string. */
char *cw_resolve_placeholders(const char *s, const struct cw_config_meta *meta, const char *region);
/* Resolves one plugin-level append_dimensions value. Values without "${aws:" are copied.
 * Returns 0 and a malloc'd *out (NULL = drop the dimension, like the reference for an unknown
 * AutoScalingGroupName), or -1 when the ${aws:...} key is not one cwagent resolves. */
int cw_resolve_aws_value(const char *value, const struct cw_config_meta *meta, char **out);

/* show.c */
json_t *cw_config_to_json_tree(const struct cw_config *c);

#endif
