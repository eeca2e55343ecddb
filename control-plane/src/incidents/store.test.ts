import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamClient } from 'nats';
import { pino } from 'pino';
import { SEVERITIES } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';
import { testStore } from '../store/test-store.js';
import { IncidentStore } from './store.js';

const store = testStore('vigil-incident-store-');
// list() reads storage only; the stream is what store() publishes to.
const noStream = {} as JetStreamClient;

// Recent activity: the table's TTL drops incidents idle for 180 days.
const now = BigInt(Date.now()) * 1_000_000n;
const rows = [
  { id: 'a', host: 'h1', job: 'j1', status: 'open', severity: 'critical', rules: ['miner.exec'], last: now },
  { id: 'b', host: 'h1', job: '', status: 'resolved', severity: 'medium', rules: ['shell.reverse'], last: now - 1n },
  {
    id: 'c',
    host: 'h2',
    job: 'j2',
    status: 'acknowledged',
    severity: 'high',
    rules: ['miner.exec', 'x'],
    last: now - 2n,
  },
] as const;

test('the incident list filters on status, least severity, host, job, rule and activity, newest first', async () => {
  const ch = store();
  await insertRows(
    ch.writer,
    'incidents',
    rows.map((r) => ({
      id: r.id,
      version: 1,
      host: r.host,
      job: r.job,
      status: r.status,
      severity: r.severity,
      severity_n: SEVERITIES.indexOf(r.severity),
      title: r.id,
      first_ts_ns: (now - 10n).toString(),
      last_ts_ns: r.last.toString(),
      rules: r.rules,
      incident: JSON.stringify({ id: r.id }),
    })),
  );
  const incidents = new IncidentStore(ch.writer, ch.reader, noStream, pino({ level: 'silent' }));
  const ids = async (f: Parameters<IncidentStore['list']>[0]) => (await incidents.list(f)).map((i) => i.id);
  assert.deepEqual(await ids({ limit: 10 }), ['a', 'b', 'c']);
  assert.deepEqual(await ids({ limit: 10, status: 'resolved' }), ['b']);
  assert.deepEqual(await ids({ limit: 10, severity: 'high' }), ['a', 'c']);
  assert.deepEqual(await ids({ limit: 10, host: 'h1' }), ['a', 'b']);
  assert.deepEqual(await ids({ limit: 10, job: 'j2' }), ['c']);
  assert.deepEqual(await ids({ limit: 10, rule: 'miner.exec' }), ['a', 'c']);
  assert.deepEqual(await ids({ limit: 10, sinceNs: (now - 1n).toString() }), ['a', 'b']);
  assert.deepEqual(await ids({ limit: 10, host: 'h1', severity: 'critical', rule: 'miner.exec' }), ['a']);
  assert.deepEqual(await ids({ limit: 1 }), ['a']);
});
