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
