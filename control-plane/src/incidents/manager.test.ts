import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1, AncestorV1, IncidentV1, ProcessV1 } from '@vigil/schema';
import { StaticConfig } from '../config/source.js';
import { proc } from '../detect/testing.js';
import { IncidentManager, IncidentNotFoundError, IncidentTransitionError } from './manager.js';

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (minutes: number) => (T0 + BigInt(minutes) * MIN).toString();
let n = 0;

const anc = (pid: number, comm: string): AncestorV1 => ({ pid, comm, exe: `/usr/bin/${comm}`, argv: [comm] });
const SESSION = [anc(900, 'sshd'), anc(1, 'systemd')];

function alert(p: Partial<ProcessV1>, over: Partial<AlertV1> = {}): AlertV1 {
  const id = `a${++n}`;
  const ts = over.ts ?? at(0);
  return {
    id,
    v: 1,
    ruleId: 'miner.exec',
    title: 'Miner started',
    severity: 'high',
    mitre: ['T1496'],
    source: 'builtin',
    author: null,
    ts,
    lastTs: ts,
    host: 'h1',
    proc: proc({ job: null, startTs: '1', ...p }),
    evidence: ['e1'],
    reason: 'because',
    count: 1,
    ...over,
  };
}

function manager(window = '30m', maxTracked?: number) {
  const changes: IncidentV1[] = [];
  let ids = 0;
  const m = new IncidentManager({
    config: new StaticConfig({ incidents: { window } }),
    onChange: (i) => changes.push(i),
    newId: () => `inc-${++ids}`,
    ...(maxTracked ? { maxTracked } : {}),
  });
  return { m, changes };
}

// python (100) -> bash (200) -> miner (300); python -> bash (210) -> bash -i (310).
const miner = { pid: 300, comm: 'kworkerd', ancestry: [anc(200, 'bash'), anc(100, 'python3'), ...SESSION] };
const revShell = { pid: 310, comm: 'bash', ancestry: [anc(210, 'bash'), anc(100, 'python3'), ...SESSION] };

test('alerts of one process tree form one incident rooted at their nearest common ancestor', () => {
  const { m, changes } = manager();
  const a = m.add(alert(miner, { severity: 'high', title: 'Renamed miner' }));
  const b = m.add(
    alert(revShell, { ruleId: 'shell.reverse', severity: 'critical', title: 'Reverse shell', ts: at(1) }),
  );
  assert.equal(b.id, a.id);
  assert.equal(b.version, 2);
  assert.equal(b.alertCount, 2);
  assert.equal(b.severity, 'critical');
  assert.equal(b.root?.pid, 100);
  assert.deepEqual(b.processes.map((p) => p.pid).sort(), [100, 200, 210, 300, 310]);
  assert.equal(b.title, 'kworkerd: Renamed miner → bash: Reverse shell');
  assert.deepEqual(b.rules, ['miner.exec', 'shell.reverse']);
  assert.equal(changes.length, 2);
  assert.equal(m.incidentOfAlert(`a${n}`), a.id);
});

test('a repeat of an alert (same id, higher count) updates it in place and is not counted twice', () => {
  const { m } = manager();
  const first = alert(miner);
  m.add(first);
  const again = m.add({ ...first, count: 5, lastTs: at(2) });
  assert.equal(again.alertCount, 1);
  assert.equal(again.alerts.length, 1);
  assert.equal(again.lastTs, at(2));
  assert.equal(again.version, 2);
});

test('alerts of one job join one incident whatever their trees', () => {
  const { m } = manager();
  const a = m.add(alert({ pid: 500, job: 'slurm:7', ancestry: [anc(400, 'python3'), anc(3000, 'slurmstepd')] }));
  const b = m.add(alert({ pid: 600, job: 'slurm:7', ancestry: [anc(450, 'sh'), anc(3001, 'slurmstepd')] }));
  assert.equal(b.id, a.id);
  assert.equal(b.job, 'slurm:7');
});

test('different jobs, different trees, or different hosts stay apart; a shared session root does not tie them', () => {
  const { m } = manager();
  const a = m.add(alert({ pid: 500, job: 'slurm:7', ancestry: [anc(400, 'python3'), anc(3000, 'slurmstepd')] }));
  const b = m.add(alert({ pid: 600, job: 'slurm:8', ancestry: [anc(450, 'python3'), anc(3000, 'slurmstepd')] }));
  const c = m.add(alert({ pid: 700, ancestry: [anc(650, 'bash'), ...SESSION] }));
  const d = m.add(alert({ pid: 710, ancestry: [anc(660, 'bash'), ...SESSION] }));
  const e = m.add(alert(miner, { host: 'h2' }));
  const f = m.add(alert(revShell, { host: 'h1' }));
  assert.equal(new Set([a.id, b.id, c.id, d.id, e.id]).size, 5);
  assert.notEqual(f.id, e.id);
});

test('an alert past the window opens a new incident', () => {
  const { m } = manager('10m');
  const a = m.add(alert(miner, { ts: at(0) }));
  const b = m.add(alert(revShell, { ts: at(9) }));
  const c = m.add(alert(revShell, { ts: at(25) }));
  assert.equal(b.id, a.id);
  assert.notEqual(c.id, a.id);
});

test('a resolved incident takes no new alerts: a new one opens; a bad transition is refused', async () => {
  const { m } = manager();
  const a = m.add(alert(miner));
  await assert.rejects(m.transition(a.id, 'reopen', { by: 'ann' }), IncidentTransitionError);
  const acked = await m.transition(a.id, 'ack', { by: 'ann', note: 'looking' });
  assert.equal(acked.status, 'acknowledged');
  assert.equal(acked.notes[0]?.text, 'looking');
  await assert.rejects(m.transition(a.id, 'ack', { by: 'ann' }), /is acknowledged: ack applies to open incidents only/);
  const resolved = await m.transition(a.id, 'resolve', { by: 'bob' });
  assert.deepEqual(
    resolved.statusHistory.map((h) => `${h.from}>${h.to} ${h.by}`),
    ['open>acknowledged ann', 'acknowledged>resolved bob'],
  );
  assert.equal(resolved.version, 3);
  const next = m.add(alert(revShell));
  assert.notEqual(next.id, a.id);
  assert.equal(next.status, 'open');
  await assert.rejects(m.transition('nope', 'ack', { by: 'ann' }), IncidentNotFoundError);
});

test('correlation state is bounded: the least recently active incident is let go and counted', () => {
  const { m } = manager('30m', 3);
  const ids = [1, 2, 3, 4, 5].map(
    (i) => m.add(alert({ pid: 1000 + i, ancestry: [anc(2000 + i, 'bash'), ...SESSION] })).id,
  );
  assert.equal(m.trackedCount, 3);
  assert.equal(m.stats.letGo, 2);
  // The first was let go: its tree's next alert opens a new incident.
  const again = m.add(alert({ pid: 1001, startTs: '2', ancestry: [anc(2001, 'bash'), ...SESSION] }));
  assert.ok(!ids.includes(again.id));
  m.sweep(T0 + 120n * MIN);
  assert.equal(m.trackedCount, 0);
});

test('a response record joins its incident by order id, replacing the earlier record of that order', () => {
  const { m } = manager();
  const a = m.add(alert(miner));
  const order = {
    id: 'o1',
    v: 1 as const,
    host: 'h1',
    action: 'kill' as const,
    pid: 300,
    startTs: '1',
    requestedBy: 'policy:miners',
    reason: 'miner',
    incidentId: null,
    alertId: a.alerts[0]!.id,
    dryRun: false,
    issuedTs: at(0),
    expiresTs: at(1),
    signature: 'x',
  };
  m.recordResponse({ order, result: null });
  m.recordResponse({
    order,
    result: { orderId: 'o1', v: 1, host: 'h1', outcome: 'killed', reason: '', pids: [300], ts: at(0) },
  });
  const now = m.current(a.id)!;
  assert.equal(now.responses.length, 1);
  assert.equal(now.responses[0]?.result?.outcome, 'killed');
  assert.equal(now.version, 3);
});

test('restored incidents keep taking alerts after a restart', () => {
  const { m: before } = manager();
  const first = alert(miner);
  const inc = before.add(first);
  const { m: after } = manager();
  after.restore([inc], [first]);
  const b = after.add(alert(revShell));
  assert.equal(b.id, inc.id);
  assert.equal(b.version, 2);
});
