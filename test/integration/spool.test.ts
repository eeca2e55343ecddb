/**
 * NATS goes away while the sensor is tracing (real bpftrace, real nats-server): events wait in memory,
 * then on disk (reported in the heartbeat), and when NATS is back they are replayed in order; the
 * control plane stores each exactly once. A sensor stopped during an outage still finishes its teardown
 * and leaves on disk what it held.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { destination, pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { startSensor, type RunningSensor } from '@vigil/sensor';
import { EVENTS_STREAM, type EventBatchV1, type EventV1 } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const HOST = 'spool-it';
const N = 150;
const dir = tempDir('spool');
const spoolDir = join(dir, 'spool');
const log = pino({ level: process.env.TEST_LOG ?? 'silent' }, destination(2));
let natsPort = 0;
let nats: LocalNats | null = null;
let cp: RunningControlPlane;
let sensor: RunningSensor;

before(async () => {
  natsPort = await freePort();
  nats = await startLocalNats({ dataDir: dir, port: natsPort, log });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
  });
  sensor = await startSensor({
    hostId: HOST,
    nats: { servers: nats.url },
    probes: ['exec'],
    spoolDir,
    maxQueue: 20,
    log,
  });
  // Once bpftrace has attached, the sensor runs its own helper (sensor/native/pageout.c); that exec
  // is stored before the outage, during which the sensor must hold this test's execs alone.
  await waitFor(
    "the sensor's start-up exec stored",
    async () => {
      const r = (await (await fetch(`${cp.apiUrl}/api/v1/events?host=${HOST}&kind=exec&limit=1000`)).json()) as {
        events: EventV1[];
      };
      return r.events.some((e) => e.proc.comm === 'vigil-pageout');
    },
    30_000,
    200,
  );
});

after(async () => {
  const t = Date.now();
  await sensor?.stop();
  console.log(`# sensor stopped in ${Date.now() - t} ms`);
  await cp?.stop();
  console.log(`# control plane stopped in ${Date.now() - t} ms`);
  await nats?.stop();
});

const markerOf = (e: EventV1, prefix = 'spool-marker-') =>
  e.kind === 'exec' && e.exec.argv[1]?.startsWith(prefix) ? Number(e.exec.argv[1].slice(prefix.length)) : null;
/** The events on disk, in file order. */
const eventsOnDisk = () =>
  readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );

const t0 = Date.now();
const phase = (what: string) => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

test('events survive a NATS outage on disk and are replayed in order, each stored once', async () => {
  phase('stopping nats');
  await nats!.stop();
  phase('nats stopped');
  nats = null;
  for (let i = 0; i < N; i++) spawnSync('/bin/true', [`spool-marker-${i}`]);
  const spooled = await waitFor(
    'events on disk',
    () => {
      const c = sensor.heartbeat().counters;
      return (c.spoolEvents ?? 0) > 0 && c.spoolBytes! > 0 ? c : null;
    },
    20_000,
  );
  assert.ok(readdirSync(spoolDir).length > 0);
  // The sensor traces the whole host, and other tests' processes exec during the outage too: the
  // queue holds the outage's first events (whoever ran them), the spool the rest in order, so every
  // marker has gone through once the last one is on disk and the memory and disk could hold them all.
  await waitFor(
    'every marker held in memory or on disk',
    () => {
      const c = sensor.heartbeat().counters;
      const ours = eventsOnDisk()
        .map((e) => markerOf(e))
        .filter((m): m is number => m !== null);
      return ours.includes(N - 1) && ours.length + c.queueDepth >= N;
    },
    20_000,
  ).catch((err: Error) => {
    // Say what was there instead: counts, and any spooled exec that is not one of ours.
    const c = sensor.heartbeat().counters;
    const foreign = eventsOnDisk()
      .filter((e) => markerOf(e) === null)
      .map((e) => `${e.kind}:${e.proc.comm}`);
    throw new Error(
      `${err.message}: ${JSON.stringify({ queueDepth: c.queueDepth, spoolEvents: c.spoolEvents, lost: c.lostEvents, dropped: c.eventsDropped, rejects: c.rejects, foreign })}`,
      { cause: err },
    );
  });
  // What is on disk, in file order: the replay must put exactly this sequence on the wire.
  const onDisk = eventsOnDisk()
    .map((e) => markerOf(e))
    .filter((m): m is number => m !== null);
  console.log(
    `# during the outage: ${sensor.heartbeat().counters.queueDepth} events in memory, ${spooled.spoolEvents} on disk (${spooled.spoolBytes} bytes)`,
  );

  nats = await startLocalNats({ dataDir: dir, port: natsPort, log });
  phase('nats started again');
  const stored = await waitFor(
    `all ${N} markers stored`,
    async () => {
      const r = (await (await fetch(`${cp.apiUrl}/api/v1/events?host=${HOST}&kind=exec&limit=10000`)).json()) as {
        events: EventV1[];
      };
      const marks = r.events.map((e) => markerOf(e)).filter((m): m is number => m !== null);
      return marks.length >= N ? marks : null;
    },
    60_000,
    500,
  );
  phase('all stored');
  assert.equal(stored.length, N, 'each exactly once');
  assert.deepEqual(
    [...new Set(stored)].sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i),
  );

  // Order on the wire: the stream holds them in exec order.
  const nc = await connect({ servers: nats.url });
  const order: number[] = [];
  try {
    const c = await nc.jetstream().consumers.get(EVENTS_STREAM, { filterSubjects: `vigil.events.${HOST}.exec` });
    const msgs = await c.fetch({ max_messages: 10_000, expires: 2000 });
    for await (const m of msgs) {
      // The sensor sends batches (EventBatchV1): message order, then order inside each batch.
      for (const ev of m.json<EventBatchV1>().events) {
        const mk = markerOf(ev);
        if (mk !== null) order.push(mk);
      }
    }
  } finally {
    await nc.close();
  }
  // The sensor emits execs in the order their records are read (bpftrace drains per-CPU buffers in
  // rounds), not strictly in exec order; the guarantee is that the spool is replayed as spooled,
  // after what was waiting in memory.
  assert.equal(order.length, N);
  assert.deepEqual(order.slice(N - onDisk.length), onDisk, 'the spool replayed in the order it was written');
  assert.deepEqual(
    new Set(order.slice(0, N - onDisk.length)),
    new Set(Array.from({ length: N }, (_, i) => i).filter((i) => !onDisk.includes(i))),
    'memory first',
  );
  await waitFor(
    'spool emptied',
    () => sensor.heartbeat().counters.spoolEvents === 0 && readdirSync(spoolDir).length === 0,
    10_000,
  );
  assert.equal(sensor.counters.eventsDropped, 0);
});

test('stopped while NATS is away, the sensor still finishes its teardown and leaves what it held on disk', {
  timeout: 60_000,
}, async () => {
  await nats?.stop(); // already away if the test before failed during its outage
  nats = null;
  const M = 40;
  for (let i = 0; i < M; i++) spawnSync('/bin/true', [`stop-marker-${i}`]);
  // The execs may still sit in bpftrace's maps or the sensor's queue: the stop must flush them to disk.
  const t = Date.now();
  await sensor.stop(); // the after hook's stop then has nothing left to stop
  console.log(`# sensor stopped with NATS away in ${Date.now() - t} ms`);
  const disk = eventsOnDisk();
  const onDisk = disk.map((e) => markerOf(e, 'stop-marker-')).filter((m): m is number => m !== null);
  const c = sensor.heartbeat().counters;
  const foreign = disk
    .filter((e) => e.kind === 'exec' && markerOf(e, 'stop-marker-') === null)
    .map((e) => (e.kind === 'exec' ? e.exec.argv.join(' ').slice(0, 40) : ''));
  const state = JSON.stringify({
    lost: c.lostEvents,
    dropped: c.eventsDropped,
    rejects: c.rejects,
    queueDepth: c.queueDepth,
    spoolEvents: c.spoolEvents,
    heldToTimeout: c.heldToTimeout,
    foreign,
  });
  assert.deepEqual(
    [...new Set(onDisk)].sort((a, b) => a - b),
    Array.from({ length: M }, (_, i) => i),
    `every exec of the outage on disk (sensor: ${state})`,
  );
  assert.equal(onDisk.length, M, 'each once');
  assert.equal(sensor.counters.eventsDropped, 0);
});
