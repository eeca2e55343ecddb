import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertFilter, EventFilter, type AlertQuery, type EventQuery } from './api.v1.js';

/** As a client sends a filter: each value given, as query-string text. */
const asQueryString = (q: object): Record<string, string> =>
  Object.fromEntries(
    Object.entries(q)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );

test('every event filter a client can state reads back the same from its query string', () => {
  const q: EventQuery = {
    kind: 'exec',
    comm: 'curl',
    pid: 42,
    host: 'gpu-1',
    job: 'slurm:4242',
    container: 'abc123',
    uid: 1000,
    exe: '/usr/bin/curl',
    failed: true,
    sinceNs: '1700000000000000000',
    untilNs: '1800000000000000000',
    limit: 5,
  };
  assert.deepEqual(EventFilter.parse(asQueryString(q)), q);
  assert.deepEqual(EventFilter.parse(asQueryString({ failed: false })), { failed: false, limit: 100 });
});

test('every alert filter a client can state reads back the same from its query string', () => {
  const q: AlertQuery = {
    sinceNs: '1700000000000000000',
    severity: 'high',
    rule: 'miner.exec',
    host: 'gpu-1',
    limit: 7,
  };
  assert.deepEqual(AlertFilter.parse(asQueryString(q)), q);
  assert.deepEqual(AlertFilter.parse({}), { limit: 100 });
});
