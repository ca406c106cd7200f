-- Version 16, the gateway's side of billing: the free plan's monthly
-- credits granted lazily (once per owner and calendar month), the daily
-- check-in, and a job's own retention (its owner's plan may keep media for
-- less time than the fleet's setting).

ALTER TABLE credit_accounts ADD COLUMN IF NOT EXISTS granted_month date; -- the month of the last monthly grant
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS retention_days integer;         -- the plan's days, NULL = the fleet's

-- The account of an owner seen now (a create, GET /v1/me), locked for the
-- rest of the transaction. An owner whose plan counts as free (not among
-- p_paid, or a paid plan past its end) gets p_monthly credits the first
-- time it is seen in a UTC month: the row lock makes that exactly once
-- even when requests race. Paid plans' credits come from payment events.
CREATE OR REPLACE FUNCTION reel_account_seen(p_owner text, p_paid text[], p_monthly bigint) RETURNS credit_accounts
LANGUAGE plpgsql AS $$
DECLARE a credit_accounts; m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
	a := reel_account_lock(p_owner);
	IF a.plan_ends_at IS NOT NULL AND a.plan_ends_at <= now() THEN
		a.plan := 'free';
	END IF;
	IF a.plan = ANY (p_paid) OR a.granted_month IS NOT DISTINCT FROM m THEN
		RETURN a;
	END IF;
	UPDATE credit_accounts SET granted_month = m WHERE owner = p_owner;
	IF p_monthly > 0 THEN
		PERFORM reel_credit(p_owner, 'grant', p_monthly, NULL, 'monthly credits ' || to_char(m, 'YYYY-MM'));
	END IF;
	SELECT * INTO a FROM credit_accounts WHERE owner = p_owner;
	IF a.plan_ends_at IS NOT NULL AND a.plan_ends_at <= now() THEN
		a.plan := 'free';
	END IF;
	RETURN a;
END $$;

-- The daily check-in: p_credits once per UTC day; false when the owner
-- already checked in today.
CREATE OR REPLACE FUNCTION reel_checkin(p_owner text, p_credits bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a credit_accounts; d date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
	a := reel_account_lock(p_owner);
	IF a.checkin_day IS NOT DISTINCT FROM d THEN
		RETURN false;
	END IF;
	UPDATE credit_accounts SET checkin_day = d WHERE owner = p_owner;
	PERFORM reel_credit(p_owner, 'checkin', p_credits, NULL, d::text);
	RETURN true;
END $$;
