/**
 * A bpftrace that stops printing while its process stays (SIGSTOP, a tracer) is reported stalled
 * within seconds, blind since its last end-of-flush record; the sensor resumes it (SIGCONT, what the
 * kernel buffered meanwhile comes out) or kills and restarts it; and a freeze followed by a kill
 * reports a blind gap that covers the frozen time. Real bpftrace, real processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type SensorConfig } from '@vigil/sensor';
import type { EventV1, ProbeStateV1 } from '@vigil/schema';
import { freePort, REPO, tempDir, waitFor } from '../support/harness.js';

const dir = tempDir('probe-stall');
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function sensorWith(name: string, cfg: Partial<SensorConfig> = {}) {
  const spoolDir = join(dir, name);
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
    ...cfg,
  });
  const probe = (): ProbeStateV1 => sensor.heartbeat().probes.find((p) => p.name === 'exec')!;
  const events = () =>
    readdirSync(spoolDir)
      .sort()
      .flatMap((f) =>
        readFileSync(join(spoolDir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as EventV1),
      );
  await waitFor('probes running', () => probe().state === 'running', 90_000);
  return { sensor, probe, events };
}

const execs = (marker: string, n: number) => {
  for (let i = 0; i < n; i++) spawnSync('/bin/true', [marker, String(i)]);
};

test("SIGSTOP then SIGKILL: reported stalled, blind since the last flush; the restart's gap covers the frozen time", {
  timeout: 120_000,
}, async () => {
  // The sensor does not act on the stall here: the attacker kills bpftrace before it would.
  const { sensor, probe } = await sensorWith('freeze-kill', { probeStallActSeconds: 600 });
  try {
    const before = probe();
    const pid = before.pid!;
    const stoppedAt = nowNs();
    process.kill(pid, 'SIGSTOP');
    execs(`vigil-frozen-${process.pid}`, 20);
    const stalled = await waitFor(
      'the probe reported stalled',
      () => (probe().state === 'stalled' ? probe() : null),
      20_000,
      100,
    );
    const hb = sensor.heartbeat();
    assert.deepEqual(
      hb.probes.map((p) => p.state),
      ['stalled', 'stalled'],
      'exec and proc share the stopped bpftrace',
    );
    assert.equal(stalled.stalls, 1);
    assert.equal(stalled.pid, pid, 'the same process, not restarted');
    assert.ok(stalled.blindFromTs, 'blind since');
    assert.equal(stalled.blindFromTs, stalled.lastFlushTs, 'since the last end-of-flush record read');
    assert.ok(BigInt(stalled.blindFromTs) <= stoppedAt, 'no later than the freeze');
    assert.match(stalled.lastError ?? '', /stalled.*stopped by a signal.*blind since/);
    // Frozen a while longer, then killed: what it buffered is gone with it.
    await sleep(3000);
    const killedAt = nowNs();
    process.kill(pid, 'SIGKILL');
    const after = await waitFor(
      'the probe running again',
      () => {
        const p = probe();
        return p.state === 'running' && p.restarts === before.restarts + 1 ? p : null;
      },
      60_000,
      200,
    );
    assert.notEqual(after.pid, pid);
    assert.equal(
      after.blindFromTs,
      stalled.blindFromTs,
      'the gap starts at the last flush before the freeze, not at the kill',
    );
    const gapNs = BigInt(after.lastRestartTs!) - BigInt(after.blindFromTs!);
    assert.ok(
      gapNs >= killedAt - stoppedAt,
      `the reported gap (${gapNs / 1_000_000n} ms) covers the frozen time (${(killedAt - stoppedAt) / 1_000_000n} ms)`,
    );
  } finally {
    await sensor.stop();
  }
});

test('SIGSTOP alone: the sensor reports the stall, resumes bpftrace, and what ran meanwhile still comes out', {
  timeout: 120_000,
}, async () => {
  const { sensor, probe, events } = await sensorWith('freeze-resume');
  const marker = `vigil-resumed-${process.pid}`;
  const N = 50;
  let pid = 0;
  try {
    pid = probe().pid!;
    process.kill(pid, 'SIGSTOP');
    execs(marker, N);
    await waitFor('the probe reported stalled', () => probe().state === 'stalled', 20_000, 100);
    const resumed = await waitFor(
      'the probe resumed by the sensor',
      () => (probe().state === 'running' ? probe() : null),
      20_000,
      100,
    );
    assert.equal(resumed.pid, pid, 'resumed, not restarted');
    assert.equal(resumed.restarts, 0);
    assert.equal(resumed.stalls, 1, 'the stall stays counted once over');
    assert.ok(BigInt(resumed.lastFlushTs!) > BigInt(resumed.blindFromTs!));
    await sleep(4 * FLUSH_MS);
  } finally {
    await sensor.stop();
  }
  const seen = new Set(
    events()
      .filter((e) => e.kind === 'exec' && e.exec.argv[1] === marker)
      .map((e) => (e.kind === 'exec' ? e.exec.argv[2] : '')),
  );
  assert.equal(
    seen.size + sensor.counters.lostEvents >= N,
    true,
    `every exec made while bpftrace was stopped is seen or counted lost (${seen.size} seen, ${sensor.counters.lostEvents} lost)`,
  );
  assert.equal(seen.size, N, 'none lost: the kernel held them');
});

test('a bpftrace held by a tracer (SIGCONT cannot resume it) is killed and restarted by the sensor', {
  timeout: 120_000,
}, async () => {
  const tracer = join(dir, 'ptrace-hold');
  execFileSync('cc', ['-O2', '-o', tracer, join(REPO, 'test', 'support', 'ptrace-hold.c')]);
  const { sensor, probe, events } = await sensorWith('traced', { probeStallSeconds: 2, probeStallActSeconds: 1 });
  const before = probe();
  const marker = `vigil-after-stall-${process.pid}`;
  const hold = spawn(tracer, [String(before.pid)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const attached = await new Promise<string>((r) => createInterface({ input: hold.stdout! }).once('line', r));
    assert.equal(attached, 'attached');
    const stalled = await waitFor(
      'the probe reported stalled',
      () => (probe().state === 'stalled' ? probe() : null),
      20_000,
      100,
    );
    assert.match(stalled.lastError ?? '', /stopped by a tracer/);
    const after = await waitFor(
      'the probe restarted by the sensor',
      () => {
        const p = probe();
        return p.state === 'running' && p.restarts === before.restarts + 1 ? p : null;
      },
      60_000,
      200,
    );
    assert.notEqual(after.pid, before.pid);
    assert.match(after.lastError ?? '', /killed by the sensor \(output stalled/);
    assert.equal(after.blindFromTs, stalled.blindFromTs);
    assert.ok(BigInt(after.lastRestartTs!) > BigInt(after.blindFromTs!));
    execs(marker, 1);
    await sleep(4 * FLUSH_MS);
  } finally {
    hold.kill('SIGKILL');
    await sensor.stop();
  }
  assert.ok(
    events().some((e) => e.kind === 'exec' && e.exec.argv[1] === marker),
    'the restarted probe sees execs',
  );
});
