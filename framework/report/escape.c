#define _GNU_SOURCE
/* Escaping for JSON and XML: valid output whatever bytes a test printed. */
#include "report.h"

#include <stdint.h>

/* Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * the code point, or 0 for an invalid, overlong or truncated sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2; c = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3; c = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4; c = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void mpt__json_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);
		if (len == 0) {
			fputs("\\ufffd", f); /* an invalid byte */
			i++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(s + i, 1, len, f);
		}
		i += len;
	}
	fputc('"', f);
}

void mpt__xml_text(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", s[i]); /* shown, not lost */
			i++;
			continue;
		}
		switch (cp) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 forbids most control characters, even as
			 * references, and U+FFFE/U+FFFF. */
			if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
			    cp == 0xfffe || cp == 0xffff)
				fprintf(f, "\\x%02x", (unsigned)cp);
			else
				fwrite(s + i, 1, len, f);
		}
		i += len;
	}
}
