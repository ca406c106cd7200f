-- The fault suite's checks (tests/faults/run_faults.py): each query answers
-- one row, the name of a promise and how many rows break it; 0 is a pass.
-- Run after every job reached a final or paused state.

SELECT 'job neither final nor paused', count(*) FROM jobs
WHERE status NOT IN ('done', 'failed', 'canceled', 'paused');

-- A fleet that skips media (reel.skip_media = '1') makes no video: only finished_at is checked then.
SELECT 'done job without its one final output', count(*) FROM jobs
WHERE status = 'done' AND (finished_at IS NULL OR (current_setting('reel.skip_media', true) IS DISTINCT FROM '1'
                                                   AND (output IS NULL OR output->>'video_key' IS NULL)));

SELECT 'done job announced done other than once', count(*) FROM jobs j
WHERE j.status = 'done'
  AND (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.shot IS NULL AND e.kind = 'done') <> 1;

SELECT 'done job with a shot not ready or skipped', count(DISTINCT j.id) FROM jobs j JOIN shots s ON s.job_id = j.id
WHERE j.status = 'done' AND s.status NOT IN ('ready', 'skipped');

SELECT 'job whose ready count differs from its ready shots', count(*) FROM jobs j
WHERE j.shots_ready <> (SELECT count(*) FROM shots s WHERE s.job_id = j.id AND s.status = 'ready');

SELECT 'shot rendered more times than its attempts', count(*) FROM shots s
WHERE (SELECT count(*) FROM job_events e WHERE e.job_id = s.job_id AND e.shot = s.idx AND e.kind = 'rendered')
      > s.attempts;

SELECT 'shot voiced more than once', count(*) FROM shots s
WHERE (SELECT count(*) FROM job_events e WHERE e.job_id = s.job_id AND e.shot = s.idx AND e.kind = 'ready') > 1;

SELECT 'outbox row older than a minute', count(*) FROM outbox WHERE created_at < now() - interval '1 minute';

-- A job's own events follow its state machine: no step goes back, and
-- nothing follows a final one.
WITH ranked AS (
	SELECT job_id, seq, CASE kind WHEN 'queued' THEN 0 WHEN 'parsing' THEN 1 WHEN 'review' THEN 2
	       WHEN 'producing' THEN 3 WHEN 'paused' THEN 3 WHEN 'merging' THEN 4 ELSE 5 END AS r,
	       kind IN ('done', 'failed', 'canceled') AS final
	FROM job_events WHERE shot IS NULL AND kind IN
	      ('queued', 'parsing', 'review', 'producing', 'paused', 'merging', 'done', 'failed', 'canceled')),
stepped AS (SELECT *, lag(r) OVER w AS prev_r, lag(final) OVER w AS prev_final FROM ranked
	    WINDOW w AS (PARTITION BY job_id ORDER BY seq))
SELECT 'job events out of order', count(DISTINCT job_id) FROM stepped WHERE r < prev_r OR prev_final;

-- A job that ends failed or paused tells its user why (jobs.error's message).
SELECT 'failed or paused job without a reason', count(*) FROM jobs
WHERE status IN ('failed', 'paused') AND coalesce(btrim(error->>'message'), '') = '';
