/**
 * `vigil detections validate` and `vigil detections test` as a user runs them (the real CLI, the
 * real engine underneath): broken files are named with each of their errors and a non-zero exit;
 * detections that throw or SQL that fails are reported, never a quiet "0 alerts".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir, vigil } from '../support/harness.js';

const EXAMPLES = join(REPO, 'examples', 'detections');
const EVENTS = join(EXAMPLES, 'sample-events.ndjson');
const DEFINE = `import { defineDetection } from '@vigil/control-plane/detect';\n`;
const sqlFile = (id: string, query: string) =>
  `-- id: ${id}\n-- title: ${id}\n-- severity: medium\n-- interval: 30s\n${query}\n`;
// The CLI reads no API for these commands.
const run = (args: string[]) => vigil('http://127.0.0.1:1', args);

test('validate names each broken file with its errors and exits 1: SQL syntax, SQL without host, TypeScript syntax and types', () => {
  const dir = tempDir('detcli-validate');
  writeFileSync(
    join(dir, 'ok.ts'),
    `${DEFINE}export default defineDetection({ id: 'cli.ok', title: 't', severity: 'low', mitre: [], on: ['exec'], match: () => null });`,
  );
  writeFileSync(
    join(dir, 'parse.ts'),
    `${DEFINE}export default defineDetection({ id: 'cli.parse', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { const n: number = 1 return null } });`,
  );
  writeFileSync(
    join(dir, 'types.ts'),
    `${DEFINE}export default defineDetection({ id: 'cli.types', title: 't', severity: 'low', mitre: [], on: ['exec'],\n  match: (ev) => ev.exec.nosuch ? { reason: ev.proc.pid } : null });`,
  );
  writeFileSync(join(dir, 'syntax.sql'), sqlFile('cli.sql-syntax', 'SELECT host, count( FROM events'));
  writeFileSync(
    join(dir, 'no-host.sql'),
    sqlFile('cli.sql-nohost', "SELECT pid, count() AS n FROM events WHERE kind = 'exec' GROUP BY pid"),
  );

  const r = run(['detections', 'validate', dir]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const lines = r.stdout.split('\n');
  const broken = (file: string) => lines.find((l) => l.startsWith('broken') && l.includes(join(dir, file)));
  assert.match(broken('parse.ts') ?? '', /1 syntax error: 2:\d+ TS1005: ',' expected/);
  assert.match(broken('types.ts') ?? '', /2 type errors: 3:\d+ TS/);
  assert.ok(
    lines.some((l) => /^\s+3:\d+ TS2339: Property 'nosuch' does not exist/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^\s+3:\d+ TS2322: Type '\{ reason: number; \} \| null' is not assignable/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^\s+Type 'number' is not assignable to type 'string'/.test(l)),
    r.stdout,
  );
  assert.match(broken('syntax.sql') ?? '', /1 SQL error: query failed: Syntax error/);
  assert.match(broken('no-host.sql') ?? '', /1 SQL error: no `host` column/);
  assert.ok(
    lines.some((l) => /^ok\s+cli\.ok\b/.test(l)),
    r.stdout,
  );
  assert.match(r.stdout, /^1 loaded, 0 unsupported, 4 broken \(5 errors\)$/m);

  const json = run(['detections', 'validate', dir, '--json']);
  assert.equal(json.status, 1);
  const report = JSON.parse(json.stdout) as { problems: { path: string; details?: string[] }[] };
  assert.equal(report.problems.find((p) => p.path.endsWith('types.ts'))?.details?.length, 2);
});

test('validate passes the shipped examples', () => {
  const r = run(['detections', 'validate', EXAMPLES]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^3 loaded, 0 unsupported, 0 broken$/m);
});

test('test reports a detection that throws on every event and exits 1; SQL detections run on the recorded events', () => {
  const dir = tempDir('detcli-test');
  writeFileSync(
    join(dir, 'throws.ts'),
    `${DEFINE}export default defineDetection({ id: 'cli.throws', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { throw new Error('cannot read ' + ev.proc.comm); } });`,
  );
  writeFileSync(
    join(dir, 'execs.sql'),
    sqlFile(
      'cli.sql-execs',
      "SELECT host, pid, any(comm) AS comm, count() AS n, 'started ' || toString(n) || ' programs' AS reason FROM events WHERE kind = 'exec' GROUP BY host, pid",
    ),
  );
  const execs = readFileSync(EVENTS, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"exec"')).length;

  const r = run(['detections', 'test', dir, '--events', EVENTS]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`failed\\s+cli\\.throws: threw on ${execs} of ${execs} events; first: Error: cannot read bash`),
  );
  assert.match(r.stdout, /cli\.sql-execs .* started 2 programs/);
  assert.match(r.stdout, /^4 events, 1 alerts, 1 detection failed$/m);

  const json = run(['detections', 'test', dir, '--events', EVENTS, '--json']);
  assert.equal(json.status, 1);
  const out = JSON.parse(json.stdout) as {
    failures: { id: string; errors: number; of: number }[];
    alerts: { ruleId: string; source: string }[];
  };
  assert.deepEqual(
    out.failures.map((f) => [f.id, f.errors, f.of]),
    [['cli.throws', execs, execs]],
  );
  assert.deepEqual(
    out.alerts.map((a) => [a.ruleId, a.source]),
    [['cli.sql-execs', 'sql']],
  );
});

test('test: a SQL detection that fails on the recorded events is reported and exits 1', () => {
  const dir = tempDir('detcli-sqlfail');
  writeFileSync(
    join(dir, 'no-host.sql'),
    sqlFile('cli.sql-nohost', "SELECT pid, count() AS n FROM events WHERE kind = 'exec' GROUP BY pid"),
  );
  const r = run(['detections', 'test', dir, '--events', EVENTS]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /failed\s+cli\.sql-nohost: a row without a `host` column/);
  assert.match(r.stdout, /^4 events, 0 alerts, 1 detection failed$/m);
});
