-- reelforge schema, version 3: what the gateway's live features need. The
-- voices users can pick (GET /v1/voices), outbound webhooks told when a job
-- ends (one delivery per final transition, every attempt recorded), and an
-- index that counts a user's unfinished jobs for the in-flight cap.

CREATE TABLE voices (
	provider    text NOT NULL,           -- the tts provider: espeak, openai, elevenlabs, fish...
	id          text NOT NULL,           -- what options.voice carries
	name        text NOT NULL,
	language    text NOT NULL,           -- BCP-47-like: en-US, en-GB, cmn...
	gender      text CHECK (gender IN ('male', 'female', 'neutral')),
	description text,
	PRIMARY KEY (provider, id)
);
CREATE INDEX voices_language ON voices (language);

INSERT INTO voices (provider, id, name, language, gender, description) VALUES
	('espeak', 'en-us+m3', 'American English, male', 'en-US', 'male', 'espeak-ng en-us with the m3 variant'),
	('espeak', 'en-us+f3', 'American English, female', 'en-US', 'female', 'espeak-ng en-us with the f3 variant'),
	('espeak', 'en-gb+m3', 'British English, male', 'en-GB', 'male', 'espeak-ng en-gb with the m3 variant'),
	('espeak', 'en-gb+f3', 'British English, female', 'en-GB', 'female', 'espeak-ng en-gb with the f3 variant'),
	('espeak', 'cmn+m3', 'Mandarin Chinese, male', 'cmn', 'male', 'espeak-ng cmn (Mandarin) with the m3 variant'),
	('espeak', 'cmn+f3', 'Mandarin Chinese, female', 'cmn', 'female', 'espeak-ng cmn (Mandarin) with the f3 variant'),
	('espeak', 'fr-fr+m3', 'French, male', 'fr-FR', 'male', 'espeak-ng fr with the m3 variant'),
	('espeak', 'fr-fr+f3', 'French, female', 'fr-FR', 'female', 'espeak-ng fr with the f3 variant'),
	('espeak', 'de-de+m3', 'German, male', 'de-DE', 'male', 'espeak-ng de with the m3 variant'),
	('espeak', 'de-de+f3', 'German, female', 'de-DE', 'female', 'espeak-ng de with the f3 variant'),
	('espeak', 'es-es+m3', 'Spanish, male', 'es-ES', 'male', 'espeak-ng es with the m3 variant'),
	('espeak', 'es-es+f3', 'Spanish, female', 'es-ES', 'female', 'espeak-ng es with the f3 variant'),
	('espeak', 'ja-jp+f3', 'Japanese, female', 'ja-JP', 'female', 'espeak-ng ja with the f3 variant');

-- The in-flight cap counts a user's unfinished jobs at every create; this
-- keeps that count to the few rows that are still moving.
CREATE INDEX jobs_owner_active ON jobs (owner) WHERE status NOT IN ('done', 'failed', 'canceled');

-- One row per message to a user's webhook_url: written by the trigger below
-- in the transaction that makes the job final, wherever that happens, and
-- sent by a gateway. msg_id is the webhook-id header, stable across retries.
CREATE TABLE webhook_deliveries (
	id              bigserial PRIMARY KEY,
	msg_id          text NOT NULL UNIQUE,
	job_id          uuid NOT NULL,
	url             text NOT NULL,
	event           text NOT NULL,         -- job.done, job.failed, job.canceled
	payload         text NOT NULL,         -- the exact body, signed as is on every attempt
	status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	give_up_at      timestamptz NOT NULL DEFAULT now() + interval '1 day',
	last_status     integer,               -- HTTP status of the last attempt, NULL when none came back
	last_error      text,
	created_at      timestamptz NOT NULL DEFAULT now(),
	finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);

-- Every attempt, for users asking "did you call us?" and for operators.
CREATE TABLE webhook_attempts (
	delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	attempt     integer NOT NULL,
	at          timestamptz NOT NULL DEFAULT now(),
	http_status integer,
	error       text,
	duration_ms integer,
	PRIMARY KEY (delivery_id, attempt)
);

CREATE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_deliveries (msg_id, job_id, url, event, payload)
	VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), NEW.id, NEW.options ->> 'webhook_url',
		'job.' || NEW.status,
		jsonb_build_object('type', 'job.' || NEW.status,
				   'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
				   'data', jsonb_build_object('id', NEW.id, 'status', NEW.status, 'template', NEW.template,
							      'error', NEW.error, 'output', NEW.output,
							      'url', '/v1/jobs/' || NEW.id))::text);
	PERFORM pg_notify('webhook_deliveries', '');
	RETURN NULL;
END $$;

-- Exactly one delivery per transition into a final state: the WHEN clause is
-- evaluated without calling the function, so jobs without a webhook_url and
-- non-final updates pay next to nothing.
CREATE TRIGGER webhook_enqueue_final AFTER UPDATE OF status ON jobs FOR EACH ROW
	WHEN (NEW.status IN ('done', 'failed', 'canceled') AND OLD.status IS DISTINCT FROM NEW.status
	      AND NEW.options ? 'webhook_url' AND NEW.options ->> 'webhook_url' IS NOT NULL)
	EXECUTE FUNCTION webhook_enqueue();
