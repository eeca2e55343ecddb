/**
 * The control plane's two stages (real nats-server, chDB): detections see an event as soon as it
 * arrives, while storage waits for company so that one insert carries what arrived together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventSubject } from '@vigil/schema';
import { waitFor } from '../support/harness.js';
import { execEvent, startIngestStack } from '../support/ingest-stack.js';

const HOST = 'linger-host';

test('events arriving apart within the store linger go into one insert; the detections saw the first at once', async () => {
  const { nc, cp, stop } = await startIngestStack('it-linger', { storeLingerMs: 1500 });
  try {
    const alerts: { ruleId: string; proc?: { pid: number } }[] = [];
    nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json()) });
    const js = nc.jetstream();
    await js.publish(
      eventSubject(HOST, 'exec'),
      JSON.stringify(execEvent(HOST, 7001, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333'])),
    );
    await waitFor(
      'the miner alert',
      async () => alerts.some((a) => a.ruleId === 'miner.exec' && a.proc?.pid === 7001),
      5000,
      10,
    );
    assert.equal(cp.ingestor.stats.batches, 0, 'alerted before the event was stored, which waits for company');
    await js.publish(eventSubject(HOST, 'exec'), JSON.stringify(execEvent(HOST, 7002, ['/bin/echo', 'hi'])));
    await waitFor('both stored', async () => cp.ingestor.stats.stored >= 2, 10_000, 20);
    assert.equal(cp.ingestor.stats.batches, 1, 'one insert for both');
    assert.equal(cp.ingestor.stats.stored, 2);
  } finally {
    await stop();
  }
});
