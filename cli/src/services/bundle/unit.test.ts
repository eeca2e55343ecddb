import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleName, bundleVersion } from './build.js';
import { sensorUnit } from './unit.js';

test('the unit restarts the sensor always and bounds its capabilities to what BPF and /proc need', () => {
  const unit = sensorUnit();
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^NoNewPrivileges=yes$/m);
  assert.match(unit, /^ProtectSystem=strict$/m);
  assert.match(unit, /^ReadWritePaths=-\/etc\/vigil$/m);
  assert.match(unit, /^ExecStart=\/opt\/vigil\/current\/bin\/vigil sensor$/m);
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
  for (const cap of ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_NICE'])
    assert.ok(caps.includes(cap), cap);
  assert.ok(!caps.includes('CAP_NET_ADMIN') && !caps.includes('CAP_SYS_MODULE'));
});

test("a bundle's file name carries its version; nothing else is read as one", () => {
  assert.equal(bundleVersion(`${bundleName('0.2.0+build.7')}.tar.gz`), '0.2.0+build.7');
  for (const bad of ['vigil-sensor-../x-linux-x64.tar.gz', 'vigil-sensor-a b-linux-x64.tar.gz', 'other.tar.gz'])
    assert.equal(bundleVersion(bad), null, bad);
});
