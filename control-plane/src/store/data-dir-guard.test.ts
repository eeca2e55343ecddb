/** The embedded engine's data directory deleted or swapped under it is noticed (see DataDirGuard). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirGuard } from './data-dir-guard.js';

test('sound while the directory and its engine folders stay; not once one is deleted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guard-'));
  const guard = new DataDirGuard(dir);
  assert.equal(guard.problem(), null);
  mkdirSync(join(dir, 'store'));
  assert.equal(guard.problem(), null);
  rmSync(join(dir, 'store'), { recursive: true });
  assert.match(guard.problem() ?? '', /lost .*store \(deleted\?\)/);
  rmSync(dir, { recursive: true });
});

test('a directory replaced by another of the same name is noticed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guard-'));
  const guard = new DataDirGuard(dir);
  renameSync(dir, `${dir}.old`);
  mkdirSync(dir);
  assert.match(guard.problem() ?? '', /was replaced/);
  rmSync(dir, { recursive: true });
  rmSync(`${dir}.old`, { recursive: true });
});
