import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { StaticConfig } from '../config/source.js';
import type { ControlPlaneConfig } from './config.js';
import { expectedGpuOf, followDetectionDirs } from './config-step.js';
import { newParts, type Parts } from './parts.js';
import { DetectionEngine } from '../detect/engine.js';
import { TEST_CONFIG } from '../detect/testing.js';
import { USER_QUERY_LIMITS } from '../store/readonly-query.js';

const base: ControlPlaneConfig = {
  storage: { kind: 'embedded', dataDir: '/nonexistent' },
  nats: {},
  api: { host: '127.0.0.1', port: 0 },
  log: pino({ level: 'silent' }),
};

test("expected GPU users: the flags' when given, else the configuration in force, read again after a change", () => {
  const p = newParts({ maxAgeHours: 1, maxBytes: 1 });
  assert.deepEqual(expectedGpuOf(base, p), { exe: [], cgroup: [] });
  let current = new StaticConfig({ gpu: { expected: { exe: ['/a/**'] } } }).current();
  p.config = Object.assign(new StaticConfig(), { current: () => current });
  assert.deepEqual(expectedGpuOf(base, p), { exe: ['/a/**'], cgroup: [] });
  current = new StaticConfig({ gpu: { expected: { cgroup: ['/slurm/**'] } } }).current();
  assert.deepEqual(expectedGpuOf(base, p), { exe: [], cgroup: ['/slurm/**'] });
  const flags = { ...base, expectedGpu: { exe: ['/flag/**'], cgroup: [] } };
  assert.deepEqual(expectedGpuOf(flags, p), { exe: ['/flag/**'], cgroup: [] });
});

test("custom detections: the file's folders, loaded again when a reload changes them; --detections wins", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cfg-det-'));
  writeFileSync(
    join(dir, 'socat.yml'),
    "title: socat run\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '/socat'\n  condition: sel\nlevel: high\n",
  );
  const custom = (engine: DetectionEngine) => engine.list().filter((d) => d.source !== 'builtin').length;
  const p = newParts({ maxAgeHours: 1, maxBytes: 1 });
  // Only SQL detections read storage; none here.
  p.ch = { user: {} } as unknown as Parts['ch'];
  const config = new StaticConfig();
  p.config = config;
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {} });
  const stop = await followDetectionDirs(base, p, engine, base.log, USER_QUERY_LIMITS);
  try {
    assert.equal(custom(engine), 0);
    const next = new StaticConfig({ detections: [dir] }).current();
    config.emit('change', next, config.current());
    await waitFor(() => custom(engine) === 1);
    config.emit('change', config.current(), next);
    await waitFor(() => custom(engine) === 0);
  } finally {
    stop();
  }
  // Given by flag, the file's folders are not read.
  const flagged = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {} });
  p.config = new StaticConfig({ detections: [dir] });
  const stopFlagged = await followDetectionDirs({ ...base, detections: [] }, p, flagged, base.log, USER_QUERY_LIMITS);
  assert.equal(custom(flagged), 0);
  stopFlagged();
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok());
}
