import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigDataV1 } from '@vigil/schema';
import { Counters } from '../counters.js';
import { ConfigReader, readableBy, type ConfigData } from './config-files.js';
import type { ConfigCandidate } from './config-candidates.js';
import { scratchDir } from '../testing/scratch-dir.js';

function setup(opts: { perSecond?: number; perProcess?: number; maxQueue?: number; now?: () => number } = {}) {
  const dir = scratchDir('config-files');
  chmodSync(dir, 0o755);
  const counters = new Counters();
  const got: { pid: number; data: ConfigData }[] = [];
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `root:x:0:0:root:/root:/bin/bash\nu:x:1234:1234::${join(dir, 'home')}:/bin/sh\n`);
  const reader = new ConfigReader({ counters, onConfig: (pid, data) => got.push({ pid, data }), passwd, ...opts });
  return { dir, counters, got, reader };
}

const arg = (path: string): ConfigCandidate => ({ path, reason: 'argument', named: true });

test('a config named by an argument is read: lines of interest, size, hash', async () => {
  const { dir, reader } = setup();
  const text = 'Host x\n  RemoteForward 9000 127.0.0.1:22\n  Compression yes\n';
  writeFileSync(join(dir, 'cfg'), text);
  const r = await reader.read(arg(join(dir, 'cfg')), 1234);
  assert.deepEqual(r?.directives, ['Host x', 'RemoteForward 9000 127.0.0.1:22']);
  assert.equal(r?.size, text.length);
  assert.match(r?.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(r?.error, null);
});

test('hostile paths: a FIFO, /dev/zero, a directory, a symlink to /etc/shadow, /proc files: errors, never a hang', async () => {
  const { dir, counters, reader } = setup();
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  symlinkSync('/etc/shadow', join(dir, 'shadow-link'));
  symlinkSync('/dev', join(dir, 'devdir'));
  symlinkSync('/proc/self', join(dir, 'procdir'));
  symlinkSync('/etc', join(dir, 'etcdir'));
  mkdirSync(join(dir, 'subdir'));
  const error = async (p: string, uid = 1234) => (await reader.read(arg(p), uid))?.error;
  assert.equal(await error(join(dir, 'fifo')), 'not a regular file');
  assert.equal(await error('/dev/zero'), 'not a regular file (a pseudo-filesystem path)');
  assert.equal(await error(join(dir, 'devdir', 'zero')), 'not a regular file');
  assert.equal(await error(join(dir, 'subdir')), 'not a regular file');
  assert.equal(await error(join(dir, 'shadow-link')), 'a symlink (not followed)');
  assert.equal(await error(join(dir, 'etcdir', 'shadow')), "not readable by the process's user");
  assert.equal(await error('/proc/self/environ'), 'not a regular file (a pseudo-filesystem path)');
  assert.equal(await error(join(dir, 'procdir', 'environ')), 'not a regular file', "the sensor's own environment");
  assert.equal(await error(join(dir, 'missing')), 'no such file');
  assert.equal(await reader.read({ path: join(dir, 'missing'), reason: 'cwd', named: false }, 1234), null);
  assert.ok((counters.rejectsObject()['config.refused'] ?? 0) >= 5);
  for (const p of [join(dir, 'fifo'), join(dir, 'shadow-link'), join(dir, 'etcdir', 'shadow'), join(dir, 'missing')])
    ConfigDataV1.parse(await reader.read(arg(p), 1234));
});

test("only files the process's user could read are read: owner with its read bit, or others' read bit", async () => {
  const { dir, reader } = setup();
  const f = join(dir, 'private.conf');
  writeFileSync(f, 'url = pool:3333\n');
  chmodSync(f, 0o600);
  chownSync(f, 1234, 1234);
  assert.equal((await reader.read(arg(f), 1234))?.error, null);
  assert.equal((await reader.read(arg(f), 4321))?.error, "not readable by the process's user");
  chownSync(f, 0, 0);
  assert.equal((await reader.read(arg(f), 1234))?.error, "not readable by the process's user");
  assert.equal(readableBy({ uid: 0, mode: 0o100640 }, 1234), false, 'group bits are not counted');
  assert.equal(readableBy({ uid: 0, mode: 0o100604 }, 1234), true);
  assert.equal(readableBy({ uid: 1, mode: 0o100400 }, 0), true, 'root reads a file with any read bit');
  assert.equal(readableBy({ uid: 1, mode: 0o100000 }, 0), false);
});

test('a 10 MB file is read to 64 KiB and marked truncated; NULs and 100k-character lines do no harm', async () => {
  const { dir, reader } = setup();
  const big = join(dir, 'big.json');
  writeFileSync(big, `"url": "a:1"\n${'x'.repeat(10 * 1024 * 1024)}`);
  const r = await reader.read(arg(big), 0);
  assert.deepEqual(
    [r?.size, r?.truncated, r?.sha256, r?.directives],
    [10 * 1024 * 1024 + 13, true, null, ['"url": "a:1"']],
  );
  const bin = join(dir, 'bin.conf');
  writeFileSync(bin, Buffer.concat([Buffer.alloc(1000), Buffer.from(`\nurl ${'u'.repeat(100_000)}\n`)]));
  const b = await reader.read(arg(bin), 0);
  assert.equal(b?.directives.length, 1);
  assert.equal(b?.directives[0]?.length, 256);
  ConfigDataV1.parse(r);
  ConfigDataV1.parse(b);
});

test("a request reads its candidates off the caller's path: ssh's user config from the passwd home", async () => {
  const { dir, got, reader } = setup();
  mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
  writeFileSync(join(dir, 'home', '.ssh', 'config'), 'Host *\n  RemoteForward 2222 localhost:22\n');
  reader.request({ pid: 77, uid: 1234, argv: ['ssh', '-N', 'h'], exe: '/usr/bin/ssh', cwd: dir });
  assert.equal(got.length, 0, 'nothing is read before the caller returns');
  await reader.settled();
  const user = got.find((g) => g.data.reason === 'ssh-config' && g.data.path === join(dir, 'home', '.ssh', 'config'));
  assert.deepEqual(user?.data.directives, ['Host *', 'RemoteForward 2222 localhost:22']);
  assert.equal(user?.pid, 77);
});

test("an ssh config's Include lines are followed: a -F file's glob, and a relative path under ~/.ssh", async () => {
  const { dir, got, reader } = setup();
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
  writeFileSync(join(dir, 'main.conf'), `Include ${join(dir, 'conf.d')}/*.conf extra.conf\n`);
  writeFileSync(join(dir, 'conf.d', '10-a.conf'), 'Host mirror\n  RemoteForward 9002 127.0.0.1:22\n');
  writeFileSync(join(dir, 'conf.d', 'notes.txt'), 'Host other\n  RemoteForward 1 x:2\n');
  writeFileSync(join(dir, 'home', '.ssh', 'extra.conf'), 'Host *\n  GatewayPorts yes\n');
  reader.request({
    pid: 78,
    uid: 1234,
    argv: ['ssh', '-F', join(dir, 'main.conf'), '-N', 'mirror'],
    exe: '/usr/bin/ssh',
  });
  await reader.settled();
  assert.deepEqual(
    got.map((g) => [g.data.path.slice(dir.length), g.data.reason, g.data.directives]),
    [
      ['/main.conf', 'argument', [`Include ${join(dir, 'conf.d')}/*.conf extra.conf`]],
      ['/conf.d/10-a.conf', 'ssh-config', ['Host mirror', 'RemoteForward 9002 127.0.0.1:22']],
      ['/home/.ssh/extra.conf', 'ssh-config', ['Host *', 'GatewayPorts yes']],
    ],
  );
});

test('Include loops and fan-out stay within the per-process bound, the drops counted', async () => {
  const { dir, got, counters, reader } = setup({ perProcess: 3 });
  writeFileSync(join(dir, 'loop.conf'), `Include ${join(dir, 'loop.conf')} ${join(dir, 'c')}*\n`);
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `c${i}`), `Include ${join(dir, 'loop.conf')}\n`);
  reader.request({ pid: 79, uid: 1234, argv: ['ssh', '-F', join(dir, 'loop.conf'), 'h'], exe: '/usr/bin/ssh' });
  await reader.settled();
  assert.equal(got.length, 3);
  assert.ok((counters.rejectsObject()['config.per-process'] ?? 0) > 0);
});

test('bounds: candidates per exec, files per second and queued execs, each drop counted', async () => {
  let now = 1_000_000;
  const { dir, counters, got, reader } = setup({ perProcess: 3, perSecond: 5, maxQueue: 2, now: () => now });
  const many = ['x', ...Array.from({ length: 10 }, (_, i) => `--config=${join(dir, `c${i}`)}`)];
  reader.request({ pid: 1, uid: 0, argv: many, exe: '/usr/bin/x' });
  reader.request({ pid: 2, uid: 0, argv: many, exe: '/usr/bin/x' });
  reader.request({ pid: 3, uid: 0, argv: many, exe: '/usr/bin/x' });
  // The first is being read; two wait; the fourth finds the queue full.
  reader.request({ pid: 9, uid: 0, argv: many, exe: '/usr/bin/x' });
  await reader.settled();
  const rejects = counters.rejectsObject();
  assert.equal(rejects['config.queue-full'], 1);
  assert.equal(rejects['config.per-process'], 7 * 3);
  assert.equal(rejects['config.rate-limited'], 4, '3 + 2 opened, the rest of the second dropped');
  assert.equal(got.length, 5);
  now += 1000;
  reader.request({ pid: 4, uid: 0, argv: many, exe: '/usr/bin/x' });
  await reader.settled();
  assert.equal(got.length, 8, 'the next second opens again');
});
