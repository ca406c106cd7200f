-- reelforge schema, version 1: jobs and their shots, the event log that
-- dashboards and SSE clients read, the outbox, and the tables the gateway and
-- webhook receiver need. Table and column meanings are a stable contract.

CREATE TABLE jobs (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	owner       text NOT NULL,
	status      text NOT NULL DEFAULT 'queued' CHECK (status IN
	            ('queued', 'parsing', 'review', 'producing', 'paused', 'merging', 'done', 'failed', 'canceled')),
	template    text NOT NULL,
	input       jsonb NOT NULL,
	options     jsonb NOT NULL DEFAULT '{}',
	trace       text NOT NULL,
	shots_total integer NOT NULL DEFAULT 0,
	shots_ready integer NOT NULL DEFAULT 0,
	error       jsonb,                -- {"stage","code","message","retryable"} when failed or paused
	output      jsonb,                -- storage keys of the finished assets
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz
);
CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC, id DESC);

-- shots and job_events carry no foreign key to jobs: they are only written
-- by transactions that hold their job, and a per-row key check was the
-- largest cost of the pipeline's hot path (see the benchmark notes in the
-- README). Deleting a job deletes its shots and events explicitly.
CREATE TABLE shots (
	job_id          uuid NOT NULL,
	idx             integer NOT NULL CHECK (idx >= 0),
	status          text NOT NULL DEFAULT 'pending' CHECK (status IN
	                ('pending', 'rendering', 'rendered', 'voicing', 'ready', 'failed', 'skipped')),
	prompt          text NOT NULL,
	narration       text NOT NULL,
	speaker         text,
	est_duration_ms integer NOT NULL,  -- the storyboard's estimate
	duration_ms     integer,           -- measured length of the narration
	image_key       text,
	video_key       text,
	audio_key       text,
	attempts        integer NOT NULL DEFAULT 0,
	error           jsonb,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (job_id, idx)
);

-- Append-only: every status change of a job or shot. seq orders them and is
-- the SSE event id.
CREATE TABLE job_events (
	seq    bigserial PRIMARY KEY,
	job_id uuid NOT NULL,
	shot   integer,
	kind   text NOT NULL,            -- the status entered: queued, parsing, producing, rendered, ready, merging, done, failed...
	detail jsonb,
	at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX job_events_job ON job_events (job_id, seq);

-- One notification per inserting statement, not per row: NOTIFY serialises
-- committing transactions, so it is kept to one cheap call per batch. It
-- carries no payload; listeners read the rows after the last seq they saw.
CREATE FUNCTION job_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('job_events', '');
	RETURN NULL;
END $$;
CREATE TRIGGER job_events_notify AFTER INSERT ON job_events
	FOR EACH STATEMENT EXECUTE FUNCTION job_events_notify();

-- Messages written in the same transaction as the state they announce;
-- deleted once the broker acknowledged them.
CREATE TABLE outbox (
	id         bigserial PRIMARY KEY,
	topic      text NOT NULL,
	key        text NOT NULL,
	value      text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per external call that finishes asynchronously (webhooks, polling).
CREATE TABLE provider_tasks (
	id          bigserial PRIMARY KEY,
	job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	shot        integer,
	stage       text NOT NULL,
	provider    text NOT NULL,
	external_id text NOT NULL,
	status      text NOT NULL DEFAULT 'submitted',
	attempts    integer NOT NULL DEFAULT 1,
	deadline    timestamptz NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	UNIQUE (provider, external_id)
);

CREATE TABLE api_keys (
	id         bigserial PRIMARY KEY,
	owner      text NOT NULL,
	prefix     text NOT NULL UNIQUE,     -- the visible start of the key, for lookup
	hash       text NOT NULL,            -- SHA-256 of the whole key, hex
	name       text,
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz
);

CREATE TABLE idempotency_keys (
	owner      text NOT NULL,
	key        text NOT NULL,
	request_hash text NOT NULL,
	job_id     uuid REFERENCES jobs (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (owner, key)
);

CREATE TABLE webhook_receipts (
	provider    text NOT NULL,
	delivery_id text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (provider, delivery_id)
);
