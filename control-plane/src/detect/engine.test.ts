import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DetectionEngine } from './engine.js';
import { defineDetection, type AnyDetection } from './define.js';
import { exec, TEST_CONFIG } from './testing.js';

test('events that arrived together are evaluated in kernel time order, ties in arrival order, leading zeros or not', () => {
  // NsTimestamp: 1-20 decimal digits, leading zeros allowed by the schema.
  const ts = fc.tuple(fc.nat({ max: 3 }), fc.bigInt({ min: 0n, max: 99_999_999_999_999_999_999n }))
    .map(([zeros, n]) => ('0'.repeat(zeros) + n.toString()).slice(-20).replace(/^$/, '0'));
  fc.assert(fc.property(fc.array(ts, { minLength: 1, maxLength: 40 }), (times) => {
    const seen: string[] = [];
    const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => undefined });
    const order = defineDetection({ id: 'order', title: 'order', severity: 'low', mitre: [], on: ['exec'], match: (ev) => { seen.push(ev.id); return null; } }) as AnyDetection;
    engine.setDetections([{ detection: order, source: 'builtin', author: null, origin: 'test' }]);
    const events = times.map((t) => ({ ...exec(['true']), ts: t }));
    engine.process(events);
    const expected = events.map((ev, i) => ({ ev, i })).sort((a, b) => {
      const d = BigInt(a.ev.ts) - BigInt(b.ev.ts);
      return d < 0n ? -1 : d > 0n ? 1 : a.i - b.i;
    }).map(({ ev }) => ev.id);
    assert.deepEqual(seen, expected);
  }), { numRuns: 300 });
});
