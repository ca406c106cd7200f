-- Version 15, credits and payments: an append-only ledger of every change of
-- an owner's credits, the owner's account (balance split into available and
-- reserved, plan), each job's reservation, and the payment events applied.
-- The money rules live in the functions below so that every daemon and every
-- path (create, capture, the end of a job, a payment) applies them the same
-- way, in the caller's transaction.

-- One row per owner that ever had credits. available + reserved is always
-- the sum of the owner's ledger rows (amount + held).
CREATE TABLE IF NOT EXISTS credit_accounts (
	owner          text PRIMARY KEY,
	available      bigint NOT NULL DEFAULT 0, -- may spend; negative only after a refund or an overrun
	reserved       bigint NOT NULL DEFAULT 0, -- held by unfinished jobs
	plan           text NOT NULL DEFAULT 'free',
	plan_provider  text,                      -- stripe | lemonsqueezy: who bills the plan
	subscription   text,                      -- that provider's subscription id
	plan_renews_at timestamptz,               -- the paid period's end while it renews
	plan_ends_at   timestamptz,               -- the paid period's end once canceled: back to free after it
	plan_event_at  timestamptz,               -- the newest subscription event applied (older ones are stale)
	checkin_day    date,                      -- the last UTC day of a daily check-in
	updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Append-only. amount changes available, held changes reserved: a reserve
-- moves credits from available to held (amount -x, held +x), a capture spends
-- held credits (held -x), a release gives them back (amount +x, held -x).
CREATE TABLE IF NOT EXISTS credit_ledger (
	id       bigserial PRIMARY KEY,
	owner    text NOT NULL,
	kind     text NOT NULL CHECK (kind IN
	         ('grant', 'purchase', 'subscription', 'checkin', 'reserve', 'capture', 'release', 'refund', 'adjust')),
	amount   bigint NOT NULL,
	held     bigint NOT NULL DEFAULT 0,
	job_id   uuid,            -- reserve, capture, release
	stage    text,            -- capture: parse, render, i2v, tts, merge
	provider text,            -- capture: who made the result
	shot     integer,         -- capture: the shot, NULL for a job-level call
	payment  text,            -- purchase, subscription, refund: '<provider>:<event id>'
	reason   text,            -- grant, adjust: why, as the operator wrote it; checkin: the day
	at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credit_ledger_owner ON credit_ledger (owner, id DESC);
CREATE INDEX IF NOT EXISTS credit_ledger_job ON credit_ledger (job_id) WHERE job_id IS NOT NULL;

-- A job's credits: what was reserved in all (growths included), what was
-- captured, and what is still held (0 once the job ended).
CREATE TABLE IF NOT EXISTS job_costs (
	job_id   uuid PRIMARY KEY,
	owner    text NOT NULL,
	reserved bigint NOT NULL DEFAULT 0,
	captured bigint NOT NULL DEFAULT 0,
	held     bigint NOT NULL DEFAULT 0
);

-- Every payment webhook event received, applied or not; the key makes a
-- second delivery (also a concurrent one) apply nothing.
CREATE TABLE IF NOT EXISTS payment_events (
	provider    text NOT NULL,  -- stripe | lemonsqueezy
	event_id    text NOT NULL,
	type        text NOT NULL,
	owner       text,           -- NULL when the event names nobody we know
	outcome     text NOT NULL,  -- applied | ignored | unknown-owner | stale
	detail      text,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (provider, event_id)
);

-- The account row of owner, locked for the rest of the transaction (made
-- on first use: every owner starts on free with nothing).
CREATE OR REPLACE FUNCTION reel_account_lock(p_owner text) RETURNS credit_accounts
LANGUAGE plpgsql AS $$
DECLARE a credit_accounts;
BEGIN
	INSERT INTO credit_accounts (owner) VALUES (p_owner) ON CONFLICT (owner) DO NOTHING;
	SELECT * INTO a FROM credit_accounts WHERE owner = p_owner FOR UPDATE;
	RETURN a;
END $$;

-- Appends a row and applies it to the account. The one writer of both.
CREATE OR REPLACE FUNCTION reel_ledger_add(p_owner text, p_kind text, p_amount bigint, p_held bigint,
	p_job uuid, p_stage text, p_provider text, p_shot integer, p_payment text, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM reel_account_lock(p_owner);
	INSERT INTO credit_ledger (owner, kind, amount, held, job_id, stage, provider, shot, payment, reason)
	VALUES (p_owner, p_kind, p_amount, p_held, p_job, p_stage, p_provider, p_shot, p_payment, p_reason);
	UPDATE credit_accounts SET available = available + p_amount, reserved = reserved + p_held, updated_at = now()
	WHERE owner = p_owner;
END $$;

-- Credits granted, bought, refunded or adjusted (amount may be negative).
CREATE OR REPLACE FUNCTION reel_credit(p_owner text, p_kind text, p_amount bigint, p_payment text, p_reason text)
RETURNS void LANGUAGE sql AS $$
	SELECT reel_ledger_add(p_owner, p_kind, p_amount, 0, NULL, NULL, NULL, NULL, p_payment, p_reason);
$$;

-- Holds p_amount of owner's available credits for job: true when they were
-- there, false (nothing changed) when not.
CREATE OR REPLACE FUNCTION reel_reserve(p_job uuid, p_owner text, p_amount bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a credit_accounts;
BEGIN
	a := reel_account_lock(p_owner);
	IF a.available < p_amount OR (a.available < 0) THEN
		RETURN false;
	END IF;
	PERFORM reel_ledger_add(p_owner, 'reserve', -p_amount, p_amount, p_job, NULL, NULL, NULL, NULL, NULL);
	INSERT INTO job_costs (job_id, owner, reserved, held) VALUES (p_job, p_owner, p_amount, p_amount)
	ON CONFLICT (job_id) DO UPDATE SET reserved = job_costs.reserved + p_amount, held = job_costs.held + p_amount;
	RETURN true;
END $$;

-- Gives the rest of job's reservation back. Runs in the transaction that
-- ends the job (the trigger below), whichever daemon or path ends it. The
-- account is locked before the job's row, as everywhere (no deadlocks).
CREATE OR REPLACE FUNCTION reel_release(p_job uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE c job_costs;
BEGIN
	SELECT * INTO c FROM job_costs WHERE job_id = p_job;
	IF NOT FOUND OR c.held = 0 THEN
		RETURN;
	END IF;
	PERFORM reel_account_lock(c.owner);
	SELECT * INTO c FROM job_costs WHERE job_id = p_job FOR UPDATE;
	IF c.held = 0 THEN
		RETURN;
	END IF;
	PERFORM reel_ledger_add(c.owner, 'release', c.held, -c.held, p_job, NULL, NULL, NULL, NULL, NULL);
	UPDATE job_costs SET held = 0 WHERE job_id = p_job;
END $$;

CREATE OR REPLACE FUNCTION reel_release_on_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM reel_release(NEW.id);
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS jobs_release_on_end ON jobs;
CREATE TRIGGER jobs_release_on_end AFTER UPDATE OF status ON jobs FOR EACH ROW
	WHEN (NEW.status IN ('done', 'failed', 'canceled') AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION reel_release_on_end();

-- Dashboards: credits sold and spent per day, spend per stage and provider,
-- and the vendors' cost beside the credits charged for the same calls.
CREATE OR REPLACE VIEW reel_credits_daily AS
SELECT date_trunc('day', at) AS day,
       sum(amount) FILTER (WHERE kind IN ('purchase', 'subscription')) AS sold,
       sum(amount) FILTER (WHERE kind IN ('grant', 'checkin')) AS granted,
       -sum(held) FILTER (WHERE kind = 'capture') AS spent,
       -sum(amount) FILTER (WHERE kind = 'refund') AS refunded
FROM credit_ledger GROUP BY 1;

CREATE OR REPLACE VIEW reel_credits_spend AS
SELECT date_trunc('day', at) AS day, stage, provider, count(*) AS results, -sum(held) AS credits
FROM credit_ledger WHERE kind = 'capture' GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW reel_credits_vs_cost AS
SELECT s.day, s.stage, s.provider, s.credits, coalesce(c.cost_usd, 0) AS cost_usd
FROM reel_credits_spend s
LEFT JOIN (SELECT date_trunc('day', at) AS day, stage, provider, sum(cost_usd) AS cost_usd
           FROM provider_calls GROUP BY 1, 2, 3) c USING (day, stage, provider);
