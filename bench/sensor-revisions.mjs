// The exec storm alone, under no sensor, an earlier sensor and this checkout's: what a change to the
// sensor costs a fork+exec loop. BEFORE is either another built checkout (a worktree built with
// `tsc -b`: its whole sensor, code and default probes) or a git revision (its probes, run by this
// checkout's code: what a change to the probes alone costs; the earlier probes leave the newer code's
// work undone). Each sensor publishes to a local nats-server with the stream. Interleaved repetitions
// in rotated order; per condition the storm's rate and user share (see overhead.mjs).
// Usage: node bench/sensor-revisions.mjs REPS EXECS BEFORE
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { median, rotated, scratchDir, SENSOR_ENV, sleep, spread, startNats, startProcess, waitFor } from './lib.mjs';

const REPS = Number(process.argv[2] ?? 5);
const EXECS = Number(process.argv[3] ?? 5000);
const BEFORE = process.argv[4];
if (!BEFORE)
  throw new Error('usage: node bench/sensor-revisions.mjs REPS EXECS BEFORE (a built checkout, or a git revision)');
const root = new URL('..', import.meta.url).pathname;
const dir = scratchDir('vigil-bench-revisions-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);

/** A sensor to run: whose code, and whose probes. */
const here = { code: root, probes: join(root, 'probes') };
function before() {
  if (existsSync(join(BEFORE, 'sensor', 'dist', 'index.js'))) return { code: BEFORE, probes: join(BEFORE, 'probes') };
  // A revision: its probes, file by file, as git holds them.
  const probes = join(dir, 'probes-before');
  mkdirSync(probes);
  for (const f of readdirSync(join(root, 'probes')).filter((f) => f.endsWith('.bt')))
    writeFileSync(join(probes, f), execFileSync('git', ['-C', root, 'show', `${BEFORE}:probes/${f}`]));
  return { code: root, probes };
}
const CONDITIONS = { none: null, before: before(), after: here };

const runStorm = (n) => {
  const [rate, userPerOp] = execFileSync(storm, ['exec', String(n)], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  return { rate, userShare: rate * userPerOp };
};

/** A checkout's sensor with the default probes from a folder, in a process of its own, as `vigil sensor` runs. */
const SENSOR = `
const { startSensor } = await import(process.env.CHECKOUT + '/sensor/dist/index.js');
const { pino } = await import('pino');
const s = await startSensor({ nats: { servers: process.env.NATS }, probesDir: process.env.PROBES, log: pino({ level: 'warn' }) });
setInterval(() => { if (s.heartbeat().probes.every((p) => p.state === 'running' || p.state === 'skipped')) console.error('READY'); }, 200);
process.once('SIGINT', async () => { await s.stop(); process.exit(0); });
`;

async function run(sensorOf) {
  if (sensorOf === null) {
    runStorm(1000);
    await sleep(2000);
    return runStorm(EXECS);
  }
  const nats = await startNats(dir, { stream: true });
  const sensor = startProcess(process.execPath, ['--input-type=module', '-e', SENSOR], {
    ...SENSOR_ENV,
    NATS: nats.url,
    CHECKOUT: sensorOf.code,
    PROBES: sensorOf.probes,
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
console.log(
  `exec storm (${EXECS} fork+exec of /bin/true), ${REPS} reps, rotated; before = ${CONDITIONS.before.code === root ? 'the probes' : 'the sensor'} of ${BEFORE}`,
);
console.log('| condition | rate | overhead | user share |');
console.log('|---|---|---|---|');
for (const [name, rs] of Object.entries(runs)) {
  const s = spread(rs.map((r) => r.rate));
  const user = median(rs.map((r) => r.userShare));
  console.log(
    `| ${name} | ${fmt(s.median)}/s [${fmt(s.min)}–${fmt(s.max)}] | ${((1 - s.median / base) * 100).toFixed(1)}% | ${(user * 100).toFixed(1)}% |`,
  );
}
