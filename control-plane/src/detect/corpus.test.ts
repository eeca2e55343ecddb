/**
 * The behaviour corpus replayed: every fixture recorded by test/e2e/behaviour-corpus.test.ts
 * (test/corpus/fixtures/<scenario>.ndjson: the events of a scenario's processes under the real
 * sensor) goes through a fresh engine with every built-in and the vendored Sigma rules. Each attack
 * must raise one of its expected rules; no benign scenario may raise anything at high or critical.
 * Rules raised from heartbeats (the sensor-health ones) cannot come from events: a scenario that
 * expects only those is checked live, and here only for having been recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod/v4';
import { type AlertV1, EventV1 } from '@vigil/schema';
import { BUILTIN_DETECTIONS, SENSOR_HEALTH_DETECTIONS } from './builtin/index.js';
import { loadDetections } from './custom/loader.js';
import { DetectionEngine, type LoadedDetection } from './engine.js';
import { EMPTY_EXPECTED_GPU } from './builtin/gpu.js';

const at = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const CORPUS = at('test/corpus/');
const FIXTURES = at('test/corpus/fixtures/');
const SIGMA = at('rules/sigma-linux/');

/** The part of a scenario (test/corpus/scenario.ts) the replay needs. */
const Scenario = z.object({
  name: z.string(),
  class: z.string(),
  kind: z.enum(['attack', 'benign']),
  expect: z.array(z.string()).optional(),
});
type Scenario = z.infer<typeof Scenario>;
const scenarios: Scenario[] = ['attacks.json', 'benign.json'].flatMap(
  (f) => z.object({ scenarios: z.array(Scenario) }).parse(JSON.parse(readFileSync(`${CORPUS}${f}`, 'utf8'))).scenarios,
);
const index = existsSync(`${FIXTURES}index.json`)
  ? z
      .object({ sensorPids: z.array(z.number()), references: z.array(EventV1).default([]) })
      .parse(JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')))
  : { sensorPids: [], references: [] };
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.ndjson'))
  .map((f) => f.replace(/\.ndjson$/, ''))
  .sort();
const HEALTH = new Set(Object.keys(SENSOR_HEALTH_DETECTIONS));
const HIGH = new Set(['high', 'critical']);

const sigma = await loadDetections([SIGMA]);
const builtins = Object.values(BUILTIN_DETECTIONS).map(
  (detection): LoadedDetection => ({ detection, source: 'builtin', author: null, origin: 'builtin' }),
);

function replay(name: string): { events: EventV1[]; alerts: AlertV1[] } {
  const events = readFileSync(`${FIXTURES}${name}.ndjson`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      const r = EventV1.safeParse(JSON.parse(line));
      assert.ok(r.success, `${name}.ndjson line ${i + 1} is not a v1 event: ${r.error?.message}`);
      return r.data!;
    });
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: { expectedGpu: EMPTY_EXPECTED_GPU, sensorPids: () => new Set(index.sensorPids) },
    onAlert: (a) => alerts.push(a),
  });
  engine.setDetections([...builtins, ...sigma.detections]);
  // The sensor reports the host's own tools' hashes at its start, before any scenario.
  engine.process(index.references);
  engine.process(events);
  return { events, alerts };
}

test('every fixture names a scenario of the corpus, and the Sigma rules load', () => {
  const names = new Set(scenarios.map((s) => s.name));
  assert.deepEqual(
    fixtures.filter((f) => !names.has(f)),
    [],
  );
  assert.ok(sigma.detections.length >= 121, `${sigma.detections.length} Sigma rules loaded`);
});

const results: { s: Scenario; ok: boolean }[] = [];

for (const name of fixtures) {
  const s = scenarios.find((x) => x.name === name);
  if (!s) continue;
  const eventBorne = (s.expect ?? []).filter((r) => !HEALTH.has(r));
  const what =
    s.kind === 'benign'
      ? 'raises nothing at high or critical'
      : eventBorne.length > 0
        ? `raises ${eventBorne.join(' or ')}`
        : `replays (${s.expect!.join(', ')} come from heartbeats: checked live)`;
  test(`replay ${s.kind} ${s.class}/${s.name} ${what}`, () => {
    const { events, alerts } = replay(name);
    const seen = alerts.map((a) => `${a.ruleId} (${a.severity}): ${a.reason}`);
    // A scenario that blinds the sensor may leave no events at all: that is what it does.
    const recorded = events.length > 0 || (s.kind === 'attack' && eventBorne.length === 0);
    const ok =
      recorded &&
      (s.kind === 'benign'
        ? !alerts.some((a) => HIGH.has(a.severity))
        : eventBorne.length === 0 || alerts.some((a) => eventBorne.includes(a.ruleId)));
    results.push({ s, ok });
    assert.ok(recorded, 'the fixture holds the scenario’s events');
    assert.ok(ok, s.kind === 'benign' ? `raised: ${seen.join('; ')}` : `raised: ${seen.join('; ') || 'nothing'}`);
  });
}

test('per-class table of the replay', () => {
  const rows = new Map<string, { n: number; ok: number }>();
  for (const { s, ok } of results) {
    const row = rows.get(`${s.kind} ${s.class}`) ?? { n: 0, ok: 0 };
    row.n++;
    if (ok) row.ok++;
    rows.set(`${s.kind} ${s.class}`, row);
  }
  const lines = [...rows].sort().map(([k, r]) => `# ${k.padEnd(32)} ${r.ok}/${r.n} detected/quiet`);
  console.log(`# behaviour corpus replay (${fixtures.length} fixtures)\n${lines.join('\n')}`);
  assert.equal(results.length, fixtures.length);
});
