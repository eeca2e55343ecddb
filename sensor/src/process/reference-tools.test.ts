import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counters } from '../counters.js';
import { ExeHasher, type ExeHashed } from './exe-identity.js';
import { findReferenceTools, requestReferenceHashes } from './reference-tools.js';
import { scratchDir } from '../testing/scratch-dir.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A bin directory with nc -> alternatives/nc -> nc.openbsd, a real ssh, and a merged /bin -> bin. */
function host() {
  const dir = scratchDir('reference-tools');
  chmodSync(dir, 0o755);
  const bin = join(dir, 'bin');
  const alt = join(dir, 'alternatives');
  mkdirSync(bin);
  mkdirSync(alt);
  writeFileSync(join(bin, 'nc.openbsd'), 'netcat bytes');
  chmodSync(join(bin, 'nc.openbsd'), 0o755);
  symlinkSync(join(bin, 'nc.openbsd'), join(alt, 'nc'));
  symlinkSync(join(alt, 'nc'), join(bin, 'nc'));
  writeFileSync(join(bin, 'ssh'), 'ssh bytes');
  chmodSync(join(bin, 'ssh'), 0o755);
  writeFileSync(join(bin, 'notes.txt'), 'not a tool');
  symlinkSync(bin, join(dir, 'merged'));
  return { dir, bin };
}

test('the installed tools are found by name through their symlinks, each directory once', async () => {
  const { dir, bin } = host();
  const found = await findReferenceTools([bin, join(dir, 'merged'), join(dir, 'missing')], ['ssh', 'nc', 'nc.openbsd']);
  assert.deepEqual(found, [
    { path: join(bin, 'nc.openbsd'), resolved: join(bin, 'nc.openbsd') },
    { path: join(bin, 'nc'), resolved: join(bin, 'nc.openbsd') },
    { path: join(bin, 'ssh'), resolved: join(bin, 'ssh') },
  ]);
});

test("reference hashes are the resolved file's, reported under the name looked up, as the sensor's own", async () => {
  const { bin } = host();
  const reported: ExeHashed[] = [];
  const hasher = new ExeHasher({ counters: new Counters(), onHashed: (h) => reported.push(h) });
  const n = await requestReferenceHashes(hasher, [bin]);
  await hasher.settled();
  assert.ok(n >= 3);
  const nc = reported.find((r) => r.path === join(bin, 'nc'));
  assert.ok(nc, `nc reported (${JSON.stringify(reported)})`);
  assert.equal(nc.sha256, sha(join(bin, 'nc.openbsd')));
  assert.equal(nc.reference, true);
  assert.equal(nc.pid, process.pid);
  // The name listed first in KNOWN_TOOLS is reported last: the control plane keeps the newest per hash.
  const order = reported.map((r) => r.path);
  assert.ok(order.indexOf(join(bin, 'nc')) > order.indexOf(join(bin, 'nc.openbsd')));
  assert.equal(reported.find((r) => r.path === join(bin, 'ssh'))?.sha256, sha(join(bin, 'ssh')));
  assert.equal(hasher.hashed, 2, 'nc and nc.openbsd are one file, read once');
});

test('a reference report and an exec of the same path are both reported', async () => {
  const { bin } = host();
  const reported: ExeHashed[] = [];
  const hasher = new ExeHasher({ counters: new Counters(), onHashed: (h) => reported.push(h) });
  hasher.requestReference(join(bin, 'ssh'), join(bin, 'ssh'));
  hasher.request(4242, join(bin, 'ssh'), false, {});
  await hasher.settled();
  assert.deepEqual(
    reported.map((r) => [r.path, r.reference === true, r.pid]),
    [
      [join(bin, 'ssh'), true, process.pid],
      [join(bin, 'ssh'), false, 4242],
    ],
  );
});

test("reference hashes wait while an exec's image is queued: they never delay an exec's hash", async () => {
  const { bin } = host();
  const reported: ExeHashed[] = [];
  const hasher = new ExeHasher({ counters: new Counters(), onHashed: (h) => reported.push(h) });
  hasher.requestReference(join(bin, 'nc'), join(bin, 'nc.openbsd'));
  hasher.requestReference(join(bin, 'ssh'), join(bin, 'ssh'));
  hasher.request(4242, join(bin, 'nc.openbsd'), false, {});
  await hasher.settled();
  // The first reference was already being read; the exec's image comes before the second.
  assert.deepEqual(
    reported.map((r) => r.path),
    [join(bin, 'nc'), join(bin, 'nc.openbsd'), join(bin, 'ssh')],
  );
});

test("a large reference file steps aside between its chunks for an exec's image that came in meanwhile", async () => {
  const { bin } = host();
  const big = join(bin, 'node');
  writeFileSync(big, Buffer.alloc(8 * 1024 * 1024, 7));
  chmodSync(big, 0o755);
  const reported: ExeHashed[] = [];
  const hasher = new ExeHasher({ counters: new Counters(), onHashed: (h) => reported.push(h) });
  hasher.requestReference(big, big);
  hasher.request(4242, join(bin, 'ssh'), false, {});
  await hasher.settled();
  assert.deepEqual(
    reported.map((r) => r.path),
    [join(bin, 'ssh'), big],
  );
  assert.equal(reported[1]!.sha256, sha(big));
});
