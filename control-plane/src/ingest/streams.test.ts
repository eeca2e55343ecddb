/**
 * The events stream is sized from the free space where it lives when not told: nats-server refuses a
 * stream larger than 75% of its disk's free space, so a fixed 8 GiB kept `vigil up` from starting
 * on a disk with less than about 11 GB free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STREAM_LIMITS, sizeEventStream, STREAM_MIN_BYTES } from './streams.js';

const GiB = 1024 ** 3;
const free = (bytes: number) => () => bytes;

test('a size given is used as it is', () => {
  assert.equal(sizeEventStream(5 * 1024 * 1024, '/d', free(1)).maxBytes, 5 * 1024 * 1024);
});

test('a quarter of the free space, at most the default and at least the floor', () => {
  assert.equal(sizeEventStream(undefined, '/d', free(100 * GiB)).maxBytes, DEFAULT_STREAM_LIMITS.maxBytes);
  const small = sizeEventStream(undefined, '/d', free(6 * GiB));
  assert.equal(small.maxBytes, 1.5 * GiB);
  assert.match(small.why, /quarter of the 6144 MiB free in \/d/);
  assert.equal(sizeEventStream(undefined, '/d', free(10 * 1024 * 1024)).maxBytes, STREAM_MIN_BYTES);
});

test('a size that fits what nats-server reserves against free space (75% of it) on any disk above the floor', () => {
  for (const space of [2 * GiB, 10 * GiB, 11 * GiB, 40 * GiB])
    assert.ok(sizeEventStream(undefined, '/d', free(space)).maxBytes <= 0.75 * space);
});

test('the default when the free space is unknown, saying why', () => {
  const s = sizeEventStream(undefined, '/nonexistent', () => {
    throw new Error('ENOENT');
  });
  assert.equal(s.maxBytes, DEFAULT_STREAM_LIMITS.maxBytes);
  assert.match(s.why, /unknown \(ENOENT\)/);
  assert.equal(sizeEventStream(undefined, undefined).maxBytes, DEFAULT_STREAM_LIMITS.maxBytes);
});
