import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeScriptDir } from './script-dir.js';
import { scratchDir } from '../testing/scratch-dir.js';

test('a new script folder clears those of dead sensors, and keeps live ones and unrelated files', () => {
  const parent = scratchDir('scriptdir');
  const proc = scratchDir('proc');
  mkdirSync(join(proc, '200'));
  for (const name of ['vigil-probes-100-aaaaaa', 'vigil-probes-200-bbbbbb', 'vigil-probes-cccccc', 'other-300-x']) {
    mkdirSync(join(parent, name));
    writeFileSync(join(parent, name, 'composed.bt'), 'BEGIN {}');
  }
  const dir = makeScriptDir(parent, proc);
  assert.match(dir, new RegExp(`vigil-probes-${process.pid}-\\w+$`));
  assert.ok(existsSync(dir));
  assert.deepEqual(
    readdirSync(parent).sort(),
    ['other-300-x', 'vigil-probes-200-bbbbbb', 'vigil-probes-cccccc', dir.split('/').at(-1)!].sort(),
  );
});
