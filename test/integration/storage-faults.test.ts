/**
 * Storage that refuses: the control plane stops acking (events wait in JetStream), backs off, says so
 * in `vigil status`, and stores everything exactly once when storage takes writes again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { EVENTS_STREAM, eventSubject, type EventV1, type StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';
import { execEvent, exitEvent } from '../support/ingest-stack.js';

const dir = tempDir('stfault');
const log = pino({ level: 'silent' });
let nats: LocalNats;
let nc: NatsConnection;

const event = (host: string, i: number): EventV1 =>
  exitEvent(host, i, { pid: i, ppid: 0, comm: 'x', exe: '/x', argv: [], cgroupId: 0 });
const minerExec = (host: string, pid: number): EventV1 =>
  execEvent(host, pid, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333']);
const publishAll = (events: EventV1[]) =>
  Promise.all(
    events.map((e) => nc.jetstream().publish(eventSubject(e.host, 'exit'), JSON.stringify(e), { msgID: e.id })),
  );
type Status = StatusReport;
const status = async (cp: RunningControlPlane) => (await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as Status;
const pending = async () => {
  const info = await (await nc.jetstreamManager()).consumers.info(EVENTS_STREAM, 'vigil-control-plane');
  return info.num_pending + info.num_ack_pending;
};

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

test('a ClickHouse server that refuses: the control plane starts, reports it, acks nothing', async () => {
  const cp = await startControlPlane({
    storage: { kind: 'server', url: `http://127.0.0.1:${await freePort()}` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
  });
  try {
    await publishAll(Array.from({ length: 50 }, (_, i) => event('refused', i)));
    const s = await waitFor('the failure in status', async () => {
      const st = await status(cp);
      return !st.controlPlane.storageHealthy && /ECONNREFUSED/.test(st.controlPlane.lastInsertError ?? '') ? st : null;
    });
    assert.equal(s.controlPlane.stored, 0);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await pending(), 50, 'all 50 still held by JetStream for the consumer');
  } finally {
    await cp.stop();
  }
});

test('storage refuses writes mid-stream, then takes them again: nothing lost, nothing doubled, and detections kept running', async () => {
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
  });
  // A second session on the same engine plays the operator who takes the table away.
  const admin = createClient({ connection: createChdbConnection({ path: join(dir, 'ch') }) as never });
  const t0 = Date.now();
  const phase = (what: string) => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  try {
    // The first test's 50 events are still in the stream: they are stored now.
    await waitFor('earlier events stored', async () => (await status(cp)).controlPlane.stored >= 50);
    phase('earlier events stored');
    await admin.command({ query: 'RENAME TABLE events TO events_away' });
    const events = Array.from({ length: 300 }, (_, i) => event('flaky', i));
    await publishAll(events);
    await waitFor('storage reported failing', async () => !(await status(cp)).controlPlane.storageHealthy);
    phase('failing reported');
    assert.ok((await pending()) > 0, 'unacked while storage refuses');
    // Detections do not wait for storage: a miner started during the outage is alerted on now.
    const alerts: { ruleId: string; proc?: { pid: number } }[] = [];
    const sub = nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json()) });
    const miner = minerExec('outage', 4242);
    await nc.jetstream().publish(eventSubject('outage', 'exec'), JSON.stringify(miner), { msgID: miner.id });
    await waitFor('miner alert during the outage', async () =>
      alerts.some((a) => a.ruleId === 'miner.exec' && a.proc?.pid === 4242),
    );
    sub.unsubscribe();
    assert.equal((await status(cp)).controlPlane.storageHealthy, false, 'alerted while storage still refused');
    await admin.command({ query: 'RENAME TABLE events_away TO events' });
    // (A message that reached the first test's control plane as it stopped comes back only after
    // JetStream's ack wait; the events that matter here are the 300 sent while storage refused.)
    const flaky = async () => {
      const rs = await admin.query({
        query: "SELECT uniqExact(id) AS u FROM events WHERE host = 'flaky'",
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ u: string }>())[0]!.u);
    };
    await waitFor(
      'healthy again and all 300 stored',
      async () => (await status(cp)).controlPlane.storageHealthy && (await flaky()) === 300,
      60_000,
      500,
    );
    phase('drained');
    const rs = await admin.query({
      query: "SELECT uniqExact(id) AS u, count() AS n FROM events FINAL WHERE host = 'flaky'",
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ u: string; n: string }>();
    assert.equal(Number(row!.u), 300);
    assert.equal(Number(row!.n), 300);
    // The miner's event, alerted on before it could be stored, is stored once storage is back.
    await waitFor('the miner event stored', async () => {
      const r = await admin.query({
        query: 'SELECT count() AS n FROM events FINAL WHERE id = {id:String}',
        query_params: { id: miner.id },
        format: 'JSONEachRow',
      });
      return Number((await r.json<{ n: string }>())[0]!.n) === 1;
    });
  } finally {
    await admin.close();
    await cp.stop();
  }
});
