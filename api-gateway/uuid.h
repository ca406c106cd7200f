/*
 * Job ids in text form (uuid.c).
 */
#ifndef REEL_UUID_H
#define REEL_UUID_H

/* True when s is a UUID in text form, in either case (job ids). */
int uuid_valid(const char *s);

#endif
