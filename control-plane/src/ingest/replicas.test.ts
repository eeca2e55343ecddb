import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerInfo } from 'nats';
import { streamReplicas } from './replicas.js';

const info = (over: Partial<ServerInfo>): ServerInfo => ({ server_id: 'x', version: '2.9.10', ...over }) as ServerInfo;

test('a single server gets R1', () => {
  assert.equal(streamReplicas(info({})).replicas, 1);
  assert.equal(streamReplicas(undefined).replicas, 1);
});

test('a cluster of three servers or more gets R3', () => {
  const urls = ['10.0.0.1:4222', '10.0.0.2:4222', '10.0.0.3:4222'];
  assert.equal(streamReplicas(info({ cluster: 'vigil', connect_urls: urls })).replicas, 3);
  assert.equal(streamReplicas(info({ cluster: 'vigil', connect_urls: [...urls, '10.0.0.4:4222'] })).replicas, 3);
});

test('a cluster that gossips fewer than three servers gets R1, and says why', () => {
  const r = streamReplicas(
    info({ cluster: 'vigil', connect_urls: ['10.0.0.1:4222', '10.0.0.1:4222', '10.0.0.2:4222'] }),
  );
  assert.equal(r.replicas, 1);
  assert.match(r.why, /2 server/);
});
