import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsOptions } from './nats-options.js';

test("a cluster's URLs, separated by commas, become the client's server list", () => {
  assert.deepEqual(natsOptions('nats://a:4222, nats://b:4222,nats://c:4222', {}).servers, [
    'nats://a:4222',
    'nats://b:4222',
    'nats://c:4222',
  ]);
  assert.equal(natsOptions('nats://a:4222', {}).servers, 'nats://a:4222');
});
