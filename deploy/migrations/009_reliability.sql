-- Version 9, reliability: retries scheduled in the database, the reconciler's
-- bookkeeping, and the dead letters operators list and replay.
--
-- retry_at / retry_attempt: a transient failure is not retried by a sleeping
-- process but written here; the stage's reconciler publishes the message again
-- (carrying retry_attempt) once retry_at has passed, so a retry survives a
-- crash. nudged_at: when the reconciler last re-published an overdue item, so
-- the stage deadline counts from then rather than from the last status change.

ALTER TABLE jobs ADD COLUMN retry_at timestamptz, ADD COLUMN retry_attempt integer,
	ADD COLUMN nudged_at timestamptz;
ALTER TABLE shots ADD COLUMN retry_at timestamptz, ADD COLUMN retry_attempt integer,
	ADD COLUMN nudged_at timestamptz;

-- The reconciler's scans read only unfinished items.
CREATE INDEX jobs_unfinished ON jobs (updated_at) WHERE status IN ('queued', 'parsing', 'producing', 'merging');
CREATE INDEX shots_unfinished ON shots (updated_at) WHERE status IN ('pending', 'rendering', 'rendered', 'voicing');

-- A message whose stage gave up after its last attempt (or that could not be
-- read at all). The same message goes to reel.dlq with headers stage and
-- error; this row is what `reelctl dlq list` shows and `reelctl dlq replay`
-- publishes again (through the outbox).
CREATE TABLE dead_letters (
	id          bigserial PRIMARY KEY,
	stage       text NOT NULL,
	topic       text NOT NULL,          -- where the message was consumed
	key         text NOT NULL,
	value       text NOT NULL,
	job_id      uuid,                   -- NULL for a message that could not be read
	shot        integer,
	error       text NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	created_at  timestamptz NOT NULL DEFAULT now(),
	replayed_at timestamptz
);
CREATE INDEX dead_letters_open ON dead_letters (id) WHERE replayed_at IS NULL;
