/**
 * The control plane's two stages (real nats-server, chDB): detections see an event as soon as it
 * arrives, while storage waits for company so that one insert carries what arrived together.
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
const HOST = 'linger-host';

const exec = (pid: number, argv: string[]): EventV1 => ({
  id: randomUUID(), v: 1, host: HOST, ts: (BigInt(Date.now()) * 1_000_000n).toString(), kind: 'exec',
  proc: {
    pid, ppid: 1, uid: 0, gid: 0, comm: argv[0]!.split('/').pop()!, exe: argv[0]!, argv, argvTruncated: false,
    cgroupId: 1, cgroup: '/', containerId: null, job: null, startTs: null, ancestry: [], ancestryTruncated: false,
  },
  exec: { filename: argv[0]!, argv, argvTruncated: false, ret: 0 },
});

test('events arriving apart within the store linger go into one insert; the detections saw the first at once', async () => {
  const dir = tempDir('it-linger');
  const nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  const nc = await connect({ servers: nats.url });
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    storeLingerMs: 1500,
    log,
  }).catch(async (err: unknown) => { await nc.close(); await nats.stop(); throw err; });
  try {
    const alerts: { ruleId: string; proc?: { pid: number } }[] = [];
    nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json()) });
    const js = nc.jetstream();
    await js.publish(eventSubject(HOST, 'exec'), JSON.stringify(exec(7001, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333'])));
    await waitFor('the miner alert', async () => alerts.some((a) => a.ruleId === 'miner.exec' && a.proc?.pid === 7001), 5000, 10);
    assert.equal(cp.ingestor.stats.batches, 0, 'alerted before the event was stored, which waits for company');
    await js.publish(eventSubject(HOST, 'exec'), JSON.stringify(exec(7002, ['/bin/echo', 'hi'])));
    await waitFor('both stored', async () => cp.ingestor.stats.stored >= 2, 10_000, 20);
    assert.equal(cp.ingestor.stats.batches, 1, 'one insert for both');
    assert.equal(cp.ingestor.stats.stored, 2);
  } finally {
    await cp.stop();
    await nc.close();
    await nats.stop();
  }
});
