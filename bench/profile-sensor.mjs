// Where the sensor's own CPU goes during an exec storm: `vigil sensor` under `node --cpu-prof`,
// publishing to a local nats-server with JetStream, through a warm-up storm and a measured one; then
// the functions with the most self time while busy. Not part of `npm run bench` (a profile, not a
// figure to compare). Usage: node bench/profile-sensor.mjs [execs] [top]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, SENSOR_ENV, scratchDir, sleep, startNats, startProcess, usage, waitFor } from './lib.mjs';

const EXECS = Number(process.argv[2] ?? 10_000);
const TOP = Number(process.argv[3] ?? 30);
const dir = scratchDir('vigil-profile-');
const profDir = join(dir, 'prof');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);
const nats = await startNats(dir, { stream: true });
let hb = null;
nats.nc.subscribe('vigil.sensor.profile.heartbeat', {
  callback: (_e, m) => {
    hb = m.json();
  },
});
const sensor = startProcess(
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, 'sensor', '--nats', nats.url, '--host-id', 'profile'],
  SENSOR_ENV,
);
try {
  await waitFor(
    'probes running',
    () => hb?.probes.every((p) => p.state === 'running' || p.state === 'skipped'),
    90_000,
    200,
  );
  execFileSync(storm, ['exec', '1000']);
  await sleep(2000);
  const before = usage(sensor.child.pid);
  const [rate] = execFileSync(storm, ['exec', String(EXECS)], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  await sleep(3000);
  const after = usage(sensor.child.pid);
  console.log(
    `${EXECS} execs at ${Math.round(rate)}/s (slowed by the profiler); sensor and bpftrace CPU ${(after.cpu - before.cpu).toFixed(2)} s, ` +
      `${Math.round(((after.cpu - before.cpu) / EXECS) * 1e6)} µs per exec cycle; events published ${hb.counters.eventsPublished}`,
  );
} finally {
  await sensor.stop();
  await nats.stop();
}

// Self time per function over the whole profile (start-up included), busy samples only.
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
prof.samples.forEach((id, i) => {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const key =
    `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`.trim();
  self.set(key, (self.get(key) ?? 0) + prof.timeDeltas[i]);
});
const busy = [...self].filter(([k]) => k !== '(idle)' && k !== '(program)');
const total = busy.reduce((s, [, t]) => s + t, 0);
console.log(`node busy ${(total / 1e6).toFixed(2)} s in the profile (start-up included); top ${TOP} by self time:`);
for (const [k, t] of busy.sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
