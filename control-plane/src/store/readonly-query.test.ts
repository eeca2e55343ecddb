/**
 * User SQL on the real engine (chDB): bounded in time, memory and rows with clear errors, and
 * a failed query leaves nothing behind for the next one (chDB hands a failed query's partial output
 * to the next query of its session), nor its settings for the control plane's own reads and inserts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testStore } from './test-store.js';
import { QueryError, readOnlyQuery, type QueryLimits } from './readonly-query.js';

const store = testStore('vigil-readonly-query-');
const small: QueryLimits = { maxSeconds: 1, maxMemoryBytes: 64 * 1024 ** 2, maxThreads: 1 };
const run = (sql: string) => readOnlyQuery(store().user, sql, small);

async function refused(sql: string, message: RegExp): Promise<void> {
  await assert.rejects(run(sql), (err: unknown) => err instanceof QueryError && !err.refused && message.test(err.message), sql);
}

test('a query past its time or memory fails with a clear error; the next query gets its own result only', async () => {
  await refused('SELECT count() FROM numbers(1000000000000)', /ran past the 1 s limit of a user query/);
  assert.deepEqual((await run('SELECT 42 AS x')).rows, [{ x: 42 }]);
  await refused('SELECT number, count() FROM numbers(100000000) GROUP BY number', /more than the 64 MiB a user query may use/);
  assert.deepEqual((await run('SELECT 43 AS x')).rows, [{ x: 43 }]);
  // Fails midway, after rows went out: what chDB carried into the next query's result.
  await refused('SELECT throwIf(number = 5000) FROM numbers(1000000)', /query failed: .*throwIf/);
  assert.deepEqual((await run('SELECT 44 AS x')).rows, [{ x: 44 }]);
});

test('queued behind a failing query, another caller gets its own result', async () => {
  const [bad, good] = await Promise.allSettled([run('SELECT throwIf(number = 5000) FROM numbers(1000000)'), run('SELECT 45 AS x')]);
  assert.equal(bad.status, 'rejected');
  assert.deepEqual(good.status === 'fulfilled' && good.value.rows, [{ x: 45 }]);
});

test('a result past the row bound comes back cut and flagged, not refused', async () => {
  const many = await run('SELECT number FROM numbers(100000)');
  assert.equal(many.rows.length, 10_000);
  assert.equal(many.rowsTruncated, true);
  const whole = await run('SELECT number FROM numbers(10000)');
  assert.equal(whole.rows.length, 10_000);
  assert.equal(whole.rowsTruncated, false);
});

test("user queries' read-only mode and limits stay in their session: the control plane's own reads and inserts are not bound by them", async () => {
  await assert.rejects(run('INSERT INTO schema_migrations (version, name) VALUES (999, \'x\')'), (e: unknown) => e instanceof QueryError && e.refused);
  const rs = await store().reader.query({ query: 'SELECT number FROM numbers(50000)', format: 'JSONEachRow' });
  assert.equal((await rs.json()).length, 50_000);
  await store().writer.insert({ table: 'schema_migrations', values: [{ version: 999, name: 'probe' }], format: 'JSONEachRow' });
  const back = await run('SELECT name FROM schema_migrations WHERE version = 999');
  assert.deepEqual(back.rows, [{ name: 'probe' }]);
});
