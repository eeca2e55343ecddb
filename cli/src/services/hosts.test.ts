import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostsReport } from '@vigil/schema';
import { hostsText } from './hosts.js';

const enrolled: HostsReport['hosts'][number] = {
  host: 'gpu-01',
  state: 'active',
  publicKey: `U${'A'.repeat(55)}`,
  enrolledTs: '2026-12-01T00:00:00.000Z',
  credentialExpiresTs: '2026-12-31T00:00:00.000Z',
  version: '0.2.0',
  lastHeartbeatTs: '2026-12-06T10:00:00.000Z',
  silent: false,
  probes: { exec: 'running', gpu: 'skipped' },
};

test('hosts that never enrolled are listed beside the enrolled ones, with their version and last heartbeat', () => {
  const text = hostsText({
    hosts: [enrolled],
    rejects: {},
    notEnrolled: [
      { host: 'gpu-02', version: '0.1.0', lastHeartbeatTs: '2026-12-06T10:00:01.000Z', silent: true, probes: {} },
    ],
  });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^HOST\s+STATE\s+VERSION\s+LAST HEARTBEAT\s+PROBES\s+CREDENTIAL EXPIRES$/);
  assert.match(lines[1]!, /^gpu-01\s+active\s+0\.2\.0\s+2026-12-06T10:00:00\.000Z\s+exec,gpu:skipped\s+2026-12-31/);
  assert.match(lines[2]!, /^gpu-02\s+not-enrolled\s+0\.1\.0\s+2026-12-06T10:00:01\.000Z \(silent\)\s+-\s+-$/);
});

test('a report from a control plane without notEnrolled (an older one) still prints', () => {
  assert.match(
    hostsText({ hosts: [enrolled], rejects: { 'token unknown': 2 } }),
    /refused enrollments: token unknown: 2$/,
  );
  assert.match(hostsText({ hosts: [], rejects: {} }), /^no hosts/);
});

test("what a host sent is shown escaped: a version with terminal escapes cannot rewrite the operator's screen", () => {
  const text = hostsText({
    hosts: [],
    rejects: {},
    notEnrolled: [{ host: 'gpu-03', version: '1\u001b[2J', lastHeartbeatTs: null, silent: null, probes: {} }],
  });
  assert.doesNotMatch(text, /\u001b/);
  assert.match(text, /^gpu-03\s+not-enrolled\s+1\S+\s+never/m);
});
