import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurationError, parseDuration, timeToNs } from './duration.js';

test('a flag duration is read in the units vigil.yaml uses, fractions and spaces allowed', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration(' 2 w '), 1_209_600);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.throws(() => parseDuration('5 minutes'), DurationError);
  assert.throws(() => parseDuration('-1m'), DurationError);
});

test('a time bound is a duration back from now or a date-time with its zone', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(timeToNs('10m', now), ((BigInt(now) - 600_000n) * 1_000_000n).toString());
  assert.equal(timeToNs('2026-01-01T00:00:00Z', now), (BigInt(now) * 1_000_000n).toString());
  assert.throws(() => timeToNs('2026-01-01 00:00', now), DurationError);
});
