/**
 * The API answers in the shapes @vigil/schema defines (api.v1.ts), field for field: each answer is
 * what the schema reads back from it, so a field the control plane adds or renames without the
 * schema (which the CLI and the tests read) fails here. A real control plane: real NATS, real chDB.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import type { RunningControlPlane } from '@vigil/control-plane';
import { DetectionsReport, heartbeatSubject, nowNs, QueryResult, StatusReport, type HeartbeatV1 } from '@vigil/schema';
import { API_TOKEN, authHeaders, freePort, vigilAsync, waitFor } from '../support/harness.js';
import { startIngestStack } from '../support/ingest-stack.js';

const HOST = 'contract-host';
let nc: NatsConnection;
let cp: RunningControlPlane;
let stack: Awaited<ReturnType<typeof startIngestStack>>;

before(async () => {
  stack = await startIngestStack('api-contract', {
    api: { host: '127.0.0.1', port: await freePort(), token: API_TOKEN },
  });
  ({ nc, cp } = stack);
});

after(async () => {
  await stack?.stop();
});

const get = async (path: string, init: RequestInit = {}): Promise<unknown> => {
  const res = await fetch(`${cp.apiUrl}${path}`, {
    ...init,
    headers: { ...authHeaders, 'content-type': 'application/json' },
  });
  assert.equal(res.status, 200, path);
  return res.json();
};

test('the status, with a sensor in it, is a StatusReport field for field, over HTTP and through `vigil status --json`', async () => {
  const hb: HeartbeatV1 = {
    v: 1,
    host: HOST,
    ts: nowNs(),
    sensorVersion: 't',
    startedTs: '1',
    counters: {
      recordsRead: 1,
      eventsPublished: 1,
      eventsDropped: 0,
      lostEvents: 0,
      rejects: {},
      queueDepth: 0,
      processCacheSize: 1,
    },
    probes: [{ name: 'exec', state: 'running', restarts: 0, lostEvents: 0, lastError: null }],
  };
  nc.publish(heartbeatSubject(HOST), JSON.stringify(hb));
  const body = await waitFor('the heartbeat in the status', async () => {
    const s = (await get('/api/v1/status')) as { sensors: { host: string }[] };
    return s.sensors.some((x) => x.host === HOST) ? s : null;
  });
  assert.deepEqual(StatusReport.parse(body), body);
  const cli = JSON.parse((await vigilAsync(cp.apiUrl, ['status', '--json'])).stdout) as unknown;
  assert.deepEqual(StatusReport.parse(cli), cli);
});

test('the detections report is a DetectionsReport field for field', async () => {
  const body = await get('/api/v1/detections');
  assert.deepEqual(DetectionsReport.parse(body), body);
});

test('a query result, whole and cut, is a QueryResult field for field', async () => {
  const whole = await get('/api/v1/query', { method: 'POST', body: JSON.stringify({ sql: 'SELECT 1 AS n' }) });
  assert.deepEqual(QueryResult.parse(whole), whole);
  const cut = await get('/api/v1/query', {
    method: 'POST',
    body: JSON.stringify({ sql: 'SELECT number FROM numbers(20000)' }),
  });
  assert.deepEqual(QueryResult.parse(cut), cut);
  assert.equal((cut as QueryResult).rowsTruncated, true);
});
