import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Suppression, type AlertV1, type EventV1 } from '@vigil/schema';
import { compileSuppressions, type SuppressionError, suppressionFor, Suppressor } from './suppress.js';
import { StaticConfig } from '../config/source.js';
import { asLoaded, connect, exec, proc, TEST_CONFIG } from '../detect/testing.js';
import { DetectionEngine } from '../detect/engine.js';
import { defineDetection, type AnyDetection } from '../detect/define.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const USERS = new Map([['alice', 1000]]);

const alert = (over: Partial<AlertV1> = {}, p: Parameters<typeof proc>[0] = {}): AlertV1 => ({
  id: 'a1',
  v: 1,
  ruleId: 'miner.exec',
  title: 't',
  severity: 'critical',
  mitre: [],
  source: 'builtin',
  author: null,
  ts: '1',
  lastTs: '1',
  host: 'gpu-01',
  proc: proc({ exe: '/tmp/x/xmrig', argv: ['xmrig', '-o', 'stratum+tcp://pool:3333'], ...p }),
  evidence: ['ev1'],
  reason: 'r',
  count: 1,
  ...over,
});

/** One suppression of `rule` with `cond`, tried on `a` (evidence: `events`). */
function held(cond: Record<string, unknown>, a: AlertV1, events: EventV1[] = [], rule = 'miner.exec'): boolean {
  const s = Suppression.parse({ rule, reason: 'why', ...cond });
  return suppressionFor(compileSuppressions([s], USERS), a, () => events, NOW) !== null;
}

test('rule: an id or a glob, and the alert of another rule is raised', () => {
  assert.equal(held({ hosts: ['gpu-01'] }, alert()), true);
  assert.equal(held({ hosts: ['gpu-01'] }, alert(), [], 'miner.*'), true);
  assert.equal(held({ hosts: ['gpu-01'] }, alert({ ruleId: 'shell.reverse' })), false);
});

test('each condition: hosts, exe glob, hash, job glob, cgroup glob, user by uid and name, cmdline', () => {
  const hash = 'a'.repeat(64);
  const a = alert({}, { exeHash: hash, uid: 1000 });
  const cases: [Record<string, unknown>, boolean][] = [
    [{ hosts: ['gpu-*'] }, true],
    [{ hosts: ['cpu-*'] }, false],
    [{ exe: ['/tmp/**'] }, true],
    [{ exe: ['/usr/**'] }, false],
    [{ hash: [hash] }, true],
    [{ hash: ['b'.repeat(64)] }, false],
    [{ job: ['slurm:*'] }, true],
    [{ job: ['k8s:*'] }, false],
    [{ cgroup: ['/system.slice/slurmstepd.scope/**'] }, true],
    [{ cgroup: ['/kubepods/**'] }, false],
    [{ user: [1000] }, true],
    [{ user: ['alice'] }, true],
    [{ user: [0] }, false],
    [{ cmdline: 'stratum\\+tcp://pool:\\d+$' }, true],
    [{ cmdline: '^python' }, false],
  ];
  for (const [cond, expected] of cases) assert.equal(held(cond, a), expected, JSON.stringify(cond));
});

test('every condition given must match', () => {
  assert.equal(held({ hosts: ['gpu-*'], exe: ['/tmp/**'] }, alert()), true);
  assert.equal(held({ hosts: ['gpu-*'], exe: ['/usr/**'] }, alert()), false);
});

test('an alert without a process, or without a job or hash, matches no condition on them', () => {
  assert.equal(held({ exe: ['**'] }, alert({ proc: null })), false);
  assert.equal(held({ job: ['*'] }, alert({}, { job: null })), false);
  assert.equal(held({ hash: ['a'.repeat(64)] }, alert()), false);
});

test("destination: address, CIDR and port from the alert's evidence events", () => {
  const ev = connect('10.20.3.4', 22);
  const a = alert({ evidence: [ev.id] });
  assert.equal(held({ destination: { addr: ['10.20.0.0/16'] } }, a, [ev]), true);
  assert.equal(held({ destination: { addr: ['10.20.3.4'], port: [22] } }, a, [ev]), true);
  assert.equal(held({ destination: { port: [443] } }, a, [ev]), false);
  assert.equal(held({ destination: { addr: ['192.168.0.0/16'] } }, a, [ev]), false);
  // No connection among its evidence: no destination to match.
  assert.equal(held({ destination: { port: [22] } }, a, []), false);
});

test('an expired suppression no longer applies, and is reported', () => {
  const cond = { hosts: ['gpu-01'] };
  assert.equal(held({ ...cond, expires: '2026-12-07' }, alert()), true);
  assert.equal(held({ ...cond, expires: '2026-12-06T11:59:59Z' }, alert()), false);
  const config = new StaticConfig({
    suppressions: [{ rule: 'miner.exec', reason: 'old', expires: '2026-01-01', ...cond }],
  });
  const s = new Suppressor(
    config,
    () => {},
    () => [],
    pino({ level: 'silent' }),
    () => NOW,
  );
  assert.equal(s.divert(alert()), false);
  assert.deepEqual(s.report().expired, [{ index: 0, rule: 'miner.exec', reason: 'old', expires: '2026-01-01' }]);
});

test('refused at load, with where: a pattern that does not compile, an unknown user, a bad address', () => {
  assert.equal(Suppression.safeParse({ rule: 'x', reason: 'r', cmdline: '(' }).success, false);
  const bad = (cond: Record<string, unknown>) => () =>
    compileSuppressions(
      [
        Suppression.parse({ rule: 'x', reason: 'r', hosts: ['h'] }),
        Suppression.parse({ rule: 'x', reason: 'r', ...cond }),
      ],
      USERS,
    );
  assert.throws(bad({ user: [0, 'nosuchuser'] }), (e: SuppressionError) => e.path.join('.') === '1.user.1');
  assert.throws(
    bad({ destination: { addr: ['10.0.0.0/33'] } }),
    (e: SuppressionError) => e.path.join('.') === '1.destination.addr.0',
  );
  assert.throws(bad({ destination: { addr: ['pool.example'] } }), /not an IP address or CIDR/);
});

test('a held alert goes to hold with its verdict, once counted; its updates follow it; a change re-decides', () => {
  const config = new StaticConfig({ suppressions: [{ rule: 'miner.*', reason: 'lab', hosts: ['gpu-01'] }] });
  const heldBack: AlertV1[] = [];
  const s = new Suppressor(
    config,
    (a) => heldBack.push(a),
    () => [],
    pino({ level: 'silent' }),
    () => NOW,
  );
  assert.equal(s.divert(alert()), true);
  assert.equal(s.divert(alert({ count: 2 })), true);
  assert.equal(s.divert(alert({ id: 'a2', host: 'gpu-02' })), false);
  assert.deepEqual(heldBack[0]!.suppressed, { index: 0, rule: 'miner.*', reason: 'lab' });
  assert.deepEqual(s.report(), { total: 1, byRule: { 'miner.exec': 1 }, expired: [] });
  config.emit('change', new StaticConfig().current(), config.current());
  assert.equal(s.divert(alert({ count: 3 })), false);
});

test("through the engine: a connect alert's destination is read from its evidence event", () => {
  const onConnect = defineDetection({
    id: 'test.connect',
    title: 't',
    severity: 'high',
    mitre: [],
    on: ['connect'],
    match: () => ({ reason: 'connect' }),
  }) as AnyDetection;
  const config = new StaticConfig({
    suppressions: [{ rule: 'test.connect', reason: 'cache', destination: { addr: ['10.0.0.0/8'], port: [443] } }],
  });
  const raised: AlertV1[] = [];
  let suppressor: Suppressor | null = null;
  const engine = new DetectionEngine({
    config: TEST_CONFIG,
    onAlert: (a) => {
      if (!suppressor!.divert(a)) raised.push(a);
    },
  });
  suppressor = new Suppressor(
    config,
    () => {},
    (a) => engine.evidenceOf(a),
    pino({ level: 'silent' }),
  );
  engine.setDetections([asLoaded(onConnect)]);
  engine.process([exec(['curl'], { pid: 10 }), connect('10.1.2.3', 443, { pid: 10 })]);
  engine.process([connect('8.8.8.8', 443, { pid: 11 })]);
  assert.deepEqual(
    raised.map((a) => a.proc?.pid),
    [11],
  );
  assert.equal(suppressor.total, 1);
});
