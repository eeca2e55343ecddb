/**
 * Reference hashes on the live kernel: the sensor hashes the host's own copies of the well-known tools
 * at its start, so the control plane's engine names a renamed copy of ssh "ssh" by its content.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type RunningSensor } from '@vigil/sensor';
import { DetectionEngine, type LoadedDetection } from '@vigil/control-plane';
import { defineDetection } from '@vigil/control-plane/detect';
import type { EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

let sensor: RunningSensor;
let spoolDir: string;
let events: EventV1[] = [];
let kworker = '';
let ncCopy = '';

const spooled = (): EventV1[] =>
  readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );

before(async () => {
  const dir = tempDir('reference-hashes');
  spoolDir = join(dir, 'spool');
  sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
  kworker = join(dir, 'kworker');
  copyFileSync('/usr/bin/ssh', kworker);
  const ssh = spawnSync(kworker, ['-V'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(ssh.status, 0, ssh.stderr);
  // nc is a symlink chain (/usr/bin/nc -> /etc/alternatives/nc -> the netcat installed): a copy of
  // the file it names is nc.
  ncCopy = join(dir, 'systemd-helper');
  copyFileSync(realpathSync('/usr/bin/nc'), ncCopy);
  spawnSync(ncCopy, ['-h'], { timeout: 10_000 });
  await sleep(4 * FLUSH_MS);
  await sensor.stop();
  events = spooled();
});

const seen = () =>
  `${events.length} events; rejects ${JSON.stringify(sensor.counters.rejectsObject())}, dropped ${sensor.counters.eventsDropped}`;

test("the sensor reports reference hashes of the host's own tools as its own process, under the name looked up", () => {
  const refs = events.filter((e) => e.kind === 'exe' && e.exe.reference === true);
  const ssh = refs.find((e) => e.kind === 'exe' && e.exe.path === '/usr/bin/ssh');
  assert.ok(ssh && ssh.kind === 'exe', `a reference for /usr/bin/ssh (${seen()})`);
  assert.equal(ssh.proc.pid, process.pid, "the sensor's own process");
  const nc = refs.find((e) => e.kind === 'exe' && e.exe.path === '/usr/bin/nc');
  assert.ok(nc && nc.kind === 'exe', 'a reference for /usr/bin/nc, a symlink');
  const ran = events.find((e) => e.kind === 'exe' && !e.exe.reference && e.exe.path === ncCopy);
  assert.ok(ran && ran.kind === 'exe', `the nc copy was hashed (${seen()})`);
  assert.equal(nc.exe.sha256, ran.exe.sha256, "the resolved file's hash");
});

test("a copy of ssh at $tmp/kworker carries the reference's hash, and the engine's ctx.toolOf says ssh (a copy of nc's file: nc)", () => {
  const ref = events.find((e) => e.kind === 'exe' && e.exe.reference === true && e.exe.path === '/usr/bin/ssh');
  const copy = events.find((e) => e.kind === 'exe' && !e.exe.reference && e.exe.path === kworker);
  assert.ok(ref && ref.kind === 'exe' && copy && copy.kind === 'exe', `both hashed (${seen()})`);
  assert.equal(copy.exe.sha256, ref.exe.sha256);

  const tools = new Map<string, string | undefined>();
  const engine = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    onAlert: () => undefined,
  });
  const probe = defineDetection({
    id: 'tool-of',
    title: 'tool of',
    severity: 'low',
    mitre: [],
    on: ['exe'],
    match: (ev, ctx) => {
      if (!ev.exe.reference) tools.set(ev.proc.exe, ctx.toolOf(ev.host, ev.proc));
      return null;
    },
  });
  engine.setDetections([
    { detection: probe as LoadedDetection['detection'], source: 'typescript', author: null, origin: 'test' },
  ]);
  // The references first, as on a host whose sensor has been up a while; then the rest as they arrived.
  const isRef = (e: EventV1) => e.kind === 'exe' && e.exe.reference === true;
  engine.process(events.filter(isRef));
  for (const ev of events.filter((e) => !isRef(e))) engine.process([ev]);
  assert.equal(tools.get(kworker), 'ssh', `the hashed programs: ${JSON.stringify([...tools])}`);
  assert.equal(tools.get(ncCopy), 'nc');
});
