// Benchmark: an exec storm of one miner-like command against as many plain execs, through a real
// `vigil control-plane` (nats-server, embedded chDB, every built-in and Sigma detection). Events are
// published to NATS by the sensor's own EventPublisher, as a sensor sends them. Per condition: the
// control plane's CPU per exec (from its first event until every event is stored and the alerts are
// settled) and the alerts it raised (distinct alerts stored).
// Conditions alternate (rotated) so drift of the host falls on both alike.
// Usage (root): node bench/storm.mjs [N=10000] [REPS=3]
import { join } from 'node:path';
import { pino } from 'pino';
import { EventPublisher, Counters } from '@vigil/sensor';
import {
  api,
  benchEvent,
  CLI,
  freePort,
  median,
  rotated,
  scratchDir,
  startNats,
  startProcess,
  usage,
  waitFor,
} from './lib.mjs';

const N = Number(process.argv[2] ?? 10_000);
const REPS = Number(process.argv[3] ?? 3);
const dir = scratchDir('vigil-storm-');
const apiPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
const nats = await startNats(dir);
const cp = startProcess(
  process.execPath,
  [CLI, 'control-plane', '--data-dir', join(dir, 'ch'), '--nats', nats.url, '--api-port', String(apiPort)],
  { VIGIL_LOG_LEVEL: 'warn' },
);
await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');
const publisher = new EventPublisher(nats.nc.jetstream(), {
  maxQueue: 2_000_000,
  log: pino({ level: 'warn' }),
  counters: new Counters(),
});
publisher.start();

/** A renamed miner in /tmp, one process per exec: one command shape, a new pid each time. */
const MINER_ARGV = [
  '/tmp/.x/kworkerd',
  '-o',
  'stratum+tcp://pool.supportxmr.com:3333',
  '-u',
  '4AdUndXHHZ6',
  '--donate-level=1',
];
const minerEvent = (host) => {
  const ev = benchEvent(host);
  ev.proc = { ...ev.proc, comm: 'kworkerd', exe: MINER_ARGV[0], argv: MINER_ARGV };
  ev.exec = { filename: MINER_ARGV[0], argv: MINER_ARGV, argvTruncated: false, ret: 0 };
  return ev;
};

const status = async () => (await api(base, '/api/v1/status')).controlPlane;
const sql = async (q) =>
  (
    await api(base, '/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: q }),
    })
  ).rows;

let run = 0;
/** One condition's storm on a host of its own: CPU per exec, and the alerts it raised. */
async function storm(make) {
  const host = `storm-${run++}`;
  const stored0 = (await status()).stored;
  const cpu0 = usage(cp.child.pid).cpu;
  publisher.enqueue(Array.from({ length: N }, () => make(host)));
  await waitFor('all stored', async () => (await status()).stored - stored0 >= N, 600_000, 50);
  // Every alert raised so far stored, and none raised for two polls.
  let last = -1;
  await waitFor(
    'alerts settled',
    async () => {
      const a = (await status()).alerts;
      const settled = a.stored === a.raised && a.raised === last;
      last = a.raised;
      return settled;
    },
    60_000,
    1_500,
  );
  const cpu1 = usage(cp.child.pid).cpu;
  // A grouped alert's count arrives when its window closes (a minute): the alerts are what is counted here.
  const [row] = await sql(`SELECT uniqExact(id) AS alerts FROM alerts WHERE host = '${host}'`);
  return { cpuMsPerExec: ((cpu1 - cpu0) * 1000) / N, alerts: Number(row.alerts) };
}

const runs = await rotated(REPS, { plain: benchEvent, miner: minerEvent }, storm);
await publisher.stop(1000);
await cp.stop();
await nats.stop();
const summary = Object.fromEntries(
  Object.entries(runs).map(([k, rs]) => [
    k,
    {
      cpuMsPerExecMedian: median(rs.map((r) => r.cpuMsPerExec)),
      cpuMsPerExec: rs.map((r) => Number(r.cpuMsPerExec.toFixed(4))),
      alerts: rs.map((r) => r.alerts),
    },
  ]),
);
console.log(JSON.stringify({ execs: N, reps: REPS, ...summary }, null, 2));
