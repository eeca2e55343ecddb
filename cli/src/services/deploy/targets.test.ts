import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTarget, TargetError, targetsFrom } from './targets.js';

test('a target is HOST, USER@HOST, HOST:PORT or [v6]:PORT', () => {
  assert.deepEqual(parseTarget('gpu-1'), { spec: 'gpu-1', destination: 'gpu-1' });
  assert.deepEqual(parseTarget('root@gpu-1:2222'), { spec: 'root@gpu-1:2222', destination: 'root@gpu-1', port: 2222 });
  assert.deepEqual(parseTarget('[::1]:22'), { spec: '[::1]:22', destination: '::1', port: 22 });
  assert.deepEqual(parseTarget('10.0.0.7'), { spec: '10.0.0.7', destination: '10.0.0.7' });
});

test('what ssh would read as an option or a second argument is no target', () => {
  for (const bad of ['-oProxyCommand=x', 'a b', 'host;rm', 'h:0', 'h:70000', '', '"h"'])
    assert.throws(() => parseTarget(bad), TargetError, bad);
});

test('a hosts file gives one host a line, comments and repeats left out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hosts-'));
  const file = join(dir, 'hosts');
  writeFileSync(file, '# Slurm partition gpu\ngpu-01\n  gpu-02:2222  # odd port\n\ngpu-01\n');
  assert.deepEqual(
    targetsFrom(['gpu-03'], file).map((t) => t.spec),
    ['gpu-03', 'gpu-01', 'gpu-02:2222'],
  );
  assert.throws(() => targetsFrom([], join(dir, 'missing')), /cannot read the hosts file/);
  assert.throws(() => targetsFrom([]), /name at least one host/);
  rmSync(dir, { recursive: true });
});
