-- Version 4, the parse stage with language models: the storyboard's camera
-- moves and its title, language and characters, and one row per call to a
-- language model (tokens, latency, cost) for usage dashboards.

ALTER TABLE shots ADD COLUMN camera text CHECK (camera IN
	('zoom_in', 'zoom_out', 'pan_left', 'pan_right', 'pan_up', 'pan_down', 'static'));

-- {"title","language","characters":[{"name","look","voice"}]} as parse wrote it.
ALTER TABLE jobs ADD COLUMN storyboard jsonb;

-- Written in the same transaction as the parse result (or the failure), so
-- every call a job paid for is counted once, retries and repairs included.
CREATE TABLE provider_calls (
	id          bigserial PRIMARY KEY,
	job_id      uuid NOT NULL,
	stage       text NOT NULL,             -- parse, render, tts...
	provider    text NOT NULL,             -- openai, anthropic...
	model       text NOT NULL,
	purpose     text NOT NULL,             -- storyboard | repair
	attempt     integer NOT NULL,          -- the stage's attempt this call belonged to
	http_status integer,                   -- NULL when no answer came (timeout, connection)
	outcome     text NOT NULL,             -- ok, invalid, truncated, rate_limited, server_error, timeout, auth, rejected, failed
	tokens_in   integer NOT NULL DEFAULT 0,
	tokens_out  integer NOT NULL DEFAULT 0,
	latency_ms  integer NOT NULL,
	cost_usd    numeric(14, 8) NOT NULL DEFAULT 0, -- estimate from the configured per-million-token prices
	at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_calls_job ON provider_calls (job_id, id);
CREATE INDEX provider_calls_at ON provider_calls (at);

-- Per day, stage, provider and model: what dashboards chart.
CREATE VIEW provider_usage_daily AS
SELECT date_trunc('day', at) AS day, stage, provider, model,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome <> 'ok') AS failed_calls,
       sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out,
       sum(cost_usd) AS cost_usd,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS latency_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS latency_p95_ms
FROM provider_calls GROUP BY 1, 2, 3, 4;
