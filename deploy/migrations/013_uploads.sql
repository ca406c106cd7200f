-- Version 13, uploads: media users bring (music, face photos, voice samples,
-- reference images, clips). A row is made pending by POST /v1/uploads, the
-- client puts the bytes at uploads/<id> in storage, and POST .../complete
-- checks them (size, the type sniffed from the bytes, fit for the purpose)
-- and makes it ready. Pending rows never completed are swept with their
-- object by the gateways (claimed with FOR UPDATE SKIP LOCKED).

CREATE TABLE IF NOT EXISTS uploads (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	owner         text NOT NULL,
	filename      text NOT NULL,
	declared_type text NOT NULL,        -- the content_type the client announced
	purpose       text NOT NULL CHECK (purpose IN ('music', 'image', 'face', 'voice', 'video')),
	bytes         bigint NOT NULL CHECK (bytes > 0),
	status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready')),
	content_type  text,                 -- sniffed from the bytes, once ready
	kind          text CHECK (kind IN ('audio', 'image', 'video')),
	width         integer,
	height        integer,
	duration_ms   bigint,
	created_at    timestamptz NOT NULL DEFAULT now(),
	completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS uploads_owner_created ON uploads (owner, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS uploads_pending_created ON uploads (created_at) WHERE status = 'pending';
