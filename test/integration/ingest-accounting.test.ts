/**
 * What the control plane says it lost, stored and acked is true: a stream limit that drops messages
 * is counted, once; storage whose data directory is deleted under it is reported unhealthy and nothing
 * it cannot keep is acked. (One control plane reads a stream: a second is refused, see
 * control-plane-replicas.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { startControlPlane } from '@vigil/control-plane';
import { EVENTS_STREAM, eventSubject, type EventV1 } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { authHeaders, freePort, startVigil, tempDir, waitFor } from '../support/harness.js';
import { exitEvent } from '../support/ingest-stack.js';

const dir = tempDir('accounting');
const log = pino({ level: 'silent' });
let nats: LocalNats;
let nc: NatsConnection;

const event = (host: string, i: number, pad = 0): EventV1 => exitEvent(host, i, { argv: ['c', 'x'.repeat(pad)] });
const publishAll = async (events: EventV1[]) => {
  const js = nc.jetstream();
  for (let i = 0; i < events.length; i += 200) {
    await Promise.all(
      events.slice(i, i + 200).map((e) => js.publish(eventSubject(e.host, 'exit'), JSON.stringify(e), { msgID: e.id })),
    );
  }
};

type Status = {
  controlPlane: { stored: number; lostInStream: number; storageHealthy: boolean; lastInsertError: string | null };
};
interface Cp {
  api: string;
  stop: () => Promise<number | null>;
  logs: string[];
}

/** A `vigil control-plane` process of its own (its own chDB), on the shared NATS. */
async function controlPlane(name: string, extra: string[] = []): Promise<Cp> {
  const port = await freePort();
  const p = startVigil([
    'control-plane',
    '--data-dir',
    join(dir, name),
    '--nats',
    nats.url,
    '--api-port',
    String(port),
    '--api-token-file',
    join(dir, `${name}-token`),
    ...extra,
  ]);
  await waitFor(`control plane ${name} listening`, () => p.logs.join('').includes('API listening'), 90_000).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${p.logs.join('').slice(-3000)}`);
    },
  );
  return { api: `http://127.0.0.1:${port}`, stop: p.stop, logs: p.logs };
}
const status = async (api: string): Promise<Status> =>
  (await (await fetch(`${api}/api/v1/status`, { headers: authHeaders })).json()) as Status;
const ids = async (api: string): Promise<string[]> => {
  const res = await fetch(`${api}/api/v1/query`, {
    method: 'POST',
    headers: { ...authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT id FROM events' }),
  });
  const body = (await res.json()) as { rows: { id: string }[] };
  return body.rows.map((r) => r.id);
};
before(async () => {
  nats = await startLocalNats({ dataDir: join(dir, 'nats'), port: await freePort(), log });
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

test('a stream limit that drops messages before the control plane reads them is counted, once', async () => {
  // The stream made 1 MiB (--stream-max-mb resizes it).
  let cp = await controlPlane('limit', ['--stream-max-mb', '1']);
  const jsm = await nc.jetstreamManager();
  assert.equal((await jsm.streams.info(EVENTS_STREAM)).config.max_bytes, 1024 * 1024);
  const delivered = (await jsm.consumers.info(EVENTS_STREAM, 'vigil-control-plane')).delivered.stream_seq;
  await cp.stop();
  // While no control plane runs: about 3 MiB of events into the 1 MiB stream, which drops the oldest.
  const events = Array.from({ length: 1500 }, (_, i) => event('limited', i, 2000));
  await publishAll(events);
  const state = (await jsm.streams.info(EVENTS_STREAM)).state;
  const dropped = state.first_seq - 1 - delivered;
  const kept = state.last_seq - state.first_seq + 1;
  assert.ok(dropped > 0 && kept > 0, `the stream dropped some (${dropped}) and kept some (${kept})`);
  cp = await controlPlane('limit', ['--stream-max-mb', '1']);
  try {
    await waitFor(
      'what the stream kept stored',
      async () => (await status(cp.api)).controlPlane.stored >= kept,
      90_000,
    );
    const st = await status(cp.api);
    assert.equal(st.controlPlane.lostInStream, dropped, 'the drop counted, and nothing beyond it');
    assert.equal(st.controlPlane.stored, kept);
    assert.equal((await ids(cp.api)).length, kept);
  } finally {
    await cp.stop();
  }
});

test('the data directory deleted under a running control plane: storage reported unhealthy, nothing more acked', async () => {
  const chDir = join(dir, 'deleted-ch');
  // The 1 MiB stream of the test before is kept: these events fit in it.
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: chDir },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
  });
  const jsm = await nc.jetstreamManager();
  const waiting = async () => {
    const info = await jsm.consumers.info(EVENTS_STREAM, 'vigil-control-plane');
    return info.num_pending + info.num_ack_pending;
  };
  try {
    await waitFor('earlier events stored', async () => (await waiting()) === 0, 60_000);
    const before = cp.ingestor.stats.stored;
    await publishAll(Array.from({ length: 20 }, (_, i) => event('kept', i)));
    await waitFor('20 stored', () => cp.ingestor.stats.stored === before + 20);
    rmSync(chDir, { recursive: true, force: true });
    await publishAll(Array.from({ length: 30 }, (_, i) => event('after-delete', i)));
    const s = await waitFor('storage reported unhealthy', async () => {
      const st = (await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as Status;
      return st.controlPlane.storageHealthy ? null : st;
    });
    assert.match(s.controlPlane.lastInsertError ?? '', /data directory/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(cp.ingestor.stats.stored, before + 20, 'nothing counted stored after the deletion');
    assert.equal(await waiting(), 30, 'the 30 events since still held by JetStream, unacked');
  } finally {
    await cp.stop();
  }
});
