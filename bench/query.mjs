// Benchmark 6: query latency over 10 M stored events (and 100,000 alerts). Seeds both tables in chDB
// (the engine itself generates the rows), starts the control plane on it, and times `vigil events`-style filters
// and `vigil alerts` through the API (and once through the CLI). Usage (root): node bench/query.mjs [rows]
import { execFileSync } from 'node:child_process';
import { api, CLI, median, quantile, report, scratchDir, seedStore, startControlPlane } from './lib.mjs';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const dir = scratchDir('vigil-query-');
const seeded = seedStore(dir, ROWS);
const stack = await startControlPlane(dir);
const { base } = stack;

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
await stack.stop();
report({
  ...seeded,
  api: results,
  cli: { 'vigil events --kind exec --comm curl --json': { p50: median(cliTimes) } },
});
