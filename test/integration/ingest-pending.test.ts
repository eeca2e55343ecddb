/**
 * The control plane's detect stage waits for the rest of a sensor's flush (one message per kind)
 * only while the stream says more messages are pending (real nats-server, chDB): a lone message is
 * seen at once, however long the wait may be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventSubject } from '@vigil/schema';
import { waitFor } from '../support/harness.js';
import { execEvent, startIngestStack } from '../support/ingest-stack.js';

const HOST = 'pending-host';

test('with nothing else pending in the stream, a message goes to the detections without the quiet-spell wait', {
  timeout: 60_000,
}, async () => {
  // Far longer than this test may run: an alert in time means the message did not wait for it.
  const { nc, cp, stop } = await startIngestStack('it-pending', { detectLingerMs: 600_000 });
  try {
    const alerts: { ruleId: string; proc?: { pid: number } }[] = [];
    nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json()) });
    const js = nc.jetstream();
    for (const pid of [7101, 7102]) {
      await js.publish(
        eventSubject(HOST, 'exec'),
        JSON.stringify(execEvent(HOST, pid, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333'])),
      );
      await waitFor(
        `the miner alert for ${pid}`,
        async () => alerts.some((a) => a.ruleId === 'miner.exec' && a.proc?.pid === pid),
        20_000,
        10,
      );
    }
    await waitFor('both stored', async () => cp.ingestor.stats.stored >= 2, 10_000, 20);
    assert.equal(cp.ingestor.stats.stored, 2);
  } finally {
    await stop();
  }
});
