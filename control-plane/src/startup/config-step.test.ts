import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { StaticConfig } from '../config/source.js';
import type { ControlPlaneConfig } from './config.js';
import { expectedGpuOf } from './config-step.js';
import { newParts } from './parts.js';

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
