// Prints the Stripe-Signature header of the payload read on stdin, made by
// Stripe's own library (stripe.webhooks.generateTestHeaderString), so the
// receiver's verifier is held against Stripe's code rather than ours.
//   node stripe_sign.mjs SECRET [UNIX_SECONDS] < payload
import Stripe from "stripe";
import { readFileSync } from "node:fs";

const [secret, stamp] = process.argv.slice(2);
if (!secret) {
	console.error("usage: node stripe_sign.mjs SECRET [UNIX_SECONDS] < payload");
	process.exit(2);
}
const stripe = new Stripe("sk_test_unused");
const payload = readFileSync(0, "utf8");
const opts = { payload, secret };
if (stamp) opts.timestamp = Number(stamp);
process.stdout.write(stripe.webhooks.generateTestHeaderString(opts) + "\n");
