/**
 * The control plane's detect stage waits for the rest of a sensor's flush (one message per kind)
 * only while the stream says more messages are pending (real nats-server, chDB): a lone message is
 * seen at once, however long the wait may be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'nats';
import { pino } from 'pino';
import { startControlPlane } from '@vigil/control-plane';
import { eventSubject, type EventV1 } from '@vigil/schema';
import { startLocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const log = pino({ level: 'silent' });
const HOST = 'pending-host';

const exec = (pid: number, argv: string[]): EventV1 => ({
  id: randomUUID(), v: 1, host: HOST, ts: (BigInt(Date.now()) * 1_000_000n).toString(), kind: 'exec',
  proc: {
    pid, ppid: 1, uid: 0, gid: 0, comm: argv[0]!.split('/').pop()!, exe: argv[0]!, argv, argvTruncated: false,
    cgroupId: 1, cgroup: '/', containerId: null, job: null, startTs: null, ancestry: [], ancestryTruncated: false,
  },
  exec: { filename: argv[0]!, argv, argvTruncated: false, ret: 0 },
});

test('with nothing else pending in the stream, a message goes to the detections without the quiet-spell wait', { timeout: 60_000 }, async () => {
  const dir = tempDir('it-pending');
  const nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  const nc = await connect({ servers: nats.url });
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    // Far longer than this test may run: an alert in time means the message did not wait for it.
    detectLingerMs: 600_000,
    log,
  }).catch(async (err: unknown) => { await nc.close(); await nats.stop(); throw err; });
  try {
    const alerts: { ruleId: string; proc?: { pid: number } }[] = [];
    nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json()) });
    const js = nc.jetstream();
    for (const pid of [7101, 7102]) {
      await js.publish(eventSubject(HOST, 'exec'), JSON.stringify(exec(pid, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333'])));
      await waitFor(`the miner alert for ${pid}`, async () => alerts.some((a) => a.ruleId === 'miner.exec' && a.proc?.pid === pid), 20_000, 10);
    }
    await waitFor('both stored', async () => cp.ingestor.stats.stored >= 2, 10_000, 20);
    assert.equal(cp.ingestor.stats.stored, 2);
  } finally {
    await cp.stop();
    await nc.close();
    await nats.stop();
  }
});
