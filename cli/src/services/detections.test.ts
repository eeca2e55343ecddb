import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { LoadProblem } from '@vigil/control-plane';
import { fileURLToPath } from 'node:url';
import { readEventsFile, testDetections, validateDetections } from './detections.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/detections/', import.meta.url));

test('the shipped examples load: a TypeScript module, a Sigma rule and a SQL detection', async () => {
  const r = await validateDetections([EXAMPLES]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.detections.map((d) => `${d.source}:${d.detection.id}`).sort(), [
    'sigma:sigma.6c3b1c8e-7d0e-4f5a-9b1e-vigil-example-01',
    'typescript:site.gpu-outside-scheduler',
  ]);
  assert.deepEqual(
    r.sql.map((d) => [d.id, d.intervalMs]),
    [['site.exec-burst', 60_000]],
  );
});

test('offline test against recorded events raises exactly what the rules say', async () => {
  const r = await testDetections([EXAMPLES], join(EXAMPLES, 'sample-events.ndjson'), false);
  assert.equal(r.events, 4);
  assert.deepEqual(r.alerts.map((a) => a.ruleId).sort(), [
    'sigma.6c3b1c8e-7d0e-4f5a-9b1e-vigil-example-01',
    'site.gpu-outside-scheduler',
  ]);
  const withBuiltins = await testDetections([EXAMPLES], join(EXAMPLES, 'sample-events.ndjson'), true);
  assert.ok(withBuiltins.alerts.some((a) => a.ruleId === 'gpu.unexpected-process'));
});

test('a broken file is reported with its path and reason; the others still load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-det-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'good.ts'),
    `import { defineDetection } from '@vigil/control-plane/detect';
export default defineDetection({ id: 'x.good', title: 'good', severity: 'low', mitre: [], on: ['exec'], match: (ev) => ev.exec.argv[0] === 'boom' ? { reason: 'boom' } : null });`,
  );
  writeFileSync(join(dir, 'no-match.ts'), `export default { id: 'x.bad', title: 't', severity: 'low', on: ['exec'] };`);
  writeFileSync(join(dir, 'syntax.mjs'), `export default {{{`);
  writeFileSync(join(dir, 'sev.sql'), `-- id: x.sql\n-- title: t\n-- severity: apocalyptic\n-- interval: 1m\nSELECT 1`);
  writeFileSync(
    join(dir, 'z-dup.ts'),
    `export default { id: 'x.good', title: 'dup', severity: 'low', mitre: [], on: ['exec'], match: () => null };`,
  );
  writeFileSync(
    join(dir, 'rule.yml'),
    `title: t\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel:\n    Image|endswith: /boom\n  condition: sel\n`,
  );
  const r = await validateDetections([dir]);
  assert.deepEqual(r.detections.map((d) => d.detection.id).sort(), ['sigma.t', 'x.good']);
  const why = Object.fromEntries(r.problems.map((p) => [p.path.split('/').pop(), p.reason]));
  assert.match(why['no-match.ts']!, /default export is not a detection: match/);
  assert.match(why['syntax.mjs']!, /Unexpected token|SyntaxError|Unexpected/);
  assert.match(why['sev.sql']!, /severity/);
  assert.match(why['z-dup.ts']!, /duplicate detection id x\.good/);
});

const DEFINE = `import { defineDetection } from '@vigil/control-plane/detect';\n`;
const sqlFile = (id: string, query: string) =>
  `-- id: ${id}\n-- title: ${id}\n-- severity: low\n-- interval: 1m\n${query}\n`;

test('validate: SQL the engine refuses, SQL without a host column, TypeScript that does not parse or type-check are broken, with every error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'good.ts'),
    `${DEFINE}export default defineDetection({ id: 'x.good', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => ev.exec.argv.includes('boom') ? { reason: 'boom' } : null });`,
  );
  // Transpiled alone, this runs (the transpiler repairs the missing comma); it is not what was written.
  writeFileSync(
    join(dir, 'parse.ts'),
    `${DEFINE}export default defineDetection({ id: 'x.parse', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { const n: number = 1 return null } });`,
  );
  writeFileSync(
    join(dir, 'types.ts'),
    `${DEFINE}export default defineDetection({ id: 'x.types', title: 't', severity: 'low', mitre: [], on: ['exec'],\n  match: (ev) => ev.gpu.name === 'x' ? { reason: 1 } : null });`,
  );
  writeFileSync(
    join(dir, 'good.sql'),
    sqlFile('x.sql-good', 'SELECT host, pid, count() AS n FROM events GROUP BY host, pid'),
  );
  writeFileSync(join(dir, 'syntax.sql'), sqlFile('x.sql-syntax', 'SELECT host FROM events WHERE'));
  writeFileSync(join(dir, 'unknown.sql'), sqlFile('x.sql-unknown', 'SELECT host, no_such_column FROM events'));
  writeFileSync(join(dir, 'no-host.sql'), sqlFile('x.sql-nohost', 'SELECT pid, count() AS n FROM events GROUP BY pid'));
  writeFileSync(join(dir, 'writes.sql'), sqlFile('x.sql-writes', "INSERT INTO events (event) VALUES ('{}')"));
  const r = await validateDetections([dir]);
  assert.deepEqual(
    r.detections.map((d) => d.detection.id),
    ['x.good'],
  );
  assert.deepEqual(
    r.sql.map((d) => d.id),
    ['x.sql-good'],
  );
  const why: Record<string, LoadProblem> = Object.fromEntries(r.problems.map((p) => [basename(p.path), p]));
  assert.deepEqual(Object.keys(why).sort(), [
    'no-host.sql',
    'parse.ts',
    'syntax.sql',
    'types.ts',
    'unknown.sql',
    'writes.sql',
  ]);
  assert.match(why['parse.ts']!.reason, /^1 syntax error: 2:\d+ TS1005: ',' expected/);
  assert.equal(why['types.ts']!.details?.length, 2);
  assert.match(why['types.ts']!.reason, /^2 type errors: 3:\d+ TS\d+: [^\n]+$/);
  assert.ok(why['types.ts']!.details!.some((e) => /^3:\d+ TS2339: Property 'gpu' does not exist on type/.test(e)));
  assert.ok(why['types.ts']!.details!.some((e) => /Type 'number' is not assignable to type 'string'/.test(e)));
  assert.match(why['syntax.sql']!.reason, /^1 SQL error: query failed: Syntax error/);
  assert.match(why['unknown.sql']!.reason, /no_such_column/);
  assert.match(why['no-host.sql']!.reason, /no `host` column/);
  assert.match(why['writes.sql']!.reason, /refused: queries are read-only/);
  assert.ok(r.problems.every((p) => !p.unsupported));
});

test('test: a detection that throws is reported with how often and its first error; the others still raise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-throws-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'throws.ts'),
    `${DEFINE}export default defineDetection({ id: 'x.throws', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { throw new TypeError('no luck with ' + ev.proc.pid); } });`,
  );
  writeFileSync(
    join(dir, 'fires.ts'),
    `${DEFINE}export default defineDetection({ id: 'x.fires', title: 't', severity: 'low', mitre: [], on: ['exec'], match: (ev) => ({ reason: ev.proc.comm }) });`,
  );
  const r = await testDetections([dir], join(EXAMPLES, 'sample-events.ndjson'), false);
  assert.deepEqual(r.failures, [
    { id: 'x.throws', source: 'typescript', errors: 2, of: 2, firstError: 'TypeError: no luck with 4242' },
  ]);
  assert.deepEqual(
    r.alerts.map((a) => a.ruleId),
    ['x.fires', 'x.fires'],
  );
});

test('test: SQL detections run over the recorded events, each row an alert; one that fails is reported', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sqltest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'per-process.sql'),
    sqlFile(
      'x.sql-execs',
      "SELECT host, pid, count() AS n, 'execs: ' || toString(n) AS reason, groupArray(id) AS evidence FROM events WHERE kind = 'exec' GROUP BY host, pid",
    ),
  );
  writeFileSync(
    join(dir, 'fails.sql'),
    sqlFile('x.sql-fails', "SELECT host, throwIf(count() > 0, 'refused by the rule') AS x FROM events GROUP BY host"),
  );
  const events = join(EXAMPLES, 'sample-events.ndjson');
  const execs = readFileSyncLines(events)
    .map((l) => JSON.parse(l) as { id: string; kind: string })
    .filter((e) => e.kind === 'exec');
  const r = await testDetections([dir], events, false);
  assert.deepEqual(
    r.sql.map((s) => [s.id, s.alerts]),
    [
      ['x.sql-fails', 0],
      ['x.sql-execs', 1],
    ],
  );
  const [alert] = r.alerts;
  assert.equal(r.alerts.length, 1);
  assert.equal(alert!.ruleId, 'x.sql-execs');
  assert.equal(alert!.source, 'sql');
  assert.equal(alert!.reason, `execs: ${execs.length}`);
  assert.deepEqual([...alert!.evidence].sort(), execs.map((e) => e.id).sort());
  assert.equal(r.failures.length, 1);
  assert.equal(r.failures[0]!.id, 'x.sql-fails');
  assert.match(r.failures[0]!.firstError, /refused by the rule/);
});

test('recorded events: NDJSON or a JSON array; bad lines are counted with their line numbers', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSyncLines(join(EXAMPLES, 'sample-events.ndjson'))[0]!;
  writeFileSync(join(dir, 'e.ndjson'), `${good}\nnot json\n{"v":1}\n`);
  const r = readEventsFile(join(dir, 'e.ndjson'));
  assert.equal(r.events.length, 1);
  assert.deepEqual(
    r.bad.map((b) => b.line),
    [2, 3],
  );
  writeFileSync(join(dir, 'e.json'), `[${good}]`);
  assert.equal(readEventsFile(join(dir, 'e.json')).events.length, 1);
  assert.throws(() => readEventsFile(join(dir, 'missing')), /cannot read/);
});

import { readFileSync } from 'node:fs';
function readFileSyncLines(p: string) {
  return readFileSync(p, 'utf8').split('\n').filter(Boolean);
}
