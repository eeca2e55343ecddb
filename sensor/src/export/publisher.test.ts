/**
 * Ordering and loss accounting of the publisher with its disk spool. JetStream is stood in for by a
 * publish function that can be switched off (an outage); the real outage runs in
 * test/integration/spool.test.ts against nats-server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { JetStreamClient } from 'nats';
import { batchId, EventBatchV1, eventSubject, MAX_BATCH_EVENTS, type EventV1 } from '@vigil/schema';
import { EventPublisher } from './publisher.js';
import { DiskSpool } from './spool.js';
import { Counters } from '../counters.js';
import { StageLatency } from '../latency.js';
import { scratchDir } from '../testing/scratch-dir.js';

const ev = (n: number): EventV1 => ({
  id: `e${n}`,
  v: 1,
  host: 'h',
  ts: String(n),
  kind: 'exit',
  proc: {
    pid: n,
    ppid: 0,
    uid: 0,
    gid: 0,
    comm: 'c',
    exe: '',
    argv: [],
    argvTruncated: false,
    cgroupId: 0,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  },
  exit: { code: 0, signal: null },
});

function fakeJs() {
  const sent: string[] = [];
  const messages: number[] = [];
  const state = { up: false };
  const js = {
    publish: async (subject: string, data: Uint8Array, o: { msgID: string }) => {
      if (!state.up) throw new Error('no responders');
      const batch = EventBatchV1.parse(JSON.parse(new TextDecoder().decode(data)));
      const ids = (batch.events as EventV1[]).map((e) => e.id);
      assert.equal(subject, eventSubject(batch.host, batch.kind));
      assert.equal(o.msgID, batchId(ids.map((id) => ({ id }))));
      messages.push(ids.length);
      sent.push(...ids);
      return {};
    },
  } as unknown as JetStreamClient;
  return { js, sent, state, messages };
}

const until = async (what: string, f: () => boolean) => {
  for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(f(), what);
};

test('an outage overflows to disk; everything is published once, in order, and the spool empties', async () => {
  const dir = scratchDir('spool');
  const counters = new Counters();
  const spool = new DiskSpool({ dir, maxBytes: 10 * 1024 * 1024, segmentEvents: 100 });
  const { js, sent, state } = fakeJs();
  const p = new EventPublisher(js, { maxQueue: 50, log: pino({ level: 'silent' }), counters, spool });
  p.start();
  try {
    for (let i = 0; i < 1000; i += 10) p.enqueue(Array.from({ length: 10 }, (_, k) => ev(i + k)));
    await until('spooled', () => spool.events > 0);
    assert.ok(readdirSync(dir).length >= 9, 'segments on disk');
    assert.equal(p.depth + spool.events, 1000, 'nothing lost while down');
    state.up = true;
    await until('all sent', () => sent.length >= 1000);
    assert.deepEqual(
      sent,
      Array.from({ length: 1000 }, (_, i) => `e${i}`),
      'in order, each once',
    );
    await until('spool emptied', () => spool.empty && readdirSync(dir).length === 0);
    assert.equal(counters.eventsDropped, 0);
  } finally {
    await p.stop(100);
  }
});

test('past the spool limit new events are dropped and counted, never the spooled ones', async () => {
  const dir = scratchDir('spool');
  const counters = new Counters();
  const spool = new DiskSpool({ dir, maxBytes: 20_000 });
  const { js } = fakeJs();
  const p = new EventPublisher(js, { maxQueue: 10, log: pino({ level: 'silent' }), counters, spool });
  p.enqueue(Array.from({ length: 200 }, (_, i) => ev(i)));
  assert.ok(spool.bytes <= 20_000);
  assert.equal(p.depth + spool.events + counters.eventsDropped, 200);
  assert.ok(counters.eventsDropped > 0);
  assert.equal(counters.rejects.get('publish.spool-full'), counters.eventsDropped);
});

test('a restarted sensor replays what an earlier run spooled, before anything new; torn lines are counted', async () => {
  const dir = scratchDir('spool');
  const first = new DiskSpool({ dir, maxBytes: 1e7 });
  first.append([ev(1), ev(2), ev(3)]);
  appendFileSync(join(dir, readdirSync(dir)[0]!), '{"torn": ');
  const spool = new DiskSpool({ dir, maxBytes: 1e7 });
  assert.equal(spool.events, 4);
  const { js, sent, state } = fakeJs();
  state.up = true;
  const p = new EventPublisher(js, { maxQueue: 100, log: pino({ level: 'silent' }), counters: new Counters(), spool });
  p.enqueue([ev(4)]);
  p.start();
  try {
    await until('sent', () => sent.length >= 4);
    assert.deepEqual(sent, ['e1', 'e2', 'e3', 'e4']);
    assert.equal(spool.corrupt, 1);
  } finally {
    await p.stop(100);
  }
});

test('events still in memory at stop are saved to the spool for the next run', async () => {
  const dir = scratchDir('spool');
  const spool = new DiskSpool({ dir, maxBytes: 1e7 });
  const { js } = fakeJs();
  const p = new EventPublisher(js, { maxQueue: 100, log: pino({ level: 'silent' }), counters: new Counters(), spool });
  p.start();
  p.enqueue([ev(1), ev(2)]);
  await p.stop(100);
  assert.equal(new DiskSpool({ dir, maxBytes: 1e7 }).events, 2);
});

test('events are sent in batches of one kind; a burst becomes few messages, none over the limit', async () => {
  const counters = new Counters();
  const { js, sent, state, messages } = fakeJs();
  state.up = true;
  const p = new EventPublisher(js, { maxQueue: 10_000, log: pino({ level: 'silent' }), counters });
  const burst = Array.from({ length: 2500 }, (_, i) =>
    i % 2
      ? ev(i)
      : ({
          ...ev(i),
          kind: 'connect' as const,
          exit: undefined,
          connect: {
            family: 'ipv4' as const,
            daddr: '10.0.0.1',
            dport: 443,
            ret: 0,
            count: 1,
            firstTs: String(i),
            lastTs: String(i),
          },
        } as unknown as EventV1),
  );
  p.enqueue(burst);
  p.start();
  try {
    await until('all sent', () => sent.length >= 2500);
    assert.equal(new Set(sent).size, 2500, 'each once');
    assert.ok(messages.every((n) => n <= MAX_BATCH_EVENTS));
    assert.ok(messages.length <= 4, `2,500 events in ${messages.length} messages`);
    assert.equal(counters.eventsPublished, 2500);
    const exits = sent.filter((id) => Number(id.slice(1)) % 2 === 1);
    assert.deepEqual(
      exits,
      [...exits].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
      'order kept within a kind',
    );
  } finally {
    await p.stop(100);
  }
});

test('an event over the size limit is dropped and counted; its neighbours go out', async () => {
  const counters = new Counters();
  const { js, sent, state } = fakeJs();
  state.up = true;
  const p = new EventPublisher(js, { maxQueue: 100, log: pino({ level: 'silent' }), counters });
  const big = ev(2);
  big.proc.argv = ['x'.repeat(300 * 1024)];
  p.enqueue([ev(1), big, ev(3)]);
  p.start();
  try {
    await until('sent', () => sent.length >= 2);
    assert.deepEqual(sent, ['e1', 'e3']);
    assert.equal(counters.rejects.get('publish.oversized'), 1);
    assert.equal(counters.eventsDropped, 1);
  } finally {
    await p.stop(100);
  }
});

test('a round goes at once unless a large one went out just before; then it waits for company', async () => {
  const counters = new Counters();
  const { js, sent, state, messages } = fakeJs();
  state.up = true;
  // A linger far longer than the gaps below: a round that waited for it carries every event since.
  const p = new EventPublisher(js, {
    maxQueue: 10_000,
    log: pino({ level: 'silent' }),
    counters,
    lingerMs: 400,
    quietMs: 5_000,
    busyEvents: 2,
  });
  const gap = () => new Promise((r) => setTimeout(r, 50));
  p.start();
  try {
    p.enqueue([ev(1)]);
    await gap();
    p.enqueue([ev(2)]);
    await gap();
    p.enqueue([ev(3), ev(4)]);
    await gap();
    p.enqueue([ev(5)]);
    await gap();
    p.enqueue([ev(6)]);
    await until('all sent', () => sent.length >= 6);
    assert.deepEqual(
      messages,
      [1, 1, 2, 2],
      'small rounds go alone, without waiting; after the round of two, the next two go together',
    );
    assert.deepEqual(sent, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  } finally {
    await p.stop(100);
  }
});

test('the time from queueing to publishing and to the ack is observed once per event; spooled events are not', async () => {
  const counters = new Counters();
  const latency = new StageLatency();
  const { js, sent, state } = fakeJs();
  const spool = new DiskSpool({ dir: scratchDir('spool'), maxBytes: 1 << 20 });
  spool.append([ev(1), ev(2)]);
  const p = new EventPublisher(js, { maxQueue: 10_000, log: pino({ level: 'silent' }), counters, latency, spool });
  state.up = true;
  p.start();
  try {
    await until('spool replayed', () => sent.length >= 2);
    assert.equal(
      latency.snapshot().stages['publish.acked'],
      undefined,
      'events from an earlier run have no queueing time here',
    );
    p.enqueue([ev(3), ev(4), ev(5)]);
    await until('all sent', () => sent.length >= 5);
    const { stages } = latency.snapshot();
    assert.equal(stages['publish.sent']?.count, 3);
    assert.equal(stages['publish.acked']?.count, 3);
    assert.ok(stages['publish.acked']!.sumMs >= stages['publish.sent']!.sumMs);
    // A batch that fails and is retried counts once, from its first try (sent) and at its ack.
    state.up = false;
    p.enqueue([ev(6), ev(7)]);
    await until('a failed try', () => p.lastError !== null);
    state.up = true;
    await until('sent after the retry', () => sent.length >= 7);
    const after = latency.snapshot().stages;
    assert.equal(after['publish.sent']?.count, 5);
    assert.equal(after['publish.acked']?.count, 5);
  } finally {
    await p.stop(100);
  }
});
