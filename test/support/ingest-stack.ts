/**
 * A nats-server and a control plane on embedded chDB, for tests of the control plane's ingest
 * stages; and exec events to publish to it. chDB keeps one data directory per process, so each test
 * file that starts one of these runs alone.
 */
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type ControlPlaneConfig, type RunningControlPlane } from '@vigil/control-plane';
import { startLocalNats } from '@vigil/cli/nats-server';
import type { EventV1, ProcessV1 } from '@vigil/schema';
import { freePort, tempDir } from './harness.js';

export const execEvent = (host: string, pid: number, argv: string[]): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host,
  ts: (BigInt(Date.now()) * 1_000_000n).toString(),
  kind: 'exec',
  proc: {
    pid,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: argv[0]!.split('/').pop()!,
    exe: argv[0]!,
    argv,
    argvTruncated: false,
    cgroupId: 1,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  },
  exec: { filename: argv[0]!, argv, argvTruncated: false, ret: 0 },
});

/** The i-th of a run of exit events (pid 100 + i, a nanosecond apart), for tests that publish many. */
export const exitEvent = (host: string, i: number, proc: Partial<ProcessV1> = {}): EventV1 => ({
  id: randomUUID(),
  v: 1,
  host,
  ts: (BigInt(Date.now()) * 1_000_000n + BigInt(i)).toString(),
  kind: 'exit',
  proc: {
    pid: 100 + i,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'c',
    exe: '/bin/c',
    argv: ['c'],
    argvTruncated: false,
    cgroupId: 1,
    cgroup: '/',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
    ...proc,
  },
  exit: { code: 0, signal: null },
});

export async function startIngestStack(
  prefix: string,
  cfg: Partial<ControlPlaneConfig>,
): Promise<{ nc: NatsConnection; cp: RunningControlPlane; stop: () => Promise<void> }> {
  const log = pino({ level: 'silent' });
  const dir = tempDir(prefix);
  const nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  const nc = await connect({ servers: nats.url });
  const cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: `${dir}/clickhouse` },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: await freePort() },
    log,
    ...cfg,
  }).catch(async (err: unknown) => {
    await nc.close();
    await nats.stop();
    throw err;
  });
  return {
    nc,
    cp,
    stop: async () => {
      await cp.stop();
      await nc.close();
      await nats.stop();
    },
  };
}
