-- reelforge schema, version 2: the gateway keeps the first answer of every
-- POST that carried an Idempotency-Key, so a replay within 24 hours gets it
-- back (status, body and Location) instead of acting twice. The row is
-- written in the same transaction as what the request did.
ALTER TABLE idempotency_keys
	ADD COLUMN status   integer,  -- HTTP status of the first answer
	ADD COLUMN response text,     -- its body (JSON text)
	ADD COLUMN location text;     -- its Location header, if any
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
