import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { ExeHashes } from './exe-hashes.js';
import { exec, proc } from './testing.js';

const SSH = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const exeEvent = (path: string, sha256: string, host = 'h1'): EventV1 => {
  const { id, v, ts, proc: p } = exec(['x']);
  return {
    id,
    v,
    host,
    ts,
    proc: p,
    kind: 'exe',
    exe: { path, sha256, size: 1, recentlyWritten: true, inWritableDir: true },
  };
};

test('a process is known by the hash reported for its path on its host, its own hash first', () => {
  const hashes = new ExeHashes();
  hashes.observe(exeEvent('/tmp/other-name', SSH));
  const copy = proc({ exe: '/tmp/other-name' });
  assert.equal(hashes.of('h1', copy), SSH);
  assert.equal(hashes.of('h2', copy), undefined, 'per host');
  assert.equal(hashes.of('h1', { ...copy, exeHash: OTHER }), OTHER);
  hashes.observe(exeEvent('/tmp/other-name', OTHER));
  assert.equal(hashes.of('h1', copy), OTHER, 'a changed file is reported again and wins');
  hashes.observe(exec(['y'], { exe: '/usr/bin/y', exeHash: SSH }));
  assert.equal(hashes.of(exec(['y']).host, proc({ exe: '/usr/bin/y' })), SSH, 'from proc.exeHash on any event');
});

test('paths per host are bounded, the oldest going first', () => {
  const hashes = new ExeHashes(2);
  for (const p of ['/a', '/b', '/c']) hashes.observe(exeEvent(p, SSH));
  assert.equal(hashes.of('h1', proc({ exe: '/a' })), undefined);
  assert.equal(hashes.of('h1', proc({ exe: '/c' })), SSH);
});

test('toolOf: a renamed copy of the host ssh is ssh, known from the reference report or a run of it', () => {
  const hashes = new ExeHashes();
  const copy = exec(['kworker'], { exe: '/tmp/.x/kworker', exeHash: SSH }).proc;
  assert.equal(hashes.toolOf('h1', copy), undefined);
  const ref = exec(['ssh'], {}, '/usr/bin/ssh');
  hashes.observe({
    ...ref,
    kind: 'exe',
    exe: { path: '/usr/bin/ssh', sha256: SSH, size: 1, recentlyWritten: false, inWritableDir: false, reference: true },
  } as never);
  assert.equal(hashes.toolOf('h1', copy), 'ssh');
  // Tool hashes are per host.
  assert.equal(hashes.toolOf('h2', copy), undefined);
  // A copy in /tmp does not name a tool: its hash stays unknown as a tool.
  const h2 = new ExeHashes();
  h2.observe(exec(['ssh'], { exe: '/tmp/ssh', exeHash: OTHER }));
  assert.equal(h2.toolOf('h1', { ...copy, exeHash: OTHER }), undefined);
  h2.observe(exec(['ssh'], { exe: '/usr/bin/ssh', exeHash: OTHER }));
  assert.equal(h2.toolOf('h1', { ...copy, exeHash: OTHER }), 'ssh');
});
