/**
 * Tamper that leaves no exec behind, under the real stack (real bpftrace, sensor, nats-server,
 * control plane with chDB): bash's builtin `kill` freezes the exec probe's bpftrace. The stall raises
 * sensor.probe-stalled within seconds and `vigil status` shows the probe blind while it lasts; a
 * second freeze within the alert throttle raises again; a kill during a freeze raises
 * sensor.probe-restart naming the blind interval, and a process started while the probe was blind is
 * reported, recovered from /proc.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { startSensor } from '@vigil/sensor';
import type { AlertV1, EventV1, StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { authHeaders, freePort, startVigil, tempDir, vigilAsync, waitFor } from '../support/harness.js';

const dir = tempDir('blind-window');
const host = 'blind-sensor';
let nats: LocalNats;
let api = '';
let cp: ReturnType<typeof startVigil> | null = null;

/** `vigil … --json` without blocking this process: the sensor under test runs in it. */
async function cli<T>(args: string[]): Promise<T> {
  const r = await vigilAsync(api, [...args, '--json']);
  if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout) as T;
}
const alerts = (rule: string) => cli<AlertV1[]>(['alerts', '--rule', rule, '--host', host]);
const execProbe = async () =>
  (await cli<StatusReport>(['status'])).sensors.find((s) => s.host === host)?.probes.find((p) => p.name === 'exec');

async function query<T>(sql: string): Promise<T[]> {
  const res = await fetch(`${api}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders },
    body: JSON.stringify({ sql }),
  });
  return ((await res.json()) as { rows: T[] }).rows;
}

/** bash's builtin kill: a signal sent with no program run, so no exec for sensor.tamper to see. */
function builtinKill(signal: string, pid: number): void {
  const r = spawnSync('bash', ['-c', `[ "$(type -t kill)" = builtin ] && kill -${signal} ${pid}`]);
  assert.equal(r.status, 0, `bash's builtin kill -${signal} ${pid}`);
}

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }) });
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  cp = startVigil(['control-plane', '--data-dir', join(dir, 'ch'), '--nats', nats.url, '--api-port', String(apiPort)]);
  await waitFor(
    'the control plane',
    async () => (await cli<StatusReport>(['status'])).controlPlane.nats === 'connected',
    60_000,
    300,
  );
});

after(async () => {
  await cp?.stop();
  await nats?.stop();
});

test("bash's builtin kill -STOP, twice, then -9: each blind interval alerts, shows in status, and what started meanwhile is recovered", {
  timeout: 300_000,
}, async () => {
  // The sensor leaves the stall alone here (no SIGCONT of its own), so the test decides how it ends.
  const sensor = await startSensor({
    nats: { servers: nats.url },
    hostId: host,
    probes: ['exec', 'proc'],
    spoolDir: join(dir, 'spool'),
    probeStallActSeconds: 600,
    log: pino({ level: 'silent' }),
  });
  const marker = `vigil-blind-${process.pid}`;
  let started: ReturnType<typeof spawn> | null = null;
  try {
    const first = await waitFor(
      'exec probe running',
      async () => {
        const p = await execProbe();
        return p?.state === 'running' && p.pid ? p : null;
      },
      90_000,
      300,
    );
    const pid = first.pid!;

    builtinKill('STOP', pid);
    const [stalled] = await waitFor(
      'sensor.probe-stalled',
      async () => {
        const a = await alerts('sensor.probe-stalled');
        return a.length ? a : null;
      },
      30_000,
      300,
    );
    assert.equal(stalled!.severity, 'high');
    assert.match(
      stalled!.reason,
      /^probe exec \(with proc: one bpftrace process\) on blind-sensor stalled: no output since/,
    );
    const blind = await execProbe();
    assert.equal(blind?.state, 'stalled', 'status shows the frozen probe stalled, not running');
    assert.ok(blind?.blindFromTs);
    const text = await vigilAsync(api, ['status']);
    assert.match(text.stdout, /exec:stalled/);
    assert.match(text.stdout, /blind-sensor exec: output stalled: .* blind since /);
    assert.deepEqual(await alerts('sensor.tamper'), [], 'no program ran: only the stall tells');

    builtinKill('CONT', pid);
    const resumed = await waitFor(
      'the probe resumed',
      async () => {
        const p = await execProbe();
        return p?.state === 'running' && p.recentBlinds?.length === 1 ? p : null;
      },
      30_000,
      300,
    );
    assert.equal(resumed.blinds, 1);
    assert.equal(resumed.recentBlinds![0]!.cause, 'stall');
    assert.equal(resumed.recentBlinds![0]!.fromTs, blind!.blindFromTs);
    assert.match(
      (await vigilAsync(api, ['status'])).stdout,
      /blind-sensor exec: 1 blind interval\(s\); last .* stalled, resumed/,
    );

    // Frozen again within the throttle window: its own alert.
    builtinKill('STOP', pid);
    await waitFor(
      'a second sensor.probe-stalled',
      async () => (await alerts('sensor.probe-stalled')).length === 2,
      30_000,
      300,
    );
    // Started while the probe is frozen; then the probe is killed, and what it buffered is lost.
    const blindFrom = BigInt(Date.now()) * 1_000_000n;
    // Two commands: bash forks sleep rather than exec it, so both run, the marker in bash's argv.
    started = spawn('bash', ['-c', 'sleep 120; :', marker], { stdio: 'ignore', detached: true });
    await new Promise((r) => setTimeout(r, 500));
    builtinKill('KILL', pid);
    const [restart] = await waitFor(
      'sensor.probe-restart',
      async () => {
        const a = await alerts('sensor.probe-restart');
        return a.length ? a : null;
      },
      60_000,
      300,
    );
    assert.match(
      restart!.reason,
      /blind for \d+\.\d s \(\S+ to \S+, the processes started then and still running recovered from \/proc\)/,
    );
    const after = await execProbe();
    // The second freeze and the kill are one blind interval: from its last flush to the new attach.
    assert.equal(after?.blinds, 2);
    assert.equal(after?.recentBlinds?.length, 2);
    assert.equal(after?.recentBlinds?.at(-1)?.cause, 'exit');
    assert.ok(BigInt(after!.recentBlinds!.at(-1)!.fromTs) <= blindFrom, 'blind since before the process started');

    const rows = await waitFor(
      'the recovered exec stored',
      async () => {
        const r = await query<{ event: string }>(
          // bash's own (its child sleep carries the marker too, in its ancestry).
          `SELECT event FROM events WHERE host = '${host}' AND kind = 'exec' AND pid = ${started!.pid} AND JSONExtractBool(event, 'exec', 'recovered') AND position(event, '${marker}') > 0`,
        );
        return r.length ? r : null;
      },
      30_000,
      500,
    );
    const ev = JSON.parse(rows[0]!.event) as EventV1;
    assert.ok(ev.kind === 'exec');
    assert.deepEqual(ev.exec.argv, ['bash', '-c', 'sleep 120; :', marker]);
    assert.equal(ev.proc.pid, started.pid);
    assert.equal(ev.exec.ret, 0);
    // Its start time, known to a 10 ms tick and the uptime's 10 ms: inside the blind interval.
    assert.ok(BigInt(ev.ts) >= blindFrom - 50_000_000n, `started at ${ev.ts}, blind since ${blindFrom}`);
    const sleepRows = await query<{ n: string }>(
      `SELECT count() AS n FROM events WHERE host = '${host}' AND kind = 'exec' AND JSONExtractBool(event, 'exec', 'recovered') AND JSONExtractString(event, 'proc', 'comm') = 'sleep' AND position(event, '${marker}') > 0`,
    );
    assert.equal(Number(sleepRows[0]!.n), 1, 'its child too, with the marker in its ancestry');
  } finally {
    // Its group: bash and its sleep.
    if (started?.pid) process.kill(-started.pid, 'SIGKILL');
    await sensor.stop();
  }
});
