// Benchmark 4: pipeline capacity, sensor publisher → NATS JetStream → control plane → ClickHouse (chDB).
// Events are published by the sensor's own EventPublisher (batches, as a sensor sends them), standing
// in for a fleet of sensors. Usage (root): node bench/ingest.mjs [N]
//   capacity: N events offered at once; time until every id is stored; exactly-once check.
//   overload: 1.5× the measured capacity offered for 10 s; where the excess goes (sensor queue, drops,
//             JetStream backlog), then time to drain and the same exactly-once check.
import { join } from 'node:path';
import { EVENTS_STREAM } from '@vigil/schema';
import { CONSUMER_NAME } from '../control-plane/dist/ingest/streams.js';
import { pino } from 'pino';
import { EventPublisher, Counters } from '@vigil/sensor';
import {
  api,
  benchEvent,
  CLI,
  freePort,
  scratchDir,
  sleep,
  startNats,
  startProcess,
  threadCpu,
  usage,
  waitFor,
} from './lib.mjs';

const N = Number(process.argv[2] ?? 300_000);
const dir = scratchDir('vigil-ingest-');
const apiPort = await freePort();
const base = `http://127.0.0.1:${apiPort}`;
const nats = await startNats(dir);
const { url, nc } = nats;
const cp = startProcess(
  process.execPath,
  [CLI, 'control-plane', '--data-dir', join(dir, 'ch'), '--nats', url, '--api-port', String(apiPort)],
  { VIGIL_LOG_LEVEL: 'warn' },
);
await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');

const jsm = await nc.jetstreamManager();
const counters = new Counters();
const publisher = new EventPublisher(nc.jetstream(), { maxQueue: 2_000_000, log: pino({ level: 'warn' }), counters });
publisher.start();

const stored = async () => (await api(base, '/api/v1/status')).controlPlane.stored;
const exactlyOnce = async (host) => {
  const q = await api(base, '/api/v1/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: `SELECT uniqExact(id) AS u, count() AS n FROM events FINAL WHERE host = '${host}'` }),
  });
  return { unique: Number(q.rows[0].u), rowsFinal: Number(q.rows[0].n) };
};

// Capacity: everything offered at once.
const cpu0 = usage(cp.child.pid);
// Where the CPU goes, per thread group: the control plane's JavaScript thread and its others (chDB's
// and libuv's), this process (the publisher) and nats-server.
const threads = () => ({ cp: threadCpu(cp.child.pid), publisher: threadCpu(process.pid), nats: threadCpu(nats.pid) });
const th0 = threads();
const t0 = performance.now();
for (let i = 0; i < N; i += 10_000)
  publisher.enqueue(Array.from({ length: Math.min(10_000, N - i) }, () => benchEvent('capacity')));
await waitFor('all published', async () => publisher.depth === 0, 600_000, 20);
const published = performance.now();
await waitFor('all stored', async () => (await stored()) >= N, 600_000, 50);
const done = performance.now();
// `stored` counts inserted events, a redelivered batch twice: the exactly-once check waits for the
// ids themselves (or reports what is missing).
await waitFor('every id stored', async () => (await exactlyOnce('capacity')).unique >= N, 120_000, 500).catch(
  () => null,
);
const cpu1 = usage(cp.child.pid);
const th1 = threads();
const capSecs = (done - t0) / 1000;
const cores = (k, part) => (th1[k][part] - th0[k][part]) / capSecs;
const whole = (k) => cores(k, 'main') + cores(k, 'other');
const threadCores = {
  controlPlaneMain: cores('cp', 'main'),
  controlPlaneOther: cores('cp', 'other'),
  publisher: whole('publisher'),
  nats: whole('nats'),
};
const capacity = {
  threadCores,
  events: N,
  publishPerSec: N / ((published - t0) / 1000),
  storedPerSec: N / ((done - t0) / 1000),
  drainAfterPublishMs: done - published,
  controlPlaneCpu: (cpu1.cpu - cpu0.cpu) / ((done - t0) / 1000),
  messages: publisher.messagesPublished,
  ...(await exactlyOnce('capacity')),
};

// Overload: 1.5× capacity for 10 s, in 10 ms ticks.
const offered = Math.round(capacity.storedPerSec * 1.5);
const before = await stored();
const perTick = Math.round(offered / 100);
const o0 = performance.now();
let sent = 0;
let maxBacklog = 0;
let maxQueue = 0;
while (performance.now() - o0 < 10_000) {
  const due = Math.round(((performance.now() - o0) / 1000) * offered) - sent;
  if (due > 0) {
    publisher.enqueue(Array.from({ length: due }, () => benchEvent('overload')));
    sent += due;
  }
  maxQueue = Math.max(maxQueue, publisher.depth);
  await sleep(10);
  if (sent % (perTick * 50) < perTick) {
    const ci = await jsm.consumers.info(EVENTS_STREAM, CONSUMER_NAME);
    maxBacklog = Math.max(maxBacklog, ci.num_pending + ci.num_ack_pending);
  }
}
const offerSecs = (performance.now() - o0) / 1000;
const storedDuring = (await stored()) - before;
await waitFor('overload drained', async () => (await stored()) - before >= sent, 600_000, 50);
const drained = performance.now();
const overload = {
  offeredPerSec: sent / offerSecs,
  offered: sent,
  storedPerSecWhileOffered: storedDuring / offerSecs,
  maxSensorQueue: maxQueue,
  maxJetStreamBacklog: maxBacklog,
  sensorDropped: counters.eventsDropped,
  sensorRejects: Object.fromEntries(counters.rejects),
  drainAfterOfferMs: drained - o0 - offerSecs * 1000,
  ...(await exactlyOnce('overload')),
};
const st = (await api(base, '/api/v1/status')).controlPlane;
await publisher.stop(1000);
await cp.stop();
await nats.stop();
console.log(
  JSON.stringify({ capacity, overload, controlPlaneRejects: st.rejects, streamGaps: st.lostInStream ?? null }, null, 2),
);
