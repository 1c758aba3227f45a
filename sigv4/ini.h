/* ini — the INI dialect of the AWS shared config and credentials files.
 *
 * "[section]" headers, "key = value" lines, comments on lines starting with '#' or ';', blank
 * lines ignored. Indented lines after a key (nested sub-properties such as "s3 =\n  x = y") are
 * skipped. Names and values are trimmed; values are kept verbatim otherwise (no inline comments,
 * no quoting). When a section repeats, its keys merge; when a key repeats, the last one wins.
 * Malformed lines (no '=', unterminated '[') are skipped and counted.
 *
 * Values may be secrets: ini_free wipes everything.
 */
#ifndef CW_INI_H
#define CW_INI_H

#include <stddef.h>

#define INI_MAX_ENTRIES 4096 /* a generous cap for a hand-written profile file */

struct ini;

/* Parses text[0..len). Returns NULL when memory is exhausted. */
struct ini *ini_parse(const char *text, size_t len);
void ini_free(struct ini *ini);

/* Value of key in section (exact, case-sensitive names), borrowed until ini_free; NULL if absent.
 */
const char *ini_get(const struct ini *ini, const char *section, const char *key);
/* Non-zero when the section appeared (even empty). */
int ini_has_section(const struct ini *ini, const char *section);
/* Number of malformed lines skipped. */
size_t ini_bad_lines(const struct ini *ini);

#endif
