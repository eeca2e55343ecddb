import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ResponsePolicy, type AlertV1 } from '@vigil/schema';
import { StaticConfig } from '../config/source.js';
import { proc } from '../detect/testing.js';
import { PolicyResponder, policyTakes } from './policies.js';
import type { OrderRequest, Responder } from './responder.js';

const alert = (over: Partial<AlertV1> = {}): AlertV1 => ({
  id: 'a-1',
  v: 1,
  ruleId: 'miner.exec',
  title: 'Crypto miner started',
  severity: 'critical',
  mitre: [],
  source: 'builtin',
  author: null,
  ts: '1',
  lastTs: '1',
  host: 'gpu-1',
  proc: proc({ pid: 4242, startTs: '1700000000000000000', job: 'slurm:7' }),
  evidence: [],
  reason: 'x',
  count: 1,
  ...over,
});

/** The orders a policy responder sends, as the Responder would take them. */
function policies(config: unknown): { sent: OrderRequest[]; p: PolicyResponder } {
  const sent: OrderRequest[] = [];
  const responder = { order: async (req: OrderRequest) => void sent.push(req) } as unknown as Responder;
  return {
    sent,
    p: new PolicyResponder({ config: new StaticConfig(config), responder, log: pino({ level: 'silent' }) }),
  };
}

test('a policy takes an alert by rule glob, severity, host and job', () => {
  const policy = ResponsePolicy.parse({ name: 'miners', rules: ['miner.*'], action: 'kill' });
  assert.equal(policyTakes(policy, alert()), true);
  assert.equal(policyTakes(policy, alert({ ruleId: 'tunnel.ssh-forward' })), false);
  assert.equal(policyTakes(policy, alert({ severity: 'medium' })), false);
  assert.equal(policyTakes({ ...policy, hosts: ['gpu-*'] }, alert()), true);
  assert.equal(policyTakes({ ...policy, hosts: ['cpu-*'] }, alert()), false);
  assert.equal(policyTakes({ ...policy, jobs: ['slurm:*'] }, alert()), true);
  assert.equal(policyTakes({ ...policy, jobs: ['slurm:*'] }, alert({ proc: proc({ job: null }) })), false);
});

test('a kill policy orders once per process, as a dry run in dry-run mode; notify and a missing start time order nothing', async () => {
  const { sent, p } = policies({
    responses: {
      mode: 'dry-run',
      policies: [
        { name: 'miners', rules: ['miner.*'], action: 'kill-tree' },
        { name: 'tell', rules: ['miner.*'], action: 'notify' },
      ],
    },
  });
  p.onAlert(alert());
  p.onAlert(alert({ count: 2 }));
  p.onAlert(alert({ id: 'a-2', proc: proc({ pid: 5, startTs: null }) }));
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1, 'one order for the process, whatever its repeats');
  assert.deepEqual(
    { ...sent[0], reason: undefined },
    {
      host: 'gpu-1',
      action: 'kill-tree',
      pid: 4242,
      startTs: '1700000000000000000',
      requestedBy: 'policy:miners',
      reason: undefined,
      incidentId: null,
      alertId: 'a-1',
      dryRun: true,
    },
  );
  assert.deepEqual(p.skipped, { notify: 3, 'no-start-time': 1 });
});

test('without policies nothing is ordered (the default configuration)', async () => {
  const { sent, p } = policies({});
  p.onAlert(alert());
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, []);
});
