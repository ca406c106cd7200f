/*
 * Job ids in text form: the check every route taking an {id} makes before
 * asking PostgreSQL (which would refuse a malformed uuid with an error).
 */
#include "uuid.h"

#include <string.h>

#include "banned.h"

int uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return 1;
}
