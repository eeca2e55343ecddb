import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationToMs, OutputConfig, VigilConfigV1 } from './config-file.js';

test('durations as people write them, in milliseconds', () => {
  assert.equal(durationToMs('500ms'), 500);
  assert.equal(durationToMs('90s'), 90_000);
  assert.equal(durationToMs('15m'), 900_000);
  assert.equal(durationToMs('12h'), 43_200_000);
  assert.equal(durationToMs('7d'), 604_800_000);
  assert.throws(() => durationToMs('5 minutes'));
});

test('an output settles incidents for 5s unless told', () => {
  const o = OutputConfig.parse({ type: 'file', name: 'f', path: '/tmp/x' });
  assert.equal(o.settle, '5s');
  assert.equal(o.send, 'incidents');
});

test('two outputs of one name are refused (they would share one consumer)', () => {
  const file = { type: 'file', name: 'f', path: '/tmp/x' };
  const r = VigilConfigV1.safeParse({ outputs: [file, { ...file, path: '/tmp/y' }] });
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0]!.message, /a name of its own/);
  assert.deepEqual(r.error!.issues[0]!.path, ['outputs']);
});
