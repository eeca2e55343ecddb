import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EgressRow } from '@vigil/schema';
import { egressText, humanMs } from './egress.js';

const row = (r: Partial<EgressRow>): EgressRow => ({
  host: 'gpu-01',
  job: null,
  pid: 4242,
  comm: 'curl',
  exe: '/usr/bin/curl',
  family: 'ipv4',
  addr: '203.0.113.9',
  port: 443,
  connections: 10,
  closed: 9,
  longestMs: 2000,
  totalMs: 7500,
  firstTs: '1764979200000000000',
  lastTs: '1764979260000000000',
  ...r,
});

test('egress text: one block per host and job, a line per process and destination', () => {
  const text = egressText({
    rows: [
      row({}),
      row({ job: 'slurm:77', pid: 5151, comm: 'python3', family: 'ipv6', addr: '2001:db8::1', port: 8080 }),
      row({ pid: 6161, comm: 'ssh', port: 22, closed: 0, longestMs: null, totalMs: null }),
    ],
    rowsTruncated: false,
  });
  const blocks = text.split('\n\n');
  assert.equal(blocks.length, 2);
  assert.match(blocks[0]!, /^host gpu-01\n/);
  assert.match(blocks[0]!, /curl\(4242\)\s+\/usr\/bin\/curl\s+203\.0\.113\.9:443\s+10\s+9\s+2\.0 s\s+7\.5 s/);
  assert.match(blocks[0]!, /ssh\(6161\).*:22\s+10\s+0\s+-\s+-/);
  assert.match(blocks[1]!, /^host gpu-01 {2}job slurm:77\n/);
  assert.match(blocks[1]!, /python3\(5151\).*\[2001:db8::1\]:8080/);
});

test('egress text: a hostile process name is shown escaped; an empty or cut report says so', () => {
  const text = egressText({ rows: [row({ comm: 'x\u202e\x1b[2J' })], rowsTruncated: true });
  assert.doesNotMatch(text, /\u202e|\x1b/);
  assert.match(text, /x\\u202e\\x1b\[2J\(4242\)/);
  assert.match(text, /more rows than --limit/);
  assert.equal(egressText({ rows: [], rowsTruncated: false }), 'no outbound TCP connections match');
  assert.deepEqual([850, 12_500, 192_000, 5_400_000].map(humanMs), ['850 ms', '12.5 s', '3.2 min', '1.5 h']);
});
