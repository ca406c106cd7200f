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

-- Billing (the suite runs with REEL_BILLING_FILE; test_price() holds the
-- same prices). Every job was reserved when it was created.
SELECT 'job without a reservation', count(*) FROM jobs j
WHERE NOT EXISTS (SELECT 1 FROM job_costs c WHERE c.job_id = j.id);

-- A job's captures are exactly its kept results' prices: its storyboard (one
-- successful parse), each shot's keyframe (stored, or the shot got past
-- rendering), clip and speech, and the video per started minute; a
-- redelivered, duplicated or re-made result adds nothing.
WITH kept AS (
	SELECT j.id, j.status,
	       CASE WHEN j.shots_total > 0 THEN test_price('parse', coalesce(j.options#>>'{providers,parse}', 'offline'))
	            ELSE 0 END
	       + coalesce((SELECT sum(
	             CASE WHEN s.image_key IS NOT NULL OR s.status IN ('rendered', 'voicing', 'ready')
	                       OR (s.status = 'failed' AND s.error->>'stage' = 'tts')
	                  THEN test_price('render', coalesce(j.options#>>'{providers,render}', 'offline')) ELSE 0 END
	             + CASE WHEN s.video_key IS NOT NULL
	                  THEN test_price('i2v', coalesce(j.options#>>'{providers,render}', 'offline')) ELSE 0 END
	             + CASE WHEN s.status = 'ready'
	                  THEN test_price('tts', coalesce(j.options#>>'{providers,tts}', 'offline')) ELSE 0 END)
	           FROM shots s WHERE s.job_id = j.id), 0)
	       + CASE WHEN j.status = 'done' THEN test_price('merge', 'ffmpeg')
	                   * ceil(coalesce((j.output->>'duration_ms')::numeric, 0) / 60000) ELSE 0 END AS price
	FROM jobs j)
SELECT 'job whose captures differ from its kept results'' prices', count(*) FROM kept k
JOIN job_costs c ON c.job_id = k.id
WHERE c.captured <> k.price
   OR c.captured <> (SELECT coalesce(-sum(l.held), 0) FROM credit_ledger l WHERE l.job_id = k.id AND l.kind = 'capture');

SELECT 'result charged more than once', count(*) FROM (
	SELECT 1 FROM credit_ledger WHERE kind = 'capture' GROUP BY job_id, stage, shot HAVING count(*) > 1) x;

SELECT 'final job still holding credits', count(*) FROM jobs j JOIN job_costs c ON c.job_id = j.id
WHERE j.status IN ('done', 'failed', 'canceled') AND c.held <> 0;

SELECT 'owner whose ledger differs from its balance', count(*) FROM credit_accounts a
WHERE a.available <> (SELECT coalesce(sum(l.amount), 0) FROM credit_ledger l WHERE l.owner = a.owner)
   OR a.reserved <> (SELECT coalesce(sum(l.held), 0) FROM credit_ledger l WHERE l.owner = a.owner)
   OR a.reserved <> (SELECT coalesce(sum(c.held), 0) FROM job_costs c WHERE c.owner = a.owner);

SELECT 'payment event applied more than once', count(*) FROM (
	SELECT 1 FROM credit_ledger WHERE payment IS NOT NULL GROUP BY payment HAVING count(*) > 1
	UNION ALL
	SELECT 1 FROM credit_ledger l WHERE l.payment IS NOT NULL AND NOT EXISTS
		(SELECT 1 FROM payment_events e WHERE l.payment = e.provider || ':' || e.event_id
		 AND e.outcome = 'applied')) x;
