import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEventsFile, testDetections, validateDetections } from './detections.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/detections/', import.meta.url));

test('the shipped examples load: a TypeScript module, a Sigma rule and a SQL detection', async () => {
  const r = await validateDetections([EXAMPLES]);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.detections.map((d) => `${d.source}:${d.detection.id}`).sort(), ['sigma:sigma.6c3b1c8e-7d0e-4f5a-9b1e-vigil-example-01', 'typescript:site.gpu-outside-scheduler']);
  assert.deepEqual(r.sql.map((d) => [d.id, d.intervalMs]), [['site.exec-burst', 60_000]]);
});

test('offline test against recorded events raises exactly what the rules say', async () => {
  const r = await testDetections([EXAMPLES], join(EXAMPLES, 'sample-events.ndjson'), false);
  assert.equal(r.events, 4);
  assert.deepEqual(r.alerts.map((a) => a.ruleId).sort(), ['sigma.6c3b1c8e-7d0e-4f5a-9b1e-vigil-example-01', 'site.gpu-outside-scheduler']);
  const withBuiltins = await testDetections([EXAMPLES], join(EXAMPLES, 'sample-events.ndjson'), true);
  assert.ok(withBuiltins.alerts.some((a) => a.ruleId === 'gpu.unexpected-process'));
});

test('a broken file is reported with its path and reason; the others still load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-det-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'good.ts'), `import { defineDetection } from '@vigil/control-plane/detect';
export default defineDetection({ id: 'x.good', title: 'good', severity: 'low', mitre: [], on: ['exec'], match: (ev) => ev.exec.argv[0] === 'boom' ? { reason: 'boom' } : null });`);
  writeFileSync(join(dir, 'no-match.ts'), `export default { id: 'x.bad', title: 't', severity: 'low', on: ['exec'] };`);
  writeFileSync(join(dir, 'syntax.mjs'), `export default {{{`);
  writeFileSync(join(dir, 'sev.sql'), `-- id: x.sql\n-- title: t\n-- severity: apocalyptic\n-- interval: 1m\nSELECT 1`);
  writeFileSync(join(dir, 'z-dup.ts'), `export default { id: 'x.good', title: 'dup', severity: 'low', mitre: [], on: ['exec'], match: () => null };`);
  writeFileSync(join(dir, 'rule.yml'), `title: t\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel:\n    Image|endswith: /boom\n  condition: sel\n`);
  const r = await validateDetections([dir]);
  assert.deepEqual(r.detections.map((d) => d.detection.id).sort(), ['sigma.t', 'x.good']);
  const why = Object.fromEntries(r.problems.map((p) => [p.path.split('/').pop(), p.reason]));
  assert.match(why['no-match.ts']!, /default export is not a detection: match/);
  assert.match(why['syntax.mjs']!, /Unexpected token|SyntaxError|Unexpected/);
  assert.match(why['sev.sql']!, /severity/);
  assert.match(why['z-dup.ts']!, /duplicate detection id x\.good/);
});

test('recorded events: NDJSON or a JSON array; bad lines are counted with their line numbers', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSyncLines(join(EXAMPLES, 'sample-events.ndjson'))[0]!;
  writeFileSync(join(dir, 'e.ndjson'), `${good}\nnot json\n{"v":1}\n`);
  const r = readEventsFile(join(dir, 'e.ndjson'));
  assert.equal(r.events.length, 1);
  assert.deepEqual(r.bad.map((b) => b.line), [2, 3]);
  writeFileSync(join(dir, 'e.json'), `[${good}]`);
  assert.equal(readEventsFile(join(dir, 'e.json')).events.length, 1);
  assert.throws(() => readEventsFile(join(dir, 'missing')), /cannot read/);
});

import { readFileSync } from 'node:fs';
function readFileSyncLines(p: string) { return readFileSync(p, 'utf8').split('\n').filter(Boolean); }
