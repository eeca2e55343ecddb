/**
 * What user SQL may not do, tried on the real engine (chDB) through readOnlyQuery, the way
 * `vigil query` and SQL detections run it: no file written, no file read, no other session's
 * queries, no settings changed, no statement but one SELECT; obfuscated forms included (case,
 * comments, back-quotes, aliases, subqueries, CTEs, UNION arms, lambdas, line breaks in names).
 * Everyday queries still run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { testStore } from './test-store.js';
import { QueryError, readOnlyQuery, USER_QUERY_LIMITS, type QueryLimits } from './readonly-query.js';

const store = testStore('vigil-sql-guard-');
const limits: QueryLimits = { ...USER_QUERY_LIMITS, maxSeconds: 5, maxThreads: 1, maxPending: 100 };
const run = (sql: string) => readOnlyQuery(store().user, sql, limits);

const dir = mkdtempSync(join(tmpdir(), 'vigil-sql-guard-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'vigil-secret-7f3a9c';
const secret = join(dir, 'secret');
writeFileSync(secret, `${SECRET}\n`);
let n = 0;
const out = () => join(dir, `out-${n++}`);

/** Rejected before it ran: refused (403) for what user SQL may not do, or a syntax error (400). */
async function rejected(sql: string, refusedToo = true): Promise<void> {
  await assert.rejects(
    run(sql),
    (err: unknown) => {
      assert.ok(err instanceof QueryError, `${sql}: ${String(err)}`);
      if (refusedToo) {
        assert.equal(err.refused, true, `${sql} → ${err.message}`);
        assert.match(err.message, /read-only/);
      }
      assert.ok(!err.message.includes(SECRET), `${sql}: the error carries the file's content`);
      return true;
    },
    sql,
  );
}

test('INTO OUTFILE, in every spelling, is refused and writes nothing', async () => {
  for (const q of [
    `SELECT 'x' INTO OUTFILE '${out()}'`,
    `SELECT 'x' INTO OUTFILE '${out()}' TRUNCATE`,
    `SELECT 'x' INTO OUTFILE '${out()}' APPEND`,
    `SELECT 'x' INTO OUTFILE '${out()}' COMPRESSION 'gzip' LEVEL 3`,
    `SELECT 'x' INTO OUTFILE '${out()}' AND STDOUT`,
    `select 'x' into outfile '${out()}' format CSV`,
    `SELECT 'x' /* c */ INTO -- c\n  OUTFILE\t'${out()}'`,
    `(SELECT 'x') INTO OUTFILE '${out()}'`,
    `SELECT 1 UNION ALL SELECT 'x' INTO OUTFILE '${out()}'`,
    `SELECT 1 EXCEPT SELECT 2 INTO OUTFILE '${out()}'`,
    `WITH a AS (SELECT 'x') SELECT * FROM a INTO OUTFILE '${out()}'`,
    `SELECT * FROM (SELECT 'x') INTO OUTFILE '${out()}' SETTINGS max_threads = 1`,
  ])
    await rejected(q);
  // Not one SELECT at all: the engine's parser rejects these before anything runs.
  for (const q of [
    `SELECT 1; SELECT 'x' INTO OUTFILE '${out()}'`,
    `SELECT 1;\nINSERT INTO FUNCTION file('${out()}', 'TSV') SELECT 'x'`,
    `INSERT INTO FUNCTION file('${out()}', 'TSV') SELECT 'x'`,
    `INSERT INTO schema_migrations SELECT 1, 'x' INTO OUTFILE '${out()}'`,
  ])
    await rejected(q, false);
  assert.deepEqual(readdirSync(dir), ['secret'], 'no file written');
});

test('file() and table functions that reach files, hosts or other tables are refused; the content never comes back', async () => {
  for (const q of [
    `SELECT file('${secret}')`,
    `SELECT FILE('${secret}')`,
    `SELECT File('${secret}') AS x`,
    `SELECT \`file\`('${secret}')`,
    `SELECT length(file('${secret}'))`,
    `SELECT format('{}', file('${secret}'))`,
    `SELECT * FROM (SELECT * FROM (SELECT file('${secret}')))`,
    `WITH file('${secret}') AS x SELECT x`,
    `WITH a AS (SELECT file('${secret}') AS x) SELECT x FROM a`,
    `SELECT 1 UNION ALL SELECT file('${secret}')`,
    `SELECT arrayMap(p -> file(p), ['${secret}'])`,
    `SELECT 1 WHERE 'x' IN (SELECT file('${secret}'))`,
    `SELECT /* file */ fIlE( /* */ '${secret}' )`,
    `SELECT * FROM file('${secret}', 'LineAsString')`,
    `SELECT * FROM FILE('${secret}', 'LineAsString')`,
    `SELECT * FROM view(SELECT file('${secret}'))`,
    `SELECT * FROM filesystem('${dir}')`,
    `SELECT * FROM executable('cat ${secret}', 'TSV', 'x String')`,
    `SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')`,
    `SELECT * FROM s3('http://127.0.0.1:1/x', 'LineAsString')`,
    `SELECT * FROM remote('127.0.0.1', system.one)`,
    `SELECT * FROM merge('system', '^processes$')`,
    `SELECT * FROM input('x String')`,
    `SELECT * FROM mysql('127.0.0.1:1', 'd', 't', 'u', 'p')`,
    `SELECT * FROM postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')`,
    `SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'TSV', 'x String')`,
    `SELECT * FROM azureBlobStorage('http://127.0.0.1:1', 'c', 'b')`,
    `SELECT * FROM jdbc('x', 'y', 'z')`,
    `SELECT * FROM odbc('x', 'y', 'z')`,
    `SELECT * FROM dictionary('d')`,
    `SELECT * FROM loop(numbers(1))`,
  ])
    await rejected(q);
});

test('statements other than one SELECT, settings changes, and host-reaching functions are refused', async () => {
  for (const q of [
    "KILL QUERY WHERE query LIKE 'INSERT%'",
    'kill query where 1 sync',
    'SYSTEM FLUSH LOGS',
    'SET readonly = 0',
    "INSERT INTO schema_migrations (version, name) VALUES (998, 'x')",
    'ALTER TABLE events DELETE WHERE 1',
    'CREATE TABLE pwned (x UInt8) ENGINE = Memory',
    'DROP TABLE events',
    'TRUNCATE TABLE events',
    'EXPLAIN SELECT 1',
    'SELECT * FROM (EXPLAIN AST SELECT 1)',
    'SHOW PROCESSLIST',
    'SELECT 1 SETTINGS readonly = 0',
    'SELECT * FROM (SELECT 1 SETTINGS max_threads = 64)',
    "SELECT getServerSetting('path')",
    "SELECT getSetting('readonly'), getMacro('x')",
    "SELECT dictGet('d', 'a', toUInt64(1))",
    'SELECT sleep(3)',
    'SELECT sleepEachRow(1) FROM numbers(5)',
    "SELECT aiGenerate('x')",
    'SELECT addressToLine(toUInt64(1))',
    "SELECT __getScalar('x')",
    "SELECT joinGet('j', 'a', 1)",
    "SELECT generateSerialID('x')",
    "SELECT getClientHTTPHeader('x')",
    `SELECT catboostEvaluate('${secret}', 1)`,
  ])
    await rejected(q);
});

test('FORMAT, INTO OUTFILE, several statements and an empty query are each told apart', async () => {
  const told = async (sql: string, refused: boolean, message: RegExp) => {
    await assert.rejects(run(sql), (err: unknown) => {
      assert.ok(err instanceof QueryError, `${sql}: ${String(err)}`);
      assert.equal(err.refused, refused, `${sql} → ${err.message}`);
      assert.match(err.message, message, sql);
      return true;
    });
  };
  for (const q of [
    'SELECT 1 FORMAT TSV',
    'select 1 as a format JSON',
    'SELECT 1 UNION ALL SELECT 2 FORMAT CSV',
    'SELECT 1 FORMAT CSV SETTINGS readonly = 0',
  ]) {
    await told(
      q,
      true,
      /^refused: FORMAT is not allowed: the API answers rows as JSON, and `vigil query --format table\|csv\|tsv\|json` renders them$/,
    );
  }
  await told(
    `SELECT 1 INTO OUTFILE '${out()}' FORMAT CSV`,
    true,
    /^refused: queries are read-only: INTO OUTFILE is not allowed/,
  );
  for (const q of ['SELECT 1; SELECT 2', 'SELECT 1;SELECT 2;', 'SELECT 1; KILL QUERY WHERE 1'])
    await told(q, false, /^query failed: one statement per query/);
  for (const q of ['', '   ', '-- only a comment\n', '/* */'])
    await told(q, false, /^query failed: the query is empty$/);
  // The messages are picked from the canonical text, never instead of the parse: a string holding the words stays a query.
  assert.deepEqual((await run("SELECT 'x\\nFORMAT CSV\\nINTO OUTFILE ''z''' AS `FORMAT`")).rows, [
    { FORMAT: "x\nFORMAT CSV\nINTO OUTFILE 'z'" },
  ]);
});

test("other sessions' queries, logs and settings in system tables are refused, however named", async () => {
  for (const q of [
    'SELECT query FROM system.processes',
    'SELECT * FROM system.query_log',
    'SELECT * FROM SYSTEM.PROCESSES',
    'SELECT * FROM `system`.`processes`',
    'SELECT * FROM system.settings',
    'SELECT * FROM system.users',
    'SELECT * FROM information_schema.tables',
    'SELECT 1 FROM numbers(1) WHERE 1 IN system.processes',
    'SELECT * FROM events AS e JOIN system.processes AS p ON 1 = 1',
    'WITH p AS (SELECT * FROM system.processes) SELECT * FROM p',
    'SELECT 1 UNION ALL SELECT count() FROM system.text_log',
  ])
    await rejected(q);
});

test('a name with a line break cannot smuggle a node into the checked tree', async () => {
  for (const q of [
    "SELECT `fi\nle`('x')",
    `SELECT 1 AS \`x\nFunction numbers\`, file('${secret}')`,
    `SELECT file('${secret}') AS \`y\n   Literal 'z'\``,
    'SELECT 1 AS `a\nSelectQuery (children 1)` FROM system.processes',
  ])
    await rejected(q);
});

test('everyday queries run: CTEs, unions, joins, windows, lambdas, combinators, any case', async () => {
  for (const q of [
    "SELECT comm, count() FROM events WHERE kind = 'exec' GROUP BY comm ORDER BY 2 DESC LIMIT 10",
    "SELECT host, pid, any(comm) AS comm, count() AS n, concat('started ', toString(n), ' programs') AS reason FROM events WHERE kind = 'exec' AND ts > now() - INTERVAL 1 MINUTE GROUP BY host, pid HAVING n > 100",
    'WITH a AS (SELECT 1 AS x) SELECT * FROM a UNION ALL SELECT number FROM numbers(3)',
    'SELECT 1 EXCEPT SELECT 2',
    'SELECT 1 INTERSECT SELECT 1;',
    '-- a comment\nselect Count(), COUNT(*), sum(number), AVG(number) /* more */ from numbers(10)',
    "SELECT CAST(1 AS String), 1::UInt8, [1,2][1], (1,2).1, -number, number % 2 ? 'a' : 'b', CASE number WHEN 1 THEN 'x' ELSE 'y' END FROM numbers(3)",
    'SELECT countIf(number > 1), uniqExactIf(number, number > 0), quantile(0.9)(number), sumOrNull(number), count(DISTINCT number), sum(number) FILTER (WHERE number > 1) FROM numbers(10)',
    'SELECT row_number() OVER (PARTITION BY number % 2 ORDER BY number), lagInFrame(number) OVER w FROM numbers(10) WINDOW w AS (ORDER BY number)',
    'SELECT arrayMap(x -> x * 2, [1, 2]), arrayFilter((x, y) -> x > y, [1], [2]), EXISTS (SELECT 1), 1 IN (SELECT 1), number BETWEEN 1 AND 2 FROM numbers(2)',
    'SELECT a.number, b.number FROM numbers(3) AS a INNER JOIN numbers(3) AS b ON a.number = b.number ARRAY JOIN [1, 2] AS x',
    'SELECT number FROM numbers(10) ORDER BY number WITH FILL LIMIT 2 BY number % 2 LIMIT 5',
    "SELECT * FROM values('x UInt8', 1, 2) AS a, generate_series(1, 2) AS b, numbers_mt(1) AS c, primes(2) AS d, view(SELECT 1) AS e",
    'SELECT e.host, default.events.kind FROM default.events AS e, events WHERE e.id = events.id LIMIT 1',
    'SELECT name FROM system.tables WHERE database = currentDatabase()',
    "SELECT name, type FROM system.columns WHERE table = 'events'",
    "SELECT format('{} {}', 'a', 'b'), formatReadableSize(1024), toStartOfInterval(now(), INTERVAL 1 MINUTE), lower('A')",
  ]) {
    await assert.doesNotReject(run(q), q);
  }
  assert.deepEqual(
    (await run('SELECT file AS x FROM (SELECT 7 AS file)')).rows,
    [{ x: 7 }],
    'a column may be named like a function',
  );
});

test('a refused query leaves the session usable', async () => {
  await rejected(`SELECT file('${secret}')`);
  assert.deepEqual((await run('SELECT 46 AS x')).rows, [{ x: 46 }]);
  assert.equal(existsSync(join(dir, 'out-0')), false);
});
