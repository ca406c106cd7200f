-- Version 17, capture exactly once per kept result. A shot's picture, clip
-- or speech may be stored again without the user asking (a crash, a
-- redelivery, the gateway restarting a stale shot): shots.billed lists the
-- stages already charged for the shot's current result, so such a result
-- is charged once. A user's regenerate (its job_events row) clears the list:
-- the new result is charged again.
ALTER TABLE shots ADD COLUMN IF NOT EXISTS billed text[] NOT NULL DEFAULT '{}';

CREATE OR REPLACE FUNCTION reel_billed_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE shots SET billed = '{}' WHERE job_id = NEW.job_id AND idx = NEW.shot AND billed <> '{}';
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS job_events_regenerate ON job_events;
CREATE TRIGGER job_events_regenerate AFTER INSERT ON job_events FOR EACH ROW
	WHEN (NEW.shot IS NOT NULL AND NEW.kind = 'pending' AND NEW.detail->>'action' = 'regenerate')
	EXECUTE FUNCTION reel_billed_reset();

-- Captures a batch of kept results (a worker's transaction stores many):
-- one capture row per kept result, but each owner's account and each
-- job's job_costs row is updated once per batch, not once per result: with
-- one busy owner every capture of the fleet goes through that account's row.
-- Locks are taken in one order everywhere: the owners' accounts (by owner),
-- then the jobs' rows (by job); two workers charging jobs of the same owner
-- would otherwise deadlock. A job without a reservation (made while billing
-- was off) is not charged, nor one that has ended: a result that lands after
-- a cancel (its vendor call was already under way) is thrown away, not
-- billed. A shot's result (p_shots >= 0; -1 is a job-level result, charged
-- as it comes: its store statement runs once per job) is charged only when
-- its stage is not charged yet since the last regenerate.
-- Beyond its reservation a job grows it from available; the answer counts
-- the owners whose available credits could not cover that (they went below
-- zero: the caller pauses their jobs).
CREATE OR REPLACE FUNCTION reel_capture_batch(p_jobs uuid[], p_stages text[], p_providers text[], p_shots integer[],
	p_amounts bigint[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	u record;
	k_jobs uuid[] := '{}';
	k_stages text[] := '{}';
	k_providers text[] := '{}';
	k_shots integer[] := '{}';
	k_amounts bigint[] := '{}';
	overrun bigint;
BEGIN
	PERFORM reel_account_lock(o.owner)
	FROM (SELECT DISTINCT owner FROM job_costs WHERE job_id = ANY (p_jobs) ORDER BY owner) o;
	PERFORM 1 FROM job_costs WHERE job_id = ANY (p_jobs) ORDER BY job_id FOR UPDATE;
	FOR u IN SELECT x.* FROM unnest(p_jobs, p_stages, p_providers, p_shots, p_amounts)
	         AS x(job, stage, provider, shot, amount)
	         WHERE x.amount > 0 AND EXISTS (SELECT 1 FROM job_costs c JOIN jobs j ON j.id = c.job_id
	                                        WHERE c.job_id = x.job AND j.status NOT IN ('done', 'failed', 'canceled'))
	LOOP
		IF u.shot >= 0 THEN
			UPDATE shots SET billed = billed || u.stage
			WHERE job_id = u.job AND idx = u.shot AND NOT (u.stage = ANY (billed));
			CONTINUE WHEN NOT FOUND;
		END IF;
		k_jobs := k_jobs || u.job;
		k_stages := k_stages || u.stage;
		k_providers := k_providers || u.provider;
		k_shots := k_shots || nullif(u.shot, -1);
		k_amounts := k_amounts || u.amount;
	END LOOP;
	IF cardinality(k_jobs) = 0 THEN
		RETURN 0;
	END IF;
	WITH t AS (SELECT k.job, sum(k.amount) AS total FROM unnest(k_jobs, k_amounts) AS k(job, amount) GROUP BY k.job),
	     c AS (SELECT j.job_id, j.owner, greatest(t.total - j.held, 0) AS grow, t.total
	           FROM t JOIN job_costs j ON j.job_id = t.job),
	     grown AS (INSERT INTO credit_ledger (owner, kind, amount, held, job_id)
	               SELECT c.owner, 'reserve', -c.grow, c.grow, c.job_id FROM c WHERE c.grow > 0),
	     spent AS (INSERT INTO credit_ledger (owner, kind, amount, held, job_id, stage, provider, shot)
	               SELECT c.owner, 'capture', 0, -k.amount, k.job, k.stage, k.provider, k.shot
	               FROM unnest(k_jobs, k_stages, k_providers, k_shots, k_amounts)
	                    AS k(job, stage, provider, shot, amount)
	               JOIN c ON c.job_id = k.job),
	     costs AS (UPDATE job_costs j SET reserved = j.reserved + c.grow, captured = j.captured + c.total,
	                      held = j.held + c.grow - c.total
	               FROM c WHERE j.job_id = c.job_id),
	     o AS (SELECT c.owner, sum(c.grow) AS grow, sum(c.total) AS total FROM c GROUP BY c.owner),
	     acc AS (UPDATE credit_accounts a SET available = a.available - o.grow,
	                    reserved = a.reserved + o.grow - o.total, updated_at = now()
	             FROM o WHERE a.owner = o.owner RETURNING a.available + o.grow AS before, o.grow)
	SELECT count(*) FILTER (WHERE acc.grow > 0 AND acc.before < acc.grow) INTO overrun FROM acc;
	RETURN overrun;
END $$;
