// What batching inserts saves on a host that runs the whole pipeline: an exec storm with `vigil sensor`,
// nats-server and `vigil control-plane` on these two cores, the control plane storing every arrival at
// once (`--store-linger-ms 0`, as it did before inserts waited for company) against the default
// (250 ms). Interleaved repetitions in rotated order; per condition: the storm's rate and user share (see
// overhead.mjs), each process's CPU per exec cycle, and the inserts made.
// Usage: node bench/store-linger.mjs [REPS] [EXECS]
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  api,
  CLI,
  cpuSeconds,
  freePort,
  median,
  rotated,
  scratchDir,
  SENSOR_ENV,
  sleep,
  spread,
  startNats,
  startProcess,
  waitFor,
} from './lib.mjs';

const REPS = Number(process.argv[2] ?? 3);
const EXECS = String(process.argv[3] ?? 3000);
const CONDITIONS = { immediate: '0', default: '250' };
const dir = scratchDir('vigil-bench-linger-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);

async function run(linger) {
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const nats = await startNats(dir);
  const cp = startProcess(
    process.execPath,
    [
      CLI,
      'control-plane',
      '--data-dir',
      join(dir, `ch-${apiPort}`),
      '--nats',
      nats.url,
      '--api-port',
      String(apiPort),
      '--store-linger-ms',
      linger,
    ],
    { VIGIL_LOG_LEVEL: 'warn' },
  );
  let hb = null;
  const sub = nats.nc.subscribe('vigil.sensor.bench.heartbeat', {
    callback: (_e, m) => {
      hb = m.json();
    },
  });
  let sensor = null;
  try {
    await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');
    sensor = startProcess(
      process.execPath,
      [CLI, 'sensor', '--nats', nats.url, '--host-id', 'bench', '--spool-dir', join(dir, `spool-${apiPort}`)],
      SENSOR_ENV,
    );
    await waitFor(
      'sensor exec probe',
      async () => hb?.probes.find((p) => p.name === 'exec')?.state === 'running',
      90000,
      200,
    );
    await sleep(5000);
    const pids = { controlPlane: cp.child.pid, sensor: sensor.child.pid, nats: nats.pid };
    const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
    const s0 = (await api(base, '/api/v1/status')).controlPlane;
    const [rate, userPerOp] = execFileSync(storm, ['exec', EXECS], { encoding: 'utf8' }).trim().split(' ').map(Number);
    // What the storm left in flight is stored, and the inserts' parts are merged, within this wait.
    await sleep(4000);
    const s1 = (await api(base, '/api/v1/status')).controlPlane;
    const usPerExec = Object.fromEntries(
      Object.entries(pids).map(([k, p]) => [k, ((cpuSeconds(p) - before[k]) / Number(EXECS)) * 1e6]),
    );
    return {
      rate,
      userShare: rate * userPerOp,
      usPerExec,
      inserts: s1.inserts - s0.inserts,
      stored: s1.stored - s0.stored,
    };
  } finally {
    sub.unsubscribe();
    await sensor?.stop();
    await cp.stop();
    await nats.stop();
  }
}

const runs = await rotated(REPS, CONDITIONS, run);
const summary = Object.fromEntries(
  Object.entries(runs).map(([name, rs]) => [
    name,
    {
      storeLingerMs: Number(CONDITIONS[name]),
      rate: spread(rs.map((r) => r.rate)),
      userShare: spread(rs.map((r) => r.userShare)),
      usPerExec: Object.fromEntries(
        ['controlPlane', 'sensor', 'nats'].map((k) => [k, spread(rs.map((r) => r.usPerExec[k]))]),
      ),
      inserts: median(rs.map((r) => r.inserts)),
      stored: median(rs.map((r) => r.stored)),
    },
  ]),
);
console.log(JSON.stringify({ reps: REPS, execs: Number(EXECS), ...summary }, null, 2));
