// Benchmark 6: query latency over 10 M stored events (and 100,000 alerts). Seeds both tables in chDB
// (the engine itself generates the rows), starts the control plane on it, and times `vigil events`-style filters
// and `vigil alerts` through the API (and once through the CLI). Usage (root): node bench/query.mjs [rows]
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { api, CLI, freePort, median, quantile, scratchDir, sleep, startProcess, waitFor } from './lib.mjs';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const dir = scratchDir('vigil-query-');
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

const since = (BigInt(Date.now() - 3_600_000) * 1_000_000n).toString();
const queries = {
  'events --kind exec --comm curl': '/api/v1/events?kind=exec&comm=curl&limit=100',
  'events --pid 4242': '/api/v1/events?pid=4242&limit=100',
  'events --host node-4 --kind exec --since 1h': `/api/v1/events?host=node-4&kind=exec&sinceNs=${since}&limit=100`,
  'events (newest 100, no filter)': '/api/v1/events?limit=100',
  'alerts --since 1h': `/api/v1/alerts?sinceNs=${since}&limit=100`,
  'alerts --severity high --host node-4': '/api/v1/alerts?severity=high&host=node-4&limit=100',
  'alerts --rule miner.exec': '/api/v1/alerts?rule=miner.exec&limit=100',
};
const results = {};
for (const [name, path] of Object.entries(queries)) {
  const times = [];
  let rows = 0;
  for (let i = 0; i < 21; i++) {
    const s = performance.now();
    const body = await api(base, path);
    times.push(performance.now() - s);
    rows = (body.events ?? body.alerts).length;
  }
  results[name] = { p50: median(times.slice(1)), p90: quantile(times.slice(1), 0.9), first: times[0], rows };
}
const cliTimes = [];
for (let i = 0; i < 5; i++) {
  const s = performance.now();
  execFileSync(process.execPath, [CLI, 'events', '--kind', 'exec', '--comm', 'curl', '--json', '--api', base], {
    stdio: 'ignore',
  });
  cliTimes.push(performance.now() - s);
}
await cp.stop();
await nats.stop();
console.log(
  JSON.stringify(
    {
      rows: ROWS,
      alerts: Math.max(1, Math.floor(ROWS / 100)),
      seedSecs,
      api: results,
      cli: { 'vigil events --kind exec --comm curl --json': { p50: median(cliTimes) } },
    },
    null,
    2,
  ),
);
