/*
 * Dead letters in PostgreSQL (the record operators act on) and on reel.dlq
 * (the notice). See deadletter.h.
 */
#include "deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "db.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "banned.h"

/* PostgreSQL text holds neither NUL nor invalid UTF-8: such values are kept as hex. */
static char *printable(const char *value, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	if (json_utf8_valid(value, len) && !memchr(value, '\0', len))
		return xstrndup(value, len);
	char *out = xmalloc(2 * len + 3), *p = out;
	*p++ = '\\';
	*p++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*p++ = digits[(unsigned char)value[i] >> 4];
		*p++ = digits[(unsigned char)value[i] & 15];
	}
	*p = '\0';
	return out;
}

int deadletter_record(struct daemon *d, const struct deadletter *dl)
{
	static const char sql[] = "INSERT INTO dead_letters (stage, topic, key, value, job_id, shot, error, attempts) "
				  "VALUES ($1, $2, $3, $4, $5::uuid, nullif($6::int, -1), $7, $8::int)";
	char *topic = daemon_topic(d, dl->stage), *value = printable(dl->value, dl->value_len), shot[16], att[16];
	snprintf(shot, sizeof(shot), "%d", dl->shot);
	snprintf(att, sizeof(att), "%d", dl->attempts);
	const char *params[] = { dl->stage, topic, dl->key, value, dl->job, shot, dl->error, att };
	int rc = db_run(d->db, sql, 8, params);
	free(topic);
	free(value);
	return rc;
}

void deadletter_publish(struct daemon *d, const struct deadletter *dl)
{
	char *topic = daemon_topic(d, "dlq");
	const struct kafka_header h[] = { { "stage", dl->stage }, { "error", dl->error } };
	if (kafka_produce(d->producer, topic, dl->key, dl->value, dl->value_len, h, 2, NULL) < 0)
		log_error("could not send a dead letter to %s", topic);
	free(topic);
}
