import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget, TargetError } from './targets.js';

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
