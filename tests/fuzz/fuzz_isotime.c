/* libFuzzer harness: ISO 8601 timestamps and durations from bodies and
 * RQL values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char iso[AT_ISO_TEXT], dt[AT_DATETIME_TEXT], dur[AT_DURATION_TEXT], *copy;
	int64_t ms, back, sec;

	/* an exact-size copy: a read past the end is a finding */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (at_iso_parse(copy, size, AT_ISO_API | AT_ISO_DATE, &ms) == AT_OK) {
		/* what is read can be written, and reads back the same */
		if (ms < AT_ISO_MIN_MS || ms > AT_ISO_MAX_MS || !at_iso_format(ms, iso) ||
		    at_iso_parse(iso, strlen(iso), 0, &back) || back != ms ||
		    !at_datetime_format(ms, dt) || at_datetime_parse(dt, strlen(dt), &back) ||
		    back != ms)
			abort();
	}
	if (at_datetime_parse(copy, size, &ms) == AT_OK && !at_iso_format(ms, iso))
		abort();
	if (at_iso_duration_parse(copy, size, &sec, NULL) == AT_OK) {
		if (sec < 0 || !at_iso_duration_format(sec, dur) ||
		    at_iso_duration_parse(dur, strlen(dur), &back, NULL) || back != sec)
			abort();
	}
	free(copy);
	return 0;
}
