-- Version 11, tts usage: speech vendors bill by the characters sent, and a
-- failed call's reason belongs beside its outcome; tts calls are per shot.
-- Existing rows (parse's calls) keep shot NULL, characters 0, error NULL.
ALTER TABLE provider_calls ADD COLUMN IF NOT EXISTS shot integer;      -- NULL: a job-level call
ALTER TABLE provider_calls ADD COLUMN IF NOT EXISTS characters bigint NOT NULL DEFAULT 0;
ALTER TABLE provider_calls ADD COLUMN IF NOT EXISTS error text;        -- NULL when the call went well

-- The dashboard view gains the characters billed (appended: existing columns keep their place).
CREATE OR REPLACE VIEW reel_provider_usage AS
SELECT date_trunc('minute', at) AS minute, stage, provider, model, outcome,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome <> 'ok') AS errors,
       sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out, sum(cost_usd) AS cost_usd,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms,
       sum(characters) AS characters
FROM provider_calls
GROUP BY 1, 2, 3, 4, 5;
