// Where a sensor's cost in an exec storm goes, and what the ancestry in every event costs: `vigil sensor`
// (one bpftrace with every probe) publishing to a local nats-server with the stream, with the default
// ancestry (16 ancestors, each with its argv) and with `--ancestry-depth 0` (none: the most that
// sending ancestry by reference could save the sensor), against no sensor. Interleaved repetitions in
// rotated order; per condition: the storm's rate and user share (see overhead.mjs), the CPU per exec
// cycle of node's main thread, of its other threads (V8's helpers: garbage collection, compilation), of bpftrace
// and of nats-server, from /proc over the storm and 2 s after it, and the bytes stored per event.
// Usage: node bench/sensor-cost.mjs [REPS] [EXECS]
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EVENTS_STREAM } from '@vigil/schema';
import {
  childrenOf,
  CLI,
  cpuSeconds,
  median,
  rotated,
  scratchDir,
  SENSOR_ENV,
  sleep,
  spread,
  startNats,
  startProcess,
  threadCpu,
  waitFor,
} from './lib.mjs';

const REPS = Number(process.argv[2] ?? 5);
const EXECS = Number(process.argv[3] ?? 5000);
const CONDITIONS = { none: null, ancestry: '16', noAncestry: '0' };
const dir = scratchDir('vigil-bench-sensor-cost-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);

const runStorm = (n) => {
  const [rate, userPerOp] = execFileSync(storm, ['exec', String(n)], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  return { rate, userShare: rate * userPerOp };
};
const bpftraceOf = (pid) =>
  childrenOf(pid).find((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bpftrace';
    } catch {
      return false;
    }
  });

async function run(depth) {
  if (depth === null) {
    runStorm(1000);
    await sleep(2000);
    return runStorm(EXECS);
  }
  const nats = await startNats(dir, { stream: true });
  let hb = null;
  const sub = nats.nc.subscribe('vigil.sensor.bench.heartbeat', {
    callback: (_e, m) => {
      hb = m.json();
    },
  });
  const sensor = startProcess(
    process.execPath,
    [
      CLI,
      'sensor',
      '--nats',
      nats.url,
      '--host-id',
      'bench',
      '--ancestry-depth',
      depth,
      '--spool-dir',
      join(dir, `spool-${Date.now()}`),
    ],
    SENSOR_ENV,
  );
  try {
    await waitFor(
      'sensor probes',
      () => hb?.probes.every((p) => p.state === 'running' || p.state === 'skipped'),
      90_000,
      200,
    );
    // A sensor runs for days: its first second (JIT compilation included) is not what it costs a host.
    runStorm(1000);
    await sleep(2000);
    const jsm = await nats.nc.jetstreamManager();
    const node = sensor.child.pid;
    const bpftrace = bpftraceOf(node);
    const cpu = () => ({
      ...threadCpu(node),
      bpftrace: bpftrace ? cpuSeconds(bpftrace) : NaN,
      nats: cpuSeconds(nats.pid),
    });
    const stream = async () => (await jsm.streams.info(EVENTS_STREAM)).state;
    // Events published come from the sensor's heartbeats (every 5 s); the stream's bytes include
    // subjects and headers, what a sensor sends.
    const published = async () => {
      const at = Date.now();
      await waitFor('a fresh heartbeat', () => Number(BigInt(hb.ts) / 1_000_000n) > at, 15_000, 50);
      return hb.counters.eventsPublished;
    };
    const p0 = await published();
    const [c0, s0] = [cpu(), await stream()];
    const storm = runStorm(EXECS);
    await sleep(2000);
    const [c1, s1] = [cpu(), await stream()];
    const p1 = await published();
    const usPerExec = Object.fromEntries(Object.keys(c0).map((k) => [k, ((c1[k] - c0[k]) / EXECS) * 1e6]));
    return {
      ...storm,
      usPerExec,
      bytes: s1.bytes - s0.bytes,
      events: p1 - p0,
      dropped: hb.counters.eventsDropped + hb.counters.lostEvents,
    };
  } finally {
    sub.unsubscribe();
    await sensor.stop();
    await nats.stop();
  }
}

const runs = await rotated(REPS, CONDITIONS, run);
const baseShare = median(runs.none.map((r) => r.userShare));
const baseRate = median(runs.none.map((r) => r.rate));
const summary = Object.fromEntries(
  Object.entries(runs).map(([name, rs]) => {
    const out = {
      ancestryDepth: CONDITIONS[name] === null ? null : Number(CONDITIONS[name]),
      rate: spread(rs.map((r) => r.rate)),
      userShare: spread(rs.map((r) => r.userShare)),
      overhead: 1 - median(rs.map((r) => r.rate)) / baseRate,
      adjustedOverhead: 1 - median(rs.map((r) => r.userShare)) / baseShare,
    };
    if (CONDITIONS[name] === null) return [name, out];
    const us = (k) => spread(rs.map((r) => r.usPerExec[k]));
    return [
      name,
      {
        ...out,
        usPerExec: {
          main: us('main'),
          other: us('other'),
          bpftrace: us('bpftrace'),
          nats: us('nats'),
          total: spread(rs.map((r) => r.usPerExec.main + r.usPerExec.other + r.usPerExec.bpftrace + r.usPerExec.nats)),
        },
        bytesPerEvent: median(rs.map((r) => r.bytes / r.events)),
        eventsPerExec: median(rs.map((r) => r.events / EXECS)),
        dropped: Math.max(...rs.map((r) => r.dropped)),
      },
    ];
  }),
);
console.log(JSON.stringify({ reps: REPS, execs: EXECS, ...summary }, null, 2));
