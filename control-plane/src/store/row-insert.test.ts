/**
 * Rows inserted as JSONEachRow (alerts, heartbeats) on the real engine (chDB): a lone surrogate in a
 * string, which a hostile publisher can put in an event and so in its alert, is stored as U+FFFD
 * instead of failing the insert (which the alert sink retries, holding up every alert behind it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testStore } from './test-store.js';
import { insertRows } from './row-insert.js';
import { wellFormedJson } from './well-formed-json.js';

const store = testStore('vigil-row-insert-');

test('lone surrogates in row strings and in JSON kept in a column are stored as U+FFFD; the insert goes through', async () => {
  const hostile = { exe: '/tmp/x\ud800', argv: ['a\udfffb', 'ok 😀'] };
  const row = (id: string, reason: string) => ({
    id,
    host: 'h',
    ts_ns: '1795468112111765240',
    last_ts_ns: '1795468112111765240',
    rule_id: 'miner.exec',
    severity: 'high',
    severity_n: 3,
    source: 'builtin',
    title: 't',
    reason,
    pid: 7,
    comm: 'x\ud800',
    exe: hostile.exe,
    count: 1,
    alert: wellFormedJson({ id, proc: hostile }),
  });
  await insertRows(store().writer, 'alerts', [
    row('lone-1', `${hostile.exe} started with -o stratum+tcp://p:3333`),
    row('lone-2', 'plain'),
  ]);
  const rs = await store().reader.query({
    query: "SELECT id, reason, comm, exe, alert FROM alerts WHERE id LIKE 'lone-%' ORDER BY id",
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ id: string; reason: string; comm: string; exe: string; alert: string }>();
  assert.deepEqual(
    rows.map((r) => r.id),
    ['lone-1', 'lone-2'],
  );
  assert.equal(rows[0]!.reason, '/tmp/x\ufffd started with -o stratum+tcp://p:3333');
  assert.equal(rows[0]!.comm, 'x\ufffd');
  assert.deepEqual(JSON.parse(rows[0]!.alert), {
    id: 'lone-1',
    proc: { exe: '/tmp/x\ufffd', argv: ['a\ufffdb', 'ok 😀'] },
  });
  assert.equal(rows[1]!.reason, 'plain');
});
