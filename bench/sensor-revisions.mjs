// The exec storm alone, under no sensor, the whole sensor (code and probes, default probes) of
// another built checkout, and this checkout's: what a round of sensor changes costs a fork+exec loop.
// Each sensor publishes to a local nats-server with the stream. Interleaved repetitions in rotated
// order; per condition the storm's rate and user share (see overhead.mjs).
// Usage: node bench/sensor-revisions.mjs REPS EXECS BEFORE_CHECKOUT (a worktree built with tsc -b)
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { median, rotated, scratchDir, SENSOR_ENV, sleep, spread, startNats, startProcess, waitFor } from './lib.mjs';

const REPS = Number(process.argv[2] ?? 5);
const EXECS = Number(process.argv[3] ?? 5000);
const BEFORE = process.argv[4];
if (!BEFORE) throw new Error('usage: node bench/sensor-revisions.mjs REPS EXECS BEFORE_CHECKOUT');
const root = new URL('..', import.meta.url).pathname;
const dir = scratchDir('vigil-bench-revisions-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);
const CONDITIONS = { none: null, before: BEFORE, after: root };

const runStorm = (n) => {
  const [rate, userPerOp] = execFileSync(storm, ['exec', String(n)], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  return { rate, userShare: rate * userPerOp };
};

/** A checkout's sensor with its default probes, in a process of its own, as `vigil sensor` runs. */
const SENSOR = `
const { startSensor } = await import(process.env.CHECKOUT + '/sensor/dist/index.js');
const { pino } = await import('pino');
const s = await startSensor({ nats: { servers: process.env.NATS }, probesDir: process.env.CHECKOUT + '/probes', log: pino({ level: 'warn' }) });
setInterval(() => { if (s.heartbeat().probes.every((p) => p.state === 'running' || p.state === 'skipped')) console.error('READY'); }, 200);
process.once('SIGINT', async () => { await s.stop(); process.exit(0); });
`;

async function run(checkout) {
  if (checkout === null) {
    runStorm(1000);
    await sleep(2000);
    return runStorm(EXECS);
  }
  const nats = await startNats(dir, { stream: true });
  const sensor = startProcess(process.execPath, ['--input-type=module', '-e', SENSOR], {
    ...SENSOR_ENV,
    NATS: nats.url,
    CHECKOUT: checkout,
  });
  try {
    await waitFor('sensor probes', () => sensor.stderr().includes('READY'), 90_000, 200);
    // A sensor runs for days: its first second (JIT compilation included) is not what it costs a host.
    runStorm(1000);
    await sleep(2000);
    return runStorm(EXECS);
  } finally {
    await sensor.stop();
    await nats.stop();
  }
}

const runs = await rotated(REPS, CONDITIONS, run);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const base = median(runs.none.map((r) => r.rate));
console.log(`exec storm (${EXECS} fork+exec of /bin/true), ${REPS} reps, rotated; before = the sensor of ${BEFORE}`);
console.log('| condition | rate | overhead | user share |');
console.log('|---|---|---|---|');
for (const [name, rs] of Object.entries(runs)) {
  const s = spread(rs.map((r) => r.rate));
  const user = median(rs.map((r) => r.userShare));
  console.log(
    `| ${name} | ${fmt(s.median)}/s [${fmt(s.min)}–${fmt(s.max)}] | ${((1 - s.median / base) * 100).toFixed(1)}% | ${(user * 100).toFixed(1)}% |`,
  );
}
