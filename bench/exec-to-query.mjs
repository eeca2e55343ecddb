// Exec → visible in the store: starts `vigil up` (or uses VIGIL_API), execs /bin/true with a unique
// argument, and polls the API every 10 ms until the event is there. Also the event rate at idle from
// two heartbeats a minute apart. Usage (root): node bench/exec-to-query.mjs [trials]
import { spawn, spawnSync } from 'node:child_process';
import { authHeaders, scratchDir } from './lib.mjs';
import { randomUUID } from 'node:crypto';

const trials = Number(process.argv[2] ?? 100);
const dir = scratchDir('vigil-bench-');
const api = 'http://127.0.0.1:18899';
const cli = new URL('../cli/bin/run.js', import.meta.url).pathname;
const up = spawn(
  process.execPath,
  [cli, 'up', '--data-dir', dir, '--api-port', '18899', '--nats-port', '14299', '--host-id', 'bench'],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
const get = async (path) => (await fetch(`${api}${path}`, { headers: authHeaders })).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (let i = 0; ; i++) {
  try {
    const s = await get('/api/v1/status');
    if (s.sensors.some((x) => x.host === 'bench' && x.probes.every((p) => p.state !== 'starting'))) break;
  } catch {}
  if (i > 600) throw new Error('vigil up did not come up');
  await sleep(200);
}
await sleep(3000);

const lat = [];
for (let t = 0; t < trials; t++) {
  const marker = `bench-${randomUUID()}`;
  const t0 = performance.now();
  spawnSync('/bin/true', [marker]);
  for (;;) {
    const { events } = await get(`/api/v1/events?host=bench&kind=exec&comm=true&limit=20`);
    if (events.some((e) => e.exec.argv[1] === marker)) break;
    await sleep(10);
  }
  lat.push(performance.now() - t0);
}
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(0);

// Idle: nothing started by us for 60 s; the rate is what the host itself does.
const hb = async () => (await get('/api/v1/status')).sensors.find((x) => x.host === 'bench');
await sleep(6000);
const a = await hb();
await sleep(60_000);
const b = await hb();
const secs = Number(BigInt(b.ts) - BigInt(a.ts)) / 1e9;
const rate = (b.counters.eventsPublished - a.counters.eventsPublished) / secs;
const records = (b.counters.recordsRead - a.counters.recordsRead) / secs;
up.kill('SIGINT');
await new Promise((r) => up.once('exit', r));
console.log(
  JSON.stringify(
    {
      trials,
      execToQueryMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.at(-1).toFixed(0) },
      idle: { seconds: secs.toFixed(1), eventsPerSec: rate.toFixed(2), probeRecordsPerSec: records.toFixed(2) },
    },
    null,
    2,
  ),
);
