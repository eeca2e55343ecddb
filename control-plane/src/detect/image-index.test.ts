import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageIndex } from './image-index.js';
import { alwaysFires, exec } from './testing.js';

test('the image index skips detections that named other images, and keeps load order for the rest', () => {
  const index = new ImageIndex();
  index.set(
    [alwaysFires('a'), alwaysFires('b', ['curl', 'wget']), alwaysFires('c'), alwaysFires('d', ['curl'])].map(
      (detection) => ({ detection, source: 'builtin' as const, author: null, origin: 'test' }),
    ),
  );
  const fired = (exe: string) => index.candidates(exec([exe], {}, exe)).map((l) => l.detection.id);
  assert.deepEqual(fired('/usr/bin/curl'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(fired('/opt/X/CURL'), ['a', 'b', 'c', 'd'], 'basenames compare in lower case, as Sigma does');
  assert.deepEqual(fired('/usr/bin/wget'), ['a', 'b', 'c']);
  assert.deepEqual(fired('/usr/bin/curl2'), ['a', 'c']);
});
