// The tcp probe's cost in a connect storm (issue 27: ≤ 10%): the storm (bench/storm.c: TCP connect
// and close to a loopback listener whose child accepts, each connection 4 state changes per side and
// an accept) under no sensor, under `vigil sensor` with the default probes but tcp, and with them
// all; interleaved repetitions in rotated order, the sensor publishing to a local nats-server.
// Usage: node bench/tcp-overhead.mjs [REPS] [CONNECTS]
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { CLI, median, rotated, scratchDir, SENSOR_ENV, spread, startNats, startProcess, waitFor } from './lib.mjs';

const REPS = Number(process.argv[2] ?? 5);
const CONNECTS = String(Number(process.argv[3] ?? 20000));
const dir = scratchDir('vigil-bench-tcp-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);
const gpuNode = join(dir, 'nvidiactl');
execFileSync('mknod', [gpuNode, 'c', '1', '7']);

const DEFAULT_BUT_TCP = ['exec', 'proc', 'connect', 'gpu'];
const conditions = {
  none: null,
  'sensor without tcp': DEFAULT_BUT_TCP,
  'sensor with tcp': [...DEFAULT_BUT_TCP, 'tcp'],
};

const nats = await startNats(dir, { stream: true });
process.once('SIGINT', () => nats.stop().finally(() => process.exit(130)));
let n = 0;
const runs = await rotated(REPS, conditions, async (probes) => {
  let sensor = null;
  if (probes) {
    const host = `bench-tcp-${++n}`;
    let heartbeat = null;
    const sub = nats.nc.subscribe(`vigil.sensor.${host}.heartbeat`, {
      callback: (_e, m) => {
        heartbeat = m.json();
      },
    });
    const args = [CLI, 'sensor', '--nats', nats.url, '--host-id', host, '--gpu-device', `${gpuNode}=nvidia`];
    for (const p of probes) args.push('--probe', p);
    sensor = startProcess(process.execPath, [...args, '--spool-dir', join(dir, `spool-${n}`)], SENSOR_ENV);
    await waitFor('probes running', async () => heartbeat?.probes.every((p) => p.state === 'running'), 120000, 200);
    sub.unsubscribe();
  }
  // An unmeasured storm first: what the first second after a start costs is not what a host pays.
  execFileSync(storm, ['connect', '2000']);
  const [rate, , sysPerOp] = execFileSync(storm, ['connect', CONNECTS], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  await sensor?.stop();
  // The probes run in the storm's own system time (its syscalls and the softirqs they raise):
  // less swayed than the rate by what else the host runs.
  return { rate, sysUs: sysPerOp * 1e6 };
});
await nats.stop();

const none = median(runs.none.map((r) => r.rate));
const noneSys = median(runs.none.map((r) => r.sysUs));
const fmt = (x) => Math.round(x).toLocaleString('en');
console.log(`node bench/tcp-overhead.mjs ${REPS} ${CONNECTS}, ${new Date().toISOString()}`);
console.log(
  '| condition | connects/s median [min–max] | overhead vs none | storm system µs per connect [min–max] | vs none |',
);
console.log('|---|---|---|---|---|');
for (const [name, rs] of Object.entries(runs)) {
  const r = spread(rs.map((x) => x.rate));
  const y = spread(rs.map((x) => x.sysUs));
  const vs = (v, base, sign) => (name === 'none' ? '—' : `${((sign * (v - base) * 100) / base).toFixed(1)}%`);
  console.log(
    `| ${name} | ${fmt(r.median)}/s [${fmt(r.min)}–${fmt(r.max)}] | ${vs(r.median, none, -1)} | ${y.median.toFixed(1)} [${y.min.toFixed(1)}–${y.max.toFixed(1)}] | ${vs(y.median, noneSys, 1)} |`,
  );
}
