-- Version 18, payments: what a payment event bought or refunded (so a
-- refund finds its purchase), and the functions webhook-receiver applies
-- Stripe's and Lemon Squeezy's events with, in the transaction that records
-- the event.

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS reference text;               -- payment intent, order, invoice
ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS credits bigint NOT NULL DEFAULT 0; -- credited (+) or taken back (-)
CREATE INDEX IF NOT EXISTS payment_events_reference ON payment_events (provider, reference)
	WHERE reference IS NOT NULL;

-- Claims an event for this transaction: true on its first delivery, false
-- on any later one. A concurrent second delivery waits on the key until
-- the first commits, then sees the conflict.
CREATE OR REPLACE FUNCTION reel_payment_claim(p_provider text, p_event text, p_type text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO payment_events (provider, event_id, type, outcome) VALUES (p_provider, p_event, p_type, 'applied')
	ON CONFLICT (provider, event_id) DO NOTHING;
	RETURN FOUND;
END $$;

-- What the claimed event came to.
CREATE OR REPLACE FUNCTION reel_payment_outcome(p_provider text, p_event text, p_owner text, p_outcome text,
	p_detail text, p_reference text, p_credits bigint) RETURNS void
LANGUAGE sql AS $$
	UPDATE payment_events SET owner = p_owner, outcome = p_outcome, detail = p_detail, reference = p_reference,
		credits = p_credits
	WHERE provider = p_provider AND event_id = p_event;
$$;

-- The owner and plan of a provider's subscription (no row when unknown).
CREATE OR REPLACE FUNCTION reel_subscription_account(p_provider text, p_sub text, OUT r_owner text, OUT r_plan text)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
	SELECT owner, plan FROM credit_accounts WHERE plan_provider = p_provider AND subscription = p_sub LIMIT 1;
$$;

-- The plan owner is on.
CREATE OR REPLACE FUNCTION reel_account_plan(p_owner text) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT plan FROM credit_accounts WHERE owner = p_owner), 'free');
$$;

-- Sets owner's plan as an event of subscription p_sub made at p_event_at
-- says; p_plan NULL ends it (back to free). Events arrive out of order:
-- 'stale', nothing changed, when a newer one was applied already; 'other'
-- when p_sub ends but the owner is on another subscription by now.
CREATE OR REPLACE FUNCTION reel_plan_set(p_owner text, p_plan text, p_provider text, p_sub text,
	p_renews timestamptz, p_ends timestamptz, p_event_at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE a credit_accounts;
BEGIN
	a := reel_account_lock(p_owner);
	IF a.plan_event_at IS NOT NULL AND p_event_at < a.plan_event_at THEN
		RETURN 'stale';
	END IF;
	IF p_plan IS NULL AND a.subscription IS NOT NULL AND
	   (a.subscription, a.plan_provider) IS DISTINCT FROM (p_sub, p_provider) THEN
		RETURN 'other';
	END IF;
	UPDATE credit_accounts SET plan = coalesce(p_plan, 'free'),
		plan_provider = CASE WHEN p_plan IS NULL THEN NULL ELSE p_provider END,
		subscription = CASE WHEN p_plan IS NULL THEN NULL ELSE p_sub END,
		plan_renews_at = p_renews, plan_ends_at = p_ends, plan_event_at = p_event_at, updated_at = now()
	WHERE owner = p_owner;
	RETURN 'applied';
END $$;

-- Takes back the share p_num / p_den of the pack bought with payment
-- p_reference, less what earlier refunds of it took (Stripe's
-- amount_refunded is cumulative). r_owner is NULL when no such purchase was
-- applied; r_credits is what this refund took.
CREATE OR REPLACE FUNCTION reel_payment_refund(p_provider text, p_reference text, p_event text, p_num bigint,
	p_den bigint, OUT r_owner text, OUT r_credits bigint)
LANGUAGE plpgsql AS $$
DECLARE bought payment_events; taken bigint;
BEGIN
	r_credits := 0;
	SELECT * INTO bought FROM payment_events e
	WHERE e.provider = p_provider AND e.reference = p_reference AND e.outcome = 'applied' AND e.credits > 0
	ORDER BY e.received_at LIMIT 1;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	r_owner := bought.owner;
	PERFORM reel_account_lock(r_owner); -- refunds of one owner one at a time
	SELECT coalesce(-sum(e.credits), 0) INTO taken FROM payment_events e
	WHERE e.provider = p_provider AND e.reference = p_reference AND e.credits < 0;
	r_credits := greatest(least(bought.credits * p_num / greatest(p_den, 1), bought.credits) - taken, 0);
	IF r_credits > 0 THEN
		PERFORM reel_credit(r_owner, 'refund', -r_credits, p_provider || ':' || p_event, NULL);
	END IF;
END $$;
