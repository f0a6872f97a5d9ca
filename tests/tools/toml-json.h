/* Encode a parsed TOML tree as the tagged JSON of toml-test:
 * {"type": "integer", "value": "42"} for every value, objects for tables,
 * arrays for arrays. Shared by toml-decode, toml-test-suite and the fuzzer. */
#ifndef NUCLEUS_TOML_JSON_H
#define NUCLEUS_TOML_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "nucleus/util.h"

/* jansson cannot decode JSON object keys that contain "\u0000", which
 * toml-test uses. With this flag keys are escaped injectively (backslash
 * -> two backslashes, NUL -> backslash '0') so the test suite can compare
 * against expected JSON that it escaped the same way before decoding. */
#define TOML_JSON_ESCAPE_KEYS 1u

/* NULL when out of memory. */
json_t *toml_json_encode(const struct toml_value *v, unsigned flags);

/* Shortest text that reads back as the same double; "nan", "inf", "-inf". */
void toml_json_format_float(double d, char *buf, size_t len);

/* RFC 3339 text of a datetime, local datetime, local date or local time;
 * the fraction of a second has as many digits as were written (max 9). */
void toml_json_format_datetime(const struct toml_value *v, char *buf, size_t len);

#endif
