/* Parsed TOML -> toml-test tagged JSON. See toml-json.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml-json.h"

void toml_json_format_float(double d, char *buf, size_t len)
{
	if (isnan(d)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, len, "%s", d < 0 ? "-inf" : "inf");
		return;
	}
	/* %.17g always round-trips but prints 0.1 as 0.10000000000000001:
	 * take the first precision that reads back exactly. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* Keep it recognisably a float: "1" -> "1.0". */
	if (!strpbrk(buf, ".e") && strlen(buf) + 3 <= len)
		strcat(buf, ".0");
}

void toml_json_format_datetime(const struct toml_value *v, char *buf, size_t len)
{
	const struct toml_datetime *dt = &v->u.dt;
	char date[16], time[32], frac[16] = "", off[16] = "";

	if (dt->frac_digits > 0) {
		int nd = dt->frac_digits > 9 ? 9 : dt->frac_digits;
		int ns = dt->nanosecond;

		for (int i = nd; i < 9; i++)
			ns /= 10;
		snprintf(frac, sizeof(frac), ".%0*d", nd, ns);
	}
	snprintf(date, sizeof(date), "%04d-%02d-%02d", dt->year, dt->month, dt->day);
	snprintf(time, sizeof(time), "%02d:%02d:%02d%s", dt->hour, dt->minute, dt->second, frac);
	if (dt->offset_z) {
		strcpy(off, "Z");
	} else {
		int m = abs(dt->offset_minutes);

		snprintf(off, sizeof(off), "%c%02d:%02d",
			 dt->offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
	}
	switch (v->type) {
	case TOML_DATE_LOCAL:
		snprintf(buf, len, "%s", date);
		break;
	case TOML_TIME_LOCAL:
		snprintf(buf, len, "%s", time);
		break;
	case TOML_DATETIME_LOCAL:
		snprintf(buf, len, "%sT%s", date, time);
		break;
	default:
		snprintf(buf, len, "%sT%s%s", date, time, off);
		break;
	}
}

static json_t *tagged(const char *type, const char *value, size_t len)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "type", json_string(type)) < 0 ||
	    json_object_set_new(o, "value", json_stringn(value, len)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_scalar(const struct toml_value *v)
{
	char buf[64];

	switch (v->type) {
	case TOML_STRING:
		return tagged("string", v->u.str.ptr, v->u.str.len);
	case TOML_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->u.integer);
		break;
	case TOML_FLOAT:
		toml_json_format_float(v->u.fp, buf, sizeof(buf));
		break;
	case TOML_BOOL:
		snprintf(buf, sizeof(buf), "%s", v->u.boolean ? "true" : "false");
		break;
	default:
		toml_json_format_datetime(v, buf, sizeof(buf));
		break;
	}
	return tagged(toml_type_name(v->type), buf, strlen(buf));
}

/* See TOML_JSON_ESCAPE_KEYS. */
static char *escape_key(const char *k, size_t n, size_t *out_len)
{
	char *e = malloc(2 * n + 1);
	size_t o = 0;

	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (k[i] == '\\' || k[i] == '\0') {
			e[o++] = '\\';
			e[o++] = k[i] ? '\\' : '0';
		} else {
			e[o++] = k[i];
		}
	}
	e[o] = '\0';
	*out_len = o;
	return e;
}

static int set_key(json_t *obj, const struct toml_keyval *kv, json_t *child, unsigned flags)
{
	char *key;
	size_t len;
	int r;

	if (!(flags & TOML_JSON_ESCAPE_KEYS))
		return json_object_setn_new(obj, kv->key, kv->key_len, child);
	key = escape_key(kv->key, kv->key_len, &len);
	if (!key) {
		json_decref(child);
		return -1;
	}
	r = json_object_setn_new(obj, key, len, child);
	free(key);
	return r;
}

/* Recursion is bounded: the parser caps nesting depth. */
json_t *toml_json_encode(const struct toml_value *v, unsigned flags)
{
	json_t *out;

	if (v->type == TOML_TABLE) {
		out = json_object();
		for (size_t i = 0; out && i < v->u.table.len; i++) {
			const struct toml_keyval *kv = &v->u.table.items[i];
			json_t *child = toml_json_encode(kv->value, flags);

			if (!child || set_key(out, kv, child, flags) < 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	}
	if (v->type == TOML_ARRAY) {
		out = json_array();
		for (size_t i = 0; out && i < v->u.array.len; i++) {
			json_t *child = toml_json_encode(v->u.array.items[i], flags);

			if (!child || json_array_append_new(out, child) < 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	}
	return encode_scalar(v);
}
