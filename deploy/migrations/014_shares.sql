-- Version 14, share links and retention: public links to a finished job's
-- video (GET /s/{token}), and the marks the retention sweeper leaves on a
-- job whose media it deleted.

-- One share link. The token itself is never stored, only its SHA-256 (hex),
-- so a copy of the table opens nothing; the first 16 hex digits are the
-- link's id in listings, enough to revoke a link whose token was lost.
CREATE TABLE IF NOT EXISTS shares (
	token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	job_id      uuid NOT NULL,
	owner       text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz,             -- NULL: until revoked or the media expire
	revoked_at  timestamptz,
	views       bigint NOT NULL DEFAULT 0 -- page views of GET /s/{token}
);
CREATE INDEX IF NOT EXISTS shares_job ON shares (job_id, created_at);

-- Set by the retention sweeper in the transaction that deleted the media:
-- expired_at for the whole job (REEL_RETENTION_DAYS), shots_expired_at for
-- its shots' pictures, clips and audio (REEL_RETENTION_INTERMEDIATE_DAYS).
-- The storage keys stay in the rows; the API shows no URLs for them.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS expired_at timestamptz;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS shots_expired_at timestamptz;
CREATE INDEX IF NOT EXISTS jobs_retention ON jobs (finished_at) WHERE expired_at IS NULL;
