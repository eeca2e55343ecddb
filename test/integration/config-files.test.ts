/**
 * Config files on the live kernel: the sensor reads the files real processes were started with (ssh's
 * -F file, a user's ~/.ssh/config found through the passwd database, a config.json beside a miner
 * started without arguments) and refuses the hostile ones (a symlink to /etc/shadow, a path through a
 * symlinked /etc the process's user could not read).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type RunningSensor } from '@vigil/sensor';
import type { ConfigEventV1, EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const NOBODY = 65534;
const USER = `vigilcfg${process.pid % 100000}`;
let sensor: RunningSensor;
let dir = '';
let events: EventV1[] = [];
const pids: Record<string, number> = {};
let userUid = 0;

/** Runs a program (as `uid` when given, without a wrapper process) and waits for it to exit. */
async function run(
  name: string,
  file: string,
  args: string[],
  opts: { uid?: number; gid?: number; cwd?: string } = {},
) {
  const child = spawn(file, args, { stdio: 'ignore', ...opts });
  pids[name] = child.pid!;
  await once(child, 'exit');
}

before(async () => {
  dir = tempDir('config-files');
  chmodSync(dir, 0o755);
  const spoolDir = join(dir, 'spool');
  sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
  const closed = String(await freePort());
  const sshArgs = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=1', '-p', closed, '-N', '127.0.0.1'];

  // ssh -F with a remote forward; ssh fails to connect to the closed port.
  writeFileSync(join(dir, 'cfg'), 'Host *\n  RemoteForward 9000 127.0.0.1:22\n  ServerAliveInterval 5\n');
  await run('sshF', '/usr/bin/ssh', ['-F', join(dir, 'cfg'), ...sshArgs]);

  // A user whose ~/.ssh/config (home from /etc/passwd) holds a remote forward.
  const home = join(dir, 'home');
  spawnSync('userdel', [USER]);
  const add = spawnSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', USER], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  const ids = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
  userUid = Number(ids.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'config'), 'Host 127.0.0.1\n  RemoteForward 0.0.0.0:8022 localhost:22\n');
  chmodSync(join(home, '.ssh', 'config'), 0o600);
  for (const p of [home, join(home, '.ssh'), join(home, '.ssh', 'config')]) chownSync(p, userUid, gid);
  await run('sshUser', '/usr/bin/ssh', sshArgs, { uid: userUid, gid });

  // A stand-in miner: sleep under another name with config.json beside it, started with no arguments.
  mkdirSync(join(dir, 'miner'));
  chmodSync(join(dir, 'miner'), 0o755);
  copyFileSync('/bin/sleep', join(dir, 'miner', 'kthreadd-helper'));
  chmodSync(join(dir, 'miner', 'kthreadd-helper'), 0o755);
  writeFileSync(join(dir, 'miner', 'config.json'), '{"pools":[{"url":"127.0.0.1:3333"}]}\n');
  await run('miner', join(dir, 'miner', 'kthreadd-helper'), [], { uid: NOBODY, gid: NOBODY, cwd: '/' });

  // Hostile config paths, from a process of an unprivileged user.
  symlinkSync('/etc/shadow', join(dir, 'shadow-link'));
  symlinkSync('/etc', join(dir, 'etc-link'));
  await run('shadowLink', '/usr/bin/ssh', ['-F', join(dir, 'shadow-link'), ...sshArgs], { uid: NOBODY, gid: NOBODY });
  await run('shadowDir', '/bin/true', ['--config', join(dir, 'etc-link', 'shadow')], { uid: NOBODY, gid: NOBODY });

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

after(() => spawnSync('userdel', [USER]));

const configs = () => events.filter((e): e is ConfigEventV1 => e.kind === 'config');
const seen = () =>
  `${events.length} events, configs: ${JSON.stringify(configs().map((c) => [c.proc.pid, c.config]))}; rejects ${JSON.stringify(sensor.counters.rejectsObject())}`;
const configOf = (name: string, path: string) =>
  configs().find((e) => e.proc.pid === pids[name] && e.config.path === path);

test('ssh -F FILE: the file is read after the exec and its RemoteForward reported with the ssh process', () => {
  const ev = configOf('sshF', join(dir, 'cfg'));
  assert.ok(ev, `a config event for ssh -F (${seen()})`);
  assert.equal(ev.config.reason, 'argument');
  assert.equal(ev.config.error, null);
  assert.deepEqual(ev.config.directives, ['Host *', 'RemoteForward 9000 127.0.0.1:22']);
  assert.equal(ev.proc.exe, '/usr/bin/ssh');
  assert.ok(!configs().some((e) => e.proc.pid === pids.sshF && e.config.reason === 'ssh-config'), '-F replaces them');
});

test("ssh run by a user: that user's ~/.ssh/config (home from /etc/passwd, a 0600 file the user owns)", () => {
  const ev = configOf('sshUser', join(dir, 'home', '.ssh', 'config'));
  assert.ok(ev, `a config event for the user's ssh config (${seen()})`);
  assert.equal(ev.config.reason, 'ssh-config');
  assert.equal(ev.config.error, null);
  assert.deepEqual(ev.config.directives, ['Host 127.0.0.1', 'RemoteForward 0.0.0.0:8022 localhost:22']);
  assert.equal(ev.proc.uid, userUid);
});

test('a renamed program started with no arguments: config.json beside it, with its pool url', () => {
  const ev = configOf('miner', join(dir, 'miner', 'config.json'));
  assert.ok(ev, `a config event for the miner's config.json (${seen()})`);
  assert.equal(ev.config.reason, 'beside-exe');
  assert.deepEqual(ev.config.directives, ['{"pools":[{"url":"127.0.0.1:3333"}]}']);
  assert.match(ev.config.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(ev.proc.exe, join(dir, 'miner', 'kthreadd-helper'));
});

test("a symlink to /etc/shadow, and /etc/shadow through a symlinked directory, are refused for a user who can't read it", () => {
  const link = configOf('shadowLink', join(dir, 'shadow-link'));
  assert.ok(link, `a config event for the symlink (${seen()})`);
  assert.deepEqual(
    [link.config.error, link.config.directives, link.config.sha256],
    ['a symlink (not followed)', [], null],
  );
  const through = configOf('shadowDir', join(dir, 'etc-link', 'shadow'));
  assert.ok(through, `a config event for the path through /etc (${seen()})`);
  assert.deepEqual(
    [through.config.error, through.config.directives, through.config.size],
    ["not readable by the process's user", [], null],
  );
});
