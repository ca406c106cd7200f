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

-- reel_capture for one kept result: a job-level result (p_shot NULL) is
-- charged as it comes (its store statement runs once per job); a shot's
-- result only when its stage is not charged yet since the last regenerate.
-- Jobs without a reservation are not charged and leave the shot untouched.
CREATE OR REPLACE FUNCTION reel_capture_once(p_job uuid, p_stage text, p_provider text, p_shot integer,
	p_amount bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF p_shot IS NOT NULL AND EXISTS (SELECT 1 FROM job_costs WHERE job_id = p_job) THEN
		UPDATE shots SET billed = billed || p_stage
		WHERE job_id = p_job AND idx = p_shot AND NOT (p_stage = ANY (billed));
		IF NOT FOUND THEN
			RETURN true;
		END IF;
	END IF;
	RETURN reel_capture(p_job, p_stage, p_provider, p_shot, p_amount);
END $$;
