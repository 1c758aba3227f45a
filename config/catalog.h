/* catalog — measurement names per metrics plugin and CloudWatch unit names (config-internal;
 * collectors own the metrics themselves). */
#ifndef CW_CONFIG_CATALOG_H
#define CW_CONFIG_CATALOG_H

/* The registered fields of a plugin ("cpu", ..., "procstat"), NULL-terminated; NULL when the
 * plugin is unknown. */
const char *const *cw_catalog_fields(const char *plugin);
/* The registered field a measurement name denotes, with or without the "<plugin>_" prefix
 * ("cpu_usage_idle" and "usage_idle" -> "usage_idle"); NULL when not registered. The result
 * points into `name` or the catalog. */
const char *cw_catalog_field(const char *plugin, const char *name);
/* 0 for registered fields cwagent does not collect (diskio NVMe ebs_* / instance_store_*). */
int cw_catalog_field_supported(const char *plugin, const char *field);
/* The canonical CloudWatch unit name for `unit` (case-insensitive), or NULL. */
const char *cw_catalog_unit(const char *unit);

#endif
