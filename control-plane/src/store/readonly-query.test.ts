/**
 * User SQL on the real engine (chDB): bounded in time, memory, rows, result bytes and queued API
 * queries with clear errors, and
 * a failed query leaves nothing behind for the next one (chDB hands a failed query's partial output
 * to the next query of its session), nor its settings for the control plane's own reads and inserts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testStore } from './test-store.js';
import { QueryBusyError, QueryError, readOnlyQuery, type QueryLimits } from './readonly-query.js';

const store = testStore('vigil-readonly-query-');
const small: QueryLimits = {
  maxSeconds: 1,
  maxMemoryBytes: 64 * 1024 ** 2,
  maxThreads: 1,
  maxResultBytes: 1024 ** 2,
  maxPending: 100,
};
const run = (sql: string) => readOnlyQuery(store().user, sql, small);

async function refused(sql: string, message: RegExp): Promise<void> {
  await assert.rejects(
    run(sql),
    (err: unknown) => err instanceof QueryError && !err.refused && message.test(err.message),
    sql,
  );
}

test('a query past its time or memory fails with a clear error; the next query gets its own result only', async () => {
  await refused('SELECT count() FROM numbers(1000000000000)', /ran past the 1 s limit of a user query/);
  assert.deepEqual((await run('SELECT 42 AS x')).rows, [{ x: 42 }]);
  await refused(
    'SELECT number, count() FROM numbers(100000000) GROUP BY number',
    /more than the 64 MiB a user query may use/,
  );
  assert.deepEqual((await run('SELECT 43 AS x')).rows, [{ x: 43 }]);
  // Fails midway, after rows went out: what chDB carried into the next query's result.
  await refused('SELECT throwIf(number = 5000) FROM numbers(1000000)', /query failed: .*throwIf/);
  assert.deepEqual((await run('SELECT 44 AS x')).rows, [{ x: 44 }]);
});

test('queued behind a failing query, another caller gets its own result', async () => {
  const [bad, good] = await Promise.allSettled([
    run('SELECT throwIf(number = 5000) FROM numbers(1000000)'),
    run('SELECT 45 AS x'),
  ]);
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
  await assert.rejects(
    run("INSERT INTO schema_migrations (version, name) VALUES (999, 'x')"),
    (e: unknown) => e instanceof QueryError && e.refused,
  );
  const rs = await store().reader.query({ query: 'SELECT number FROM numbers(50000)', format: 'JSONEachRow' });
  assert.equal((await rs.json()).length, 50_000);
  await store().writer.insert({
    table: 'schema_migrations',
    values: [{ version: 999, name: 'probe' }],
    format: 'JSONEachRow',
  });
  const back = await run('SELECT name FROM schema_migrations WHERE version = 999');
  assert.deepEqual(back.rows, [{ name: 'probe' }]);
});

test('a result past the byte budget comes back cut at it and flagged, even when the engine holds it as one constant', async () => {
  // The limits stay with the session (readonly forbids changing them): this file's are 1 MiB.
  for (const q of [
    "SELECT repeat('x', 10000) AS s FROM numbers(5000)",
    'SELECT randomPrintableASCII(10000) AS s FROM numbers(5000)',
  ]) {
    const r = await run(q);
    assert.equal(r.rowsTruncated, true, q);
    assert.deepEqual(r.cut, { by: 'bytes', limit: 1024 ** 2 }, q);
    assert.ok(r.rows.length > 0 && r.rows.length <= 104, `${q}: ${r.rows.length} rows of 10 kB in 1 MiB`);
    assert.deepEqual(r.columns, [{ name: 's', type: 'String' }]);
  }
  assert.deepEqual((await run('SELECT 47 AS x')).rows, [{ x: 47 }], 'the session is clean after a cut');
});

test('API queries past maxPending are refused as busy at once, with the count; SQL detections still wait their turn', async () => {
  const two: QueryLimits = { ...small, maxPending: 2 };
  const heavy = () => readOnlyQuery(store().user, 'SELECT count() FROM numbers(1000000000000)', two);
  const running = [heavy(), heavy()].map((p) =>
    p.then(
      () => 'done',
      (e: Error) => e.message,
    ),
  );
  await assert.rejects(
    readOnlyQuery(store().user, 'SELECT 1', two),
    (e: unknown) =>
      e instanceof QueryBusyError && /busy: 2 user queries are running or waiting, at most 2/.test(e.message),
  );
  const detection = readOnlyQuery(store().user, 'SELECT 48 AS x', two, { source: 'detection' });
  for (const r of await Promise.all(running)) assert.match(r, /ran past the 1 s limit/);
  assert.deepEqual((await detection).rows, [{ x: 48 }]);
  assert.deepEqual(
    (await readOnlyQuery(store().user, 'SELECT 49 AS x', two)).rows,
    [{ x: 49 }],
    'room again once they are done',
  );
});
