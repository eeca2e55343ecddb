import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { advertisedNatsUrl } from './stack.js';

test('enrolling sensors are told the NATS URL started here, or this machine name for a wildcard listener', () => {
  assert.equal(advertisedNatsUrl('nats://10.0.0.5:4222', '10.0.0.5'), 'nats://10.0.0.5:4222');
  assert.equal(advertisedNatsUrl('nats://127.0.0.1:4222', undefined), 'nats://127.0.0.1:4222');
  assert.equal(advertisedNatsUrl('nats://127.0.0.1:4222', '0.0.0.0'), `nats://${hostname()}:4222`);
  assert.equal(advertisedNatsUrl('nats://[::1]:4333', '::'), `nats://${hostname()}:4333`);
});
