// The web console's load times over a large store: seeds the events table (and one alert per 100
// events) in chDB, starts the control plane on it, and times in Debian's chromium (headless, a fresh
// browser context each time, so nothing is cached): the console's first load (the page, its bundle,
// and the overview drawn with its data), the Events page's first rows, and an incident page (when the
// control plane has the incidents API; with no incident stored, the page's answer for an unknown id).
// Usage (root): node bench/console.mjs [rows]
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { api, authHeaders, CLI, freePort, median, scratchDir, sleep, startProcess, waitFor } from './lib.mjs';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const RUNS = 7;
const dir = scratchDir('vigil-console-');
const t0 = performance.now();
execFileSync(process.execPath, [new URL('./seed.mjs', import.meta.url).pathname, join(dir, 'ch'), String(ROWS)], {
  stdio: 'inherit',
  cwd: new URL('../control-plane/', import.meta.url).pathname,
});
const seedSecs = (performance.now() - t0) / 1000;
const natsPort = await freePort();
const apiPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
const nats = startProcess('nats-server', ['-js', '-sd', join(dir, 'nats'), '-a', '127.0.0.1', '-p', String(natsPort)]);
await sleep(500);
const cp = startProcess(
  process.execPath,
  [
    CLI,
    'control-plane',
    '--data-dir',
    join(dir, 'ch'),
    '--nats',
    `nats://127.0.0.1:${natsPort}`,
    '--api-port',
    String(apiPort),
  ],
  { VIGIL_LOG_LEVEL: 'warn' },
);
await waitFor(
  'control plane',
  async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected',
  120_000,
);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const token = process.env.VIGIL_API_TOKEN;

/** ms from navigation to `ready` being visible, in a new context that already holds the token. */
async function timeLoad(path, ready) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((t) => sessionStorage.setItem('vigil.apiToken', t), token);
  const page = await context.newPage();
  const s = performance.now();
  await page.goto(`${base}/ui${path}`);
  await page.locator(ready).first().waitFor({ timeout: 120_000 });
  const ms = performance.now() - s;
  const bytes = await page.evaluate(
    () =>
      performance.getEntriesByType('resource').reduce((n, e) => n + e.transferSize, 0) +
      performance.getEntriesByType('navigation')[0].transferSize,
  );
  await context.close();
  return { ms, bytes };
}

async function series(path, ready) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timeLoad(path, ready));
  return { p50: median(runs.map((r) => r.ms)), first: runs[0].ms, bytes: runs[0].bytes };
}

const results = {
  // The overview with its data: the host cards, the chart and the loudest rules' first row.
  'first load (overview drawn with data)': await series('/', 'main table tbody tr'),
  'events page (first rows)': await series('/events', '[data-testid=events] tbody tr'),
};
const incidents = await fetch(`${base}/api/v1/incidents?limit=1`, { headers: authHeaders });
let incidentNote;
if (incidents.status === 200) {
  const [first] = (await incidents.json()).incidents;
  const id = first?.id ?? 'no-such-incident';
  results[first ? 'incident page (tree drawn)' : 'incident page (unknown id answered)'] = await series(
    `/incidents/${encodeURIComponent(id)}`,
    first ? '.tree' : '[role=alert]',
  );
} else incidentNote = `GET /api/v1/incidents answers ${incidents.status}: no incidents API on this control plane`;
await browser.close();
await cp.stop();
await nats.stop();
console.log(
  JSON.stringify(
    { rows: ROWS, alerts: Math.max(1, Math.floor(ROWS / 100)), seedSecs, runs: RUNS, results, incidentNote },
    null,
    2,
  ),
);
