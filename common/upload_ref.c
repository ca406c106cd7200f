/*
 * Upload references and keys (upload_ref.h).
 */
#include "upload_ref.h"

#include <string.h>

#include "util.h"
#include "banned.h"

const char *upload_ref_id(const char *s)
{
	size_t n = strlen(UPLOAD_REF_PREFIX);
	return strncmp(s, UPLOAD_REF_PREFIX, n) == 0 ? s + n : NULL;
}

char *upload_ref_key(const char *id)
{
	return xasprintf(UPLOAD_KEY_PREFIX "%s", id);
}
