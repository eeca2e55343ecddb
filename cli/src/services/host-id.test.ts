import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { defaultHostId } from './host-id.js';

/** A logger that keeps its lines. */
function recorder() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}

test('a hostname that is a host id is used as it is, silently', () => {
  const { log, lines } = recorder();
  assert.equal(defaultHostId(log, 'gpu-node-01'), 'gpu-node-01');
  assert.equal(lines.length, 0);
});

test('a hostname that is none is made one, and the log says which and why', () => {
  const { log, lines } = recorder();
  assert.equal(defaultHostId(log, 'gpu01.cluster.example'), 'gpu01_cluster_example');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.hostname, 'gpu01.cluster.example');
  assert.equal(lines[0]!['host.id'], 'gpu01_cluster_example');
  assert.match(String(lines[0]!.msg), /not a valid host id/);
});
