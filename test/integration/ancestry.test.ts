/**
 * Ancestry on the live kernel: a process that forks a child and then execs something harmless does
 * not launder what the child's events say about where it came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor } from '@vigil/sensor';
import type { EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

test("a parent that forks a child and then execs something harmless is shown as it was in the child's events", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir('ancestry');
  chmodSync(dir, 0o755);
  // The "dropper": a shell under a name of its own, run by an unprivileged user.
  const evil = join(dir, 'evil');
  copyFileSync(realpathSync('/bin/sh'), evil);
  chmodSync(evil, 0o755);
  const marker = `vigil-ancestry-${process.pid}`;
  const spoolDir = join(dir, 'spool');
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  let shPid = 0;
  try {
    await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
    // The child waits until its parent has exec'd /bin/sleep, then execs the "miner" (echo). The parent
    // lingers a moment first: the sensor reads a new image's path from /proc when it applies the exec,
    // a flush later (what it reads after a second exec is another matter than the ancestry here).
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        evil,
        '-c',
        `(sleep 1.5; exec /bin/echo ${marker}) & echo $$; sleep 0.5; exec /bin/sleep 2`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    shPid = Number(r.stdout.split('\n')[0]);
    assert.ok(r.stdout.includes(marker), 'the child ran');
    await sleep(4 * FLUSH_MS);
  } finally {
    await sensor.stop();
  }
  const events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
  const miner = events.find((e) => e.kind === 'exec' && e.exec.argv[1] === marker);
  assert.ok(
    miner,
    `the child's exec was seen (${events.length} events; lost ${sensor.counters.lostEvents}, dropped ${sensor.counters.eventsDropped}, rejects ${JSON.stringify(sensor.counters.rejectsObject())})`,
  );
  assert.equal(miner.proc.uid, 65534);
  assert.equal(miner.proc.ancestry[0]?.pid, shPid, 'its parent');
  assert.equal(miner.proc.ancestry[0]?.exe, evil, 'its parent as it was when the child was born, not /bin/sleep');
  assert.equal(miner.proc.ancestry[0]?.argv[0], evil);
  const sleeper = events.find((e) => e.kind === 'exec' && e.proc.pid === shPid && e.exec.filename === '/bin/sleep');
  assert.ok(sleeper, "the parent's own exec was seen, before the child's");
  assert.ok(BigInt(sleeper.ts) < BigInt(miner.ts));
});
