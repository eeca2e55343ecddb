import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1 } from '@vigil/schema';
import { DetectionEngine } from './engine.js';
import { defineDetection, type AnyDetection } from './define.js';
import { exec, TEST_CONFIG } from './testing.js';

const always = (id: string, images?: string[]) => defineDetection({
  id, title: id, severity: 'low', mitre: [], on: ['exec'], ...(images ? { images } : {}),
  match: () => ({ reason: id }),
}) as AnyDetection;

test('the image index skips detections that named other images, and keeps load order for the rest', () => {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push(a), throttleMs: 0 });
  engine.setDetections([always('a'), always('b', ['curl', 'wget']), always('c'), always('d', ['curl'])]
    .map((detection) => ({ detection, source: 'builtin' as const, author: null, origin: 'test' })));
  const fired = (exe: string) => {
    alerts.length = 0;
    engine.process([exec([exe], {}, exe)]);
    return alerts.map((a) => a.ruleId);
  };
  assert.deepEqual(fired('/usr/bin/curl'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(fired('/opt/X/CURL'), ['a', 'b', 'c', 'd'], 'basenames compare in lower case, as Sigma does');
  assert.deepEqual(fired('/usr/bin/wget'), ['a', 'b', 'c']);
  assert.deepEqual(fired('/usr/bin/curl2'), ['a', 'c']);
});
