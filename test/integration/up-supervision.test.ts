/**
 * `vigil up` keeps its processes as a supervisor would (real `vigil up`, nats-server, bpftrace, chDB):
 * the sensor runs in its own process, its NATS password in no argv; nats-server killed with SIGKILL
 * comes back and events flow again, and the status says so; the sensor killed comes back and its
 * bpftrace does not outlive it; `vigil up` itself killed with SIGKILL leaves nothing running, and the
 * next start on the same data directory and ports works; so does one beside a nats-server an earlier
 * run left on its data directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecEventV1 } from '@vigil/schema';
import { createConnection } from 'node:net';
import { freePort, startVigil, tempDir, vigilJson, waitFor } from '../support/harness.js';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const data = join(tempDir('supervise'), 'data');
const HOST = `supervise-${process.pid}`;
let apiPort = 0;
let natsPort = 0;
let api = '';
let up: ReturnType<typeof startVigil> | null = null;

interface ChildReport {
  state: string;
  pid: number | null;
  restarts: number;
  lastExit: { signal: string | null } | null;
}
interface Status {
  controlPlane: {
    nats: string;
    supervised?: {
      natsServer: ChildReport & { jetstream: string; jetstreamOutages: number };
      sensor: ChildReport & { process: string };
    };
  };
  sensors: { host: string; sensorPid?: number; ts: string; probes: { name: string; pid?: number; state: string }[] }[];
}
const status = (): Status => vigilJson<Status>(api, ['status']);
const sensorOf = (s: Status) => s.sensors.find((x) => x.host === HOST);

/** Pids whose command line has `needle` (an argument of theirs). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(needle)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}
/** Whether `pid` runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
const natsServers = () => pidsWith(join(data, 'nats'));

async function startUp(): Promise<void> {
  up = startVigil([
    'up',
    '--data-dir',
    data,
    '--api-port',
    String(apiPort),
    '--nats-port',
    String(natsPort),
    '--host-id',
    HOST,
    '--probe',
    'exec',
  ]);
  const u = up;
  await waitFor(
    'vigil up with its sensor',
    () => {
      if (u.child.exitCode !== null) throw new Error(`vigil up exited with ${u.child.exitCode}`);
      if (!u.logs.join('').includes('vigil is up')) return false;
      const hb = sensorOf(status());
      return hb && hb.sensorPid !== undefined && alive(hb.sensorPid) && hb.probes.every((p) => p.state === 'running');
    },
    120_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- vigil up ---\n${u.logs.join('').slice(-3000)}`);
  });
}

/**
 * Runs a command with a fresh marker (again each try: one run while NATS was away may be spooled, not
 * lost, but this asks for flow now) and waits until `vigil events` lists its exec among the newest.
 */
async function execSeen(): Promise<void> {
  const marker = `supervise-${randomUUID()}`;
  await waitFor(
    `exec ${marker} in vigil events`,
    () => {
      spawnSync('/bin/true', [marker]);
      return vigilJson<ExecEventV1[]>(api, [
        'events',
        '--host',
        HOST,
        '--kind',
        'exec',
        '--comm',
        'true',
        '--since',
        '2m',
        '--limit',
        '20',
      ]).some((e) => e.exec.argv[1] === marker);
    },
    90_000,
    1000,
  );
}

before(async () => {
  apiPort = await freePort();
  natsPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  await startUp();
});

after(async () => {
  if (up) assert.equal(await up.stop(), 0, up.logs.join('').slice(-2000));
});

test('the sensor runs in its own process, with its NATS key seed in no argv', () => {
  const s = status();
  const sensorPid = sensorOf(s)!.sensorPid!;
  assert.notEqual(sensorPid, up!.child.pid, 'the sensor is not vigil up');
  assert.equal(s.controlPlane.supervised?.sensor.process, 'separate');
  assert.equal(s.controlPlane.supervised?.sensor.pid, sensorPid);
  const argv = readFileSync(`/proc/${sensorPid}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.includes('sensor'), argv.join(' '));
  const seed = /^SU[A-Z2-7]{56}$/m.exec(readFileSync(join(data, 'secrets', 'nats-sensor.creds'), 'utf8'))![0];
  for (const pid of [sensorPid, up!.child.pid!, ...natsServers()]) {
    assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(seed), `the seed is in the argv of ${pid}`);
  }
});

test('nats-server killed with SIGKILL is started again, events flow again end to end, and the status counts it', async () => {
  await execSeen();
  const [pid, ...more] = natsServers();
  assert.ok(
    pid !== undefined && more.length === 0,
    `one nats-server on the data directory: ${natsServers().join(', ')}`,
  );
  process.kill(pid, 'SIGKILL');
  const back = await waitFor(
    'nats-server started again',
    () => {
      const n = natsServers();
      return n.length === 1 && n[0] !== pid ? n[0] : null;
    },
    60_000,
    200,
  );
  const s = await waitFor(
    'the status to show the restart',
    () => {
      const st = status();
      const ns = st.controlPlane.supervised?.natsServer;
      return ns &&
        ns.restarts >= 1 &&
        ns.pid === back &&
        ns.state === 'running' &&
        ns.jetstream === 'enabled' &&
        st.controlPlane.nats === 'connected'
        ? st
        : null;
    },
    60_000,
    500,
  );
  assert.equal(s.controlPlane.supervised!.natsServer.lastExit?.signal, 'SIGKILL');
  assert.match(up!.logs.join(''), /nats-server exited; starting it again/);
  await execSeen();
});

test('the sensor killed with SIGKILL takes its bpftrace with it and is started again', async () => {
  const hb = sensorOf(status())!;
  const bpftrace = hb.probes.map((p) => p.pid).filter((p): p is number => p !== undefined);
  assert.ok(bpftrace.length > 0 && bpftrace.every(alive), 'bpftrace runs');
  process.kill(hb.sensorPid!, 'SIGKILL');
  await waitFor('bpftrace to end with its sensor', () => bpftrace.every((p) => !alive(p)), 30_000, 200);
  await waitFor(
    'a new sensor',
    () => {
      const st = status();
      const again = sensorOf(st);
      return (
        st.controlPlane.supervised?.sensor.restarts === 1 &&
        again?.sensorPid !== hb.sensorPid &&
        again?.probes.every((p) => p.state === 'running')
      );
    },
    120_000,
    500,
  );
  await execSeen();
});

test('vigil up killed with SIGKILL leaves nothing running; the next start on the same data directory and ports works', async () => {
  const hb = sensorOf(status())!;
  const left = [...natsServers(), hb.sensorPid!, ...hb.probes.map((p) => p.pid!).filter(Boolean)];
  up!.child.kill('SIGKILL');
  await new Promise((r) => up!.child.once('exit', r));
  up = null;
  await waitFor(
    'nats-server, sensor and bpftrace to end with vigil up',
    () => left.every((p) => !alive(p)),
    30_000,
    200,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: still running ${left.filter(alive).join(', ')}`);
  });
  await startUp();
  await execSeen();
});

test('a nats-server an earlier run left on this data directory is stopped at start, not a reason to refuse', async () => {
  assert.equal(await up!.stop(), 0);
  up = null;
  // As a run killed where no parent-death signal reached it leaves one: detached, with its pid file.
  const leftover = spawn('nats-server', ['-js', '-sd', join(data, 'nats'), '-a', '127.0.0.1', '-p', String(natsPort)], {
    detached: true,
    stdio: 'ignore',
  });
  leftover.unref();
  writeFileSync(join(data, 'nats-server.pid'), `${leftover.pid}\n`, { mode: 0o600 });
  await waitFor('the leftover nats-server to listen', () => portOpen(natsPort), 15_000, 100);
  await startUp();
  assert.ok(!alive(leftover.pid!), 'the leftover is gone');
  assert.match(up!.logs.join(''), /nats-server an earlier vigil up left running/);
  await execSeen();
});
