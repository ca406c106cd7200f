-- STAND-IN, to be dropped once the api-gateway reserves a job's estimate in
-- its create transaction (issue 18): until then the tests that check what
-- the workers charge reserve here, in the same transaction that inserts the
-- job, so no stage can store a result before the job has its reservation.
-- Each new job holds least(amount, the owner's available credits) (0 when
-- there are none: the job is then billed, and pauses at its first result);
-- the amount is the one row of test_reserve_at_create.
CREATE TABLE IF NOT EXISTS test_reserve_at_create (amount bigint NOT NULL);

CREATE OR REPLACE FUNCTION test_reserve_at_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM reel_reserve(NEW.id, NEW.owner,
	                     least((SELECT amount FROM test_reserve_at_create LIMIT 1),
	                           greatest((reel_account_lock(NEW.owner)).available, 0)));
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS jobs_test_reserve_at_create ON jobs;
CREATE TRIGGER jobs_test_reserve_at_create AFTER INSERT ON jobs FOR EACH ROW
	EXECUTE FUNCTION test_reserve_at_create();
