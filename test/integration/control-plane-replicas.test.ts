/**
 * One control plane reads an events stream (the ingest lease, control-plane/src/ingest/ingest-lease.ts):
 * a second one on the same stream refuses to start, clearly, whether its storage is embedded or a
 * ClickHouse server, while the first goes on storing every event once with no loss reported; a second
 * one on the same data directory refuses clearly; a crashed control plane restarted on its own store
 * takes its lease over, and a cleanly stopped one leaves none behind; what a reader that is gone left
 * unacked comes again at once, not after ack_wait.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { CONSUMER_NAME } from '@vigil/control-plane';
import { EVENTS_STREAM, eventSubject, type StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { authHeaders, freePort, startVigil, tempDir, waitFor } from '../support/harness.js';
import { exitEvent } from '../support/ingest-stack.js';

const dir = tempDir('replicas');
const log = pino({ level: 'silent' });
const LEASE_SECONDS = 5;
let nats: LocalNats;
let nc: NatsConnection;

interface Cp {
  api: string;
  child: ReturnType<typeof startVigil>['child'];
  stop: () => Promise<number | null>;
  logs: string[];
  exited: Promise<number | null>;
}

/** A `vigil control-plane` process on the shared NATS: its own chDB under `name`, or `--clickhouse URL`. */
async function controlPlane(name: string, extra: string[] = []): Promise<Cp> {
  const port = await freePort();
  const p = startVigil([
    'control-plane',
    ...(extra.includes('--clickhouse') ? [] : ['--data-dir', join(dir, name)]),
    '--nats',
    nats.url,
    '--api-port',
    String(port),
    '--api-token-file',
    join(dir, `${name}-token`),
    // A short lease: a refusal waits out one (made by the first control plane on this NATS).
    '--ingest-lease-seconds',
    String(LEASE_SECONDS),
    ...extra,
  ]);
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  return { api: `http://127.0.0.1:${port}`, child: p.child, stop: p.stop, logs: p.logs, exited };
}
/** Its exit code, once it exits: within a minute (a refusal waits out one lease). */
const refused = async (cp: Cp): Promise<number | null> => {
  await waitFor('the control plane to exit', () => cp.child.exitCode !== null, 60_000).catch(async (err: Error) => {
    await cp.stop();
    throw new Error(`${err.message}: it runs beside the first\n${cp.logs.join('').slice(-2000)}`);
  });
  return cp.child.exitCode;
};
/** What it printed, with the CLI's wrapping of an error message undone. */
const said = (cp: Cp) => cp.logs.join('').replace(/\s*\n ›\s+/g, ' ');
const listening = (cp: Cp) =>
  waitFor('API listening', () => cp.logs.join('').includes('API listening'), 90_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${cp.logs.join('').slice(-3000)}`);
  });
const status = async (api: string): Promise<StatusReport> =>
  (await (await fetch(`${api}/api/v1/status`, { headers: authHeaders })).json()) as StatusReport;
const query = async (api: string, sql: string) => {
  const res = await fetch(`${api}/api/v1/query`, {
    method: 'POST',
    headers: { ...authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
};

before(async () => {
  nats = await startLocalNats({ dataDir: join(dir, 'nats'), port: await freePort(), log });
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

test('a second control plane on one stream refuses clearly; the first stores every event once, no loss reported', async () => {
  const first = await controlPlane('first');
  await listening(first);
  try {
    const second = await controlPlane('second');
    const js = nc.jetstream();
    const events = Array.from({ length: 2000 }, (_, i) => exitEvent('replica-host', i));
    for (let i = 0; i < events.length; i += 100)
      await Promise.all(
        events
          .slice(i, i + 100)
          .map((e) => js.publish(eventSubject(e.host, 'exit'), JSON.stringify(e), { msgID: e.id })),
      );
    const code = await refused(second);
    const out = said(second);
    assert.notEqual(code, 0, 'the second exits with an error');
    assert.match(out, /another control plane reads this NATS's events stream/);
    assert.match(out, /Stop the other, or give this one its own NATS/);
    assert.doesNotMatch(out, /API listening/);

    await waitFor(
      'every event stored by the first',
      async () => (await status(first.api)).controlPlane.stored >= 2000,
      90_000,
    );
    const st = await status(first.api);
    assert.equal(st.controlPlane.stored, events.length);
    assert.equal(st.controlPlane.lostInStream, 0, 'no loss reported');
    const rows = await query(
      first.api,
      "SELECT count() AS n, uniqExact(id) AS ids FROM events WHERE host = 'replica-host'",
    );
    assert.deepEqual(rows[0], { n: 2000, ids: 2000 });
  } finally {
    assert.equal(await first.stop(), 0);
  }
});

test('replicas against a ClickHouse server are refused too (per-host detection state stays in one)', async () => {
  // No server listens there: storage is retried in the background, and the lease is what refuses.
  const url = `http://127.0.0.1:${await freePort()}`;
  const first = await controlPlane('server-a', ['--clickhouse', url]);
  await listening(first);
  try {
    const second = await controlPlane('server-b', ['--clickhouse', url]);
    assert.notEqual(await refused(second), 0);
    assert.match(said(second), /another control plane reads this NATS's events stream/);
  } finally {
    assert.equal(await first.stop(), 0);
  }
});

test('a second control plane on the same data directory refuses clearly', async () => {
  const first = await controlPlane('same-dir');
  await listening(first);
  try {
    const second = await controlPlane('same-dir');
    assert.notEqual(await refused(second), 0);
    assert.match(said(second), /another control plane has it open \(one process per data directory/);
  } finally {
    assert.equal(await first.stop(), 0);
  }
});

test('a crashed control plane restarted on its own store takes its lease over; a clean stop leaves none', async () => {
  const crashed = await controlPlane('crash');
  await listening(crashed);
  crashed.child.kill('SIGKILL');
  await crashed.exited;
  const again = await controlPlane('crash');
  await listening(again);
  assert.match(again.logs.join(''), /taking over the ingest lease this store left/);
  assert.equal(await again.stop(), 0);
  const next = await controlPlane('after-clean-stop');
  await listening(next);
  assert.doesNotMatch(next.logs.join(''), /holds the ingest lease/, 'no lease left to wait out');
  assert.equal(await next.stop(), 0);
});

test('events a gone reader left unacked are stored at once by the next control plane, not after ack_wait', async () => {
  const js = nc.jetstream();
  const events = Array.from({ length: 100 }, (_, i) => exitEvent('orphan-host', i));
  for (const e of events) await js.publish(eventSubject(e.host, 'exit'), JSON.stringify(e), { msgID: e.id });
  // A reader that dies: 50 delivered to it, the first 10 acked (stored), the other 40 never.
  const consumer = await js.consumers.get(EVENTS_STREAM, CONSUMER_NAME);
  const batch = await consumer.fetch({ max_messages: 50, expires: 5000 });
  let delivered = 0;
  for await (const m of batch) {
    if (delivered < 10) await m.ackAck();
    delivered++;
  }
  assert.equal(delivered, 50);
  const ackedIds = new Set(events.slice(0, 10).map((e) => e.id));
  const next = await controlPlane('after-orphans');
  try {
    await listening(next);
    // ack_wait is 60 s: without the rewind the 40 would wait that long.
    await waitFor(
      'the 90 unacked events stored',
      async () =>
        Number((await query(next.api, "SELECT uniqExact(id) AS n FROM events WHERE host = 'orphan-host'"))[0]!.n) >= 90,
      30_000,
    );
    const ids = (await query(next.api, "SELECT DISTINCT id FROM events WHERE host = 'orphan-host'")).map(
      (r) => r.id as string,
    );
    const missing = events.filter((e) => !ackedIds.has(e.id) && !ids.includes(e.id));
    assert.deepEqual(missing, [], 'every event not acked by the gone reader is stored');
    assert.match(next.logs.join(''), /delivered again now, not after ack_wait/);
    assert.equal((await status(next.api)).controlPlane.lostInStream, 0, 'no loss reported');
  } finally {
    assert.equal(await next.stop(), 0);
  }
});
