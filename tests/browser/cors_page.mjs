// A page on another origin uses the API the way a browser app does: it
// creates a job with fetch through CORS, asks for a stream token and follows
// the job's events with EventSource to `done`, creates a share link and
// plays the share page's video to its end (the element's own "ended" event).
// Drives Debian's chromium through playwright-core (no browser is ever downloaded).
// A page of an origin the gateway does not list must be refused by the browser.
// Usage: node cors_page.mjs PAGE_URL BLOCKED_PAGE_URL GATEWAY_URL; prints one JSON line.
import { chromium } from 'playwright-core';

const [pageUrl, blockedUrl, gateway] = process.argv.slice(2);
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run',
		'--autoplay-policy=no-user-gesture-required'],
});
// Opens the share page and plays its <video> to the end: what the browser
// says it can decode, and how far playback really went.
async function playShare(page, url) {
	const nav = await page.goto(url);
	return page.evaluate(async () => {
		const v = document.querySelector('video');
		const out = {
			title: document.title,
			can_h264_aac: v.canPlayType('video/mp4; codecs="avc1.64001F, mp4a.40.2"'),
			tracks: v.textTracks.length,
		};
		v.muted = true; // no audio device in a headless run
		out.ended = await new Promise((resolve) => {
			const timer = setTimeout(() => resolve('timeout'), 120000);
			v.addEventListener('ended', () => { clearTimeout(timer); resolve(true); });
			v.addEventListener('error', () => { clearTimeout(timer); resolve(`error ${v.error && v.error.code}`); });
			v.play().catch((e) => { clearTimeout(timer); resolve(`play refused: ${e.name}`); });
		});
		out.current_time = v.currentTime;
		out.duration = v.duration;
		out.width = v.videoWidth;
		out.height = v.videoHeight;
		out.decoded_frames = v.getVideoPlaybackQuality().totalVideoFrames;
		return out;
	}).then((r) => ({ ...r, page_status: nav.status() }));
}

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
		const share = await fetch(`${gw}/v1/jobs/${job.id}/shares`, {
			method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ expires_in_s: 600 }),
		});
		out.share_status = share.status;
		out.share_url = (await share.json()).url;
		return out;
	}, gateway);
	result.playback = result.share_url ? await playShare(page, result.share_url) : null;
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
