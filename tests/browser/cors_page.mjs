// A page on another origin uses the API the way a browser app does: it
// creates a job with fetch through CORS, asks for a stream token and follows
// the job's events with EventSource to `done`. Drives Debian's chromium
// through playwright-core (no browser is ever downloaded).
// A page of an origin the gateway does not list must be refused by the browser.
// Usage: node cors_page.mjs PAGE_URL BLOCKED_PAGE_URL GATEWAY_URL; prints one JSON line.
import { chromium } from 'playwright-core';

const [pageUrl, blockedUrl, gateway] = process.argv.slice(2);
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
	const page = await browser.newPage();
	await page.goto(pageUrl);
	const result = await page.evaluate(async (gw) => {
		const out = { origin: location.origin };
		const create = await fetch(`${gw}/v1/jobs`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `browser-${Date.now()}` },
			body: JSON.stringify({ template: 'storyboard', input: { text: 'A short test. It has two sentences.' } }),
		});
		out.create_status = create.status;
		out.location = create.headers.get('Location');
		const job = await create.json();
		out.job = job.id;
		const tok = await fetch(`${gw}/v1/jobs/${job.id}/events/tokens`, { method: 'POST' });
		out.token_status = tok.status;
		const { token } = await tok.json();
		out.kinds = await new Promise((resolve) => {
			const kinds = [];
			const es = new EventSource(`${gw}/v1/jobs/${job.id}/events?token=${encodeURIComponent(token)}`);
			const timer = setTimeout(() => { es.close(); resolve(kinds.concat('timeout')); }, 240000);
			for (const k of ['queued', 'parsing', 'producing', 'merging', 'done', 'failed', 'canceled'])
				es.addEventListener(k, () => {
					kinds.push(k);
					if (k === 'done' || k === 'failed' || k === 'canceled') {
						clearTimeout(timer);
						es.close();
						resolve(kinds);
					}
				});
			es.onerror = () => { if (es.readyState === EventSource.CLOSED) { clearTimeout(timer); resolve(kinds.concat('error')); } };
		});
		const got = await fetch(`${gw}/v1/jobs/${job.id}`);
		out.final_status = (await got.json()).status;
		return out;
	}, gateway);
	await page.goto(blockedUrl);
	result.blocked = await page.evaluate(async (gw) => {
		try {
			await fetch(`${gw}/v1/jobs`, { headers: { Authorization: 'Bearer x' } });
			return 'read';
		} catch (e) {
			return `refused: ${e.name}`;
		}
	}, gateway);
	console.log(JSON.stringify(result));
} finally {
	await browser.close();
}
