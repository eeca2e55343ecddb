/**
 * A 3-node JetStream cluster (deploy/nats-cluster): the control plane makes its streams R3 on it (and
 * raises one made R1), and
 * the stream leader killed mid-stream loses no event and doubles none. The sensor's publisher (its
 * real EventPublisher, connected with the three URLs) retries the batches whose acks the dead leader
 * never sent, under the same Nats-Msg-Id; the stream's replicated dedup window drops those the old
 * leader had already stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { pino } from 'pino';
import { startControlPlane } from '@vigil/control-plane';
import { Counters, EventPublisher } from '@vigil/sensor';
import { ALERTS_STREAM, EVENTS_STREAM, EVENTS_SUBJECTS, SENSOR_STREAM, type StatusReport } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';
import { exitEvent } from '../support/ingest-stack.js';
import { startNatsCluster } from '../support/nats-cluster.js';

const log = pino({ level: 'silent' });
const HOST = 'cluster-host';
const EVENTS = 3000;
const CHUNK = 50;

test('R3 streams on a 3-node cluster; the stream leader killed mid-stream: every event stored exactly once, no loss reported', async () => {
  const dir = tempDir('nats-cluster');
  const cluster = await startNatsCluster(dir);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const sensorNc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const jsm = await nc.jetstreamManager();
  // The events stream as made while the cluster was still forming: one replica, raised at start.
  await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], num_replicas: 1 });
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: cluster.urls },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
  });
  const counters = new Counters();
  // The publisher's own account of the leader change: a publish whose ack never came, retried.
  const retries: string[] = [];
  const sensorLog = pino({ level: 'warn' }, { write: (line: string) => void retries.push(line) });
  const publisher = new EventPublisher(sensorNc.jetstream(), { maxQueue: 100_000, log: sensorLog, counters });
  publisher.start();
  try {
    for (const stream of [EVENTS_STREAM, SENSOR_STREAM, ALERTS_STREAM])
      assert.equal((await jsm.streams.info(stream)).config.num_replicas, 3, `${stream} is R3`);

    const events = Array.from({ length: EVENTS }, (_, i) => exitEvent(HOST, i));
    let killed = '';
    for (let i = 0; i < EVENTS; i += CHUNK) {
      publisher.enqueue(events.slice(i, i + CHUNK));
      await new Promise((r) => setTimeout(r, 20));
      if (i === EVENTS / 3 - ((EVENTS / 3) % CHUNK)) {
        // Mid-stream: the leader as the stream itself says, once something reached it.
        await waitFor('events in the stream', async () => (await jsm.streams.info(EVENTS_STREAM)).state.messages > 0);
        killed = (await jsm.streams.info(EVENTS_STREAM)).cluster!.leader!;
        await cluster.kill(killed);
      }
    }
    assert.ok(killed, 'a leader was killed');
    await waitFor('every event published', () => counters.eventsPublished === EVENTS && publisher.depth === 0, 60_000);
    const leader = await waitFor('a new stream leader', async () => {
      const l = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
      return l && l !== killed ? l : null;
    });
    assert.notEqual(leader, killed);
    assert.ok(
      retries.some((l) => l.includes('publish failed; retrying')),
      'the publisher retried across the leader change (what the dedup window is there for)',
    );

    const query = async (sql: string) => {
      const res = await fetch(`${cp.apiUrl}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      return ((await res.json()) as { rows: Record<string, string>[] }).rows;
    };
    const countsOf = async () =>
      (await query(`SELECT count() AS rows, uniqExact(id) AS ids FROM events FINAL WHERE host = '${HOST}'`))[0]!;
    const counts = await waitFor(
      'every event stored',
      async () => {
        const c = await countsOf();
        return Number(c.ids) >= EVENTS ? c : null;
      },
      90_000,
    );
    assert.equal(Number(counts.ids), EVENTS, 'every event stored');
    assert.equal(Number(counts.rows), EVENTS, 'none stored twice');
    const twice = await query(`SELECT id FROM events WHERE host = '${HOST}' GROUP BY id HAVING count() > 1`);
    assert.deepEqual(twice, [], 'no id in two rows, before any merge');
    const stored = new Set((await query(`SELECT id FROM events WHERE host = '${HOST}'`)).map((r) => r.id));
    assert.deepEqual(
      events.filter((e) => !stored.has(e.id)).map((e) => e.id),
      [],
      'each published id stored',
    );
    const status = (await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as StatusReport;
    assert.equal(status.controlPlane.lostInStream, 0, 'no loss reported');
  } finally {
    await publisher.stop(0);
    await cp.stop();
    await sensorNc.close();
    await nc.close();
    await cluster.stop();
  }
});
