// The web console's load times over a large store: seeds the events table (and one alert per 100
// events) in chDB, starts the control plane on it, raises a real incident among them (an attack chain
// published as a sensor does: bench/incident-chain.mjs), and times in Debian's chromium (headless, a
// fresh browser context each time, so nothing is cached): the console's first load (the page, its
// bundle, and the overview drawn with its data), the Events page's first rows, and the incident's page
// until its tree and its timeline are drawn, with the API calls each page made; then the incident
// detail call on its own. Usage (root): node bench/console.mjs [rows] [loads]
import { chromium } from 'playwright-core';
import { authHeaders, quantile, report, scratchDir, seedStore, startControlPlane } from './lib.mjs';
import { raiseIncident } from './incident-chain.mjs';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const RUNS = Number(process.argv[3] ?? 15);
const HOST = 'node-7';
const dir = scratchDir('vigil-console-');
const seeded = seedStore(dir, ROWS);
const stack = await startControlPlane(dir);
const { base } = stack;
const incidentId = await raiseIncident(stack.nats, base, HOST);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const token = process.env.VIGIL_API_TOKEN;

/** ms from navigation to every `ready` selector visible, in a new context that already holds the token. */
async function timeLoad(path, ready) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((t) => sessionStorage.setItem('vigil.apiToken', t), token);
  const page = await context.newPage();
  const calls = {};
  page.on('requestfinished', (req) => {
    const url = new URL(req.url());
    if (!url.pathname.startsWith('/api/')) return;
    const t = req.timing();
    // Playwright gives each phase in ms after startTime.
    calls[url.pathname.replace(/[^/]{30,}$/, ':id')] = t.responseEnd;
  });
  const s = performance.now();
  await page.goto(`${base}/ui${path}`);
  for (const r of ready) await page.locator(r).first().waitFor({ timeout: 120_000 });
  const ms = performance.now() - s;
  const transfer = await page.evaluate(() => {
    const all = [...performance.getEntriesByType('resource'), ...performance.getEntriesByType('navigation')];
    return { bytes: all.reduce((n, e) => n + e.transferSize, 0), requests: all.length };
  });
  await context.close();
  return { ms, calls, ...transfer };
}

const stats = (xs) => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) });

async function series(path, ready) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timeLoad(path, ready));
  const apiCalls = {};
  for (const name of new Set(runs.flatMap((r) => Object.keys(r.calls))))
    apiCalls[name] = stats(runs.map((r) => r.calls[name]).filter((x) => x !== undefined));
  return {
    ...stats(runs.map((r) => r.ms)),
    first: runs[0].ms,
    bytes: runs[0].bytes,
    requests: runs[0].requests,
    apiCalls,
  };
}

const detailPath = `/api/v1/incidents/${encodeURIComponent(incidentId)}`;
const detail = await (await fetch(`${base}${detailPath}`, { headers: authHeaders })).json();
const results = {
  // The overview with its data: the host cards, the chart and the loudest rules' first row.
  'first load (overview drawn with data)': await series('/', ['main table tbody tr']),
  'events page (first rows)': await series('/events', ['[data-testid=events] tbody tr']),
  'incident page (tree and timeline drawn)': await series(`/incidents/${encodeURIComponent(incidentId)}`, [
    '.tree',
    '[data-testid=timeline] tbody tr',
  ]),
};
const direct = [];
for (let i = 0; i < RUNS; i++) {
  const s = performance.now();
  await (await fetch(`${base}${detailPath}`, { headers: authHeaders })).arrayBuffer();
  direct.push(performance.now() - s);
}
results[`GET ${detailPath.replace(incidentId, ':id')} (alone)`] = stats(direct);
await browser.close();
await stack.stop();
report({
  ...seeded,
  runs: RUNS,
  incident: {
    host: HOST,
    tree: detail.tree.length,
    timeline: detail.timeline.length,
    alerts: detail.alerts.length,
  },
  results,
});
