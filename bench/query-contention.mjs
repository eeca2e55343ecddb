// Storing events while a user query runs: with embedded storage, `vigil query` and SQL detections run
// inside the control plane, on the cores that store events. Pipeline capacity (as bench/ingest.mjs:
// the sensor's EventPublisher offers N events at once, time until all are stored) with no query, and
// with a heavy multi-threaded query kept running through the API (a count over numbers_mt, which runs
// into the 30 s limit and is sent again), the query capped at all cores but one (the default) or
// allowed every core (`--query-threads 0`). Interleaved repetitions in rotated order; medians.
// Usage: node bench/query-contention.mjs [REPS] [N]
import { join } from 'node:path';
import { pino } from 'pino';
import { EventPublisher, Counters } from '@vigil/sensor';
import {
  api,
  authHeaders,
  benchEvent,
  CLI,
  freePort,
  median,
  rotated,
  scratchDir,
  sleep,
  spread,
  startNats,
  startProcess,
  waitFor,
} from './lib.mjs';

const REPS = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 100_000);
const HEAVY = 'SELECT count() FROM numbers_mt(1000000000000)';
const CONDITIONS = { none: null, capped: [], uncapped: ['--query-threads', '0'] };
const dir = scratchDir('vigil-bench-contention-');

async function run(queryFlags) {
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
      ...(queryFlags ?? []),
    ],
    { VIGIL_LOG_LEVEL: 'warn' },
  );
  const publisher = new EventPublisher(nats.nc.jetstream(), {
    maxQueue: 2_000_000,
    log: pino({ level: 'warn' }),
    counters: new Counters(),
  });
  let querying = queryFlags !== null;
  let _queries = 0;
  let loop = null;
  try {
    await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');
    publisher.start();
    loop = (async () => {
      while (querying) {
        const r = await fetch(`${base}/api/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders },
          body: JSON.stringify({ sql: HEAVY }),
        }).catch(() => null);
        await r?.text();
        _queries++;
      }
    })();
    // The query under way before the events come.
    if (querying) await sleep(1000);
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10_000)
      publisher.enqueue(Array.from({ length: Math.min(10_000, N - i) }, () => benchEvent('contention')));
    await waitFor('all stored', async () => (await api(base, '/api/v1/status')).controlPlane.stored >= N, 600_000, 50);
    return { storedPerSec: N / ((performance.now() - t0) / 1000) };
  } finally {
    querying = false;
    await publisher.stop(0).catch(() => undefined);
    // The query in flight ends at its limit; stopping the control plane does not wait for it.
    await cp.stop();
    await loop;
    await nats.stop();
  }
}

const runs = await rotated(REPS, CONDITIONS, run);
const rate = (name) => spread(runs[name].map((r) => r.storedPerSec));
const none = median(runs.none.map((r) => r.storedPerSec));
console.log(
  JSON.stringify(
    {
      reps: REPS,
      events: N,
      query: HEAVY,
      none: rate('none'),
      capped: rate('capped'),
      uncapped: rate('uncapped'),
      cappedRatio: median(runs.capped.map((r) => r.storedPerSec)) / none,
      uncappedRatio: median(runs.uncapped.map((r) => r.storedPerSec)) / none,
    },
    null,
    2,
  ),
);
