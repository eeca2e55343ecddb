/**
 * Executable identity and detached processes on the live kernel: what a process runs is known by its
 * content whatever it is called, a program run from a memfd is named fileless, and a process left
 * behind by a shell that exited keeps the chain it was born under.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type RunningSensor } from '@vigil/sensor';
import type { EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

let sensor: RunningSensor;
let spoolDir: string;
let events: EventV1[] = [];
const copy = `/tmp/other-name-${process.pid}`;
/** A sleep long enough to outlive the test, unique to this run so its events are told apart. */
const longSleep = `1${process.pid}`;
let memfdPid = 0;
let shPid = 0;
let sleeperPid = 0;

before(async () => {
  const dir = tempDir('exe-identity');
  chmodSync(dir, 0o755);
  spoolDir = join(dir, 'spool');
  sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);

  // ssh, copied under another name by an unprivileged user and run from there.
  rmSync(copy, { force: true });
  const cp = spawnSync('setpriv', [...AS_NOBODY, 'cp', '/usr/bin/ssh', copy], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  const ssh = spawnSync('setpriv', [...AS_NOBODY, copy, '-V'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(ssh.status, 0, ssh.stderr);

  // sleep, run from a memfd through /proc/self/fd/N; it lingers (the sensor runs in this process, so
  // the test waits without blocking it) so that its exit comes after its exec was applied.
  const py = `import os,sys
fd = os.memfd_create('vigil-payload', 0)
os.write(fd, open('${realpathSync('/bin/sleep')}', 'rb').read())
print(os.getpid(), flush=True)
os.execv('/proc/self/fd/%d' % fd, ['payload', '3'])`;
  const memfd = spawn('setpriv', [...AS_NOBODY, '/usr/bin/python3', '-c', py], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  memfd.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const [code] = (await once(memfd, 'exit')) as [number | null];
  assert.equal(code, 0);
  memfdPid = Number(out.trim());

  // nohup sleep in the background of a shell that exits at once.
  const sh = spawnSync(
    'setpriv',
    [...AS_NOBODY, '/bin/sh', '-c', `echo $$; nohup /bin/sleep ${longSleep} >/dev/null 2>&1 & echo $!`],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(sh.status, 0, sh.stderr);
  [shPid, sleeperPid] = sh.stdout.trim().split('\n').map(Number) as [number, number];
  // Its exit, once the sensor has applied its exec and the shell's exit, is an event built after both.
  await sleep(4 * FLUSH_MS);
  process.kill(sleeperPid, 'SIGTERM');
  await sleep(4 * FLUSH_MS);
  await sensor.stop();
  events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
});

after(() => rmSync(copy, { force: true }));

const seen = () =>
  `${events.length} events; lost ${sensor.counters.lostEvents}, dropped ${sensor.counters.eventsDropped}, rejects ${JSON.stringify(sensor.counters.rejectsObject())}`;

test("a copy of ssh under another name carries ssh's SHA-256, and is marked freshly written in a writable place", () => {
  const hashed = events.find((e) => e.kind === 'exe' && e.exe.path === copy);
  assert.ok(hashed && hashed.kind === 'exe', `the copy was hashed (${seen()})`);
  assert.equal(hashed.exe.sha256, sha256('/usr/bin/ssh'));
  assert.equal(hashed.exe.recentlyWritten, true);
  assert.equal(hashed.exe.inWritableDir, true);
  assert.equal(hashed.proc.exe, copy);
  assert.equal(hashed.proc.uid, 65534);
});

test("a program exec'd from a memfd is named fileless, with the memfd's name and the hash of what ran", () => {
  const exec = events.find(
    (e) =>
      e.kind === 'exec' && e.proc.pid === memfdPid && e.exec.ret === 0 && e.exec.filename.startsWith('/proc/self/fd/'),
  );
  assert.ok(exec, `the memfd exec was seen (${seen()})`);
  assert.equal(exec.proc.fileless, true);
  const exit = events.find((e) => e.kind === 'exit' && e.proc.pid === memfdPid);
  assert.ok(exit, 'its exit was seen');
  assert.equal(exit.proc.fileless, true);
  assert.equal(exit.proc.memfdName, 'vigil-payload');
  assert.equal(exit.proc.exe, '/memfd:vigil-payload (deleted)', 'named as the kernel names it, not as a path in /proc');
  assert.equal(exit.proc.exeHash, sha256(realpathSync('/bin/sleep')));
});

test('a nohup process whose shell exited is marked re-parented and keeps its original parent chain', () => {
  const exit = events.find((e) => e.kind === 'exit' && e.proc.pid === sleeperPid);
  assert.ok(exit && exit.kind === 'exit', `the sleeper's exit was seen (${seen()})`);
  assert.deepEqual(exit.proc.argv, ['/bin/sleep', longSleep]);
  assert.equal(exit.exit.signal, 15);
  assert.equal(exit.proc.reparented, true);
  assert.equal(exit.proc.ancestry[0]?.pid, shPid, 'born under the shell');
  assert.equal(exit.proc.ancestry[0]?.exe, realpathSync('/bin/sh'));
  assert.equal(exit.proc.exeHash, sha256(realpathSync('/bin/sleep')), 'a later event of the process carries its hash');
});
