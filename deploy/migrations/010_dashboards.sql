-- Version 10, views the dashboards read (deploy/dashboards/reelforge.json,
-- PostgreSQL data source). They only read the job tables; their columns are
-- a contract with the dashboards, like the tables' own. Times are the
-- job_events clock; "minute" columns are for Grafana's time series.

-- Jobs entering each status per minute (job-level events only).
CREATE VIEW reel_jobs_by_status AS
SELECT date_trunc('minute', at) AS minute, kind AS status, count(*) AS jobs
FROM job_events
WHERE shot IS NULL
  AND kind IN ('queued', 'parsing', 'review', 'producing', 'paused', 'merging', 'done', 'failed', 'canceled')
GROUP BY 1, 2;

-- How many jobs are in each status now, and how long the oldest has waited.
CREATE VIEW reel_jobs_status_now AS
SELECT status, count(*) AS jobs, min(updated_at) AS oldest_update,
       extract(epoch FROM now() - min(updated_at))::bigint AS oldest_age_s
FROM jobs
GROUP BY status;

-- One row per stage a job (or shot) went through: parse from "parsing" to
-- the storyboard (producing or review); render from the job producing to
-- the shot rendered (a reviewed job's wait for approval is included); tts
-- from the shot rendered to ready; merge from "merging" to "done"; total
-- from "queued" to "done".
CREATE VIEW reel_stage_durations AS
WITH j AS (
	SELECT job_id,
	       min(at) FILTER (WHERE kind = 'queued') AS queued,
	       min(at) FILTER (WHERE kind = 'parsing') AS parsing,
	       min(at) FILTER (WHERE kind IN ('producing', 'review')) AS parsed,
	       max(at) FILTER (WHERE kind = 'merging') AS merging,
	       max(at) FILTER (WHERE kind = 'done') AS done
	FROM job_events WHERE shot IS NULL GROUP BY job_id
), s AS (
	SELECT job_id, shot,
	       min(at) FILTER (WHERE kind = 'rendered') AS rendered,
	       min(at) FILTER (WHERE kind = 'ready') AS ready
	FROM job_events WHERE shot IS NOT NULL GROUP BY job_id, shot
), d AS (
	SELECT job_id, NULL::integer AS shot, 'parse'::text AS stage, parsing AS started, parsed AS finished FROM j
	UNION ALL
	SELECT s.job_id, s.shot, 'render', j.parsed, s.rendered FROM s JOIN j USING (job_id)
	UNION ALL
	SELECT job_id, shot, 'tts', rendered, ready FROM s
	UNION ALL
	SELECT job_id, NULL, 'merge', merging, done FROM j
	UNION ALL
	SELECT job_id, NULL, 'total', queued, done FROM j
)
SELECT job_id, shot, stage, started, finished, extract(epoch FROM finished - started)::double precision AS seconds
FROM d
WHERE started IS NOT NULL AND finished IS NOT NULL AND finished >= started;

-- Stage latency percentiles per minute in which the stage finished.
CREATE VIEW reel_stage_latency AS
SELECT date_trunc('minute', finished) AS minute, stage, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95_s,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99_s,
       max(seconds) AS max_s
FROM reel_stage_durations
GROUP BY 1, 2;

-- Jobs created, finished and failed, and shots made ready, per minute.
CREATE VIEW reel_throughput AS
SELECT date_trunc('minute', at) AS minute,
       count(*) FILTER (WHERE kind = 'queued' AND shot IS NULL) AS jobs_created,
       count(*) FILTER (WHERE kind = 'done' AND shot IS NULL) AS jobs_done,
       count(*) FILTER (WHERE kind = 'failed' AND shot IS NULL) AS jobs_failed,
       count(*) FILTER (WHERE kind = 'ready' AND shot IS NOT NULL) AS shots_ready
FROM job_events
GROUP BY 1;

-- Vendor calls per minute by stage, provider, model and outcome: errors,
-- tokens, cost (an estimate from configured prices) and latency.
CREATE VIEW reel_provider_usage AS
SELECT date_trunc('minute', at) AS minute, stage, provider, model, outcome,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome <> 'ok') AS errors,
       sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out, sum(cost_usd) AS cost_usd,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
FROM provider_calls
GROUP BY 1, 2, 3, 4, 5;

-- Unfinished jobs whose status has not changed for longer than that status
-- should take. review and paused wait for the user and are never stuck.
-- `reelctl requeue` re-announces these.
CREATE VIEW reel_stuck_jobs AS
SELECT id, owner, status, trace, shots_total, shots_ready, updated_at,
       extract(epoch FROM now() - updated_at)::bigint AS stuck_s
FROM jobs
WHERE (status = 'queued' AND updated_at < now() - interval '5 minutes')
   OR (status = 'parsing' AND updated_at < now() - interval '10 minutes')
   OR (status = 'producing' AND updated_at < now() - interval '30 minutes')
   OR (status = 'merging' AND updated_at < now() - interval '15 minutes');
