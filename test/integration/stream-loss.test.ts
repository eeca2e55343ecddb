/**
 * Messages the stream drops before the control plane reads them (its age or size limits, a purge)
 * are counted, not silently missing: gaps in the stream sequence show up as lostInStream in status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { pino } from 'pino';
import { startControlPlane } from '@vigil/control-plane';
import { EVENTS_STREAM, eventSubject, type EventV1, type StatusReport } from '@vigil/schema';
import { startLocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';
import { exitEvent } from '../support/ingest-stack.js';

const log = pino({ level: 'silent' });
const HOST = 'loss-host';
const exitOf = (i: number): EventV1 => exitEvent(HOST, i);

test('messages dropped by the stream before consumption are counted as lostInStream', async () => {
  const dir = tempDir('loss');
  const nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  const nc = await connect({ servers: nats.url });
  const cfg = {
    storage: { kind: 'embedded' as const, dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    log,
  };
  try {
    // First run creates the stream and the durable consumer, and consumes one event.
    let cp = await startControlPlane({ ...cfg, api: { host: '127.0.0.1', port: await freePort() } });
    const js = nc.jetstream();
    await js.publish(eventSubject(HOST, 'exit'), JSON.stringify(exitOf(0)));
    await waitFor('first event stored', async () => cp.ingestor.stats.stored === 1);
    await cp.stop();
    // While no control plane runs: 10 events, of which the stream loses 3 (deleted as limits would).
    const seqs: number[] = [];
    for (let i = 1; i <= 10; i++)
      seqs.push((await js.publish(eventSubject(HOST, 'exit'), JSON.stringify(exitOf(i)))).seq);
    const jsm = await nc.jetstreamManager();
    for (const seq of seqs.slice(3, 6)) await jsm.streams.deleteMessage(EVENTS_STREAM, seq);
    cp = await startControlPlane({ ...cfg, api: { host: '127.0.0.1', port: await freePort() } });
    try {
      await waitFor('the 7 left stored', async () => cp.ingestor.stats.stored === 7);
      const status = (await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as StatusReport;
      assert.equal(status.controlPlane.lostInStream, 3);
    } finally {
      await cp.stop();
    }
  } finally {
    await nc.close();
    await nats.stop();
  }
});
