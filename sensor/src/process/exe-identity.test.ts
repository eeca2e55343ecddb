import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Counters } from '../counters.js';
import { ExeHasher, filelessExec, type ExeHashed, type ExeIdentity } from './exe-identity.js';
import { scratchDir } from '../testing/scratch-dir.js';

/** An executable file (exec needs an execute bit; the hasher skips files without one). */
function writeExe(path: string, content: string | Buffer): void {
  writeFileSync(path, content);
  chmodSync(path, 0o755);
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function setup(opts: { maxBytes?: number; maxQueue?: number } = {}) {
  const dir = scratchDir('exe-identity');
  chmodSync(dir, 0o755);
  const counters = new Counters();
  const reported: ExeHashed[] = [];
  const hasher = new ExeHasher({ counters, onHashed: (h) => reported.push(h), procRoot: join(dir, 'proc'), ...opts });
  return { dir, counters, reported, hasher };
}

test('a file is hashed once: later execs of the same device, inode, mtime and size are cache hits', async () => {
  const { dir, reported, hasher } = setup();
  const bin = join(dir, 'tool');
  writeExe(bin, 'program bytes');
  const ids: ExeIdentity[] = [{}, {}, {}];
  for (const [i, id] of ids.entries()) hasher.request(100 + i, bin, false, id);
  await hasher.settled();
  assert.equal(hasher.hashed, 1);
  assert.equal(hasher.cacheHits, 2);
  for (const id of ids) assert.equal(id.sha256, sha(bin));
  assert.equal(reported.length, 1, 'one report per path while its file is unchanged');
  assert.equal(reported[0]!.size, 13);
});

test('a changed file at the same path is hashed again and reported again', async () => {
  const { dir, reported, hasher } = setup();
  const bin = join(dir, 'tool');
  writeExe(bin, 'one');
  hasher.request(1, bin, false, {});
  await hasher.settled();
  writeExe(bin, 'two, longer');
  const id: ExeIdentity = {};
  hasher.request(2, bin, false, id);
  await hasher.settled();
  assert.equal(hasher.hashed, 2);
  assert.equal(id.sha256, sha(bin));
  assert.deepEqual(
    reported.map((r) => r.sha256),
    [createHash('sha256').update('one').digest('hex'), sha(bin)],
  );
});

test('a live process is hashed through /proc/<pid>/exe: what ran, not what the path holds now', async () => {
  const dir = scratchDir('exe-identity-live');
  const hasher = new ExeHasher({ counters: new Counters() });
  const bin = join(dir, 'tool');
  copyFileSync(realpathSync('/bin/sleep'), bin);
  chmodSync(bin, 0o755);
  const child = spawn(bin, ['30'], { stdio: 'ignore' });
  try {
    await waitUntil(() => {
      try {
        return readlinkSync(`/proc/${child.pid}/exe`) === bin;
      } catch {
        return false;
      }
    });
    // The file that ran is replaced (unlinked, a new one written in its place) before the hash.
    unlinkSync(bin);
    writeFileSync(bin, 'something else put there later');
    const id: ExeIdentity = {};
    hasher.request(child.pid!, bin, true, id);
    await hasher.settled();
    assert.equal(id.sha256, sha(realpathSync('/bin/sleep')));
  } finally {
    child.kill();
  }
});

async function waitUntil(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
}

test('files over the size bound are not hashed, and counted', async () => {
  const { dir, counters, reported, hasher } = setup({ maxBytes: 10 });
  const bin = join(dir, 'big');
  writeExe(bin, Buffer.alloc(11));
  const id: ExeIdentity = {};
  hasher.request(1, bin, false, id);
  await hasher.settled();
  assert.equal(id.sha256, undefined);
  assert.equal(reported.length, 0);
  assert.equal(counters.rejectsObject()['exe-hash.too-large'], 1);
});

test('requests past the queue bound are dropped and counted, never waited for', async () => {
  const { dir, counters, hasher } = setup({ maxQueue: 2 });
  const bin = join(dir, 'tool');
  writeExe(bin, 'x');
  const ids: ExeIdentity[] = Array.from({ length: 5 }, () => ({}));
  // The first starts the worker at once (taken off the queue); two wait; two are over the bound.
  for (const id of ids) hasher.request(1, bin, false, id);
  assert.equal(counters.rejectsObject()['exe-hash.queue-full'], 2);
  await hasher.settled();
  assert.equal(ids.filter((i) => i.sha256 !== undefined).length, 3);
});

test('recently written files and writable directories are marked', async () => {
  const { dir, hasher } = setup();
  const fresh = join(dir, 'fresh');
  writeExe(fresh, 'dropped');
  const id: ExeIdentity = {};
  hasher.request(1, fresh, false, id);
  await hasher.settled();
  assert.equal(id.recentlyWritten, true);
  const sys: ExeIdentity = {};
  hasher.request(2, realpathSync('/bin/sh'), false, sys);
  await hasher.settled();
  assert.equal(sys.inWritableDir, false, "/usr/bin is root's and not world-writable");
  chmodSync(dir, 0o1777);
  const tmp: ExeIdentity = {};
  utimesSync(fresh, new Date(0), new Date(0));
  hasher.request(3, fresh, false, tmp);
  await hasher.settled();
  assert.equal(tmp.inWritableDir, true);
});

test('an unreadable image and a fileless one whose process is gone are counted, not hashed', async () => {
  const { counters, hasher } = setup();
  const a: ExeIdentity = {};
  const b: ExeIdentity = {};
  hasher.request(1, '/nonexistent/tool', false, a);
  hasher.request(2, '/proc/self/fd/3', false, b);
  await hasher.settled();
  assert.equal(a.sha256, undefined);
  assert.equal(b.sha256, undefined, "never the sensor's own descriptor");
  assert.deepEqual(counters.rejectsObject(), { 'exe-hash.unreadable': 1, 'exe-hash.no-path': 1 });
});

test('fileless execs are named as such: memfd by its name, fd paths as given', () => {
  assert.deepEqual(filelessExec('/proc/self/fd/3', '/memfd:payload (deleted)'), {
    fileless: true,
    exe: '/memfd:payload (deleted)',
    memfdName: 'payload',
  });
  assert.deepEqual(filelessExec('/dev/fd/4', undefined), { fileless: true, exe: '/dev/fd/4' });
  assert.deepEqual(filelessExec('/proc/1234/fd/7', undefined), { fileless: true, exe: '/proc/1234/fd/7' });
  assert.deepEqual(filelessExec('/dev/fd/4', '/tmp/x (deleted)'), { fileless: true, exe: '/tmp/x (deleted)' });
  assert.equal(filelessExec('/usr/bin/ssh', '/usr/bin/ssh'), null);
  assert.equal(filelessExec('/proc/self/fdx/3', undefined), null);
});

test('a live process that runs another image by now is hashed from the path, not from /proc', async () => {
  const { dir, hasher } = setup();
  const path = join(dir, 'tool');
  const later = join(dir, 'later');
  writeExe(path, 'the image of this exec');
  writeExe(later, 'a later exec of the same pid');
  mkdirSync(join(dir, 'proc', '43'), { recursive: true });
  symlinkSync(later, join(dir, 'proc', '43', 'exe'));
  const id: ExeIdentity = {};
  hasher.request(43, path, true, id);
  await hasher.settled();
  assert.equal(id.sha256, sha(path));
});

test('a FIFO, a symlink or a file without an execute bit at the path is not read, and counted', async () => {
  const { dir, counters, hasher } = setup();
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  chmodSync(fifo, 0o755);
  const link = join(dir, 'link');
  symlinkSync('/etc/shadow', link);
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'not executable');
  const ids: ExeIdentity[] = [{}, {}, {}];
  hasher.request(1, fifo, false, ids[0]!);
  hasher.request(2, link, false, ids[1]!);
  hasher.request(3, plain, false, ids[2]!);
  await hasher.settled();
  assert.deepEqual(
    ids.map((i) => i.sha256),
    [undefined, undefined, undefined],
  );
  assert.deepEqual(counters.rejectsObject(), {
    'exe-hash.not-a-file': 1,
    'exe-hash.unreadable': 1,
    'exe-hash.not-executable': 1,
  });
});
