/** Bad places to keep data are a clear one-line error and a non-zero exit, never a crash loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, freePort, tempDir } from '../support/harness.js';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
const oneLine = (s: string) => s.replace(/\n\s*›\s+/g, ' ');

test('vigil up with a data directory that cannot exist', async () => {
  const r = run([
    'up',
    '--data-dir',
    '/dev/null/vigil',
    '--api-port',
    String(await freePort()),
    '--nats-port',
    String(await freePort()),
  ]);
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /data-dir: .*ENOTDIR.*\/dev\/null\/vigil/);
});

test('vigil control-plane with a file where its data directory should be', async () => {
  const f = join(tempDir('clierr'), 'file');
  writeFileSync(f, 'x');
  const r = run([
    'control-plane',
    '--data-dir',
    join(f, 'ch'),
    '--nats',
    'nats://127.0.0.1:1',
    '--api-port',
    String(await freePort()),
  ]);
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /storage: cannot create the data directory .*file\/ch: ENOTDIR/);
});

test('vigil sensor with a spool directory it cannot create', async () => {
  const r = run(['sensor', '--nats', 'nats://127.0.0.1:1', '--spool-dir', '/dev/null/spool', '--probe', 'exec']);
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /nats: cannot create the spool directory \/dev\/null\/spool/);
});
