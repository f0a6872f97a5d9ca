/* Column-aligned output with widths from the content, as docker prints. */
#include <stdarg.h>
#include <string.h>
#include <nucleus/cli.h>

void text_table_add(struct text_table *t, ...)
{
	va_list ap;

	t->rows = xrealloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
	t->rows[t->nrows] = xcalloc(t->ncols, sizeof(char *));
	va_start(ap, t);
	for (size_t c = 0; c < t->ncols; c++)
		t->rows[t->nrows][c] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	t->nrows++;
}

size_t display_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void text_table_print(struct text_table *t, FILE *out)
{
	size_t *w = xcalloc(t->ncols, sizeof(size_t));

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (display_width(t->rows[r][c]) > w[c])
				w[c] = display_width(t->rows[r][c]);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->rows[r][c];

			if (c + 1 == t->ncols)
				fprintf(out, "%s\n", cell);
			else
				fprintf(out, "%s%*s", cell, (int)(w[c] - display_width(cell) + 3), "");
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
	free(w);
	t->rows = NULL;
	t->nrows = 0;
}
