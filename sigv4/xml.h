/* xml — a tiny, bounded extractor for the flat XML answers of awsQuery services (STS, and the
 * <ErrorResponse> of CloudWatch). It is not a parser: it finds the first element with a given
 * local name and hands back a borrowed view of its content, which is enough for documents whose
 * shape is known (AssumeRoleResponse/Credentials/AccessKeyId ...). It never reads outside
 * [doc, doc + len), allocates nothing, and treats a missing end tag (truncated XML) as absent.
 */
#ifndef CW_XML_H
#define CW_XML_H

#include <stddef.h>

/* Finds the first element whose local name (namespace prefix ignored) is `name` in
 * [doc, doc + len). On success *content / *clen view the bytes between its start and end tags
 * (empty for <name/>). Returns 0, or -1 when absent or unterminated. Nested elements of the same
 * name are not supported. */
int xml_find(const char *doc, size_t len, const char *name, const char **content, size_t *clen);

/* Copies text content into out (NUL-terminated), decoding &lt; &gt; &amp; &quot; &apos; and
 * numeric character references below 128, and unwrapping <![CDATA[...]]>. Returns 0, or -1 when
 * out is too small, an entity is malformed, or the content holds markup (a child element). */
int xml_text(const char *content, size_t clen, char *out, size_t outlen);

/* xml_find then xml_text in one call. */
int xml_get(const char *doc, size_t len, const char *name, char *out, size_t outlen);

#endif
